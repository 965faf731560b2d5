"""What the OAuth tests share: registering an app over the API and driving the real authorize
page (GET it, POST its own form back) the way a browser does for Phanpy or Elk."""
from __future__ import annotations

import base64
import hashlib
import html
import re
from urllib.parse import parse_qs, urlsplit

PASSWORD = "correct horse battery staple"  # the `staff` login's (tests/web/api/conftest.py)
CALLBACK = "https://app.example/callback?keep=1"
HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)">')


def s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


def hidden_fields(page: str) -> dict[str, str]:
    return {name: html.unescape(value) for name, value in HIDDEN.findall(page)}


async def register(client, **body) -> dict:
    body = {"client_name": "Phanpy", "redirect_uris": CALLBACK, "scopes": "read write follow push", **body}
    response = await client.post("/api/v1/apps", json=body)
    assert response.status_code == 200, response.text
    return response.json()


async def authorize(client, app: dict, *, verifier: str | None = None, scope: str = "read write follow push",
                    redirect_uri: str = CALLBACK, decision: str = "authorize", login: bool = True, **extra):
    """GET the real page, then POST its own form back (with the staff login's password)."""
    query = {"response_type": "code", "client_id": app["client_id"], "redirect_uri": redirect_uri,
             "scope": scope, "state": "st4te", **extra}
    if verifier:
        query.update(code_challenge=s256(verifier), code_challenge_method="S256")
    page = await client.get("/oauth/authorize", params=query)
    assert page.status_code == 200, page.text
    form = {**hidden_fields(page.text), "decision": decision}
    if login:
        form.update(username="staff", password=PASSWORD)
    return page, await client.post("/oauth/authorize", data=form)


def code_of(response) -> str:
    assert response.status_code == 302, response.text
    location = response.headers["location"]
    assert location.startswith("https://app.example/callback?")
    query = parse_qs(urlsplit(location).query)
    assert query["keep"] == ["1"] and query["state"] == ["st4te"]
    return query["code"][0]


async def exchange(client, app: dict, code: str, verifier: str | None, **extra):
    body = {"grant_type": "authorization_code", "code": code, "client_id": app["client_id"],
            "redirect_uri": CALLBACK, **extra}
    if verifier:
        body["code_verifier"] = verifier
    return await client.post("/oauth/token", data=body)


def bearer(value: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {value}"}

