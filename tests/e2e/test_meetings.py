"""Issue 4's acceptance scenario between three running instances over real HTTP.

B announces a 4-day meeting in Europe/Paris for 3 delegates; A registers 2 delegates and is
accepted; C asks for 2 and is refused as full; A withdraws, C registers again and is accepted;
B reschedules, then cancels. A's network calendar (it follows B) reflects every step, read with
`icalendar`: the UID never changes, SEQUENCE rises, STATUS ends CANCELLED.
"""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import httpx
import icalendar
import pytest

from tests.e2e.harness import ap_get, destroy, eventually, make_instance

pytestmark = pytest.mark.timeout(300)
PARIS = ZoneInfo("Europe/Paris")


@pytest.fixture
async def trio(tmp_path):
    a = await make_instance(tmp_path, "a", "solidaires", "Union syndicale Solidaires")
    b = await make_instance(tmp_path, "b", "conlutas", "CSP-Conlutas")
    c = await make_instance(tmp_path, "c", "cub", "CUB Trasporti")
    for inst in (a, b, c):
        inst.start()
    try:
        yield a, b, c
    finally:
        for inst in (a, b, c):
            await destroy(inst)


def calendar_events(inst, uri: str) -> list[icalendar.Event]:
    """The VEVENTs of `inst`'s network calendar for the meeting `uri` (its URL property)."""
    response = httpx.get(f"{inst.url}/calendar.ics", timeout=10)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/calendar")
    cal = icalendar.Calendar.from_ical(response.content)
    return [e for e in cal.walk("VEVENT") if str(e.get("url", "")) == uri or str(e.get("uid")) == uri]


async def _states(inst, local: bool) -> list[tuple]:
    rows = await inst.sql("SELECT actor_uri, state, delegates FROM content_registration ORDER BY id")
    flags = await inst.sql("SELECT local FROM content_registration ORDER BY id")
    return [r for r, (flag,) in zip(rows, flags) if bool(flag) == local]


async def test_meeting_registration_capacity_reschedule_cancel_and_calendar(trio):
    a, b, c = trio
    following = "SELECT f.state FROM actors_following f JOIN actors_remote r ON r.id = f.remote_id WHERE r.uri = $1"
    a.cli("follow", b.acct)

    async def a_follows_b():
        return await a.sql(following, b.actor_uri) == [("accepted",)]
    await eventually(a_follows_b, what="A following B")

    # B announces the meeting.
    uri = b.cli("meeting", "add", "--title", "International meeting of alternative unions",
                "--start", "2027-09-23T09:00", "--end", "2027-09-26T17:00", "--tz", "Europe/Paris",
                "--place", "Bourse du Travail, Dijon", "--capacity", "3", "--kind", "international").stdout.strip()
    event = ap_get(uri).json()
    assert event["type"] == "Event" and event["timezone"] == "Europe/Paris"
    assert event["maximumAttendeeCapacity"] == 3

    async def in_a_calendar():
        return calendar_events(a, uri)
    (first,) = await eventually(in_a_calendar, what="B's meeting in A's calendar")
    uid, seq0 = str(first["uid"]), int(first["sequence"])
    assert first.decoded("dtstart") == datetime(2027, 9, 23, 9, 0, tzinfo=PARIS)
    assert (first.decoded("dtend") - first.decoded("dtstart")).days == 3, "a 4-day meeting"
    assert str(first["status"]) == "CONFIRMED"

    # A registers 2 delegates: accepted at once (join mode free, 3 seats).
    out = a.cli("meeting", "register", uri, "--delegates", "2", "--message", "Two delegates from Paris").stdout
    assert "pending" in out

    async def a_accepted():
        return await _states(a, True) == [(a.actor_uri, "accepted", 2)]
    await eventually(a_accepted, what="A accepted")
    assert await _states(b, False) == [(a.actor_uri, "accepted", 2)]

    # C asks for 2: refused as full.
    c.cli("meeting", "register", uri, "--delegates", "2")

    async def c_refused():
        rows = await c.sql("SELECT state, reason FROM content_registration WHERE local = $1", True)
        return rows == [("rejected", "full")]
    await eventually(c_refused, what="C refused as full")
    assert [r[1] for r in await _states(b, False)] == ["accepted", "rejected"]

    # A withdraws; B frees the seats; C registers again and is accepted.
    assert "withdrawn" in a.cli("meeting", "withdraw", uri).stdout

    async def a_withdrawn_at_b():
        return (await _states(b, False))[0][1] == "withdrawn"
    await eventually(a_withdrawn_at_b, what="A's registration withdrawn at B")
    c.cli("meeting", "register", uri, "--delegates", "2", "--message", "Now there is room")

    async def c_accepted():
        rows = await c.sql("SELECT state FROM content_registration WHERE local = $1 ORDER BY id", True)
        return rows == [("rejected",), ("accepted",)]
    await eventually(c_accepted, what="C accepted the second time")
    assert [r[1] for r in await _states(b, False)] == ["withdrawn", "rejected", "accepted"]
    assert "accepted" in c.cli("meeting", "registered").stdout

    # B reschedules: A's calendar has the same UID, a higher SEQUENCE and the new dates.
    b.cli("meeting", "reschedule", uri, "--start", "2027-10-07T09:00", "--end", "2027-10-10T17:00")

    async def moved():
        events = calendar_events(a, uri)
        return events if events and events[0].decoded("dtstart") == datetime(2027, 10, 7, 9, 0, tzinfo=PARIS) \
            else None
    (second,) = await eventually(moved, what="the reschedule in A's calendar")
    assert str(second["uid"]) == uid
    seq1 = int(second["sequence"])
    assert seq1 > seq0

    # B cancels: still the same UID, SEQUENCE higher again, STATUS CANCELLED.
    b.cli("meeting", "cancel", uri)

    async def cancelled():
        events = calendar_events(a, uri)
        return events if events and str(events[0]["status"]) == "CANCELLED" else None
    (third,) = await eventually(cancelled, what="the cancellation in A's calendar")
    assert str(third["uid"]) == uid and int(third["sequence"]) > seq1
    assert third.decoded("dtstart") == datetime(2027, 10, 7, 9, 0, tzinfo=PARIS)
