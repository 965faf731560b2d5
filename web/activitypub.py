"""ActivityPub endpoints: actor documents, collections, objects at their ids, the inboxes."""
from __future__ import annotations

from starlette.requests import ClientDisconnect, Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from actors.documents import actor_document, relationship_collection
from actors.instance import Instance
from actors.local import get_by_username
from actors.models import LocalActor
from content.models import Post, Tombstone
from federation.http import is_ap_content_type
from federation.vocab import AS_CONTEXT, ordered_collection
from inbox.errors import Refused
from inbox.receive import MAX_BODY, InboundRequest, receive
from outbox.collection import activity_document, outbox_collection
from outbox.statements import statement_json
from web import meeting_objects
from web.negotiation import ap_response, json_error, wants_activity_json


REPLIES_SHOWN = 200


def _inst(request: Request) -> Instance:
    return request.app.state.inst


async def _union(request: Request) -> LocalActor | None:
    actor = await get_by_username(request.path_params["username"])
    return actor if actor and actor.kind == "union" else None


async def actor(request: Request) -> Response:
    local = await _union(request)
    if local is None:
        return json_error(404, "no such actor")
    if not wants_activity_json(request.headers.get("accept")):
        return RedirectResponse(_inst(request).urls.profile(local.username), status_code=302)
    return ap_response(actor_document(_inst(request), local))


async def instance_actor(request: Request) -> Response:
    local = await LocalActor.filter(kind="instance").first()
    if local is None:
        return json_error(404, "instance not initialised")
    return ap_response(actor_document(_inst(request), local))


async def instance_outbox(request: Request) -> Response:
    return ap_response(ordered_collection(f"{_inst(request).urls.instance_actor}/outbox", 0, first=None))


MAX_PAGE = 1_000_000


class BadQuery(Exception):
    pass


def _number(request: Request, name: str, *, low: int, high: int) -> int | None:
    """A bounded integer query parameter; anything else is a 400 (the page id must be its URL)."""
    raw = request.query_params.get(name)
    if raw is None:
        return None
    if not raw.isdigit() or len(raw) > 18 or not low <= int(raw) <= high:
        raise BadQuery(f"{name} must be a whole number from {low} to {high}")
    return int(raw)


async def followers(request: Request) -> Response:
    local = await _union(request)
    if local is None:
        return json_error(404, "no such actor")
    which = "followers" if request.url.path.endswith("/followers") else "following"
    try:
        page = _number(request, "page", low=1, high=MAX_PAGE)
    except BadQuery as exc:
        return json_error(400, str(exc))
    return ap_response(await relationship_collection(_inst(request), local, which, page))


async def outbox(request: Request) -> Response:
    local = await _union(request)
    if local is None:
        return json_error(404, "no such actor")
    try:
        max_id = _number(request, "max_id", low=0, high=2**63 - 1)
    except BadQuery as exc:
        return json_error(400, str(exc))
    page = request.query_params.get("page") is not None
    return ap_response(await outbox_collection(_inst(request), local, max_id=max_id, page=page))


async def statement(request: Request) -> Response:
    inst = _inst(request)
    ap_id = inst.urls.statement(request.path_params["sid"])
    post = await Post.filter(ap_id=ap_id, local=True).first()
    if post is None:
        if await Tombstone.filter(ap_id=ap_id).exists():
            return ap_response({"@context": AS_CONTEXT, "id": ap_id, "type": "Tombstone"}, 410)
        return json_error(404, "no such statement")
    if not wants_activity_json(request.headers.get("accept")):
        return await request.app.state.pages.statement_page(request, post)
    return ap_response(statement_json(inst, post))


async def replies(request: Request) -> Response:
    """The statement's replies (declarations of solidarity on an appeal), as other servers read them."""
    inst = _inst(request)
    ap_id = inst.urls.statement(request.path_params["sid"])
    if not await Post.filter(ap_id=ap_id, local=True).exists():
        return json_error(404, "no such statement")
    items = await Post.filter(in_reply_to=ap_id, public=True, hidden=False).order_by("published").limit(
        REPLIES_SHOWN).values_list("ap_id", flat=True)
    total = await Post.filter(in_reply_to=ap_id, public=True, hidden=False).count()
    cid = f"{ap_id}/replies"
    # The shape our Notes announce (and Mastodon reads): a Collection with its first page inline.
    return ap_response({"@context": AS_CONTEXT, "id": cid, "type": "Collection", "totalItems": total,
                        "first": {"type": "CollectionPage", "partOf": cid, "items": list(items)}})


async def activity(request: Request) -> Response:
    inst = _inst(request)
    path = request.url.path
    ap_id = inst.urls.base + path
    doc = await activity_document(ap_id)
    if doc is None:
        return json_error(404, "no such activity")
    return ap_response(doc)


async def _read_body(request: Request) -> bytes:
    length = request.headers.get("content-length")
    if length is not None:
        if not length.isdigit():
            raise Refused(400, "invalid Content-Length")
        if int(length) > MAX_BODY:
            raise Refused(413, f"the body is larger than {MAX_BODY} bytes")
    chunks, size = [], 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > MAX_BODY:
                raise Refused(413, f"the body is larger than {MAX_BODY} bytes")
            chunks.append(chunk)
    except ClientDisconnect:
        raise Refused(400, "the client went away") from None
    return b"".join(chunks)


async def inbox(request: Request) -> Response:
    inst = _inst(request)
    if "username" in request.path_params and await _union(request) is None:
        return json_error(404, "no such actor")
    try:
        encoding = request.headers.get("content-encoding", "identity").strip().lower()
        if encoding not in ("", "identity"):
            raise Refused(415, "compressed bodies are not accepted")
        if not is_ap_content_type(request.headers.get("content-type")):
            raise Refused(415, "Content-Type must be application/activity+json or application/ld+json with the ActivityStreams profile")
        body = await _read_body(request)
        # Signatures cover the path as sent (percent-encoding and all), not the decoded one.
        raw_path = request.scope.get("raw_path", b"").decode("latin-1") or request.url.path
        target = f"{inst.urls.base}{raw_path}" + (f"?{request.url.query}" if request.url.query else "")
        req = InboundRequest(method=request.method, path=raw_path, query=request.url.query,
                             headers=request.headers, body=body, target_uri=target)
        status, _ = await receive(inst, req)
    except Refused as exc:
        return json_error(exc.status, exc.reason)
    request.app.state.wake_inbox()
    return Response(status_code=status)


routes = [
    Route("/actor", instance_actor),
    Route("/actor/outbox", instance_outbox),
    Route("/inbox", inbox, methods=["POST"]),
    Route("/actors/{username}", actor),
    Route("/actors/{username}/inbox", inbox, methods=["POST"]),
    Route("/actors/{username}/outbox", outbox),
    Route("/actors/{username}/followers", followers),
    Route("/actors/{username}/following", followers),
    Route("/statements/{sid}", statement),
    Route("/statements/{sid}/activity", activity),
    Route("/statements/{sid}/replies", replies),
    Route("/activities/{aid:path}", activity),
    *meeting_objects.routes,
]
