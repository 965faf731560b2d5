"""GET/POST /oauth/authorize: the login + consent page a Mastodon app opens in the browser.

A request naming an unknown client or an unregistered redirect URI gets an HTML 400 page and is
never redirected (that would make us an open redirector). Neither is a malformed request from a
known app (bad response_type, scope, PKCE challenge): an attacker can register any redirect URI,
so we redirect only once the user has acted (Deny -> access_denied, Authorize -> code). Logging in here checks the password under the
same throttling as /login but does not open an admin session: the app gets a code, the browser
nothing more."""
from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from markupsafe import escape
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from actors import oauth
from actors.local import check_login, get_union
from actors.models import Login, LoginAttempt, OAuthApp
from actors.oauth import OOB, OAuthError
from web.api.common import MAX_BODY, ApiError, read_body
from web.auth import (CSRF_FAILED, THROTTLED, WRONG_CREDENTIALS, attempt_keys, csrf_ok, current_login,
                      record_failure, render_form, throttled_for)

# What each top-level scope lets the app do, in the consent page's words.
SCOPE_WORDS = {
    "read": "read the timeline, notifications, followers and profile",
    "write": "publish, edit, delete, boost and like as the union; change its profile",
    "follow": "follow, unfollow and block accounts",
    "push": "receive push notifications",
    "profile": "see which account is logged in",
}
_CHALLENGE = re.compile(r"^[A-Za-z0-9._~-]{43,128}$")
_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*$")
_HOST = re.compile(r"^[a-z0-9.-]+$|^[0-9a-f:.]+$")


def too_large_page() -> HTMLResponse:
    return HTMLResponse(f"<!doctype html><title>Request too large</title><h1>Request too large</h1>"
                        f"<p>The form sent is over {MAX_BODY // 1024} KiB.</p>", status_code=413,
                        headers={"Cache-Control": "no-store"})


class Unsafe(Exception):
    """The request cannot be sent back to the app: unknown client or unregistered redirect URI."""


@dataclass
class AuthRequest:
    app: OAuthApp
    redirect_uri: str
    state: str
    scopes: list[str]
    code_challenge: str
    code_challenge_method: str


def _one(values: Mapping, name: str) -> str:
    value = values.get(name)
    return value if isinstance(value, str) else ""


async def _target(values: Mapping) -> tuple[OAuthApp, str]:
    items = values.multi_items() if hasattr(values, "multi_items") else values.items()
    if any(oauth.has_nul(k, v) for k, v in items):
        raise Unsafe("The request contains a NUL character.")
    try:
        app = await oauth.client(_one(values, "client_id"), need_secret=False)
    except OAuthError:
        raise Unsafe("No application with this client_id is registered here.")
    redirect_uri = _one(values, "redirect_uri")
    if not redirect_uri and len(app.redirect_uris) == 1:  # RFC 6749 3.1.2.3: optional when only one
        redirect_uri = app.redirect_uris[0]
    if redirect_uri not in app.redirect_uris:
        raise Unsafe("The redirect_uri is not one this application registered, so the answer cannot be sent back.")
    return app, redirect_uri


def _validate(app: OAuthApp, redirect_uri: str, values: Mapping) -> AuthRequest:
    if _one(values, "response_type") != "code":
        raise OAuthError("unsupported_response_type", "response_type must be code")
    scopes = oauth.check_authorization(app, redirect_uri, _one(values, "scope") or None)
    challenge, method = _one(values, "code_challenge"), _one(values, "code_challenge_method")
    if method and not challenge:
        raise OAuthError("invalid_request", "code_challenge_method without code_challenge")
    if challenge and method != "S256":
        raise OAuthError("invalid_request", "code_challenge_method must be S256")
    if challenge and not _CHALLENGE.match(challenge):
        raise OAuthError("invalid_request", "code_challenge must be 43 to 128 characters of [A-Za-z0-9._~-]")
    return AuthRequest(app, redirect_uri, _one(values, "state"), scopes, challenge, method)


def with_query(uri: str, **params: str) -> str:
    """The redirect URI with our parameters added to the query it already has."""
    parts = urlsplit(uri)
    query = parse_qsl(parts.query, keep_blank_values=True) + [(k, v) for k, v in params.items() if v]
    return urlunsplit(parts._replace(query=urlencode(query)))


def _back(redirect_uri: str, **params: str) -> Response:
    """The redirect to the app. Registration refuses URIs urlsplit cannot read; one stored before
    that check gets a page rather than a crash."""
    try:
        return RedirectResponse(with_query(redirect_uri, **params), status_code=302)
    except ValueError:
        return unsafe_page("The application's registered redirect URI cannot be used.")


def form_action(redirect_uri: str) -> str:
    """Chromium checks the form's `form-action` against the redirect that follows the POST, so the
    page allows the redirect URI's origin (http/https) or scheme (an app's own) besides 'self'."""
    sources = ["'self'"]
    if redirect_uri == OOB:
        return " ".join(sources)
    try:
        parts = urlsplit(redirect_uri)
        scheme, host, port = parts.scheme.lower(), (parts.hostname or ""), parts.port
    except ValueError:
        return " ".join(sources)
    if not _SCHEME.match(scheme):
        return " ".join(sources)
    if scheme in ("http", "https") and host and _HOST.match(host):
        host = f"[{host}]" if ":" in host else host
        sources.append(f"{scheme}://{host}" + (f":{port}" if port else ""))
    else:
        sources.append(f"{scheme}:")
    return " ".join(sources)


def csp(redirect_uri: str) -> str:
    return ("default-src 'none'; style-src 'self' 'unsafe-inline'; img-src 'self' https: data:; "
            f"form-action {form_action(redirect_uri)}; frame-ancestors 'none'; base-uri 'none'")


def unsafe_page(reason: str, advice: str = "Ask the application's developers to register it again.") -> HTMLResponse:
    return HTMLResponse(f"<!doctype html><title>Authorization refused</title><h1>Authorization refused</h1>"
                        f"<p>{escape(reason)}</p><p>{escape(advice)}</p>",
                        status_code=400, headers={"Cache-Control": "no-store"})


def invalid_page(exc: OAuthError) -> HTMLResponse:
    """A malformed request is shown here rather than sent back to the redirect URI: anyone can
    register an app with any redirect URI, so sending it back without the user having acted
    would make this page an open redirector (RFC 9700 4.11.2)."""
    return unsafe_page(f"{exc.error}: {exc.description}",
                       "The application sent a request this server does not accept; tell its developers.")


def scope_lines(scopes: list[str]) -> list[tuple[str, str]]:
    return [(scope, SCOPE_WORDS.get(scope, "")) for scope in scopes]


async def _page(request: Request, req: AuthRequest, *, login: Login | None, ask_password: bool, status: int = 200,
                error: str = "", username: str = "", code: str = "", denied: bool = False,
                headers: dict[str, str] | None = None) -> HTMLResponse:
    union = login.actor if login is not None else await get_union()
    response = render_form(request, "oauth_authorize.html", status=status, union=union, app=req.app, req=req,
                           scopes=scope_lines(req.scopes), login=login, ask_password=ask_password, error=error,
                           username=username, code=code, denied=denied)
    response.headers.update({"Content-Security-Policy": csp(req.redirect_uri), "Cache-Control": "no-store",
                             **(headers or {})})
    return response


async def authorize(request: Request) -> Response:
    values = request.query_params
    try:
        app, redirect_uri = await _target(values)
    except Unsafe as exc:
        return unsafe_page(str(exc))
    try:
        req = _validate(app, redirect_uri, values)
    except OAuthError as exc:
        return invalid_page(exc)
    login = await current_login(request)
    force = _one(values, "force_login").lower() in ("true", "1")
    return await _page(request, req, login=login, ask_password=force or login is None,
                       username=login.username if login is not None else "")


async def _password_login(request: Request, req: AuthRequest, form: Mapping) -> Login | Response:
    """The login behind the typed name and password, or the page again with the reason."""
    username = _one(form, "username")
    now = request.app.state.inst.now()
    keys = attempt_keys(request, username)
    wait = await throttled_for(keys, now)
    if wait:
        return await _page(request, req, login=None, ask_password=True, status=429, username=username,
                           error=THROTTLED.format(minutes=math.ceil(wait / 60)), headers={"Retry-After": str(wait)})
    login = await check_login(username, _one(form, "password"))
    if login is None:
        await record_failure(keys, now)
        return await _page(request, req, login=None, ask_password=True, status=401, username=username,
                           error=WRONG_CREDENTIALS)
    await LoginAttempt.filter(key=keys[0]).delete()
    await login.fetch_related("actor")
    return login


async def decide(request: Request) -> Response:
    try:
        await read_body(request)  # the consent form is a few hundred bytes
    except ApiError as exc:
        return too_large_page() if exc.status == 413 else unsafe_page(exc.message)
    form = await request.form()
    try:
        app, redirect_uri = await _target(form)
    except Unsafe as exc:
        return unsafe_page(str(exc))
    state = _one(form, "state")
    try:
        req = _validate(app, redirect_uri, form)
    except OAuthError as exc:
        return invalid_page(exc)
    session_login = await current_login(request)
    # The page asked for the password (no session, or force_login): then only the password counts.
    ask_password = "password" in form or session_login is None or _one(form, "force_login") == "true"
    if not await csrf_ok(request):
        return await _page(request, req, login=None if ask_password else session_login, ask_password=ask_password,
                           status=403, error=CSRF_FAILED, username=_one(form, "username"))
    if _one(form, "decision") != "authorize":
        if redirect_uri == OOB:
            return await _page(request, req, login=session_login, ask_password=False, denied=True)
        return _back(redirect_uri, error="access_denied", error_description="The user denied the request",
                     state=state)
    login = await _password_login(request, req, form) if ask_password else session_login
    if isinstance(login, Response):
        return login
    try:
        code = await oauth.issue_code(app, login, scopes=req.scopes, redirect_uri=redirect_uri,
                                      code_challenge=req.code_challenge,
                                      code_challenge_method=req.code_challenge_method,
                                      now=request.app.state.inst.now())
    except OAuthError as exc:
        return invalid_page(exc)
    if redirect_uri == OOB:
        return await _page(request, req, login=login, ask_password=False, code=code)
    return _back(redirect_uri, code=code, state=state)


routes = [Route("/oauth/authorize", authorize, methods=["GET"]), Route("/oauth/authorize", decide, methods=["POST"])]
