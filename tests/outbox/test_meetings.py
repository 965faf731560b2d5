"""Our meetings on the wire: Create to followers, Updates with a rising SEQUENCE and a reply
statement on reschedule/cancel, never a Delete once people registered, and the registration
opening announced exactly once."""
from __future__ import annotations

import json

import pytest

from actors.instance import Instance
from actors.local import create_actor
from actors.models import Follower, FollowState, RemoteActor
from actors.urls import Urls
from content.meetings import MeetingError
from content.models import Meeting, Post, Registration
from federation.clock import FrozenClock
from federation.http import AddressPolicy, SafeClient
from federation.models import Delivery
from outbox import meetings
from outbox.models import Activity

BASE = "https://ours.example"


@pytest.fixture
async def setup(db):
    inst = Instance(urls=Urls(BASE), client=SafeClient(policy=AddressPolicy(), user_agent="t"), clock=FrozenClock())
    union = await create_actor(username="rail", kind="union", name="SUD-Rail", now=inst.now())
    for n in (1, 2):
        peer = await RemoteActor.create(uri=f"https://peer{n}.example/actors/u", domain=f"peer{n}.example",
                                        username="u", type="Organization", inbox=f"https://peer{n}.example/inbox",
                                        shared_inbox=f"https://peer{n}.example/shared", fetched_at=inst.now())
        await Follower.create(local=union, remote=peer, follow_id=f"https://peer{n}.example/f/1",
                              state=FollowState.ACCEPTED, created_at=inst.now())
    try:
        yield inst, union
    finally:
        await inst.client.aclose()


def intl(**changes) -> dict:
    data = {"titles": {"en": "International meeting 2026", "fr": "Rencontre internationale 2026"},
            "descriptions": {"en": "Programme and #travel info", "fr": "Programme"},
            "start": "2026-10-23T09:00", "end": "2026-10-26T17:00", "timezone": "Europe/Paris",
            "place_name": "Bourse du Travail", "address": {"addressLocality": "Dijon", "addressCountry": "FR"},
            "capacity": 3, "join_mode": "approval", "kind": "international", "theme": "alternative unionism"}
    data.update(changes)
    return data


async def payloads(kind: str) -> list[dict]:
    return [row.payload for row in await Activity.filter(type=kind).order_by("id")]


async def test_create_sends_the_event_to_every_follower_server(setup):
    inst, union = setup
    meeting = await meetings.create_meeting(inst, union, intl())
    post = await Post.get(id=meeting.post_id)
    assert post.type == "Event" and post.ap_id.startswith(f"{BASE}/meetings/")
    [create] = await payloads("Create")
    event = create["object"]
    assert create["actor"] == f"{BASE}/actors/rail" and create["to"] == event["to"]
    assert event["id"] == post.ap_id and event["type"] == "Event" and event["joinMode"] == "restricted"
    assert event["startTime"] == "2026-10-23T09:00:00+02:00" and event["timezone"] == "Europe/Paris"
    assert event["uuid"] == meeting.uid and event["meetingKind"] == "international"
    assert {"type": "Hashtag", "name": "#AlternativeUnionism", "href": f"{BASE}/tags/alternativeunionism"} in event["tag"]
    inboxes = sorted(await Delivery.all().values_list("inbox", flat=True))
    assert inboxes == ["https://peer1.example/shared", "https://peer2.example/shared"]
    assert meeting.sequence == 0 and meeting.status == "scheduled"


async def test_bad_input_stores_nothing(setup):
    inst, union = setup
    with pytest.raises(MeetingError, match="end is before the start"):
        await meetings.create_meeting(inst, union, intl(end="2026-10-22T17:00"))
    assert await Post.all().count() == 0 and await Activity.all().count() == 0 and await Delivery.all().count() == 0


async def test_reschedule_is_an_update_with_sequence_up_and_a_reply_note(setup):
    inst, union = setup
    meeting = await meetings.create_meeting(inst, union, intl())
    old_start = meeting.start
    meeting = await meetings.update_meeting(inst, union, meeting, intl(start="2026-11-06T09:00", end="2026-11-09T17:00"))
    assert meeting.sequence == 1 and meeting.status == "rescheduled" and meeting.previous_start == old_start
    [update] = await payloads("Update")
    event = update["object"]
    assert event["eventStatus"] == "EventRescheduled" and event["previousStartTime"] == "2026-10-23T09:00:00+02:00"
    assert event["startTime"] == "2026-11-06T09:00:00+01:00", "winter time in November"
    post = await Post.get(id=meeting.post_id)
    note = await Post.get(type="Note", in_reply_to=post.ap_id)
    assert "6 November 2026" in note.content_map["en"] and "23 October 2026" in note.content_map["en"]
    assert "6 novembre 2026" in note.content_map["fr"]
    # The reply goes out as a Create of a Note, after the Update.
    creates = await payloads("Create")
    assert [c["object"]["type"] for c in creates] == ["Event", "Note"]
    assert creates[1]["object"]["inReplyTo"] == post.ap_id
    # A plain edit (same start) raises SEQUENCE again but sends no statement.
    meeting = await meetings.update_meeting(inst, union, meeting, intl(start="2026-11-06T09:00", end="2026-11-09T17:00",
                                                                       capacity=10))
    assert meeting.sequence == 2 and await Post.filter(type="Note").count() == 1
    assert (await payloads("Update"))[-1]["object"]["maximumAttendeeCapacity"] == 10


async def test_cancel_is_an_update_never_a_delete(setup):
    inst, union = setup
    meeting = await meetings.create_meeting(inst, union, intl())
    now = inst.now()
    await Registration.create(meeting=meeting, via="web", name="Ana", union_name="Dock", email="a@dock.example",
                              delegates=2, state="accepted", created_at=now, updated_at=now)
    meeting = await meetings.cancel_meeting(inst, union, meeting)
    assert meeting.status == "cancelled" and meeting.sequence == 1
    [update] = await payloads("Update")
    event = update["object"]
    assert event["eventStatus"] == "EventCancelled" and event["status"] == "CANCELLED"
    assert event["name"].startswith("[CANCELLED]") and event["summary"].startswith("<p>[CANCELLED]")
    assert event["nameMap"]["fr"].startswith("[ANNULÉ]")
    assert event["participantCount"] == 2 and event["remainingAttendeeCapacity"] == 1
    assert await Post.filter(type="Note", in_reply_to=event["id"]).count() == 1
    with pytest.raises(MeetingError, match="cancel it instead"):
        await meetings.delete_meeting(inst, union, meeting)
    assert await Meeting.filter(id=meeting.id).exists() and not await payloads("Delete")
    with pytest.raises(MeetingError, match="already cancelled"):
        await meetings.cancel_meeting(inst, union, meeting)


async def test_delete_without_registrations_sends_delete(setup):
    inst, union = setup
    meeting = await meetings.create_meeting(inst, union, intl())
    await meetings.delete_meeting(inst, union, meeting)
    assert not await Meeting.filter(id=meeting.id).exists()
    [delete] = await payloads("Delete")
    assert delete["object"]["type"] == "Tombstone"


async def test_postpone(setup):
    inst, union = setup
    meeting = await meetings.postpone_meeting(inst, union, await meetings.create_meeting(inst, union, intl()))
    assert meeting.status == "postponed"
    event = (await payloads("Update"))[0]["object"]
    assert event["eventStatus"] == "EventPostponed" and event["status"] == "TENTATIVE"


async def test_registration_opening_is_announced_once(setup):
    inst, union = setup
    meeting = await meetings.create_meeting(inst, union, intl(registration_opens="2026-09-25T10:00"))
    assert await meetings.announce_open_registrations(inst) == 0, "not yet"
    inst.clock.advance(days=3)
    assert await meetings.announce_open_registrations(inst) == 1
    assert await meetings.announce_open_registrations(inst) == 0, "once only"
    post = await Post.get(id=meeting.post_id)
    [note] = await Post.filter(type="Note", in_reply_to=post.ap_id)
    assert "Registration is open for International meeting 2026" in note.content_map["en"]
    assert f"{post.ap_id}/register" in note.content_map["en"]
    assert (await Meeting.get(id=meeting.id)).opening_announced
    # Announced already open, or moved: no statement now; a new date ahead is announced when it comes.
    already = await meetings.create_meeting(inst, union, intl(registration_opens="2026-09-01T00:00"))
    assert already.opening_announced and await meetings.announce_open_registrations(inst) == 0
    moved = await meetings.update_meeting(inst, union, already, intl(registration_opens="2026-10-01T00:00"))
    assert not moved.opening_announced
    inst.clock.advance(days=10)
    assert await meetings.announce_open_registrations(inst) == 1
    deliveries = await Delivery.all().prefetch_related("envelope")
    bodies = [json.loads(bytes(d.envelope.body)) for d in deliveries]
    # Two Creates of Events, one Update, two opening statements: each to both servers.
    assert len(bodies) == 10
    assert sum("Registration is open" in b["object"].get("content", "") for b in bodies) == 4


async def test_the_worker_loop_announces_registration_openings(setup, tmp_path):
    """The background task `unionhall serve`/`worker` run: the statement goes out without anyone asking."""
    from tests.e2e.harness import eventually
    from unionhall.runtime import Workers
    from unionhall.settings import Settings

    inst, union = setup
    meeting = await meetings.create_meeting(inst, union, intl(registration_opens="2026-09-23T12:00"))
    inst.clock.advance(hours=1)  # 10:00 UTC = 12:00 in Paris
    workers = Workers(inst, Settings(url=BASE, data_dir=tmp_path))
    workers.start()
    try:
        post = await Post.get(id=meeting.post_id)
        await eventually(lambda: Post.filter(type="Note", in_reply_to=post.ap_id).exists(), timeout=10,
                         what="the registration opening statement")
    finally:
        await workers.stop()
    assert (await Meeting.get(id=meeting.id)).opening_announced


async def test_friendica_and_join_registrants_get_the_cancellation(setup):
    """B4: a Friendica attendee (via="friendica") is sent the Update like a Join registrant; one who
    declined is not."""
    inst, union = setup
    meeting = await meetings.create_meeting(inst, union, intl())
    now = inst.now()
    for name, via, state in (("fri", "friendica", "accepted"), ("may", "friendica", "maybe"),
                             ("mob", "fediverse", "accepted"), ("gone", "friendica", "declined")):
        uri = f"https://{name}.example/u"
        await RemoteActor.create(uri=uri, domain=f"{name}.example", username="u", type="Person",
                                 inbox=f"{uri}/inbox", fetched_at=now)
        await Registration.create(meeting=meeting, via=via, actor_uri=uri, request_id=f"{uri}/r", name=name,
                                  delegates=1, state=state, created_at=now, updated_at=now)
    await meetings.cancel_meeting(inst, union, meeting)
    update = (await Activity.filter(type="Update").order_by("-id").first()).ap_id
    inboxes = set(await Delivery.filter(envelope__activity_id=update).values_list("inbox", flat=True))
    for name in ("fri", "may", "mob"):
        assert f"https://{name}.example/u/inbox" in inboxes
    assert "https://gone.example/u/inbox" not in inboxes
