"""The authorize page in headless Chromium, as a phone or web app user meets it: the app (on
another origin) sends the browser to /oauth/authorize, the user logs in and clicks Authorize,
and the browser lands on the app's redirect URI with the code. Chromium applies the page's
`form-action` to the redirect that follows the POST, so this passes only if the page's CSP
allows the app's origin; the code then buys a token over plain HTTP (PKCE S256)."""
from __future__ import annotations

import base64
import hashlib
import secrets
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import pytest_asyncio

from tests.browser.conftest import ADMIN_LOGIN, ADMIN_PASSWORD, new_context, running_union, serve_page

pytestmark = [pytest.mark.asyncio(loop_scope="module"), pytest.mark.timeout(180)]


@pytest.fixture(scope="module")
def app_origin():
    with serve_page("<!doctype html><title>App</title><p id='app'>back in the app</p>") as origin:
        yield origin


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def union(tmp_path_factory):
    async with running_union(tmp_path_factory, "oauth") as inst:
        yield inst


async def test_login_and_consent_in_chromium_lands_on_the_apps_redirect(browser, union, app_origin):
    callback = f"{app_origin}/callback"
    app = httpx.post(f"{union.url}/api/v1/apps", timeout=10, data={
        "client_name": "Phanpy", "redirect_uris": callback, "scopes": "read write follow push"}).json()
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    authorize = httpx.URL(f"{union.url}/oauth/authorize", params={
        "response_type": "code", "client_id": app["client_id"], "redirect_uri": callback,
        "scope": "read write follow push", "state": "xyz", "code_challenge": challenge,
        "code_challenge_method": "S256"})

    context = await new_context(browser)
    try:
        page = await context.new_page()
        response = await page.goto(str(authorize))
        assert response is not None and response.status == 200
        assert "Phanpy" in await page.locator("h1").inner_text()
        await page.get_by_label("Login name").fill(ADMIN_LOGIN)
        await page.get_by_label("Password").fill(ADMIN_PASSWORD)
        await page.get_by_role("button", name="Authorize").click()
        await page.wait_for_url(f"{callback}?*", timeout=15000)
        landed = page.url
        assert await page.locator("#app").inner_text() == "back in the app"
    finally:
        await context.close()

    query = parse_qs(urlsplit(landed).query)
    assert query["state"] == ["xyz"]
    token = httpx.post(f"{union.url}/oauth/token", timeout=10, data={
        "grant_type": "authorization_code", "code": query["code"][0], "client_id": app["client_id"],
        "redirect_uri": callback, "code_verifier": verifier})
    assert token.status_code == 200, token.text
    verified = httpx.get(f"{union.url}/api/v1/apps/verify_credentials", timeout=10,
                         headers={"Authorization": f"Bearer {token.json()['access_token']}"})
    assert verified.status_code == 200 and verified.json()["name"] == "Phanpy"
