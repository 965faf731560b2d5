"""Preferences, markers, favourites, the default pictures and the collections answered empty."""
from __future__ import annotations

import io

from PIL import Image

from actors.local import get_by_username
from actors.models import Marker
from content.models import Interaction, Post
from outbox import interactions
from tests.web.api.paging import links, walk


async def test_preferences(api, token):
    client, inst, headers = api
    response = await client.get("/api/v1/preferences", headers=headers)
    assert response.status_code == 200
    assert response.json()["posting:default:visibility"] == "public"
    assert response.json()["reading:expand:spoilers"] is False
    assert (await client.get("/api/v1/preferences")).status_code == 401
    assert (await client.get("/api/v1/preferences", headers=await token("write"))).status_code == 403


async def test_markers_are_saved_and_versioned(api, token):
    client, inst, headers = api
    url = "/api/v1/markers?timeline[]=home&timeline[]=notifications"
    assert (await client.get(url, headers=headers)).json() == {}
    response = await client.post("/api/v1/markers", headers=headers, data={"home[last_read_id]": "1234"})
    assert response.status_code == 200
    home = response.json()["home"]
    assert home["last_read_id"] == "1234" and home["version"] == 0 and home["updated_at"].endswith("Z")
    response = await client.post("/api/v1/markers", headers=headers,
                                 json={"home": {"last_read_id": "5678"}, "notifications": {"last_read_id": "9"}})
    assert response.status_code == 200
    saved = response.json()
    assert saved["home"]["last_read_id"] == "5678" and saved["home"]["version"] == 1
    assert saved["notifications"] == {**saved["notifications"], "last_read_id": "9", "version": 0}
    shown = (await client.get(url, headers=headers)).json()
    assert shown == saved
    assert list((await client.get("/api/v1/markers?timeline[]=home", headers=headers)).json()) == ["home"]
    union = await get_by_username("sud_rail")
    assert await Marker.filter(actor=union).count() == 2


async def test_bad_markers_store_nothing(api, token):
    client, inst, headers = api
    for body in ({"home": {"last_read_id": "abc"}}, {"home": {"last_read_id": "9" * 20}}, {},
                 {"home": {"last_read_id": {"id": "1"}}}, {"notifications": {"last_read_id": "-1"}}):
        response = await client.post("/api/v1/markers", headers=headers, json=body)
        assert response.status_code == 422 and "error" in response.json(), body
    response = await client.post("/api/v1/markers", headers={**headers, "Content-Type": "application/json"},
                                 content=b"{not json")
    assert response.status_code == 422
    assert await Marker.all().count() == 0
    response = await client.post("/api/v1/markers", headers=await token("read"), data={"home[last_read_id]": "1"})
    assert response.status_code == 403 and await Marker.all().count() == 0


async def test_favourites_are_the_posts_we_liked_latest_like_first(api, remote_actor):
    client, inst, headers = api
    union = await get_by_username("sud_rail")
    rail = await remote_actor("rail", "Organization", inst.now())
    posts = [await Post.create(ap_id=f"{rail.uri}/notes/{n}", author_uri=rail.uri, content=f"<p>n{n}</p>",
                               content_map={"en": f"<p>n{n}</p>"}, language="en", published=inst.now())
             for n in range(5)]
    # Liked out of order: the like's time, not the post's, orders the list.
    for n in (3, 0, 4, 1):
        await interactions.like(inst, union, posts[n].ap_id)
    await Interaction.create(kind="like", activity_id=f"{rail.uri}/likes/1", actor_uri=rail.uri,
                             object_uri=posts[2].ap_id, created_at=inst.now())  # not ours
    response = await client.get("/api/v1/favourites", headers=headers)
    shown = response.json()
    assert [s["id"] for s in shown] == [str(posts[n].sid) for n in (1, 4, 0, 3)]
    assert all(s["favourited"] for s in shown)
    likes = await Interaction.filter(kind="like", local=True).order_by("-sid")
    assert links(response)["next"].endswith(f"max_id={likes[-1].sid}"), "cursors are the likes' ids"
    pages = await walk(client, "/api/v1/favourites?limit=3", headers)
    assert [s["id"] for p in pages for s in p] == [s["id"] for s in shown]
    await Post.filter(id=posts[4].id).update(hidden=True)
    assert len((await client.get("/api/v1/favourites", headers=headers)).json()) == 3
    assert (await client.get("/api/v1/favourites")).status_code == 401


async def test_collections_we_do_not_keep_are_empty(api):
    client, inst, headers = api
    for path in ("/api/v1/lists", "/api/v2/filters", "/api/v1/filters", "/api/v1/followed_tags",
                 "/api/v1/announcements", "/api/v1/conversations", "/api/v1/bookmarks", "/api/v1/blocks",
                 "/api/v1/mutes", "/api/v1/domain_blocks", "/api/v1/trends/tags", "/api/v1/trends/statuses",
                 "/api/v1/trends/links", "/api/v1/suggestions", "/api/v2/suggestions"):
        response = await client.get(path, headers=headers)
        assert response.status_code == 200 and response.json() == [], path
    assert (await client.get("/api/v1/lists")).status_code == 401
    assert (await client.get("/api/v1/trends/tags")).status_code == 200


async def test_features_we_lack_are_404(api):
    client, inst, headers = api
    for path in ("/api/v1/push/subscription", "/api/v2/notifications/policy"):
        response = await client.get(path, headers=headers)
        assert response.status_code == 404 and response.json() == {"error": "Record not found"}, path


async def test_default_pictures(site):
    client, inst = site
    for path, size in (("/api/avatar.png", (120, 120)), ("/api/header.png", (600, 200))):
        response = await client.get(path)
        assert response.status_code == 200 and response.headers["content-type"] == "image/png"
        assert "max-age=31536000" in response.headers["cache-control"]
        image = Image.open(io.BytesIO(response.content))
        assert image.format == "PNG" and image.size == size
        assert len(response.content) < 5000


async def test_odd_input_is_never_a_500(api, remote_actor):
    """Every read endpoint of these modules, with the values a broken or hostile client sends."""
    client, inst, headers = api
    rail = await remote_actor("rail", "Organization", inst.now())
    account = f"/api/v1/accounts/{rail.id}"
    paths = ["/api/v1/timelines/home", "/api/v1/timelines/public", "/api/v1/timelines/tag/a%00b",
             "/api/v1/notifications", "/api/v1/notifications/unread_count", "/api/v1/favourites",
             "/api/v1/markers", "/api/v1/accounts/lookup", "/api/v1/accounts/relationships", account,
             account + "/statuses", account + "/followers", "/api/v1/accounts/familiar_followers",
             "/api/v2/instance", "/api/v1/instance"]
    queries = ["max_id=%00", "limit=-5", "limit=99999999999999999999999", "id[]=%00&id[]=1e3", "acct=%00",
               "types[]=%00&exclude_types[]=", "timeline[]=%00", "tagged=%00&only_media=%00", "account_id=%00",
               "min_id=9223372036854775808", "since_id=18446744073709551615", "local=%FF", "any[]=%00"]
    for path in paths:
        for query in queries:
            response = await client.get(f"{path}?{query}", headers=headers)
            assert response.status_code < 500, (path, query, response.text)
            assert response.headers["content-type"].startswith("application/json"), (path, query)
