"""RSVP when activities arrive late, early or twice (review of issue 4: B5, B6, B7, B9): a retried
Leave, an Undo before its Join, Friendica undoing its attendance, "maybe" then "attend", a "maybe"
for a meeting without registration here, and the withdrawal's rows and notification together.
Same real pipeline as test_meeting_rsvp.py: signed POST to /inbox, applied by the inbox processor."""
from __future__ import annotations

import asyncio

import pytest

from actors.local import get_by_username
from actors.models import RemoteActor
from actors.remote import fetch_actor
from content.models import Notification, Registration
from content.registrations import seats_taken
from federation.vocab import iso_datetime
from inbox.handlers import meetings
from outbox.models import Activity
from outbox.registrations import AlreadyRegistered, register_for, take_request, withdraw
from tests.inbox.test_meeting_rsvp import (  # noqa: F401 (world is a fixture)
    ALICE, AS, BASE, BOB, DOCK, MILL, PEER_EVENT, UNION, answers_to, deliver, friendica_headers, mobilizon_join,
    our_meeting, peer_event, union_join, world,
)

EVENT = f"{BASE}/meetings/1"


def leave(actor: str, n: int, published: str | None = None) -> dict:
    activity = {"@context": AS, "id": f"{actor.rsplit('/actors/', 1)[0]}/activities/l{n}", "type": "Leave",
                "actor": actor, "object": EVENT}
    if published is not None:
        activity["published"] = published
    return activity


def undo(actor: str, n: int, inner: dict | str) -> dict:
    return {"@context": AS, "id": f"{actor.rsplit('/actors/', 1)[0].rsplit('/profile/', 1)[0]}/activities/u{n}",
            "type": "Undo", "actor": actor, "object": inner}


def attend(n: int, kind: str = "Accept") -> dict:
    return {"@context": AS, "id": f"https://friendica.example/objects/{kind.lower()}{n}", "type": kind,
            "actor": ALICE, "object": EVENT, "to": [UNION]}


# --- B5: a late Leave ---------------------------------------------------------------------------

async def test_a_retried_leave_does_not_withdraw_the_registration_made_after_it(world):
    inst = world[0]
    meeting = await our_meeting(inst, capacity=10)
    first = union_join(DOCK, 1, EVENT, 2)
    assert (await deliver(world, first)).result == "registration accepted"
    inst.clock.advance(minutes=10)
    # DOCK withdraws: its Leave is delayed (the receiver was down), its Undo arrives.
    late_leave = leave(DOCK, 1, iso_datetime(inst.now()))
    embedded = {k: first[k] for k in ("id", "type", "actor", "object")}
    assert (await deliver(world, undo(DOCK, 1, embedded))).result == "registration withdrawn"
    inst.clock.advance(minutes=10)
    second = union_join(DOCK, 2, EVENT, 3)
    assert (await deliver(world, second)).result == "registration accepted"
    inst.clock.advance(minutes=30)
    item = await deliver(world, late_leave)
    assert item.state == "ignored" and "before the Leave" in item.result
    assert (await Registration.get(request_id=second["id"])).state == "accepted"
    assert await seats_taken(meeting) == 3

    # A Leave sent now does withdraw it; one without `published` (Mobilizon) withdraws whatever is held.
    assert (await deliver(world, leave(DOCK, 2, iso_datetime(inst.now())))).result == "registration withdrawn"
    assert (await deliver(world, union_join(MILL, 3, EVENT, 1))).result == "registration accepted"
    assert (await deliver(world, leave(MILL, 3))).result == "registration withdrawn"
    assert await seats_taken(meeting) == 0


async def test_our_leave_and_undo_carry_published(world):
    inst, _, remote = world
    remote[PEER_EVENT] = peer_event()
    union = await get_by_username("rail")
    reg = await register_for(inst, union, PEER_EVENT, delegates=1, message="")
    await withdraw(inst, union, reg)
    sent = [a.payload for a in await Activity.filter(type__in=("Leave", "Undo")).order_by("id")]
    assert [a["type"] for a in sent] == ["Leave", "Undo"]
    assert all(a["published"] == iso_datetime(inst.now()) for a in sent)


# --- B6: Undo before Join; Friendica's Undo -------------------------------------------------------

@pytest.mark.parametrize("by_reference", [False, True])
async def test_an_undo_arriving_before_its_join_keeps_the_join_out(world, by_reference):
    inst = world[0]
    meeting = await our_meeting(inst, capacity=10)
    join = mobilizon_join(7, EVENT)
    inner = join["id"] if by_reference else {k: join[k] for k in ("id", "type", "actor", "object")}
    item = await deliver(world, undo(BOB, 7, inner))
    assert item.state == "ignored" and "remembered" in item.result
    item = await deliver(world, join)
    assert item.state == "ignored" and "already undone" in item.result
    assert await Registration.filter(meeting=meeting).count() == 0 and await answers_to(BOB) == []
    # A later, new Join of the same person is registered as usual.
    assert (await deliver(world, mobilizon_join(8, EVENT))).result == "registration accepted"


async def test_someone_else_cannot_undo_a_join_in_advance(world):
    inst = world[0]
    await our_meeting(inst, capacity=10)
    join = mobilizon_join(9, EVENT)
    assert (await deliver(world, undo(MILL, 9, join["id"]))).state == "ignored"
    assert (await deliver(world, join)).result == "registration accepted"


async def test_friendica_undoes_its_attendance_and_its_maybe(world):
    inst = world[0]
    meeting = await our_meeting(inst, capacity=3)
    yes = attend(1)
    assert (await deliver(world, yes, style=friendica_headers)).result == "registration accepted"
    assert await seats_taken(meeting) == 1
    item = await deliver(world, undo(ALICE, 1, yes), style=friendica_headers)
    assert (item.state, item.result) == ("done", "registration withdrawn")
    assert await seats_taken(meeting) == 0
    assert [r.state for r in await Registration.filter(actor_uri=ALICE)] == ["withdrawn"]

    maybe = attend(2, "TentativeAccept")
    assert (await deliver(world, maybe, style=friendica_headers)).result == "registration maybe"
    item = await deliver(world, undo(ALICE, 2, maybe), style=friendica_headers)
    assert item.result == "registration withdrawn"
    assert await Registration.filter(actor_uri=ALICE, state__in=("maybe", "accepted")).count() == 0
    assert await Notification.filter(kind="registration_withdrawn", actor_uri=ALICE).count() == 2


async def test_friendica_undo_before_its_attend_keeps_the_attend_out(world):
    inst = world[0]
    await our_meeting(inst, capacity=3)
    yes = attend(3)
    assert (await deliver(world, undo(ALICE, 3, yes), style=friendica_headers)).state == "ignored"
    item = await deliver(world, yes, style=friendica_headers)
    assert item.state == "ignored" and "already undone" in item.result
    assert await Registration.filter(actor_uri=ALICE).count() == 0 and await answers_to(ALICE) == []


# --- B7: maybe, then attend; one actor's requests racing ------------------------------------------

async def test_friendica_maybe_then_attend_is_one_registration(world):
    inst = world[0]
    meeting = await our_meeting(inst, capacity=3)
    assert (await deliver(world, attend(4, "TentativeAccept"), style=friendica_headers)).result == \
        "registration maybe"
    yes = attend(5)
    assert (await deliver(world, yes, style=friendica_headers)).result == "registration accepted"
    (row,) = await Registration.filter(actor_uri=ALICE)
    assert (row.state, row.request_id) == ("accepted", yes["id"])
    (accept,) = await answers_to(ALICE)
    assert accept["type"] == "Accept" and accept["object"]["id"] == yes["id"]
    assert await seats_taken(meeting) == 1


async def test_a_maybe_refused_attend_stays_a_maybe(world):
    inst = world[0]
    await our_meeting(inst, capacity=2)
    assert (await deliver(world, union_join(DOCK, 1, EVENT, 2))).result == "registration accepted"
    assert (await deliver(world, attend(6, "TentativeAccept"), style=friendica_headers)).result == \
        "registration maybe"
    item = await deliver(world, attend(7), style=friendica_headers)
    assert item.result == "registration rejected (the meeting is full); kept maybe"
    assert [r.state for r in await Registration.filter(actor_uri=ALICE)] == ["maybe"]
    assert [a["type"] for a in await answers_to(ALICE)] == ["Reject"]


async def test_two_requests_of_one_actor_racing_make_one_registration(world):
    inst = world[0]
    meeting = await our_meeting(inst, capacity=10)
    dock = await fetch_actor(inst, DOCK)
    results = await asyncio.gather(*(
        take_request(inst, meeting, via="fediverse", actor=dock, request_id=f"{DOCK}/j{n}", delegates=2)
        for n in (1, 2)), return_exceptions=True)
    assert sum(isinstance(r, AlreadyRegistered) for r in results) == 1
    assert await Registration.filter(meeting=meeting, actor_uri=DOCK).count() == 1
    assert await seats_taken(meeting) == 2


# --- B9 ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("mode", ["none", "external"])
async def test_maybe_for_a_meeting_without_registration_here_is_ignored(world, mode):
    inst = world[0]
    await our_meeting(inst, join_mode=mode, external_url="https://forms.example/x" if mode == "external" else "")
    maybe = attend(8, "TentativeAccept")
    item = await deliver(world, maybe, style=friendica_headers)
    assert item.result.startswith("ignored")
    assert await Registration.all().count() == 0
    assert [(a["type"], a["object"]) for a in await answers_to(ALICE)] == [("Ignore", maybe["id"])]


async def test_a_withdrawal_changes_rows_and_notification_together(world, monkeypatch):
    inst = world[0]
    await our_meeting(inst, capacity=10)
    join = union_join(DOCK, 1, EVENT, 2)
    assert (await deliver(world, join)).result == "registration accepted"

    async def broken(*args, **kwargs):
        raise RuntimeError("the notification could not be stored")

    monkeypatch.setattr(meetings.notify, "record", broken)
    with pytest.raises(RuntimeError):
        await meetings.on_leave(inst, leave(DOCK, 1), await RemoteActor.get(uri=DOCK))
    assert (await Registration.get(request_id=join["id"])).state == "accepted", "rolled back with the notification"
