"""Admin login: signed session cookie, CSRF tokens, login throttling, `require_login`.

The session lives in a cookie signed with a secret kept in the database (`InstanceSetting`
"session_secret"), so every web process of a scale-out accepts every other's cookies.
"""
from __future__ import annotations

import asyncio
import functools
import hashlib
import math
import secrets
from collections.abc import Awaitable, Callable
from datetime import timedelta
from urllib.parse import quote

from markupsafe import Markup, escape
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send
from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q

from actors.local import check_login, get_union
from actors.models import InstanceSetting, Login, LoginAttempt
from web.pages import render

SESSION_SECRET = "session_secret"
SESSION_COOKIE = "unionhall_session"
SESSION_MAX_AGE = 14 * 24 * 60 * 60

MAX_FAILURES = 5
WINDOW = timedelta(minutes=15)

WRONG_CREDENTIALS = "Wrong login name or password."
THROTTLED = "Too many failed login attempts. Wait {minutes} minute(s) and try again."
CSRF_FAILED = "The form has expired or was not sent from this site; reload the page and try again."


# --- sessions ---------------------------------------------------------------------------

async def session_secret() -> str:
    """The instance-wide secret that signs session cookies, created on first use."""
    row = await InstanceSetting.filter(key=SESSION_SECRET).first()
    if row is not None:
        return row.value
    try:
        await InstanceSetting.create(key=SESSION_SECRET, value=secrets.token_urlsafe(48))
    except IntegrityError:  # another process created it first: use theirs
        pass
    return (await InstanceSetting.get(key=SESSION_SECRET)).value


class Sessions:
    """SessionMiddleware built on the first request, once the database (and the secret) is there."""

    def __init__(self, app: ASGIApp, *, https_only: bool) -> None:
        self.app = app
        self.https_only = https_only
        self._inner: ASGIApp | None = None
        self._lock = asyncio.Lock()

    async def _build(self) -> ASGIApp:
        async with self._lock:
            if self._inner is None:
                self._inner = SessionMiddleware(
                    self.app, secret_key=await session_secret(), session_cookie=SESSION_COOKIE,
                    max_age=SESSION_MAX_AGE, same_site="lax", https_only=self.https_only)
            return self._inner

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            return await self.app(scope, receive, send)
        inner = self._inner or await self._build()
        await inner(scope, receive, send)


# --- CSRF -------------------------------------------------------------------------------

def csrf_token(request: Request) -> str:
    """This session's CSRF token (created on first use; a pre-session works for the login form)."""
    token = request.session.get("csrf")
    if not token:
        token = request.session["csrf"] = secrets.token_urlsafe(32)
    return token


def csrf_field(request: Request) -> Markup:
    return Markup('<input type="hidden" name="csrf" value="{}">').format(escape(csrf_token(request)))


async def csrf_ok(request: Request) -> bool:
    expected = request.session.get("csrf")
    sent = (await request.form()).get("csrf")
    return bool(expected) and isinstance(sent, str) and secrets.compare_digest(sent, expected)


def render_form(request: Request, name: str, status: int = 200, **context) -> HTMLResponse:
    """`pages.render` plus `csrf_field`, the hidden input every form must carry."""
    return render(request, name, status=status, csrf_field=csrf_field(request), **context)


def csrf_refused(request: Request) -> HTMLResponse:
    return HTMLResponse(f"<!doctype html><title>Form refused</title><p>{escape(CSRF_FAILED)}</p>", status_code=403)


# --- who is logged in -------------------------------------------------------------------

def _fingerprint(login: Login) -> str:
    # Changing the password changes the hash, which ends every session of that login.
    return hashlib.sha256(login.password_hash.encode()).hexdigest()[:16]


async def current_login(request: Request) -> Login | None:
    login_id = request.session.get("login")
    if not isinstance(login_id, int):
        return None
    login = await Login.filter(id=login_id).select_related("actor").first()
    if login is None or request.session.get("pw") != _fingerprint(login):
        return None
    return login


def require_login(endpoint: Callable[[Request], Awaitable[Response]]) -> Callable[[Request], Awaitable[Response]]:
    """For admin routes. Logged out: GET/HEAD -> 303 to /login?next=..., anything else -> 403.
    Every other method also needs the session's CSRF token in the form (403 otherwise), so a
    state-changing admin form cannot skip the check. The login is at `request.state.login`."""

    @functools.wraps(endpoint)
    async def wrapper(request: Request) -> Response:
        login = await current_login(request)
        safe = request.method in ("GET", "HEAD")
        if login is None:
            if safe:
                target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
                return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)
            return HTMLResponse("<!doctype html><title>Not logged in</title><p>You are not logged in.</p>",
                                status_code=403)
        if not safe and not await csrf_ok(request):
            return csrf_refused(request)
        request.state.login = login
        return await endpoint(request)

    return wrapper


# --- throttling -------------------------------------------------------------------------

def attempt_keys(request: Request, username: str) -> list[str]:
    keys = [f"user:{username.strip().lower()[:200]}"]
    if request.client and request.client.host:
        keys.append(f"addr:{request.client.host[:200]}")
    return keys


async def throttled_for(keys: list[str], now, *, limit: int = MAX_FAILURES, window: timedelta = WINDOW) -> int:
    """Seconds until a new attempt is allowed (0: allowed now). Other counters in the same table
    (web/meetings.py: registrations per address) pass their own limit and window."""
    wait = 0.0
    for key in keys:
        recent = await (LoginAttempt.filter(key=key, at__gt=now - window)
                        .order_by("-at").limit(limit).values_list("at", flat=True))
        if len(recent) >= limit:
            # Allowed again once the oldest of the last `limit` leaves the window.
            wait = max(wait, (recent[-1] + window - now).total_seconds())
    return math.ceil(wait) if wait > 0 else 0


async def record_failure(keys: list[str], now) -> None:
    # Housekeeping of the login counters only (the window is all they need); other counters keep theirs.
    await LoginAttempt.filter(Q(key__startswith="user:") | Q(key__startswith="addr:"), at__lte=now - WINDOW).delete()
    await LoginAttempt.bulk_create([LoginAttempt(key=key, at=now) for key in keys])


# --- routes -----------------------------------------------------------------------------

def safe_next(value: str | None) -> str:
    """Only a local path: never another site (`//evil`, `/\\evil`, `https://…`)."""
    if not value or not value.startswith("/") or value.startswith(("//", "/\\")):
        return "/admin"
    return value


async def login_form(request: Request, *, status: int = 200, error: str = "", username: str = "",
                     headers: dict[str, str] | None = None) -> HTMLResponse:
    next_url = safe_next(request.query_params.get("next"))
    if request.method == "POST":
        next_url = safe_next((await request.form()).get("next"))
    response = render_form(request, "login.html", status=status, union=await get_union(), error=error,
                           username=username, next_url=next_url)
    response.headers.update(headers or {})
    return response


async def login_page(request: Request) -> Response:
    if request.method == "GET":
        return await login_form(request)
    form = await request.form()
    username = str(form.get("username") or "")
    if not await csrf_ok(request):
        return await login_form(request, status=403, error=CSRF_FAILED, username=username)
    inst = request.app.state.inst
    now = inst.now()
    keys = attempt_keys(request, username)
    wait = await throttled_for(keys, now)
    if wait:
        return await login_form(request, status=429, error=THROTTLED.format(minutes=math.ceil(wait / 60)),
                                username=username, headers={"Retry-After": str(wait)})
    login = await check_login(username, str(form.get("password") or ""))
    if login is None:
        await record_failure(keys, now)
        return await login_form(request, status=401, error=WRONG_CREDENTIALS, username=username)
    await LoginAttempt.filter(key=keys[0]).delete()
    next_url = safe_next(form.get("next"))
    # A fresh session (and CSRF token) on login: nothing planted before login survives it.
    request.session.clear()
    request.session.update(login=login.id, pw=_fingerprint(login), csrf=secrets.token_urlsafe(32))
    return RedirectResponse(next_url, status_code=303)


async def logout(request: Request) -> Response:
    if not await csrf_ok(request):
        return csrf_refused(request)
    request.session.clear()
    return RedirectResponse("/login", status_code=303)


routes = [
    Route("/login", login_page, methods=["GET", "POST"]),
    Route("/logout", logout, methods=["POST"]),
]
