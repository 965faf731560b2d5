"""Following and interacting across servers: "follow from your own server" for visitors, and
`/authorize_interaction?uri=` for our admin when they come from another server's page."""
from __future__ import annotations

from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from actors.local import get_union
from actors.remote import ActorFetchError, fetch_actor, resolve_handle
from federation import webfinger
from outbox import follows as outbox_follows
from outbox import interactions
from outbox.lookup import LookupError_, fetch_post
from outbox.statements import OutboxError
from web.auth import render_form, require_login
from web.pages import render


async def remote_follow(request: Request) -> Response:
    """A visitor types their own handle; we send them to their server's follow page for us."""
    inst = request.app.state.inst
    union = await get_union()
    if request.method == "GET":
        return render(request, "remote_follow.html", union=union, error="", handle="")
    form = await request.form()
    handle = str(form.get("handle", "")).strip()
    try:
        template = await webfinger.subscribe_template(inst.client, handle)
    except webfinger.WebFingerError as exc:
        return render(request, "remote_follow.html", 400, union=union, handle=handle, error=exc.reason)
    return RedirectResponse(template.replace("{uri}", quote(inst.urls.actor(union.username), safe="")), 303)


async def _resolve(inst, uri: str):
    """An account (handle or actor URL) or a post URL; returns ("actor"|"post", object)."""
    if uri.startswith("acct:") or (uri.count("@") >= 1 and "://" not in uri):
        return "actor", await resolve_handle(inst, uri.removeprefix("acct:"))
    try:
        return "actor", await fetch_actor(inst, uri)
    except ActorFetchError:
        return "post", await fetch_post(inst, uri)


@require_login
async def authorize_interaction(request: Request) -> Response:
    inst = request.app.state.inst
    union = request.state.login.actor
    uri = (request.query_params.get("uri") or "").strip()
    if request.method == "POST":
        form = await request.form()
        uri, action = str(form.get("uri", "")).strip(), str(form.get("action", ""))
    if not uri:
        return render_form(request, "authorize.html", 400, union=union, error="Which account or post? (uri is missing)")
    try:
        kind, target = await _resolve(inst, uri)
    except (ActorFetchError, LookupError_) as exc:
        return render_form(request, "authorize.html", 400, union=union, error=f"Not found: {exc.reason}", uri=uri)
    done = ""
    if request.method == "POST":
        try:
            if kind == "actor" and action == "follow":
                await outbox_follows.follow(inst, union, target)
                done = f"Follow request sent to {target.handle}."
            elif kind == "post" and action in ("boost", "like"):
                await (interactions.boost if action == "boost" else interactions.like)(inst, union, target.ap_id)
                done = "Cross-posted to your followers." if action == "boost" else "Liked."
            else:
                return render_form(request, "authorize.html", 400, union=union, error="That action does not apply.",
                                   uri=uri, kind=kind, target=target)
        except (OutboxError, LookupError_) as exc:
            return render_form(request, "authorize.html", 400, union=union, error=getattr(exc, "reason", str(exc)),
                               uri=uri, kind=kind, target=target)
    return render_form(request, "authorize.html", union=union, uri=uri, kind=kind, target=target, done=done)


routes = [
    Route("/remote_follow", remote_follow, methods=["GET", "POST"]),
    Route("/authorize_interaction", authorize_interaction, methods=["GET", "POST"]),
]
