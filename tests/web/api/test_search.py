"""GET /api/v2/search (and /api/v1/search, /api/v1/accounts/search): what we store, and with
resolve=true what other servers answer (WebFinger, actor and post documents from `remote`)."""
from __future__ import annotations

import pytest

from actors.models import RemoteActor
from content.models import Post

AP = "application/activity+json"
ROSA = "https://mastodon.example/users/rosa"
NOTE = "https://mastodon.example/users/rosa/statuses/1"


@pytest.fixture
def fediverse(remote):
    remote["https://mastodon.example/.well-known/webfinger"] = (200, {
        "subject": "acct:rosa@mastodon.example",
        "links": [{"rel": "self", "type": AP, "href": ROSA}]}, "application/jrd+json")
    remote[ROSA] = (200, {
        "@context": ["https://www.w3.org/ns/activitystreams"], "id": ROSA, "type": "Person",
        "preferredUsername": "rosa", "name": "Rosa Luxemburg", "inbox": f"{ROSA}/inbox",
        "url": "https://mastodon.example/@rosa", "endpoints": {"sharedInbox": "https://mastodon.example/inbox"},
        "publicKey": {"id": f"{ROSA}#main-key", "owner": ROSA, "publicKeyPem": "pem"}}, AP)
    remote[NOTE] = (200, {
        "@context": "https://www.w3.org/ns/activitystreams", "id": NOTE, "type": "Note", "attributedTo": ROSA,
        "to": ["https://www.w3.org/ns/activitystreams#Public"], "content": "<p>Strike at the post office!</p>",
        "published": "2026-09-23T08:00:00Z"}, AP)
    return remote


async def test_resolve_a_handle(api, fediverse):
    client, inst, headers = api
    found = await client.get("/api/v2/search", params={"q": "@rosa@mastodon.example", "resolve": "true"}, headers=headers)
    assert found.status_code == 200, found.text
    body = found.json()
    assert body["statuses"] == [] and body["hashtags"] == []
    assert [a["acct"] for a in body["accounts"]] == ["rosa@mastodon.example"]
    rosa = await RemoteActor.get(uri=ROSA)
    assert body["accounts"][0]["id"] == str(rosa.id) and body["accounts"][0]["display_name"] == "Rosa Luxemburg"
    # Now known: found without resolve, as u@host too, and by a piece of the name.
    again = await client.get("/api/v2/search", params={"q": "rosa@mastodon.example"}, headers=headers)
    assert [a["id"] for a in again.json()["accounts"]] == [str(rosa.id)]
    by_name = await client.get("/api/v2/search", params={"q": "luxem", "type": "accounts"})
    assert [a["id"] for a in by_name.json()["accounts"]] == [str(rosa.id)]


async def test_resolve_a_status_url_and_a_profile_url(api, fediverse):
    client, inst, headers = api
    found = await client.get("/api/v2/search", params={"q": NOTE, "resolve": "1", "type": "statuses"}, headers=headers)
    assert found.status_code == 200
    statuses = found.json()["statuses"]
    post = await Post.get(ap_id=NOTE)
    assert [s["id"] for s in statuses] == [str(post.sid)] and "post office" in statuses[0]["content"]
    assert statuses[0]["account"]["acct"] == "rosa@mastodon.example"
    stored = await client.get("/api/v2/search", params={"q": NOTE})
    assert [s["id"] for s in stored.json()["statuses"]] == [str(post.sid)], "stored posts by exact URL, no token"
    profile = await client.get("/api/v2/search", params={"q": "https://mastodon.example/@rosa", "resolve": "true"},
                               headers=headers)
    assert [a["acct"] for a in profile.json()["accounts"]] == ["rosa@mastodon.example"]


async def test_failed_lookups_are_empty_results(api, fediverse):
    client, inst, headers = api
    for q in ("@nobody@nowhere.example", "https://nowhere.example/notes/1", "https://mastodon.example/users/rosa/x"):
        found = await client.get("/api/v2/search", params={"q": q, "resolve": "true"}, headers=headers)
        assert found.status_code == 200 and found.json() == {"accounts": [], "statuses": [], "hashtags": []}
    unknown = await client.get("/api/v2/search", params={"q": "@rosa@mastodon.example"}, headers=headers)
    assert unknown.json()["accounts"] == [], "without resolve nothing is fetched"
    assert await RemoteActor.all().count() == 0 and await Post.all().count() == 0


async def test_resolve_needs_a_user_token(api, fediverse, token):
    client, inst, headers = api
    anonymous = await client.get("/api/v2/search", params={"q": "@rosa@mastodon.example", "resolve": "true"})
    assert anonymous.status_code == 401
    no_scope = await client.get("/api/v2/search", params={"q": "rosa"}, headers=await token("write"))
    assert no_scope.status_code == 403
    assert (await client.get("/api/v2/search", params={"q": "x", "type": "people"})).status_code == 422
    assert await RemoteActor.all().count() == 0


async def test_our_union_hashtags_and_the_aliases(api, fediverse):
    client, inst, headers = api
    ours = await client.get("/api/v2/search", params={"q": "@sud_rail@ours.example"})
    assert [a["username"] for a in ours.json()["accounts"]] == ["sud_rail"]
    by_url = await client.get("/api/v2/search", params={"q": "https://ours.example/actors/sud_rail"})
    assert [a["username"] for a in by_url.json()["accounts"]] == ["sud_rail"]
    tag = (await client.get("/api/v2/search", params={"q": "#Greve"})).json()
    assert tag["hashtags"] == [{"name": "Greve", "url": inst.urls.tag("Greve"), "history": [], "following": False}]
    assert tag["accounts"] == []
    v1 = await client.get("/api/v1/search", params={"q": "sud"})
    assert [a["username"] for a in v1.json()["accounts"]] == ["sud_rail"]
    accounts = await client.get("/api/v1/accounts/search", params={"q": "rosa@mastodon.example", "resolve": "true"},
                                headers=headers)
    assert accounts.status_code == 200 and [a["acct"] for a in accounts.json()] == ["rosa@mastodon.example"]
    assert (await client.get("/api/v1/accounts/search", params={"q": "rosa"})).status_code == 401


async def test_an_unknown_profile_page_url_is_resolved_by_its_handle(api, fediverse):
    client, inst, headers = api
    url = "https://mastodon.example/@rosa"
    assert url not in fediverse, "the page itself answers no ActivityPub document here"
    found = await client.get("/api/v2/search", params={"q": url, "resolve": "true"}, headers=headers)
    assert [a["acct"] for a in found.json()["accounts"]] == ["rosa@mastodon.example"]
    assert found.json()["statuses"] == []
