"""Peers' Events (Mobilizon-, Gancio-, FEP-8a8e-shaped) become Meeting rows the calendars and
registration read; bad ones are refused or stored harmlessly (interop notes C.6 items 38-40)."""
from __future__ import annotations

import html
import re
from datetime import datetime, timezone

import httpx
import pytest

from actors.instance import Instance
from actors.local import create_actor
from actors.models import Following, FollowState, RemoteActor
from actors.urls import Urls
from content.models import Meeting, Post
from federation.clock import FrozenClock
from federation.http import AddressPolicy, SafeClient
from inbox.handlers import Ignored, posts
from web.app import create_app

BASE = "https://ours.example"
PUBLIC = "https://www.w3.org/ns/activitystreams#Public"
MOBILIZON = "https://mobilizon.example/@health_group"
GANCIO = "https://gancio.example/federation/u/relay"


@pytest.fixture
async def setup(db):
    inst = Instance(urls=Urls(BASE), client=SafeClient(policy=AddressPolicy(), user_agent="t"), clock=FrozenClock())
    union = await create_actor(username="rail", kind="union", name="Rail", now=inst.now())
    peers = {}
    for uri, kind in ((MOBILIZON, "Group"), (GANCIO, "Application"), ("https://peer.example/actors/dock", "Organization")):
        domain = uri.split("/")[2]
        peers[domain] = await RemoteActor.create(uri=uri, domain=domain, username=uri.rsplit("/", 1)[1], type=kind,
                                                 inbox=f"https://{domain}/inbox", fetched_at=inst.now())
        await Following.create(local=union, remote=peers[domain], follow_id=f"{BASE}/follows/{domain}",
                               state=FollowState.ACCEPTED, created_at=inst.now())
    try:
        yield inst, peers
    finally:
        await inst.client.aclose()


def mobilizon_event(**changes) -> dict:
    event = {
        "id": "https://mobilizon.example/events/5e7c", "url": "https://mobilizon.example/events/5e7c",
        "type": "Event", "uuid": "5e7c0000-1111-4222-8333-444455556666", "attributedTo": MOBILIZON,
        "to": [PUBLIC], "cc": [], "name": "Health WG monthly call",
        "summary": "Tuesday 7 October 2026 18:00 - Bourse du Travail", "content": "<p>Agenda…</p>",
        "mediaType": "text/html", "startTime": "2026-10-07T18:00:00+02:00", "endTime": "2026-10-07T20:00:00+02:00",
        "timezone": "Europe/Paris",
        "location": {"type": "Place", "id": "https://mobilizon.example/address/1", "name": "Bourse du Travail",
                     "address": {"type": "PostalAddress", "streetAddress": "3 rue X", "postalCode": "75010",
                                 "addressLocality": "Paris", "addressRegion": "IDF", "addressCountry": "France"},
                     "latitude": 48.87, "longitude": 2.36},
        "joinMode": "restricted", "externalParticipationUrl": None, "maximumAttendeeCapacity": 40,
        "remainingAttendeeCapacity": 12, "participantCount": 28, "isOnline": False, "status": "CONFIRMED",
        "ical:status": "CONFIRMED", "inLanguage": "fr", "category": "MEETING",
        "attachment": [{"type": "Link", "mediaType": "text/html", "name": "Website", "href": "https://meet.example/room"}],
        "published": "2026-09-01T10:00:00Z",
    }
    event.update(changes)
    return event


def gancio_event(location, **changes) -> dict:
    event = {"id": "https://gancio.example/federation/m/42", "type": "Event", "name": "Assemblea",
             "url": "https://gancio.example/event/assemblea", "startTime": "2026-10-23T18:00:00.000+02:00",
             "endTime": "2026-10-23T20:00:00.000+02:00", "location": location, "attachment": [],
             "tag": [{"type": "Hashtag", "name": "#sciopero", "href": "https://gancio.example/tag/sciopero"}],
             "published": "2026-09-20T10:00:00Z", "attributedTo": GANCIO, "to": [PUBLIC], "cc": [],
             "content": "<p>…</p>", "summary": "Circolo, venerdì 23 ottobre 18:00 CEST"}
    event.update(changes)
    return event


def create(event: dict, n: int = 1) -> dict:
    return {"@context": "https://www.w3.org/ns/activitystreams", "id": f"{event['id']}/create/{n}", "type": "Create",
            "actor": event["attributedTo"], "object": event}


async def meeting_of(ap_id: str) -> Meeting:
    post = await Post.get(ap_id=ap_id)
    return await Meeting.get(post_id=post.id)


async def test_mobilizon_event(setup):
    inst, peers = setup
    await posts.on_create(inst, create(mobilizon_event()), peers["mobilizon.example"])
    meeting = await meeting_of("https://mobilizon.example/events/5e7c")
    assert meeting.local is False and meeting.uid == "5e7c0000-1111-4222-8333-444455556666@mobilizon.example"
    assert meeting.start == datetime(2026, 10, 7, 16, 0, tzinfo=timezone.utc)
    assert meeting.end == datetime(2026, 10, 7, 18, 0, tzinfo=timezone.utc)
    assert meeting.timezone == "Europe/Paris" and meeting.status == "scheduled"
    assert meeting.place_name == "Bourse du Travail"
    assert meeting.address == {"streetAddress": "3 rue X", "postalCode": "75010", "addressLocality": "Paris",
                               "addressRegion": "IDF", "addressCountry": "France"}
    assert meeting.online_url == "https://meet.example/room", "the Website link: a hybrid meeting"
    assert meeting.join_mode == "approval" and meeting.capacity == 40 and meeting.participant_count == 28
    assert meeting.organizers == [MOBILIZON] and meeting.sequence == 0


async def test_update_raises_sequence_and_reads_the_cancellation(setup):
    inst, peers = setup
    signer = peers["mobilizon.example"]
    await posts.on_create(inst, create(mobilizon_event()), signer)
    uid = (await meeting_of("https://mobilizon.example/events/5e7c")).uid
    moved = mobilizon_event(startTime="2026-10-14T18:00:00+02:00", endTime="2026-10-14T20:00:00+02:00",
                            eventStatus="EventRescheduled", updated="2026-09-10T10:00:00Z")
    await posts.on_update_object(inst, {**create(moved, 2), "type": "Update"}, signer)
    meeting = await meeting_of("https://mobilizon.example/events/5e7c")
    assert meeting.uid == uid and meeting.sequence == 1 and meeting.status == "rescheduled"
    assert meeting.previous_start == datetime(2026, 10, 7, 16, 0, tzinfo=timezone.utc)
    cancelled = mobilizon_event(status="CANCELLED", updated="2026-09-11T10:00:00Z")
    cancelled.pop("ical:status")
    await posts.on_update_object(inst, {**create(cancelled, 3), "type": "Update"}, signer)
    meeting = await meeting_of("https://mobilizon.example/events/5e7c")
    assert meeting.status == "cancelled" and meeting.sequence == 2
    # A remote Delete takes the meeting with the post.
    await posts.on_delete_object(inst, {"id": "https://mobilizon.example/del/1", "type": "Delete",
                                        "actor": MOBILIZON, "object": "https://mobilizon.example/events/5e7c"}, signer)
    assert await Meeting.all().count() == 0


@pytest.mark.parametrize("location, place, address, online", [
    ({"type": "Place", "name": "Circolo", "address": "Via Roma 1, Bologna", "latitude": 44.49, "longitude": 11.34},
     "Circolo", {"streetAddress": "Via Roma 1, Bologna"}, ""),
    ("Circolo Arci, Via Roma 1, Bologna", "Circolo Arci, Via Roma 1, Bologna", {}, ""),
    ([{"type": "Place", "name": "Circolo", "address": {"type": "PostalAddress", "addressLocality": "Bologna"}},
      {"type": "VirtualLocation", "name": "Jitsi", "url": "https://meet.example/assemblea"}],
     "Circolo", {"addressLocality": "Bologna"}, "https://meet.example/assemblea"),
    ({"type": "VirtualLocation", "name": "Online", "url": "https://meet.example/assemblea"},
     "", {}, "https://meet.example/assemblea"),
    ({"type": "Place", "name": "Circolo", "latitude": "44.49"}, "Circolo", {}, ""),
])
async def test_gancio_event_locations(setup, location, place, address, online):
    inst, peers = setup
    await posts.on_create(inst, create(gancio_event(location)), peers["gancio.example"])
    meeting = await meeting_of("https://gancio.example/federation/m/42")
    assert (meeting.place_name, meeting.address, meeting.online_url) == (place, address, online)
    assert meeting.start == datetime(2026, 10, 23, 16, 0, tzinfo=timezone.utc)
    assert meeting.timezone == "" and meeting.join_mode == "free" and meeting.organizers == [GANCIO]
    assert meeting.uid and "gancio.example" in meeting.uid


async def test_union_hall_event_keeps_titles_kind_organizers_and_registration_dates(setup):
    inst, peers = setup
    event = {
        "@context": ["https://www.w3.org/ns/activitystreams", {"unionhall": "https://unionhall.org/ns#",
                                                               "meetingKind": "unionhall:meetingKind"}],
        "id": "https://peer.example/meetings/abc", "type": "Event", "uuid": "0b5c43e1-8a8e-4d1b-9a00-000000000001",
        "attributedTo": "https://peer.example/actors/dock", "to": [PUBLIC], "cc": [],
        "name": "International meeting", "nameMap": {"en": "International meeting", "fr": "Rencontre internationale"},
        "contentMap": {"en": "<p>Programme</p>"}, "startTime": "2026-10-23T09:00:00+02:00",
        "endTime": "2026-10-26T17:00:00+02:00", "timezone": "Europe/Paris", "eventStatus": "EventScheduled",
        "joinMode": "free", "maximumAttendeeCapacity": 300,
        "organizers": {"type": "OrderedCollection", "orderedItems": ["https://peer.example/actors/dock",
                                                                     "https://other.example/actors/x"]},
        "meetingKind": "international", "theme": "alternative unionism",
        "registrationOpens": "2026-07-04T22:00:00Z", "registrationCloses": "2026-09-30T22:00:00Z",
        "attachment": [], "published": "2026-09-01T10:00:00Z",
    }
    await posts.on_create(inst, create(event), peers["peer.example"])
    meeting = await meeting_of("https://peer.example/meetings/abc")
    assert meeting.name_map == {"en": "International meeting", "fr": "Rencontre internationale"}
    assert meeting.kind == "international" and meeting.theme == "alternative unionism"
    assert meeting.organizers == ["https://peer.example/actors/dock", "https://other.example/actors/x"]
    assert meeting.registration_opens == datetime(2026, 7, 4, 22, 0, tzinfo=timezone.utc)
    assert meeting.registration_closes == datetime(2026, 9, 30, 22, 0, tzinfo=timezone.utc)
    assert meeting.capacity == 300 and meeting.uid == "0b5c43e1-8a8e-4d1b-9a00-000000000001@peer.example"


async def test_a_uuid_already_used_does_not_take_over_another_meeting(setup):
    inst, peers = setup
    await posts.on_create(inst, create(mobilizon_event()), peers["mobilizon.example"])
    copycat = gancio_event("Circolo", uuid="5e7c0000-1111-4222-8333-444455556666")
    await posts.on_create(inst, create(copycat), peers["gancio.example"])
    first = await meeting_of("https://mobilizon.example/events/5e7c")
    second = await meeting_of("https://gancio.example/federation/m/42")
    # Each host's uuid lives in that host's namespace: a copy from elsewhere is another UID.
    assert first.uid == "5e7c0000-1111-4222-8333-444455556666@mobilizon.example"
    assert second.uid == "5e7c0000-1111-4222-8333-444455556666@gancio.example"
    # Even a uuid that spells another host's UID stays in its own host's namespace.
    spoof = gancio_event("Circolo", id="https://gancio.example/federation/m/44",
                         uuid="5e7c0000-1111-4222-8333-444455556666@mobilizon.example")
    await posts.on_create(inst, create(spoof), peers["gancio.example"])
    assert (await meeting_of(spoof["id"])).uid.endswith("@gancio.example")
    # An Event claiming another's id as its uuid before that one arrives: both still stored, apart.
    squatter = gancio_event("Circolo", id="https://gancio.example/federation/m/43",
                            uuid="https://peer.example/meetings/abc")
    await posts.on_create(inst, create(squatter), peers["gancio.example"])
    victim = mobilizon_event(id="https://peer.example/meetings/abc", attributedTo="https://peer.example/actors/dock",
                             uuid=None)
    await posts.on_create(inst, create(victim), peers["peer.example"])
    uids = {(await meeting_of(u)).uid for u in ("https://gancio.example/federation/m/43", "https://peer.example/meetings/abc")}
    assert len(uids) == 2


@pytest.mark.parametrize("changes", [
    {"endTime": "2026-10-07T17:00:00+02:00"},
    {"startTime": "99999-10-07T18:00:00+02:00"},
    # Year 10000 in UTC: would overflow the calendar's VTIMEZONE window and every page.
    {"startTime": "9999-12-31T23:30:00-05:00", "endTime": "9999-12-31T23:45:00-05:00", "timezone": None},
    {"startTime": "0001-01-01T00:00:00Z", "timezone": None},
    {"startTime": "9999-12-31T20:00:00Z", "endTime": "9999-12-31T21:00:00Z", "timezone": "Pacific/Kiritimati"},
    {"timezone": "Europe/Atlantis"},
    {"startTime": None},
])
async def test_bad_events_are_refused_and_store_nothing(setup, changes):
    inst, peers = setup
    event = mobilizon_event(**changes)
    with pytest.raises(Ignored):
        await posts.on_create(inst, create(event), peers["mobilizon.example"])
    assert await Post.all().count() == 0 and await Meeting.all().count() == 0


async def test_html_in_the_name_is_stored_as_plain_text(setup):
    inst, peers = setup
    event = mobilizon_event(name="<b>Health</b> <script>alert(1)</script>call", nameMap={"fr": "<i>Appel</i> santé"})
    await posts.on_create(inst, create(event), peers["mobilizon.example"])
    post = await Post.get(ap_id=event["id"])
    meeting = await meeting_of(event["id"])
    assert "<" not in post.name and "Health" in post.name and "script" not in post.name.lower().replace("alert", "")
    assert all("<" not in v for v in meeting.name_map.values()) and "Appel santé" in meeting.name_map.values()


async def test_gancio_update_without_updated_applies_once(setup):
    inst, peers = setup
    signer = peers["gancio.example"]
    await posts.on_create(inst, create(gancio_event("Circolo")), signer)
    moved = gancio_event("Circolo", startTime="2026-10-24T18:00:00.000+02:00", endTime="2026-10-24T20:00:00.000+02:00")
    assert "updated" not in moved  # Gancio never says when it changed an event
    update = {**create(moved, 2), "type": "Update"}
    assert (await posts.on_update_object(inst, update, signer)).startswith("updated ")
    meeting = await meeting_of(moved["id"])
    assert meeting.start == datetime(2026, 10, 24, 16, 0, tzinfo=timezone.utc) and meeting.sequence == 1
    post = await Post.get(ap_id=moved["id"])
    assert post.updated is None, "no invented date"
    # The same Update delivered again (a retry, a relay): nothing changes.
    with pytest.raises(Ignored, match="unchanged"):
        await posts.on_update_object(inst, update, signer)
    assert (await meeting_of(moved["id"])).sequence == 1
    # The original Create, retried late, does not undo the edit.
    await posts.on_create(inst, create(gancio_event("Circolo")), signer)
    assert (await meeting_of(moved["id"])).start == datetime(2026, 10, 24, 16, 0, tzinfo=timezone.utc)


async def test_a_redelivered_create_without_published_does_not_overwrite_an_edit(setup):
    inst, peers = setup
    signer = peers["gancio.example"]
    original = gancio_event("Circolo", name="Assemblea")
    original.pop("published")
    await posts.on_create(inst, create(original), signer)
    published = (await Post.get(ap_id=original["id"])).published
    edited = {**original, "name": "Assemblea straordinaria"}
    await posts.on_update_object(inst, {**create(edited, 2), "type": "Update"}, signer)
    inst.clock.advance(hours=2)  # parse_object dates an undated object "now": later than the edit
    await posts.on_create(inst, create(original, 3), signer)
    post = await Post.get(ap_id=original["id"])
    assert post.name == "Assemblea straordinaria" and post.published == published
    assert (await meeting_of(original["id"])).sequence == 1


@pytest.mark.parametrize("status", ["fep8a8e:EventCancelled", "ical:CANCELLED", "https://w3id.org/fep/8a8e/EventCancelled",
                                    "http://www.w3.org/2002/12/cal/ical#CANCELLED", "https://schema.org/EventCancelled"])
async def test_prefixed_statuses_read_by_their_last_segment(setup, status):
    from web.calendars import vevent
    from web.meeting_items import from_event_post
    inst, peers = setup
    event = mobilizon_event(eventStatus=status)
    event.pop("status"), event.pop("ical:status")
    await posts.on_create(inst, create(event), peers["mobilizon.example"])
    assert (await meeting_of(event["id"])).status == "cancelled"
    # The pages' reading of an Event without a row is the same one.
    item = from_event_post(await Post.get(ap_id=event["id"]), {})
    assert item.status == "cancelled" and str(vevent(item, inst.now())["STATUS"]) == "CANCELLED"


async def test_a_union_hall_status_prefix_is_not_shown_twice(setup):
    from web.calendars import vevent
    from web.meeting_items import one_item
    inst, peers = setup
    event = mobilizon_event(id="https://peer.example/meetings/x", attributedTo="https://peer.example/actors/dock",
                            uuid=None, name="[CANCELLED] Dock assembly",
                            nameMap={"en": "[CANCELLED] Dock assembly", "fr": "[ANNULÉ] Assemblée des docks"},
                            eventStatus="EventCancelled", status="CANCELLED")
    await posts.on_create(inst, create(event), peers["peer.example"])
    meeting = await meeting_of(event["id"])
    assert meeting.name_map == {"en": "Dock assembly", "fr": "Assemblée des docks"}
    item = await one_item(inst, meeting, None)
    assert str(vevent(item, inst.now())["SUMMARY"]) in ("Cancelled: Dock assembly", "Cancelled: Assemblée des docks")
    # A scheduled meeting whose title happens to start with brackets keeps it.
    scheduled = mobilizon_event(id="https://peer.example/meetings/y", attributedTo="https://peer.example/actors/dock",
                                uuid=None, name="[CANCELLED] is the name of our band", nameMap=None)
    await posts.on_create(inst, create(scheduled), peers["peer.example"])
    assert list((await meeting_of(scheduled["id"])).name_map.values()) == ["[CANCELLED] is the name of our band"]


async def test_a_mobilizon_group_events_actor_is_an_organiser(setup):
    inst, peers = setup
    event = mobilizon_event(actor="https://mobilizon.example/@alice")
    await posts.on_create(inst, create(event), peers["mobilizon.example"])
    assert (await meeting_of(event["id"])).organizers == [MOBILIZON, "https://mobilizon.example/@alice"]
    # An `actor` on another host is nobody's organiser here.
    other = mobilizon_event(id="https://mobilizon.example/events/6", uuid=None, actor="https://evil.example/@bob")
    await posts.on_create(inst, create(other), peers["mobilizon.example"])
    assert (await meeting_of(other["id"])).organizers == [MOBILIZON]


async def test_received_mobilizon_and_gancio_events_read_right_in_the_network_calendar(setup):
    """Through the inbox as a peer sends them, then as a reader sees them on /calendar: a Mobilizon
    Event whose `location` is an array (FEP-8a8e hybrid), a Gancio one whose `location` is a string."""
    inst, peers = setup
    hybrid = [{"type": "Place", "name": "Bourse du Travail",
               "address": {"type": "PostalAddress", "streetAddress": "3 rue X", "addressLocality": "Paris"}},
              {"type": "VirtualLocation", "name": "Jitsi", "url": "https://meet.example/health"}]
    await posts.on_create(inst, create(mobilizon_event(location=hybrid)), peers["mobilizon.example"])
    await posts.on_create(inst, create(gancio_event("Circolo Arci, Via Roma 1, Bologna")), peers["gancio.example"])
    app = create_app(inst, version="test")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=inst.urls.base) as client:
        page = await client.get("/calendar", headers={"Accept": "text/html"})
    assert page.status_code == 200
    shown = html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page.text)))
    assert "Health WG monthly call" in shown and "Bourse du Travail" in shown and "Paris" in shown
    assert "Assemblea" in shown and "Circolo Arci, Via Roma 1, Bologna" in shown
    # Times as the organisers gave them: 18:00 in Paris (Mobilizon), 18:00 at +02:00 (Gancio, no zone).
    assert "18:00" in shown
