"""GET /api/v1/timelines/home, /public and /tag/:hashtag with real rows: our statements and boosts
through outbox/, remote posts and boosts stored as the inbox stores them; paged by Link headers."""
from __future__ import annotations

from datetime import timedelta

import pytest

from actors.local import get_by_username
from actors.models import Following, FollowState, RemoteActor
from content.models import Interaction, Post
from outbox import interactions, statements
from tests.web.api.paging import links, walk
from web.api import timelines


async def note(author: RemoteActor, n: int, text: str, **kw) -> Post:
    """A remote post as the inbox stores it (each gets the next status id)."""
    return await Post.create(ap_id=f"{author.uri}/notes/{n}", author_uri=author.uri, content=f"<p>{text}</p>",
                             content_map={"en": f"<p>{text}</p>"}, language="en", public=kw.pop("public", True),
                             published=kw.pop("published"), **kw)


async def boost_by(actor: RemoteActor, post: Post, n: int, at) -> Interaction:
    return await Interaction.create(kind="announce", activity_id=f"{actor.uri}/boosts/{n}", actor_uri=actor.uri,
                                    object_uri=post.ap_id, created_at=at)


@pytest.fixture
async def world(api, remote_actor):
    """We follow rail (accepted) and asked cgt (pending). In creation order (= status id order):
    rail's note, bob's note, our statement, rail boosts bob's note, a hidden rail note, cgt's note,
    we boost rail's note, rail's reply, our second statement."""
    client, inst, headers = api
    union = await get_by_username("sud_rail")
    now = inst.now()
    rail = await remote_actor("rail", "Organization", now)
    bob = await remote_actor("bob", "Person", now)
    cgt = await remote_actor("cgt", "Organization", now)
    await Following.create(local=union, remote=rail, follow_id="https://ours.example/f/1", state=FollowState.ACCEPTED,
                           created_at=now)
    await Following.create(local=union, remote=cgt, follow_id="https://ours.example/f/2", created_at=now)
    r1 = await note(rail, 1, "Rail strike #Greve", published=now, tags=[{"type": "Hashtag", "name": "#greve"}])
    b1 = await note(bob, 1, "Bob's post", published=now)
    s1 = await statements.publish(inst, union, {"fr": "Grève demain #greve"})
    rb = await boost_by(rail, b1, 1, now)
    await note(rail, 2, "Hidden by us", published=now, hidden=True)
    await note(cgt, 1, "Not accepted yet", published=now)
    ours = await interactions.boost(inst, union, r1.ap_id)
    r3 = await note(rail, 3, "A reply", published=now, in_reply_to=s1.ap_id)
    s2 = await statements.publish(inst, union, {"en": "Second statement"})
    expected = [str(s2.sid), str(r3.sid), str(ours.sid), str(rb.sid), str(s1.sid), str(r1.sid)]
    return client, inst, headers, union, dict(rail=rail, bob=bob, cgt=cgt, r1=r1, b1=b1, s1=s1, s2=s2, r3=r3,
                                              rb=rb, ours=ours), expected


async def test_home_merges_our_posts_followed_posts_and_boosts_newest_first(world):
    client, inst, headers, union, w, expected = world
    response = await client.get("/api/v1/timelines/home", headers=headers)
    assert response.status_code == 200
    shown = response.json()
    assert [s["id"] for s in shown] == expected
    by_id = {s["id"]: s for s in shown}
    boost = by_id[str(w["rb"].sid)]
    assert boost["account"]["acct"] == "rail@rail.example" and boost["reblog"]["id"] == str(w["b1"].sid)
    assert boost["reblog"]["account"]["acct"] == "bob@bob.example"
    mine = by_id[str(w["ours"].sid)]
    assert mine["account"]["username"] == "sud_rail" and mine["reblog"]["id"] == str(w["r1"].sid)
    assert mine["reblogged"] is True and mine["reblog"]["reblogged"] is True
    assert by_id[str(w["r3"].sid)]["in_reply_to_id"] == str(w["s1"].sid)
    assert "Hidden by us" not in response.text and "Not accepted yet" not in response.text
    link = links(response)
    assert link["next"].endswith(f"max_id={expected[-1]}") and link["prev"].endswith(f"min_id={expected[0]}")


async def test_home_pages_by_link_headers_every_item_once(world):
    client, inst, headers, union, w, expected = world
    pages = await walk(client, "/api/v1/timelines/home?limit=2", headers)
    assert [len(p) for p in pages] == [2, 2, 2]
    assert [s["id"] for p in pages for s in p] == expected
    # Back up from the oldest item with min_id: the items just above it, shown newest first.
    response = await client.get(f"/api/v1/timelines/home?min_id={expected[-1]}&limit=2", headers=headers)
    assert [s["id"] for s in response.json()] == expected[-3:-1]
    back = await walk(client, f"/api/v1/timelines/home?min_id={expected[-1]}&limit=2", headers, rel="prev")
    assert [s["id"] for p in reversed(back) for s in p] == expected[:-1]
    # since_id: the newest above it, not the oldest.
    response = await client.get(f"/api/v1/timelines/home?since_id={expected[-1]}&limit=2", headers=headers)
    assert [s["id"] for s in response.json()] == expected[:2]
    response = await client.get(f"/api/v1/timelines/home?max_id={expected[2]}", headers=headers)
    assert [s["id"] for s in response.json()] == expected[3:]
    response = await client.get(f"/api/v1/timelines/home?min_id={expected[0]}", headers=headers)
    assert response.json() == [] and "link" not in response.headers


async def test_home_needs_a_user_token_with_read(world, token):
    client, inst, headers, union, w, expected = world
    assert (await client.get("/api/v1/timelines/home")).status_code == 401
    response = await client.get("/api/v1/timelines/home", headers=await token("write"))
    assert response.status_code == 403 and "error" in response.json()
    assert (await client.get("/api/v1/timelines/home", headers=await token("read:statuses"))).status_code == 200
    assert (await client.get("/api/v1/timelines/home", headers={"Authorization": "Bearer x"})).status_code == 401


@pytest.mark.parametrize("query", ["max_id=abc", "since_id=-1", "min_id=1e5", "limit=ten", "max_id=99999999999999999999",
                                   "local=true&remote=true"])
async def test_bad_parameters_are_4xx(world, query):
    client, inst, headers, union, w, expected = world
    for path in ("/api/v1/timelines/home", "/api/v1/timelines/public", "/api/v1/timelines/tag/greve"):
        if "remote" in query and path.endswith("home"):
            continue
        response = await client.get(f"{path}?{query}", headers=headers)
        assert response.status_code == 422, (path, query, response.text)
        assert "error" in response.json()


async def test_limit_is_capped(world, remote_actor):
    client, inst, headers, union, w, expected = world
    for n in range(45):
        await note(w["rail"], 100 + n, f"n{n}", published=inst.now())
    assert len((await client.get("/api/v1/timelines/home?limit=400", headers=headers)).json()) == 40
    assert len((await client.get("/api/v1/timelines/home", headers=headers)).json()) == 20
    assert len((await client.get("/api/v1/timelines/home?limit=0", headers=headers)).json()) == 1


async def test_public_timeline_without_a_token(world):
    client, inst, headers, union, w, expected = world
    await note(w["bob"], 2, "Followers only", published=inst.now(), public=False)
    response = await client.get("/api/v1/timelines/public")
    assert response.status_code == 200
    ids = [s["id"] for s in response.json()]
    # No replies, no boosts, nothing hidden or followers-only; every author, followed or not.
    cgt_note = await Post.get(ap_id=f"{w['cgt'].uri}/notes/1")
    assert ids == [str(w["s2"].sid), str(cgt_note.sid), str(w["s1"].sid), str(w["b1"].sid), str(w["r1"].sid)]
    assert all(s["reblog"] is None and s["favourited"] is False for s in response.json())
    local = (await client.get("/api/v1/timelines/public?local=true")).json()
    assert [s["id"] for s in local] == [str(w["s2"].sid), str(w["s1"].sid)]
    remote = (await client.get("/api/v1/timelines/public?remote=1", headers=headers)).json()
    assert [s["id"] for s in remote] == [str(cgt_note.sid), str(w["b1"].sid), str(w["r1"].sid)]
    assert remote[-1]["reblogged"] is True, "a token's viewer sees its own boosts"
    pages = await walk(client, "/api/v1/timelines/public?limit=2")
    assert [s["id"] for p in pages for s in p] == ids


async def test_public_only_media(world):
    client, inst, headers, union, w, expected = world
    pictured = await note(w["bob"], 5, "Picket", published=inst.now(),
                          attachments=[{"type": "Document", "mediaType": "image/png",
                                        "url": "https://bob.example/picket.png", "name": "Picket line"}])
    shown = (await client.get("/api/v1/timelines/public?only_media=true")).json()
    assert [s["id"] for s in shown] == [str(pictured.sid)]
    assert shown[0]["media_attachments"][0]["description"] == "Picket line"


async def test_tag_timeline_matches_hashtags_case_insensitively(world):
    client, inst, headers, union, w, expected = world
    await note(w["bob"], 6, "No tag here, just #greve as words", published=inst.now())
    for path in ("/api/v1/timelines/tag/greve", "/api/v1/timelines/tag/GREVE"):
        shown = (await client.get(path)).json()
        assert [s["id"] for s in shown] == [str(w["s1"].sid), str(w["r1"].sid)]
    assert shown[0]["tags"] == [{"name": "greve", "url": inst.urls.tag("greve")}]
    local = (await client.get("/api/v1/timelines/tag/greve?local=true")).json()
    assert [s["id"] for s in local] == [str(w["s1"].sid)]
    assert (await client.get("/api/v1/timelines/tag/nothing")).json() == []
    both = (await client.get("/api/v1/timelines/tag/greve?none[]=other")).json()
    assert len(both) == 2
    assert (await client.get("/api/v1/timelines/tag/greve?all[]=other")).json() == []
    assert (await client.get("/api/v1/timelines/tag/" + "x" * 101)).status_code == 404


async def test_tag_timeline_scan_bound_never_skips_a_post(world, monkeypatch):
    """With a scan bound far below the number of posts, following Link still reaches every tagged post."""
    client, inst, headers, union, w, expected = world
    monkeypatch.setattr(timelines, "SCAN_BATCH", 3)
    monkeypatch.setattr(timelines, "SCAN_MAX", 6)
    tagged = []
    for n in range(30):
        tags = [{"type": "Hashtag", "name": "#solidarity"}] if n % 7 == 0 else []
        post = await note(w["bob"], 200 + n, f"n{n}", published=inst.now(), tags=tags)
        if tags:
            tagged.append(str(post.sid))
    pages = await walk(client, "/api/v1/timelines/tag/solidarity?limit=2", through_empty=True)
    assert [s["id"] for p in pages for s in p] == tagged[::-1]
    first = await client.get("/api/v1/timelines/tag/solidarity?limit=2&min_id=0")
    assert first.json() == [] and links(first), "cut short with nothing found: still a way on"
    back = await walk(client, "/api/v1/timelines/tag/solidarity?limit=2&min_id=0", rel="prev", through_empty=True)
    assert [s["id"] for p in reversed(back) for s in p] == tagged[::-1]


async def test_a_meeting_is_a_status(api, make_meeting):
    client, inst, headers = api
    meeting, mid = await make_meeting()
    shown = (await client.get("/api/v1/timelines/home", headers=headers)).json()
    assert len(shown) == 1
    status = shown[0]
    assert status["id"] == str(meeting.post.sid) and status["account"]["username"] == "sud_rail"
    assert "International meeting of alternative unions" in status["content"]
    assert inst.urls.meeting(mid) in status["content"] and status["spoiler_text"] == ""


async def test_list_timeline_is_not_found(world):
    client, inst, headers, union, w, expected = world
    response = await client.get("/api/v1/timelines/list/1", headers=headers)
    assert response.status_code == 404 and response.json() == {"error": "Record not found"}


async def test_published_time_does_not_reorder(world):
    """Status ids, not `published`, order timelines: a backdated post arriving late is newer."""
    client, inst, headers, union, w, expected = world
    late = await note(w["rail"], 9, "Late arrival", published=inst.now() - timedelta(days=30))
    shown = (await client.get("/api/v1/timelines/home?limit=1", headers=headers)).json()
    assert [s["id"] for s in shown] == [str(late.sid)]
