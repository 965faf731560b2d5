"""What a stream sends, polled in-process: new statuses of the home timeline (ours, followed
accounts', boosts), notifications, edits, public and hashtag streams, and who may open which.
The transports (WebSocket, server-sent events) are tested against a running instance in
tests/e2e/test_streaming.py."""
from __future__ import annotations

import asyncio
import json
from datetime import timedelta

import pytest

from actors.models import Following, LocalActor, RemoteActor
from actors.oauth import authenticate
from content import notify
from content.models import Interaction, Post
from outbox import statements
from web.api import streaming

PUBLIC = "https://www.w3.org/ns/activitystreams#Public"


async def grant_of(inst, headers):
    return await authenticate(headers["Authorization"].split()[1], inst.now())


async def remote_world(inst):
    union = await LocalActor.get(username="sud_rail")
    rail = await RemoteActor.create(uri="https://rail.example/actors/rail", domain="rail.example", username="rail",
                                    inbox="https://rail.example/inbox", fetched_at=inst.now())
    await Following.create(local=union, remote=rail, follow_id="https://ours.example/f/1", state="accepted",
                           created_at=inst.now())
    return union, rail


def remote_post(inst, n: int, *, author: str = "https://rail.example/actors/rail", tags=()) -> Post:
    return Post(ap_id=f"{author}/notes/{n}", local=False, author_uri=author, content=f"<p>note {n}</p>",
                content_map={"en": f"<p>note {n}</p>"}, language="en", to=[PUBLIC], published=inst.now(),
                tags=[{"type": "Hashtag", "name": f"#{t}", "href": f"https://rail.example/tags/{t}"} for t in tags])


def kinds(events):
    return [(e["stream"], e["event"], json.loads(e["payload"])) for e in events]


async def test_user_stream_sends_new_home_statuses_boosts_and_notifications_once(api):
    client, inst, headers = api
    union, rail = await remote_world(inst)
    await remote_post(inst, 0).save()  # before the stream opened: not news
    grant = await grant_of(inst, headers)
    cursor = await streaming.start(inst)
    cursor.add(streaming.check_sub(grant, "user"))
    assert await streaming.poll(inst, grant, cursor) == []

    theirs = remote_post(inst, 1)
    await theirs.save()
    ours = await statements.publish(inst, union, {"en": "Solidarity with the strikers"})
    stranger = remote_post(inst, 2, author="https://else.example/users/x")
    await stranger.save()  # not followed: not on the home timeline
    boost = await Interaction.create(kind="announce", activity_id="https://rail.example/a/1", actor_uri=rail.uri,
                                     object_uri=stranger.ap_id, created_at=inst.now())
    await notify.record("follow", actor_uri=rail.uri, activity_id="https://rail.example/f/9", now=inst.now())

    events = kinds(await streaming.poll(inst, grant, cursor))
    updates = [p for s, e, p in events if e == "update"]
    assert [u["id"] for u in updates] == [str(theirs.sid), str(ours.sid), str(boost.sid)]
    assert updates[2]["reblog"]["uri"] == stranger.ap_id and updates[0]["account"]["acct"] == "rail@rail.example"
    notes = [p for s, e, p in events if e == "notification"]
    assert [(n["type"], n["account"]["acct"]) for n in notes] == [("follow", "rail@rail.example")]
    assert {tuple(s) for s, _, _ in events} == {("user",)}
    assert await streaming.poll(inst, grant, cursor) == [], "nothing is sent twice"

    theirs.content, theirs.updated = "<p>note 1, corrected</p>", inst.now() + timedelta(minutes=1)
    await theirs.save()
    edits = kinds(await streaming.poll(inst, grant, cursor))
    assert [(e, p["id"]) for _, e, p in edits] == [("status.update", str(theirs.sid))]


async def test_public_and_hashtag_streams(api):
    client, inst, headers = api
    union, rail = await remote_world(inst)
    cursor = await streaming.start(inst)
    for name, tag in (("public:local", ""), ("public:remote", ""), ("hashtag", "#RailStrike")):
        cursor.add(streaming.check_sub(None, name, tag))
    ours = await statements.publish(inst, union, {"en": "We back the #RailStrike"})
    theirs = remote_post(inst, 3, tags=["railstrike"])
    await theirs.save()
    untagged = remote_post(inst, 4)
    await untagged.save()
    got = {(tuple(s), p["id"]) for s, e, p in kinds(await streaming.poll(inst, None, cursor))}
    assert got == {(("public:local",), str(ours.sid)), (("public:remote",), str(theirs.sid)),
                   (("public:remote",), str(untagged.sid)), (("hashtag", "railstrike"), str(ours.sid)),
                   (("hashtag", "railstrike"), str(theirs.sid))}


async def test_who_may_open_which_stream(api, token):
    client, inst, headers = api
    reader = await grant_of(inst, await token("read:statuses"))
    writer = await grant_of(inst, await token("write"))
    assert streaming.check_sub(reader, "user").stream == "user"
    for grant, name, status in ((None, "user", 401), (writer, "user", 403), (reader, "user:notification", 403),
                                (reader, "direct", 400), (None, "hashtag", 400), (writer, "public", 403)):
        with pytest.raises(streaming.StreamError) as caught:
            streaming.check_sub(grant, name)
        assert caught.value.status == status, (name, status)


async def test_health_and_refusals_over_http(api):
    client, inst, headers = api
    assert (await client.get("/api/v1/streaming/health")).text == "OK"
    assert (await client.get("/api/v1/streaming/user")).status_code == 401
    bad = await client.get("/api/v1/streaming/user", headers={"Authorization": "Bearer nope"})
    assert bad.status_code == 401 and bad.json()["error"] == "The access token is invalid"
    assert (await client.get("/api/v1/streaming/nonsense", headers=headers)).status_code == 400


async def test_a_row_that_commits_after_a_newer_one_is_still_sent_once(api):
    client, inst, headers = api
    union, rail = await remote_world(inst)
    grant = await grant_of(inst, headers)
    cursor = await streaming.start(inst)
    sub = streaming.check_sub(grant, "user")
    cursor.add(sub)
    await asyncio.sleep(0.01)  # a few milliseconds of ids between the stream's start and `newer`
    newer = remote_post(inst, 20)
    await newer.save()
    assert [p["id"] for _, _, p in kinds(await streaming.poll(inst, grant, cursor))] == [str(newer.sid)]
    # Its id was drawn before `newer`'s, but its transaction committed after our poll.
    late = remote_post(inst, 21)
    late.sid = (cursor.floor + newer.sid) // 2
    await late.save()
    assert [p["id"] for _, _, p in kinds(await streaming.poll(inst, grant, cursor))] == [str(late.sid)]
    assert await streaming.poll(inst, grant, cursor) == []


async def test_anonymous_streams_leave_room_for_staff(api, monkeypatch):
    client, inst, headers = api
    grant = await grant_of(inst, headers)
    monkeypatch.setattr(streaming, "MAX_STREAMS", 3)
    monkeypatch.setattr(streaming, "MAX_ANONYMOUS", 2)
    slots = streaming.Slots()
    assert slots.take(None) and slots.take(None) and not slots.take(None)
    assert slots.take(grant) and not slots.take(grant)
    slots.give_back(None)
    assert slots.take(grant) and (slots.open, slots.anonymous) == (3, 1)


async def test_a_revoked_token_ends_its_stream(api):
    from actors.models import OAuthToken

    client, inst, headers = api
    raw = headers["Authorization"].split()[1]
    grant = await grant_of(inst, headers)
    assert await streaming._still_valid(inst, raw, grant) and await streaming._still_valid(inst, None, None)
    await OAuthToken.all().update(revoked_at=inst.now())
    assert not await streaming._still_valid(inst, raw, grant)
