"""iCalendar feeds, parsed back with the `icalendar` library: one meeting, the union's, the network's."""
from __future__ import annotations

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from icalendar import Calendar

from actors.local import get_by_username
from outbox import meetings as out_meetings
from outbox.lookup import store_remote_post
from tests.web.conftest import MEETING

PARIS = ZoneInfo("Europe/Paris")


def parse(response) -> Calendar:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/calendar; charset=utf-8"
    return Calendar.from_ical(response.content)


def events(cal: Calendar) -> list:
    return list(cal.walk("VEVENT"))


async def test_one_meeting_as_ics(site, make_meeting):
    client, inst = site
    meeting, mid = await make_meeting()
    cal = parse(await client.get(f"/meetings/{mid}.ics"))
    assert str(cal["VERSION"]) == "2.0" and "Union Hall" in str(cal["PRODID"])
    [event] = events(cal)
    assert str(event["UID"]) == meeting.uid
    assert int(event["SEQUENCE"]) == 0
    start, end = event.decoded("DTSTART"), event.decoded("DTEND")
    # In the organiser's zone, with its TZID, and a VTIMEZONE that defines it.
    assert event["DTSTART"].params["TZID"] == "Europe/Paris"
    assert start == datetime(2026, 10, 23, 9, 0, tzinfo=PARIS) and start.utcoffset().total_seconds() == 7200
    assert end == datetime(2026, 10, 26, 17, 0, tzinfo=PARIS) and end.utcoffset().total_seconds() == 3600
    assert [str(tz["TZID"]) for tz in cal.walk("VTIMEZONE")] == ["Europe/Paris"]
    assert str(event["STATUS"]) == "CONFIRMED"
    assert str(event["SUMMARY"]) == MEETING["titles"]["en"]
    description = str(event["DESCRIPTION"])
    assert "Four days of debates.\n\nInterpretation in four languages." in description
    assert "<" not in description and "https://meet.example/intl" in description
    assert str(event["URL"]) == inst.urls.meeting(mid)
    assert "Bourse du travail" in str(event["LOCATION"]) and "Dijon" in str(event["LOCATION"])
    assert str(event["ORGANIZER"]) == inst.urls.actor("sud_rail")
    assert event["ORGANIZER"].params["CN"] == "SUD-Rail"
    categories = [str(c) for c in event["CATEGORIES"].cats]
    assert "International meeting" in categories and "internationalism" in categories
    assert event.decoded("LAST-MODIFIED") == inst.now()
    assert event.decoded("DTSTAMP").tzinfo is not None


async def test_uid_stable_and_sequence_rising_through_reschedule_postpone_and_cancel(site, make_meeting):
    client, inst = site
    union = await get_by_username("sud_rail")
    meeting, mid = await make_meeting()
    seen = []

    async def snapshot():
        [event] = events(parse(await client.get(f"/meetings/{mid}.ics")))
        seen.append((str(event["UID"]), int(event["SEQUENCE"]), str(event["STATUS"]), event.decoded("DTSTART")))

    await snapshot()
    inst.clock.advance(hours=1)
    await out_meetings.update_meeting(inst, union, meeting, {**MEETING, "start": "2026-11-02T10:00",
                                                             "end": "2026-11-05T16:00"})
    await snapshot()
    inst.clock.advance(hours=1)
    await out_meetings.postpone_meeting(inst, union, meeting)
    await snapshot()
    inst.clock.advance(hours=1)
    await out_meetings.cancel_meeting(inst, union, meeting)
    await snapshot()
    assert {uid for uid, *_ in seen} == {meeting.uid}
    sequences = [s for _, s, *_ in seen]
    assert sequences == sorted(sequences) and len(set(sequences)) == 4
    assert [status for _, _, status, _ in seen] == ["CONFIRMED", "CONFIRMED", "TENTATIVE", "CANCELLED"]
    assert seen[1][3] == datetime(2026, 11, 2, 10, 0, tzinfo=PARIS)
    [event] = events(parse(await client.get(f"/meetings/{mid}.ics")))
    assert str(event["SUMMARY"]).startswith("Cancelled: ")


async def test_union_feed_and_unknowns(site, make_meeting):
    client, inst = site
    first, _ = await make_meeting()
    second, _ = await make_meeting(titles={"es": "Encuentro sectorial del ferrocarril"}, kind="sector",
                                   timezone="America/Sao_Paulo", start="2026-12-01T14:00", end="2026-12-01T18:00")
    cal = parse(await client.get("/@sud_rail/calendar.ics"))
    by_uid = {str(e["UID"]): e for e in events(cal)}
    assert set(by_uid) == {first.uid, second.uid}
    assert by_uid[second.uid]["DTSTART"].params["TZID"] == "America/Sao_Paulo"
    assert str(by_uid[second.uid]["SUMMARY"]) == "Encuentro sectorial del ferrocarril"
    assert {str(tz["TZID"]) for tz in cal.walk("VTIMEZONE")} == {"Europe/Paris", "America/Sao_Paulo"}
    assert (await client.get("/@nobody/calendar.ics")).status_code == 404
    assert (await client.get("/meetings/nope.ics")).status_code == 404


def gancio_event(ap_id: str, actor: str, *, public: bool = True) -> dict:
    """Gancio's shape (interop notes A.3): UTC times, no time zone, location as one Place."""
    return {"@context": ["https://www.w3.org/ns/activitystreams"], "id": ap_id, "type": "Event",
            "attributedTo": actor, "name": "Assemblea dei lavoratori della logistica",
            "content": "<p>Assemblea aperta.</p>", "startTime": "2026-10-30T17:00:00.000Z",
            "endTime": "2026-10-30T19:00:00.000Z", "published": "2026-09-20T10:00:00Z",
            "location": {"type": "Place", "name": "Circolo Arci", "address": "Via Roma 1, Bologna"},
            "to": ["https://www.w3.org/ns/activitystreams#Public"] if public else [actor + "/followers"],
            "url": ap_id}


async def test_network_feed_has_ours_and_received_public_events_only(site, make_meeting):
    client, inst = site
    ours, _ = await make_meeting()
    actor = "https://gancio.example/federation/u/gancio"
    await store_remote_post(inst, gancio_event("https://gancio.example/federation/m/12", actor))
    await store_remote_post(inst, gancio_event("https://gancio.example/federation/m/13", actor, public=False))
    cal = parse(await client.get("/calendar.ics"))
    by_url = {str(e["URL"]): e for e in events(cal)}
    assert inst.urls.meeting(ours.post.ap_id.rsplit("/", 1)[-1]) in by_url
    assert "https://gancio.example/federation/m/13" not in by_url
    gancio = by_url["https://gancio.example/federation/m/12"]
    # No time zone given: UTC (…Z), no TZID.
    assert gancio.decoded("DTSTART") == datetime(2026, 10, 30, 17, 0, tzinfo=timezone.utc)
    assert "TZID" not in gancio["DTSTART"].params
    assert str(gancio["SUMMARY"]) == "Assemblea dei lavoratori della logistica"
    assert "Circolo Arci" in str(gancio["LOCATION"]) and "Bologna" in str(gancio["LOCATION"])
    assert str(gancio["DESCRIPTION"]) == "Assemblea aperta."
    assert len({str(e["UID"]) for e in events(cal)}) == len(events(cal)) == 2


async def test_extreme_but_accepted_dates_do_not_break_the_calendars(site):
    from zoneinfo import ZoneInfo as Zone

    from web.meeting_items import network_items
    from web.meetings import span
    client, inst = site
    actor = "https://gancio.example/federation/u/gancio"
    late = {**gancio_event("https://gancio.example/federation/m/20", actor),
            "startTime": "9999-12-31T22:00:00Z", "endTime": "9999-12-31T23:59:00Z"}
    early = {**gancio_event("https://gancio.example/federation/m/21", actor),
             "startTime": "1900-01-01T00:00:00Z", "endTime": "1900-01-01T02:00:00Z", "timezone": "Europe/Paris"}
    await store_remote_post(inst, late)
    await store_remote_post(inst, early)
    cal = parse(await client.get("/calendar.ics"))
    starts = sorted(e.decoded("DTSTART").astimezone(timezone.utc) for e in events(cal))
    assert starts == [datetime(1900, 1, 1, tzinfo=timezone.utc), datetime(9999, 12, 31, 22, 0, tzinfo=timezone.utc)]
    assert (await client.get("/calendar")).status_code == 200
    assert (await client.get("/calendar?when=past")).status_code == 200
    # A reader 14 hours ahead of UTC would be in year 10000: shown in UTC instead of a crash.
    item = next(i for i in await network_items(inst, None) if i.start.year == 9999)
    assert "(UTC, UTC+00:00)" in span(item, Zone("Pacific/Kiritimati"))
