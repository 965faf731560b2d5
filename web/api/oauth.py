"""OAuth 2 over HTTP as Mastodon serves it: app registration (POST /api/v1/apps), the token and
revocation endpoints, the authorization server metadata, and the app's own credentials check.
The authorize page (login + consent) is in web/api/oauth_page.py. The rules themselves (scopes,
PKCE, hashing, rotation) live in actors/oauth.py; this module only turns HTTP into calls on it."""
from __future__ import annotations

import base64
from urllib.parse import unquote_plus

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from actors import oauth
from actors.models import OAuthApp
from actors.oauth import OAuthError
from web.api import oauth_page
from web.api.common import ApiError, Params, api, error, grant_of, params, read_body

# Token responses must never be cached (RFC 6749 5.1).
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
GRANT_TYPES = ("authorization_code", "client_credentials", "refresh_token")


def application(app: OAuthApp, *, secret: str | None = None) -> dict:
    """The Application entity; the client secret only in the registration answer (it is stored hashed)."""
    entity = {"id": str(app.id), "name": app.name, "website": app.website or None, "scopes": app.scopes.split(),
              "redirect_uri": "\n".join(app.redirect_uris), "redirect_uris": list(app.redirect_uris),
              "client_id": app.client_id, "vapid_key": ""}
    if secret is not None:
        entity.update(client_secret=secret, client_secret_expires_at=0)
    return entity


async def _params(request: Request) -> Params:
    """common.params (which caps JSON and form bodies at MAX_BODY and refuses NUL characters),
    with multipart held to the same cap: these endpoints take anonymous requests and no file."""
    await read_body(request)
    return await params(request)


def _strings(p: Params, name: str) -> list[str]:
    """Every value of a parameter sent as a string, an array (`name[]=` or JSON) or repeated."""
    values = p.getlist(name)
    if any(not isinstance(v, str) for v in values):
        raise ApiError(422, f"{name} must be a string or an array of strings")
    return values


# --- POST /api/v1/apps, GET /api/v1/apps/verify_credentials --------------------------------

async def create_app(request: Request) -> Response:
    try:
        p = await _params(request)
        # Redirect URIs contain no whitespace, so a multi-line string, an array and repeated
        # fields all come down to one whitespace-separated list.
        uris = "\n".join(_strings(p, "redirect_uris"))
        scopes = " ".join(_strings(p, "scopes")) or None
        made = await oauth.register_app(name=p.text("client_name"), redirect_uris=uris, scopes=scopes,
                                        website=p.text("website"), now=request.app.state.inst.now())
    except ApiError as exc:
        if exc.status == 413:
            return error(413, exc.message)
        return error(422, f"Validation failed: {exc.message}")
    except OAuthError as exc:
        return error(422, f"Validation failed: {exc.description}")
    return JSONResponse(application(made.app, secret=made.client_secret))


@api(None, user=False)
async def verify_app(request: Request) -> Response:
    grant = grant_of(request)
    if grant is None:
        return error(401, "The access token is invalid")
    return JSONResponse(application(grant.app))


# --- POST /oauth/token, POST /oauth/revoke ---------------------------------------------------

def oauth_error(exc: OAuthError, *, basic: bool = False, status: int | None = None) -> JSONResponse:
    """RFC 6749 5.2: 401 for a client that failed to authenticate, 400 for everything else."""
    status = status or (401 if exc.error == "invalid_client" else 400)
    headers = dict(NO_STORE)
    if status == 401 and basic:
        headers["WWW-Authenticate"] = 'Basic realm="oauth"'
    return JSONResponse({"error": exc.error, "error_description": exc.description}, status_code=status,
                        headers=headers)


def _basic(request: Request) -> tuple[str, str] | None:
    """Client credentials from `Authorization: Basic` (RFC 6749 2.3.1: each part form-encoded)."""
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode()
    except ValueError:  # binascii.Error, UnicodeDecodeError, and non-ASCII input to b64decode
        raise OAuthError("invalid_client", "the Basic credentials are not valid base64 of id:secret")
    client_id, sep, secret = decoded.partition(":")
    if not sep:
        raise OAuthError("invalid_client", "the Basic credentials are not id:secret")
    return unquote_plus(client_id), unquote_plus(secret)


def _client_credentials(request: Request, p: Params) -> tuple[str, str]:
    basic = _basic(request)
    if basic is None:
        return p.text("client_id"), p.text("client_secret")
    if p.text("client_id") and p.text("client_id") != basic[0]:
        raise OAuthError("invalid_request", "client_id differs from the one in the Authorization header")
    return basic


async def token(request: Request) -> Response:
    basic = request.headers.get("authorization", "").lower().startswith("basic ")
    try:
        p = await _params(request)
        client_id, client_secret = _client_credentials(request, p)
        grant_type = p.text("grant_type")
        now = request.app.state.inst.now()
        if grant_type == "authorization_code":
            issued = await oauth.exchange_code(client_id=client_id, client_secret=client_secret,
                                               code=p.text("code"), redirect_uri=p.text("redirect_uri") or None,
                                               code_verifier=p.text("code_verifier") or None, now=now)
        elif grant_type == "client_credentials":
            issued = await oauth.client_credentials(client_id=client_id, client_secret=client_secret,
                                                    scope=p.text("scope") or None, now=now)
        elif grant_type == "refresh_token":
            issued = await oauth.refresh(client_id=client_id, client_secret=client_secret,
                                         refresh_token=p.text("refresh_token"), now=now)
        elif not grant_type:
            raise OAuthError("invalid_request", "grant_type is required")
        else:
            raise OAuthError("unsupported_grant_type",
                             f"grant_type must be one of {', '.join(GRANT_TYPES)}")
    except ApiError as exc:
        return oauth_error(OAuthError("invalid_request", exc.message), status=413 if exc.status == 413 else 400)
    except OAuthError as exc:
        return oauth_error(exc, basic=basic)
    answer = {"access_token": issued.access_token, "token_type": "Bearer", "scope": issued.token.scopes,
              "created_at": int(issued.token.created_at.timestamp())}
    if issued.refresh_token:
        answer["refresh_token"] = issued.refresh_token
    return JSONResponse(answer, headers=NO_STORE)


async def revoke(request: Request) -> Response:
    """RFC 7009: the client authenticates; an unknown token is not an error (nothing to tell)."""
    basic = request.headers.get("authorization", "").lower().startswith("basic ")
    try:
        p = await _params(request)
        client_id, client_secret = _client_credentials(request, p)
        if not p.text("token"):
            raise OAuthError("invalid_request", "token is required")
        await oauth.revoke(client_id=client_id, client_secret=client_secret, token=p.text("token"),
                           now=request.app.state.inst.now())
    except ApiError as exc:
        return oauth_error(OAuthError("invalid_request", exc.message), status=413 if exc.status == 413 else 400)
    except OAuthError as exc:
        return oauth_error(exc, basic=basic)
    return JSONResponse({}, headers=NO_STORE)


# --- GET /.well-known/oauth-authorization-server (RFC 8414) ----------------------------------

async def metadata(request: Request) -> Response:
    base = request.app.state.inst.urls.base
    return JSONResponse({
        "issuer": f"{base}/",
        "authorization_endpoint": f"{base}/oauth/authorize",
        "token_endpoint": f"{base}/oauth/token",
        "revocation_endpoint": f"{base}/oauth/revoke",
        "app_registration_endpoint": f"{base}/api/v1/apps",
        "scopes_supported": list(oauth.SCOPES),
        "response_types_supported": ["code"],
        # Only the query: the code is never put in a fragment or posted by a form of ours.
        "response_modes_supported": ["query"],
        "grant_types_supported": list(GRANT_TYPES),
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "code_challenge_methods_supported": ["S256"],
        "service_documentation": "https://docs.joinmastodon.org/",
    }, headers={"Cache-Control": "max-age=3600, public"})


routes = [
    Route("/api/v1/apps", create_app, methods=["POST"]),
    Route("/api/v1/apps/verify_credentials", verify_app, methods=["GET"]),
    *oauth_page.routes,
    Route("/oauth/token", token, methods=["POST"]),
    Route("/oauth/revoke", revoke, methods=["POST"]),
    Route("/.well-known/oauth-authorization-server", metadata, methods=["GET"]),
]
