"""Admin login over HTTP: sessions, CSRF, throttling, logout, the admin gate."""
from __future__ import annotations

import re

import httpx
import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from actors.local import create_login, get_by_username
from actors.models import InstanceSetting, LoginAttempt
from web import admin, auth
from web.auth import SESSION_COOKIE, require_login

PASSWORD = "correct horse battery staple"
CSRF = re.compile(r'<input type="hidden" name="csrf" value="([^"]+)">')


@pytest.fixture
async def admin_site(site):
    client, inst = site
    union = await get_by_username("sud_rail")
    await create_login(username="admin", password=PASSWORD, actor=union, now=inst.now())
    return client, inst


async def form_token(client, path: str = "/login") -> str:
    response = await client.get(path)
    assert response.status_code == 200
    match = CSRF.search(response.text)
    assert match, "the form carries a CSRF token"
    return match.group(1)


async def log_in(client, password: str = PASSWORD, username: str = "admin"):
    token = await form_token(client)
    return await client.post("/login", data={"username": username, "password": password, "csrf": token})


async def test_login_then_admin_shows_the_union(admin_site):
    client, _ = admin_site
    response = await log_in(client)
    assert response.status_code == 303 and response.headers["location"] == "/admin"
    home = await client.get("/admin")
    assert home.status_code == 200
    assert "Logged in as <strong>admin</strong>" in home.text and "@sud_rail@ours.example" in home.text


async def test_login_follows_a_local_next_but_never_another_site(admin_site):
    client, _ = admin_site
    token = await form_token(client)
    ok = await client.post("/login", data={"username": "admin", "password": PASSWORD, "csrf": token,
                                           "next": "/admin?x=1"})
    assert ok.headers["location"] == "/admin?x=1"
    client.cookies.clear()
    token = await form_token(client)
    evil = await client.post("/login", data={"username": "admin", "password": PASSWORD, "csrf": token,
                                             "next": "//evil.example/"})
    assert evil.headers["location"] == "/admin"


async def test_wrong_password_is_401_and_stays_logged_out(admin_site):
    client, _ = admin_site
    response = await log_in(client, password="nope")
    assert response.status_code == 401
    assert "Wrong login name or password." in response.text
    assert CSRF.search(response.text), "the form is shown again, ready for another try"
    # An unknown login name gets exactly the same answer.
    unknown = await log_in(client, username="nobody")
    assert unknown.status_code == 401 and "Wrong login name or password." in unknown.text
    gate = await client.get("/admin")
    assert gate.status_code == 303 and gate.headers["location"].startswith("/login")


async def test_sixth_attempt_is_throttled_until_the_window_passes(admin_site):
    client, inst = admin_site
    for _ in range(5):
        assert (await log_in(client, password="wrong")).status_code == 401
    throttled = await log_in(client, password="wrong")
    assert throttled.status_code == 429
    assert int(throttled.headers["retry-after"]) == 15 * 60
    assert "Too many failed login attempts" in throttled.text
    # Even the right password is refused (not even checked) while throttled.
    right = await log_in(client)
    assert right.status_code == 429 and (await client.get("/admin")).status_code == 303
    inst.clock.advance(minutes=5)
    assert int((await log_in(client)).headers["retry-after"]) == 10 * 60
    inst.clock.advance(minutes=11)
    response = await log_in(client)
    assert response.status_code == 303
    assert (await client.get("/admin")).status_code == 200
    # Success clears the login name's failures (the address keeps its own count).
    assert not await LoginAttempt.filter(key="user:admin").exists()


async def test_throttled_by_address_across_login_names(admin_site):
    client, _ = admin_site
    for n in range(5):
        assert (await log_in(client, username=f"guess{n}", password="x")).status_code == 401
    response = await log_in(client)
    assert response.status_code == 429 and "retry-after" in response.headers


async def test_throttled_by_login_name_across_addresses(admin_site):
    client, _ = admin_site
    for n in range(5):
        await LoginAttempt.create(key="user:admin", at=admin_site[1].now())
    response = await log_in(client)
    assert response.status_code == 429
    # A differently-cased login name is the same name for throttling.
    assert (await log_in(client, username="ADMIN")).status_code == 429


async def test_logout_needs_the_token(admin_site):
    client, _ = admin_site
    assert (await log_in(client)).status_code == 303
    refused = await client.post("/logout", data={})
    assert refused.status_code == 403
    assert "the form has expired or was not sent from this site" in refused.text.lower()
    forged = await client.post("/logout", data={"csrf": "forged"})
    assert forged.status_code == 403
    assert (await client.get("/admin")).status_code == 200, "still logged in"
    token = await form_token(client, "/admin")
    response = await client.post("/logout", data={"csrf": token})
    assert response.status_code == 303
    gate = await client.get("/admin")
    assert gate.status_code == 303 and gate.headers["location"] == "/login?next=%2Fadmin"


async def test_login_without_csrf_is_refused_and_logs_nobody_in(admin_site):
    client, _ = admin_site
    await client.get("/login")  # a pre-session exists, but the token is not sent
    response = await client.post("/login", data={"username": "admin", "password": PASSWORD})
    assert response.status_code == 403
    assert "the form has expired" in response.text.lower()
    assert (await client.get("/admin")).status_code == 303
    # Without any session at all, too.
    client.cookies.clear()
    response = await client.post("/login", data={"username": "admin", "password": PASSWORD, "csrf": "x"})
    assert response.status_code == 403
    assert not await LoginAttempt.exists(), "a refused form is not a login attempt"


async def test_admin_gate_when_logged_out(admin_site):
    client, _ = admin_site
    response = await client.get("/admin")
    assert response.status_code == 303 and response.headers["location"] == "/login?next=%2Fadmin"
    assert "Logged in as" not in response.text


@pytest.fixture
async def guarded(admin_site):
    """A state-changing admin route behind `require_login` (the real ones come with the composer)."""
    _, inst = admin_site
    changes: list[str] = []

    @require_login
    async def change(request):
        changes.append((await request.form())["what"])
        return PlainTextResponse("done")

    app = Starlette(routes=auth.routes + admin.routes + [Route("/admin/change", change, methods=["GET", "POST"])],
                    middleware=[Middleware(auth.Sessions, https_only=True)])
    app.state.inst = inst
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="https://ours.example") as client:
        yield client, changes


async def test_require_login_on_a_state_changing_route(guarded):
    client, changes = guarded
    logged_out = await client.post("/admin/change", data={"what": "x"})
    assert logged_out.status_code == 403 and changes == []
    get = await client.get("/admin/change?a=1")
    assert get.status_code == 303 and get.headers["location"] == "/login?next=%2Fadmin%2Fchange%3Fa%3D1"
    assert (await log_in(client)).status_code == 303
    no_token = await client.post("/admin/change", data={"what": "x"})
    assert no_token.status_code == 403 and "reload the page" in no_token.text and changes == []
    token = await form_token(client, "/admin")
    ok = await client.post("/admin/change", data={"what": "y", "csrf": token})
    assert ok.status_code == 200 and changes == ["y"]


async def test_session_cookie_flags(admin_site):
    client, _ = admin_site
    response = await log_in(client)
    cookie = next(v for k, v in response.headers.multi_items()
                  if k == "set-cookie" and v.startswith(f"{SESSION_COOKIE}="))
    flags = {part.strip().lower() for part in cookie.split(";")}
    assert "httponly" in flags and "samesite=lax" in flags
    assert "secure" in flags, "the instance is served over https"
    assert f"max-age={14 * 24 * 3600}" in flags


async def test_session_secret_is_shared_through_the_database(admin_site):
    client, _ = admin_site
    await client.get("/login")
    secret = await InstanceSetting.get(key="session_secret")
    assert len(secret.value) >= 64
