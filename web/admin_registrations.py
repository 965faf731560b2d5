"""Admin: registrations. For one of our meetings, everyone registered — fediverse and web form in
one list — with Accept/Refuse for those waiting and a CSV export; and /admin/registrations, our
union's own registrations to other unions' meetings (register by pasting the meeting's URL,
withdraw). The rules (capacity, states, what federates) are outbox.registrations'.
"""
from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from actors.models import RemoteActor
from content import registrations as regs
from content.meetings import ordered_names
from content.models import Meeting, Registration
from content.sanitize import safe_url
from outbox import registrations as out_regs
from web.admin_common import page, see_other
from web.admin_meetings import not_found, own_meeting
from web.auth import require_login

STATE_WORDS = {"pending": "waiting for approval", "accepted": "accepted", "rejected": "refused",
               "withdrawn": "withdrawn", "maybe": "maybe", "declined": "not coming", "ignored": "ignored"}


@dataclass
class Row:
    reg: Registration
    who: str
    union: str
    account: str  # fediverse actor (profile URL when known)


async def _rows(meeting: Meeting) -> list[Row]:
    registrations = await (Registration.filter(meeting_id=meeting.id, local=False)
                           .order_by("created_at", "id").limit(5000))
    uris = [r.actor_uri for r in registrations if r.actor_uri]
    actors = {a.uri: a for a in await RemoteActor.filter(uri__in=uris)}
    rows = []
    for r in registrations:
        actor = actors.get(r.actor_uri or "")
        handle = f"@{actor.username}@{actor.domain}" if actor else (r.actor_uri or "")
        who = r.name or (actor.name if actor else "") or handle
        rows.append(Row(reg=r, who=who, union=r.union_name or (actor.name if actor and actor.type in (
            "Organization", "Group") else ""), account=handle))
    return rows


async def _meeting_page(request: Request, meeting: Meeting, *, status: int = 200, error: str = "",
                        message: str = "") -> HTMLResponse:
    rows = await _rows(meeting)
    title = next(iter(ordered_names(meeting.post, meeting).values()), "Meeting")
    return page(request, "admin_meeting_registrations.html", status=status, meeting=meeting, rows=rows,
                title=title, mid=request.path_params["mid"], states=STATE_WORDS, error=error, message=message,
                taken=await regs.seats_taken(meeting))


@require_login
async def meeting_registrations(request: Request) -> Response:
    meeting = await own_meeting(request)
    if meeting is None:
        return not_found()
    if request.query_params.get("format") == "csv":
        name = "".join(c for c in request.path_params["mid"] if c.isalnum() or c in "-_")[:64] or "meeting"
        return Response(regs.registrations_csv([row.reg for row in await _rows(meeting)]),
                        media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="registrations-{name}.csv"',
                                 "Cache-Control": "no-store"})
    done = {"accepted": "Registration accepted.", "refused": "Registration refused."}.get(
        request.query_params.get("done", ""), "")
    return await _meeting_page(request, meeting, message=done)


async def _decide(request: Request, accept: bool) -> Response:
    inst = request.app.state.inst
    meeting = await own_meeting(request)
    if meeting is None:
        return not_found()
    rid = request.path_params["rid"]
    reg = await Registration.filter(id=int(rid), meeting_id=meeting.id, local=False).first() if rid.isdigit() \
        and len(rid) < 19 else None
    if reg is None:
        return await _meeting_page(request, meeting, status=404, error="No such registration for this meeting.")
    reason = (await request.form()).get("reason")
    try:
        await out_regs.decide(inst, reg, accept, reason if isinstance(reason, str) else "")
    except out_regs.RegistrationError as exc:
        return await _meeting_page(request, meeting, status=409, error=f"Nothing changed: {exc}.")
    return see_other(f"/admin/meetings/{request.path_params['mid']}/registrations?done="
                     f"{'accepted' if accept else 'refused'}")


@require_login
async def accept(request: Request) -> Response:
    return await _decide(request, True)


@require_login
async def refuse(request: Request) -> Response:
    return await _decide(request, False)


# --- our registrations to other unions' meetings ----------------------------------------------

async def _ours_page(request: Request, *, status: int = 200, error: str = "", uri: str = "",
                     delegates: str = "1", message_typed: str = "", message: str = "") -> HTMLResponse:
    inst = request.app.state.inst
    union = request.state.login.actor
    registrations = await (Registration.filter(local=True, actor_uri=inst.uri_of(union))
                           .order_by("-created_at", "-id").limit(500).prefetch_related("meeting__post"))
    rows = []
    for r in registrations:
        post = r.meeting.post
        rows.append({"reg": r, "title": next(iter(ordered_names(post, r.meeting).values()), post.name or "Meeting"),
                     "url": safe_url(post.url) or safe_url(post.ap_id) or "", "start": r.meeting.start,
                     "status": r.meeting.status, "lang": post.language or ""})
    return page(request, "admin_registrations.html", status=status, rows=rows, states=STATE_WORDS, error=error,
                uri=uri, delegates=delegates, typed_message=message_typed, message=message,
                max_delegates=regs.MAX_DELEGATES, max_message=regs.MAX_MESSAGE_CHARS,
                active=regs.ACTIVE_STATES)


@require_login
async def our_registrations(request: Request) -> Response:
    inst = request.app.state.inst
    if request.method == "GET":
        done = {"sent": "Registration sent; it stays pending until the organisers answer.",
                "withdrawn": "Registration withdrawn; the organisers are told."}.get(
            request.query_params.get("done", ""), "")
        return await _ours_page(request, message=done)
    form = await request.form()
    uri = str(form.get("uri") or "").strip()[:2048]
    raw = str(form.get("delegates") or "1").strip()[:10]
    text = str(form.get("message") or "")[:regs.MAX_MESSAGE_CHARS + 1]
    kept = dict(uri=uri, delegates=raw, message_typed=text)
    if not safe_url(uri):
        return await _ours_page(request, status=400, error="Paste the meeting's address (https://…).", **kept)
    if not raw.isdigit() or not 1 <= int(raw) <= regs.MAX_DELEGATES:
        return await _ours_page(request, status=400, **kept,
                                error=f"The number of delegates must be a whole number from 1 to {regs.MAX_DELEGATES}.")
    try:
        await out_regs.register_for(inst, request.state.login.actor, uri, delegates=int(raw), message=text.strip())
    except out_regs.RegistrationError as exc:
        return await _ours_page(request, status=400, error=f"Not registered: {exc}.", **kept)
    return see_other("/admin/registrations?done=sent")


@require_login
async def withdraw(request: Request) -> Response:
    inst = request.app.state.inst
    union = request.state.login.actor
    rid = request.path_params["rid"]
    reg = await Registration.filter(id=int(rid), local=True, actor_uri=inst.uri_of(union)).first() \
        if rid.isdigit() and len(rid) < 19 else None
    if reg is None:
        return await _ours_page(request, status=404, error="No such registration of ours.")
    try:
        await out_regs.withdraw(inst, union, reg)
    except out_regs.RegistrationError as exc:
        return await _ours_page(request, status=409, error=f"Nothing changed: {exc}.")
    return see_other("/admin/registrations?done=withdrawn")


routes = [
    Route("/admin/meetings/{mid}/registrations", meeting_registrations),
    Route("/admin/meetings/{mid}/registrations/{rid}/accept", accept, methods=["POST"]),
    Route("/admin/meetings/{mid}/registrations/{rid}/refuse", refuse, methods=["POST"]),
    Route("/admin/registrations", our_registrations, methods=["GET", "POST"]),
    Route("/admin/registrations/{rid}/withdraw", withdraw, methods=["POST"]),
]
