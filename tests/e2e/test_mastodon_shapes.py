"""Realistic Mastodon (and GoToSocial) traffic against one running Union Hall instance.

Every payload below is written in the exact shape Mastodon 4.5 sends (interop notes 4.x:
ids such as `#accepts/follows/N`, `#likes/N/undo`, `statuses/N#delete`, no to/cc on
Follow/Accept, Announce by URI string). Each test asserts the HTTP status AND the effect
in the instance's own database (read-only SQL) or on the fake peer.

One instance and one fake peer serve the whole module (starting an instance costs a
few seconds); every test uses its own fake accounts and ids, so tests do not depend on
one another and any single test can run alone.
"""
from __future__ import annotations

import json
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from urllib.parse import quote, urlsplit

import httpx
import pytest
import pytest_asyncio

from federation.httpsig import public_key_pem_from_private  # only to publish a fake key
from tests.e2e.harness import destroy, eventually, make_instance
from tests.support.fakepeer import FakeActor, FakePeer, shared_pem
from tests.support.mastodon_signer import (
    MastodonRejected, gotosocial_sign, mastodon_rfc9421_sign, mastodon_sign, mastodon_verify,
)

pytestmark = [pytest.mark.asyncio(loop_scope="module"), pytest.mark.timeout(120)]

AS = "https://www.w3.org/ns/activitystreams"
PUBLIC = f"{AS}#Public"
AP = "application/activity+json"
# Mastodon's JsonLdHelper / 4.5 Dereferencer Accept, and its URL-search Accept (interop notes 3.4).
MASTODON_FETCH_ACCEPT = "application/activity+json, application/ld+json"
MASTODON_SEARCH_ACCEPT = f'application/activity+json, application/ld+json; profile="{AS}", text/html;q=0.1'
BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"
JRD_ACCEPT = "application/jrd+json, application/json"
# The @context Mastodon puts on a Create(Note) (context_helper.rb, abridged).
NOTE_CONTEXT = [AS, {"ostatus": "http://ostatus.org#", "atomUri": "ostatus:atomUri",
                     "inReplyToAtomUri": "ostatus:inReplyToAtomUri", "conversation": "ostatus:conversation",
                     "sensitive": "as:sensitive", "toot": "http://joinmastodon.org/ns#",
                     "votersCount": "toot:votersCount"}]


# ------------------------------------------------------------------ a peer that also logs GET headers

@dataclass
class Get:
    path: str
    query: str
    headers: dict[str, str]


@dataclass
class RecordingPeer(FakePeer):
    """FakePeer that also keeps the headers of every GET it serves (FakePeer.fetches keeps paths only)."""

    gets: list[Get] = field(default_factory=list)

    def app(self):
        inner = super().app()

        async def recorder(scope, receive, send):
            if scope["type"] == "http" and scope["method"] == "GET":
                headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
                self.gets.append(Get(scope["path"], scope["query_string"].decode("latin-1"), headers))
            await inner(scope, receive, send)

        return recorder


# ------------------------------------------------------------------ fixtures

@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def union(tmp_path_factory):
    inst = await make_instance(tmp_path_factory.mktemp("shapes"), "u", "solidaires", "Union syndicale Solidaires")
    inst.start()
    try:
        yield inst
    finally:
        await destroy(inst)


@pytest.fixture(scope="module")
def mastodon():
    peer = RecordingPeer().start()
    try:
        yield peer
    finally:
        peer.stop()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def statement(union) -> str:
    """One public statement of the union, to be liked, boosted and replied to."""
    return union.cli("post", "Solidarity with the dock workers of Santos", "--lang", "en").stdout.strip()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def bob(union, mastodon) -> FakeActor:
    """A Mastodon account the union follows, the handshake completed the way Mastodon completes it."""
    bob = mastodon.add_actor("bob")
    out = union.cli("follow", bob.handle).stdout
    assert "follow request sent" in out, out
    follows = await eventually(lambda: _now([a for a in mastodon.activities("Follow")
                                             if a.get("object") == bob.uri]), what="the union's Follow to bob")
    follow = follows[0]
    assert follow["actor"] == union.actor_uri and isinstance(follow["id"], str)
    request = next(r for r in mastodon.received if r.json().get("id") == follow["id"])
    assert request.path == f"/users/{bob.name}/inbox", "a Follow goes to the personal inbox"
    assert request.verified, request.error
    assert await following_state(union, bob.uri) == "pending", "requested until the Accept arrives"

    # Mastodon's AuthorizeFollowService answers with the Follow embedded and no to/cc,
    # to the follower's personal inbox.
    accept = {"@context": AS, "id": f"{bob.uri}#accepts/follows/{_n()}", "type": "Accept", "actor": bob.uri,
              "object": {"id": follow["id"], "type": "Follow", "actor": union.actor_uri, "object": bob.uri}}
    response = await mastodon.deliver(bob, f"{union.actor_uri}/inbox", accept)
    assert response.status_code == 202, response.text
    await eventually(lambda: _eq(following_state(union, bob.uri), "accepted"), what="following bob accepted")
    return bob


# ------------------------------------------------------------------ helpers

def _n() -> int:
    return uuid.uuid4().int % 10**12


async def _now(value):
    return value


async def _eq(coro, value) -> bool:
    return (await coro) == value


def _iso(when: datetime) -> str:
    return when.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _json(value):
    return value if isinstance(value, (dict, list)) else json.loads(value)


async def following_state(union, remote_uri: str):
    rows = await union.sql("SELECT f.state FROM actors_following f JOIN actors_remote r ON r.id = f.remote_id "
                           "WHERE r.uri = $1", remote_uri)
    return rows[0][0] if rows else None


async def follower_rows(union, remote_uri: str) -> list[tuple]:
    return await union.sql("SELECT f.follow_id, f.state FROM actors_follower f JOIN actors_remote r "
                           "ON r.id = f.remote_id WHERE r.uri = $1", remote_uri)


async def processed(union, activity_id: str) -> tuple[str, str]:
    """Wait until the inbox worker has applied (or refused) a stored activity: (state, result)."""
    async def check():
        rows = await union.sql("SELECT state, result FROM inbox_item WHERE activity_id = $1", activity_id)
        return rows[0] if rows and rows[0][0] != "pending" else None

    return tuple(await eventually(check, what=f"inbox item {activity_id} processed"))


async def interactions(union, kind: str, actor_uri: str, object_uri: str) -> int:
    rows = await union.sql("SELECT count(*) FROM content_interaction WHERE kind = $1 AND actor_uri = $2 "
                           "AND object_uri = $3", kind, actor_uri, object_uri)
    return rows[0][0]


def create_of(note: dict) -> dict:
    """Mastodon's Create around a Note: id `…/statuses/N/activity`, addressing copied from the Note."""
    return {"@context": NOTE_CONTEXT, "id": f"{note['id']}/activity", "type": "Create",
            "actor": note["attributedTo"], "published": note["published"], "to": note["to"], "cc": note["cc"],
            "object": note}


def like_of(actor: FakeActor, object_uri: str) -> dict:
    return {"@context": AS, "id": f"{actor.uri}#likes/{_n()}", "type": "Like", "actor": actor.uri,
            "object": object_uri}


def undo_of(actor: FakeActor, activity: dict, kind: str) -> dict:
    """Mastodon's Undo embeds the undone activity; ids `#likes/N/undo`, `#announces/N/undo`, `#follows/N/undo`."""
    inner = {k: v for k, v in activity.items() if k != "@context"}
    return {"@context": AS, "id": f"{actor.uri}#{kind}/{_n()}/undo", "type": "Undo", "actor": actor.uri,
            "object": inner}


async def follow_union(union, peer: FakePeer, actor: FakeActor) -> dict:
    """`actor` follows the union as Mastodon does; returns the Follow once the union has accepted it."""
    follow = {"@context": AS, "id": f"{peer.url}/{uuid.uuid4()}", "type": "Follow", "actor": actor.uri,
              "object": union.actor_uri}
    response = await peer.deliver(actor, f"{union.actor_uri}/inbox", follow)
    assert response.status_code == 202, response.text
    await eventually(lambda: _eq(_accept_state(union, actor.uri), "accepted"), what=f"{actor.name} accepted")
    return follow


async def _accept_state(union, remote_uri: str):
    rows = await follower_rows(union, remote_uri)
    return rows[0][1] if rows else None


def accepts_for(peer: FakePeer, follow_id: str) -> list[dict]:
    return [a for a in peer.activities("Accept") if isinstance(a.get("object"), dict)
            and a["object"].get("id") == follow_id]


async def post_json(url: str, body: bytes, headers: dict[str, str]) -> httpx.Response:
    async with httpx.AsyncClient(timeout=30) as client:
        return await client.post(url, content=body, headers=headers)


# ------------------------------------------------------------------ 1. Follow, repeated

async def test_repeat_follow_fast_forwards_the_follow_id_and_the_second_accept_echoes_it(union, mastodon):
    carol = mastodon.add_actor("carol")
    first = await follow_union(union, mastodon, carol)
    accepts = await eventually(lambda: _now(accepts_for(mastodon, first["id"])), what="first Accept")
    assert accepts[0]["actor"] == union.actor_uri and accepts[0]["object"]["actor"] == carol.uri
    assert await follower_rows(union, carol.uri) == [(first["id"], "accepted")]

    # Mastodon re-sends a Follow with a new id (e.g. after a key change); the new id is what it matches.
    again = {"@context": AS, "id": f"{mastodon.url}/{uuid.uuid4()}", "type": "Follow", "actor": carol.uri,
             "object": union.actor_uri}
    response = await mastodon.deliver(carol, f"{union.actor_uri}/inbox", again)
    assert response.status_code == 202, response.text
    second = await eventually(lambda: _now(accepts_for(mastodon, again["id"])), what="second Accept")
    assert second[0]["object"] == {"id": again["id"], "type": "Follow", "actor": carol.uri,
                                   "object": union.actor_uri}
    assert "to" not in second[0] or second[0]["to"] in ([], [carol.uri])
    request = next(r for r in mastodon.received if r.json().get("id") == second[0]["id"])
    assert request.path == f"/users/{carol.name}/inbox" and request.verified, request.error
    # Still one follower row, now carrying the newest Follow id.
    assert await follower_rows(union, carol.uri) == [(again["id"], "accepted")]


# ------------------------------------------------------------------ 2. Create(Note) from a followed account

async def test_create_note_from_a_followed_mastodon_account_is_stored_with_its_languages(union, mastodon, bob):
    assert await following_state(union, bob.uri) == "accepted"
    text = "Greve geral dos correios: todo apoio!"
    note = mastodon.note(bob, text, contentMap={"pt": f"<p>{text}</p>"})
    response = await mastodon.deliver(bob, f"{union.url}/inbox", create_of(note))  # shared inbox
    assert response.status_code == 202, response.text

    assert (await processed(union, f"{note['id']}/activity"))[0] == "done"
    rows = await union.sql("SELECT author_uri, content, content_map, language, public FROM content_post "
                           "WHERE ap_id = $1", note["id"])
    assert len(rows) == 1
    author, content, content_map, language, public = rows[0]
    assert author == bob.uri and text in content
    assert _json(content_map) == {"pt": f"<p>{text}</p>"} and language == "pt"
    assert public in (True, 1)


# ------------------------------------------------------------------ 3. relevance rule

async def test_unsolicited_create_is_dropped_but_a_strangers_reply_to_us_is_stored(union, mastodon, statement):
    dave = mastodon.add_actor("dave")
    broadcast = mastodon.note(dave, "Buy my crypto union tokens")
    response = await mastodon.deliver(dave, f"{union.url}/inbox", create_of(broadcast))
    assert response.status_code == 202, response.text
    state, result = await processed(union, f"{broadcast['id']}/activity")
    assert state == "ignored", result
    assert await union.post_count(ap_id=broadcast["id"]) == 0

    # A reply in Mastodon's shape: inReplyTo our statement, our actor in cc and tagged as a Mention.
    reply = mastodon.note(dave, "@solidaires we stand with you", inReplyTo=statement,
                          cc=[f"{dave.uri}/followers", union.actor_uri],
                          tag=[{"type": "Mention", "href": union.actor_uri, "name": f"@solidaires@{union.host}"}])
    response = await mastodon.deliver(dave, f"{union.url}/inbox", create_of(reply))
    assert response.status_code == 202, response.text
    assert (await processed(union, f"{reply['id']}/activity"))[0] == "done"
    rows = await union.sql("SELECT author_uri, in_reply_to FROM content_post WHERE ap_id = $1", reply["id"])
    assert rows == [(dave.uri, statement)]

    # The user may delete the mention: the reply still concerns us through inReplyTo alone.
    quiet = mastodon.note(dave, "we stand with you too", inReplyTo=statement)
    response = await mastodon.deliver(dave, f"{union.url}/inbox", create_of(quiet))
    assert response.status_code == 202, response.text
    assert (await processed(union, f"{quiet['id']}/activity"))[0] == "done"
    assert await union.post_count(ap_id=quiet["id"]) == 1


# ------------------------------------------------------------------ 4. Announce by URI

async def test_announce_by_uri_from_a_followed_account_fetches_the_note_with_a_signed_get(union, mastodon, bob):
    erin = mastodon.add_actor("erin")
    note = mastodon.note(erin, "Nurses strike for safe staffing")
    note_path = urlsplit(note["id"]).path
    boost_id = f"{bob.uri}/statuses/{_n()}/activity"
    announce = {"@context": AS, "id": boost_id, "type": "Announce", "actor": bob.uri,
                "published": _iso(datetime.now(timezone.utc)), "to": [PUBLIC],
                "cc": [f"{bob.uri}/followers", erin.uri], "object": note["id"]}
    response = await mastodon.deliver(bob, f"{union.url}/inbox", announce)
    assert response.status_code == 202, response.text

    assert (await processed(union, boost_id))[0] == "done"
    assert await interactions(union, "announce", bob.uri, note["id"]) == 1
    rows = await union.sql("SELECT author_uri, content FROM content_post WHERE ap_id = $1", note["id"])
    assert rows and rows[0][0] == erin.uri and "safe staffing" in rows[0][1]
    # Fetched from its origin, with a signature by the instance actor.
    assert note_path in mastodon.fetches
    gets = [g for g in mastodon.gets if g.path == note_path]
    assert gets and all("signature" in g.headers for g in gets)
    assert f'keyId="{union.url}/actor#main-key"' in gets[0].headers["signature"]


# ------------------------------------------------------------------ 5. Like / Undo(Like) / Undo(Announce)

async def test_like_and_boost_of_our_statement_and_their_embedded_undos(union, mastodon, statement):
    fay = mastodon.add_actor("fay")
    like = like_of(fay, statement)
    response = await mastodon.deliver(fay, f"{union.actor_uri}/inbox", like)  # Mastodon: the author's inbox
    assert response.status_code == 202, response.text
    assert (await processed(union, like["id"]))[0] == "done"
    assert await interactions(union, "like", fay.uri, statement) == 1

    undo = undo_of(fay, like, "likes")
    response = await mastodon.deliver(fay, f"{union.actor_uri}/inbox", undo)
    assert response.status_code == 202, response.text
    assert (await processed(union, undo["id"]))[0] == "done"
    assert await interactions(union, "like", fay.uri, statement) == 0

    sid = _n()
    announce = {"@context": AS, "id": f"{fay.uri}/statuses/{sid}/activity", "type": "Announce", "actor": fay.uri,
                "published": _iso(datetime.now(timezone.utc)), "to": [PUBLIC],
                "cc": [f"{fay.uri}/followers", union.actor_uri], "object": statement}
    response = await mastodon.deliver(fay, f"{union.url}/inbox", announce)
    assert response.status_code == 202, response.text
    assert (await processed(union, announce["id"]))[0] == "done"
    assert await interactions(union, "announce", fay.uri, statement) == 1

    # Mastodon's UndoAnnounceSerializer: id `{actor}#announces/{status id}/undo`, the Announce embedded.
    undo = {"@context": AS, "id": f"{fay.uri}#announces/{sid}/undo", "type": "Undo", "actor": fay.uri,
            "to": [PUBLIC], "object": {k: v for k, v in announce.items() if k != "@context"}}
    response = await mastodon.deliver(fay, f"{union.url}/inbox", undo)
    assert response.status_code == 202, response.text
    assert (await processed(union, undo["id"]))[0] == "done"
    assert await interactions(union, "announce", fay.uri, statement) == 0


# ------------------------------------------------------------------ 6. Update(Person), Update(Note)

async def test_update_person_changes_the_cached_profile(union, mastodon, statement):
    frank = mastodon.add_actor("frank")
    like = like_of(frank, statement)  # makes frank known with the profile his server serves
    assert (await mastodon.deliver(frank, f"{union.actor_uri}/inbox", like)).status_code == 202
    assert (await processed(union, like["id"]))[0] == "done"
    rows = await union.sql("SELECT name, summary FROM actors_remote WHERE uri = $1", frank.uri)
    assert rows == [("Frank", "<p>A fediverse account in a test box.</p>")]

    profile = {**{k: v for k, v in frank.document().items() if k != "@context"},
               "name": "Frank (shop steward)", "summary": "<p>Steward at the Santos docks.</p>"}
    update = {"@context": [AS, "https://w3id.org/security/v1"],
              "id": f"{frank.uri}#updates/{int(datetime.now().timestamp())}", "type": "Update",
              "actor": frank.uri, "to": [PUBLIC], "object": profile}
    response = await mastodon.deliver(frank, f"{union.url}/inbox", update)
    assert response.status_code == 202, response.text
    assert (await processed(union, update["id"]))[0] == "done"
    rows = await union.sql("SELECT name, summary, deleted_at FROM actors_remote WHERE uri = $1", frank.uri)
    assert rows == [("Frank (shop steward)", "<p>Steward at the Santos docks.</p>", None)]


async def test_update_note_edits_only_when_updated_is_newer(union, mastodon, bob):
    now = datetime.now(timezone.utc)
    note = mastodon.note(bob, "Strike vote on Friday", published=_iso(now - timedelta(minutes=10)))
    assert (await mastodon.deliver(bob, f"{union.url}/inbox", create_of(note))).status_code == 202
    assert (await processed(union, f"{note['id']}/activity"))[0] == "done"

    def update(text: str, updated: datetime) -> dict:
        edited = {**note, "content": f"<p>{text}</p>", "contentMap": {"en": f"<p>{text}</p>"},
                  "updated": _iso(updated)}
        return {"@context": NOTE_CONTEXT, "id": f"{note['id']}#updates/{int(updated.timestamp())}",
                "type": "Update", "actor": bob.uri, "published": _iso(updated), "to": note["to"],
                "cc": note["cc"], "object": edited}

    newer = update("Strike vote moved to Monday", now - timedelta(minutes=5))
    assert (await mastodon.deliver(bob, f"{union.url}/inbox", newer)).status_code == 202
    assert (await processed(union, newer["id"]))[0] == "done"
    (content,), = await union.sql("SELECT content FROM content_post WHERE ap_id = $1", note["id"])
    assert "Monday" in content

    # Newer than `published` but older than the edit we have: a stale, reordered Update.
    older = update("Strike vote moved to Tuesday", now - timedelta(minutes=8))
    assert (await mastodon.deliver(bob, f"{union.url}/inbox", older)).status_code == 202
    state, result = await processed(union, older["id"])
    assert state == "ignored", result
    (content,), = await union.sql("SELECT content FROM content_post WHERE ap_id = $1", note["id"])
    assert "Monday" in content and "Tuesday" not in content


# ------------------------------------------------------------------ 7. Delete(Note) with a Tombstone

async def test_delete_note_with_tombstone_keeps_a_tombstone_against_replays(union, mastodon, bob):
    note = mastodon.note(bob, "This will be deleted")
    create = create_of(note)
    assert (await mastodon.deliver(bob, f"{union.url}/inbox", create)).status_code == 202
    assert (await processed(union, create["id"]))[0] == "done"
    assert await union.post_count(ap_id=note["id"]) == 1

    delete = {"@context": [AS, {"ostatus": "http://ostatus.org#", "atomUri": "ostatus:atomUri"}],
              "id": f"{note['id']}#delete", "type": "Delete", "actor": bob.uri, "to": [PUBLIC],
              "object": {"id": note["id"], "type": "Tombstone", "atomUri": note["id"]}}
    response = await mastodon.deliver(bob, f"{union.url}/inbox", delete)
    assert response.status_code == 202, response.text
    assert (await processed(union, delete["id"]))[0] == "done"
    assert await union.post_count(ap_id=note["id"]) == 0
    assert await union.sql("SELECT author_uri FROM content_tombstone WHERE ap_id = $1", note["id"]) == [(bob.uri,)]

    # The very same Create replayed: deduplicated by id.
    assert (await mastodon.deliver(bob, f"{union.url}/inbox", create)).status_code == 202
    assert await union.sql("SELECT count(*) FROM inbox_item WHERE activity_id = $1", create["id"]) == [(1,)]
    # A fresh Create (new activity id) for the deleted object: refused by the tombstone.
    late = {**create, "id": f"{note['id']}/activity-again"}
    assert (await mastodon.deliver(bob, f"{union.url}/inbox", late)).status_code == 202
    state, result = await processed(union, late["id"])
    assert state == "ignored", result
    assert await union.post_count(ap_id=note["id"]) == 0


# ------------------------------------------------------------------ 8. Delete(actor)

async def test_delete_of_an_unknown_actor_is_accepted_without_any_fetch(union, mastodon):
    # Not registered on the peer: a deleted Mastodon account, whose actor URL no longer resolves.
    ghost = FakeActor(mastodon, f"ghost{_n()}", shared_pem())
    delete = {"@context": AS, "id": f"{ghost.uri}#delete", "type": "Delete", "actor": ghost.uri,
              "to": [PUBLIC], "object": ghost.uri}
    fetched_before = len(mastodon.fetches)
    response = await mastodon.deliver(ghost, f"{union.url}/inbox", delete)
    assert response.status_code == 202, response.text
    # Answered synchronously and nothing queued, so nothing can fetch later either.
    assert not [p for p in mastodon.fetches[fetched_before:] if p.startswith(urlsplit(ghost.uri).path)]
    assert not [p for p in mastodon.fetches if ghost.name in p]
    assert await union.sql("SELECT count(*) FROM inbox_item WHERE activity_id = $1", delete["id"]) == [(0,)]
    assert await union.sql("SELECT count(*) FROM actors_remote WHERE uri = $1", ghost.uri) == [(0,)]


async def test_delete_of_a_known_follower_removes_the_follower_and_their_content(union, mastodon, statement):
    gina = mastodon.add_actor("gina")
    await follow_union(union, mastodon, gina)
    reply = mastodon.note(gina, "Count me in for the picket", inReplyTo=statement,
                          cc=[f"{gina.uri}/followers", union.actor_uri])
    assert (await mastodon.deliver(gina, f"{union.url}/inbox", create_of(reply))).status_code == 202
    assert (await processed(union, f"{reply['id']}/activity"))[0] == "done"
    like = like_of(gina, statement)
    assert (await mastodon.deliver(gina, f"{union.actor_uri}/inbox", like)).status_code == 202
    assert (await processed(union, like["id"]))[0] == "done"
    assert await union.post_count(author_uri=gina.uri) == 1

    delete = {"@context": AS, "id": f"{gina.uri}#delete", "type": "Delete", "actor": gina.uri,
              "to": [PUBLIC], "object": gina.uri}
    response = await mastodon.deliver(gina, f"{union.url}/inbox", delete)
    assert response.status_code == 202, response.text
    assert (await processed(union, delete["id"]))[0] == "done"
    assert await follower_rows(union, gina.uri) == []
    assert await union.post_count(author_uri=gina.uri) == 0
    assert await union.sql("SELECT count(*) FROM content_interaction WHERE actor_uri = $1", gina.uri) == [(0,)]
    (deleted_at,), = await union.sql("SELECT deleted_at FROM actors_remote WHERE uri = $1", gina.uri)
    assert deleted_at is not None


# ------------------------------------------------------------------ 9. Undo(Follow)

async def test_undo_follow_with_the_embedded_follow_removes_the_follower(union, mastodon):
    hank = mastodon.add_actor("hank")
    follow = await follow_union(union, mastodon, hank)
    async with httpx.AsyncClient(timeout=10) as client:
        before = (await client.get(f"{union.actor_uri}/followers", headers={"Accept": AP})).json()["totalItems"]
    undo = undo_of(hank, follow, "follows")
    assert undo["id"].startswith(f"{hank.uri}#follows/") and undo["id"].endswith("/undo")
    response = await mastodon.deliver(hank, f"{union.actor_uri}/inbox", undo)
    assert response.status_code == 202, response.text
    assert (await processed(union, undo["id"]))[0] == "done"
    assert await follower_rows(union, hank.uri) == []
    async with httpx.AsyncClient(timeout=10) as client:
        after = (await client.get(f"{union.actor_uri}/followers", headers={"Accept": AP})).json()["totalItems"]
    assert after == before - 1


# ------------------------------------------------------------------ 10. GoToSocial and RFC 9421 signatures

async def test_gotosocial_signed_post_with_a_main_key_stub_is_accepted(union, mastodon, statement):
    name = f"ivy{_n()}"
    uri = f"{mastodon.url}/users/{name}"
    key_id = f"{uri}/main-key"
    pem = shared_pem()
    public_key = {"id": key_id, "owner": uri, "publicKeyPem": public_key_pem_from_private(pem)}
    mastodon.serve_document(f"/users/{name}", {
        "@context": [AS, "https://w3id.org/security/v1"], "id": uri, "type": "Person", "preferredUsername": name,
        "inbox": f"{uri}/inbox", "outbox": f"{uri}/outbox", "followers": f"{uri}/followers",
        "following": f"{uri}/following", "publicKey": public_key})
    # GoToSocial's AccountToASMinimal: id (the actor URI), type, preferredUsername, publicKey only.
    mastodon.serve_document(f"/users/{name}/main-key", {
        "@context": ["https://w3id.org/security/v1", AS], "id": uri, "type": "Person",
        "preferredUsername": name, "publicKey": public_key})

    like = {"@context": AS, "id": f"{uri}/liked/{uuid.uuid4().hex}", "type": "Like", "actor": uri,
            "object": statement, "to": [union.actor_uri]}
    body = json.dumps(like).encode()
    inbox = f"{union.actor_uri}/inbox"
    headers = gotosocial_sign("POST", inbox, private_key_pem=pem, key_id=key_id, body=body,
                              now=datetime.now(timezone.utc))
    response = await post_json(inbox, body, headers)
    assert response.status_code == 202, response.text
    assert (await processed(union, like["id"]))[0] == "done"
    assert await interactions(union, "like", uri, statement) == 1


async def test_mastodon_rfc9421_double_knock_is_accepted(union, mastodon, statement):
    jill = mastodon.add_actor("jill")
    like = like_of(jill, statement)
    body = json.dumps(like).encode()
    inbox = f"{union.actor_uri}/inbox"
    now = datetime.now(timezone.utc)

    # First knock: draft-cavage. Make it unverifiable (as with a key the receiver cannot use), so
    # the sender's double-knock applies: it must be a 401 (not 403/5xx) for Mastodon to retry.
    bad = mastodon_sign("POST", inbox, private_key_pem=jill.pem, actor=jill.uri, body=body, now=now)
    bad["Signature"] = bad["Signature"].replace('signature="', 'signature="AAAA', 1)
    first = await post_json(inbox, body, bad)
    assert first.status_code == 401, first.text
    assert await union.sql("SELECT count(*) FROM inbox_item WHERE activity_id = $1", like["id"]) == [(0,)]

    # Second knock: RFC 9421 over ("@method" "@target-uri" "content-digest"), as Mastodon main sends it.
    headers = mastodon_rfc9421_sign("POST", inbox, private_key_pem=jill.pem, actor=jill.uri, body=body, now=now)
    assert "Signature-Input" in headers and "Content-Digest" in headers
    second = await post_json(inbox, body, headers)
    assert second.status_code == 202, second.text
    assert (await processed(union, like["id"]))[0] == "done"
    assert await interactions(union, "like", jill.uri, statement) == 1


# ------------------------------------------------------------------ 11. our requests pass Mastodon's verifier

async def test_every_request_the_union_sends_passes_mastodons_verifier(union, mastodon):
    kim = mastodon.add_actor("kim")
    await follow_union(union, mastodon, kim)  # a signed GET of kim's actor, then an Accept POST
    sid = union.cli("post", "Kim's union local welcomes the new shop", "--lang", "en").stdout.strip()
    await eventually(lambda: _now([a for a in mastodon.activities("Create") if a["object"]["id"] == sid]),
                     what="the Create delivered")

    # POSTs: each verified on arrival by the fake peer with Mastodon's own rules.
    assert mastodon.received
    bad = [(r.path, r.json().get("type"), r.error) for r in mastodon.received if not r.verified]
    assert bad == []

    # GETs: signed by the instance actor, whose document the peer can read without signing.
    async with httpx.AsyncClient(timeout=10) as client:
        response = await client.get(f"{union.url}/actor", headers={"Accept": MASTODON_FETCH_ACCEPT})
    assert response.status_code == 200 and response.headers["content-type"].startswith(AP)
    instance_actor = response.json()
    assert instance_actor["id"] == f"{union.url}/actor"
    assert instance_actor["publicKey"]["id"] == f"{union.url}/actor#main-key"
    pem = instance_actor["publicKey"]["publicKeyPem"]

    ap_gets = [g for g in mastodon.gets if g.path.startswith("/users/")]
    assert any(g.path == f"/users/{kim.name}" for g in ap_gets), "kim's actor was fetched"
    for get in ap_gets:
        assert f'keyId="{union.url}/actor#main-key"' in get.headers.get("signature", ""), get
        path = get.path + (f"?{get.query}" if get.query else "")
        try:
            mastodon_verify("GET", path, get.headers, None, pem, datetime.now(timezone.utc))
        except MastodonRejected as exc:  # pragma: no cover - the message is the diagnosis
            pytest.fail(f"GET {path} fails Mastodon's verifier: {exc}")
    # WebFinger is unsigned, as Mastodon's is.
    assert all("signature" not in g.headers for g in mastodon.gets if g.path.startswith("/.well-known/"))


# ------------------------------------------------------------------ 12. discovery as Mastodon performs it

async def _webfinger(client: httpx.AsyncClient, union, resource: str) -> httpx.Response:
    return await client.get(f"{union.url}/.well-known/webfinger?resource={quote(resource, safe=':@')}",
                            headers={"Accept": JRD_ACCEPT})


def _self_link(jrd: dict) -> str:
    links = [link for link in jrd["links"] if link.get("rel") == "self"]
    assert len(links) == 1, jrd
    assert links[0]["type"] == AP, "Mastodon accepts exactly this type string"
    return links[0]["href"]


async def _check_webfinger(client, union, username: str, domain: str, uri: str) -> None:
    """Mastodon's FetchRemoteActorService#check_webfinger!, step by step."""
    response = await _webfinger(client, union, f"acct:{username}@{domain}")
    assert response.status_code == 200, response.text
    jrd = response.json()
    confirmed_user, confirmed_domain = jrd["subject"].removeprefix("acct:").split("@")
    if not (confirmed_user.lower() == username.lower() and confirmed_domain.lower() == domain.lower()):
        # One redirect allowed: the subject must then confirm itself.
        response = await _webfinger(client, union, f"acct:{confirmed_user}@{confirmed_domain}")
        again = response.json()
        assert again["subject"].lower() == f"acct:{confirmed_user}@{confirmed_domain}".lower(), "too many redirects"
        jrd = again
    assert _self_link(jrd) == uri, f"WebFinger for {username}@{domain} does not loop back to {uri}"


async def test_webfinger_actor_webfinger_loops_back_as_mastodon_checks(union):
    async with httpx.AsyncClient(timeout=10) as client:
        # Every resource form Mastodon's WebfingerResource accepts.
        forms = {f"acct:solidaires@{union.host}": union.actor_uri, f"solidaires@{union.host}": union.actor_uri,
                 union.actor_uri: union.actor_uri, f"{union.url}/@solidaires": union.actor_uri,
                 f"acct:SOLIDAIRES@{union.host}": union.actor_uri,
                 union.host: f"{union.url}/actor", f"{union.url}/": f"{union.url}/actor"}
        for resource, expected in forms.items():
            response = await _webfinger(client, union, resource)
            assert response.status_code == 200, (resource, response.text)
            assert response.headers["content-type"].startswith("application/jrd+json")
            assert response.headers.get("access-control-allow-origin") == "*"
            assert _self_link(response.json()) == expected, resource
        assert (await _webfinger(client, union, f"acct:nobody@{union.host}")).status_code == 404
        assert (await _webfinger(client, union, "acct:solidaires@elsewhere.example")).status_code == 404
        assert (await client.get(f"{union.url}/.well-known/webfinger")).status_code == 400

        jrd = (await _webfinger(client, union, f"acct:solidaires@{union.host}")).json()
        assert jrd["subject"] == f"acct:solidaires@{union.host}"
        assert set(jrd["aliases"]) == {f"{union.url}/@solidaires", union.actor_uri}
        for href in (_self_link(jrd), f"{union.url}/actor"):
            response = await client.get(href, headers={"Accept": MASTODON_FETCH_ACCEPT})
            assert response.status_code == 200
            actor = response.json()
            assert actor["id"] == href
            host = urlsplit(actor["id"]).netloc
            await _check_webfinger(client, union, actor["preferredUsername"], host, actor["id"])
        # Mastodon takes the normalized host (no port); that form resolves here too.
        await _check_webfinger(client, union, "solidaires", urlsplit(union.url).hostname, union.actor_uri)


async def test_actor_document_has_what_mastodon_requires(union):
    async with httpx.AsyncClient(timeout=10) as client:
        response = await client.get(union.actor_uri, headers={"Accept": MASTODON_FETCH_ACCEPT})
        assert response.status_code == 200
        assert response.headers["content-type"].split(";")[0].strip() == AP
        assert len(response.content) <= 1_048_576
        actor = response.json()
        context = actor["@context"]
        assert context == AS or (isinstance(context, list) and AS in context)
        assert actor["id"] == union.actor_uri
        assert actor["type"] == "Organization" and actor["preferredUsername"] == "solidaires"
        assert actor["inbox"] == f"{union.actor_uri}/inbox"
        assert isinstance(actor["publicKey"], dict), "one key object, not a list"
        assert actor["publicKey"]["owner"] == actor["id"]
        assert actor["publicKey"]["id"] == f"{actor['id']}#main-key"
        assert actor["publicKey"]["publicKeyPem"].startswith("-----BEGIN PUBLIC KEY-----")
        assert actor["endpoints"]["sharedInbox"] == f"{union.url}/inbox"
        for name in ("followers", "following", "outbox"):
            response = await client.get(actor[name], headers={"Accept": MASTODON_FETCH_ACCEPT})
            assert response.status_code == 200 and response.headers["content-type"].startswith(AP)
            collection = response.json()
            assert collection["id"] == actor[name]
            assert collection["type"] == "OrderedCollection"
            assert isinstance(collection["totalItems"], int), name
            assert collection.get("first"), f"{name} without `first` reads as hidden to Mastodon"
            page = await client.get(collection["first"], headers={"Accept": MASTODON_FETCH_ACCEPT})
            assert page.status_code == 200 and page.json()["id"] == collection["first"]
        # url: the HTML profile, on the same host as the id.
        assert urlsplit(actor["url"]).netloc == urlsplit(actor["id"]).netloc
        page = await client.get(actor["url"], headers={"Accept": BROWSER_ACCEPT})
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        assert "Union syndicale Solidaires" in page.text


async def test_content_negotiation_honours_mastodons_search_accept_and_browsers(union, statement):
    async with httpx.AsyncClient(timeout=10, follow_redirects=True) as client:
        for url in (union.actor_uri, statement, f"{union.url}/@solidaires"):
            response = await client.get(url, headers={"Accept": MASTODON_SEARCH_ACCEPT})
            assert response.status_code == 200, url
            assert response.headers["content-type"].startswith(AP), url
            assert response.json()["id"] in (union.actor_uri, statement)
            response = await client.get(url, headers={"Accept": BROWSER_ACCEPT})
            assert response.status_code == 200, url
            assert response.headers["content-type"].startswith("text/html"), url
        assert "dock workers of Santos" in (await client.get(statement, headers={"Accept": BROWSER_ACCEPT})).text


async def test_host_meta_and_nodeinfo_at_the_paths_clients_use(union):
    async with httpx.AsyncClient(timeout=10) as client:
        response = await client.get(f"{union.url}/.well-known/host-meta",
                                    headers={"Accept": "application/xrd+xml, application/xml, text/xml"})
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("application/xrd+xml")
        assert response.headers.get("access-control-allow-origin") == "*"
        xrd = ET.fromstring(response.content)
        ns = "{http://docs.oasis-open.org/ns/xri/xrd-1.0}"
        assert xrd.tag == f"{ns}XRD"
        link = xrd.find(f"{ns}Link[@rel='lrdd']")
        template = link.get("template")
        assert template == f"{union.url}/.well-known/webfinger?resource={{uri}}"
        # Mastodon's 404 fallback: the template, filled in, answers WebFinger.
        filled = await client.get(template.replace("{uri}", quote(f"acct:solidaires@{union.host}", safe="")))
        assert filled.status_code == 200 and _self_link(filled.json()) == union.actor_uri

        for url, headers in ((f"{union.url}/.well-known/host-meta.json", {}),
                             (f"{union.url}/.well-known/host-meta", {"Accept": "application/json"})):
            response = await client.get(url, headers=headers)
            assert response.status_code == 200 and response.headers["content-type"].startswith("application/json")
            assert response.json()["links"] == [{"rel": "lrdd", "template": template}]

        response = await client.get(f"{union.url}/.well-known/nodeinfo")
        assert response.status_code == 200 and response.headers.get("access-control-allow-origin") == "*"
        links = {link["rel"]: link["href"] for link in response.json()["links"]}
        assert links == {"http://nodeinfo.diaspora.software/ns/schema/2.0": f"{union.url}/nodeinfo/2.0",
                         "http://nodeinfo.diaspora.software/ns/schema/2.1": f"{union.url}/nodeinfo/2.1"}
        (local_posts,), = await union.sql("SELECT count(*) FROM content_post WHERE local = $1", True)
        for version in ("2.0", "2.1"):  # Elk fetches /nodeinfo/2.0 by that exact path
            response = await client.get(f"{union.url}/nodeinfo/{version}")
            assert response.status_code == 200 and response.headers["content-type"].startswith("application/json")
            assert response.headers.get("access-control-allow-origin") == "*"
            info = response.json()
            assert info["version"] == version and info["software"]["name"] == "unionhall"
            assert info["protocols"] == ["activitypub"]
            assert info["services"] == {"outbound": [], "inbound": []}
            assert info["usage"]["users"] == {"total": 1, "activeMonth": 1, "activeHalfyear": 1}
            assert info["usage"]["localPosts"] == local_posts
            assert info["openRegistrations"] is False
            assert info["metadata"]["nodeName"] == "Union syndicale Solidaires"
        assert (await client.get(f"{union.url}/nodeinfo/1.0")).status_code == 404
