"""Checking what an organiser typed for a meeting (form, command line): normalised input or a
MeetingError saying why, before anything is stored. Pure: no HTTP, no database."""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from typing import Any
from zoneinfo import ZoneInfo

from content.as2 import normalize_language
from content.sanitize import plain_text, safe_url
from content.terms import KINDS, POSTAL_KEYS, STATUSES, YEARS, MeetingError, check_year, zone

__all__ = ["KINDS", "JOIN_MODES", "POSTAL_KEYS", "STATUSES", "YEARS", "MeetingError", "MeetingInput", "zone",
           "parse_local_time", "check_input"]


JOIN_MODES = ("free", "approval", "external", "none")
MAX_TITLE = 200
MAX_DESCRIPTION = 20_000
MAX_CAPACITY = 100_000
MAX_LANGUAGES = 12


@dataclass
class MeetingInput:
    titles: dict[str, str]  # language -> plain-text title, primary first
    descriptions: dict[str, str]  # language -> plain text
    start: datetime  # aware
    end: datetime  # aware
    timezone: str  # IANA
    place_name: str = ""
    address: dict = field(default_factory=dict)
    online_url: str = ""
    kind: str = "other"
    theme: str = ""
    capacity: int | None = None
    join_mode: str = "free"
    external_url: str = ""
    registration_opens: datetime | None = None
    registration_closes: datetime | None = None
    organizers: list[str] = field(default_factory=list)


def parse_local_time(text: str, tz: str) -> datetime:
    """"2026-09-23T09:00" (or "2026-09-23 09:00", or a date alone: midnight) read in the zone
    `tz`, returned as an aware UTC datetime. A text with its own offset keeps that offset."""
    where = zone(tz)
    if not isinstance(text, str) or not text.strip() or len(text) > 40:
        raise MeetingError(f"not a date and time: {text!r} (write 2026-09-23T09:00)")
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise MeetingError(f"not a date and time: {text!r} (write 2026-09-23T09:00)") from None
    if moment.tzinfo is None:
        moment = _existing(moment, where, text)
    check_year(moment, text, where)
    return moment.astimezone(timezone.utc)


def _existing(naive: datetime, where: ZoneInfo, text: object) -> datetime:
    """`naive` in the zone `where`, refused when the clocks skip it (a spring-forward gap: zoneinfo
    would silently move it by an hour). A time that happens twice (autumn) is its first occurrence
    (fold=0, before the clocks go back): the earlier of the two is the safer for a meeting."""
    moment = naive.replace(tzinfo=where, fold=0)
    try:
        round_trip = moment.astimezone(timezone.utc).astimezone(where)
    except OverflowError:
        return moment  # years outside the range are refused by check_year with a clearer reason
    if round_trip.replace(tzinfo=None) != naive:
        raise MeetingError(f"{text} does not exist in {where.key} (the clocks change): choose another time")
    return moment


def _when(value: Any, tz: str, what: str, *, required: bool) -> datetime | None:
    if value is None or value == "":
        if required:
            raise MeetingError(f"the {what} is missing")
        return None
    if isinstance(value, str):
        return parse_local_time(value, tz)
    if not isinstance(value, datetime):
        raise MeetingError(f"the {what} is not a date and time")
    if value.tzinfo is None:
        value = _existing(value, zone(tz), f"the {what}")
    check_year(value, f"the {what}", zone(tz))
    return value.astimezone(timezone.utc)


def _languages(texts: Any, what: str, *, limit: int, one_line: bool) -> dict[str, str]:
    if texts is None:
        return {}
    if not isinstance(texts, dict):
        raise MeetingError(f"{what} must be given per language")
    if len(texts) > MAX_LANGUAGES:
        raise MeetingError(f"at most {MAX_LANGUAGES} languages per {what}")
    out: dict[str, str] = {}
    for lang, text in texts.items():
        code = normalize_language(lang)
        if code is None:
            raise MeetingError(f"not a language code: {lang!r} (use two letters, such as en, fr, es)")
        if code in out:
            raise MeetingError(f"the {what} in {code} is given twice")
        if not isinstance(text, str):
            raise MeetingError(f"the {what} in {code} is not text")
        text = text.strip()
        if not text:
            continue
        if len(text) > limit:
            raise MeetingError(f"the {what} in {code} is longer than {limit} characters")
        if one_line:
            # A title is plain text (FEP-8a8e): markup is refused, not silently stripped, so the
            # organiser sees exactly what will be published.
            if re.search(r"<[A-Za-z/!?]", text) or plain_text(text, limit + 1) != " ".join(text.split()):
                raise MeetingError(f"the {what} in {code} contains HTML; write plain text")
            text = " ".join(text.split())
        out[code] = text
    return out


def _url(value: Any, what: str, *, mailto: bool = False) -> str:
    if value in (None, ""):
        return ""
    if mailto and isinstance(value, str) and re.fullmatch(r"mailto:[^\s<>\"@]+@[^\s<>\"@]+", value.strip()):
        return value.strip()
    url = safe_url(value)
    if not url:
        raise MeetingError(f"the {what} is not a web address (http:// or https://): {value!r}")
    return url


def _address(value: Any) -> dict:
    if value in (None, ""):
        return {}
    if isinstance(value, str):  # one line from the command line or a form
        text = plain_text(value, 500)
        return {"streetAddress": text} if text else {}
    if not isinstance(value, dict):
        raise MeetingError("the address is not readable")
    unknown = set(value) - set(POSTAL_KEYS) - {"type"}
    if unknown:
        raise MeetingError(f"unknown address fields: {', '.join(sorted(unknown))}")
    return {k: plain_text(value[k], 200) for k in POSTAL_KEYS if isinstance(value.get(k), str) and value[k].strip()}


def _capacity(value: Any) -> int | None:
    if value in (None, ""):
        return None
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if not isinstance(value, int) or isinstance(value, bool):
        raise MeetingError(f"the capacity must be a whole number: {value!r}")
    if not 1 <= value <= MAX_CAPACITY:
        raise MeetingError(f"the capacity must be from 1 to {MAX_CAPACITY} (leave it empty for no limit)")
    return value


def check_input(data: MeetingInput | dict) -> MeetingInput:
    """Checked and normalised input, or MeetingError with the reason. Accepts a MeetingInput or a
    dict of its fields in which times, capacity and address may still be strings from a form."""
    raw = asdict(data) if isinstance(data, MeetingInput) else dict(data)
    tz = raw.get("timezone")
    zone(tz)
    titles = _languages(raw.get("titles"), "title", limit=MAX_TITLE, one_line=True)
    if not titles:
        raise MeetingError("a meeting needs a title")
    descriptions = _languages(raw.get("descriptions"), "description", limit=MAX_DESCRIPTION, one_line=False)
    start = _when(raw.get("start"), tz, "start", required=True)
    end = _when(raw.get("end"), tz, "end", required=True)
    if end <= start:
        raise MeetingError("the end is before the start (or at the same time)")
    opens = _when(raw.get("registration_opens"), tz, "registration opening", required=False)
    closes = raw.get("registration_closes")
    if isinstance(closes, str) and re.fullmatch(r"\s*\d{4}-\d{2}-\d{2}\s*", closes):
        closes = closes.strip() + "T23:59"  # "closes on 1 September" includes that day
    closes = _when(closes, tz, "registration closing", required=False)
    if opens and closes and closes <= opens:
        raise MeetingError("registration closes before it opens")
    kind = (raw.get("kind") or "other").strip().lower()
    if kind not in KINDS:
        raise MeetingError(f"unknown kind {kind!r}: use one of {', '.join(KINDS)}")
    join_mode = (raw.get("join_mode") or "free").strip().lower()
    if join_mode not in JOIN_MODES:
        raise MeetingError(f"unknown registration mode {join_mode!r}: use one of {', '.join(JOIN_MODES)}")
    external_url = _url(raw.get("external_url"), "external registration address", mailto=True)
    if join_mode == "external" and not external_url:
        raise MeetingError("registration elsewhere (external) needs the address where people register")
    place_name = raw.get("place_name") or ""
    if not isinstance(place_name, str) or len(place_name) > 500:
        raise MeetingError("the place name is too long (500 characters at most)")
    if re.search(r"<[A-Za-z/!?]", place_name):
        raise MeetingError("the place name contains HTML; write plain text")
    theme = raw.get("theme") or ""
    if not isinstance(theme, str) or len(theme) > 255 or re.search(r"<[A-Za-z/!?]", theme):
        raise MeetingError("the theme must be plain text of at most 255 characters")
    organizers = [_url(o, "organiser") for o in raw.get("organizers") or []]
    return MeetingInput(
        titles=titles, descriptions=descriptions, start=start, end=end, timezone=tz.strip(),
        place_name=" ".join(place_name.split()), address=_address(raw.get("address")),
        online_url=_url(raw.get("online_url"), "online link"), kind=kind, theme=" ".join(theme.split()),
        capacity=_capacity(raw.get("capacity")), join_mode=join_mode, external_url=external_url,
        registration_opens=opens, registration_closes=closes, organizers=list(dict.fromkeys(organizers)),
    )
