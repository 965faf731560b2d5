"""OAuth app registration (POST /api/v1/apps) as Mastodon apps send it, what is refused there
(and stored nowhere), the request size cap, and the authorization server metadata."""
from __future__ import annotations

import hashlib

import pytest

from actors import oauth
from actors.models import OAuthApp
from tests.web.api.oauth_helpers import CALLBACK, register

# --- registration -----------------------------------------------------------------------

async def test_register_with_json_returns_mastodons_application(site):
    client, inst = site
    app = await register(client, redirect_uris=[CALLBACK, "https://app.example/other"],
                         website="https://phanpy.social")
    assert set(app) == {"id", "name", "website", "scopes", "redirect_uri", "redirect_uris", "client_id",
                        "client_secret", "client_secret_expires_at", "vapid_key"}
    assert isinstance(app["id"], str) and app["name"] == "Phanpy" and app["website"] == "https://phanpy.social"
    assert app["scopes"] == ["read", "write", "follow", "push"]
    assert app["redirect_uris"] == [CALLBACK, "https://app.example/other"]
    assert app["redirect_uri"] == f"{CALLBACK}\nhttps://app.example/other"
    assert app["client_secret_expires_at"] == 0 and app["vapid_key"] == ""
    row = await OAuthApp.get(client_id=app["client_id"])
    assert row.secret_hash == hashlib.sha256(app["client_secret"].encode()).hexdigest()


@pytest.mark.parametrize("uris, expected", [
    ("oauth2redirect://com.keylesspalace.tusky/", ["oauth2redirect://com.keylesspalace.tusky/"]),
    (oauth.OOB, [oauth.OOB]),
    ("https://a.example/cb\nhttps://b.example/cb", ["https://a.example/cb", "https://b.example/cb"]),
])
async def test_register_with_a_form(site, uris, expected):
    client, inst = site
    response = await client.post("/api/v1/apps", data={"client_name": "Tusky", "redirect_uris": uris})
    assert response.status_code == 200, response.text
    app = response.json()
    assert app["redirect_uris"] == expected and app["scopes"] == ["read"] and app["website"] is None


async def test_repeated_form_fields_are_several_uris(site):
    client, inst = site
    response = await client.post("/api/v1/apps", data={"client_name": "X", "scopes": "read write",
                                                       "redirect_uris[]": ["https://a.example/", "https://b.example/"]})
    assert response.json()["redirect_uris"] == ["https://a.example/", "https://b.example/"]


@pytest.mark.parametrize("body, reason", [
    ({"client_name": "Evil", "redirect_uris": "javascript:alert(1)"}, "not allowed"),
    ({"redirect_uris": CALLBACK}, "client_name"),
    ({"client_name": "X"}, "redirect_uris"),
    ({"client_name": "X", "redirect_uris": CALLBACK, "scopes": "read admin:write"}, "unknown scope"),
    ({"client_name": "X", "redirect_uris": CALLBACK, "website": "javascript:alert(1)"}, "website"),
    ({"client_name": {"x": 1}, "redirect_uris": CALLBACK}, "client_name"),
    ({"client_name": "X", "redirect_uris": [{"uri": CALLBACK}]}, "redirect_uris"),
])
async def test_bad_registrations_are_refused_and_store_nothing(site, body, reason):
    client, inst = site
    response = await client.post("/api/v1/apps", json=body)
    assert response.status_code == 422
    assert response.json()["error"].startswith("Validation failed: ") and reason in response.json()["error"]
    assert await OAuthApp.all().count() == 0



async def test_authorization_server_metadata(site):
    client, inst = site
    response = await client.get("/.well-known/oauth-authorization-server")
    assert response.status_code == 200 and response.headers["access-control-allow-origin"] == "*"
    doc = response.json()
    assert doc["issuer"] == "https://ours.example/"
    assert doc["authorization_endpoint"] == "https://ours.example/oauth/authorize"
    assert doc["token_endpoint"] == "https://ours.example/oauth/token"
    assert doc["revocation_endpoint"] == "https://ours.example/oauth/revoke"
    assert doc["app_registration_endpoint"] == "https://ours.example/api/v1/apps"
    assert doc["code_challenge_methods_supported"] == ["S256"]
    assert doc["grant_types_supported"] == ["authorization_code", "client_credentials", "refresh_token"]
    assert doc["scopes_supported"] == list(oauth.SCOPES) and doc["response_types_supported"] == ["code"]


@pytest.mark.parametrize("body, reason", [
    ({"client_name": "X", "redirect_uris": "http://[::1/cb"}, "not an absolute URI"),
    ({"client_name": "X", "redirect_uris": "http://example.org:99999/cb"}, "not an absolute URI"),
    ({"client_name": "X", "redirect_uris": [f"https://a.example/{n}" for n in range(21)]}, "at most 20"),
    ({"client_name": "a\x00b", "redirect_uris": CALLBACK}, "NUL"),
    ({"client_name": "X", "redirect_uris": "https://x\x00y.example/"}, "NUL"),
    ({"client_name": "X", "redirect_uris": CALLBACK, "website": "https://a.example/\x00"}, "NUL"),
    ({"client_name": "X", "redirect_uris": CALLBACK, "scopes": "read\x00"}, "NUL"),
    ({"client_name": "X", "redirect_uris": CALLBACK, "a\x00": "1"}, "NUL"),
])
async def test_unusable_uris_and_nul_characters_are_refused(site, body, reason):
    """These used to be stored (and crash the authorize page later) or crash PostgreSQL."""
    client, inst = site
    response = await client.post("/api/v1/apps", json=body)
    assert response.status_code == 422, response.text
    assert reason in response.json()["error"]
    assert await OAuthApp.all().count() == 0


async def test_a_nul_in_a_form_is_refused_too(site):
    client, inst = site
    response = await client.post("/api/v1/apps", data={"client_name": "a\x00b", "redirect_uris": CALLBACK})
    assert response.status_code == 422 and "NUL" in response.json()["error"]


async def test_twenty_redirect_uris_are_still_accepted(site):
    client, inst = site
    app = await register(client, redirect_uris=[f"https://a.example/{n}" for n in range(20)])
    assert len(app["redirect_uris"]) == 20


async def test_a_body_over_64_kib_is_refused_by_its_length(site):
    client, inst = site
    body = {"client_name": "X", "redirect_uris": CALLBACK, "website": "https://a.example/" + "a" * 70_000}
    response = await client.post("/api/v1/apps", json=body)
    assert response.status_code == 413 and "64 KiB" in response.json()["error"]
    assert await OAuthApp.all().count() == 0


async def test_a_body_over_64_kib_is_refused_while_reading_it(site):
    """No Content-Length (chunked): the bytes are counted as they come."""
    client, inst = site
    sent = []

    async def chunks():
        for _ in range(100):
            sent.append(1)
            yield b"client_name=" + b"x" * 4096 + b"&"

    response = await client.post("/api/v1/apps", content=chunks(),
                                 headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert "content-length" not in response.request.headers
    assert response.status_code == 413 and await OAuthApp.all().count() == 0
    assert len(sent) < 100, "reading stopped at the cap"


async def test_a_multipart_body_over_64_kib_is_refused(site):
    """The API's general multipart cap is sized for media; registration takes no file."""
    client, inst = site
    response = await client.post("/api/v1/apps", data={"client_name": "X", "redirect_uris": CALLBACK},
                                 files={"logo": ("logo.png", b"\x89PNG" + b"0" * 70_000, "image/png")})
    assert response.status_code == 413 and "64 KiB" in response.json()["error"]
    assert await OAuthApp.all().count() == 0
