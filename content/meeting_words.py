"""The few words a meeting's summary and its short statements need, per language.

Mastodon shows a received Event as its title, `summary` and link only (interop notes A.5), so
the summary must say, in the reader's language, when, where and how to register. Languages
not listed here fall back to English.
"""
from __future__ import annotations

from datetime import datetime

MONTHS = {
    "en": "January February March April May June July August September October November December",
    "fr": "janvier février mars avril mai juin juillet août septembre octobre novembre décembre",
    "es": "enero febrero marzo abril mayo junio julio agosto septiembre octubre noviembre diciembre",
    "de": "Januar Februar März April Mai Juni Juli August September Oktober November Dezember",
    "it": "gennaio febbraio marzo aprile maggio giugno luglio agosto settembre ottobre novembre dicembre",
    "pt": "janeiro fevereiro março abril maio junho julho agosto setembro outubro novembro dezembro",
}
# How a date is written: {d} day, {m} month name, {y} year.
DATE = {"en": "{d} {m} {y}", "fr": "{d} {m} {y}", "es": "{d} de {m} de {y}", "de": "{d}. {m} {y}",
        "it": "{d} {m} {y}", "pt": "{d} de {m} de {y}"}

WORDS: dict[str, dict[str, str]] = {
    "en": {"cancelled": "CANCELLED", "postponed": "POSTPONED", "rescheduled": "RESCHEDULED",
           "online": "online", "register": "register: {}", "approval": "registration (subject to approval): {}",
           "external": "register at {}", "none": "no registration", "opens": "registration from {}",
           "closes": "until {}", "capacity": "{} places",
           "note_cancelled": "Cancelled: {title} ({when}).",
           "note_postponed": "Postponed: {title} ({when}) will not take place on that date; a new date will follow.",
           "note_rescheduled": "New date: {title} now takes place {when} (previously {before}).",
           "note_open": "Registration is open for {title} ({when}): {url}"},
    "fr": {"cancelled": "ANNULÉ", "postponed": "REPORTÉ", "rescheduled": "NOUVELLE DATE",
           "online": "en ligne", "register": "inscription : {}",
           "approval": "inscription (soumise à validation) : {}", "external": "inscription sur {}",
           "none": "sans inscription", "opens": "inscriptions à partir du {}", "closes": "jusqu'au {}",
           "capacity": "{} places",
           "note_cancelled": "Annulé : {title} ({when}).",
           "note_postponed": "Reporté : {title} ({when}) n'aura pas lieu à cette date ; une nouvelle date suivra.",
           "note_rescheduled": "Nouvelle date : {title} a lieu {when} (au lieu de {before}).",
           "note_open": "Les inscriptions sont ouvertes pour {title} ({when}) : {url}"},
    "es": {"cancelled": "CANCELADO", "postponed": "APLAZADO", "rescheduled": "NUEVA FECHA",
           "online": "en línea", "register": "inscripción: {}",
           "approval": "inscripción (sujeta a aprobación): {}", "external": "inscripción en {}",
           "none": "sin inscripción", "opens": "inscripciones desde el {}", "closes": "hasta el {}",
           "capacity": "{} plazas",
           "note_cancelled": "Cancelado: {title} ({when}).",
           "note_postponed": "Aplazado: {title} ({when}) no se celebrará en esa fecha; se anunciará una nueva.",
           "note_rescheduled": "Nueva fecha: {title} se celebra {when} (antes {before}).",
           "note_open": "Inscripciones abiertas para {title} ({when}): {url}"},
    "de": {"cancelled": "ABGESAGT", "postponed": "VERSCHOBEN", "rescheduled": "NEUER TERMIN",
           "online": "online", "register": "Anmeldung: {}",
           "approval": "Anmeldung (mit Bestätigung): {}", "external": "Anmeldung über {}",
           "none": "keine Anmeldung", "opens": "Anmeldung ab {}", "closes": "bis {}", "capacity": "{} Plätze",
           "note_cancelled": "Abgesagt: {title} ({when}).",
           "note_postponed": "Verschoben: {title} ({when}) findet an diesem Termin nicht statt; ein neuer folgt.",
           "note_rescheduled": "Neuer Termin: {title} findet {when} statt (vorher {before}).",
           "note_open": "Die Anmeldung für {title} ({when}) ist offen: {url}"},
    "it": {"cancelled": "ANNULLATO", "postponed": "RINVIATO", "rescheduled": "NUOVA DATA",
           "online": "online", "register": "iscrizione: {}",
           "approval": "iscrizione (soggetta ad approvazione): {}", "external": "iscrizione su {}",
           "none": "senza iscrizione", "opens": "iscrizioni dal {}", "closes": "fino al {}", "capacity": "{} posti",
           "note_cancelled": "Annullato: {title} ({when}).",
           "note_postponed": "Rinviato: {title} ({when}) non si terrà in quella data; seguirà una nuova data.",
           "note_rescheduled": "Nuova data: {title} si tiene {when} (prima {before}).",
           "note_open": "Iscrizioni aperte per {title} ({when}): {url}"},
    "pt": {"cancelled": "CANCELADO", "postponed": "ADIADO", "rescheduled": "NOVA DATA",
           "online": "online", "register": "inscrição: {}",
           "approval": "inscrição (sujeita a aprovação): {}", "external": "inscrição em {}",
           "none": "sem inscrição", "opens": "inscrições a partir de {}", "closes": "até {}", "capacity": "{} lugares",
           "note_cancelled": "Cancelado: {title} ({when}).",
           "note_postponed": "Adiado: {title} ({when}) não se realizará nessa data; uma nova data será anunciada.",
           "note_rescheduled": "Nova data: {title} realiza-se {when} (antes {before}).",
           "note_open": "Inscrições abertas para {title} ({when}): {url}"},
}


def words(lang: str) -> dict[str, str]:
    return WORDS.get(lang.split("-")[0], WORDS["en"])


def date_text(moment: datetime, lang: str) -> str:
    """A calendar date in words ("23 September 2026"); `moment` already in the meeting's zone."""
    base = lang.split("-")[0]
    months = MONTHS.get(base, MONTHS["en"]).split()
    return DATE.get(base, DATE["en"]).format(d=moment.day, m=months[moment.month - 1], y=moment.year)


def range_text(start: datetime, end: datetime | None, lang: str) -> str:
    """"23 September 2026 09:00 – 26 September 2026 17:00", or one date when the meeting fits
    in a day ("13 March 2026 18:00–20:00"). Both already in the meeting's zone."""
    first = f"{date_text(start, lang)} {start:%H:%M}"
    if end is None:
        return first
    if end.date() == start.date():
        return f"{first}–{end:%H:%M}"
    return f"{first} – {date_text(end, lang)} {end:%H:%M}"
