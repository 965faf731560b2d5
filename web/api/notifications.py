"""Notifications, paged by their row id.

Only kinds Mastodon has a type for are shown (entities.NOTIFICATION_TYPES); registrations for
meetings stay on the admin pages. Dismissing deletes the row, as Mastodon does: the admin page
lists the same rows, and a notification staff dismissed in their app is one they have dealt
with. `read` is the one "seen" flag both faces share: the admin page sets it when shown, and
moving the notifications marker in an app sets it for every row up to the marker."""
from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from tortoise.queryset import QuerySet

from actors.instance import Instance
from actors.models import LocalActor, RemoteActor
from content.models import Notification
from web.api.common import (actor_of, api, int_param, newest_first, not_found, page_of, paged, params,
                            parse_account_id, path_id)
from web.api.entities import NOTIFICATION_TYPES, notifications

UNREAD_DEFAULT = 100
UNREAD_MAX = 1000


def kinds_of(types: list[str]) -> set[str]:
    """Our kinds behind Mastodon types ("mention" is both our mention and reply)."""
    return {kind for kind, mtype in NOTIFICATION_TYPES.items() if mtype in types}


def shown() -> QuerySet[Notification]:
    return Notification.filter(kind__in=list(NOTIFICATION_TYPES))


async def _by_id(request: Request) -> Notification:
    row = await shown().filter(id=path_id(request)).first()
    if row is None:
        raise not_found()
    return row


async def _account_uri(inst: Instance, value: str) -> str:
    where, number = parse_account_id(value)
    actor = await (LocalActor if where == "local" else RemoteActor).filter(id=number).first()
    if actor is None:
        raise not_found()
    return inst.uri_of(actor) if isinstance(actor, LocalActor) else actor.uri


@api("read:notifications")
async def index(request: Request) -> Response:
    inst: Instance = request.app.state.inst
    p = await params(request)
    page = page_of(p, maximum=80)
    query = shown()
    types = [str(t) for t in p.getlist("types")]
    excluded = [str(t) for t in p.getlist("exclude_types")]
    if types:
        query = query.filter(kind__in=list(kinds_of(types)))
    if excluded:
        query = query.exclude(kind__in=list(kinds_of(excluded)))
    account = p.get("account_id")
    if account not in (None, ""):
        query = query.filter(actor_uri=await _account_uri(inst, str(account)))
    rows = await newest_first(query, page, "id")
    # Cursors are every row read, also one left out of the entities (its status is gone):
    # the next page must start below it, or paging would stop there.
    return paged(request, await notifications(inst, actor_of(request), rows), [n.id for n in rows])


@api("read:notifications")
async def show(request: Request) -> Response:
    inst: Instance = request.app.state.inst
    rendered = await notifications(inst, actor_of(request), [await _by_id(request)])
    if not rendered:  # its account or status is no longer known
        raise not_found()
    return JSONResponse(rendered[0])


@api("write:notifications")
async def dismiss(request: Request) -> Response:
    await (await _by_id(request)).delete()
    return JSONResponse({})


@api("write:notifications")
async def clear(request: Request) -> Response:
    await shown().delete()
    return JSONResponse({})


@api("read:notifications")
async def unread_count(request: Request) -> Response:
    p = await params(request)
    limit = int_param(p, "limit")
    limit = UNREAD_DEFAULT if limit is None else max(1, min(limit, UNREAD_MAX))
    types = [str(t) for t in p.getlist("types")]
    query = shown().filter(read=False)
    if types:
        query = query.filter(kind__in=list(kinds_of(types)))
    if p.getlist("exclude_types"):
        query = query.exclude(kind__in=list(kinds_of([str(t) for t in p.getlist("exclude_types")])))
    count = len(await query.limit(limit).values_list("id", flat=True))
    return JSONResponse({"count": count})


routes = [
    Route("/api/v1/notifications", index),
    Route("/api/v1/notifications/unread_count", unread_count),
    Route("/api/v1/notifications/clear", clear, methods=["POST"]),
    Route("/api/v1/notifications/{id:int}", show),
    Route("/api/v1/notifications/{id:int}/dismiss", dismiss, methods=["POST"]),
]
