"""GET/POST /api/v1/notifications…: the rows the inbox records (content.notify), as Mastodon
Notification entities; dismiss and clear; unread counts shared with the admin page."""
from __future__ import annotations

import pytest

from actors.local import get_by_username
from content import notify
from content.models import Interaction, Notification, Post
from outbox import statements
from tests.web.api.paging import links, walk
from web.api.common import local_account_id


@pytest.fixture
async def world(api, remote_actor):
    """Our statement; rail follows us, likes it, replies to it; bob boosts it and follows; a meeting
    registration (not a Mastodon type) and a like from an actor we never resolved."""
    client, inst, headers = api
    union = await get_by_username("sud_rail")
    rail = await remote_actor("rail", "Organization", inst.now())
    bob = await remote_actor("bob", "Person", inst.now())
    ours = await statements.publish(inst, union, {"en": "Strike on Monday"})
    reply = await Post.create(ap_id=f"{rail.uri}/notes/1", author_uri=rail.uri, content="<p>Solidarity!</p>",
                              content_map={"en": "<p>Solidarity!</p>"}, language="en", in_reply_to=ours.ap_id,
                              published=inst.now())
    await Interaction.create(kind="like", activity_id=f"{rail.uri}/likes/1", actor_uri=rail.uri,
                             object_uri=ours.ap_id, created_at=inst.now())
    made = []

    async def record(kind: str, actor, n: int, obj: str = "") -> Notification:
        row = await notify.record(kind, actor_uri=actor if isinstance(actor, str) else actor.uri, object_uri=obj,
                                  activity_id=f"https://x.example/activities/{n}", now=inst.now())
        made.append(row)
        return row

    await record("follow", rail, 1)
    await record("favourite", rail, 2, ours.ap_id)
    await record("registration", rail, 3, ours.ap_id)
    await record("reply", rail, 4, reply.ap_id)
    await record("reblog", bob, 5, ours.ap_id)
    await record("favourite", "https://unknown.example/actors/x", 6, ours.ap_id)
    await record("follow", bob, 7)
    return client, inst, headers, union, rail, bob, ours, reply, made


async def test_list_shows_mastodon_types_newest_first(world):
    client, inst, headers, union, rail, bob, ours, reply, made = world
    response = await client.get("/api/v1/notifications", headers=headers)
    assert response.status_code == 200
    shown = response.json()
    assert [(n["id"], n["type"]) for n in shown] == [
        (str(made[6].id), "follow"), (str(made[4].id), "reblog"), (str(made[3].id), "mention"),
        (str(made[1].id), "favourite"), (str(made[0].id), "follow")]
    assert shown[0]["account"]["acct"] == "bob@bob.example" and "status" not in shown[0]
    assert shown[1]["status"]["id"] == str(ours.sid) and shown[1]["status"]["favourites_count"] == 1
    assert shown[2]["status"]["id"] == str(reply.sid) and shown[2]["status"]["in_reply_to_id"] == str(ours.sid)
    assert links(response)["next"].endswith(f"max_id={made[0].id}")


async def test_filters_by_type_and_account(world):
    client, inst, headers, union, rail, bob, ours, reply, made = world

    async def kinds(query: str) -> list[str]:
        response = await client.get(f"/api/v1/notifications?{query}", headers=headers)
        assert response.status_code == 200, response.text
        return [n["type"] for n in response.json()]

    assert await kinds("types[]=mention&types[]=favourite") == ["mention", "favourite"]
    assert await kinds("exclude_types[]=follow&exclude_types[]=reblog") == ["mention", "favourite"]
    assert await kinds(f"account_id={rail.id}") == ["mention", "favourite", "follow"]
    assert await kinds("types[]=poll") == []
    assert (await client.get("/api/v1/notifications?account_id=999999", headers=headers)).status_code == 404
    assert (await client.get("/api/v1/notifications?account_id=abc", headers=headers)).status_code == 404
    assert await kinds(f"account_id={local_account_id(union)}") == []


async def test_paging_sees_every_notification_once(world):
    client, inst, headers, union, rail, bob, ours, reply, made = world
    expected = [n["id"] for n in (await client.get("/api/v1/notifications", headers=headers)).json()]
    pages = await walk(client, "/api/v1/notifications?limit=2", headers)
    assert [n["id"] for p in pages for n in p] == expected
    since = (await client.get(f"/api/v1/notifications?since_id={made[0].id}&limit=1", headers=headers)).json()
    assert [n["id"] for n in since] == [str(made[6].id)]
    above = (await client.get(f"/api/v1/notifications?min_id={made[0].id}&limit=2", headers=headers)).json()
    assert [n["id"] for n in above] == [str(made[3].id), str(made[1].id)]
    for bad in ("max_id=x", "limit=many", "min_id=-3"):
        response = await client.get(f"/api/v1/notifications?{bad}", headers=headers)
        assert response.status_code == 422 and "error" in response.json()


async def test_get_one(world):
    client, inst, headers, union, rail, bob, ours, reply, made = world
    response = await client.get(f"/api/v1/notifications/{made[1].id}", headers=headers)
    assert response.status_code == 200 and response.json()["type"] == "favourite"
    for missing in (made[2].id, made[5].id, 10**6, 10**20):  # registration, unknown actor, no row, too big
        response = await client.get(f"/api/v1/notifications/{missing}", headers=headers)
        assert response.status_code == 404 and response.json() == {"error": "Record not found"}
    assert (await client.get("/api/v1/notifications/abc", headers=headers)).status_code == 404


async def test_dismiss_and_clear_keep_what_the_api_does_not_show(world, token):
    client, inst, headers, union, rail, bob, ours, reply, made = world
    reader = await token("read")
    response = await client.post(f"/api/v1/notifications/{made[1].id}/dismiss", headers=reader)
    assert response.status_code == 403 and await Notification.filter(id=made[1].id).exists()
    assert (await client.post(f"/api/v1/notifications/{made[1].id}/dismiss")).status_code == 401
    response = await client.post(f"/api/v1/notifications/{made[1].id}/dismiss", headers=headers)
    assert response.status_code == 200 and response.json() == {}
    listed = [n["id"] for n in (await client.get("/api/v1/notifications", headers=headers)).json()]
    assert str(made[1].id) not in listed and len(listed) == 4
    response = await client.post(f"/api/v1/notifications/{made[2].id}/dismiss", headers=headers)
    assert response.status_code == 404, "a registration is not the API's to dismiss"
    assert (await client.post("/api/v1/notifications/clear", headers=reader)).status_code == 403
    response = await client.post("/api/v1/notifications/clear", headers=headers)
    assert response.status_code == 200 and response.json() == {}
    assert (await client.get("/api/v1/notifications", headers=headers)).json() == []
    assert await Notification.all().values_list("kind", flat=True) == ["registration"]


async def test_unread_count_follows_the_marker_and_the_admin_page(world, admin):
    client, inst, headers, union, rail, bob, ours, reply, made = world

    async def unread(query: str = "") -> int:
        response = await client.get(f"/api/v1/notifications/unread_count{query}", headers=headers)
        assert response.status_code == 200
        return response.json()["count"]

    assert await unread() == 6, "every shown type, also a row whose actor is unknown"
    assert await unread("?limit=2") == 2
    assert await unread("?types[]=follow") == 2
    response = await client.post("/api/v1/markers", headers=headers,
                                 data={"notifications[last_read_id]": str(made[3].id)})
    assert response.status_code == 200
    assert await unread() == 3
    assert await Notification.filter(id=made[1].id, read=True).exists(), "read in an app: read on the admin page"
    assert not await Notification.filter(id=made[2].id, read=True).exists(), "a registration is not shown in apps"
    assert not await Notification.filter(id=made[6].id, read=True).exists()
    page = await client.get("/admin/notifications")
    assert page.status_code == 200 and page.text.count("<strong>New:</strong>") == 4
    assert await unread() == 0, "seen on the admin page: read in apps too"
