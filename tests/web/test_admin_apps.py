"""Development settings: the admin registers an app for a script, gets its token once, the token
works on the API, and deleting the app ends every token it had."""
from __future__ import annotations

import hashlib
import html
import re

from actors import oauth
from actors.local import create_actor, create_login
from actors.models import OAuthApp, OAuthToken
from tests.web.conftest import admin, remote, site  # noqa: F401  (fixtures)

CSRF = re.compile(r'<input type="hidden" name="csrf" value="([^"]+)">')


def shown(page: str, element: str) -> str:
    return html.unescape(re.search(rf'<code id="{element}">([^<]+)</code>', page).group(1))


async def create(client, csrf: str, **fields):
    data = {"csrf": csrf, "name": "Press bot", "scopes": ["read", "write"], "redirect_uri": "urn:ietf:wg:oauth:2.0:oob",
            **fields}
    return await client.post("/admin/apps", data=data)


async def test_the_page_is_linked_and_offers_a_form(admin):
    client, inst, union, csrf = admin
    assert 'href="/admin/apps"' in (await client.get("/admin/statements")).text, "in the admin nav"
    page = await client.get("/admin/apps")
    assert page.status_code == 200 and "New application" in page.text and "None yet." in page.text
    for scope in ("read", "write", "follow", "push"):
        assert f'name="scopes" value="{scope}"' in page.text
    assert "urn:ietf:wg:oauth:2.0:oob</textarea>" in page.text


async def test_logged_out_is_sent_to_login(site):
    client, inst = site
    response = await client.get("/admin/apps")
    assert response.status_code == 303 and response.headers["location"].startswith("/login")
    assert (await client.post("/admin/apps", data={"name": "x", "scopes": "read"})).status_code == 403
    assert await OAuthApp.all().count() == 0


async def test_create_shows_credentials_once_and_the_token_works(admin):
    client, inst, union, csrf = admin
    response = await create(client, csrf)
    assert response.status_code == 200 and response.headers["cache-control"] == "no-store"
    assert "shown only once" in response.text
    client_id, secret, token = (shown(response.text, name) for name in ("client_id", "client_secret", "access_token"))
    app = await OAuthApp.get(client_id=client_id).prefetch_related("owner")
    assert app.name == "Press bot" and app.scopes == "read write" and app.owner.username == "admin"
    assert app.redirect_uris == ["urn:ietf:wg:oauth:2.0:oob"]
    assert app.secret_hash == hashlib.sha256(secret.encode()).hexdigest()
    [row] = await OAuthToken.filter(app=app)
    assert row.token_hash == hashlib.sha256(token.encode()).hexdigest() and row.scopes == "read write"

    verified = await client.get("/api/v1/apps/verify_credentials", headers={"Authorization": f"Bearer {token}"})
    assert verified.status_code == 200 and verified.json()["name"] == "Press bot"

    listing = (await client.get("/admin/apps")).text
    assert "Press bot" in listing and "read write" in listing
    assert secret not in listing and token not in listing, "secrets are shown only on creation"


async def test_bad_input_stores_nothing(admin):
    client, inst, union, csrf = admin
    for fields, reason in (({"name": "  "}, "client_name is required"), ({"scopes": []}, "at least one scope"),
                           ({"redirect_uri": "javascript:alert(1)"}, "not allowed")):
        response = await create(client, csrf, **fields)
        assert response.status_code == 422 and reason in html.unescape(response.text)
    assert await OAuthApp.all().count() == 0 and await OAuthToken.all().count() == 0
    forged = await create(client, "forged")
    assert forged.status_code == 403 and await OAuthApp.all().count() == 0


async def test_delete_revokes_every_token(admin):
    client, inst, union, csrf = admin
    token = shown((await create(client, csrf)).text, "access_token")
    app = await OAuthApp.get(name="Press bot")
    response = await client.post(f"/admin/apps/{app.id}/delete", data={"csrf": csrf})
    assert response.status_code == 303 and response.headers["location"] == "/admin/apps?done=deleted"
    assert await OAuthApp.all().count() == 0 and await OAuthToken.all().count() == 0
    refused = await client.get("/api/v1/apps/verify_credentials", headers={"Authorization": f"Bearer {token}"})
    assert refused.status_code == 401


async def test_another_unions_apps_are_neither_listed_nor_deletable(admin):
    client, inst, union, csrf = admin
    other = await create_actor(username="dockers", kind="union", name="Dockers", now=inst.now())
    stranger = await create_login(username="stranger", password="x" * 12, actor=other, now=inst.now())
    made = await oauth.register_app(name="Their bot", redirect_uris=oauth.OOB, scopes="read", owner=stranger,
                                    now=inst.now())
    assert "Their bot" not in (await client.get("/admin/apps")).text
    response = await client.post(f"/admin/apps/{made.app.id}/delete", data={"csrf": csrf})
    assert response.status_code == 404 and await OAuthApp.filter(id=made.app.id).exists()


async def _authorize_over_oauth(client, name: str, website: str) -> tuple[dict, str]:
    """What Elk does: register itself (no owner), send the browser to the consent page, swap the code."""
    callback = "https://elk.example/cb"
    app = (await client.post("/api/v1/apps", data={"client_name": name, "redirect_uris": callback,
                                                   "scopes": "read write", "website": website})).json()
    query = {"client_id": app["client_id"], "redirect_uri": callback, "response_type": "code", "scope": "read write"}
    page = await client.get("/oauth/authorize", params=query)
    assert "development settings" in page.text
    form = {**dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', page.text)), "decision": "authorize"}
    code = re.search(r"code=([^&]+)", (await client.post("/oauth/authorize", data=form)).headers["location"]).group(1)
    issued = await client.post("/oauth/token", data={"grant_type": "authorization_code", "code": code,
                                                     "redirect_uri": callback, "client_id": app["client_id"],
                                                     "client_secret": app["client_secret"]})
    return app, issued.json()["access_token"]


async def test_apps_authorized_over_oauth_are_listed_and_revocable(admin):
    client, inst, union, csrf = admin
    app, token = await _authorize_over_oauth(client, "Elk", "https://elk.zone")
    auth = {"Authorization": f"Bearer {token}"}
    assert (await client.get("/api/v1/accounts/verify_credentials", headers=auth)).status_code == 200
    row = await OAuthApp.get(client_id=app["client_id"])
    assert row.owner_id is None

    page = (await client.get("/admin/apps")).text
    assert "Apps with access" in page
    [listed] = re.findall(r'<tr class="access">(.*?)</tr>', page, re.S)
    assert "Elk" in listed and 'href="https://elk.zone"' in listed and "read write" in listed
    assert " UTC" in listed, "last used: the call above"
    assert f'action="/admin/apps/{row.id}/revoke"' in listed

    assert (await client.post(f"/admin/apps/{row.id}/revoke", data={"csrf": "forged"})).status_code == 403
    assert (await client.get("/api/v1/accounts/verify_credentials", headers=auth)).status_code == 200
    response = await client.post(f"/admin/apps/{row.id}/revoke", data={"csrf": csrf})
    assert response.status_code == 303 and response.headers["location"] == "/admin/apps?done=revoked"
    assert (await client.get("/api/v1/accounts/verify_credentials", headers=auth)).status_code == 401
    assert await OAuthApp.filter(id=row.id).exists(), "the app row stays"
    page = (await client.get("/admin/apps?done=revoked")).text
    assert "access is revoked" in page and '<tr class="access">' not in page


async def test_revoking_leaves_another_unions_tokens_alone(admin):
    client, inst, union, csrf = admin
    app, token = await _authorize_over_oauth(client, "Elk", "")
    row = await OAuthApp.get(client_id=app["client_id"])
    other = await create_actor(username="dockers", kind="union", name="Dockers", now=inst.now())
    stranger = await create_login(username="stranger", password="x" * 12, actor=other, now=inst.now())
    theirs = await oauth.issue_for_owner(row, stranger, inst.now())
    assert (await client.post(f"/admin/apps/{row.id}/revoke", data={"csrf": csrf})).status_code == 303
    assert await oauth.authenticate(theirs.access_token, inst.now()) is not None
    assert await oauth.authenticate(token, inst.now()) is None
    again = await client.post(f"/admin/apps/{row.id}/revoke", data={"csrf": csrf})
    assert again.status_code == 404, "nothing left to revoke for this union"
