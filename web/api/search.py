"""Search in the Mastodon client API (v2, its v1 alias, and accounts/search).

Without `resolve`, only what we already store: accounts by handle, URL or a piece of their
name; posts by their exact id or URL; a `#tag` as a hashtag. With `resolve=true` (a user's
token only: it makes us fetch from other servers) a handle is looked up by WebFinger and a
URL fetched as a post or an actor. A failed lookup is an empty result, never an error."""
from __future__ import annotations

import re
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from tortoise.expressions import Q

from actors.instance import Instance
from actors.models import LocalActor, RemoteActor
from actors.remote import ActorFetchError, fetch_actor, resolve_handle
from content.models import Post
from content.sanitize import safe_url
from outbox.lookup import LookupError_, fetch_post
from web.api.common import DEFAULT_LIMIT, MAX_LIMIT, ApiError, Params, api, int_param, params
from web.api.entities import local_account, remote_account, statuses

HANDLE = re.compile(r"@?(?P<user>[\w.-]+)@(?P<host>[\w-]+(?:\.[\w-]+)*(?::\d+)?)", re.ASCII)
TAG = re.compile(r"#?(?P<name>\w{1,100})")
PROFILE_PATH = re.compile(r"/@(?P<user>[\w.-]+)/?")
TYPES = ("accounts", "statuses", "hashtags")
MAX_QUERY = 2048


@dataclass
class Query:
    q: str
    types: tuple[str, ...]
    resolve: bool
    limit: int
    offset: int


def _query(request: Request, p: Params, *, only: str | None = None) -> Query:
    q = p.text("q").strip()
    if len(q) > MAX_QUERY:
        raise ApiError(422, f"q is too long (at most {MAX_QUERY} characters)")
    kind = only or p.text("type").strip()
    if kind and kind not in TYPES:
        raise ApiError(422, f"type must be one of {', '.join(TYPES)}")
    resolve = p.flag("resolve")
    if resolve and request.state.actor is None:
        raise ApiError(401, "resolve=true requires an authenticated user")
    limit = int_param(p, "limit")
    limit = DEFAULT_LIMIT if limit is None else max(1, min(limit, MAX_LIMIT))
    return Query(q, (kind,) if kind else TYPES, resolve, limit, int_param(p, "offset") or 0)


# --- accounts ---------------------------------------------------------------------------

async def _unions() -> list[LocalActor]:
    return await LocalActor.filter(kind="union").order_by("id")


async def _by_handle(inst: Instance, user: str, host: str, resolve: bool) -> list[dict]:
    if host.lower() == inst.urls.host.lower():
        return [await local_account(inst, a) for a in await _unions() if a.username.lower() == user.lower()]
    known = await RemoteActor.filter(username__iexact=user, domain=host.lower(), deleted_at=None).first()
    if known is None and resolve:
        try:
            known = await resolve_handle(inst, f"@{user}@{host}", cached_ok=True)
        except ActorFetchError:
            return []
    return [remote_account(inst, known)] if known else []


async def _stored_actor_by_url(inst: Instance, url: str) -> list[dict]:
    for actor in await _unions():
        if url in (inst.uri_of(actor), inst.urls.profile(actor.username)):
            return [await local_account(inst, actor)]
    known = await RemoteActor.filter(Q(uri=url) | Q(url=url), deleted_at=None).first()
    return [remote_account(inst, known)] if known else []


async def _fetched_actor(inst: Instance, url: str) -> list[dict]:
    """The actor at `url`; a Mastodon profile page (https://host/@name) by its handle."""
    try:
        return [remote_account(inst, await fetch_actor(inst, url))]
    except ActorFetchError:
        pass
    rest = url.partition("://")[2]
    host, _, path = rest.partition("/")
    profile = PROFILE_PATH.fullmatch("/" + path)
    if profile and "?" not in url:
        return await _by_handle(inst, profile["user"], host, True)
    return []


async def _by_text(inst: Instance, text: str, limit: int, offset: int) -> list[dict]:
    """Our unions, then remote actors, whose username or display name contains `text`."""
    text = text.lstrip("@")
    if not text:
        return []
    ours = [a for a in await _unions() if text.lower() in a.username.lower() or text.lower() in a.name.lower()]
    found = [await local_account(inst, a) for a in ours[offset:offset + limit]]
    rest = limit - len(found)
    if rest > 0:
        skip = max(0, offset - len(ours))
        rows = await (RemoteActor.filter(Q(username__icontains=text) | Q(name__icontains=text), deleted_at=None)
                      .order_by("username", "id").offset(skip).limit(rest))
        found += [remote_account(inst, r) for r in rows]
    return found


# --- statuses ---------------------------------------------------------------------------

async def _stored_posts(url: str, viewer: LocalActor | None) -> list[Post]:
    rows = await Post.filter(Q(ap_id=url) | Q(url=url), hidden=False).limit(1)
    return [p for p in rows if p.public or viewer is not None]


async def _fetched_post(inst: Instance, url: str) -> list[Post]:
    try:
        post = await fetch_post(inst, url)
    except LookupError_:
        return []
    return [post] if not post.hidden else []


# --- the search -------------------------------------------------------------------------

async def search(request: Request, query: Query) -> dict:
    inst, viewer = request.app.state.inst, request.state.actor
    accounts: list[dict] = []
    posts: list[Post] = []
    hashtags: list[dict] = []
    q = query.q
    url = safe_url(q) if q.lower().startswith(("https://", "http://")) else None
    handle = HANDLE.fullmatch(q)
    tag = TAG.fullmatch(q)
    if url:
        if "statuses" in query.types:
            posts = await _stored_posts(url, viewer)
        if "accounts" in query.types and not posts:
            accounts = await _stored_actor_by_url(inst, url)
        if query.resolve and not posts and not accounts:
            if "statuses" in query.types:
                posts = await _fetched_post(inst, url)
            if "accounts" in query.types and not posts:
                accounts = await _fetched_actor(inst, url)
    elif handle:
        if "accounts" in query.types:
            accounts = await _by_handle(inst, handle["user"], handle["host"], query.resolve)
    elif q:
        if "accounts" in query.types and not q.startswith("#"):
            accounts = await _by_text(inst, q, query.limit, query.offset)
        if "hashtags" in query.types and tag and (q.startswith("#") or query.types == ("hashtags",)):
            name = tag["name"]
            hashtags = [{"name": name, "url": inst.urls.tag(name), "history": [], "following": False}]
    return {"accounts": accounts[:query.limit], "statuses": await statuses(inst, viewer, posts[:query.limit]),
            "hashtags": hashtags if query.offset == 0 else []}


@api("read:search", user=False)
async def search_v2(request: Request) -> Response:
    return JSONResponse(await search(request, _query(request, await params(request))))


@api("read:accounts")
async def accounts_search(request: Request) -> Response:
    found = await search(request, _query(request, await params(request), only="accounts"))
    return JSONResponse(found["accounts"])


routes = [
    Route("/api/v2/search", search_v2, methods=["GET"]),
    # Mastodon dropped v1 search in 3.0; older clients still call it, with the same answer.
    Route("/api/v1/search", search_v2, methods=["GET"]),
    Route("/api/v1/accounts/search", accounts_search, methods=["GET"]),
]
