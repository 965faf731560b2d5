"""Admin: our meetings — the list, the create/edit form, postpone and cancel.

Checking, storing and federating is content.meetings / outbox.meetings; this module turns the
form into a MeetingInput-shaped dict (times still as typed, read in the chosen zone by
check_input) and shows the reason when it is refused, with everything typed kept.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from content.meetings import JOIN_MODES, KINDS, POSTAL_KEYS, MeetingError, input_of, ordered_names
from content.models import Meeting, Post, Registration
from outbox import meetings as out_meetings
from web.admin_common import page, see_other
from web.auth import require_login
from web.meeting_items import KINDS as KIND_WORDS
from web.meeting_items import STATUS_WORDS, one_item, zone
from web.meetings import JOIN_WORDS, ZONES, span

ROWS = 3
ADDRESS_LABELS = {"streetAddress": "Street", "postalCode": "Postal code", "addressLocality": "City",
                  "addressRegion": "Region", "addressCountry": "Country"}


@dataclass
class MeetingForm:
    """The form as typed (strings), so a refused form comes back exactly as it was sent."""
    rows: list[dict[str, str]] = field(default_factory=lambda: [{"lang": "", "title": "", "desc": ""}] * ROWS)
    start: str = ""
    end: str = ""
    timezone: str = "UTC"
    place_name: str = ""
    address: dict[str, str] = field(default_factory=dict)
    online_url: str = ""
    kind: str = "other"
    theme: str = ""
    capacity: str = ""
    join_mode: str = "free"
    external_url: str = ""
    registration_opens: str = ""
    registration_closes: str = ""

    def data(self) -> dict:
        """For content.meetings.check_input. A title without a language is refused here: check_input
        reads languages from the keys."""
        titles, descriptions = {}, {}
        for n, row in enumerate(self.rows, start=1):
            lang = row["lang"].strip()
            if not lang and (row["title"].strip() or row["desc"].strip()):
                raise MeetingError(f"give the language of row {n} (en, fr, es…)")
            if not lang:
                continue
            if lang.lower() in {k.lower() for k in titles} | {k.lower() for k in descriptions}:
                raise MeetingError(f"the language {lang} is given twice")
            if row["title"].strip():
                titles[lang] = row["title"]
            if row["desc"].strip():
                descriptions[lang] = row["desc"]
        return {"titles": titles, "descriptions": descriptions, "start": self.start, "end": self.end,
                "timezone": self.timezone.strip(), "place_name": self.place_name,
                "address": {k: v for k, v in self.address.items() if v.strip()}, "online_url": self.online_url.strip(),
                "kind": self.kind, "theme": self.theme, "capacity": self.capacity.strip(),
                "join_mode": self.join_mode, "external_url": self.external_url.strip(),
                "registration_opens": self.registration_opens, "registration_closes": self.registration_closes}


def _local(moment: datetime | None, tz: str) -> str:
    """An aware datetime as a datetime-local value in the meeting's zone."""
    if moment is None:
        return ""
    return moment.astimezone(zone(tz) or ZoneInfo("UTC")).strftime("%Y-%m-%dT%H:%M")


def form_of(post: Post, meeting: Meeting) -> MeetingForm:
    typed = input_of(post, meeting)
    langs = list(dict.fromkeys([*typed.titles, *typed.descriptions]))
    rows = [{"lang": lang, "title": typed.titles.get(lang, ""), "desc": typed.descriptions.get(lang, "")}
            for lang in langs]
    rows += [{"lang": "", "title": "", "desc": ""}] * max(0, ROWS - len(rows))
    tz = typed.timezone
    return MeetingForm(rows=rows, start=_local(typed.start, tz), end=_local(typed.end, tz), timezone=tz,
                       place_name=typed.place_name, address={k: str(v) for k, v in typed.address.items()},
                       online_url=typed.online_url, kind=typed.kind, theme=typed.theme,
                       capacity="" if typed.capacity is None else str(typed.capacity), join_mode=typed.join_mode,
                       external_url=typed.external_url, registration_opens=_local(typed.registration_opens, tz),
                       registration_closes=_local(typed.registration_closes, tz))


async def _typed(request: Request) -> MeetingForm:
    form = await request.form()

    def text(name: str, limit: int = 25_000) -> str:
        value = form.get(name)
        return value[:limit] if isinstance(value, str) else ""

    rows = [{"lang": text(f"lang{n}", 35), "title": text(f"title{n}"), "desc": text(f"desc{n}")} for n in range(ROWS)]
    return MeetingForm(rows=rows, start=text("start", 40), end=text("end", 40), timezone=text("timezone", 64),
                       place_name=text("place_name"), address={k: text(k, 500) for k in POSTAL_KEYS},
                       online_url=text("online_url"), kind=text("kind", 20), theme=text("theme"),
                       capacity=text("capacity", 20), join_mode=text("join_mode", 20),
                       external_url=text("external_url"), registration_opens=text("registration_opens", 40),
                       registration_closes=text("registration_closes", 40))


def _form_page(request: Request, typed: MeetingForm, *, mode: str, mid: str = "", status: int = 200,
               error: str = "") -> HTMLResponse:
    zones = list(dict.fromkeys([typed.timezone, *ZONES])) if typed.timezone else ZONES
    return page(request, "admin_meeting_form.html", status=status, typed=typed, mode=mode, mid=mid, error=error,
                kinds=[(k, KIND_WORDS[k]) for k in KINDS], join_modes=[(j, JOIN_WORDS[j]) for j in JOIN_MODES],
                zones=zones, address_labels=ADDRESS_LABELS,
                action=f"/admin/meetings/{mid}/edit" if mode == "edit" else "/admin/meetings/new")


async def own_meeting(request: Request) -> Meeting | None:
    """The meeting named by the `mid` path parameter, if the logged-in union organises it."""
    inst = request.app.state.inst
    return await (Meeting.filter(post__ap_id=inst.urls.meeting(request.path_params["mid"]), local=True,
                                 post__author_uri=inst.uri_of(request.state.login.actor))
                  .prefetch_related("post").first())


def not_found() -> HTMLResponse:
    return HTMLResponse("<!doctype html><title>Not found</title><p>No such meeting of ours.</p>", status_code=404)


async def _list_page(request: Request, *, status: int = 200, error: str = "") -> HTMLResponse:
    inst = request.app.state.inst
    union = request.state.login.actor
    meetings = await (Meeting.filter(local=True, post__author_uri=inst.uri_of(union)).order_by("-start")
                      .limit(500).prefetch_related("post"))
    counts: dict[int, dict[str, int]] = {}
    for mid, state, delegates in await Registration.filter(meeting_id__in=[m.id for m in meetings], local=False
                                                           ).values_list("meeting_id", "state", "delegates"):
        c = counts.setdefault(mid, {"pending": 0, "accepted": 0})
        if state in c:
            c[state] += delegates or 0
    rows = []
    for m in meetings:
        item = await one_item(inst, m, union)
        rows.append({"item": item, "meeting": m, "when": span(item, item.zone or ZoneInfo("UTC")),
                     "title": next(iter(ordered_names(m.post, m).values()), "Meeting"),
                     "counts": counts.get(m.id, {"pending": 0, "accepted": 0})})
    message = {"created": "Meeting published; followers are told.", "saved": "Changes saved and sent.",
               "postponed": "Meeting postponed; followers and registered people are told.",
               "cancelled": "Meeting cancelled; followers and registered people are told."}.get(
        request.query_params.get("done", ""), "")
    return page(request, "admin_meetings.html", status=status, rows=rows, statuses=STATUS_WORDS,
                message="" if error else message, error=error)


@require_login
async def meeting_list(request: Request) -> Response:
    return await _list_page(request)


async def _default_zone(inst, union) -> str:
    last = await (Meeting.filter(local=True, post__author_uri=inst.uri_of(union)).order_by("-id")
                  .limit(1).values_list("timezone", flat=True))
    return (last[0] if last else "") or "UTC"


@require_login
async def meeting_new(request: Request) -> Response:
    inst = request.app.state.inst
    union = request.state.login.actor
    if request.method == "GET":
        return _form_page(request, MeetingForm(timezone=await _default_zone(inst, union)), mode="new")
    typed = await _typed(request)
    try:
        await out_meetings.create_meeting(inst, union, typed.data())
    except MeetingError as exc:
        return _form_page(request, typed, mode="new", status=400, error=str(exc))
    return see_other("/admin/meetings?done=created")


@require_login
async def meeting_edit(request: Request) -> Response:
    inst = request.app.state.inst
    meeting = await own_meeting(request)
    if meeting is None:
        return not_found()
    mid = request.path_params["mid"]
    if request.method == "GET":
        return _form_page(request, form_of(meeting.post, meeting), mode="edit", mid=mid)
    typed = await _typed(request)
    try:
        data = typed.data()
        # Co-organisers (set from the command line) are not on the form: keep them.
        data["organizers"] = [o for o in meeting.organizers or [] if o != meeting.post.author_uri]
        await out_meetings.update_meeting(inst, request.state.login.actor, meeting, data)
    except MeetingError as exc:
        return _form_page(request, typed, mode="edit", mid=mid, status=400, error=str(exc))
    return see_other("/admin/meetings?done=saved")


async def _change(request: Request, action, done: str) -> Response:
    inst = request.app.state.inst
    meeting = await own_meeting(request)
    if meeting is None:
        return not_found()
    try:
        await action(inst, request.state.login.actor, meeting)
    except MeetingError as exc:
        return await _list_page(request, status=409, error=f"Nothing changed: {exc}.")
    return see_other(f"/admin/meetings?done={done}")


@require_login
async def meeting_postpone(request: Request) -> Response:
    return await _change(request, out_meetings.postpone_meeting, "postponed")


@require_login
async def meeting_cancel(request: Request) -> Response:
    return await _change(request, out_meetings.cancel_meeting, "cancelled")


routes = [
    Route("/admin/meetings", meeting_list),
    Route("/admin/meetings/new", meeting_new, methods=["GET", "POST"]),
    Route("/admin/meetings/{mid}/edit", meeting_edit, methods=["GET", "POST"]),
    Route("/admin/meetings/{mid}/postpone", meeting_postpone, methods=["POST"]),
    Route("/admin/meetings/{mid}/cancel", meeting_cancel, methods=["POST"]),
]
