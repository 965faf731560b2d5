"""OAuth 2 as Mastodon serves it, without the HTTP: applications, authorization codes with
PKCE (S256), access and refresh tokens, scopes. Secrets are random and stored only as SHA-256
hashes, so a leaked database holds no usable token; the raw value is returned once.

The identity behind a token is a staff `Login`, and through it the union actor it acts for."""
from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from tortoise.transactions import in_transaction

from actors.models import LocalActor, Login, OAuthApp, OAuthCode, OAuthToken

OOB = "urn:ietf:wg:oauth:2.0:oob"
CODE_LIFETIME = timedelta(minutes=10)
# Enough for an app that registers a callback per platform; a longer list is abuse.
MAX_REDIRECT_URIS = 20
# The time a token's last use is written at most once per (a write per request would be wasteful).
TOUCH_EVERY = timedelta(minutes=5)

_GRANULAR = {
    "read": ("accounts", "blocks", "bookmarks", "favourites", "filters", "follows", "lists", "mutes",
             "notifications", "search", "statuses"),
    "write": ("accounts", "blocks", "bookmarks", "conversations", "favourites", "filters", "follows", "lists",
              "media", "mutes", "notifications", "reports", "statuses"),
}
# The legacy `follow` scope, as Mastodon defines it.
_FOLLOW = {"read:blocks", "read:follows", "read:mutes", "write:blocks", "write:follows", "write:mutes"}
SCOPES = ("read", "write", "follow", "push", "profile",
          *(f"{top}:{part}" for top, parts in _GRANULAR.items() for part in parts))


class OAuthError(ValueError):
    """`error` is the RFC 6749 code (invalid_request, invalid_client, invalid_grant, invalid_scope…)."""

    def __init__(self, error: str, description: str) -> None:
        super().__init__(description)
        self.error = error
        self.description = description


def parse_scopes(raw: str | list | None, *, default: str = "read") -> list[str]:
    """Space- or `+`-separated (or a list), in order, without repeats; unknown scopes refused."""
    if isinstance(raw, list):
        raw = " ".join(str(s) for s in raw)
    words = (raw or default).replace("+", " ").split()
    unknown = [w for w in words if w not in SCOPES]
    if unknown:
        raise OAuthError("invalid_scope", f"unknown scope: {' '.join(unknown)}")
    return list(dict.fromkeys(words)) or [default]


def allows(granted: list[str] | str, needed: str) -> bool:
    """Does a token with `granted` scopes satisfy `needed` (a granular scope such as write:statuses)?"""
    have = set(granted.split() if isinstance(granted, str) else granted)
    top = needed.split(":", 1)[0]
    return needed in have or top in have or ("follow" in have and needed in _FOLLOW)


def subset(asked: list[str], allowed: list[str]) -> bool:
    """Every asked scope is among the app's, or covered by one of them (read covers read:*)."""
    return all(allows(allowed, scope) for scope in asked)


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _secret() -> str:
    return secrets.token_urlsafe(32)


def has_nul(*values: object) -> bool:
    """PostgreSQL refuses NUL in text, so such input is refused before it reaches a query."""
    return any(isinstance(v, str) and "\x00" in v for v in values)


def _parses(uri: str) -> bool:
    """The answer is later built with urlsplit, which raises on e.g. an unclosed IPv6 bracket
    or a port out of range: such a URI must be refused now, not crash the authorize page."""
    try:
        parts = urlsplit(uri)
        parts.port  # noqa: B018  (validates the port)
    except ValueError:
        return False
    return True


def check_redirect_uris(raw: str | list | None) -> list[str]:
    """Mastodon forbids only javascript:, data: and vbscript:, so custom schemes (Tusky's
    oauth2redirect://) and the out-of-band URN pass; fragments are not allowed (RFC 6749 3.1.2)."""
    values = raw if isinstance(raw, list) else str(raw or "").split()
    uris = [str(v).strip() for v in values if str(v).strip()]
    if not uris:
        raise OAuthError("invalid_request", "redirect_uris is required")
    if len(uris) > MAX_REDIRECT_URIS:
        raise OAuthError("invalid_request", f"redirect_uris: at most {MAX_REDIRECT_URIS} are allowed")
    for uri in uris:
        scheme, sep, _ = uri.partition(":")
        if not sep or not scheme or not scheme[0].isalpha() or len(uri) > 2000 or not _parses(uri):
            raise OAuthError("invalid_request", f"redirect_uris: {uri[:100]!r} is not an absolute URI")
        if scheme.lower() in ("javascript", "data", "vbscript") or "#" in uri or has_nul(uri):
            raise OAuthError("invalid_request", f"redirect_uris: {uri[:100]!r} is not allowed")
    return list(dict.fromkeys(uris))


def _web_address(url: str) -> bool:
    try:
        parts = urlsplit(url)
        return parts.scheme in ("http", "https") and bool(parts.hostname)
    except ValueError:  # e.g. an unclosed IPv6 bracket
        return False


@dataclass
class NewApp:
    app: OAuthApp
    client_secret: str  # shown once


async def register_app(*, name: str, redirect_uris: str | list | None, scopes: str | list | None,
                       website: str = "", owner: Login | None = None, now: datetime) -> NewApp:
    if has_nul(name, website):
        raise OAuthError("invalid_request", "client_name and website must not contain NUL characters")
    name = (name or "").strip()
    if not name or len(name) > 255:
        raise OAuthError("invalid_request", "client_name is required (at most 255 characters)")
    website = (website or "").strip()
    if len(website) > 2000:
        raise OAuthError("invalid_request", "website is too long")
    # Shown as a link on the consent page: only a web address (Mastodon validates it as a URL too).
    if website and not _web_address(website):
        raise OAuthError("invalid_request", "website is not a web address (http:// or https://)")
    secret = _secret()
    app = await OAuthApp.create(name=name, website=website, redirect_uris=check_redirect_uris(redirect_uris),
                                scopes=" ".join(parse_scopes(scopes)), client_id=secrets.token_urlsafe(24),
                                secret_hash=digest(secret), owner=owner, created_at=now)
    return NewApp(app, secret)


async def client(client_id: str | None, client_secret: str | None = None, *, need_secret: bool = True) -> OAuthApp:
    """The application, authenticated by its secret when `need_secret` (always at the token endpoint
    unless PKCE stands in for it)."""
    app = await OAuthApp.filter(client_id=str(client_id)).first() if client_id and not has_nul(client_id) else None
    if app is None:
        raise OAuthError("invalid_client", "unknown client_id")
    if need_secret and not hmac.compare_digest(app.secret_hash, digest(str(client_secret or ""))):
        raise OAuthError("invalid_client", "client authentication failed")
    return app


def check_authorization(app: OAuthApp, redirect_uri: str | None, scope: str | None) -> list[str]:
    """Validates an authorization request; returns the scopes to grant."""
    if not redirect_uri or redirect_uri not in app.redirect_uris:
        raise OAuthError("invalid_request", "redirect_uri is not one this application registered")
    asked = parse_scopes(scope, default=app.scopes)
    if not subset(asked, app.scopes.split()):
        raise OAuthError("invalid_scope", "the requested scope is more than the application registered")
    return asked


async def issue_code(app: OAuthApp, login: Login, *, scopes: list[str], redirect_uri: str,
                     code_challenge: str = "", code_challenge_method: str = "", now: datetime) -> str:
    if code_challenge and (code_challenge_method or "plain") != "S256":
        raise OAuthError("invalid_request", "code_challenge_method must be S256")
    if code_challenge and not (43 <= len(code_challenge) <= 128):
        raise OAuthError("invalid_request", "code_challenge must be 43 to 128 characters")
    code = _secret()
    await OAuthCode.create(code_hash=digest(code), app=app, login=login, scopes=" ".join(scopes),
                           redirect_uri=redirect_uri, code_challenge=code_challenge,
                           expires_at=now + CODE_LIFETIME)
    return code


def _s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


@dataclass
class Issued:
    token: OAuthToken
    access_token: str
    refresh_token: str | None


async def _issue(app: OAuthApp, login: Login | None, scopes: str, now: datetime, *,
                 refreshable: bool = True, code_id: int | None = None) -> Issued:
    access, refresh = _secret(), (_secret() if login is not None and refreshable else None)
    row = await OAuthToken.create(token_hash=digest(access), refresh_hash=digest(refresh) if refresh else None,
                                  app=app, login=login, scopes=scopes, created_at=now, code_id=code_id)
    return Issued(row, access, refresh)


async def exchange_code(*, client_id: str | None, client_secret: str | None, code: str | None,
                        redirect_uri: str | None, code_verifier: str | None, now: datetime) -> Issued:
    """authorization_code grant. A public client may prove itself with PKCE instead of its secret;
    a code that was issued with a challenge always needs the right verifier."""
    app = await client(client_id, need_secret=False)
    replayed = None
    async with in_transaction():
        row = await OAuthCode.filter(code_hash=digest(str(code or "")), app=app).select_for_update().first()
        if row is not None and row.used:
            replayed = row
        elif row is None or row.expires_at < now:
            raise OAuthError("invalid_grant", "the authorization code is unknown, used or expired")
        # RFC 6749 4.1.3: required, and identical, whenever the authorization request had it
        # (ours always does: the code remembers the one it was sent to).
        if row.redirect_uri != (redirect_uri or ""):
            raise OAuthError("invalid_grant", "redirect_uri differs from the authorization request")
        authenticated = True
        if row.code_challenge:
            if not code_verifier or not hmac.compare_digest(_s256(code_verifier), row.code_challenge):
                raise OAuthError("invalid_grant", "code_verifier does not match the code_challenge")
            if client_secret:
                await client(client_id, client_secret)
            else:
                authenticated = False
        else:
            await client(client_id, client_secret)
        if replayed is None:
            row.used = True
            await row.save(update_fields=["used"])
            login = await Login.get(id=row.login_id)
            # refresh() needs the secret: a public client that never showed it gets no refresh token.
            return await _issue(app, login, row.scopes, now, refreshable=authenticated, code_id=row.id)
    # RFC 6749 4.1.2: a code used twice was probably stolen; what it gave is revoked.
    await OAuthToken.filter(code=replayed, revoked_at=None).update(revoked_at=now)
    raise OAuthError("invalid_grant", "the authorization code is unknown, used or expired")


async def client_credentials(*, client_id: str | None, client_secret: str | None, scope: str | None,
                             now: datetime) -> Issued:
    app = await client(client_id, client_secret)
    asked = parse_scopes(scope, default=app.scopes)
    if not subset(asked, app.scopes.split()):
        raise OAuthError("invalid_scope", "the requested scope is more than the application registered")
    return await _issue(app, None, " ".join(asked), now)


async def refresh(*, client_id: str | None, client_secret: str | None, refresh_token: str | None,
                  now: datetime) -> Issued:
    """Rotates: the old access and refresh tokens stop working, a new pair is issued."""
    app = await client(client_id, client_secret)
    async with in_transaction():
        old = await OAuthToken.filter(refresh_hash=digest(str(refresh_token or "")), app=app,
                                      revoked_at=None).select_for_update().first()
        if old is None or old.login_id is None:
            raise OAuthError("invalid_grant", "the refresh token is unknown or revoked")
        old.revoked_at = now
        await old.save(update_fields=["revoked_at"])
        return await _issue(app, await Login.get(id=old.login_id), old.scopes, now, code_id=old.code_id)


async def issue_for_owner(app: OAuthApp, login: Login, now: datetime) -> Issued:
    """The development settings page's token: the app's own scopes, for its owner."""
    return await _issue(app, login, app.scopes, now)


async def revoke(*, client_id: str | None, client_secret: str | None, token: str | None, now: datetime) -> None:
    """RFC 7009: an unknown token is not an error; only the app's own tokens are revoked."""
    app = await client(client_id, client_secret)
    hashed = digest(str(token or ""))
    await (OAuthToken.filter(app=app, revoked_at=None)
           .filter(token_hash=hashed).update(revoked_at=now))
    await (OAuthToken.filter(app=app, revoked_at=None)
           .filter(refresh_hash=hashed).update(revoked_at=now))


@dataclass
class Grant:
    token: OAuthToken
    app: OAuthApp
    scopes: list[str]
    login: Login | None
    actor: LocalActor | None

    def allows(self, needed: str) -> bool:
        return allows(self.scopes, needed)


async def authenticate(raw: str, now: datetime) -> Grant | None:
    """The grant behind a bearer token, or None (unknown, revoked, or its login deleted)."""
    if not raw or len(raw) > 256:
        return None
    row = await (OAuthToken.filter(token_hash=digest(raw), revoked_at=None)
                 .select_related("app", "login", "login__actor").first())
    if row is None:
        return None
    if row.last_used_at is None or now - row.last_used_at > TOUCH_EVERY:
        await OAuthToken.filter(id=row.id).update(last_used_at=now)
    login = row.login
    return Grant(row, row.app, row.scopes.split(), login, login.actor if login else None)
