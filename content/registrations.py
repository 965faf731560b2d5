"""Registrations for meetings: who holds seats, whether registration is open, and what to answer
a request (a fediverse Join, a Friendica "attend", a web form) — per the RSVP table of the interop
notes (events_groups_security.md A.10).

The decision itself is a pure function of the meeting and the request (`decide_request`); the few
functions that count seats read the database but never the network.
"""
from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from content.models import Meeting, Registration
from content.terms import NS, declares_namespace

# Capacity counts delegates; a union sends a delegation, but not a congress.
MAX_DELEGATES = 50
MAX_MESSAGE_CHARS = 2000
# States that hold a seat, and states still waiting for (or holding) an answer.
SEAT_STATES = ("accepted",)
ACTIVE_STATES = ("pending", "accepted", "maybe")
OPEN_MODES = ("free", "approval")

# Our own JSON-LD term for the size of a delegation, in the namespace appeals already use
# (FEDERATION.md, "Meetings and registration").
JOIN_CONTEXT_TERMS: dict[str, Any] = {
    "unionhall": NS,
    "delegates": {"@id": "unionhall:delegates", "@type": "http://www.w3.org/2001/XMLSchema#integer"},
    "participationMessage": "https://joinmobilizon.org/ns#participationMessage",
}

ACCEPT, PENDING, REJECT, IGNORE = "accept", "pending", "reject", "ignore"
REASONS = {
    "full": "the meeting is full",
    "closed": "registration is closed",
    "blocked": "registrations from this server are not accepted",
    "too_many": f"a registration is for 1 to {MAX_DELEGATES} delegates",
}


@dataclass(frozen=True)
class Decision:
    outcome: str  # accept | pending | reject | ignore
    reason: str = ""  # a key of REASONS when rejected

    @property
    def text(self) -> str:
        return REASONS.get(self.reason, self.reason)


def _utc(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment


def registration_open(meeting: Meeting, now: datetime) -> bool:
    """Open when the meeting takes registrations here, is not cancelled or over, and `now` lies
    between the opening and closing dates (either may be unset)."""
    if meeting.status == "cancelled" or meeting.join_mode not in OPEN_MODES:
        return False
    now = _utc(now)
    over = _utc(meeting.end) or _utc(meeting.start)
    if over is not None and now >= over:
        return False
    opens, closes = _utc(meeting.registration_opens), _utc(meeting.registration_closes)
    if opens is not None and now < opens:
        return False
    return closes is None or now < closes


def decide_request(meeting: Meeting, *, now: datetime, taken: int, delegates: int = 1,
                   blocked: bool = False) -> Decision:
    """What to answer a new request for `delegates` seats when `taken` are already held.

    FEP-8a8e: a meeting that does not take registrations here (join mode none or external) MUST
    answer Ignore — before anything else, so the sender learns to register elsewhere."""
    if meeting.join_mode not in OPEN_MODES:
        return Decision(IGNORE)
    if blocked:
        return Decision(REJECT, "blocked")
    if not 1 <= delegates <= MAX_DELEGATES:
        return Decision(REJECT, "too_many")
    if not registration_open(meeting, now):
        return Decision(REJECT, "closed")
    if meeting.capacity is not None and taken + delegates > meeting.capacity:
        return Decision(REJECT, "full")
    return Decision(PENDING if meeting.join_mode == "approval" else ACCEPT)


def fits(meeting: Meeting, *, taken: int, delegates: int) -> bool:
    """Whether `delegates` more seats fit (what an organiser's approval checks again)."""
    return meeting.capacity is None or taken + delegates <= meeting.capacity


async def seats_taken(meeting: Meeting) -> int:
    """Delegates of accepted registrations to one of our meetings (a peer's: what it announced)."""
    if not meeting.local:
        return meeting.participant_count or 0
    rows = await Registration.filter(meeting_id=meeting.id, local=False, state__in=SEAT_STATES).values_list(
        "delegates", flat=True)
    return sum(rows)


async def seats_left(meeting: Meeting) -> int | None:
    """None when the meeting has no capacity limit."""
    if meeting.capacity is None:
        return None
    return max(0, meeting.capacity - await seats_taken(meeting))


def read_delegates(activity: dict) -> int:
    """The delegation size our Join declares ("unionhall:delegates"); 1 for anyone else (a Mobilizon
    participant is one person). Only honoured when the sender's @context maps it to our namespace."""
    value = activity.get("delegates")
    if value is None or not declares_namespace(activity.get("@context"), "unionhall:delegates"):
        return 1
    if isinstance(value, bool) or not isinstance(value, int):
        return 1
    return value  # out of range is refused by decide_request, not silently clamped


# --- export ---------------------------------------------------------------------------------

# The organiser's export, the same from the admin page and `unionhall meeting registrations --csv`.
CSV_COLUMNS = ("name", "union", "e-mail", "fediverse actor", "via", "delegates", "state", "message", "registered at")
# Spreadsheets run a cell that starts with one of these as a formula (CSV injection).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: object) -> str:
    text = "" if value is None else str(value)
    return f"'{text}" if text.startswith(FORMULA_START) else text


def registrations_csv(rows: Iterable[Registration]) -> str:
    """Registrations as CSV (header CSV_COLUMNS); a registrant's "=HYPERLINK(…)" stays text."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for r in rows:
        writer.writerow([_cell(v) for v in (
            r.name or r.actor_uri or "", r.union_name, r.email, r.actor_uri if r.via != "web" else "", r.via,
            r.delegates, r.state, r.message, r.created_at.isoformat(timespec="seconds"))])
    return out.getvalue()
