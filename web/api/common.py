"""What every Mastodon API endpoint shares: bearer-token authentication with scope checks,
JSON errors in Mastodon's shape, request parameters from the query, a form or a JSON body,
Link-header pagination, and the account ids the API shows."""
from __future__ import annotations

import functools
import json
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode

from starlette.datastructures import FormData, UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from tortoise.queryset import QuerySet

from actors.models import LocalActor
from actors.oauth import Grant, authenticate
from content import media

DEFAULT_LIMIT = 20
MAX_LIMIT = 40
# Local actors are few (the union, the instance actor); their account ids sit above every
# remote actor's row id so the two tables share one id space.
LOCAL_ACCOUNT_BASE = 10**15
# The largest value of a BigIntField and of an IntField (PostgreSQL refuses anything above
# with "out of range": an id or cursor is range-checked before it reaches a query).
BIGINT_MAX = 2**63 - 1
INT_MAX = 2**31 - 1
# ASCII digits only: str.isdigit() also accepts "²" or "٣", which int() then refuses or reads.
_ID = re.compile(r"[0-9]{1,19}")
# A JSON or urlencoded body is a few fields; uploads (multipart) have their own, larger limit.
MAX_BODY = 64 * 1024
MAX_MULTIPART = media.MAX_DOCUMENT_BYTES + 2 * media.MB

Endpoint = Callable[[Request], Awaitable[Response]]


class ApiError(Exception):
    """Raised anywhere under an endpoint: answered as {"error": message} with `status`."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def not_found() -> ApiError:
    return ApiError(404, "Record not found")


def bearer(request: Request) -> str | None:
    """The token from `Authorization: Bearer …`, or `access_token` in the query (WebSocket style)."""
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return request.query_params.get("access_token") or None


def api(scope: str | None = None, *, user: bool = True) -> Callable[[Endpoint], Endpoint]:
    """Guards an endpoint. `user`: a token acting for a login is required (401 otherwise).
    `scope`: the granular scope needed (e.g. "write:statuses"); a token without it gets 403,
    also on public endpoints, as Mastodon does. The grant is `request.state.grant` (None when
    anonymous, also when a public endpoint gets an invalid token); `request.state.actor` is the
    union the token acts for."""

    def decorate(endpoint: Endpoint) -> Endpoint:
        @functools.wraps(endpoint)
        async def wrapper(request: Request) -> Response:
            raw = bearer(request)
            grant = await authenticate(raw, request.app.state.inst.now()) if raw else None
            # On public endpoints a stale token reads anonymously, as in Mastodon.
            if raw and grant is None and user:
                return error(401, "The access token is invalid")
            if user and (grant is None or grant.actor is None):
                return error(401, "This method requires an authenticated user")
            if scope and grant is not None and not grant.allows(scope):
                return error(403, "This action is outside the authorized scopes")
            request.state.grant = grant
            request.state.actor = grant.actor if grant else None
            try:
                return await endpoint(request)
            except ApiError as exc:
                return error(exc.status, exc.message)

        return wrapper

    return decorate


def grant_of(request: Request) -> Grant | None:
    return request.state.grant


def actor_of(request: Request) -> LocalActor:
    """The union the token acts for (only under @api(user=True))."""
    return request.state.actor


# --- parameters -------------------------------------------------------------------------

@dataclass
class Params:
    """Query, form and JSON parameters as one lookup. Arrays come as `name[]=` (forms, queries)
    or as JSON lists; `getlist("media_ids")` reads either. No value holds a NUL character:
    params() refuses them all (PostgreSQL cannot store one)."""
    values: dict[str, list]

    def get(self, name: str, default=None):
        items = self.values.get(name)
        return items[0] if items else default

    def getlist(self, name: str) -> list:
        return [*self.values.get(name, []), *self.values.get(name + "[]", [])]

    def text(self, name: str, default: str = "") -> str:
        value = self.get(name)
        if value is None:
            return default
        if not isinstance(value, (str, int, float, bool)):
            raise ApiError(422, f"{name} must be a string")
        return str(value)

    def flag(self, name: str, default: bool = False) -> bool:
        value = self.get(name)
        if value is None or value == "":
            return default
        if isinstance(value, bool):
            return value
        return str(value).lower() in ("1", "true", "on", "yes")

    def file(self, name: str) -> UploadFile | None:
        value = self.get(name)
        return value if isinstance(value, UploadFile) else None


def _flatten_json(body: dict) -> dict[str, list]:
    out: dict[str, list] = {}
    for key, value in body.items():
        if isinstance(value, list):
            out[key] = list(value)
        elif isinstance(value, dict):  # poll[options] style nesting, one level
            for sub, inner in value.items():
                out[f"{key}[{sub}]"] = list(inner) if isinstance(inner, list) else [inner]
        else:
            out[key] = [value]
    return out


def _refuse_nul(name: str, value: object) -> None:
    """PostgreSQL cannot store a NUL character in text: refused wherever it hides."""
    if isinstance(value, str) and "\x00" in value or "\x00" in name:
        raise ApiError(422, f"{name.replace(chr(0), '')} contains a NUL character")
    if isinstance(value, list):
        for item in value:
            _refuse_nul(name, item)
    elif isinstance(value, dict):
        for key, item in value.items():
            _refuse_nul(f"{name}[{key}]", item)


async def _chunks(request: Request, limit: int) -> AsyncIterator[bytes]:
    """The body, counted as it arrives: a client that sends no Content-Length is held to `limit` too."""
    seen = 0
    async for chunk in request.stream():
        seen += len(chunk)
        if seen > limit:
            raise ApiError(413, f"the request body is too large (at most {limit // 1024} KiB)")
        yield chunk


def _declared_length(request: Request, limit: int) -> None:
    length = request.headers.get("content-length", "").strip()
    if length and (not length.isascii() or not length.isdigit()):
        raise ApiError(400, "Content-Length is not a number")
    if length and int(length) > limit:
        raise ApiError(413, f"the request body is too large (at most {limit // 1024} KiB)")


async def read_body(request: Request, limit: int = MAX_BODY) -> bytes:
    """The body, refused (413) by its Content-Length or as soon as the bytes read pass `limit`.
    Starlette keeps it on the request, so a later `request.form()` or `body()` reads it from there."""
    _declared_length(request, limit)
    body = b"".join([chunk async for chunk in _chunks(request, limit)])
    request._body = body
    return body


async def params(request: Request) -> Params:
    """Everything the client sent; a body that is neither valid JSON nor a form is a 422, one
    above MAX_BODY a 413 (multipart: MAX_MULTIPART, from its Content-Length)."""
    values: dict[str, list] = {}
    for key, value in request.query_params.multi_items():
        values.setdefault(key, []).append(value)
    if request.method in ("POST", "PUT", "PATCH", "DELETE"):
        kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if kind == "application/json":
            try:
                body = json.loads(await read_body(request) or b"{}")
            except (ValueError, UnicodeDecodeError):
                raise ApiError(422, "the request body is not valid JSON")
            if not isinstance(body, dict):
                raise ApiError(422, "the request body must be a JSON object")
            for key, items in _flatten_json(body).items():
                values[key] = items  # the body wins over the query
        elif kind == "application/x-www-form-urlencoded":
            try:
                pairs = parse_qsl((await read_body(request)).decode(), keep_blank_values=True, max_num_fields=1000)
            except (ValueError, UnicodeDecodeError) as exc:
                raise ApiError(422, f"the form could not be read: {exc}")
            posted: dict[str, list] = {}
            for key, value in pairs:
                posted.setdefault(key, []).append(value)
            values.update(posted)
        elif kind == "multipart/form-data":
            _declared_length(request, MAX_MULTIPART)
            try:
                form: FormData = await request.form(max_files=8, max_fields=1000)
            except Exception as exc:  # python-multipart's errors are of several types
                raise ApiError(422, f"the form could not be read: {exc}")
            posted = {}
            for key, value in form.multi_items():
                posted.setdefault(key, []).append(value)
            values.update(posted)
    for key, items in values.items():
        _refuse_nul(key, items)
    return Params(values)


def parse_id(value: object, maximum: int = BIGINT_MAX) -> int | None:
    """The one reading of an id sent by a client (path, query or body): ASCII digits that fit
    the column (`maximum`: BIGINT_MAX, or INT_MAX for 32-bit ids); None otherwise."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not _ID.fullmatch(value.strip()):
        return None
    number = int(value.strip())
    return number if number <= maximum else None


def path_id(request: Request, maximum: int = BIGINT_MAX) -> int:
    """The `{id:int}` path parameter; one too large for its column is simply not found."""
    number = parse_id(str(request.path_params["id"]), maximum)
    if number is None:
        raise not_found()
    return number


def int_param(p: Params, name: str) -> int | None:
    value = p.get(name)
    if value in (None, ""):
        return None
    number = parse_id(value, maximum=10**19)
    if number is None:
        raise ApiError(422, f"{name} must be a non-negative integer")
    if number > BIGINT_MAX:
        raise ApiError(422, f"{name} is out of range")
    return number


# --- pagination -------------------------------------------------------------------------

@dataclass
class Page:
    max_id: int | None
    since_id: int | None
    min_id: int | None
    limit: int

    @property
    def ascending(self) -> bool:
        """min_id pages forward: take the rows just above it (ascending), then show newest first."""
        return self.min_id is not None


def page_of(p: Params, *, default: int = DEFAULT_LIMIT, maximum: int = MAX_LIMIT) -> Page:
    limit = int_param(p, "limit")
    limit = default if limit is None else max(1, min(limit, maximum))
    return Page(int_param(p, "max_id"), int_param(p, "since_id"), int_param(p, "min_id"), limit)


def window(query: QuerySet, page: Page, key: str = "sid", maximum: int = BIGINT_MAX) -> QuerySet:
    """The rows of `query` inside the page's bounds on column `key`, in reading order: the
    status id `sid` of a Post or Interaction, or the row id `id` of a list such as followers.
    Cursors are clamped to the column's range (`maximum`: INT_MAX for an IntField), so a
    cursor too large for it still pages rather than failing in the database."""
    query = query.filter(**{f"{key}__isnull": False})
    if page.max_id is not None and page.max_id <= maximum:  # above the range: every row is below
        query = query.filter(**{f"{key}__lt": page.max_id})
    for bound in (page.since_id, page.min_id):
        if bound is not None:
            query = query.filter(**{f"{key}__gt": min(bound, maximum)})
    return query.order_by(key if page.ascending else f"-{key}")


async def newest_first(query: QuerySet, page: Page, key: str = "sid", maximum: int = BIGINT_MAX) -> list:
    """One page of `query`'s rows by `key`, newest first (a min_id page read ascending, then turned)."""
    rows = await window(query, page, key, maximum).limit(page.limit)
    return rows[::-1] if page.ascending else rows


def link_header(request: Request, ids: list[int]) -> dict[str, str]:
    """Link: <…?max_id=oldest>; rel="next", <…?min_id=newest>; rel="prev", keeping the other
    query parameters. `ids` are the page's cursors, newest first. No rows, no header."""
    if not ids:
        return {}
    kept = [(k, v) for k, v in request.query_params.multi_items()
            if k not in ("max_id", "min_id", "since_id", "access_token")]
    # Our public address, not the Host header (which a client picks) nor the scheme uvicorn
    # saw behind a TLS-terminating proxy.
    base = request.app.state.inst.urls.base + request.url.path

    def url(extra: tuple[str, str]) -> str:
        return f"{base}?{urlencode(kept + [extra])}"

    return {"Link": f'<{url(("max_id", str(ids[-1])))}>; rel="next", <{url(("min_id", str(ids[0])))}>; rel="prev"'}


def paged(request: Request, entities: list[dict], cursors: list[int]) -> JSONResponse:
    return JSONResponse(entities, headers=link_header(request, cursors))


# --- account ids ------------------------------------------------------------------------

def local_account_id(actor: LocalActor) -> str:
    return str(LOCAL_ACCOUNT_BASE + actor.id)


def remote_account_id(row_id: int) -> str:
    return str(row_id)


def parse_account_id(value: str) -> tuple[str, int]:
    """("local", LocalActor.id) or ("remote", RemoteActor.id); ApiError 404 when malformed or
    beyond the 32-bit id columns."""
    number = parse_id(value)
    if number is None:
        raise not_found()
    where, row_id = ("local", number - LOCAL_ACCOUNT_BASE) if number >= LOCAL_ACCOUNT_BASE else ("remote", number)
    if not 0 < row_id <= INT_MAX:
        raise not_found()
    return where, row_id
