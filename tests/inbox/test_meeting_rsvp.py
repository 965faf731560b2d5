"""RSVP over the wire, in process: Mobilizon-shaped Joins and Friendica-shaped attendance, signed as
those servers sign, POSTed to our real inbox route, applied by the real inbox processor; the answers
are checked as the outbound activities and deliveries they become (interop notes A.7, A.10, C.6 #44-46).
"""
from __future__ import annotations

import asyncio
import base64
import hashlib
import json
from datetime import datetime, timedelta
from email.utils import formatdate

import httpx
import pytest

from actors.instance import Instance
from actors.local import create_actor, get_by_username
from actors.models import Following, FollowState, RemoteActor
from actors.remote import fetch_actor
from actors.urls import Urls
from content.models import Meeting, Notification, Post, Registration
from content.registrations import JOIN_CONTEXT_TERMS, seats_taken
from federation.clock import FrozenClock
from federation.http import AddressPolicy, SafeClient
from federation.httpsig import public_key_pem_from_private
from federation.models import Delivery, Envelope
from inbox.handlers import meetings
from inbox.models import InboxItem
from inbox.process import InboxProcessor
from outbox import follows as outbox_follows
from outbox.models import Activity
from outbox.registrations import decide, register_for, take_request, withdraw
from tests.support.fakepeer import shared_pem
from tests.support.mastodon_signer import cavage_signature
from web.app import create_app

BASE = "https://ours.example"
UNION = f"{BASE}/actors/rail"
AS = "https://www.w3.org/ns/activitystreams"
AP = "application/activity+json"
BOB = "https://mobilizon.example/@bob"  # Mobilizon person
ALICE = "https://friendica.example/profile/alice"  # Friendica user
DOCK = "https://peer.example/actors/dock"  # another Union Hall
MILL = "https://mill.example/actors/mill"  # a third union
# Mobilizon's JSON-LD header (abridged from utils.ex make_json_ld_header).
MOBILIZON_CONTEXT = [AS, "https://w3id.org/security/v1", {
    "mz": "https://joinmobilizon.org/ns#", "participationMessage": {"@id": "mz:participationMessage"}}]
UH_CONTEXT = [AS, JOIN_CONTEXT_TERMS]


def actor_doc(uri: str, kind: str = "Person") -> dict:
    return {"@context": [AS, "https://w3id.org/security/v1"], "id": uri, "type": kind,
            "preferredUsername": uri.rstrip("/").rsplit("/", 1)[1].lstrip("@"), "name": uri.rsplit("/", 1)[1].title(),
            "inbox": f"{uri}/inbox",
            "publicKey": {"id": f"{uri}#main-key", "owner": uri, "publicKeyPem": public_key_pem_from_private(shared_pem())}}


@pytest.fixture
async def world(db):
    remote: dict[str, dict] = {uri: actor_doc(uri, kind) for uri, kind in (
        (BOB, "Person"), (ALICE, "Person"), (DOCK, "Organization"), (MILL, "Organization"))}

    def answer(request: httpx.Request) -> httpx.Response:
        doc = remote.get(str(request.url).split("#")[0].split("?")[0])
        if doc is None:
            return httpx.Response(404, json={})
        return httpx.Response(200, headers={"Content-Type": AP}, stream=httpx.ByteStream(json.dumps(doc).encode()))

    client = SafeClient(policy=AddressPolicy(), user_agent="t", transport=httpx.MockTransport(answer))
    inst = Instance(urls=Urls(BASE), client=client, clock=FrozenClock())
    await create_actor(username="rail", kind="union", name="Rail Workers", now=inst.now())
    await create_actor(username=inst.urls.host, kind="instance", name="instance", now=inst.now())
    app = create_app(inst, version="test")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE) as http:
        yield inst, http, remote
    await client.aclose()


async def our_meeting(inst: Instance, n: int = 1, **fields) -> Meeting:
    """One of our meetings as stored (the CORE helper's create_meeting writes the same two rows)."""
    post = await Post.create(ap_id=f"{BASE}/meetings/{n}", local=True, type="Event", author_uri=UNION,
                             name="International meeting", published=inst.now())
    values = {"uid": f"{n}@ours.example", "start": inst.now() + timedelta(days=30),
              "end": inst.now() + timedelta(days=33), "timezone": "Europe/Paris", "capacity": 3,
              "join_mode": "free", "organizers": [UNION], **fields}
    return await Meeting.create(post=post, local=True, **values)


# --- signing as the senders do -------------------------------------------------------------------

def _digest(body: bytes) -> str:
    return "SHA-256=" + base64.b64encode(hashlib.sha256(body).digest()).decode()


def mobilizon_headers(actor: str, body: bytes, now: datetime) -> dict[str, str]:
    """Mobilizon (Pleroma's http_signatures): rsa-sha256 over (request-target) content-length date
    digest host, keyId = actor URL + #main-key."""
    values = {"(request-target)": "post /inbox", "content-length": str(len(body)),
              "date": formatdate(now.timestamp(), usegmt=True), "digest": _digest(body), "host": "ours.example"}
    sig = cavage_signature(private_key_pem=shared_pem(), key_id=f"{actor}#main-key", covered=list(values),
                           values=values)
    return {"Content-Type": AP, "Date": values["date"], "Digest": values["digest"], "Signature": sig}


def friendica_headers(actor: str, body: bytes, now: datetime) -> dict[str, str]:
    """Friendica (HTTPSignature::transmit): rsa-sha256 over (request-target) date digest host."""
    values = {"(request-target)": "post /inbox", "date": formatdate(now.timestamp(), usegmt=True),
              "digest": _digest(body), "host": "ours.example"}
    sig = cavage_signature(private_key_pem=shared_pem(), key_id=f"{actor}#main-key", covered=list(values),
                           values=values)
    return {"Content-Type": AP, "Date": values["date"], "Digest": values["digest"], "Signature": sig}


async def deliver(world, activity: dict, *, style=mobilizon_headers) -> InboxItem:
    inst, http, _ = world
    body = json.dumps(activity).encode()
    response = await http.post("/inbox", content=body, headers=style(activity["actor"], body, inst.now()))
    assert response.status_code == 202, response.text
    await InboxProcessor(inst).run_once()
    return await InboxItem.get(activity_id=activity["id"])


def mobilizon_join(n: int, event: str, message: str = "") -> dict:
    join = {"@context": MOBILIZON_CONTEXT, "type": "Join", "id": f"https://mobilizon.example/join/event/{n}",
            "actor": BOB, "object": event, "to": [UNION], "cc": []}
    if message:
        join["participationMessage"] = message
    return join


def union_join(actor: str, n: int, event: str, delegates: int) -> dict:
    return {"@context": UH_CONTEXT, "type": "Join", "id": f"{actor.rsplit('/actors/', 1)[0]}/activities/j{n}",
            "actor": actor, "object": event, "to": [UNION], "delegates": delegates}


async def answers_to(actor: str) -> list[dict]:
    """Our activities addressed to `actor`, oldest first, each checked to have a delivery to its inbox."""
    out = []
    for row in await Activity.filter(type__in=("Accept", "Reject", "Ignore")).order_by("id"):
        if row.payload.get("to") == [actor]:
            envelope = await Envelope.get(activity_id=row.ap_id)
            assert await Delivery.filter(envelope=envelope, inbox=f"{actor}/inbox").exists()
            out.append(row.payload)
    return out


# --- inbound, on our meetings ---------------------------------------------------------------------

async def test_mobilizon_join_is_accepted_once_from_the_organiser(world):
    inst = world[0]
    meeting = await our_meeting(inst)
    join = mobilizon_join(1, meeting_uri := f"{BASE}/meetings/1", "<b>Delegate</b> of the health branch")
    item = await deliver(world, join)
    assert item.state == "done" and item.result == "registration accepted"
    (accept,) = await answers_to(BOB)
    assert accept["type"] == "Accept" and accept["actor"] == UNION
    assert accept["object"] == {"id": join["id"], "type": "Join", "actor": BOB, "object": meeting_uri}
    reg = await Registration.get(request_id=join["id"])
    assert (reg.state, reg.delegates, reg.via, reg.message) == ("accepted", 1, "fediverse", "Delegate of the health branch")
    assert await Notification.filter(kind="registration", actor_uri=BOB).count() == 1

    # Redelivered (the pipeline dedupes) and re-applied (a worker crash): still one registration, one answer.
    body = json.dumps(join).encode()
    again = await world[1].post("/inbox", content=body, headers=mobilizon_headers(BOB, body, inst.now()))
    assert again.status_code == 202
    assert await meetings.on_join(inst, join, await RemoteActor.get(uri=BOB)) == "already accepted"
    assert await Registration.filter(meeting=meeting).count() == 1 and len(await answers_to(BOB)) == 1


async def test_capacity_counts_delegates_full_is_refused_and_withdrawal_frees_seats(world):
    inst = world[0]
    meeting = await our_meeting(inst, capacity=3)
    event = f"{BASE}/meetings/1"
    first = union_join(DOCK, 1, event, 2)
    assert (await deliver(world, first)).result == "registration accepted"
    second = union_join(MILL, 2, event, 2)
    item = await deliver(world, second)
    assert item.result == "registration rejected (the meeting is full)"
    (reject,) = await answers_to(MILL)
    assert reject["type"] == "Reject" and reject["object"]["id"] == second["id"] and reject["reason"] == "full"
    assert await seats_taken(meeting) == 2, "a refused request takes no seat"
    # Mobilizon's one participant fits in the last seat; the next one does not.
    assert (await deliver(world, mobilizon_join(3, event))).result == "registration accepted"
    bob_again = {**mobilizon_join(4, event), "actor": BOB}
    assert (await deliver(world, bob_again)).state == "ignored", "already registered"
    assert await seats_taken(meeting) == 3

    # DOCK withdraws, as Union Hall does: Leave, then Undo(Join), which finds nothing left.
    leave = {"@context": AS, "id": "https://peer.example/activities/l1", "type": "Leave", "actor": DOCK,
             "object": event}
    assert (await deliver(world, leave)).result == "registration withdrawn"
    undo = {"@context": AS, "id": "https://peer.example/activities/u1", "type": "Undo", "actor": DOCK,
            "object": {k: first[k] for k in ("id", "type", "actor", "object")}}
    assert (await deliver(world, undo)).result == "nothing to undo: the registration is withdrawn"
    assert await seats_taken(meeting) == 1
    assert await Notification.filter(kind="registration_withdrawn", actor_uri=DOCK).count() == 1
    # MILL asks again, and fits now.
    assert (await deliver(world, union_join(MILL, 5, event, 2))).result == "registration accepted"
    assert await seats_taken(meeting) == 3


async def test_join_for_meeting_without_registration_here_is_ignored_and_nothing_stored(world):
    inst = world[0]
    await our_meeting(inst, 1, join_mode="none")
    await our_meeting(inst, 2, join_mode="external", external_url="https://forms.example/x")
    for n in (1, 2):
        join = mobilizon_join(10 + n, f"{BASE}/meetings/{n}")
        item = await deliver(world, join)
        assert item.result.startswith("ignored")
    ignores = await answers_to(BOB)
    assert [(a["type"], a["object"]) for a in ignores] == [
        ("Ignore", "https://mobilizon.example/join/event/11"), ("Ignore", "https://mobilizon.example/join/event/12")]
    assert await Registration.all().count() == 0


async def test_closed_and_cancelled_meetings_refuse(world):
    inst = world[0]
    await our_meeting(inst, 1, registration_closes=inst.now() - timedelta(hours=1))
    await our_meeting(inst, 2, status="cancelled")
    for n in (1, 2):
        item = await deliver(world, mobilizon_join(20 + n, f"{BASE}/meetings/{n}"))
        assert item.result == "registration rejected (registration is closed)"
    assert [a["type"] for a in await answers_to(BOB)] == ["Reject", "Reject"]


async def test_approval_mode_waits_for_the_organiser(world):
    inst = world[0]
    await our_meeting(inst, capacity=3, join_mode="approval")
    event = f"{BASE}/meetings/1"
    join_a, join_b = union_join(DOCK, 1, event, 2), union_join(MILL, 2, event, 2)
    for join in (join_a, join_b):
        assert (await deliver(world, join)).result == "registration pending"
    assert await answers_to(DOCK) == [] and await Notification.filter(kind="registration_request").count() == 2
    reg_a, reg_b = [await Registration.get(request_id=j["id"]) for j in (join_a, join_b)]
    await decide(inst, reg_a, True)
    with pytest.raises(ValueError, match="not enough seats"):
        await decide(inst, reg_b, True)
    await decide(inst, reg_b, False, "we are full, sorry")
    (accept,) = await answers_to(DOCK)
    (reject,) = await answers_to(MILL)
    assert accept["type"] == "Accept" and accept["object"]["id"] == join_a["id"] and accept["actor"] == UNION
    assert reject["type"] == "Reject" and reject["object"]["id"] == join_b["id"]
    assert (await Registration.get(id=reg_b.id)).reason == "we are full, sorry"


async def test_friendica_attend_maybe_and_not_going(world):
    inst = world[0]
    meeting = await our_meeting(inst, capacity=3)
    event = f"{BASE}/meetings/1"
    attend = {"@context": [AS, "https://w3id.org/security/v1"], "id": "https://friendica.example/objects/a1",
              "type": "Accept", "actor": ALICE, "object": event, "to": [UNION]}
    assert (await deliver(world, attend, style=friendica_headers)).result == "registration accepted"
    (accept,) = await answers_to(ALICE)
    assert accept["object"] == {"id": attend["id"], "type": "Accept", "actor": ALICE, "object": event}
    assert await seats_taken(meeting) == 1

    maybe = {**attend, "id": "https://friendica.example/objects/a2", "type": "TentativeAccept"}
    assert (await deliver(world, maybe, style=friendica_headers)).result == "registration now maybe"
    assert await seats_taken(meeting) == 0, "maybe holds no seat"
    no = {**attend, "id": "https://friendica.example/objects/a3", "type": "Reject"}
    assert (await deliver(world, no, style=friendica_headers)).result == "registration declined"
    assert len(await answers_to(ALICE)) == 1, "maybe and not going get no answer"
    assert [r.state for r in await Registration.filter(actor_uri=ALICE)] == ["declined"]


async def test_friendica_attend_on_a_full_meeting_is_refused(world):
    inst = world[0]
    await our_meeting(inst, capacity=2)
    event = f"{BASE}/meetings/1"
    assert (await deliver(world, union_join(DOCK, 1, event, 2))).result == "registration accepted"
    attend = {"@context": AS, "id": "https://friendica.example/objects/b1", "type": "Accept", "actor": ALICE,
              "object": event}
    assert (await deliver(world, attend, style=friendica_headers)).result == "registration rejected (the meeting is full)"
    (reject,) = await answers_to(ALICE)
    assert reject["type"] == "Reject" and reject["object"]["id"] == attend["id"]


async def test_join_signed_by_someone_else_is_refused_by_the_pipeline(world):
    inst, http, _ = world
    await our_meeting(inst)
    join = mobilizon_join(30, f"{BASE}/meetings/1")
    body = json.dumps({**join, "actor": "https://mobilizon.example/@carol"}).encode()
    response = await http.post("/inbox", content=body, headers=mobilizon_headers(BOB, body, inst.now()))
    assert response.status_code == 401
    assert await InboxItem.all().count() == 0


# --- our Joins to peers' meetings -------------------------------------------------------------------

PEER_EVENT = "https://peer.example/meetings/7"


def peer_event() -> dict:
    return {"@context": [AS, JOIN_CONTEXT_TERMS], "id": PEER_EVENT, "type": "Event", "attributedTo": DOCK,
            "name": "Dock workers' assembly", "content": "<p>Agenda</p>", "to": [f"{AS}#Public"],
            "startTime": "2026-10-20T09:00:00+02:00", "endTime": "2026-10-21T17:00:00+02:00",
            "timezone": "Europe/Paris", "joinMode": "free", "maximumAttendeeCapacity": 40,
            "published": "2026-09-01T10:00:00Z"}


async def test_accept_of_our_join_only_from_the_organiser(world):
    inst, _, remote = world
    remote[PEER_EVENT] = peer_event()
    union = await get_by_username("rail")
    reg = await register_for(inst, union, PEER_EVENT, delegates=2, message="Two of us, from the rail branch")
    join = (await Activity.get(ap_id=reg.request_id)).payload
    assert join["type"] == "Join" and join["object"] == PEER_EVENT and join["to"] == [DOCK]
    assert join["delegates"] == 2 and join["participationMessage"] == "Two of us, from the rail branch"
    assert await Delivery.filter(inbox=f"{DOCK}/inbox").exists()

    embedded = {"id": reg.request_id, "type": "Join", "actor": UNION, "object": PEER_EVENT}
    forged = {"@context": AS, "id": "https://mobilizon.example/accept/1", "type": "Accept", "actor": BOB,
              "object": embedded}
    item = await deliver(world, forged)
    assert item.state == "ignored" and "not the meeting's organiser" in item.result
    assert (await Registration.get(id=reg.id)).state == "pending"

    real = {"@context": AS, "id": "https://peer.example/accepts/1", "type": "Accept", "actor": DOCK,
            "object": embedded}
    assert (await deliver(world, real)).result == "our registration accepted"
    assert (await Registration.get(id=reg.id)).state == "accepted"

    # Withdrawing sends Leave{event} and Undo{Join} to the organiser.
    await withdraw(inst, union, await Registration.get(id=reg.id))
    sent = [a.payload for a in await Activity.filter(type__in=("Leave", "Undo")).order_by("id")]
    assert [(a["type"], a["object"] if a["type"] == "Leave" else a["object"]["id"]) for a in sent] == [
        ("Leave", PEER_EVENT), ("Undo", reg.request_id)]


async def test_reject_and_ignore_of_our_join_by_reference(world):
    inst, _, remote = world
    remote[PEER_EVENT] = peer_event()
    union = await get_by_username("rail")
    reg = await register_for(inst, union, PEER_EVENT, delegates=1, message="")
    reject = {"@context": [AS, {"unionhall": "https://unionhall.org/ns#", "reason": "unionhall:reason"}],
              "id": "https://peer.example/rejects/1", "type": "Reject", "actor": DOCK, "object": reg.request_id,
              "reason": "full"}
    assert (await deliver(world, reject)).result == "our registration rejected"
    row = await Registration.get(id=reg.id)
    assert (row.state, row.reason) == ("rejected", "full")


async def test_accept_of_our_follow_still_settles_the_follow(world):
    inst = world[0]
    union = await get_by_username("rail")
    dock = await fetch_actor(inst, DOCK)
    follow_id = await outbox_follows.follow(inst, union, dock)
    accept = {"@context": AS, "id": "https://peer.example/accepts/f1", "type": "Accept", "actor": DOCK,
              "object": {"id": follow_id, "type": "Follow", "actor": UNION, "object": DOCK}}
    assert (await deliver(world, accept)).result == "following accepted"
    assert (await Following.get(follow_id=follow_id)).state == FollowState.ACCEPTED


async def test_two_joins_racing_for_the_last_seats_are_not_both_accepted(world):
    """Both requests run at once; the meeting's row lock (PostgreSQL) or the single writer (SQLite)
    makes the second see the first's seats."""
    inst = world[0]
    meeting = await our_meeting(inst, capacity=3)
    dock, mill = await fetch_actor(inst, DOCK), await fetch_actor(inst, MILL)
    results = await asyncio.gather(*(
        take_request(inst, meeting, via="fediverse", actor=who, request_id=f"{who.uri}/j", delegates=2)
        for who in (dock, mill)))
    assert sorted(decision.outcome for decision, _ in results) == ["accept", "reject"]
    assert await seats_taken(meeting) == 2
