"""Public meeting pages: the union's meetings (/meetings), the network calendar (/calendar, filtered
by kind, theme and language with a plain GET form), one page per meeting (served at the Event's
id for browsers: web/activitypub.py hands it to `meeting_page`), and the web registration form
(POST /meetings/{mid}/register) for people with no fediverse account.

Times are converted on the server (zoneinfo): our CSP allows no script, so the reader's zone is a
form field (?tz=) that defaults to the organiser's.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from actors.local import get_union
from content import registrations as regs
from content.models import Meeting
from outbox import registrations as out_regs
from web.bidi import direction
from web.meeting_items import KINDS, STATUS_WORDS, Item, network_items, one_item, union_items, zone
from web import registration_limit
from web.pages import render

# Offered in the time-zone select (the organiser's and the one asked for are added).
ZONES = ["UTC", "Europe/London", "Europe/Paris", "Europe/Madrid", "Europe/Berlin", "Europe/Rome", "Europe/Athens",
         "Europe/Istanbul", "Africa/Casablanca", "Africa/Lagos", "Africa/Johannesburg", "America/Sao_Paulo",
         "America/Argentina/Buenos_Aires", "America/Mexico_City", "America/New_York", "America/Chicago",
         "America/Los_Angeles", "Asia/Kolkata", "Asia/Jakarta", "Asia/Tokyo", "Australia/Sydney"]
JOIN_WORDS = {"free": "Open registration", "approval": "Registration with the organisers' approval",
              "external": "Registration on another site", "none": "No registration"}


def _fits(moments: list[datetime | None], tz: ZoneInfo) -> ZoneInfo:
    """`tz`, or UTC when a moment near the end of year 9999 cannot be shown there (OverflowError)."""
    try:
        for moment in moments:
            if moment is not None:
                moment.astimezone(tz)
    except OverflowError:
        return ZoneInfo("UTC")
    return tz


def when(moment: datetime, tz: ZoneInfo) -> str:
    local = moment.astimezone(_fits([moment], tz))
    return f"{local:%A} {local.day} {local:%B %Y, %H:%M}"


def span(item: Item, tz: ZoneInfo) -> str:
    """'Wednesday 23 September 2026, 09:00 – Saturday 26 September 2026, 17:00 (Europe/Paris, UTC+02:00)'"""
    tz = _fits([item.start, item.end], tz)
    start = item.start.astimezone(tz)
    text = when(item.start, tz)
    if item.end is not None:
        end = item.end.astimezone(tz)
        text += " – " + (end.strftime("%H:%M") if end.date() == start.date() else when(item.end, tz))
    offset = start.strftime("%z")
    return f"{text} ({tz.key}, UTC{offset[:3]}:{offset[3:]})"


def pick_language(request: Request, available: list[str], default: str) -> str:
    wanted = request.query_params.get("lang")
    if wanted in available:
        return wanted
    for part in request.headers.get("accept-language", "").split(","):
        code = part.split(";")[0].strip().lower()
        for candidate in (code, code.split("-")[0]):
            if candidate in available:
                return candidate
    return default if default in available else (available[0] if available else default)


@dataclass
class Card:
    """One meeting in a list, in the reader's language."""
    item: Item
    lang: str
    title: str
    when: str
    href: str


def _card(request: Request, item: Item) -> Card:
    lang = pick_language(request, list(item.titles), item.language)
    tz = item.zone or ZoneInfo("UTC")
    href = f"/meetings/{item.mid}" if item.local else item.page_url
    return Card(item=item, lang=lang, title=item.title(lang), when=span(item, tz), href=href)


def _upcoming(item: Item, now: datetime) -> bool:
    return (item.end or item.start) >= now


async def union_meetings(request: Request) -> Response:
    inst = request.app.state.inst
    union = await get_union()
    if union is None:
        return HTMLResponse("<p>No union here yet.</p>", status_code=404)
    now = inst.now()
    items = await union_items(inst, union)
    upcoming = [_card(request, i) for i in items if _upcoming(i, now)]
    past = [_card(request, i) for i in reversed(items) if not _upcoming(i, now)]
    return render(request, "meetings.html", union=union, upcoming=upcoming, past=past, kinds=KINDS,
                  statuses=STATUS_WORDS, ics=f"/@{union.username}/calendar.ics")


def _matches(item: Item, kind: str, theme: str, lang: str) -> bool:
    if kind and item.kind != kind:
        return False
    if theme and theme not in (item.theme.lower(), *[t.lower() for t in item.tags]):
        return False
    if lang and not any(code.lower().split("-")[0] == lang for code in [*item.titles, item.language]):
        return False
    return True


async def network_calendar(request: Request) -> Response:
    inst = request.app.state.inst
    union = await get_union()
    query = request.query_params
    kind = query.get("kind", "")
    kind = kind if kind in KINDS else ""
    theme = query.get("theme", "").strip().lstrip("#").lower()[:100]
    lang = query.get("lang", "").strip().lower()[:16]
    past = query.get("when") == "past"
    now = inst.now()
    items = [i for i in await network_items(inst, union) if _upcoming(i, now) != past]
    if past:
        items.reverse()
    languages = sorted({c.lower().split("-")[0] for i in items for c in i.titles if c and c != "und"} | (
        {lang} if lang else set()))
    themes = sorted({t for i in items for t in [i.theme.lower(), *[x.lower() for x in i.tags]] if t})[:100]
    shown = [_card(request, i) for i in items if _matches(i, kind, theme, lang)]
    filters = {k: v for k, v in (("kind", kind), ("theme", theme), ("lang", lang)) if v}
    return render(request, "calendar.html", union=union, cards=shown, kinds=KINDS, kind=kind, theme=theme,
                  lang_filter=lang, languages=languages, themes=themes, past=past, statuses=STATUS_WORDS,
                  other_when=f"/calendar?{urlencode({**filters, **({} if past else {'when': 'past'})})}")


# --- one meeting ------------------------------------------------------------------------

@dataclass
class Typed:
    """What a visitor typed in the registration form (shown again on a refusal)."""
    name: str = ""
    union_name: str = ""
    email: str = ""
    delegates: str = "1"
    message: str = ""


def _zone_choice(request: Request, item: Item) -> tuple[ZoneInfo, str]:
    """The reader's zone (?tz=), else the organiser's; an unknown name is reported, not guessed."""
    raw = request.query_params.get("tz", "").strip()
    organiser = item.zone or ZoneInfo("UTC")
    if not raw:
        return organiser, ""
    chosen = zone(raw)
    if chosen is None:
        return organiser, f"Unknown time zone “{raw[:64]}”: times are shown in the organiser's zone."
    return chosen, ""


async def _meeting_context(request: Request, meeting: Meeting) -> dict:
    inst = request.app.state.inst
    union = await get_union()
    item = await one_item(inst, meeting, union)
    lang = pick_language(request, list(item.titles), item.language)
    text_lang = pick_language(request, list(item.descriptions), lang) if item.descriptions else lang
    organiser_tz = item.zone or ZoneInfo("UTC")
    reader_tz, tz_error = _zone_choice(request, item)
    now = inst.now()
    taken = await regs.seats_taken(meeting)
    zones = list(dict.fromkeys([organiser_tz.key, reader_tz.key, *ZONES]))
    organisers = [u for u in (meeting.organizers or []) if isinstance(u, str)]
    return dict(union=union, item=item, meeting=meeting, lang=lang, dir=direction(lang), title=item.title(lang),
                text_lang=text_lang, html=item.descriptions.get(text_lang, ""),
                organiser_when=span(item, organiser_tz), reader_when=span(item, reader_tz),
                same_zone=reader_tz.key == organiser_tz.key, reader_tz=reader_tz.key, zones=zones, tz_error=tz_error,
                previous=(meeting.previous_start and when(meeting.previous_start, organiser_tz)),
                taken=taken, capacity=meeting.capacity, open=regs.registration_open(meeting, now),
                opens=meeting.registration_opens and when(meeting.registration_opens, organiser_tz),
                closes=meeting.registration_closes and when(meeting.registration_closes, organiser_tz),
                not_yet=bool(meeting.registration_opens and meeting.registration_opens > now),
                join_words=JOIN_WORDS, kinds=KINDS, statuses=STATUS_WORDS, max_delegates=regs.MAX_DELEGATES,
                max_message=regs.MAX_MESSAGE_CHARS, ics=f"/meetings/{item.mid}.ics",
                register_action=f"/meetings/{item.mid}/register", organiser_count=max(1, len(organisers)),
                acct=f"@{union.username}@{inst.urls.host}" if union else "",
                done=request.query_params.get("registered", ""))


async def meeting_page(request: Request, meeting: Meeting, *, status: int = 200, errors: list[str] | None = None,
                       typed: Typed | None = None) -> HTMLResponse:
    """The meeting's page for browsers (web/activitypub.py calls it for non-AP requests)."""
    context = await _meeting_context(request, meeting)
    if context["tz_error"] and status == 200:
        status = 400
    response = render(request, "meeting.html", status=status, errors=errors or [], typed=typed or Typed(), **context)
    response.headers["Vary"] = "Accept, Accept-Language"  # the same URL serves the Event as AP JSON
    return response


async def _our_meeting(request: Request) -> Meeting | None:
    inst = request.app.state.inst
    return await (Meeting.filter(post__ap_id=inst.urls.meeting(request.path_params["mid"]), local=True,
                                 post__public=True, post__hidden=False).prefetch_related("post").first())


def _sentence(reason: str) -> str:
    return f"{reason[:1].upper()}{reason[1:]}."


async def register(request: Request) -> Response:
    inst = request.app.state.inst
    meeting = await _our_meeting(request)
    if meeting is None:
        return HTMLResponse("<!doctype html><title>Not found</title><p>No such meeting.</p>", status_code=404)
    form = await request.form()

    def text(name: str) -> str:
        value = form.get(name)
        return value if isinstance(value, str) else ""

    typed = Typed(name=text("name"), union_name=text("union"), email=text("email"),
                  delegates=text("delegates") or "1", message=text("message"))
    # A form anyone may post: a limited number of registrations per address (web/registration_limit.py).
    wait = await registration_limit.wait_seconds(request, inst.now())
    if wait:
        response = await meeting_page(request, meeting, status=429, errors=[registration_limit.refusal(wait)],
                                      typed=typed)
        response.headers["Retry-After"] = str(wait)
        return response
    try:
        # The fields are checked by outbox.registrations (check_web_fields), the one rule for them.
        row = await out_regs.register_web(inst, meeting, name=typed.name, union_name=typed.union_name,
                                          email=typed.email, delegates=typed.delegates, message=typed.message)
    except out_regs.InvalidRegistration as exc:
        return await meeting_page(request, meeting, status=400, errors=[_sentence(r) for r in exc.reasons],
                                  typed=typed)
    except out_regs.RegistrationError as exc:
        # Full or closed: the request was right but the meeting's state refuses it (409).
        status = 409 if str(exc) in (regs.REASONS["full"], regs.REASONS["closed"]) else 400
        return await meeting_page(request, meeting, status=status, errors=[_sentence(str(exc))], typed=typed)
    await registration_limit.count(request, inst.now())
    return RedirectResponse(f"/meetings/{request.path_params['mid']}?registered={row.state}#registration",
                            status_code=303)


async def register_link(request: Request) -> Response:
    """The Event's summary links {id}/register (Mastodon shows it as a plain link): a reader who
    follows it lands on the registration section of the meeting's page, not on a 405."""
    if await _our_meeting(request) is None:
        return HTMLResponse("<!doctype html><title>Not found</title><p>No such meeting.</p>", status_code=404)
    return RedirectResponse(f"/meetings/{request.path_params['mid']}#registration", status_code=303)


routes = [
    Route("/meetings", union_meetings),
    Route("/calendar", network_calendar),
    Route("/meetings/{mid}/register", register, methods=["POST"]),
    Route("/meetings/{mid}/register", register_link, methods=["GET", "HEAD"]),
]
