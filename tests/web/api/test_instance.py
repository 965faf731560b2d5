"""GET /api/v1/instance, /api/v2/instance and the small public endpoints, as clients read them at
startup (interop notes 6.1, 6.3): no token needed, a Mastodon-compatible version, our limits."""
from __future__ import annotations

from starlette.routing import WebSocketRoute

from actors.local import get_by_username
from actors.models import RemoteActor
from content import media
from outbox import statements
from outbox.profile import ProfileInput, check, update_profile
from web.api import routes as api_routes
from web.api.statuses import MAX_CHARACTERS


async def test_v2_instance_describes_the_union_without_a_token(site, remote_actor):
    client, inst = site
    union = await get_by_username("sud_rail")
    await update_profile(inst, union, check(inst, ProfileInput(name="SUD-Rail", summary="Rail workers.\n\nSince 1996.")))
    await statements.publish(inst, union, {"fr": "Grève demain"})
    response = await client.get("/api/v2/instance")
    assert response.status_code == 200
    doc = response.json()
    assert doc["version"] == "4.3.0 (compatible; Union Hall test)"
    assert doc["api_versions"] == {"mastodon": 1}
    assert doc["domain"] == "ours.example" and doc["title"] == "SUD-Rail"
    assert doc["description"] == "Rail workers.\n\nSince 1996."
    assert doc["contact"]["account"]["username"] == "sud_rail"
    assert doc["contact"]["account"]["acct"] == "sud_rail"
    assert doc["languages"] == ["fr"]
    assert doc["registrations"]["enabled"] is False
    assert doc["rules"] == [] and doc["usage"] == {"users": {"active_month": 1}}
    assert doc["thumbnail"]["url"] == "https://ours.example/api/header.png"
    config = doc["configuration"]
    assert config["statuses"]["max_characters"] == MAX_CHARACTERS
    assert config["statuses"]["max_media_attachments"] == statements.MAX_ATTACHMENTS == 4
    assert "image/png" in config["media_attachments"]["supported_mime_types"]
    assert "application/pdf" in config["media_attachments"]["supported_mime_types"]
    assert config["media_attachments"]["image_size_limit"] == media.MAX_IMAGE_BYTES
    assert config["media_attachments"]["description_limit"] == media.MAX_DESCRIPTION
    assert isinstance(config["accounts"]["max_featured_tags"], int), "Tusky needs an int"


async def test_streaming_is_advertised_only_when_served(site):
    client, inst = site
    served = any(isinstance(r, WebSocketRoute) and r.path == "/api/v1/streaming" for r in api_routes.routes)
    v2 = (await client.get("/api/v2/instance")).json()
    v1 = (await client.get("/api/v1/instance")).json()
    if served:
        assert v2["configuration"]["urls"] == {"streaming": "wss://ours.example"}
        assert v1["urls"] == {"streaming_api": "wss://ours.example"}
    else:
        assert v2["configuration"]["urls"] == {} and v1["urls"] == {}


async def test_v1_instance_has_what_mastodon_py_and_tusky_read(site, remote_actor):
    client, inst = site
    await remote_actor("rail", "Organization", inst.now())
    await remote_actor("cgt", "Organization", inst.now())
    await RemoteActor.create(uri="https://rail.example/actors/bob", domain="rail.example", username="bob",
                             inbox="https://rail.example/actors/bob/inbox", fetched_at=inst.now())
    doc = (await client.get("/api/v1/instance")).json()
    assert doc["uri"] == "ours.example" and doc["version"].startswith("4.3.0 ")
    assert doc["title"] == "SUD-Rail" and doc["contact_account"]["username"] == "sud_rail"
    assert doc["stats"] == {"user_count": 1, "status_count": 0, "domain_count": 2}
    assert doc["thumbnail"] == "https://ours.example/api/header.png"
    assert doc["registrations"] is False and doc["rules"] == []
    assert doc["configuration"]["statuses"]["max_media_attachments"] == 4
    assert (await client.get("/api/v1/instance/peers")).json() == ["cgt.example", "rail.example"]


async def test_empty_public_lists(site):
    client, _ = site
    for path in ("/api/v1/custom_emojis", "/api/v1/instance/rules", "/api/v1/instance/activity"):
        response = await client.get(path)
        assert response.status_code == 200 and response.json() == [], path


async def test_a_bad_token_reads_public_endpoints_anonymously(site, token):
    """As Mastodon: a stale token is no login, so public endpoints answer as to anyone, and
    endpoints that need a user refuse it."""
    client, _ = site
    bad = {"Authorization": "Bearer nope"}
    response = await client.get("/api/v2/instance", headers=bad)
    assert response.status_code == 200 and response.json() == (await client.get("/api/v2/instance")).json()
    assert (await client.get("/api/v1/timelines/public", headers=bad)).status_code == 200
    refused = await client.get("/api/v1/accounts/verify_credentials", headers=bad)
    assert refused.status_code == 401 and refused.json() == {"error": "The access token is invalid"}
    # Anonymous, not logged in: what needs a user is still refused on a public endpoint.
    assert (await client.get("/api/v2/search?q=@a@b.example&resolve=true", headers=bad)).status_code == 401
    assert (await client.get("/api/v2/instance", headers=await token("write"))).status_code == 200
