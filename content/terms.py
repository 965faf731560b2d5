"""The few words meetings share between what we publish, what organisers type and what peers
send: kinds, postal-address keys, statuses, time zones and the range of years we accept, and our
JSON-LD namespace. One copy here so the reading and the writing side cannot drift apart.

Pure and import-light (content.as2 -> content.events imports it): no HTTP, no database.
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from content.values import as_list


class MeetingError(ValueError):
    """The meeting cannot be stored; the message says why, for the form or the command line."""


KINDS = ("thematic", "sector", "plenary", "international", "other")
STATUSES = ("scheduled", "postponed", "rescheduled", "cancelled")
POSTAL_KEYS = ("streetAddress", "postalCode", "addressLocality", "addressRegion", "addressCountry")
# Years a meeting may fall in, ours or a peer's: beyond them date arithmetic (a calendar's
# VTIMEZONE window, a conversion to another zone) leaves what datetime can hold.
YEARS = range(1900, 10000)

# Our JSON-LD namespace (FEDERATION.md): appeals, delegates, meeting kinds and themes.
NS = "https://unionhall.org/ns#"

# Peers' words for an event's status: FEP-8a8e eventStatus, iCalendar STATUS (Mobilizon), read by
# their last segment so "fep8a8e:EventCancelled", "ical:CANCELLED" and full IRIs all count.
_PEER_STATUS = {"eventscheduled": "scheduled", "confirmed": "scheduled", "eventpostponed": "postponed",
                "tentative": "postponed", "eventrescheduled": "rescheduled", "eventcancelled": "cancelled",
                "cancelled": "cancelled", "canceled": "cancelled", "eventmovedonline": "rescheduled"}


def peer_status(value: Any) -> str:
    """Our status for a peer's status word; "scheduled" when it is unknown or missing."""
    word = str(value or "").strip().lower()
    for separator in ("/", "#", ":"):
        word = word.rsplit(separator, 1)[-1]
    return _PEER_STATUS.get(word, "scheduled")


def zone(name: Any) -> ZoneInfo:
    """An IANA zone, or MeetingError. Paths and odd names are refused before ZoneInfo sees them."""
    if not isinstance(name, str) or not name.strip() or len(name) > 64 or ".." in name or name.startswith("/"):
        raise MeetingError(f"unknown time zone: {name!r} (use an IANA name such as Europe/Paris)")
    try:
        return ZoneInfo(name.strip())
    except (ValueError, ZoneInfoNotFoundError, OSError):
        raise MeetingError(f"unknown time zone: {name!r} (use an IANA name such as Europe/Paris)") from None


def check_year(moment: datetime, what: object, tz: ZoneInfo | None = None) -> None:
    """MeetingError unless `moment` falls within YEARS as written, in UTC and in the meeting's
    zone `tz` (where pages and calendars show it)."""
    years = [moment.year]
    for where in (timezone.utc, tz):
        if where is not None:
            try:
                years.append(moment.astimezone(where).year)
            except OverflowError:
                years.append(0)
    if any(year not in YEARS for year in years):
        raise MeetingError(f"the year of {what} is outside {YEARS.start}-{YEARS.stop - 1}")


def declares_namespace(context: Any, *terms: str) -> bool:
    """Whether a JSON-LD @context maps some term to our namespace (or to one of `terms`, such as
    "unionhall:appeal"). Contexts are not interpreted (content/as2.py), but common words like
    "appeal" or "theme" are honoured only where the sender said they are ours."""
    for entry in as_list(context)[:20]:
        if isinstance(entry, dict):
            for value in list(entry.values())[:200]:
                iri = value.get("@id") if isinstance(value, dict) else value
                if isinstance(iri, str) and (iri.startswith(NS) or iri in terms):
                    return True
    return False
