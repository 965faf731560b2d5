"""The token endpoint's other grants (client credentials, refresh rotation), revocation, how
tokens are stored, and malformed token requests (always the OAuth error shape, never a 500)."""
from __future__ import annotations

import base64
import hashlib
import secrets

import pytest
from tortoise import connections

from actors import oauth
from actors.models import OAuthApp, OAuthToken
from tests.web.api.oauth_helpers import PASSWORD, authorize, bearer, code_of, exchange, register

async def test_client_credentials_with_basic_auth(site):
    client, inst = site
    app = await register(client)
    basic = base64.b64encode(f"{app['client_id']}:{app['client_secret']}".encode()).decode()
    response = await client.post("/oauth/token", data={"grant_type": "client_credentials", "scope": "read"},
                                 headers={"Authorization": f"Basic {basic}"})
    assert response.status_code == 200, response.text
    issued = response.json()
    assert issued["scope"] == "read" and "refresh_token" not in issued
    verified = await client.get("/api/v1/apps/verify_credentials", headers=bearer(issued["access_token"]))
    assert verified.status_code == 200 and verified.json()["client_id"] == app["client_id"]

    wider = await client.post("/oauth/token", data={"grant_type": "client_credentials", "scope": "read admin:read",
                                                    "client_id": app["client_id"], "client_secret": app["client_secret"]})
    assert wider.status_code == 400 and wider.json()["error"] == "invalid_scope"
    narrow = await register(client, scopes="read")
    wider = await client.post("/oauth/token", data={"grant_type": "client_credentials", "scope": "read write",
                                                    "client_id": narrow["client_id"],
                                                    "client_secret": narrow["client_secret"]})
    assert wider.status_code == 400 and wider.json()["error"] == "invalid_scope"
    wrong = await client.post("/oauth/token", data={"grant_type": "client_credentials",
                                                    "client_id": app["client_id"], "client_secret": "wrong"})
    assert wrong.status_code == 401 and wrong.json()["error"] == "invalid_client"


@pytest.mark.parametrize("body, status, error", [
    ({"grant_type": "password", "username": "staff", "password": PASSWORD}, 400, "unsupported_grant_type"),
    ({}, 400, "invalid_request"),
    ({"grant_type": "authorization_code", "code": "made-up"}, 400, "invalid_grant"),
])
async def test_token_endpoint_errors(site, staff, body, status, error):
    client, inst = site
    app = await register(client)
    response = await client.post("/oauth/token", json={"client_id": app["client_id"],
                                                       "client_secret": app["client_secret"], **body})
    assert response.status_code == status and response.json()["error"] == error
    assert response.json()["error_description"]


async def test_refresh_rotates_and_the_old_tokens_stop_working(site, staff):
    client, inst = site
    app = await register(client)
    verifier = secrets.token_urlsafe(48)
    first = (await exchange(client, app, code_of((await authorize(client, app, verifier=verifier))[1]),
                            verifier, client_secret=app["client_secret"])).json()
    body = {"grant_type": "refresh_token", "refresh_token": first["refresh_token"], "client_id": app["client_id"],
            "client_secret": app["client_secret"]}
    response = await client.post("/oauth/token", data=body)
    assert response.status_code == 200, response.text
    second = response.json()
    assert second["access_token"] != first["access_token"] and second["scope"] == first["scope"]
    old = await client.get("/api/v1/apps/verify_credentials", headers=bearer(first["access_token"]))
    assert old.status_code == 401
    assert (await client.get("/api/v1/apps/verify_credentials", headers=bearer(second["access_token"]))).status_code == 200
    reused = await client.post("/oauth/token", data=body)
    assert reused.status_code == 400 and reused.json()["error"] == "invalid_grant"


async def test_revoked_token_is_refused(site, staff):
    client, inst = site
    app = await register(client)
    issued = await oauth.issue_for_owner(await OAuthApp.get(client_id=app["client_id"]), staff, inst.now())
    assert (await client.get("/api/v1/apps/verify_credentials", headers=bearer(issued.access_token))).status_code == 200
    stranger = await register(client, client_name="Other")
    response = await client.post("/oauth/revoke", data={"client_id": stranger["client_id"],
                                                        "client_secret": stranger["client_secret"],
                                                        "token": issued.access_token})
    assert response.status_code == 200
    assert (await client.get("/api/v1/apps/verify_credentials", headers=bearer(issued.access_token))).status_code == 200, \
        "another app cannot revoke this app's token"
    response = await client.post("/oauth/revoke", data={"client_id": app["client_id"],
                                                        "client_secret": app["client_secret"],
                                                        "token": issued.access_token})
    assert response.status_code == 200 and response.json() == {}
    refused = await client.get("/api/v1/apps/verify_credentials", headers=bearer(issued.access_token))
    assert refused.status_code == 401 and refused.json()["error"]
    bad = await client.post("/oauth/revoke", data={"client_id": app["client_id"], "client_secret": "x", "token": "y"})
    assert bad.status_code == 401 and bad.json()["error"] == "invalid_client"


async def test_tokens_are_stored_hashed(site, staff):
    client, inst = site
    app = await register(client)
    verifier = secrets.token_urlsafe(48)
    code = code_of((await authorize(client, app, verifier=verifier))[1])
    issued = (await exchange(client, app, code, verifier, client_secret=app["client_secret"])).json()
    conn = connections.get("default")
    stored = repr([await conn.execute_query_dict(f"SELECT * FROM {table}")
                   for table in ("actors_oauth_token", "actors_oauth_code", "actors_oauth_app")])
    for raw in (issued["access_token"], issued["refresh_token"], code, app["client_secret"]):
        assert raw not in stored
        assert hashlib.sha256(raw.encode()).hexdigest() in stored


async def test_malformed_token_requests_get_oauth_errors(site):
    client, inst = site
    response = await client.post("/oauth/token", content=b"{not json", headers={"Content-Type": "application/json"})
    assert response.status_code == 400 and response.json()["error"] == "invalid_request"
    response = await client.post("/oauth/token", data={"grant_type": "client_credentials"},
                                 headers={"Authorization": "Basic !!!"})
    assert response.status_code == 401 and response.json()["error"] == "invalid_client"
    assert response.headers["www-authenticate"].startswith("Basic")


@pytest.mark.parametrize("headers, body", [
    ({"Authorization": b"Basic \xc3\xa9\xc3\xa9"}, {"grant_type": "client_credentials"}),
    ({"Authorization": "Basic " + base64.b64encode(b"a\x00b:secret").decode()}, {"grant_type": "client_credentials"}),
])
async def test_undecodable_or_nul_basic_credentials_are_invalid_client(site, headers, body):
    client, inst = site
    response = await client.post("/oauth/token", data=body, headers=headers)
    assert response.status_code == 401 and response.json()["error"] == "invalid_client"


@pytest.mark.parametrize("field", ["client_id", "client_secret", "code", "scope", "redirect_uri", "code_verifier"])
async def test_nul_characters_in_token_requests_are_invalid_request(site, staff, field):
    client, inst = site
    app = await register(client)
    body = {"grant_type": "authorization_code", "client_id": app["client_id"], "client_secret": app["client_secret"],
            "code": "c", "redirect_uri": "https://app.example/callback", field: "x\x00y"}
    for path in ("/oauth/token", "/oauth/revoke"):
        response = await client.post(path, data={**body, "token": "t"})
        assert response.status_code == 400 and response.json()["error"] == "invalid_request", path
    assert await oauth.client(app["client_id"], need_secret=False) is not None


async def test_token_and_revoke_bodies_over_64_kib_are_refused(site):
    client, inst = site
    app = await register(client)
    for path in ("/oauth/token", "/oauth/revoke"):
        response = await client.post(path, data={"grant_type": "client_credentials", "client_id": app["client_id"],
                                                 "client_secret": app["client_secret"], "token": "t" * 70_000})
        assert response.status_code == 413 and response.json()["error"] == "invalid_request"
        assert "64 KiB" in response.json()["error_description"]
    assert await OAuthToken.all().count() == 0
