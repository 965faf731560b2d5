"""The admin pages over HTTP: composer, statements, delivery status, follows, notifications."""
from __future__ import annotations

import html
import re
from datetime import datetime, timezone

import pytest

from actors.models import Follower, Following, FollowState, RemoteActor
from content.models import Notification, Post, Tombstone
from federation.delivery import enqueue
from federation.models import Delivery, DeliveryState
from outbox import statements
from outbox.models import Activity
from tests.dbutil import backend

ON_POSTGRES = backend() == "postgres"
CSRF = re.compile(r'<input type="hidden" name="csrf" value="([^"]+)">')


async def remote(name: str, domain: str) -> RemoteActor:
    return await RemoteActor.create(uri=f"https://{domain}/users/{name}", domain=domain, username=name,
                                    name=name.title(), url=f"https://{domain}/@{name}",
                                    inbox=f"https://{domain}/users/{name}/inbox", shared_inbox=f"https://{domain}/inbox",
                                    fetched_at=datetime.now(timezone.utc))


def three_languages(token: str, action: str = "publish") -> dict[str, str]:
    return {"csrf": token, "action": action, "lang0": "en", "text0": "Strike on Monday! #rail",
            "lang1": "fr", "text1": "Grève lundi !", "lang2": "es", "text2": "¡Huelga el lunes!", "summary": ""}


def sid_of(inst, post: Post) -> str:
    return post.ap_id.rsplit("/", 1)[1]


async def test_compose_in_three_languages_publishes(admin):
    client, inst, union, token = admin
    form = await client.get("/admin/compose")
    assert form.status_code == 200 and form.text.count("<textarea") == 3
    response = await client.post("/admin/compose", data=three_languages(token))
    assert response.status_code == 303
    post = await Post.get(local=True)
    assert set(post.content_map) == {"en", "fr", "es"} and post.language == "en"
    assert "Grève lundi" in post.content_map["fr"]
    assert response.headers["location"] == f"/admin/statements/{sid_of(inst, post)}"
    create = await Activity.get(ap_id=f"{post.ap_id}/activity")
    assert create.type == "Create" and create.payload["object"]["contentMap"]["es"] == post.content_map["es"]
    page = await client.get(response.headers["location"])
    assert page.status_code == 200 and 'lang="en"' in page.text and "Strike on Monday" in page.text


async def test_compose_keeps_the_language_order(admin):
    client, _, _, token = admin
    data = three_languages(token)
    data.update(lang0="fr", text0="Grève", lang1="es", text1="Huelga", lang2="en", text2="Strike")
    assert (await client.post("/admin/compose", data=data)).status_code == 303
    post = await Post.get(local=True)
    assert post.language == "fr"
    assert list(post.content_in_order()) == ["fr", "es", "en"]


async def test_editing_keeps_the_primary_language_first(admin):
    client, inst, union, token = admin
    post = await statements.publish(inst, union, {"fr": "Grève", "en": "Strike"})
    url = f"/admin/statements/{sid_of(inst, post)}/edit"
    form = (await client.get(url)).text
    assert form.index('value="fr"') < form.index('value="en"'), "the primary language is the first row"
    data = {"csrf": token, "lang0": "fr", "text0": "Grève générale", "lang1": "en", "text1": "General strike"}
    assert (await client.post(url, data=data)).status_code == 303
    edited = await Post.get(ap_id=post.ap_id)
    assert edited.language == "fr" and edited.content_map["fr"] == "<p>Grève générale</p>"


async def test_preview_shows_each_language_and_publishes_nothing(admin):
    client, _, _, token = admin
    data = three_languages(token, "preview")
    data["summary"] = "Strike news"
    response = await client.post("/admin/compose", data=data)
    assert response.status_code == 200
    assert '<article lang="fr" dir="ltr">' in response.text and "<p>Grève lundi !</p>" in response.text
    assert 'class="mention hashtag"' in response.text, "hashtags rendered as they will be"
    assert 'value="Strike news"' in response.text and ">¡Huelga el lunes!</textarea>" in response.text
    assert not await Post.exists() and not await Activity.exists()


async def test_content_warning_is_published(admin):
    client, _, _, token = admin
    data = {"csrf": token, "action": "publish", "lang0": "", "text0": "", "lang1": "de", "text1": "Streik!",
            "summary": "Arbeitskampf"}
    assert (await client.post("/admin/compose", data=data)).status_code == 303
    post = await Post.get(local=True)
    assert post.summary == "Arbeitskampf" and post.sensitive and list(post.content_map) == ["de"]


@pytest.mark.parametrize(("fields", "message"), [
    ({"lang0": "english!", "text0": "Strike on Monday"}, "not a language code: &#39;english!&#39;"),
    ({"lang0": "en", "text0": "   "}, "a statement needs some text"),
    ({"lang0": "en", "text0": "a", "lang1": "EN", "text1": "b"}, "the language en is given twice"),
])
async def test_bad_input_is_400_keeps_the_input_and_stores_nothing(admin, fields, message):
    client, _, _, token = admin
    response = await client.post("/admin/compose", data={"csrf": token, "action": "publish", **fields})
    assert response.status_code == 400
    assert message in response.text
    for key, value in fields.items():
        if key.startswith("lang") and value:
            assert f'value="{html.escape(value)}"' in response.text
        if key.startswith("text") and value.strip():
            assert f">{value}</textarea>" in response.text
    assert not await Post.exists() and not await Activity.exists()


async def test_post_without_csrf_is_refused_and_stores_nothing(admin):
    client, _, _, token = admin
    data = three_languages(token)
    del data["csrf"]
    assert (await client.post("/admin/compose", data=data)).status_code == 403
    assert (await client.post("/admin/compose", data={**data, "csrf": "forged"})).status_code == 403
    assert not await Post.exists() and not await Activity.exists()


async def test_statements_list_edit_and_delete(admin):
    client, inst, union, token = admin
    older = await statements.publish(inst, union, {"en": "First"})
    inst.clock.advance(minutes=1)
    newer = await statements.publish(inst, union, {"en": "Second", "fr": "Deuxième"})
    listing = await client.get("/admin/statements")
    assert listing.status_code == 200
    assert listing.text.index("Second") < listing.text.index("First"), "newest first"
    assert f'action="/admin/statements/{sid_of(inst, older)}/delete"' in listing.text

    edit_url = f"/admin/statements/{sid_of(inst, newer)}/edit"
    form = await client.get(edit_url)
    assert form.status_code == 200 and ">Deuxième</textarea>" in form.text and 'value="fr"' in form.text
    response = await client.post(edit_url, data={"csrf": token, "action": "publish", "lang0": "en",
                                                 "text0": "Second, corrected", "lang1": "fr", "text1": "Deuxième"})
    assert response.status_code == 303
    post = await Post.get(ap_id=newer.ap_id)
    assert post.content_map["en"] == "<p>Second, corrected</p>" and post.updated is not None
    assert await Activity.filter(object_uri=newer.ap_id, type="Update").count() == 1

    refused = await client.post(f"/admin/statements/{sid_of(inst, older)}/delete", data={})
    assert refused.status_code == 403 and await Post.exists(ap_id=older.ap_id)
    deleted = await client.post(f"/admin/statements/{sid_of(inst, older)}/delete", data={"csrf": token})
    assert deleted.status_code == 303 and deleted.headers["location"] == "/admin/statements"
    assert not await Post.exists(ap_id=older.ap_id) and await Tombstone.exists(ap_id=older.ap_id)
    assert await Activity.filter(object_uri=older.ap_id, type="Delete").exists()
    assert "First" not in (await client.get("/admin/statements")).text
    assert (await client.get(f"/admin/statements/{sid_of(inst, older)}")).status_code == 404


async def test_edit_with_a_bad_language_keeps_the_text(admin):
    client, inst, union, token = admin
    post = await statements.publish(inst, union, {"en": "Original"})
    response = await client.post(f"/admin/statements/{sid_of(inst, post)}/edit",
                                 data={"csrf": token, "lang0": "??", "text0": "Changed text"})
    assert response.status_code == 400 and ">Changed text</textarea>" in response.text
    assert (await Post.get(ap_id=post.ap_id)).content_map == {"en": "<p>Original</p>"}


async def test_delivery_status_shows_delivered_pending_and_failed_hosts(admin):
    client, inst, union, _ = admin
    post = await statements.publish(inst, union, {"en": "To everyone"})
    inboxes = ["https://up.example/inbox", "https://slow.example/inbox", "https://gone.example/inbox"]
    await enqueue(f"{post.ap_id}/activity", b"{}", inst.key_id_of(union), inboxes, now=inst.now())
    await Delivery.filter(host="up.example").update(state=DeliveryState.DELIVERED, attempts=1, last_status=202,
                                                    finished_at=inst.now())
    await Delivery.filter(host="slow.example").update(attempts=2, last_error="connection refused")
    await Delivery.filter(host="gone.example").update(state=DeliveryState.FAILED, attempts=1, last_status=410,
                                                      last_error="410 Gone", finished_at=inst.now())
    page = await client.get(f"/admin/statements/{sid_of(inst, post)}")
    assert page.status_code == 200
    sections = {name: re.search(rf'<section id="{name}">(.*?)</section>', page.text, re.S).group(1)
                for name in ("delivered", "pending", "failed")}
    assert "up.example" in sections["delivered"] and "slow.example" not in sections["delivered"]
    assert "slow.example" in sections["pending"] and "connection refused" in sections["pending"]
    assert inst.now().strftime("%Y-%m-%d %H:%M UTC") in sections["pending"], "the next try is shown"
    assert "gone.example" in sections["failed"] and "HTTP 410: 410 Gone" in sections["failed"]
    assert "up.example" not in sections["failed"] + sections["pending"]


async def test_follows_page_lists_relationships_and_approves_a_request(admin):
    client, inst, union, token = admin
    union.manually_approves_followers = True
    await union.save()
    pending, accepted = await remote("pending", "a.example"), await remote("accepted", "b.example")
    asker, member = await remote("asker", "c.example"), await remote("member", "d.example")
    await Following.create(local=union, remote=pending, follow_id="https://ours.example/activities/f1",
                           state=FollowState.PENDING, created_at=inst.now())
    await Following.create(local=union, remote=accepted, follow_id="https://ours.example/activities/f2",
                           state=FollowState.ACCEPTED, created_at=inst.now())
    request = await Follower.create(local=union, remote=asker, follow_id="https://c.example/follows/1",
                                    state=FollowState.PENDING, created_at=inst.now())
    await Follower.create(local=union, remote=member, follow_id="https://d.example/follows/1",
                          state=FollowState.ACCEPTED, created_at=inst.now())
    page = await client.get("/admin/follows")
    assert page.status_code == 200
    following = re.findall(r'<li class="following">(.*?)</li>', page.text, re.S)
    assert any("@pending@a.example" in li and "pending" in li.split("—")[1] for li in following)
    assert any("@accepted@b.example" in li and "accepted" in li.split("—")[1] for li in following)
    assert re.search(r'<li class="follower">.*@member@d.example', page.text)
    assert re.search(r'<li class="request">.*@asker@c.example', page.text)
    assert f'action="/admin/followers/{request.id}/approve"' in page.text

    assert (await client.post(f"/admin/followers/{request.id}/approve", data={})).status_code == 403
    response = await client.post(f"/admin/followers/{request.id}/approve", data={"csrf": token})
    assert response.status_code == 303
    assert (await Follower.get(id=request.id)).state == FollowState.ACCEPTED
    accept = await Activity.get(type="Accept")
    assert accept.payload["object"]["id"] == "https://c.example/follows/1"
    assert await Delivery.filter(envelope__activity_id=accept.ap_id, inbox=asker.inbox).exists()
    after = await client.get("/admin/follows?done=approved")
    assert "Request approved." in after.text and 'class="request"' not in after.text


async def test_follow_with_a_bad_handle_shows_the_error(admin):
    client, _, _, token = admin
    response = await client.post("/admin/follows", data={"csrf": token, "handle": "not a handle"})
    assert response.status_code == 400
    assert 'role="alert"' in response.text and 'value="not a handle"' in response.text
    assert not await Following.exists() and not await Activity.exists()


async def test_notifications_in_words_and_marked_read(admin):
    client, inst, _, _ = admin
    actor = await remote("cgt", "cgt.example")
    await Notification.create(kind="follow", actor_uri=actor.uri, activity_id="https://cgt.example/a/1",
                              created_at=inst.now())
    inst.clock.advance(minutes=1)
    await Notification.create(kind="reply", actor_uri=actor.uri, object_uri="https://cgt.example/notes/9",
                              activity_id="https://cgt.example/a/2", created_at=inst.now())
    home = await client.get("/admin")
    assert "(2 new)" in home.text
    page = await client.get("/admin/notifications")
    assert page.status_code == 200
    items = re.findall(r'<li class="notification new">(.*?)</li>', page.text, re.S)
    assert len(items) == 2
    assert "@cgt@cgt.example</a> replied" in items[0] and 'href="https://cgt.example/notes/9"' in items[0]
    assert "followed you" in items[1]
    assert not await Notification.filter(read=False).exists()
    again = await client.get("/admin/notifications")
    assert 'class="notification new"' not in again.text and "replied" in again.text


@pytest.mark.parametrize("path", ["/admin", "/admin/compose", "/admin/statements", "/admin/statements/x",
                                  "/admin/statements/x/edit", "/admin/follows", "/admin/notifications"])
async def test_every_admin_page_needs_login(site, path):
    client, _ = site
    response = await client.get(path)
    assert response.status_code == 303 and response.headers["location"].startswith("/login?next=")


async def test_home_links_every_admin_page(admin):
    client, *_ = admin
    home = (await client.get("/admin")).text
    for path in ("/admin/compose", "/admin/statements", "/admin/follows", "/admin/notifications"):
        assert f'href="{path}"' in home
        assert (await client.get(path)).status_code == 200
