"""What a broken or hostile client sends, and the answers that keep the API whole: ids that only
look like digits, cursors beyond a 32-bit column (PostgreSQL refuses them in the query), NUL
characters, oversized bodies, the Host header in Link, and meetings kept out of status edits."""
from __future__ import annotations

import json

import pytest

from actors.local import get_by_username
from actors.models import Follower, Following, FollowState, Marker
from content.models import Meeting, Post, Registration
from outbox import statements
from outbox.models import Activity
from tests.web.api.paging import links
from tests.web.conftest import make_meeting  # noqa: F401  (fixture)
from web.api.common import INT_MAX, LOCAL_ACCOUNT_BASE, MAX_BODY, parse_id


@pytest.fixture
async def world(api, remote_actor):
    """The union, a remote union `rail` that follows it, and `bob` who asked to."""
    client, inst, headers = api
    union = await get_by_username("sud_rail")
    rail = await remote_actor("rail", "Organization", inst.now())
    bob = await remote_actor("bob", "Person", inst.now())
    await Follower.create(local=union, remote=rail, follow_id=f"{rail.uri}#follows/1", state=FollowState.ACCEPTED,
                          created_at=inst.now())
    await Follower.create(local=union, remote=bob, follow_id=f"{bob.uri}#follows/1", state=FollowState.PENDING,
                          created_at=inst.now())
    return client, inst, headers, union, rail, bob


def test_one_id_parser_takes_ascii_digits_that_fit_the_column():
    assert parse_id("123") == 123 and parse_id(42) == 42 and parse_id(str(2**63 - 1)) == 2**63 - 1
    for value in ("²", "١٢", "12²", "", "-1", "1e3", "+5", str(2**63), "1" * 20, True, None, 1.5, ["1"]):
        assert parse_id(value) is None, value
    assert parse_id(str(INT_MAX), INT_MAX) == INT_MAX and parse_id(str(INT_MAX + 1), INT_MAX) is None


async def test_unicode_digits_are_not_ids(world):
    client, inst, headers, union, rail, bob = world
    shown = await client.get("/api/v1/accounts/relationships?id[]=%C2%B2", headers=headers)
    assert shown.status_code == 200 and shown.json() == []
    assert (await client.get("/api/v1/notifications?account_id=%C2%B2", headers=headers)).status_code == 404
    reply = await client.post("/api/v1/statuses", headers=headers, json={"status": "x", "in_reply_to_id": "²"})
    assert reply.status_code == 404 and "error" in reply.json()
    media = await client.post("/api/v1/statuses", headers=headers, json={"status": "x", "media_ids": ["²"]})
    assert media.status_code == 422 and "not a media id" in media.json()["error"]
    marker = await client.post("/api/v1/markers", headers=headers, json={"home": {"last_read_id": "²"}})
    assert marker.status_code == 422 and "home[last_read_id]" in marker.json()["error"]
    offset = await client.get("/api/v2/search?q=abc&offset=%C2%B2", headers=headers)
    assert offset.status_code == 422
    assert not await Post.filter(local=True).exists() and not await Marker.exists()


async def test_cursors_beyond_32_bit_page_the_32_bit_lists(world):
    client, inst, headers, union, rail, bob = world
    big = 99999999999
    pending = await client.get(f"/api/v1/follow_requests?max_id={big}", headers=headers)
    assert pending.status_code == 200 and [a["id"] for a in pending.json()] == [str(bob.id)]
    assert (await client.get(f"/api/v1/follow_requests?since_id={big}", headers=headers)).json() == []
    assert (await client.get(f"/api/v1/follow_requests?min_id={big}", headers=headers)).json() == []
    followers = f"/api/v1/accounts/{LOCAL_ACCOUNT_BASE + union.id}/followers"
    found = await client.get(f"{followers}?max_id={big}", headers=headers)
    assert found.status_code == 200 and [a["id"] for a in found.json()] == [str(rail.id)]
    assert (await client.get(f"{followers}?min_id={big}", headers=headers)).json() == []
    following = f"/api/v1/accounts/{LOCAL_ACCOUNT_BASE + union.id}/following?since_id={big}"
    assert (await client.get(following, headers=headers)).json() == []
    assert (await client.get(f"/api/v1/notifications?account_id={big}", headers=headers)).status_code == 404
    for path in (f"/api/v1/accounts/{big}", f"/api/v1/accounts/{LOCAL_ACCOUNT_BASE + INT_MAX + 1}",
                 f"/api/v1/accounts/{big}/follow", f"/api/v1/follow_requests/{big}/authorize"):
        method = client.post if path.endswith(("follow", "authorize")) else client.get
        response = await method(path, headers=headers)
        assert response.status_code == 404 and "error" in response.json(), path
    assert await Following.filter(local=union).count() == 0


async def test_nul_characters_are_refused_before_the_database(world):
    client, inst, headers, *_ = world
    made = await client.post("/api/v1/statuses", headers=headers, json={"status": "a\u0000b"})
    assert made.status_code == 422 and made.json() == {"error": "status contains a NUL character"}
    form = await client.post("/api/v1/statuses", headers=headers, data={"status": "ok", "spoiler_text": "a\x00"})
    assert form.status_code == 422 and "spoiler_text" in form.json()["error"]
    listed = await client.post("/api/v1/statuses", headers=headers, json={"status": "ok", "media_ids": ["1\u0000"]})
    assert listed.status_code == 422 and "NUL" in listed.json()["error"]
    nested = await client.patch("/api/v1/accounts/update_credentials", headers=headers,
                                json={"fields_attributes": {"0": {"name": "a\u0000", "value": "b"}}})
    assert nested.status_code == 422 and "NUL" in nested.json()["error"]
    for query in ("q=%00", "q=@a@%00&resolve=true", "q=https://x%00y/&resolve=true"):
        searched = await client.get(f"/api/v2/search?{query}", headers=headers)
        assert searched.status_code == 422 and "NUL" in searched.json()["error"], query
    assert not await Post.filter(local=True).exists()


async def test_bodies_are_held_to_64_kib(world):
    client, inst, headers, *_ = world
    large = json.dumps({"status": "x", "spoiler_text": "y" * MAX_BODY}).encode()
    declared = await client.post("/api/v1/statuses", headers={**headers, "Content-Type": "application/json"},
                                 content=large)
    assert declared.status_code == 413 and "too large" in declared.json()["error"]

    async def chunks():  # no Content-Length: the body is counted as it comes
        for start in range(0, len(large), 8192):
            yield large[start:start + 8192]

    streamed = await client.post("/api/v1/statuses", headers={**headers, "Content-Type": "application/json"},
                                 content=chunks())
    assert "content-length" not in streamed.request.headers
    assert streamed.status_code == 413 and "too large" in streamed.json()["error"]
    form = await client.post("/api/v1/statuses", headers=headers, data={"status": "z" * (MAX_BODY + 1)})
    assert form.status_code == 413
    assert not await Post.filter(local=True).exists()
    fits = await client.post("/api/v1/statuses", headers=headers, json={"status": "x" * 4000})
    assert fits.status_code == 200, fits.text


async def test_link_header_uses_our_address_not_the_host_header(world):
    client, inst, headers, union, *_ = world
    await statements.publish(inst, union, {"en": "Strike on Monday"})
    response = await client.get("/api/v1/timelines/public?limit=1",
                                headers={**headers, "Host": "evil.example", "X-Forwarded-Proto": "http"})
    assert response.status_code == 200 and response.json()
    found = links(response)
    assert set(found) == {"next", "prev"}
    for url in found.values():
        assert url.startswith(inst.urls.base + "/api/v1/timelines/public?"), url
        assert "evil.example" not in url


async def test_meetings_are_not_edited_or_deleted_as_statuses(api, make_meeting):
    client, inst, headers = api
    meeting, _ = await make_meeting(capacity=3)
    await Registration.create(meeting=meeting, via="web", name="Ana", union_name="Dock", email="a@dock.example",
                              delegates=2, state="accepted", created_at=inst.now(), updated_at=inst.now())
    post = await Post.get(id=meeting.post_id)
    before = (post.type, post.summary, post.content)
    message = {"error": "meetings are managed on the Meetings page (/admin/meetings)"}
    for response in (await client.put(f"/api/v1/statuses/{post.sid}", headers=headers,
                                      json={"status": "hijacked", "spoiler_text": "cw"}),
                     await client.delete(f"/api/v1/statuses/{post.sid}", headers=headers),
                     await client.get(f"/api/v1/statuses/{post.sid}/source", headers=headers)):
        assert response.status_code == 422 and response.json() == message
    after = await Post.get(id=meeting.post_id)
    assert (after.type, after.summary, after.content) == before
    assert await Meeting.filter(id=meeting.id).exists()
    assert await Registration.filter(meeting_id=meeting.id).count() == 1
    assert not await Activity.filter(type__in=["Update", "Delete"]).exists()
    assert (await client.get(f"/api/v1/statuses/{post.sid}", headers=headers)).status_code == 200


async def test_a_malformed_follow_body_sends_nothing(world, remote_actor):
    client, inst, headers, union, *_ = world
    cgt = await remote_actor("cgt", "Organization", inst.now())
    refused = await client.post(f"/api/v1/accounts/{cgt.id}/follow",
                                headers={**headers, "Content-Type": "application/json"}, content=b"{not json")
    assert refused.status_code == 422
    assert not await Following.filter(remote=cgt).exists() and not await Activity.filter(type="Follow").exists()
    sent = await client.post(f"/api/v1/accounts/{cgt.id}/follow", headers=headers, json={"notify": True})
    assert sent.status_code == 200 and sent.json()["requested"] is True and sent.json()["notifying"] is True
    assert await Activity.filter(type="Follow").count() == 1


async def test_editing_another_language_keeps_the_primary(world):
    client, inst, headers, union, *_ = world
    post = await statements.publish(inst, union, {"en": "Strike on Monday", "fr": "Grève lundi"})
    fr = await client.put(f"/api/v1/statuses/{post.sid}", headers=headers,
                          json={"status": "Grève mardi", "language": "fr"})
    assert fr.status_code == 200, fr.text
    post = await Post.get(id=post.id)
    assert post.language == "en" and list(post.content_in_order()) == ["en", "fr"]
    assert "Monday" in post.content_map["en"] and "mardi" in post.content_map["fr"]
    de = await client.put(f"/api/v1/statuses/{post.sid}", headers=headers,
                          json={"status": "Streik am Montag", "language": "de"})
    assert de.status_code == 200, de.text
    post = await Post.get(id=post.id)
    assert list(post.content_in_order()) == ["en", "fr", "de"] and "Streik" in post.content_map["de"]
    assert "Monday" in post.content_map["en"] and "mardi" in post.content_map["fr"]


async def test_sensitive_is_what_the_spoiler_makes_it(world):
    """A statement is sensitive when it carries a content warning; media cannot be hidden alone,
    so `sensitive` without one is refused instead of dropped without a word."""
    client, inst, headers, *_ = world
    alone = await client.post("/api/v1/statuses", headers=headers, json={"status": "x", "sensitive": True})
    assert alone.status_code == 422 and "spoiler_text" in alone.json()["error"]
    assert not await Post.filter(local=True).exists()
    warned = await client.post("/api/v1/statuses", headers=headers,
                               json={"status": "x", "sensitive": True, "spoiler_text": "cw"})
    assert warned.status_code == 200 and warned.json()["sensitive"] is True
    plain = await client.post("/api/v1/statuses", headers=headers, json={"status": "y", "sensitive": False})
    assert plain.status_code == 200 and plain.json()["sensitive"] is False
    kept = await client.put(f"/api/v1/statuses/{warned.json()['id']}", headers=headers,
                            json={"status": "x2", "sensitive": True})
    assert kept.status_code == 200 and kept.json()["sensitive"] is True  # the warning it has stays


async def test_unresolved_authors_get_stable_ids_of_their_own(api):
    from content.models import Post

    client, inst, headers = api
    ids = []
    for n, author in enumerate(("https://a.example/users/x", "https://b.example/users/y", "https://a.example/users/x")):
        post = await Post.create(ap_id=f"{author}/notes/{n}", author_uri=author, content="<p>hi</p>",
                                 content_map={"en": "<p>hi</p>"}, language="en", public=True, published=inst.now())
        shown = (await client.get(f"/api/v1/statuses/{post.sid}", headers=headers)).json()
        ids.append(shown["account"]["id"])
    assert ids[0] == ids[2] != ids[1] and ids[0].isdigit() and int(ids[0]) < 2**63
    assert (await client.get(f"/api/v1/accounts/{ids[0]}", headers=headers)).status_code == 404
