"""The admin timeline over HTTP: posts and boosts of followed actors, boost/like (and undo), reply,
and declaring solidarity with an appeal in one step."""
from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import quote

import pytest

from actors.models import Following, FollowState, RemoteActor
from content.models import Interaction, Post
from federation.models import Delivery, Envelope
from outbox import interactions, statements
from outbox.models import Activity
from web import timeline

CSRF = re.compile(r'<input type="hidden" name="csrf" value="([^"]+)">')
ITEM = re.compile(r'<article class="timeline-item[^"]*" data-uri="([^"]+)"')


async def note(author: RemoteActor, n: int, minutes: int, content_map: dict[str, str], *, base, **kw) -> Post:
    primary = next(iter(content_map))
    return await Post.create(ap_id=f"{author.uri}/notes/{n}", author_uri=author.uri, content=content_map[primary],
                             content_map=content_map, language=primary, public=kw.pop("public", True),
                             published=base + timedelta(minutes=minutes), **kw)


@pytest.fixture
async def world(admin, remote_actor):
    """We follow `rail`; rail posted a statement, an appeal and boosted bob's post; bob and a hidden post are not ours to see."""
    client, inst, union, token = admin
    base = inst.now() - timedelta(hours=2)
    rail = await remote_actor("rail", "Organization", inst.now())
    bob = await remote_actor("bob", "Person", inst.now())
    await Following.create(local=union, remote=rail, follow_id="https://ours.example/follows/1",
                           state=FollowState.ACCEPTED, created_at=base)
    plain = await note(rail, 1, 10, {"en": "<p>Rail strike update</p>", "fr": "<p>Point sur la grève</p>"}, base=base,
                       summary="Strike news")
    appeal = await note(rail, 2, 30, {"en": "<p>Send us your declarations!</p><script>alert(1)</script>"}, base=base,
                        extra={"appeal": True, "appeal_until": "2026-10-01T23:59:59Z"})
    bobs = await note(bob, 3, 5, {"en": "<p>Bob's own post</p>"}, base=base)
    await note(rail, 4, 40, {"en": "<p>Hidden by us</p>"}, base=base, hidden=True)
    await Interaction.create(kind="announce", activity_id=f"{rail.uri}/boosts/1", actor_uri=rail.uri,
                             object_uri=bobs.ap_id, created_at=base + timedelta(minutes=20))
    return client, inst, union, token, rail, bob, plain, appeal, bobs


async def test_timeline_shows_followed_posts_and_boosts_newest_first(world):
    client, inst, union, token, rail, bob, plain, appeal, bobs = world
    page = await client.get("/admin/timeline", headers={"Accept-Language": "fr"})
    assert page.status_code == 200
    assert ITEM.findall(page.text) == [appeal.ap_id, bobs.ap_id, plain.ap_id]
    assert "Hidden by us" not in page.text
    assert "boosted by" in page.text and "own post</p>" in page.text
    assert '<div lang="fr" dir="ltr">' in page.text and "Point sur la grève" in page.text, "the reader's language"
    assert "<details><summary>Strike news</summary>" in page.text, "content warning folds the text"
    assert "<script" not in page.text.split("<main>")[1] and "alert(1)" not in page.text
    items = page.text.split('<article class="timeline-item')
    assert "Declare solidarity" in items[1] and f'href="/admin/declare?uri={appeal.ap_id.replace(":", "%3A")}"' in items[1]
    assert "Declare solidarity" not in items[3]
    assert items[3].count('action="/admin/timeline/boost"') == 1 and 'action="/admin/timeline/like"' in items[3]
    assert ">Boost</button>" in items[3] and ">Like</button>" in items[3] and ">Reply</a>" in items[3]
    assert 'href="/admin/timeline"' in (await client.get("/admin")).text


async def test_timeline_requires_login(site):
    client, _ = site
    response = await client.get("/admin/timeline")
    assert response.status_code == 303 and response.headers["location"].startswith("/login")
    assert (await client.post("/admin/timeline/boost", data={"uri": "https://x.example/1"})).status_code == 403


async def test_boost_and_unboost_go_through_the_outbox(world):
    client, inst, union, token, rail, bob, plain, appeal, bobs = world
    assert (await client.post("/admin/timeline/boost", data={"uri": plain.ap_id})).status_code == 403, "CSRF"
    response = await client.post("/admin/timeline/boost", data={"csrf": token, "uri": plain.ap_id, "page": "1"})
    assert response.status_code == 303 and response.headers["location"] == "/admin/timeline?done=boosted"
    mine = await Interaction.get(kind="announce", local=True, object_uri=plain.ap_id)
    announce = await Activity.get(ap_id=mine.activity_id)
    assert announce.type == "Announce" and announce.payload["object"] == plain.ap_id
    envelope = await Envelope.get(activity_id=announce.ap_id)
    assert {d.inbox for d in await Delivery.filter(envelope=envelope)} == {rail.shared_inbox}, "the author is told"
    page = (await client.get("/admin/timeline?done=boosted")).text
    assert "Boosted: your followers see it now." in page
    item = page.split(f'data-uri="{plain.ap_id}"')[1].split("</article>")[0]
    assert ">Unboost</button>" in item and 'action="/admin/timeline/unboost"' in item
    assert (await client.post("/admin/timeline/unboost", data={"csrf": token, "uri": plain.ap_id})).status_code == 303
    assert not await Interaction.filter(local=True).exists()
    assert await Activity.filter(type="Undo").count() == 1


async def test_like_and_unlike(world):
    client, inst, union, token, rail, bob, plain, appeal, bobs = world
    assert (await client.post("/admin/timeline/like", data={"csrf": token, "uri": appeal.ap_id})).status_code == 303
    assert await Interaction.filter(kind="like", local=True, object_uri=appeal.ap_id).exists()
    item = (await client.get("/admin/timeline")).text.split(f'data-uri="{appeal.ap_id}"')[1].split("</article>")[0]
    assert ">Unlike</button>" in item
    assert (await client.post("/admin/timeline/unlike", data={"csrf": token, "uri": appeal.ap_id})).status_code == 303
    assert not await Interaction.filter(kind="like", local=True).exists()


@pytest.mark.parametrize(("path", "uri", "message"), [
    ("/admin/timeline/boost", "javascript:alert(1)", "Give the post&#39;s id"),
    ("/admin/timeline/boost", "", "Give the post&#39;s id"),
    ("/admin/timeline/like", "https://nowhere.example/notes/1", "Could not like"),
    ("/admin/timeline/unboost", "https://rail.example/actors/rail/notes/1", "Nothing to withdraw"),
])
async def test_bad_interactions_are_400_and_store_nothing(world, path, uri, message):
    client, _, _, token, *_ = world
    response = await client.post(path, data={"csrf": token, "uri": uri})
    assert response.status_code == 400 and message in response.text
    assert not await Interaction.filter(local=True).exists() and not await Activity.exists()


async def test_reply_mentions_the_author_and_is_delivered_to_them(world):
    client, inst, union, token, rail, bob, plain, appeal, bobs = world
    url = f"/admin/reply?uri={plain.ap_id}"
    form = await client.get(url)
    assert form.status_code == 200 and ">@rail@rail.example </textarea>" in form.text and "Rail strike update" in form.text and 'action="/admin/reply?uri=' in form.text
    assert "Publish reply" in form.text and 'name="boost"' not in form.text
    response = await client.post(url, data={"csrf": token, "lang": "en", "text": "We are with you."})
    assert response.status_code == 303 and response.headers["location"] == "/admin/timeline?done=replied"
    reply = await Post.get(local=True, in_reply_to=plain.ap_id)
    assert reply.content_map["en"].startswith('<p><span class="h-card"')
    assert {"type": "Mention", "href": rail.uri, "name": "@rail@rail.example"} in reply.tags
    assert rail.uri in reply.cc
    create = await Activity.get(ap_id=f"{reply.ap_id}/activity")
    assert create.payload["object"]["inReplyTo"] == plain.ap_id
    envelope = await Envelope.get(activity_id=create.ap_id)
    assert rail.shared_inbox in {d.inbox for d in await Delivery.filter(envelope=envelope)}


async def test_reply_errors_keep_the_form(world):
    client, inst, union, token, rail, bob, plain, appeal, bobs = world
    url = f"/admin/reply?uri={plain.ap_id}"
    empty = await client.post(url, data={"csrf": token, "lang": "en", "text": "@rail@rail.example  "})
    assert empty.status_code == 400 and "Write the text of your reply." in empty.text
    bad_lang = await client.post(url, data={"csrf": token, "lang": "english!", "text": "Solidarity"})
    assert bad_lang.status_code == 400 and "not a language code" in bad_lang.text and ">Solidarity</textarea>" in bad_lang.text
    assert (await client.get("/admin/reply?uri=javascript:x")).status_code == 400
    unknown = await client.get("/admin/reply?uri=https://nowhere.example/1")
    assert unknown.status_code == 200 and "Look up this post" in unknown.text, "a GET fetches nothing"
    assert not await Post.filter(local=True).exists()


async def test_declare_replies_and_boosts_in_one_step(world):
    client, inst, union, token, rail, bob, plain, appeal, bobs = world
    url = f"/admin/declare?uri={appeal.ap_id}"
    form = await client.get(url)
    assert form.status_code == 200 and 'name="boost" value="1" checked' in form.text and "Send declaration" in form.text
    response = await client.post(url, data={"csrf": token, "lang": "fr", "text": "Solidarité totale !", "boost": "1"})
    assert response.status_code == 303 and response.headers["location"] == "/admin/timeline?done=declared_boosted"
    reply = await Post.get(local=True, in_reply_to=appeal.ap_id)
    assert reply.language == "fr" and "Solidarité totale !" in reply.content_map["fr"]
    assert await Interaction.filter(kind="announce", local=True, object_uri=appeal.ap_id).exists()
    page = (await client.get(response.headers["location"])).text
    assert "Declaration of solidarity sent, and the appeal cross-posted" in page
    item = page.split(f'data-uri="{appeal.ap_id}"')[1].split("</article>")[0]
    assert "you declared your solidarity" in item and ">Unboost</button>" in item


async def test_declare_without_boost_and_only_on_appeals(world):
    client, inst, union, token, rail, bob, plain, appeal, bobs = world
    response = await client.post(f"/admin/declare?uri={appeal.ap_id}",
                                 data={"csrf": token, "lang": "en", "text": "With you."})
    assert response.headers["location"] == "/admin/timeline?done=declared"
    assert await Post.filter(local=True, in_reply_to=appeal.ap_id).exists()
    assert not await Interaction.filter(local=True).exists()
    not_appeal = await client.get(f"/admin/declare?uri={plain.ap_id}")
    assert not_appeal.status_code == 400 and "not an appeal" in not_appeal.text
    refused = await client.post(f"/admin/declare?uri={plain.ap_id}",
                                data={"csrf": token, "lang": "en", "text": "x", "boost": "1"})
    assert refused.status_code == 400 and await Post.filter(local=True).count() == 1


async def test_paging(world):
    client, inst, union, token, rail, *_ = world
    base = inst.now() - timedelta(days=1)
    for n in range(25):
        await note(rail, 100 + n, n, {"en": f"<p>old {n}</p>"}, base=base)
    first = (await client.get("/admin/timeline")).text
    assert len(ITEM.findall(first)) == timeline.PAGE_SIZE and 'href="/admin/timeline?page=2"' in first
    second = (await client.get("/admin/timeline?page=2")).text
    # 2 recent posts (the hidden one is left out) + 1 boost + 25 older = 28 entries: 8 on the second page.
    assert len(ITEM.findall(second)) == 8 and ITEM.findall(second)[-1].endswith("/notes/100")
    assert "?page=3" not in second and 'href="/admin/timeline" rel="prev"' in second
    assert (await client.get("/admin/timeline?page=abc")).status_code == 400
    assert (await client.get("/admin/timeline?page=0")).status_code == 400


# --- the author's document, fetching on GET, and a failed cross-post ----------------------

AP = "application/activity+json"
CAROL = "https://carol.example/users/carol"
CAROL_NOTE = "https://carol.example/users/carol/statuses/1"


def carol_actor() -> tuple[int, dict, str]:
    return (200, {"@context": ["https://www.w3.org/ns/activitystreams"], "id": CAROL, "type": "Organization",
                  "preferredUsername": "carol", "name": "Carol Union", "inbox": f"{CAROL}/inbox",
                  "endpoints": {"sharedInbox": "https://carol.example/inbox"},
                  "publicKey": {"id": f"{CAROL}#main-key", "owner": CAROL, "publicKeyPem": "pem"}}, AP)


def carol_note() -> tuple[int, dict, str]:
    return (200, {"@context": "https://www.w3.org/ns/activitystreams", "id": CAROL_NOTE, "type": "Note",
                  "attributedTo": CAROL, "to": ["https://www.w3.org/ns/activitystreams#Public"],
                  "content": "<p>Carol's strike news</p>", "published": "2026-09-23T08:00:00Z"}, AP)


async def test_a_reply_to_a_post_whose_author_was_never_fetched_is_refused_or_reaches_them(world, remote):
    """fetch_post stores a post even when its author's document cannot be had; the reply then
    fetches the author, and is refused (stores nothing) while the author is out of reach."""
    client, inst, union, token, *_ = world
    carols = await note_by(CAROL, inst)
    url = f"/admin/reply?uri={quote(carols.ap_id, safe='')}"
    form = await client.get(url)
    assert form.status_code == 200 and "@carol" not in form.text, "a GET fetches no author either"
    refused = await client.post(url, data={"csrf": token, "lang": "en", "text": "With you."})
    assert refused.status_code == 400 and "could not reach the author" in refused.text
    assert ">With you.</textarea>" in refused.text
    assert not await Post.filter(local=True).exists() and not await Activity.exists()
    with pytest.raises(statements.OutboxError, match="could not reach the author"):
        await statements.publish(inst, union, {"en": "With you."}, in_reply_to=carols.ap_id)

    remote[CAROL] = carol_actor()
    response = await client.post(url, data={"csrf": token, "lang": "en", "text": "With you."})
    assert response.status_code == 303 and response.headers["location"] == "/admin/timeline?done=replied"
    reply = await Post.get(local=True, in_reply_to=carols.ap_id)
    assert {"type": "Mention", "href": CAROL, "name": "@carol@carol.example"} in reply.tags
    envelope = await Envelope.get(activity_id=f"{reply.ap_id}/activity")
    assert "https://carol.example/inbox" in {d.inbox for d in await Delivery.filter(envelope=envelope)}


async def test_publish_delivers_a_reply_to_the_parents_author_when_not_mentioned(world, remote):
    """The outbox on its own (no web mention): the author's document is fetched and their inbox added."""
    client, inst, union, token, *_ = world
    carols = await note_by(CAROL, inst)
    remote[CAROL] = carol_actor()
    reply = await statements.publish(inst, union, {"en": "No mention here."}, in_reply_to=carols.ap_id)
    envelope = await Envelope.get(activity_id=f"{reply.ap_id}/activity")
    assert "https://carol.example/inbox" in {d.inbox for d in await Delivery.filter(envelope=envelope)}
    with pytest.raises(statements.OutboxError, match="do not have that post"):
        await statements.publish(inst, union, {"en": "x"}, in_reply_to="https://nowhere.example/notes/1")


async def note_by(author_uri: str, inst) -> Post:
    return await Post.create(ap_id=f"{author_uri}/statuses/1", author_uri=author_uri,
                             content="<p>Carol's strike news</p>", content_map={"en": "<p>Carol's strike news</p>"},
                             language="en", public=True,
                             published=inst.now() - timedelta(hours=1))


@pytest.mark.parametrize("then", ["reply", "declare"])
async def test_a_get_fetches_nothing_and_the_lookup_is_a_post_with_a_token(world, remote, then):
    client, inst, union, token, *_ = world
    remote[CAROL_NOTE] = carol_note()
    remote[CAROL] = carol_actor()
    page = await client.get(f"/admin/{then}?uri={quote(CAROL_NOTE, safe='')}")
    assert page.status_code == 200 and "Look up this post" in page.text and 'action="/admin/lookup"' in page.text
    assert f'name="then" value="{then}"' in page.text and 'name="csrf"' in page.text
    assert not await Post.filter(ap_id=CAROL_NOTE).exists(), "nothing fetched or stored on a GET"

    forged = await client.post("/admin/lookup", data={"uri": CAROL_NOTE, "then": then})
    assert forged.status_code == 403 and not await Post.filter(ap_id=CAROL_NOTE).exists()
    found = await client.post("/admin/lookup", data={"csrf": token, "uri": CAROL_NOTE, "then": then})
    assert found.status_code == 303 and found.headers["location"] == f"/admin/{then}?uri={quote(CAROL_NOTE, safe='')}"
    assert await Post.filter(ap_id=CAROL_NOTE).exists()
    if then == "reply":
        form = await client.get(found.headers["location"])
        assert form.status_code == 200 and "strike news" in form.text and "Publish reply" in form.text
    else:  # fetched, but not an appeal: said so
        assert (await client.get(found.headers["location"])).status_code == 400

    missing = await client.post("/admin/lookup", data={"csrf": token, "uri": "https://nowhere.example/1", "then": then})
    assert missing.status_code == 400 and "Could not find that post" in missing.text
    bad = await client.post("/admin/lookup", data={"csrf": token, "uri": "javascript:alert(1)"})
    assert bad.status_code == 400 and not await Post.filter(ap_id="javascript:alert(1)").exists()


@pytest.mark.parametrize("failure", [statements.OutboxError("the outbox is full"), RuntimeError("database went away")])
async def test_a_failed_cross_post_keeps_the_declaration_and_says_so(world, monkeypatch, failure):
    """The declaration is published before the boost: when the boost fails the admin is sent to the
    timeline (not the form, which would invite sending the declaration twice) and told why."""
    client, inst, union, token, rail, bob, plain, appeal, bobs = world

    async def failing_boost(*args, **kwargs):
        raise failure

    monkeypatch.setattr(interactions, "boost", failing_boost)
    response = await client.post(f"/admin/declare?uri={quote(appeal.ap_id, safe='')}",
                                 data={"csrf": token, "lang": "en", "text": "Solidarity!", "boost": "1"})
    assert response.status_code == 303 and response.headers["location"] == "/admin/timeline?done=declared"
    assert await Post.filter(local=True, in_reply_to=appeal.ap_id).count() == 1
    assert not await Interaction.filter(local=True).exists()
    page = (await client.get(response.headers["location"])).text
    assert "Declaration of solidarity sent." in page
    alert = page.split('role="alert"')[1].split("</p>")[0]
    assert "cross-posting failed: " + str(failure) in alert
    assert "cross-posting failed" not in (await client.get("/admin/timeline")).text, "told once"
