"""Boost and favourite in the Mastodon client API (through outbox.interactions), who boosted or
favourited a status, and the per-user marks we do not keep (bookmark, pin, mute)."""
from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from content.models import Interaction, Post
from outbox import interactions
from outbox.lookup import LookupError_
from outbox.statements import OutboxError
from web.api.common import ApiError, actor_of, api, newest_first, page_of, paged, params
from web.api.entities import accounts_by_uri, one_status, statuses
from web.api.status_ids import original

KINDS = {"reblog": "announce", "favourite": "like"}


def _refused(exc: Exception) -> ApiError:
    return ApiError(422, str(getattr(exc, "reason", None) or exc))


@api("write:statuses")
async def reblog(request: Request) -> Response:
    """The wrapper status; boosting a wrapper boosts what it wraps."""
    inst, actor = request.app.state.inst, actor_of(request)
    post = await original(request)
    try:
        row = await interactions.boost(inst, actor, post.ap_id)
    except (OutboxError, LookupError_) as exc:
        raise _refused(exc) from None
    return JSONResponse((await statuses(inst, actor, [(row, post)]))[0])


async def _after(request: Request, post: Post) -> Response:
    fresh = await Post.filter(id=post.id).first() or post
    return JSONResponse(await one_status(request.app.state.inst, actor_of(request), fresh))


@api("write:statuses")
async def unreblog(request: Request) -> Response:
    post = await original(request)
    await interactions.undo(request.app.state.inst, actor_of(request), "announce", post.ap_id)
    return await _after(request, post)


@api("write:favourites")
async def favourite(request: Request) -> Response:
    post = await original(request)
    try:
        await interactions.like(request.app.state.inst, actor_of(request), post.ap_id)
    except (OutboxError, LookupError_) as exc:
        raise _refused(exc) from None
    return await _after(request, post)


@api("write:favourites")
async def unfavourite(request: Request) -> Response:
    post = await original(request)
    await interactions.undo(request.app.state.inst, actor_of(request), "like", post.ap_id)
    return await _after(request, post)


def _who(kind: str):
    async def endpoint(request: Request) -> Response:
        """Accounts that boosted (or favourited) a status, paged by the interaction's row id."""
        post = await original(request)
        page = page_of(await params(request))
        rows = await newest_first(Interaction.filter(kind=KINDS[kind], object_uri=post.ap_id), page, "id")
        known = await accounts_by_uri(request.app.state.inst, {r.actor_uri for r in rows})
        # An actor we never resolved has no account id to show: left out, the paging goes on.
        return paged(request, [known[r.actor_uri] for r in rows if r.actor_uri in known], [r.id for r in rows])

    endpoint.__name__ = f"{kind}d_by"
    return api("read:statuses", user=False)(endpoint)


def _not_kept(what: str, scope: str):
    async def endpoint(request: Request) -> Response:
        await original(request)  # an unknown id is still a 404
        raise ApiError(422, f"{what} are not supported by Union Hall")

    endpoint.__name__ = what.replace(" ", "_")
    return api(scope)(endpoint)


routes = [
    Route("/api/v1/statuses/{id:int}/reblog", reblog, methods=["POST"]),
    Route("/api/v1/statuses/{id:int}/unreblog", unreblog, methods=["POST"]),
    Route("/api/v1/statuses/{id:int}/favourite", favourite, methods=["POST"]),
    Route("/api/v1/statuses/{id:int}/unfavourite", unfavourite, methods=["POST"]),
    Route("/api/v1/statuses/{id:int}/reblogged_by", _who("reblog"), methods=["GET"]),
    Route("/api/v1/statuses/{id:int}/favourited_by", _who("favourite"), methods=["GET"]),
    *(Route(f"/api/v1/statuses/{{id:int}}/{action}", _not_kept(what, scope), methods=["POST"])
      for what, scope, pair in (("bookmarks", "write:bookmarks", ("bookmark", "unbookmark")),
                                ("pinned posts", "write:accounts", ("pin", "unpin")),
                                ("muted conversations", "write:mutes", ("mute", "unmute")))
      for action in pair),
]
