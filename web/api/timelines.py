"""Timelines: home (the union, the accounts it follows, and their boosts), public and hashtag.

Every timeline is paged by status id (`Post.sid` and `Interaction.sid` share one time-ordered id
space): max_id strictly below, since_id the newest above, min_id the oldest above (read
ascending, shown newest first). Posts and boosts are two sorted streams; the first `limit` of
each are enough to cut a page of their merge.

Some filters look inside JSON columns (hashtags, attachments), which SQL cannot do the same way
on SQLite and PostgreSQL. Those timelines scan posts newest first in batches, in Python, and look
at no more than SCAN_MAX rows per request. A page that bound cuts short has fewer items than
asked (possibly none), and its Link header points past every row looked at, so paging goes on
from there and nothing is skipped."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from tortoise.expressions import Subquery
from tortoise.queryset import QuerySet

from actors.instance import Instance
from actors.models import Following, FollowState, LocalActor
from content.models import Interaction, Post
from web.api.common import ApiError, Page, actor_of, api, not_found, page_of, paged, params, newest_first, window
from web.api.entities import statuses

SCAN_BATCH = 200
SCAN_MAX = 2000
TAG_MAX = 100

Item = Post | tuple[Interaction, Post]


def sid_of(item: Item) -> int:
    return item.sid if isinstance(item, Post) else item[0].sid


async def merged_page(posts: QuerySet[Post], boosts: QuerySet[Interaction] | None, page: Page,
                      originals: QuerySet[Post] | None = None) -> list[Item]:
    """One page of posts and boosts (announce Interactions) merged, newest first. A boost is
    shown only if its post is stored and among `originals` (by default: not hidden)."""
    originals = originals if originals is not None else Post.filter(hidden=False)
    found: list[tuple[int, Item]] = [(p.sid, p) for p in await window(posts, page).limit(page.limit)]
    if boosts is not None:
        shown = boosts.filter(kind="announce", object_uri__in=Subquery(originals.values("ap_id")))
        rows = await window(shown, page).limit(page.limit)
        by_uri = {p.ap_id: p for p in await originals.filter(ap_id__in=list({b.object_uri for b in rows}))}
        found += [(b.sid, (b, by_uri[b.object_uri])) for b in rows if b.object_uri in by_uri]
    found.sort(key=lambda pair: pair[0], reverse=not page.ascending)
    chosen = [item for _, item in found[:page.limit]]
    return chosen[::-1] if page.ascending else chosen


async def scanned_page(query: QuerySet[Post], page: Page,
                       keep: Callable[[Post], bool] | None = None) -> tuple[list[Post], list[int]]:
    """Posts of `query` that `keep` accepts, newest first, and the page's cursors (newest first)."""
    if keep is None:
        rows = await newest_first(query, page)
        return rows, [p.sid for p in rows]
    shown: list[Post] = []
    scanned: list[int] = []
    bounds = replace(page)
    exhausted = False
    while len(shown) < page.limit and len(scanned) < SCAN_MAX:
        size = min(SCAN_BATCH, SCAN_MAX - len(scanned))
        batch = await window(query, bounds).limit(size)
        for post in batch:
            scanned.append(post.sid)
            if keep(post):
                shown.append(post)
                if len(shown) == page.limit:
                    break
        if len(batch) < size:
            exhausted = True
            break
        if page.ascending:
            bounds.min_id = batch[-1].sid
        else:
            bounds.max_id = batch[-1].sid
    if page.ascending:
        shown.reverse()
    cursors = {p.sid for p in shown}
    if scanned and not exhausted and len(shown) < page.limit:
        cursors |= {min(scanned), max(scanned)}  # cut by SCAN_MAX: every row between was looked at
    return shown, sorted(cursors, reverse=True)


def has_media(post: Post) -> bool:
    return any(isinstance(a, dict) and a.get("url") for a in post.attachments or [])


def hashtags(post: Post) -> set[str]:
    return {str(t["name"]).lstrip("#").lower() for t in post.tags or []
            if isinstance(t, dict) and t.get("type") == "Hashtag" and t.get("name")}


async def followed_uris(local: LocalActor) -> list[str]:
    return list(await Following.filter(local=local, state=FollowState.ACCEPTED).values_list("remote__uri", flat=True))


async def home_sources(inst: Instance, union: LocalActor) -> tuple[QuerySet[Post], QuerySet[Interaction]]:
    """The home timeline's two streams: posts by the union and the accounts it follows (hidden ones
    left out), and their boosts."""
    authors = [inst.uri_of(union), *await followed_uris(union)]
    return Post.filter(author_uri__in=authors, hidden=False), Interaction.filter(actor_uri__in=authors)


async def render(request: Request, items: list[Item], cursors: list[int] | None = None) -> Response:
    inst: Instance = request.app.state.inst
    viewer = request.state.actor
    entities = await statuses(inst, viewer, items)
    return paged(request, entities, cursors if cursors is not None else [sid_of(i) for i in items])


@api("read:statuses")
async def home(request: Request) -> Response:
    inst: Instance = request.app.state.inst
    page = page_of(await params(request))
    union = actor_of(request)
    posts, boosts = await home_sources(inst, union)
    items = await merged_page(posts, boosts, page)
    return await render(request, items)


def _where(query: QuerySet[Post], local: bool, remote: bool) -> QuerySet[Post]:
    if local and remote:
        raise ApiError(422, "local and remote exclude each other")
    if local:
        return query.filter(local=True)
    return query.filter(local=False) if remote else query


@api("read:statuses", user=False)
async def public(request: Request) -> Response:
    """Public posts, without replies (as Mastodon's public timelines) and without boosts."""
    p = await params(request)
    page = page_of(p)
    query = _where(Post.filter(public=True, hidden=False, in_reply_to__isnull=True),
                   p.flag("local"), p.flag("remote"))
    posts, cursors = await scanned_page(query, page, has_media if p.flag("only_media") else None)
    return await render(request, posts, cursors)


def _tag_names(values: list, extra: str = "") -> set[str]:
    names = {str(v).lstrip("#").lower() for v in values if isinstance(v, str) and v.strip("# ")}
    if extra:
        names.add(extra)
    if any(len(n) > TAG_MAX for n in names):
        raise ApiError(422, f"a hashtag has at most {TAG_MAX} characters")
    return names


@api("read:statuses", user=False)
async def tag(request: Request) -> Response:
    """Public posts carrying the hashtag (or any of `any[]`), all of `all[]`, none of `none[]`."""
    name = request.path_params["hashtag"].lstrip("#").strip().lower()
    if not name or len(name) > TAG_MAX:
        raise not_found()
    p = await params(request)
    page = page_of(p)
    wanted = _tag_names(p.getlist("any"), name)
    required = _tag_names(p.getlist("all"))
    refused = _tag_names(p.getlist("none"))
    only_media = p.flag("only_media")

    def keep(post: Post) -> bool:
        names = hashtags(post)
        tagged = bool(names & wanted) and required <= names and not names & refused
        return tagged and (not only_media or has_media(post))

    query = _where(Post.filter(public=True, hidden=False), p.flag("local"), p.flag("remote"))
    posts, cursors = await scanned_page(query, page, keep)
    return await render(request, posts, cursors)


@api("read:lists")
async def list_timeline(request: Request) -> Response:
    raise not_found()  # lists are not kept: GET /api/v1/lists is always empty


routes = [
    Route("/api/v1/timelines/home", home),
    Route("/api/v1/timelines/public", public),
    Route("/api/v1/timelines/tag/{hashtag}", tag),
    Route("/api/v1/timelines/list/{id}", list_timeline),
]
