"""Our meetings as ActivityPub objects: the Event at its id (HTML for browsers at the same URL,
from the pages), its organizers and attendees collections, and the union's upcomingEvents."""
from __future__ import annotations

import html

from starlette.convertors import Convertor, register_url_convertor
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from actors.local import get_by_username
from content.models import Meeting, Post, Tombstone
from content.registrations import seats_taken
from federation.vocab import AS_CONTEXT
from outbox.collection import activity_document
from outbox.meetings import meeting_document
from web.negotiation import ap_response, json_error, wants_activity_json

UPCOMING_SHOWN = 200


class MeetingIdConvertor(Convertor):
    # Our meeting ids have no dot, so "/meetings/{mid}.ics" (the pages' calendar file) is never
    # taken for a meeting id by the route below, whatever the order of the routes.
    regex = "[0-9A-Za-z_-]+"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("mid", MeetingIdConvertor())


async def _ours(request: Request) -> tuple[Post | None, Meeting | None, str]:
    inst = request.app.state.inst
    ap_id = inst.urls.meeting(request.path_params["mid"])
    post = await Post.filter(ap_id=ap_id, local=True, type="Event").first()
    meeting = await Meeting.filter(post_id=post.id).first() if post else None
    return post, meeting, ap_id


async def meeting(request: Request) -> Response:
    post, row, ap_id = await _ours(request)
    if row is None:
        if await Tombstone.filter(ap_id=ap_id).exists():
            return ap_response({"@context": AS_CONTEXT, "id": ap_id, "type": "Tombstone"}, 410)
        return json_error(404, "no such meeting")
    if not wants_activity_json(request.headers.get("accept")):
        page = getattr(request.app.state.pages, "meeting_page", None)
        if page is not None:
            return await page(request, row)
        return _fallback_page(post, row)
    return ap_response(await meeting_document(request.app.state.inst, row, post))


def _fallback_page(post: Post, row: Meeting) -> Response:
    """Until the meeting page exists: the title and summary, enough for a browser."""
    lang = html.escape(post.language or "en")
    body = (f'<!doctype html><html lang="{lang}"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{html.escape(post.name)}</title></head><body><h1>{html.escape(post.name)}</h1>"
            f"{post.summary}{post.content}</body></html>")  # summary and content are our own safe HTML
    return HTMLResponse(body, headers={"Vary": "Accept"})


async def organizers(request: Request) -> Response:
    post, row, ap_id = await _ours(request)
    if row is None:
        return json_error(404, "no such meeting")
    items = list(row.organizers or []) or [post.author_uri]
    return ap_response({"@context": AS_CONTEXT, "id": f"{ap_id}/organizers", "type": "OrderedCollection",
                        "totalItems": len(items), "orderedItems": items})


async def attendees(request: Request) -> Response:
    """Counts only: who registered is for the organisers to see (issue 4 item 3)."""
    post, row, ap_id = await _ours(request)
    if row is None:
        return json_error(404, "no such meeting")
    return ap_response({"@context": AS_CONTEXT, "id": f"{ap_id}/attendees", "type": "Collection",
                        "totalItems": await seats_taken(row)})


async def create_activity(request: Request) -> Response:
    """The Create{Event} at its own id, as statements' are."""
    doc = await activity_document(request.app.state.inst.urls.base + request.url.path)
    return ap_response(doc) if doc is not None else json_error(404, "no such activity")


async def upcoming_events(request: Request) -> Response:
    """FEP-8a8e upcomingEvents: the union's meetings not yet over, soonest first."""
    inst = request.app.state.inst
    local = await get_by_username(request.path_params["username"])
    if local is None or local.kind != "union":
        return json_error(404, "no such actor")
    query = Meeting.filter(local=True, post__author_uri=inst.uri_of(local), end__gt=inst.now()).exclude(
        status="cancelled")
    total = await query.count()
    rows = await query.order_by("start", "id").limit(UPCOMING_SHOWN).values_list("post__ap_id", flat=True)
    return ap_response({"@context": AS_CONTEXT, "id": inst.urls.upcoming_events(local.username),
                        "type": "OrderedCollection", "totalItems": total, "orderedItems": list(rows)})


routes = [
    Route("/meetings/{mid:mid}", meeting),
    Route("/meetings/{mid:mid}/organizers", organizers),
    Route("/meetings/{mid:mid}/attendees", attendees),
    Route("/meetings/{mid:mid}/activity", create_activity),
    Route("/actors/{username}/upcoming_events", upcoming_events),
]
