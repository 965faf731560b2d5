"""Admin side of our appeals: the declarations listed on the admin statement page, and hiding
or showing one. A hidden declaration is kept (the peer still has it) but leaves our public page
and the appeal's `replies` collection.
"""
from __future__ import annotations

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from content.models import Post
from outbox.appeals import set_hidden
from outbox.statements import OutboxError
from web.appeal_view import appeal_context
from web.auth import require_login
from web.pages import pick_language


async def statement_context(request: Request, post: Post) -> dict:
    """For admin_statement.html: the appeal with every declaration, hidden ones included."""
    return await appeal_context(post, pick=lambda p: pick_language(p, request), now=request.app.state.inst.now(),
                                with_hidden=True)


def _not_found(what: str) -> HTMLResponse:
    return HTMLResponse(f"<!doctype html><title>Not found</title><p>No such {what}.</p>", status_code=404)


async def _set_hidden(request: Request, hidden: bool) -> Response:
    inst = request.app.state.inst
    sid = request.path_params["sid"]
    appeal = await Post.filter(ap_id=inst.urls.statement(sid), local=True,
                               author_uri=inst.uri_of(request.state.login.actor)).first()
    if appeal is None:
        return _not_found("statement")
    # Only a reply to this statement from another instance: the id alone must not reach other posts.
    declaration = await Post.filter(id=request.path_params["pid"], in_reply_to=appeal.ap_id, local=False).first()
    if declaration is None:
        return _not_found("declaration on this statement")
    try:
        await set_hidden(inst, request.state.login.actor, declaration, hidden)
    except OutboxError:
        return _not_found("declaration on this statement")
    return RedirectResponse(f"/admin/statements/{sid}#declaration-{declaration.id}", status_code=303)


@require_login
async def hide(request: Request) -> Response:
    return await _set_hidden(request, True)


@require_login
async def show(request: Request) -> Response:
    return await _set_hidden(request, False)


routes = [
    Route("/admin/statements/{sid}/declarations/{pid:int}/hide", hide, methods=["POST"]),
    Route("/admin/statements/{sid}/declarations/{pid:int}/show", show, methods=["POST"]),
]
