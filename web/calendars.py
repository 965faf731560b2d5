"""iCalendar feeds (RFC 5545, built with the `icalendar` library) of public meetings: one per
meeting (/meetings/{mid}.ics), one per union (/@{username}/calendar.ics) and the network's
(/calendar.ics: ours, followed unions', and Mobilizon/Gancio events that reached us).

Calendar apps match an event across refreshes by UID and keep the version with the highest
SEQUENCE, so the UID is the meeting's stored uid (never changes on reschedule) and SEQUENCE
its stored counter (raised on every change): a rescheduled or cancelled meeting replaces the
old entry instead of appearing twice.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

from icalendar import Calendar, Event, vCalAddress, vText
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from actors.local import get_by_username, get_union
from content.models import Meeting
from content.terms import YEARS
from web.meeting_items import KINDS, Item, html_to_text, network_items, one_item, union_items

MEDIA_TYPE = "text/calendar; charset=utf-8"
# iCalendar's STATUS for a VEVENT has no "postponed": TENTATIVE is the closest ("not final").
ICAL_STATUS = {"scheduled": "CONFIRMED", "rescheduled": "CONFIRMED", "postponed": "TENTATIVE",
               "cancelled": "CANCELLED"}
PRODID = "-//Union Hall//Meetings//EN"
YEAR = timedelta(days=366)
FIRST_DAY, LAST_DAY = date(YEARS.start, 1, 1), date(YEARS.stop - 1, 12, 31)


def _when(moment: datetime, item: Item) -> datetime:
    """In the organiser's zone when known (DTSTART;TZID=…, with its VTIMEZONE), else UTC (…Z)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    zone = item.zone
    try:
        return moment.astimezone(zone) if zone else moment.astimezone(timezone.utc)
    except OverflowError:  # a row from before years were checked: UTC still says when
        return moment.astimezone(timezone.utc)


def vevent(item: Item, now: datetime) -> Event:
    event = Event()
    event.add("uid", item.uid)
    event.add("sequence", max(0, int(item.sequence)))
    event.add("dtstamp", now.astimezone(timezone.utc))
    event.add("dtstart", _when(item.start, item))
    if item.end is not None and item.end >= item.start:
        event.add("dtend", _when(item.end, item))
    event.add("status", ICAL_STATUS.get(item.status, "CONFIRMED"))
    title = item.title(item.language)
    event.add("summary", f"Cancelled: {title}" if item.status == "cancelled" else title)
    description = html_to_text(item.descriptions.get(item.language) or next(iter(item.descriptions.values()), ""))
    if item.online_url:
        description = f"{description}\n\nOnline: {item.online_url}".strip()
    if description:
        event.add("description", description)
    if item.page_url:
        event.add("url", item.page_url)
    location = item.location_text or item.online_url
    if location:
        event.add("location", location)
    if item.organizer_uri:
        organizer = vCalAddress(item.organizer_uri)
        organizer.params["cn"] = vText(item.organizer_name or item.organizer_uri)
        event.add("organizer", organizer)
    categories = [c for c in dict.fromkeys([KINDS.get(item.kind, "") if item.kind != "other" else "",
                                            item.theme, *item.tags]) if c]
    if categories:
        event.add("categories", categories)
    event.add("last-modified", (item.updated or item.published).astimezone(timezone.utc))
    event.add("created", item.published.astimezone(timezone.utc))
    return event


def build_calendar(items: list[Item], *, name: str, now: datetime) -> bytes:
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", name)
    cal.add("name", name)
    for item in items:
        cal.add_component(vevent(item, now))
    if items:
        # VTIMEZONE definitions from zoneinfo, covering the span of the events only (a year
        # around it), kept a year inside the years we accept: the library searches months past
        # the last date, which near the end of 9999 leaves what datetime can hold. A calendar
        # app carries the last rule on for a meeting after the window.
        first = max(min(i.start for i in items).date(), FIRST_DAY + YEAR) - YEAR
        last = min(max((i.end or i.start) for i in items).date(), LAST_DAY - 3 * YEAR) + YEAR
        cal.add_missing_timezones(first_date=min(first, last), last_date=last)
    return cal.to_ical()


def ics_response(body: bytes, filename: str) -> Response:
    return Response(body, media_type=MEDIA_TYPE,
                    headers={"Content-Disposition": f'inline; filename="{filename}"',
                             "Cache-Control": "max-age=300, public"})


async def meeting_ics(request: Request) -> Response:
    inst = request.app.state.inst
    mid = request.path_params["mid"]
    meeting = await (Meeting.filter(post__ap_id=inst.urls.meeting(mid), local=True, post__public=True,
                                    post__hidden=False).prefetch_related("post").first())
    if meeting is None:
        return Response("No such meeting.", status_code=404, media_type="text/plain")
    union = await get_union()
    item = await one_item(inst, meeting, union)
    body = build_calendar([item], name=item.title(item.language), now=inst.now())
    safe = "".join(c for c in mid if c.isalnum() or c in "-_")[:64] or "meeting"
    return ics_response(body, f"{safe}.ics")


async def union_ics(request: Request) -> Response:
    inst = request.app.state.inst
    union = await get_by_username(request.path_params["username"])
    if union is None or union.kind != "union":
        return Response("No such union here.", status_code=404, media_type="text/plain")
    items = await union_items(inst, union)
    return ics_response(build_calendar(items, name=f"{union.name}: meetings", now=inst.now()),
                        f"{union.username}.ics")


async def network_ics(request: Request) -> Response:
    inst = request.app.state.inst
    union = await get_union()
    items = await network_items(inst, union)
    name = f"{union.name}: network calendar" if union else "Network calendar"
    return ics_response(build_calendar(items, name=name, now=inst.now()), "calendar.ics")


# Before the Event's own route (/meetings/{mid}), which would otherwise take "x.ics" as an id.
routes = [
    Route("/meetings/{mid}.ics", meeting_ics),
    Route("/@{username}/calendar.ics", union_ics),
    Route("/calendar.ics", network_ics),
]
