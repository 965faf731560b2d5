"""The RSVP decision table (interop notes A.10, C.6 #44-45) and the seat count."""
from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta, timezone

import pytest

from content.models import Meeting, Post, Registration
from content.registrations import (
    JOIN_CONTEXT_TERMS, Decision, decide_request, read_delegates, registration_open, registrations_csv, seats_left,
    seats_taken,
)

START = datetime(2026, 9, 23, 7, 0, tzinfo=timezone.utc)
END = datetime(2026, 9, 26, 15, 0, tzinfo=timezone.utc)
BEFORE = START - timedelta(days=30)


def meeting(**fields) -> Meeting:
    values = {"join_mode": "free", "status": "scheduled", "start": START, "end": END, "capacity": None,
              "registration_opens": None, "registration_closes": None, "local": True, **fields}
    return Meeting(**values)


@pytest.mark.parametrize(("fields", "now", "taken", "delegates", "expected"), [
    ({}, BEFORE, 0, 1, Decision("accept")),
    ({"capacity": 3}, BEFORE, 1, 2, Decision("accept")),  # exactly the last seats
    ({"capacity": 3}, BEFORE, 2, 2, Decision("reject", "full")),
    ({"capacity": 3}, BEFORE, 3, 1, Decision("reject", "full")),
    ({"join_mode": "approval"}, BEFORE, 0, 2, Decision("pending")),
    ({"join_mode": "approval", "capacity": 2}, BEFORE, 2, 1, Decision("reject", "full")),
    ({"join_mode": "none"}, BEFORE, 0, 1, Decision("ignore")),
    ({"join_mode": "external", "capacity": 1}, BEFORE, 5, 1, Decision("ignore")),  # Ignore before anything
    ({"status": "cancelled"}, BEFORE, 0, 1, Decision("reject", "closed")),
    ({"status": "rescheduled"}, BEFORE, 0, 1, Decision("accept")),
    ({}, END + timedelta(minutes=1), 0, 1, Decision("reject", "closed")),  # over
    ({"registration_opens": BEFORE + timedelta(days=1)}, BEFORE, 0, 1, Decision("reject", "closed")),
    ({"registration_closes": BEFORE}, BEFORE, 0, 1, Decision("reject", "closed")),  # closes is exclusive
    ({"registration_opens": BEFORE, "registration_closes": BEFORE + timedelta(days=1)}, BEFORE, 0, 1,
     Decision("accept")),
    ({}, BEFORE, 0, 51, Decision("reject", "too_many")),
    ({}, BEFORE, 0, 0, Decision("reject", "too_many")),
])
def test_decision_table(fields, now, taken, delegates, expected):
    assert decide_request(meeting(**fields), now=now, taken=taken, delegates=delegates) == expected


def test_blocked_is_refused_but_join_mode_none_is_still_ignored():
    assert decide_request(meeting(), now=BEFORE, taken=0, blocked=True) == Decision("reject", "blocked")
    assert decide_request(meeting(join_mode="none"), now=BEFORE, taken=0, blocked=True) == Decision("ignore")


def test_registration_open_without_end_closes_at_start_and_takes_naive_times_as_utc():
    m = meeting(end=None)
    assert registration_open(m, START - timedelta(seconds=1))
    assert not registration_open(m, START)
    assert registration_open(meeting(), BEFORE.replace(tzinfo=None))


def test_delegates_only_read_in_our_namespace():
    ours = {"@context": ["https://www.w3.org/ns/activitystreams", JOIN_CONTEXT_TERMS], "delegates": 4}
    assert read_delegates(ours) == 4
    assert read_delegates({**ours, "@context": "https://www.w3.org/ns/activitystreams"}) == 1
    assert read_delegates({**ours, "delegates": "4"}) == 1
    assert read_delegates({**ours, "delegates": True}) == 1
    assert read_delegates({**ours, "delegates": 500}) == 500, "refused by the decision, not clamped"
    assert read_delegates({"type": "Join"}) == 1  # a Mobilizon participant is one person


async def test_seats_count_accepted_delegates_only(db):
    now = datetime.now(timezone.utc)
    post = await Post.create(ap_id="https://ours.example/meetings/1", local=True, type="Event",
                             author_uri="https://ours.example/actors/rail", published=now)
    m = await Meeting.create(post=post, local=True, uid="m1@ours.example", start=START, end=END, capacity=10)
    for n, (state, delegates, local) in enumerate([("accepted", 2, False), ("accepted", 3, False),
                                                   ("pending", 4, False), ("withdrawn", 1, False),
                                                   ("maybe", 1, False), ("rejected", 5, False),
                                                   ("accepted", 7, True)]):
        await Registration.create(meeting=m, local=local, via="web", request_id=f"r{n}", state=state,
                                  delegates=delegates, created_at=now, updated_at=now)
    assert await seats_taken(m) == 5
    assert await seats_left(m) == 5
    m.capacity = None
    assert await seats_left(m) is None


def test_the_one_csv_export():
    """Admin page and command line both write this (web/admin_registrations.py, unionhall/meeting_commands.py)."""
    at = START - timedelta(days=3)
    rows = [Registration(name="=HYPERLINK(\"x\")", union_name="+CGT", email="ana@example.org", via="web",
                         delegates=2, state="pending", message="-1 seat", created_at=at),
            Registration(name="", union_name="Dock", actor_uri="https://peer.example/actors/dock", via="friendica",
                         delegates=1, state="accepted", message="", created_at=at)]
    table = list(csv.reader(io.StringIO(registrations_csv(rows))))
    assert table == [
        ["name", "union", "e-mail", "fediverse actor", "via", "delegates", "state", "message", "registered at"],
        ["'=HYPERLINK(\"x\")", "'+CGT", "ana@example.org", "", "web", "2", "pending", "'-1 seat", "2026-09-20T07:00:00+00:00"],
        ["https://peer.example/actors/dock", "Dock", "", "https://peer.example/actors/dock", "friendica", "1", "accepted",
         "", "2026-09-20T07:00:00+00:00"]]
