"""Web registration (no fediverse account): the same capacity and approval rules as a Join, field
checks with clear reasons, nothing stored on refusal; and a peer's Event kept as a Meeting row whose
SEQUENCE rises with each newer version."""
from __future__ import annotations

from datetime import timedelta

import pytest

from actors.instance import Instance
from actors.local import create_actor
from actors.urls import Urls
from content.models import Meeting, Notification, Post, Registration
from content.registrations import seats_taken
from federation.clock import FrozenClock
from federation.http import AddressPolicy, SafeClient
from outbox.lookup import store_remote_post
from outbox.registrations import InvalidRegistration, RegistrationError, decide, register_web
from outbox.models import Activity

BASE = "https://ours.example"


@pytest.fixture
async def inst(db):
    client = SafeClient(policy=AddressPolicy(), user_agent="t")
    inst = Instance(urls=Urls(BASE), client=client, clock=FrozenClock())
    await create_actor(username="rail", kind="union", name="Rail Workers", now=inst.now())
    try:
        yield inst
    finally:
        await client.aclose()


async def meeting(inst: Instance, **fields) -> Meeting:
    post = await Post.create(ap_id=f"{BASE}/meetings/1", local=True, type="Event", author_uri=f"{BASE}/actors/rail",
                             name="Women's rights and feminism", published=inst.now())
    values = {"uid": "1@ours.example", "start": inst.now() + timedelta(days=10),
              "end": inst.now() + timedelta(days=10, hours=3), "timezone": "Europe/Paris", "capacity": 3, **fields}
    return await Meeting.create(post=post, local=True, **values)


def person(**changes) -> dict:
    return {"name": "Ana Ruiz", "union_name": "Sindicato Ferroviario", "email": "ana@example.org", "delegates": 2,
            "message": "We come by train", **changes}


async def test_web_registration_counts_delegates_and_refuses_when_full(inst):
    m = await meeting(inst)
    reg = await register_web(inst, m, **person())
    assert (reg.state, reg.via, reg.delegates, reg.actor_uri) == ("accepted", "web", 2, None)
    assert await Notification.filter(kind="registration").count() == 1
    with pytest.raises(RegistrationError, match="the meeting is full"):
        await register_web(inst, m, **person(email="b@example.org"))
    assert await Registration.all().count() == 1, "a refused attempt stores nothing"
    await register_web(inst, m, **person(email="c@example.org", delegates="1"))
    assert await seats_taken(m) == 3
    assert await Activity.all().count() == 0, "nothing federates for web registrations"


@pytest.mark.parametrize(("changes", "reason"), [
    ({"name": "  "}, "give your name"),
    ({"email": "not-an-address"}, "valid e-mail"),
    ({"email": "a@b.c" + "x" * 400}, "valid e-mail"),
    ({"delegates": 0}, "from 1 to 50"),
    ({"delegates": 51}, "from 1 to 50"),
    ({"delegates": "two"}, "whole number"),
    ({"message": "x" * 2001}, "longer than 2000"),
    ({"name": "<b></b>"}, "give your name"),
    ({"name": "A" * 256}, "name is longer than 255"),
    ({"union_name": "U" * 256}, "union's name is longer than 255"),
    ({"email": "a@example."}, "valid e-mail"),
    ({"email": "a b@example.org"}, "valid e-mail"),
])
async def test_web_registration_field_checks(inst, changes, reason):
    m = await meeting(inst)
    with pytest.raises(RegistrationError, match=reason):
        await register_web(inst, m, **person(**changes))
    assert await Registration.all().count() == 0


async def test_web_registration_html_is_plain_text(inst):
    m = await meeting(inst, capacity=None)
    reg = await register_web(inst, m, **person(name="<b>Ana</b>", message="<script>x()</script>Hello"))
    assert reg.name == "Ana" and "<" not in reg.message


async def test_web_registration_join_modes_and_closed(inst):
    m = await meeting(inst, join_mode="external", external_url="https://forms.example/register")
    with pytest.raises(RegistrationError, match="https://forms.example/register"):
        await register_web(inst, m, **person())
    m.join_mode, m.status = "free", "cancelled"
    await m.save()
    with pytest.raises(RegistrationError, match="registration is closed"):
        await register_web(inst, m, **person())
    m.status, m.registration_opens = "scheduled", inst.now() + timedelta(days=1)
    await m.save()
    with pytest.raises(RegistrationError, match="registration is closed"):
        await register_web(inst, m, **person())


async def test_web_registration_with_approval_waits_then_decide(inst):
    m = await meeting(inst, join_mode="approval", capacity=2)
    first = await register_web(inst, m, **person())
    second = await register_web(inst, m, **person(email="b@example.org", delegates=1))
    assert (first.state, second.state) == ("pending", "pending")
    assert await Notification.filter(kind="registration_request").count() == 2
    await decide(inst, first, True)
    with pytest.raises(RegistrationError, match="not enough seats"):
        await decide(inst, second, True)
    await decide(inst, second, False, "full, sorry")
    assert [(r.state, r.reason) for r in await Registration.all().order_by("id")] == [
        ("accepted", ""), ("rejected", "full, sorry")]
    assert await Activity.all().count() == 0


async def test_peer_event_becomes_a_meeting_whose_sequence_rises(inst):
    event = {"id": "https://peer.example/meetings/7", "type": "Event", "attributedTo": "https://peer.example/actors/dock",
             "name": "Dock assembly", "to": ["https://www.w3.org/ns/activitystreams#Public"],
             "startTime": "2026-10-20T09:00:00+02:00", "endTime": "2026-10-20T17:00:00+02:00",
             "timezone": "Europe/Paris", "joinMode": "restricted", "maximumAttendeeCapacity": 40,
             "location": {"type": "Place", "name": "Harbour hall", "address": "Quai 1, Genova"},
             "published": "2026-09-01T10:00:00Z"}
    post = await store_remote_post(inst, event)
    m = await Meeting.get(post_id=post.id)
    assert (m.local, m.uid, m.sequence, m.join_mode, m.capacity, m.place_name) == (
        False, event["id"], 0, "approval", 40, "Harbour hall")
    moved = {**event, "startTime": "2026-10-27T09:00:00+01:00", "endTime": "2026-10-27T17:00:00+01:00",
             "eventStatus": "EventRescheduled", "updated": "2026-09-02T10:00:00Z"}
    await store_remote_post(inst, moved)
    await store_remote_post(inst, moved)  # the same version again changes nothing
    m = await Meeting.get(post_id=post.id)
    assert (m.uid, m.sequence, m.status) == (event["id"], 1, "rescheduled")
    assert m.start.isoformat().startswith("2026-10-27T08:00") and m.previous_start is not None
    cancelled = {**moved, "eventStatus": "EventCancelled", "updated": "2026-09-03T10:00:00Z"}
    await store_remote_post(inst, cancelled)
    m = await Meeting.get(post_id=post.id)
    assert (m.sequence, m.status) == (2, "cancelled")


async def test_web_registration_reports_every_problem_at_once(inst):
    m = await meeting(inst)
    with pytest.raises(InvalidRegistration) as caught:
        await register_web(inst, m, **person(name="", email="nope", delegates="lots"))
    reasons = caught.value.reasons
    assert len(reasons) == 3 and "your name" in reasons[0] and "e-mail" in reasons[1] and "delegates" in reasons[2]
    assert await Registration.all().count() == 0
