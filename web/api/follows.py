"""Follow and unfollow remote accounts, and answer follow requests, in the Mastodon client API.
Every change goes through outbox.follows (the Follow, Undo, Accept or Reject is sent with it)."""
from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from actors.blocks import is_blocked
from actors.follows import set_notify
from actors.models import Follower, Following, FollowState, RemoteActor
from outbox import follows as out_follows
from web.api.common import (INT_MAX, ApiError, actor_of, api, newest_first, not_found, page_of, paged, params,
                            parse_account_id, remote_account_id)
from web.api.entities import relationship, remote_account


async def _remote(request: Request) -> RemoteActor:
    """The remote account an `{id:int}` names; our own accounts cannot be followed by us."""
    kind, number = parse_account_id(str(request.path_params["id"]))
    if kind == "local":
        raise ApiError(422, "that is an account of this instance: it cannot be followed from here")
    actor = await RemoteActor.filter(id=number).first()
    if actor is None:
        raise not_found()
    return actor


async def _relationship(request: Request, remote: RemoteActor) -> Response:
    return JSONResponse(await relationship(actor_of(request), remote, remote_account_id(remote.id)))


@api("write:follows")
async def follow(request: Request) -> Response:
    """Requested until their Accept arrives. Following again while a request is pending sends
    the Follow again (a lost one is repaired); an accepted follow is left as it is."""
    inst, local = request.app.state.inst, actor_of(request)
    remote = await _remote(request)
    p = await params(request)  # a malformed body is refused before anything is sent
    if remote.deleted_at is not None:
        raise ApiError(422, "that account was deleted")
    if await is_blocked(remote.domain):
        raise ApiError(422, f"{remote.domain} is blocked on this instance")
    if not await Following.filter(local=local, remote=remote, state=FollowState.ACCEPTED).exists():
        await out_follows.follow(inst, local, remote)
    if p.get("notify") is not None:  # absent: the bell stays as it was, as in Mastodon
        await set_notify(local, remote, p.flag("notify"))
    return await _relationship(request, remote)


@api("write:follows")
async def unfollow(request: Request) -> Response:
    """Also withdraws a request not yet accepted; unfollowing someone we do not follow is a no-op."""
    remote = await _remote(request)
    await out_follows.unfollow(request.app.state.inst, actor_of(request), remote)
    return await _relationship(request, remote)


@api("read:follows")
async def requests(request: Request) -> Response:
    """Pending followers as accounts, paged by the follow request's row id."""
    page = page_of(await params(request))
    pending = Follower.filter(local=actor_of(request), state=FollowState.PENDING).prefetch_related("remote")
    rows = await newest_first(pending, page, "id", INT_MAX)
    inst = request.app.state.inst
    return paged(request, [remote_account(inst, r.remote) for r in rows], [r.id for r in rows])


async def _answer(request: Request, accept: bool) -> Response:
    inst, local = request.app.state.inst, actor_of(request)
    remote = await _remote(request)
    row = await (Follower.filter(local=local, remote=remote, state=FollowState.PENDING)
                 .prefetch_related("local", "remote").first())
    if row is None:
        raise ApiError(404, "no follow request from that account")
    await out_follows.answer_follow(inst, row, accept=accept)
    return await _relationship(request, remote)


@api("write:follows")
async def authorize(request: Request) -> Response:
    return await _answer(request, True)


@api("write:follows")
async def reject(request: Request) -> Response:
    return await _answer(request, False)


routes = [
    Route("/api/v1/accounts/{id:int}/follow", follow, methods=["POST"]),
    Route("/api/v1/accounts/{id:int}/unfollow", unfollow, methods=["POST"]),
    Route("/api/v1/follow_requests", requests, methods=["GET"]),
    Route("/api/v1/follow_requests/{id:int}/authorize", authorize, methods=["POST"]),
    Route("/api/v1/follow_requests/{id:int}/reject", reject, methods=["POST"]),
]
