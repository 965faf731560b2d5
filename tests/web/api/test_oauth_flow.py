"""The authorization-code flow over the real authorize page (login + consent) and the token
endpoint: PKCE, denial, throttling, CSRF, out-of-band codes, and what is never redirected."""
from __future__ import annotations

import html
import re
import secrets
from urllib.parse import parse_qs, urlsplit

import pytest

from actors import oauth
from actors.models import OAuthApp, OAuthCode, OAuthToken
from tests.web.api.oauth_helpers import (CALLBACK, PASSWORD, authorize, bearer, code_of, exchange, hidden_fields,
                                         register)

async def test_authorization_code_flow_with_pkce(site, staff):
    client, inst = site
    app = await register(client)
    verifier = secrets.token_urlsafe(48)
    page, answer = await authorize(client, app, verifier=verifier)
    assert 'name="password"' in page.text and "SUD-Rail" in page.text and "Phanpy" in page.text
    assert "form-action 'self' https://app.example;" in page.headers["content-security-policy"]
    code = code_of(answer)

    response = await exchange(client, app, code, verifier)
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    issued = response.json()
    assert issued["token_type"] == "Bearer" and issued["scope"] == "read write follow push"
    assert isinstance(issued["created_at"], int) and "refresh_token" not in issued, "a public client"
    grant = await oauth.authenticate(issued["access_token"], inst.now())
    assert grant.actor.username == "sud_rail" and grant.login.id == staff.id

    verified = await client.get("/api/v1/apps/verify_credentials", headers=bearer(issued["access_token"]))
    assert verified.status_code == 200
    assert verified.json()["name"] == "Phanpy" and "client_secret" not in verified.json()

    again = await exchange(client, app, code, verifier)
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant", "a code works once"
    # A code used twice was probably stolen: the token it gave is revoked (RFC 6749 4.1.2).
    assert await oauth.authenticate(issued["access_token"], inst.now()) is None


async def test_wrong_pkce_verifier_is_refused(site, staff):
    client, inst = site
    app = await register(client)
    code = code_of((await authorize(client, app, verifier=secrets.token_urlsafe(48)))[1])
    response = await exchange(client, app, code, secrets.token_urlsafe(48))
    assert response.status_code == 400 and response.json()["error"] == "invalid_grant"
    missing = await exchange(client, app, code, None, client_secret=app["client_secret"])
    assert missing.status_code == 400 and missing.json()["error"] == "invalid_grant"
    assert await OAuthToken.all().count() == 0


async def test_without_pkce_the_secret_is_needed(site, staff):
    client, inst = site
    app = await register(client)
    code = code_of((await authorize(client, app))[1])
    response = await exchange(client, app, code, None)
    assert response.status_code == 401 and response.json()["error"] == "invalid_client"
    response = await exchange(client, app, code, None, client_secret=app["client_secret"])
    assert response.status_code == 200 and response.json()["access_token"]


async def test_redirect_uri_must_match_the_authorization_request(site, staff):
    client, inst = site
    app = await register(client, redirect_uris=[CALLBACK, "https://app.example/other"])
    verifier = secrets.token_urlsafe(48)
    code = code_of((await authorize(client, app, verifier=verifier))[1])
    response = await exchange(client, app, code, verifier, redirect_uri="https://app.example/other")
    assert response.status_code == 400 and response.json()["error"] == "invalid_grant"


@pytest.mark.parametrize("change, reason", [
    ({"client_id": "nope"}, "No application"),
    ({"redirect_uri": "https://evil.example/steal"}, "redirect_uri"),
])
async def test_unknown_client_or_redirect_gets_a_page_never_a_redirect(site, change, reason):
    client, inst = site
    app = await register(client)
    query = {"response_type": "code", "client_id": app["client_id"], "redirect_uri": CALLBACK, **change}
    response = await client.get("/oauth/authorize", params=query)
    assert response.status_code == 400 and "location" not in response.headers
    assert reason in response.text and response.headers["content-type"].startswith("text/html")


@pytest.mark.parametrize("change, reason", [
    ({"scope": "read write"}, "invalid_scope"),
    ({"response_type": "token"}, "unsupported_response_type"),
    ({"code_challenge": "short", "code_challenge_method": "S256"}, "code_challenge"),
    ({"code_challenge": "a" * 43, "code_challenge_method": "plain"}, "S256"),
])
async def test_a_malformed_request_gets_our_page_not_a_redirect(site, change, reason):
    """Anyone can register an app with any redirect URI: sending errors there without the
    user having acted would make the page an open redirector."""
    client, inst = site
    app = await register(client, scopes="read", redirect_uris="https://evil.example/phish")
    query = {"response_type": "code", "client_id": app["client_id"], "redirect_uri": "https://evil.example/phish",
             "scope": "read", "state": "st4te", **change}
    response = await client.get("/oauth/authorize", params=query)
    assert response.status_code == 400 and "location" not in response.headers
    assert reason in response.text and response.headers["content-type"].startswith("text/html")
    tampered = await client.post("/oauth/authorize", data={**query, "decision": "authorize"})
    assert tampered.status_code == 400 and "location" not in tampered.headers


async def test_deny_sends_access_denied(site, staff):
    client, inst = site
    app = await register(client)
    page, answer = await authorize(client, app, decision="deny", login=False)
    assert answer.status_code == 302
    query = parse_qs(urlsplit(answer.headers["location"]).query)
    assert query["error"] == ["access_denied"] and query["state"] == ["st4te"] and "code" not in query
    assert await OAuthCode.all().count() == 0


async def test_wrong_password_is_refused_then_throttled(site, staff):
    client, inst = site
    app = await register(client)
    page = await client.get("/oauth/authorize", params={"response_type": "code", "client_id": app["client_id"],
                                                         "redirect_uri": CALLBACK})
    form = {**hidden_fields(page.text), "decision": "authorize", "username": "staff", "password": "wrong"}
    for _ in range(5):
        response = await client.post("/oauth/authorize", data=form)
        assert response.status_code == 401 and "Wrong login name or password" in response.text
    response = await client.post("/oauth/authorize", data={**form, "password": PASSWORD})
    assert response.status_code == 429 and int(response.headers["retry-after"]) > 0
    assert await OAuthCode.all().count() == 0


async def test_a_form_without_the_csrf_token_is_refused(site, staff):
    client, inst = site
    app = await register(client)
    page = await client.get("/oauth/authorize", params={"response_type": "code", "client_id": app["client_id"],
                                                         "redirect_uri": CALLBACK})
    form = {**hidden_fields(page.text), "decision": "authorize", "username": "staff", "password": PASSWORD}
    response = await client.post("/oauth/authorize", data={**form, "csrf": "forged"})
    assert response.status_code == 403 and await OAuthCode.all().count() == 0


async def test_an_admin_session_only_asks_for_consent(admin):
    client, inst, union, csrf = admin
    app = await register(client)
    page, answer = await authorize(client, app, login=False)
    assert 'name="password"' not in page.text and "Logged in as admin" in page.text
    assert "wants to act for <strong>SUD-Rail</strong>: read, write, follow, push" in page.text
    assert (await exchange(client, app, code_of(answer), None, client_secret=app["client_secret"])).status_code == 200
    forced, _ = await authorize(client, app, login=False, force_login="true")
    assert 'name="password"' in forced.text
    _, answer = await authorize(client, app, force_login="true", login=False)
    assert answer.status_code == 401, "force_login: the session alone is not enough"


async def test_out_of_band_shows_the_code(site, staff):
    client, inst = site
    response = await client.post("/api/v1/apps", data={"client_name": "Script", "redirect_uris": oauth.OOB,
                                                       "scopes": "read write"})
    app = response.json()
    page, answer = await authorize(client, app, redirect_uri=oauth.OOB, scope="read")
    assert page.headers["content-security-policy"].count("form-action 'self';") == 1
    assert answer.status_code == 200
    code = html.unescape(re.search(r'<code id="code"[^>]*>([^<]+)</code>', answer.text).group(1))
    response = await client.post("/oauth/token", json={"grant_type": "authorization_code", "code": code,
                                                       "client_id": app["client_id"], "redirect_uri": oauth.OOB,
                                                       "client_secret": app["client_secret"]})
    assert response.status_code == 200 and response.json()["scope"] == "read"


async def test_custom_scheme_redirect_is_allowed_by_the_pages_csp(site, staff):
    client, inst = site
    uri = "oauth2redirect://com.keylesspalace.tusky/"
    app = await register(client, redirect_uris=uri)
    page, answer = await authorize(client, app, redirect_uri=uri)
    assert "form-action 'self' oauth2redirect:;" in page.headers["content-security-policy"]
    assert answer.headers["location"].startswith(uri + "?code=")


async def test_the_redirect_uri_is_required_at_the_token_endpoint(site, staff):
    client, inst = site
    app = await register(client)
    code = code_of((await authorize(client, app))[1])
    body = {"grant_type": "authorization_code", "code": code, "client_id": app["client_id"],
            "client_secret": app["client_secret"]}
    missing = await client.post("/oauth/token", data=body)
    assert missing.status_code == 400 and missing.json()["error"] == "invalid_grant"
    assert "redirect_uri" in missing.json()["error_description"]
    assert (await client.post("/oauth/token", data={**body, "redirect_uri": CALLBACK})).status_code == 200


async def test_a_public_pkce_client_gets_no_refresh_token(site, staff):
    """refresh() needs the client secret: a client that never showed it could not use one."""
    client, inst = site
    app = await register(client)
    verifier = secrets.token_urlsafe(48)
    public = await exchange(client, app, code_of((await authorize(client, app, verifier=verifier))[1]), verifier)
    assert public.status_code == 200 and "refresh_token" not in public.json()
    confidential = await exchange(client, app, code_of((await authorize(client, app, verifier=verifier))[1]),
                                  verifier, client_secret=app["client_secret"])
    assert confidential.json()["refresh_token"]


async def test_nul_characters_get_the_page_not_a_crash(site, staff):
    client, inst = site
    app = await register(client)
    for query in ({"client_id": "a\x00", "response_type": "code"},
                  {"client_id": app["client_id"], "redirect_uri": CALLBACK, "response_type": "code", "state": "\x00"}):
        response = await client.get("/oauth/authorize", params=query)
        assert response.status_code == 400 and "NUL" in response.text
    page = await client.get("/oauth/authorize", params={"response_type": "code", "client_id": app["client_id"],
                                                         "redirect_uri": CALLBACK})
    form = {**hidden_fields(page.text), "decision": "authorize", "username": "st\x00aff", "password": PASSWORD}
    response = await client.post("/oauth/authorize", data=form)
    assert response.status_code == 400 and await OAuthCode.all().count() == 0


async def test_a_posted_form_over_64_kib_is_refused(site, staff):
    client, inst = site
    app = await register(client)
    page = await client.get("/oauth/authorize", params={"response_type": "code", "client_id": app["client_id"],
                                                         "redirect_uri": CALLBACK})
    form = {**hidden_fields(page.text), "decision": "authorize", "username": "staff", "password": "p" * 70_000}
    response = await client.post("/oauth/authorize", data=form)
    assert response.status_code == 413 and "64 KiB" in response.text
    assert await OAuthCode.all().count() == 0


async def test_an_unreadable_redirect_uri_stored_before_the_check_gets_a_page(site, staff):
    """Registration now refuses `http://[::1/cb`; a row stored earlier must not crash the page."""
    client, inst = site
    app = await register(client)
    await OAuthApp.filter(client_id=app["client_id"]).update(redirect_uris=["http://[::1/cb"])
    page, answer = await authorize(client, app, redirect_uri="http://[::1/cb")
    assert answer.status_code == 400 and "location" not in answer.headers
    assert "redirect URI cannot be used" in answer.text
