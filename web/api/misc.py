"""What clients read at startup and in passing: preferences, markers, favourites, the default
avatar and header, and the many collections Union Hall does not keep (lists, filters, blocks…),
answered empty rather than 404 so clients go on (interop notes 6.5). Features we lack that
clients probe and handle (push subscription, notification policy) answer 404."""
from __future__ import annotations

import functools
import io

from PIL import Image, ImageDraw
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from tortoise.transactions import in_transaction

from actors.instance import Instance
from actors.models import Marker
from content.models import Interaction, Notification, Post
from web.api.common import ApiError, Endpoint, actor_of, api, newest_first, page_of, paged, params, parse_id
from web.api.entities import NOTIFICATION_TYPES, iso, statuses

TIMELINES = ("home", "notifications")
CACHE = {"Cache-Control": "public, max-age=31536000, immutable"}


@api("read:accounts")
async def preferences(request: Request) -> Response:
    return JSONResponse({"posting:default:visibility": "public", "posting:default:sensitive": False,
                         "posting:default:language": None, "reading:expand:media": "default",
                         "reading:expand:spoilers": False})


def _read_id(value: object, name: str) -> str:
    """A status or notification id, as the API shows them (a decimal string that fits a bigint)."""
    number = parse_id(value)
    if number is None:
        raise ApiError(422, f"{name} must be a status or notification id")
    return str(number)


def _marker(row: Marker) -> dict:
    return {"last_read_id": row.last_read_id, "version": row.version, "updated_at": iso(row.updated_at)}


@api("read:statuses")
async def markers(request: Request) -> Response:
    asked = [str(t) for t in (await params(request)).getlist("timeline")] or list(TIMELINES)
    rows = await Marker.filter(actor=actor_of(request), timeline__in=[t for t in asked if t in TIMELINES])
    return JSONResponse({row.timeline: _marker(row) for row in rows})


@api("write:statuses")
async def save_markers(request: Request) -> Response:
    inst: Instance = request.app.state.inst
    p = await params(request)
    union = actor_of(request)
    wanted: dict[str, str] = {}
    for timeline in TIMELINES:
        value = p.get(f"{timeline}[last_read_id]")
        if value is None:
            continue
        wanted[timeline] = _read_id(value, f"{timeline}[last_read_id]")
    if not wanted:
        raise ApiError(422, "give home[last_read_id] or notifications[last_read_id]")
    now = inst.now()
    saved: dict[str, dict] = {}
    async with in_transaction():
        for timeline, last_read_id in wanted.items():
            row = await Marker.filter(actor=union, timeline=timeline).select_for_update().first()
            if row is None:
                row = await Marker.create(actor=union, timeline=timeline, last_read_id=last_read_id, updated_at=now)
            else:
                row.last_read_id, row.version, row.updated_at = last_read_id, row.version + 1, now
                await row.save(update_fields=["last_read_id", "version", "updated_at"])
            saved[timeline] = _marker(row)
        if "notifications" in wanted:
            # Read in an app is read on the admin page too: `read` is the flag both show. Only
            # the kinds apps show: a registration stays new until the admin page shows it.
            await Notification.filter(id__lte=int(wanted["notifications"]), read=False,
                                      kind__in=list(NOTIFICATION_TYPES)).update(read=True)
    return JSONResponse(saved)


@api("read:favourites")
async def favourites(request: Request) -> Response:
    """The posts the union liked, latest like first; the cursors are the likes' own ids."""
    inst: Instance = request.app.state.inst
    page = page_of(await params(request))
    union = actor_of(request)
    mine = Interaction.filter(kind="like", actor_uri=inst.uri_of(union), local=True)
    likes = await newest_first(mine, page)
    posts = {p.ap_id: p for p in await Post.filter(ap_id__in=[like.object_uri for like in likes], hidden=False)}
    shown = [posts[like.object_uri] for like in likes if like.object_uri in posts]
    return paged(request, await statuses(inst, union, shown), [like.sid for like in likes])


def empty(scope: str | None, *, user: bool = True) -> Endpoint:
    @api(scope, user=user)
    async def endpoint(request: Request) -> Response:
        return JSONResponse([])
    return endpoint


def missing(scope: str | None, *, user: bool = True) -> Endpoint:
    @api(scope, user=user)
    async def endpoint(request: Request) -> Response:
        raise ApiError(404, "Record not found")
    return endpoint


@functools.cache
def _png(width: int, height: int, avatar: bool) -> bytes:
    """The default picture: a plain field in the union red, with a head and shoulders for avatars."""
    image = Image.new("RGB", (width, height), (178, 34, 34) if avatar else (92, 18, 18))
    if avatar:
        draw = ImageDraw.Draw(image)
        draw.ellipse((width * 0.32, height * 0.18, width * 0.68, height * 0.54), fill=(245, 235, 225))
        draw.ellipse((width * 0.16, height * 0.6, width * 0.84, height * 1.2), fill=(245, 235, 225))
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


async def avatar(request: Request) -> Response:
    return Response(_png(120, 120, True), media_type="image/png", headers=CACHE)


async def header(request: Request) -> Response:
    return Response(_png(600, 200, False), media_type="image/png", headers=CACHE)


routes = [
    Route("/api/v1/preferences", preferences),
    Route("/api/v1/markers", markers),
    Route("/api/v1/markers", save_markers, methods=["POST"]),
    Route("/api/v1/favourites", favourites),
    Route("/api/v1/filters", empty("read:filters")),
    Route("/api/v2/filters", empty("read:filters")),
    Route("/api/v1/lists", empty("read:lists")),
    Route("/api/v1/followed_tags", empty("read:follows")),
    Route("/api/v1/announcements", empty("read")),
    Route("/api/v1/conversations", empty("read:statuses")),
    Route("/api/v1/bookmarks", empty("read:bookmarks")),
    Route("/api/v1/blocks", empty("read:blocks")),
    Route("/api/v1/mutes", empty("read:mutes")),
    Route("/api/v1/domain_blocks", empty("read:blocks")),
    Route("/api/v1/endorsements", empty("read:accounts")),
    Route("/api/v1/featured_tags", empty("read:accounts")),
    Route("/api/v1/trends", empty(None, user=False)),
    Route("/api/v1/trends/tags", empty(None, user=False)),
    Route("/api/v1/trends/statuses", empty(None, user=False)),
    Route("/api/v1/trends/links", empty(None, user=False)),
    Route("/api/v1/suggestions", empty("read")),
    Route("/api/v2/suggestions", empty("read")),
    Route("/api/v1/push/subscription", missing("push")),
    Route("/api/v2/notifications/policy", missing("read:notifications")),
    Route("/api/avatar.png", avatar),
    Route("/api/header.png", header),
]
