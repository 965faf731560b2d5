"""Entity shapes as clients parse them (interop notes 6.8 and 6.9), checked field by field
against the specs in tests/web/api/shapes.py."""
from __future__ import annotations

from tests.web.api.shapes import (ACCOUNT, MEDIA, NOTIFICATION, RELATIONSHIP, STATUS, TAG, WRAPPER, array,
                                  assert_shape, boolean, each, get_json, integer, iso, nested, nonempty, obj,
                                  opt, png, text, url)
from tests.web.api.shapes import world  # noqa: F401  (fixture)
from tests.web.conftest import make_meeting  # noqa: F401  (fixture)

async def test_accounts_local_and_remote(world):
    client, inst, headers, union, rail, bob, *_ = world
    me = await get_json(client, "/api/v1/accounts/verify_credentials", headers)
    assert_shape(me, ACCOUNT, "verify_credentials")
    assert me["acct"] == me["username"] == "sud_rail" and me["display_name"] == "SUD-Rail"
    assert_shape(me, {"source": {"privacy": text, "sensitive": boolean, "language": opt(text), "note": text,
                                 "fields": array, "follow_requests_count": integer}}, "CredentialAccount.source")
    assert me["statuses_count"] == 2 and me["following_count"] == 1
    assert_shape(await get_json(client, f"/api/v1/accounts/{me['id']}", headers), ACCOUNT, "own account")
    found = await get_json(client, "/api/v1/accounts/lookup", headers, acct="rail@rail.example")
    assert_shape(found, ACCOUNT, "remote account (lookup)")
    assert found["acct"] == "rail@rail.example" and found["username"] == "rail"
    remote = await get_json(client, f"/api/v1/accounts/{found['id']}", headers)
    assert_shape(remote, ACCOUNT, "remote account")
    assert remote["avatar"] == remote["avatar_static"] and remote["header"], "a default image, never null"


async def test_statuses_local_remote_reply_and_image(world):
    client, inst, headers, union, rail, bob, theirs, ours, reply, answer = world
    shown = {}
    for post in (theirs, ours, reply, answer):
        shown[post.ap_id] = entity = await get_json(client, f"/api/v1/statuses/{post.sid}", headers)
        assert_shape(entity, STATUS, f"status {post.ap_id}")
        assert entity["id"] == str(post.sid) and entity["uri"] == post.ap_id
        assert entity["spoiler_text"] == "" and entity["sensitive"] is False
    mine = shown[ours.ap_id]
    assert mine["account"]["acct"] == "sud_rail" and mine["language"] == "en" and mine["reblogs_count"] == 1
    (image,) = mine["media_attachments"]
    assert image["type"] == "image" and image["description"] == "Picket line" and image["preview_url"]
    assert [t["name"] for t in mine["tags"]] == ["strike"]
    assert mine["replies_count"] == 1
    remote = shown[theirs.ap_id]
    assert remote["account"]["acct"] == "rail@rail.example" and remote["url"] == "https://rail.example/@rail/1"
    assert [t["name"] for t in remote["tags"]] == ["greve"]
    (banner,) = remote["media_attachments"]
    assert banner["type"] == "image" and banner["description"] == "Banner"
    assert "https://rail.example/media/banner.jpg" in (banner["url"], banner["remote_url"])
    assert shown[reply.ap_id]["in_reply_to_id"] == str(theirs.sid)
    assert shown[reply.ap_id]["in_reply_to_account_id"] == remote["account"]["id"]
    assert shown[answer.ap_id]["in_reply_to_id"] == str(ours.sid)
    assert shown[answer.ap_id]["in_reply_to_account_id"] == mine["account"]["id"]
    context = await get_json(client, f"/api/v1/statuses/{ours.sid}/context", headers)
    assert_shape(context, {"ancestors": each(STATUS), "descendants": each(STATUS)}, "context")
    assert [s["id"] for s in context["descendants"]] == [str(answer.sid)]
    assert [m["acct"] for m in mine["mentions"]] == ["rail@rail.example"], "a mentioned account we know is listed"
    assert [m["acct"] for m in shown[reply.ap_id]["mentions"]] == ["rail@rail.example"]


async def test_reblog_wrapper(world):
    client, inst, headers, union, rail, bob, theirs, *_ = world
    response = await client.post(f"/api/v1/statuses/{theirs.sid}/reblog", headers=headers)
    assert response.status_code == 200, response.text
    wrapper = response.json()
    assert_shape(wrapper, WRAPPER, "reblog wrapper")
    assert wrapper["id"] != str(theirs.sid) and wrapper["reblog"]["id"] == str(theirs.sid)
    assert wrapper["account"]["acct"] == "sud_rail" and wrapper["reblog"]["account"]["acct"] == "rail@rail.example"
    assert wrapper["reblogged"] is True and wrapper["reblog"]["reblogged"] is True
    home = await get_json(client, "/api/v1/timelines/home", headers)
    assert home, "the home timeline is not empty"
    for entity in home:
        assert_shape(entity, WRAPPER if entity["reblog"] is not None else STATUS, f"home item {entity.get('id')}")
    assert wrapper["id"] in [e["id"] for e in home]


async def test_notifications(world):
    client, inst, headers, union, rail, bob, theirs, ours, reply, answer = world
    listed = await get_json(client, "/api/v1/notifications", headers)
    assert sorted(n["type"] for n in listed) == ["favourite", "follow", "follow_request", "mention", "reblog"]
    for entity in listed:
        assert_shape(entity, NOTIFICATION, f"{entity.get('type')} notification")
        if entity["type"] in ("follow", "follow_request"):
            assert entity.get("status") is None
        else:
            assert_shape(entity["status"], STATUS, f"status of the {entity['type']} notification")
        expected = "bob@bob.example" if entity["type"] == "follow_request" else "rail@rail.example"
        assert entity["account"]["acct"] == expected
    mention = next(n for n in listed if n["type"] == "mention")
    assert mention["status"]["uri"] == answer.ap_id
    single = await get_json(client, f"/api/v1/notifications/{mention['id']}", headers)
    assert_shape(single, NOTIFICATION, "notification by id")


async def test_relationships(world):
    client, inst, headers, union, rail, bob, *_ = world
    ids = {}
    for acct in ("rail@rail.example", "bob@bob.example"):
        ids[acct] = (await get_json(client, "/api/v1/accounts/lookup", headers, acct=acct))["id"]
    response = await client.get("/api/v1/accounts/relationships", headers=headers,
                                params=[("id[]", ids["rail@rail.example"]), ("id[]", ids["bob@bob.example"])])
    assert response.status_code == 200, response.text
    rail_rel, bob_rel = response.json()
    assert_shape(rail_rel, RELATIONSHIP, "relationship (following)")
    assert_shape(bob_rel, RELATIONSHIP, "relationship (requested)")
    assert rail_rel["id"] == ids["rail@rail.example"] and rail_rel["following"] is True and not rail_rel["requested"]
    assert rail_rel["followed_by"] is True and bob_rel["requested_by"] is True and bob_rel["followed_by"] is False
    assert bob_rel["requested"] is True and bob_rel["following"] is False


def assert_statuses(items, what: str) -> None:
    assert isinstance(items, list), f"{what}: not an array: {items!r}"
    for entity in items:
        assert_shape(entity, WRAPPER if entity.get("reblog") is not None else STATUS, f"{what} item {entity.get('id')}")


async def test_every_list_endpoint_returns_whole_entities(world):
    """Accounts and statuses reached through every list, not only the single-entity endpoints."""
    client, inst, headers, union, rail, bob, theirs, ours, reply, answer = world
    me = (await get_json(client, "/api/v1/accounts/verify_credentials", headers))["id"]
    rail_id = (await get_json(client, "/api/v1/accounts/lookup", headers, acct="rail@rail.example"))["id"]
    assert (await client.post(f"/api/v1/statuses/{theirs.sid}/favourite", headers=headers)).status_code == 200
    assert (await client.post(f"/api/v1/statuses/{theirs.sid}/reblog", headers=headers)).status_code == 200
    accounts = {
        f"/api/v1/accounts/{me}/followers": ["rail@rail.example"],
        f"/api/v1/accounts/{me}/following": ["rail@rail.example"],
        "/api/v1/follow_requests": ["bob@bob.example"],
        f"/api/v1/statuses/{ours.sid}/reblogged_by": ["rail@rail.example"],
        f"/api/v1/statuses/{theirs.sid}/favourited_by": ["sud_rail"],
    }
    for path, expected in accounts.items():
        listed = await get_json(client, path, headers)
        assert isinstance(listed, list), f"{path}: {listed!r}"
        for entity in listed:
            assert_shape(entity, ACCOUNT, f"account from {path}")
        assert [a["acct"] for a in listed] == expected, f"{path}: {[a['acct'] for a in listed]}"
    timelines = {
        f"/api/v1/accounts/{me}/statuses": {ours.ap_id, reply.ap_id},
        f"/api/v1/accounts/{rail_id}/statuses": {theirs.ap_id, answer.ap_id},
        "/api/v1/timelines/home": {ours.ap_id, theirs.ap_id},
        "/api/v1/timelines/public": {ours.ap_id, theirs.ap_id},
        "/api/v1/timelines/tag/strike": {ours.ap_id},
        "/api/v1/favourites": {theirs.ap_id},
    }
    for path, expected in timelines.items():
        items = await get_json(client, path, headers)
        assert_statuses(items, path)
        shown = {e["uri"] for e in items} | {e["reblog"]["uri"] for e in items if e["reblog"]}
        assert expected <= shown, f"{path}: {expected - shown} missing"
    found = await get_json(client, "/api/v2/search", headers, q="rail")
    assert_shape(found, {"accounts": each(ACCOUNT), "statuses": each(STATUS), "hashtags": each(TAG)}, "search v2")
    context = await get_json(client, f"/api/v1/statuses/{reply.sid}/context", headers)
    assert [s["id"] for s in context["ancestors"]] == [str(theirs.sid)]


async def test_edit_and_delete_answer_statuses(world):
    client, inst, headers, union, rail, bob, theirs, ours, reply, answer = world
    edited = await client.put(f"/api/v1/statuses/{reply.sid}", headers=headers,
                              json={"status": "@rail@rail.example we are all with you", "language": "en"})
    assert edited.status_code == 200, edited.text
    assert_shape(edited.json(), {**STATUS, "edited_at": iso}, "edited status")
    gone = await client.delete(f"/api/v1/statuses/{reply.sid}", headers=headers)
    assert gone.status_code == 200, gone.text
    assert_shape(gone.json(), {**STATUS, "text": text}, "deleted status (kept for redraft)")
    assert "we are all with you" in gone.json()["text"]


INSTANCE_V1 = {
    "uri": nonempty, "title": text, "short_description": text, "description": text, "email": text,
    "version": nonempty, "urls": obj, "stats": {"user_count": integer, "status_count": integer, "domain_count": integer},
    "thumbnail": opt(url), "languages": array, "registrations": boolean, "approval_required": boolean,
    "invites_enabled": boolean, "configuration": {"statuses": obj, "media_attachments": obj, "polls": obj},
    "contact_account": nested(ACCOUNT, allow_none=True), "rules": array,
}
INSTANCE_V2 = {
    "domain": nonempty, "title": text, "version": nonempty, "source_url": text, "description": text,
    "usage": {"users": {"active_month": integer}}, "thumbnail": {"url": url}, "languages": array,
    "configuration": {"urls": obj, "statuses": {"max_characters": integer, "max_media_attachments": integer},
                      "media_attachments": {"supported_mime_types": array}, "polls": obj},
    "registrations": {"enabled": boolean, "approval_required": boolean, "message": opt(text)},
    "api_versions": {"mastodon": integer}, "contact": {"email": text, "account": nested(ACCOUNT, allow_none=True)},
    "rules": array,
}


async def test_instance_v1_and_v2(site):
    client, inst = site
    v1 = (await client.get("/api/v1/instance")).json()
    assert_shape(v1, INSTANCE_V1, "instance v1")
    assert v1["uri"] == "ours.example" and "(compatible; Union Hall" in v1["version"]
    assert v1["version"].split(" ", 1)[0].count(".") == 2, "Mastodon.py reads x.y.z before the first space"
    v2 = (await client.get("/api/v2/instance")).json()
    assert_shape(v2, INSTANCE_V2, "instance v2")
    assert v2["domain"] == "ours.example" and v2["version"] == v1["version"]
    accounts = v2["configuration"].get("accounts")
    if accounts is not None:  # Tusky's maxFeaturedTags is non-null
        assert_shape(accounts, {"max_featured_tags": integer}, "configuration.accounts")
    streaming = v2["configuration"]["urls"].get("streaming")
    assert streaming is None or streaming.startswith(("ws://", "wss://")), streaming


async def test_media_attachment_upload(api):
    client, inst, headers = api
    for path in ("/api/v2/media", "/api/v1/media"):
        response = await client.post(path, headers=headers, files={"file": ("banner.png", png(), "image/png")},
                                     data={"description": "A red banner"})
        assert response.status_code in (200, 202), f"{path}: {response.status_code} {response.text}"
        entity = response.json()
        assert_shape(entity, MEDIA, f"MediaAttachment from {path}")
        assert entity["type"] == "image" and entity["description"] == "A red banner"
        assert entity["meta"]["original"]["width"] == 40
        shown = await get_json(client, f"/api/v1/media/{entity['id']}", headers)
        assert_shape(shown, MEDIA, "GET /api/v1/media/:id")


async def test_meeting_is_a_status_with_date_place_and_link(api, make_meeting):
    client, inst, headers = api
    meeting, _ = await make_meeting()
    post = meeting.post
    entity = await get_json(client, f"/api/v1/statuses/{post.sid}", headers)
    assert_shape(entity, STATUS, "meeting status")
    assert "International meeting of alternative unions" in entity["content"]
    assert "Bourse du travail" in entity["content"] and "2026" in entity["content"]
    assert (post.url or post.ap_id) in entity["content"] and entity["spoiler_text"] == ""
