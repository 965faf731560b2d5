"""Bad input at the inbox, over real HTTP against a running instance: origin, ownership and
content (events_groups_security.md C.6 items 21-43; mastodon_interop 5.3). Items 1-20 and 35
are in test_bad_input_signatures.py, whose machinery (instance on 127.0.0.1 allowing only
127.0.0.2/32, fake peers on 127.0.0.2, silent listener on 127.0.0.1, the per-test and
per-module "never a 5xx" check) this module reuses.

Where the table allows "202 + ∅" the test waits for the inbox processor to have handled the
item (`settled`: state 'ignored'/'done'), then checks that nothing was stored; a fetch that
failed for good (404, refused address, wrong type or id) must end 'ignored', not be retried.

Items that do not apply as written:
- 36 (`silence` and `reject_media` domain blocks): not implemented; `actors_domain_block`
  has no severity, a block is always `suspend` (tested as item 35). There is no media
  download at all, so "no media downloaded" holds trivially; test_43 checks that 100
  attachments hosted on a peer cause no fetch.
- 33, 34 (reply chains, `replies` collections): the server never walks `inReplyTo` or
  `replies`; the tests pin that bound (at most 50 fetches, processed without hanging) so
  a future thread fetcher has to keep it.
- 38-40 (Event specifics) are the content parser's (tests/content/); here only at the HTTP
  level: a bad Event in a Create is answered 202 and not stored, odd ones are stored cleaned.
- 41: payloads are read as plain JSON; `@context`, `@graph`, `@included`, `@reverse` and an LD
  `signature` block are never interpreted, so they can neither smuggle data nor vouch.
"""
from __future__ import annotations

import asyncio
import json
import uuid

import pytest

from tests.e2e.harness import eventually
from tests.e2e.test_bad_input_signatures import (  # noqa: F401  (env and no_5xx are fixtures)
    AP, AS, PUBLIC, Env, assert_no_5xx_and_no_traceback, env, no_5xx, now,
)
from tests.support.fakepeer import FakeActor

pytestmark = pytest.mark.timeout(120)

FOLLOWERS_COUNT = "SELECT count(*) FROM actors_follower f JOIN actors_remote r ON r.id = f.remote_id WHERE r.uri = $1"


def _json(value):
    return json.loads(value) if isinstance(value, str) else value


async def post_row(env: Env, ap_id: str) -> dict | None:
    rows = await env.inst.sql("SELECT author_uri, public, content, content_map, name, summary, \"to\", cc, tags, "
                              "attachments, extra, type FROM content_post WHERE ap_id = $1", ap_id)
    if not rows:
        return None
    keys = ("author", "public", "content", "content_map", "name", "summary", "to", "cc", "tags", "attachments",
            "extra", "type")
    row = dict(zip(keys, rows[0]))
    for key in ("content_map", "to", "cc", "tags", "attachments", "extra"):
        row[key] = _json(row[key])
    row["public"] = bool(row["public"])
    return row


async def stored_post(env: Env, actor: FakeActor, obj: dict | None = None) -> dict:
    """A post of `actor` delivered and stored the normal way (the thing attacks below aim at)."""
    create = env.create(actor, obj)
    assert (await env.deliver(actor, create)).status_code == 202
    assert (await env.settled(create["id"]))[0] == "done"
    return create["object"]


async def followed(env: Env) -> FakeActor:
    """carol: an account our union follows (accepted), so her Announces are relevant here."""
    if getattr(env, "carol", None):
        return env.carol
    carol = env.actor("carol")
    env.inst.cli("follow", carol.handle)
    follows = await eventually(lambda: _v([a for a in env.peer.activities("Follow") if a.get("object") == carol.uri]),
                               what="our Follow at carol's")
    accept = {"@context": AS, "id": env.aid(carol), "type": "Accept", "actor": carol.uri, "object": follows[0]}
    assert (await env.deliver(carol, accept)).status_code == 202
    await env.settled(accept["id"])
    state = "SELECT f.state FROM actors_following f JOIN actors_remote r ON r.id = f.remote_id WHERE r.uri = $1"
    assert await env.inst.sql(state, carol.uri) == [("accepted",)]
    env.carol = carol
    return carol


def announce(env: Env, actor: FakeActor, obj) -> dict:
    return {"@context": AS, "id": env.aid(actor), "type": "Announce", "actor": actor.uri, "object": obj,
            "to": [PUBLIC], "cc": [f"{actor.uri}/followers"]}


async def _v(value):
    return value


# ----------------------------------------------------------------- control


async def test_control_a_good_create_and_a_good_announce_are_stored(env):
    alice = env.actor("ctl")
    note = await stored_post(env, alice)
    assert (await post_row(env, note["id"]))["author"] == alice.uri
    carol, dave = await followed(env), env.actor("ctld", env.peer2)
    original = env.peer2.note(dave, "An original by dave")
    boost = announce(env, carol, original["id"])
    assert (await env.deliver(carol, boost)).status_code == 202
    assert (await env.settled(boost["id"]))[0] == "done"
    assert (await post_row(env, original["id"]))["author"] == dave.uri


# ----------------------------------------------------------------- 21-28: origin and ownership


@pytest.mark.parametrize("case", ["embedded", "embedded-attributed-to-the-actor", "by-reference"])
async def test_21_create_of_an_object_on_another_host_is_403(env, case):
    alice, dave = env.actor("c21"), env.actor("c21d", env.peer2)
    note = env.peer2.note(dave, "Hosted elsewhere")
    obj = note["id"] if case == "by-reference" else dict(note, attributedTo=alice.uri) \
        if case == "embedded-attributed-to-the-actor" else note
    create = env.create(alice, obj)
    response = await env.deliver(alice, create)
    assert response.status_code == 403, response.text
    await env.assert_empty(create, actor=alice.uri)
    assert env.fetched(note["id"], env.peer2) == []


@pytest.mark.parametrize("attributed", ["other", "other-as-object", "other-then-actor"])
async def test_22_create_attributed_to_someone_else_is_refused(env, attributed):
    alice, bob = env.actor("c22"), env.actor("c22b")
    value = {"other": bob.uri, "other-as-object": {"id": bob.uri, "type": "Person"},
             "other-then-actor": [bob.uri, alice.uri]}[attributed]
    create = env.create(alice, env.note(alice, attributedTo=value))
    response = await env.deliver(alice, create)
    assert response.status_code in (403, 202), response.text
    if response.status_code == 202:  # allowed by the table: then the handler must drop it
        assert (await env.settled(create["id"]))[0] == "ignored"
    await env.assert_empty(create, actor=alice.uri, item=True)
    assert await env.count("SELECT count(*) FROM content_post WHERE author_uri = $1", bob.uri) == 0


@pytest.mark.parametrize("claimed_author", ["mallory", "alice"])
async def test_23_create_reusing_another_actors_object_id_is_403(env, claimed_author):
    alice, mallory = env.actor("c23a"), env.actor("c23m")  # same host: only authorship tells them apart
    original = await stored_post(env, alice, env.note(alice, "For the union only", to=[env.inst.actor_uri], cc=[]))
    before = await post_row(env, original["id"])
    assert before["public"] is False
    widened = dict(original, attributedTo=mallory.uri if claimed_author == "mallory" else alice.uri,
                   to=[PUBLIC], cc=[f"{mallory.uri}/followers"], content="<p>Now everybody sees it</p>")
    create = env.create(mallory, widened)
    response = await env.deliver(mallory, create)
    assert response.status_code == 403, response.text
    assert await env.item(create["id"]) is None
    assert await post_row(env, original["id"]) == before  # audience, author and text unchanged


@pytest.mark.parametrize("who,form", [("same-host", "embedded"), ("same-host", "by-reference"),
                                      ("other-host", "embedded")])
async def test_24_update_of_another_actors_note_is_403(env, who, form):
    alice = env.actor("c24a")
    mallory = env.actor("c24m", env.peer if who == "same-host" else env.peer2)
    original = await stored_post(env, alice)
    before = await post_row(env, original["id"])
    changed = dict(original, attributedTo=mallory.uri, content="<p>The strike is off</p>",
                   updated=now().strftime("%Y-%m-%dT%H:%M:%SZ"))
    update = {"@context": AS, "id": env.aid(mallory), "type": "Update", "actor": mallory.uri,
              "object": changed if form == "embedded" else original["id"], "to": [PUBLIC]}
    response = await env.deliver(mallory, update)
    assert response.status_code == 403, response.text
    assert await env.item(update["id"]) is None
    assert await post_row(env, original["id"]) == before


@pytest.mark.parametrize("types", ["Person", ["Service", "Person"]])
async def test_25_update_of_another_actors_profile_is_403(env, types):
    alice, bob = env.actor("c25a"), env.actor("c25b")
    await stored_post(env, bob)  # bob is known here (cached with his key)
    rows = "SELECT name, summary, key_id, public_key_pem, inbox FROM actors_remote WHERE uri = $1"
    before = await env.inst.sql(rows, bob.uri)
    forged = dict(bob.document(), type=types, name="Bob (now a strike-breaker)", inbox=f"{alice.uri}/inbox",
                  publicKey={"id": f"{bob.uri}#main-key", "owner": bob.uri,
                             "publicKeyPem": alice.document()["publicKey"]["publicKeyPem"]})
    update = {"@context": AS, "id": env.aid(alice), "type": "Update", "actor": alice.uri, "object": forged}
    response = await env.deliver(alice, update)
    assert response.status_code == 403, response.text
    assert await env.item(update["id"]) is None
    assert await env.inst.sql(rows, bob.uri) == before


@pytest.mark.parametrize("who,form", [("same-host", "id"), ("same-host", "tombstone"), ("other-host", "id")])
async def test_26_delete_of_someone_elses_object_leaves_it(env, who, form):
    alice = env.actor("c26a")
    mallory = env.actor("c26m", env.peer if who == "same-host" else env.peer2)
    original = await stored_post(env, alice)
    before = await post_row(env, original["id"])
    obj = original["id"] if form == "id" else {"id": original["id"], "type": "Tombstone"}
    delete = {"@context": AS, "id": env.aid(mallory), "type": "Delete", "actor": mallory.uri, "object": obj}
    response = await env.deliver(mallory, delete)
    assert response.status_code == 202, response.text
    assert (await env.settled(delete["id"]))[0] == "ignored"
    assert await post_row(env, original["id"]) == before
    assert await env.count("SELECT count(*) FROM content_tombstone WHERE ap_id = $1", original["id"]) == 0


async def test_27_delete_before_create_keeps_the_object_out(env):
    alice = env.actor("c27")
    note = env.note(alice, "Deleted before it arrived")
    delete = {"@context": AS, "id": env.aid(alice), "type": "Delete", "actor": alice.uri,
              "object": {"id": note["id"], "type": "Tombstone"}}
    assert (await env.deliver(alice, delete)).status_code == 202
    assert (await env.settled(delete["id"]))[0] == "done"
    create = env.create(alice, note)
    assert (await env.deliver(alice, create)).status_code == 202
    assert await env.settled(create["id"]) == ("ignored", "that object was deleted")
    update = {"@context": AS, "id": env.aid(alice), "type": "Update", "actor": alice.uri, "object": note}
    assert (await env.deliver(alice, update)).status_code == 202  # an Update is a late Create too
    assert (await env.settled(update["id"]))[0] == "ignored"
    assert await post_row(env, note["id"]) is None


async def test_28_undo_of_someone_elses_follow_or_like_is_403(env):
    alice, mallory = env.actor("c28a"), env.actor("c28m")
    follow = env.follow(alice)
    assert (await env.deliver(alice, follow)).status_code == 202
    assert await env.settled(follow["id"]) == ("done", "follower accepted")
    sid = env.inst.cli("post", "A statement to like", "--lang", "en").stdout.strip()
    like = {"@context": AS, "id": env.aid(alice), "type": "Like", "actor": alice.uri, "object": sid}
    assert (await env.deliver(alice, like)).status_code == 202
    assert await env.settled(like["id"]) == ("done", "like recorded")
    likes = "SELECT count(*) FROM content_interaction WHERE activity_id = $1"

    for inner in (follow, like):
        undo = {"@context": AS, "id": env.aid(mallory), "type": "Undo", "actor": mallory.uri, "object": inner}
        response = await env.deliver(mallory, undo)
        assert response.status_code == 403, response.text
        assert await env.item(undo["id"]) is None
    # By bare id there is no inner actor to compare: then it must at least do nothing.
    for inner in (follow, like):
        undo = {"@context": AS, "id": env.aid(mallory), "type": "Undo", "actor": mallory.uri, "object": inner["id"]}
        response = await env.deliver(mallory, undo)
        assert response.status_code in (202, 403), response.text
        if response.status_code == 202:
            assert (await env.settled(undo["id"]))[0] == "ignored"
    assert await env.count(FOLLOWERS_COUNT, alice.uri) == 1
    assert await env.count(likes, like["id"]) == 1


# ----------------------------------------------------------------- 29-34: what the server fetches


async def test_29_announce_with_an_altered_embedded_copy_stores_the_original(env):
    carol, dave = await followed(env), env.actor("c29d", env.peer2)
    original = env.peer2.note(dave, "Solidarity with the nurses")
    altered = dict(original, content="<p>The nurses' strike is illegal, report strikers</p>")
    boost = announce(env, carol, altered)
    response = await env.deliver(carol, boost)
    assert response.status_code == 202, response.text
    assert (await env.settled(boost["id"]))[0] == "done"
    assert env.fetched(original["id"], env.peer2), "the original was not fetched from its origin"
    row = await post_row(env, original["id"])
    assert "nurses" in row["content"] and "illegal" not in row["content"] and row["author"] == dave.uri


async def test_29_announce_whose_original_cannot_be_fetched_stores_nothing(env):
    carol, dave = await followed(env), env.actor("c29g", env.peer2)
    missing = dict(env.peer2.note(dave, "soon gone"), content="<p>forged copy</p>")
    env.peer2.documents.pop(missing["id"].removeprefix(env.peer2.url))  # the origin answers 404
    boost = announce(env, carol, missing)
    assert (await env.deliver(carol, boost)).status_code == 202
    assert (await env.settled(boost["id"]))[0] == "ignored"  # a 404 is final: not retried
    assert env.fetched(missing["id"], env.peer2)
    await env.assert_empty(boost, item=True)


async def test_29_announce_by_someone_nobody_follows_is_dropped_without_a_fetch(env):
    mallory, dave = env.actor("c29m"), env.actor("c29n", env.peer2)
    original = env.peer2.note(dave, "Not for mallory to push")
    boost = announce(env, mallory, dict(original, content="<p>forged</p>"))
    assert (await env.deliver(mallory, boost)).status_code == 202
    assert (await env.settled(boost["id"]))[0] == "ignored"
    assert env.fetched(original["id"], env.peer2) == []
    await env.assert_empty(boost, item=True, actor=mallory.uri)


@pytest.mark.parametrize("target", ["localhost", "127.0.0.1", "redirect-to-localhost"])
async def test_30_announce_of_a_private_address_makes_no_request(env, target):
    carol = await followed(env)
    port = env.listener.port
    if target == "redirect-to-localhost":
        path = f"/r30/{uuid.uuid4().hex}"
        env.peer2.redirects[path] = f"http://localhost:{port}/notes/1"
        url = f"{env.peer2.url}{path}"
    else:
        url = f"http://{target}:{port}/notes/{uuid.uuid4().hex}"
    before = env.listener.accepts
    boost = announce(env, carol, url)
    assert (await env.deliver(carol, boost)).status_code == 202
    assert (await env.settled(boost["id"]))[0] == "ignored"  # a refused address is final: not retried
    await env.assert_empty(boost, item=True)
    await asyncio.sleep(0.3)
    assert env.listener.accepts == before, "the server connected to a private address"


async def test_30_private_urls_in_a_post_or_profile_are_never_requested(env):
    alice = env.actor("c30")
    private = f"http://localhost:{env.listener.port}"
    before = env.listener.accepts
    note = env.note(alice, "With private links", inReplyTo=f"{private}/notes/parent",
                    attachment=[{"type": "Document", "mediaType": "image/png", "url": f"{private}/a.png"},
                                {"type": "Image", "url": f"http://127.0.0.1:{env.listener.port}/b.png"}],
                    tag=[{"type": "Emoji", "name": ":strike:", "icon": {"type": "Image", "url": f"{private}/e.png"}}])
    await stored_post(env, alice, note)
    update = {"@context": AS, "id": env.aid(alice), "type": "Update", "actor": alice.uri,
              "object": dict(alice.document(), icon={"type": "Image", "url": f"{private}/avatar.png"},
                             image={"type": "Image", "url": f"{private}/header.png"})}
    assert (await env.deliver(alice, update)).status_code == 202
    assert (await env.settled(update["id"]))[0] == "done"
    await asyncio.sleep(1.0)
    assert env.listener.accepts == before, "the server connected to a private address"


def _actor_at(env: Env, path: str, signer: FakeActor) -> tuple[str, dict]:
    """An actor document for `{peer}{path}` carrying signer's key (served by the test as it likes)."""
    uri = f"{env.peer.url}{path}"
    pem = signer.document()["publicKey"]["publicKeyPem"]
    doc = dict(signer.document(), id=uri, inbox=f"{uri}/inbox",
               publicKey={"id": f"{uri}#main-key", "owner": uri, "publicKeyPem": pem})
    return uri, doc


async def _through(env: Env, route: str, serve) -> tuple[dict, int, str]:
    """Make the server fetch a document served by `serve(path, good_doc) -> url`, by `route`:
    "key" (the signer's actor document), "announce" (the boosted note), "reference" (a Create
    whose object is only a URL). Returns (activity, response status, author of the fetched document)."""
    path = f"/fetched/{uuid.uuid4().hex}"
    if route == "key":
        signer = env.actor("c3x")
        uri, doc = _actor_at(env, path, signer)
        serve(path, doc)
        create = {"@context": AS, "id": f"{uri}/activities/1", "type": "Create", "actor": uri,
                  "object": {"id": f"{uri}/notes/1", "type": "Note", "attributedTo": uri, "content": "<p>x</p>",
                             "to": [PUBLIC], "cc": [env.inst.actor_uri]}}
        response = await env.send(signer, create, key_id=f"{uri}#main-key")
        return create, response.status_code, uri
    if route == "announce":
        carol, dave = await followed(env), env.actor("c3a", env.peer2)
        note = dict(env.note(dave, "fetched"), id=f"{env.peer2.url}{path}")
        serve(path, note, env.peer2)
        activity, sender, author = announce(env, carol, note["id"]), carol, dave.uri
    else:
        alice = env.actor("c3r")
        note = dict(env.note(alice, "fetched"), id=f"{env.peer.url}{path}")
        serve(path, note)
        activity, sender, author = env.create(alice, note["id"]), alice, alice.uri
    response = await env.deliver(sender, activity)
    return activity, response.status_code, author


async def _refused(env: Env, route: str, activity: dict, status: int, author: str) -> None:
    if route == "key":
        assert status == 401
        await env.assert_empty(activity, actor=author)
    else:
        assert status == 202
        assert (await env.settled(activity["id"]))[0] == "ignored"  # refused for good, not retried
        await env.assert_empty(activity, item=True, actor=author)


ROUTES = ["key", "announce", "reference"]


@pytest.mark.parametrize("route", ROUTES)
async def test_31_32_control_a_well_served_document_is_used(env, route):
    def serve(path, doc, peer=None):
        (peer or env.peer).serve_document(path, doc)
    activity, status, _ = await _through(env, route, serve)
    assert status == 202
    assert (await env.settled(activity["id"]))[0] == "done"


@pytest.mark.parametrize("ctype", ["text/html", "application/json", "image/png", "application/ld+json"])
@pytest.mark.parametrize("route", ROUTES)
async def test_31_fetched_document_with_a_non_activitypub_type_is_refused(env, route, ctype):
    def serve(path, doc, peer=None):
        (peer or env.peer).serve_document(path, doc, content_type=ctype)
    activity, status, author = await _through(env, route, serve)
    await _refused(env, route, activity, status, author)


@pytest.mark.parametrize("defect", ["id-of-another-origin", "id-of-another-path", "four-redirects",
                                    "cross-origin-redirect"])
@pytest.mark.parametrize("route", ROUTES)
async def test_32_fetched_document_with_a_foreign_id_or_bad_redirects_is_refused(env, route, defect):
    def serve(path, doc, peer=None):
        peer = peer or env.peer
        if defect == "id-of-another-origin":
            peer.serve_document(path, dict(doc, id=f"{env.peer2.url if peer is env.peer else env.peer.url}{path}"))
        elif defect == "id-of-another-path":
            peer.serve_document(path, dict(doc, id=f"{peer.url}{path}-other"))
        elif defect == "four-redirects":
            for hop in range(4):
                peer.redirects[path + "/r" * hop] = f"{peer.url}{path}/r" + "/r" * hop
            peer.serve_document(path + "/r" * 4, doc)
        else:
            other = env.peer2 if peer is env.peer else env.peer
            peer.redirects[path] = f"{other.url}{path}"
            other.serve_document(path, doc)
    activity, status, author = await _through(env, route, serve)
    await _refused(env, route, activity, status, author)


async def test_33_reply_chains_and_cycles_are_not_walked_without_bound(env):
    alice, carol = env.actor("c33"), await followed(env)
    chain = [f"{env.peer.url}/chain/{i}" for i in range(10_000)]
    for i, url in enumerate(chain):
        env.peer.serve_document(url.removeprefix(env.peer.url), dict(
            env.note(alice, f"link {i}"), id=url, inReplyTo=chain[i + 1] if i + 1 < len(chain) else None))
    a, b = f"{env.peer.url}/cycle/a", f"{env.peer.url}/cycle/b"
    env.peer.serve_document("/cycle/a", dict(env.note(carol, "a"), id=a, inReplyTo=b))
    env.peer.serve_document("/cycle/b", dict(env.note(carol, "b"), id=b, inReplyTo=a))

    reply = env.create(alice, env.note(alice, "a reply deep in a thread", inReplyTo=chain[0]))
    in_cycle = env.create(alice, env.note(alice, "a reply in a cycle", inReplyTo=a))
    boost = announce(env, carol, a)
    for sender, activity in ((alice, reply), (alice, in_cycle), (carol, boost)):
        assert (await env.deliver(sender, activity)).status_code == 202
        assert (await env.settled(activity["id"]))[0] == "done"
    await asyncio.sleep(0.5)
    walked = [p for p in env.peer.fetches if p.startswith(("/chain/", "/cycle/"))]
    assert len(walked) <= 50, f"{len(walked)} fetches"


async def test_34_replies_collections_are_not_crawled_without_bound(env):
    alice, carol = env.actor("c34"), await followed(env)
    base = f"{env.peer.url}/replies/{alice.name}"
    for i in range(100):  # 100 pages that loop back to the first: an endless `next` chain
        env.peer.serve_document(f"/replies/{alice.name}/{i}", {
            "@context": AS, "id": f"{base}/{i}", "type": "CollectionPage", "partOf": base,
            "next": f"{base}/{(i + 1) % 100}", "items": [f"{alice.uri}/statuses/r{i}-{k}" for k in range(100)]})
    replies = {"id": base, "type": "Collection", "totalItems": 1_000_000,
               "first": {"type": "CollectionPage", "next": f"{base}/0", "partOf": base, "items": []}}
    create = env.create(alice, env.note(alice, "a post with an endless replies collection", replies=replies))
    note = dict(env.note(carol, "boosted, endless replies", replies=replies), id=f"{carol.uri}/statuses/c34")
    env.peer.serve_document(note["id"].removeprefix(env.peer.url), note)
    boost = announce(env, carol, note["id"])
    for sender, activity in ((alice, create), (carol, boost)):
        assert (await env.deliver(sender, activity)).status_code == 202
        assert (await env.settled(activity["id"]))[0] == "done"
    await asyncio.sleep(0.5)
    crawled = [p for p in env.peer.fetches if p.startswith("/replies/")]
    assert len(crawled) <= 50, f"{len(crawled)} fetches"


# ----------------------------------------------------------------- 37-40: content


async def test_37_dangerous_html_is_stored_sanitised(env):
    alice = env.actor("c37")
    evil = ('<p>Strike!<script>alert("xss")</script><img src=x onerror="alert(1)">'
            '<iframe src="https://evil.example/"></iframe><embed src="x.swf"><style>body{display:none}</style>'
            '<a href="javascript:alert(2)">click</a> <a href="data:text/html;base64,PHNjcmlwdD4=">data</a>'
            '<a href="https://union.example/" onclick="alert(3)">ok</a></p>')
    note = await stored_post(env, alice, env.note(alice, contentMap={"en": evil, "fr": evil}) | {"content": evil})
    row = await post_row(env, note["id"])
    for html in (row["content"], *row["content_map"].values()):
        lowered = html.lower()
        for bad in ("<script", "alert", "onerror", "<iframe", "<embed", "<style", "display:none", "javascript:",
                    "data:", "onclick", "<img"):
            assert bad not in lowered, (bad, html)
        assert "Strike!" in html and "click" in html and 'href="https://union.example/"' in html


async def test_38_event_name_is_plain_text_and_a_huge_inline_image_does_not_survive(env):
    alice = env.actor("c38")
    inline = "data:image/png;base64," + "A" * 900_000
    event = env.note(alice, type="Event",
                     name='<b>General</b> <img src=x onerror="alert(1)">assembly<script>x()</script>',
                     summary=f'<p>Agenda</p><img src="{inline}">', startTime="2026-09-23T09:00:00+02:00",
                     endTime="2026-09-26T17:00:00+02:00", timezone="Europe/Paris")
    event.pop("content")
    await stored_post(env, alice, event)
    row = await post_row(env, event["id"])
    assert row["type"] == "Event"
    assert row["name"] == "General assembly"
    assert "Agenda" in row["summary"] and "data:" not in row["summary"] and len(row["summary"]) < 1000


@pytest.mark.parametrize("bad", [
    {"startTime": "2026-09-23T09:00:00Z", "endTime": "2026-09-22T09:00:00Z"},
    {"startTime": "99999-01-01T00:00:00Z"},
    {"startTime": "+10000-01-01T00:00:00Z"},
    {"endTime": "2026-09-23T09:00:00Z"},
    {"startTime": "2026-09-23T09:00:00", "timezone": "Mars/Olympus_Mons"},
    {"startTime": "2026-09-23T09:00:00Z", "timezone": ["Europe/Paris"]},
    {"startTime": 1790000000},
])
async def test_39_invalid_event_is_not_stored(env, bad):
    alice = env.actor("c39")
    event = {k: v for k, v in env.note(alice, type="Event", name="Congress").items() if k != "content"} | bad
    create = env.create(alice, event)
    response = await env.deliver(alice, create)
    assert response.status_code in (202, 400), response.text
    if response.status_code == 202:
        state, result = await env.settled(create["id"])
        assert state == "ignored" and "unusable object" in result, result
    await env.assert_empty(create, item=True, actor=alice.uri)
    for page in ("/", f"/@{env.inst.handle}"):  # pages that list posts still render
        assert (await env.get(f"{env.inst.url}{page}")).status_code == 200


@pytest.mark.parametrize("location,expected", [
    ([{"type": "VirtualLocation", "url": "https://meet.example/congress"},
      {"type": "Place", "name": "Bourse du travail"}],
     {"type": "VirtualLocation", "name": "", "url": "https://meet.example/congress"}),
    ([42, {"type": "Place", "name": "Bourse du travail"}], {"type": "Place", "name": "Bourse du travail"}),
    ("Bourse du travail, Paris", {"type": "Place", "name": "Bourse du travail, Paris"}),
    ({"type": "Place", "name": "Hall", "latitude": "48.87", "longitude": 2.35},
     {"type": "Place", "name": "Hall", "longitude": 2.35}),
    ({"type": "Place", "name": "<b>Hall</b> B", "latitude": 91.0, "longitude": "east"},
     {"type": "Place", "name": "Hall B"}),
])
async def test_40_event_location_shapes_are_read_robustly(env, location, expected):
    alice = env.actor("c40")
    event = {k: v for k, v in env.note(alice, type="Event", name="Congress").items() if k != "content"}
    event |= {"startTime": "2026-09-23T09:00:00Z", "location": location}
    await stored_post(env, alice, event)
    assert (await post_row(env, event["id"]))["extra"]["location"] == expected


# ----------------------------------------------------------------- 41-43: JSON-LD, addressing, sizes


async def test_41_context_redefining_terms_changes_nothing(env):
    alice, evil = env.actor("c41"), "https://evil.example"
    note = env.note(alice, "Plain JSON wins")
    create = env.create(alice, note) | {
        "@context": [AS, {"id": "@type", "type": "@id", "actor": "as:object", "object": "as:actor",
                          "Note": "as:Article", "attributedTo": "as:audience", "uid": "@id"}],
        "uid": f"{evil}/activities/1", "@id": f"{evil}/activities/2"}
    response = await env.deliver(alice, create)
    assert response.status_code == 202, response.text
    assert (await env.settled(create["id"]))[0] == "done"
    row = await post_row(env, note["id"])
    assert row["type"] == "Note" and row["author"] == alice.uri
    assert await env.count("SELECT count(*) FROM inbox_item WHERE activity_id LIKE $1", f"{evil}%") == 0


async def test_41_graph_included_and_reverse_smuggle_nothing(env):
    alice = env.actor("c41g")
    smuggled = env.note(alice, "smuggled")
    smuggled_follow = env.follow(alice)
    only_graph = {"@context": AS, "@graph": [env.create(alice, smuggled)]}
    response = await env.deliver(alice, only_graph)
    assert response.status_code == 400, response.text
    carrier = env.create(alice) | {"@graph": [env.create(alice, smuggled)], "@included": [smuggled_follow],
                                   "@reverse": {"attributedTo": smuggled}}
    assert (await env.deliver(alice, carrier)).status_code == 202
    assert (await env.settled(carrier["id"]))[0] == "done"
    await env.assert_empty(activity_id=smuggled_follow["id"], objects=(smuggled["id"],))
    assert await env.count(FOLLOWERS_COUNT, alice.uri) == 0


async def test_41_ld_signature_is_never_trusted(env):
    alice, mallory = env.actor("c41s"), env.actor("c41m")
    ld = {"type": "RsaSignature2017", "creator": f"{alice.uri}#main-key", "created": now().isoformat(),
          "signatureValue": "c2lnbmVkIGJ5IGFsaWNlLCBob25lc3Q="}
    relayed = env.create(alice) | {"signature": ld}
    # HTTP-signed by mallory, claiming to relay alice's activity on the strength of the LD block.
    response = await env.send(mallory, relayed, key_id=mallory.key_id)
    assert response.status_code == 401, response.text
    await env.assert_empty(relayed, actor=alice.uri)
    # Alice's own activity with a bogus LD block: the HTTP signature decides; the block is ignored.
    own = env.create(alice) | {"signature": dict(ld, signatureValue="Ym9ndXM=")}
    assert (await env.deliver(alice, own)).status_code == 202
    assert (await env.settled(own["id"]))[0] == "done"


@pytest.mark.parametrize("where,value,public", [
    ("to", PUBLIC, True), ("to", "as:Public", True), ("to", "Public", True), ("cc", PUBLIC, True),
    ("to", "public", False), ("to", "as:public", False), ("to", "http://www.w3.org/ns/activitystreams#Public", False),
    ("to", "https://www.w3.org/ns/activitystreams#public", False), ("to", AS, False), ("to", "FOLLOWERS", False),
])
async def test_42_public_is_recognised_in_exactly_its_three_forms(env, where, value, public):
    alice = env.actor("c42")
    value = f"{alice.uri}/followers" if value == "FOLLOWERS" else value
    note = env.note(alice, "Who can see this?", to=[], cc=[env.inst.actor_uri])
    note[where] = [*note[where], value]
    await stored_post(env, alice, note)
    assert (await post_row(env, note["id"]))["public"] is public


async def test_43_100_000_recipients_are_over_the_size_cap(env):
    alice = env.actor("c43big")
    note = env.note(alice, to=[PUBLIC] + [f"https://r.example/users/{i}" for i in range(100_000)])
    create = env.create(alice, note)
    assert len(json.dumps(create)) > 1_048_576
    response = await env.deliver(alice, create)
    assert response.status_code == 413, response.text
    await env.assert_empty(create, actor=alice.uri)


async def test_43_huge_recipient_mention_and_attachment_lists_are_capped(env):
    alice = env.actor("c43")
    deliveries = await env.count("SELECT count(*) FROM federation_delivery")
    recipients = [f"http://r/{i:x}" for i in range(50_000)]
    mentions = [{"type": "Mention", "href": env.inst.actor_uri, "name": env.inst.acct}] * 5_000 + [
        {"type": "Mention", "href": f"http://m/{i}", "name": f"@m{i}"} for i in range(5_000)]
    attachments = [{"type": "Document", "mediaType": "image/png", "url": f"{env.peer.url}/media/{i}.png", "name": "pic"}
                   for i in range(100)]
    notes = [env.note(alice, "many recipients", to=[PUBLIC] + recipients[:40_000],
                      cc=[env.inst.actor_uri] + recipients[40_000:]),
             env.note(alice, "many mentions", tag=mentions),
             env.note(alice, "many attachments", attachment=attachments)]
    for note in notes:
        create = env.create(alice, note)
        body = json.dumps(create).encode()
        assert len(body) < 1_048_576
        response = await env.deliver(alice, create)
        assert response.status_code in (202, 400), response.text
        if response.status_code == 202:
            await env.settled(create["id"])
            row = await post_row(env, note["id"])
            if row is not None:
                assert len(row["to"]) <= 501 and len(row["cc"]) <= 501
                assert len(row["tags"]) <= 50
                assert len([t for t in row["tags"] if t["href"] == env.inst.actor_uri]) <= 1
                assert len(row["attachments"]) <= 8
    assert [p for p in env.peer.fetches if p.startswith("/media/")] == []  # no media downloaded
    assert await env.count("SELECT count(*) FROM federation_delivery") == deliveries  # nothing fanned out


# ----------------------------------------------------------------- the general rule


def test_zz_no_request_in_this_module_got_a_5xx_and_the_server_logged_no_traceback(env):
    assert_no_5xx_and_no_traceback(env)
