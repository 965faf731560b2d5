"""Admin pages (behind `require_login`): home, our statements (delete, delivery status; the
composer and edit form are in web/compose_form.py), follows and follow requests, notifications.

Every change goes through outbox/ (or actors.remote for a handle); this module only turns forms
into those calls and reads rows to show them.
"""
from __future__ import annotations

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from actors.models import Follower, Following, FollowState, RemoteActor
from actors.remote import ActorFetchError, resolve_handle
from content.models import Notification, Post
from content.sanitize import safe_url
from federation.delivery import deliveries_for
from federation.models import DeliveryState
from outbox import follows as out_follows
from outbox import statements
from outbox.models import Activity
from web import admin_appeals
from web.admin_common import direction, not_found, own, page, see_other, sid
from web.auth import require_login

NOTIFICATION_WORDS = {"follow": "followed you", "follow_request": "asked to follow you", "reply": "replied",
                      "mention": "mentioned you", "reblog": "boosted", "favourite": "liked",
                      "update": "edited a post you boosted or liked", "status": "posted",
                      "registration": "registered for", "registration_request": "asked to register for",
                      "registration_withdrawn": "withdrew from"}


# --- our statements ---------------------------------------------------------------------

@require_login
async def statement_list(request: Request) -> Response:
    inst = request.app.state.inst
    posts = await (Post.filter(local=True, author_uri=inst.uri_of(request.state.login.actor))
                   .order_by("-published", "-id").limit(200))
    return page(request, "admin_statements.html", posts=[(p, sid(inst, p.ap_id)) for p in posts])


@require_login
async def statement_delete(request: Request) -> Response:
    inst = request.app.state.inst
    post = await own(request)
    if post is None:
        return not_found()
    await statements.delete(inst, request.state.login.actor, post.ap_id)
    return see_other("/admin/statements")


@require_login
async def statement_status(request: Request) -> Response:
    inst = request.app.state.inst
    post = await own(request)
    if post is None:
        return not_found()
    activities = await Activity.filter(object_uri=post.ap_id).order_by("created_at", "id")
    groups: dict[str, list[dict]] = {"delivered": [], "pending": [], "failed": []}
    for activity in activities:
        for d in await deliveries_for(activity.ap_id):
            state = {DeliveryState.DELIVERED: "delivered", DeliveryState.PENDING: "pending"}.get(d.state, "failed")
            groups[state].append({"host": d.host, "inbox": d.inbox, "activity": activity.type, "state": d.state,
                                  "attempts": d.attempts, "next_try": d.next_attempt_at, "status": d.last_status,
                                  "error": d.last_error, "finished": d.finished_at})
    for rows in groups.values():
        rows.sort(key=lambda r: (r["host"], r["activity"]))
    lang = post.language or next(iter(post.content_map), "und")
    return page(request, "admin_statement.html", post=post, sid=sid(inst, post.ap_id), groups=groups,
                 activities=activities, lang=lang, dir=direction(lang),
                 html=post.content_map.get(lang, post.content), **await admin_appeals.statement_context(request, post))


# --- follows ----------------------------------------------------------------------------

async def _follows_page(request: Request, *, status: int = 200, error: str = "", handle: str = "",
                        message: str = "") -> HTMLResponse:
    local = request.state.login.actor
    following = await Following.filter(local=local).prefetch_related("remote").order_by("-created_at", "-id")
    followers = await Follower.filter(local=local).prefetch_related("remote").order_by("-created_at", "-id")
    return page(request, "admin_follows.html", status=status, error=error, handle=handle, message=message,
                 following=following, accepted=[f for f in followers if f.state == FollowState.ACCEPTED],
                 requests=[f for f in followers if f.state != FollowState.ACCEPTED])


@require_login
async def follows_page(request: Request) -> Response:
    if request.method == "GET":
        return await _follows_page(request, message={"followed": "Follow request sent.",
                                                     "unfollowed": "Unfollowed.", "approved": "Request approved.",
                                                     "rejected": "Request rejected."}
                                   .get(request.query_params.get("done", ""), ""))
    inst = request.app.state.inst
    handle = str((await request.form()).get("handle") or "").strip()
    if not handle:
        return await _follows_page(request, status=400, error="Give a handle such as @union@example.org.")
    try:
        remote = await resolve_handle(inst, handle)
    except ActorFetchError as exc:
        return await _follows_page(request, status=400, handle=handle, error=f"Could not find {handle}: {exc.reason}")
    await out_follows.follow(inst, request.state.login.actor, remote)
    return see_other("/admin/follows?done=followed")


@require_login
async def unfollow(request: Request) -> Response:
    inst = request.app.state.inst
    local = request.state.login.actor
    row = await Following.filter(id=request.path_params["fid"], local=local).prefetch_related("remote").first()
    if row is None:
        return await _follows_page(request, status=404, error="You do not follow that union.")
    await out_follows.unfollow(inst, local, row.remote)
    return see_other("/admin/follows?done=unfollowed")


async def _answer(request: Request, accept: bool) -> Response:
    inst = request.app.state.inst
    row = await (Follower.filter(id=request.path_params["fid"], local=request.state.login.actor)
                 .prefetch_related("local", "remote").first())
    if row is None or row.state == FollowState.ACCEPTED:
        return await _follows_page(request, status=404, error="No such follow request.")
    await out_follows.answer_follow(inst, row, accept=accept)
    return see_other(f"/admin/follows?done={'approved' if accept else 'rejected'}")


@require_login
async def approve(request: Request) -> Response:
    return await _answer(request, True)


@require_login
async def reject(request: Request) -> Response:
    return await _answer(request, False)


# --- notifications ----------------------------------------------------------------------

@require_login
async def notifications(request: Request) -> Response:
    rows = await Notification.all().order_by("-created_at", "-id").limit(100)
    actors = {a.uri: a for a in await RemoteActor.filter(uri__in=list({n.actor_uri for n in rows}))}
    items = []
    for n in rows:
        actor = actors.get(n.actor_uri)
        items.append({"n": n, "words": NOTIFICATION_WORDS.get(n.kind, n.kind),
                      "handle": f"@{actor.username}@{actor.domain}" if actor else n.actor_uri,
                      "actor_url": safe_url((actor.url or actor.uri) if actor else n.actor_uri),
                      "object_url": safe_url(n.object_uri), "new": not n.read})
    response = page(request, "admin_notifications.html", items=items)
    unread = [n.id for n in rows if not n.read]
    if unread:  # seen now: marked read once the page is rendered
        await Notification.filter(id__in=unread).update(read=True)
    return response


@require_login
async def home(request: Request) -> Response:
    unread = await Notification.filter(read=False).count()
    return page(request, "admin_home.html", unread=unread)


routes = [
    Route("/admin", home),
    Route("/admin/statements", statement_list),
    Route("/admin/statements/{sid}", statement_status),
    Route("/admin/statements/{sid}/delete", statement_delete, methods=["POST"]),
    Route("/admin/follows", follows_page, methods=["GET", "POST"]),
    Route("/admin/follows/{fid:int}/unfollow", unfollow, methods=["POST"]),
    Route("/admin/followers/{fid:int}/approve", approve, methods=["POST"]),
    Route("/admin/followers/{fid:int}/reject", reject, methods=["POST"]),
    Route("/admin/notifications", notifications),
]
