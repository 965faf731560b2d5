"""POST/GET/PUT/DELETE /api/v1/statuses and the thread around a status, through the real app:
what a Mastodon client sends becomes a statement published by outbox.statements."""
from __future__ import annotations

from datetime import timedelta

import pytest

from actors.local import get_by_username
from actors.models import Follower, FollowState
from content.models import Interaction, Media, Post, Tombstone
from federation.models import Delivery, Envelope
from outbox import statements
from outbox.models import Activity, IdempotencyKey
from tests.content.test_media import png


@pytest.fixture
async def world(api, remote_actor):
    """The union with one accepted follower (rail) and a public post by bob (a remote actor)."""
    client, inst, headers = api
    union = await get_by_username("sud_rail")
    rail = await remote_actor("rail", "Organization", inst.now())
    bob = await remote_actor("bob", "Person", inst.now())
    await Follower.create(local=union, remote=rail, follow_id=f"{rail.uri}#follows/1", state=FollowState.ACCEPTED,
                          created_at=inst.now())
    bobs = await Post.create(ap_id=f"{bob.uri}/notes/1", author_uri=bob.uri, content="<p>Strike!</p>",
                             content_map={"en": "<p>Strike!</p>"}, language="en", public=True,
                             published=inst.now() - timedelta(hours=1))
    return client, inst, headers, union, rail, bob, bobs


async def upload(client, headers, description: str = "") -> dict:
    response = await client.post("/api/v2/media", headers=headers, data={"description": description},
                                 files={"file": ("photo.png", png(), "image/png")})
    assert response.status_code == 200, response.text
    return response.json()


async def deliveries_of(activity_id: str) -> set[str]:
    envelopes = await Envelope.filter(activity_id=activity_id).values_list("id", flat=True)
    return set(await Delivery.filter(envelope_id__in=envelopes).values_list("inbox", flat=True))


async def test_a_status_with_language_spoiler_and_image_is_published(world):
    client, inst, headers, union, rail, bob, bobs = world
    image = await upload(client, headers, "Picket line at dawn")
    response = await client.post("/api/v1/statuses", headers=headers, json={
        "status": "Grève demain #greve", "language": "FR", "spoiler_text": "Grève", "media_ids": [image["id"]],
        "visibility": "public"})
    assert response.status_code == 200, response.text
    shown = response.json()
    post = await Post.get(local=True)
    assert shown["id"] == str(post.sid) and shown["uri"] == post.ap_id
    assert shown["language"] == "fr" and shown["spoiler_text"] == "Grève" and shown["sensitive"] is True
    assert shown["visibility"] == "public" and shown["account"]["username"] == "sud_rail"
    assert [m["id"] for m in shown["media_attachments"]] == [image["id"]]
    assert shown["media_attachments"][0]["description"] == "Picket line at dawn"
    assert shown["tags"] == [{"name": "greve", "url": inst.urls.tag("greve")}]
    assert post.content_map == {"fr": post.content} and "Grève demain" in post.content and post.summary == "Grève"
    assert (await Media.get(id=int(image["id"]))).post_id == post.id
    create = await Activity.get(type="Create", object_uri=post.ap_id)
    assert create.payload["object"]["contentMap"].keys() == {"fr"}
    assert len(create.payload["object"]["attachment"]) == 1
    assert await deliveries_of(create.ap_id) == {rail.delivery_inbox}, "queued to the followers"


async def test_form_bodies_and_the_default_language(world):
    client, inst, headers, union, *_ = world
    first = await client.post("/api/v1/statuses", headers=headers, data={"status": "First"})
    assert first.status_code == 200 and first.json()["language"] == "en", "no earlier post: English"
    await client.post("/api/v1/statuses", headers=headers, data={"status": "Deuxième", "language": "fr"})
    third = await client.post("/api/v1/statuses", headers=headers, data={"status": "Troisième"})
    assert third.json()["language"] == "fr", "the language of the union's last post"


async def test_idempotency_key_prevents_a_double_post(world):
    client, inst, headers, *_ = world
    image = await upload(client, headers)
    keyed = {**headers, "Idempotency-Key": "abc-123"}
    body = {"status": "Once only", "media_ids": [image["id"]]}
    first = await client.post("/api/v1/statuses", headers=keyed, json=body)
    again = await client.post("/api/v1/statuses", headers=keyed, json=body)
    assert first.status_code == again.status_code == 200
    assert first.json()["id"] == again.json()["id"]
    assert await Post.filter(local=True).count() == 1 and await Activity.filter(type="Create").count() == 1
    other = await client.post("/api/v1/statuses", headers={**headers, "Idempotency-Key": "other"},
                              json={"status": "Once only"})
    assert other.json()["id"] != first.json()["id"]
    # A day later the key is forgotten: the same key publishes anew.
    inst.clock.advance(days=1, minutes=1)
    later = await client.post("/api/v1/statuses", headers=keyed, json={"status": "Once only"})
    assert later.status_code == 200 and later.json()["id"] != first.json()["id"]
    assert await IdempotencyKey.filter(key="abc-123").count() == 1


async def test_a_refused_status_leaves_the_key_free(world):
    client, inst, headers, *_ = world
    keyed = {**headers, "Idempotency-Key": "k"}
    assert (await client.post("/api/v1/statuses", headers=keyed, json={"status": "x", "language": "??"})).status_code == 422
    assert await IdempotencyKey.all().count() == 0
    assert (await client.post("/api/v1/statuses", headers=keyed, json={"status": "x"})).status_code == 200


async def test_two_requests_racing_with_one_key_publish_once(world):
    import asyncio

    client, inst, headers, *_ = world
    keyed = {**headers, "Idempotency-Key": "race"}
    answers = await asyncio.gather(*(client.post("/api/v1/statuses", headers=keyed, json={"status": "Once"})
                                     for _ in range(3)))
    assert {a.status_code for a in answers} <= {200, 409} and 200 in {a.status_code for a in answers}
    assert await Post.filter(local=True).count() == 1 and await Activity.filter(type="Create").count() == 1
    retry = await client.post("/api/v1/statuses", headers=keyed, json={"status": "Once"})
    assert retry.status_code == 200 and retry.json()["id"] == str((await Post.get(local=True)).sid)


async def test_a_read_only_token_cannot_post(world, token):
    client, inst, *_ = world
    read = await token("read")
    response = await client.post("/api/v1/statuses", headers=read, json={"status": "Hello"})
    assert response.status_code == 403 and "error" in response.json()
    anonymous = await client.post("/api/v1/statuses", json={"status": "Hello"})
    assert anonymous.status_code == 401
    assert await Post.filter(local=True).count() == 0


@pytest.mark.parametrize("body, reason", [
    ({"status": "x", "media_ids": ["999"]}, "media 999"),
    ({"status": "x", "media_ids": ["abc"]}, "not a media id"),
    ({"status": "x" * 5001}, "too long"),
    ({"status": "   "}, "needs text"),
    ({}, "needs text"),
    ({"status": "x", "language": "not a language"}, "not a language code"),
    ({"status": "x", "visibility": "direct"}, "direct messages are not supported"),
    ({"status": "x", "visibility": "private"}, "followers-only"),
    ({"status": "x", "visibility": "unlisted"}, "unlisted"),
    ({"status": "x", "scheduled_at": "2030-01-01T00:00:00Z"}, "scheduled posts are not supported"),
    ({"status": "x", "poll": {"options": ["a", "b"], "expires_in": 3600}}, "polls are not supported"),
    ({"status": "x", "in_reply_to_id": "12345"}, "does not appear to exist"),
    ({"status": "x", "in_reply_to_id": "nope"}, "does not appear to exist"),
])
async def test_bad_input_is_refused_and_nothing_stored(world, body, reason):
    client, inst, headers, *_ = world
    response = await client.post("/api/v1/statuses", headers=headers, json=body)
    assert 400 <= response.status_code < 500 and reason in response.json()["error"]
    assert await Post.filter(local=True).count() == 0 and await Activity.all().count() == 0


async def test_media_alone_is_refused_and_the_upload_stays_free(world):
    client, inst, headers, *_ = world
    image = await upload(client, headers)
    response = await client.post("/api/v1/statuses", headers=headers, json={"media_ids": [image["id"]]})
    assert response.status_code == 422 and "media alone is not supported" in response.json()["error"]
    assert (await Media.get(id=int(image["id"]))).post_id is None


async def test_a_reply_sets_in_reply_to_and_reaches_the_author(world):
    client, inst, headers, union, rail, bob, bobs = world
    response = await client.post("/api/v1/statuses", headers=headers,
                                 json={"status": "@bob@bob.example Solidarity!", "in_reply_to_id": str(bobs.sid)})
    assert response.status_code == 200, response.text
    shown = response.json()
    assert shown["in_reply_to_id"] == str(bobs.sid) and shown["in_reply_to_account_id"] == str(bob.id)
    reply = await Post.get(local=True)
    assert reply.in_reply_to == bobs.ap_id
    create = await Activity.get(type="Create")
    assert create.payload["object"]["inReplyTo"] == bobs.ap_id
    assert await deliveries_of(create.ap_id) == {rail.delivery_inbox, bob.delivery_inbox}


async def test_show_and_context(world, api):
    client, inst, headers, union, rail, bob, bobs = world
    root = await client.post("/api/v1/statuses", headers=headers,
                             json={"status": "Root", "in_reply_to_id": str(bobs.sid)})
    child = await Post.create(ap_id=f"{rail.uri}/notes/2", author_uri=rail.uri, content="<p>Child</p>",
                              content_map={"en": "<p>Child</p>"}, language="en", public=True,
                              in_reply_to=root.json()["uri"], published=inst.now())
    grandchild = await Post.create(ap_id=f"{bob.uri}/notes/3", author_uri=bob.uri, content="<p>Grandchild</p>",
                                   content_map={"en": "<p>G</p>"}, language="en", public=True,
                                   in_reply_to=child.ap_id, published=inst.now() + timedelta(seconds=1))
    await Post.create(ap_id=f"{bob.uri}/notes/4", author_uri=bob.uri, content="<p>Hidden</p>", content_map={},
                      language="en", public=True, hidden=True, in_reply_to=root.json()["uri"], published=inst.now())
    public = await client.get(f"/api/v1/statuses/{root.json()['id']}")  # no token: public posts are shown
    assert public.status_code == 200 and public.json()["id"] == root.json()["id"]
    assert public.json()["replies_count"] == 1, "the hidden reply is not counted"
    context = (await client.get(f"/api/v1/statuses/{root.json()['id']}/context")).json()
    assert [s["id"] for s in context["ancestors"]] == [str(bobs.sid)]
    assert [s["id"] for s in context["descendants"]] == [str(child.sid), str(grandchild.sid)]
    assert (await client.get("/api/v1/statuses/123456789/context")).status_code == 404
    assert (await client.get("/api/v1/statuses/abc")).status_code == 404
    assert (await client.get("/api/v1/statuses/99999999999999999999")).status_code == 404


async def test_delete_and_edit_own_statuses_only(world):
    client, inst, headers, union, rail, bob, bobs = world
    made = (await client.post("/api/v1/statuses", headers=headers,
                              json={"status": "First words #union", "spoiler_text": "cw"})).json()
    assert (await client.delete(f"/api/v1/statuses/{bobs.sid}", headers=headers)).status_code == 403
    assert (await client.put(f"/api/v1/statuses/{bobs.sid}", headers=headers, json={"status": "x"})).status_code == 403
    assert (await client.delete("/api/v1/statuses/4242", headers=headers)).status_code == 404
    source = (await client.get(f"/api/v1/statuses/{made['id']}/source", headers=headers)).json()
    assert source == {"id": made["id"], "text": "First words #union", "spoiler_text": "cw"}

    edited = await client.put(f"/api/v1/statuses/{made['id']}", headers=headers, json={"status": "Better words"})
    assert edited.status_code == 200 and "Better words" in edited.json()["content"]
    assert edited.json()["spoiler_text"] == "cw" and edited.json()["edited_at"] is not None
    update = await Activity.get(type="Update")
    assert "Better words" in update.payload["object"]["content"]
    assert await deliveries_of(update.ap_id) == {rail.delivery_inbox}
    history = (await client.get(f"/api/v1/statuses/{made['id']}/history")).json()
    assert len(history) == 1 and "Better words" in history[0]["content"]
    refused = await client.put(f"/api/v1/statuses/{made['id']}", headers=headers, json={"status": ""})
    assert refused.status_code == 422

    deleted = await client.delete(f"/api/v1/statuses/{made['id']}", headers=headers)
    assert deleted.status_code == 200 and deleted.json()["text"] == "Better words"
    assert deleted.json()["id"] == made["id"]
    assert not await Post.filter(ap_id=made["uri"]).exists() and await Tombstone.filter(ap_id=made["uri"]).exists()
    assert await Activity.filter(type="Delete").count() == 1
    assert (await client.get(f"/api/v1/statuses/{made['id']}")).status_code == 404


async def test_edit_keeps_other_languages_and_replaces_media(world):
    client, inst, headers, union, *_ = world
    post = await statements.publish(inst, union, {"en": "Strike on Monday", "fr": "Grève lundi"})
    image = await upload(client, headers)
    response = await client.put(f"/api/v1/statuses/{post.sid}", headers=headers,
                                json={"status": "Strike on Tuesday", "media_ids": [image["id"]]})
    assert response.status_code == 200, response.text
    post = await Post.get(id=post.id)
    assert post.language == "en" and list(post.content_in_order()) == ["en", "fr"]
    assert "Tuesday" in post.content_map["en"] and "Grève lundi" in post.content_map["fr"]
    assert [m["id"] for m in response.json()["media_attachments"]] == [image["id"]]
    cleared = await client.put(f"/api/v1/statuses/{post.sid}", headers=headers, json={"media_ids": []})
    assert cleared.status_code == 200 and cleared.json()["media_attachments"] == []


async def test_non_public_posts_need_a_token(world):
    client, inst, headers, union, rail, bob, bobs = world
    direct = await Post.create(ap_id=f"{bob.uri}/notes/9", author_uri=bob.uri, content="<p>psst</p>",
                               content_map={"en": "<p>psst</p>"}, language="en", public=False, published=inst.now())
    assert (await client.get(f"/api/v1/statuses/{direct.sid}")).status_code == 404
    shown = await client.get(f"/api/v1/statuses/{direct.sid}", headers=headers)
    assert shown.status_code == 200 and shown.json()["visibility"] == "direct"


async def test_boost_and_favourite_set_the_flags_and_counts(world):
    client, inst, headers, union, rail, bob, bobs = world
    boosted = await client.post(f"/api/v1/statuses/{bobs.sid}/reblog", headers=headers)
    assert boosted.status_code == 200, boosted.text
    wrapper = boosted.json()
    row = await Interaction.get(kind="announce", local=True)
    assert wrapper["id"] == str(row.sid) and wrapper["account"]["username"] == "sud_rail"
    assert wrapper["reblog"]["id"] == str(bobs.sid) and wrapper["reblog"]["reblogged"] is True
    assert wrapper["reblog"]["reblogs_count"] == 1 and wrapper["reblogged"] is True
    announce = await Activity.get(type="Announce")
    assert announce.payload["object"] == bobs.ap_id
    assert await deliveries_of(announce.ap_id) == {rail.delivery_inbox, bob.delivery_inbox}
    again = await client.post(f"/api/v1/statuses/{row.sid}/reblog", headers=headers)  # the wrapper's id
    assert again.status_code == 200 and again.json()["id"] == wrapper["id"]
    assert await Interaction.filter(kind="announce").count() == 1
    shown = (await client.get(f"/api/v1/statuses/{row.sid}", headers=headers)).json()
    assert shown["id"] == wrapper["id"] and shown["reblog"]["id"] == str(bobs.sid)

    liked = await client.post(f"/api/v1/statuses/{bobs.sid}/favourite", headers=headers)
    assert liked.status_code == 200 and liked.json()["id"] == str(bobs.sid)
    assert liked.json()["favourited"] is True and liked.json()["favourites_count"] == 1
    like = await Activity.get(type="Like")
    assert like.payload["object"] == bobs.ap_id and await deliveries_of(like.ap_id) == {bob.delivery_inbox}

    by = await client.get(f"/api/v1/statuses/{bobs.sid}/reblogged_by", headers=headers)
    assert [a["username"] for a in by.json()] == ["sud_rail"] and 'rel="next"' in by.headers["link"]
    fav_by = await client.get(f"/api/v1/statuses/{bobs.sid}/favourited_by")
    assert [a["username"] for a in fav_by.json()] == ["sud_rail"]

    unliked = await client.post(f"/api/v1/statuses/{bobs.sid}/unfavourite", headers=headers)
    assert unliked.json()["favourited"] is False and unliked.json()["favourites_count"] == 0
    unboosted = await client.post(f"/api/v1/statuses/{bobs.sid}/unreblog", headers=headers)
    assert unboosted.json()["reblogged"] is False and unboosted.json()["reblogs_count"] == 0
    assert await Interaction.all().count() == 0
    undone = [a.payload["object"]["type"] for a in await Activity.filter(type="Undo")]
    assert sorted(undone) == ["Announce", "Like"]


async def test_boost_refusals(world, token):
    client, inst, headers, union, rail, bob, bobs = world
    direct = await Post.create(ap_id=f"{bob.uri}/notes/9", author_uri=bob.uri, content="<p>psst</p>",
                               content_map={"en": "<p>psst</p>"}, language="en", public=False, published=inst.now())
    refused = await client.post(f"/api/v1/statuses/{direct.sid}/reblog", headers=headers)
    assert refused.status_code == 422 and "public" in refused.json()["error"]
    assert (await client.post("/api/v1/statuses/777/reblog", headers=headers)).status_code == 404
    read = await token("read")
    assert (await client.post(f"/api/v1/statuses/{bobs.sid}/favourite", headers=read)).status_code == 403
    bookmark = await client.post(f"/api/v1/statuses/{bobs.sid}/bookmark", headers=headers)
    assert bookmark.status_code == 422 and "not supported" in bookmark.json()["error"]
    assert await Interaction.all().count() == 0 and await Activity.all().count() == 0


async def test_deleting_our_boost_withdraws_it(world):
    client, inst, headers, union, rail, bob, bobs = world
    wrapper = (await client.post(f"/api/v1/statuses/{bobs.sid}/reblog", headers=headers)).json()
    deleted = await client.delete(f"/api/v1/statuses/{wrapper['id']}", headers=headers)
    assert deleted.status_code == 200 and deleted.json()["id"] == wrapper["id"]
    assert not await Interaction.exists() and await Post.filter(id=bobs.id).exists()
    assert (await Activity.get(type="Undo")).payload["object"]["type"] == "Announce"
