"""Public meeting pages: the meeting at its id for browsers (language, both time zones, place and
link, counts, registration), the web registration form, /meetings and the network /calendar."""
from __future__ import annotations

import html
import re

from actors.local import get_by_username
from content.models import Registration
from outbox import meetings as out_meetings
from outbox.lookup import store_remote_post
from tests.web.conftest import MEETING
from tests.web.test_calendars import gancio_event

BROWSER = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
FORM = {"name": "Ana Souza", "union": "CSP-Conlutas", "email": "ana@conlutas.example", "delegates": "2",
        "message": "We arrive on the 22nd."}


def text_of(page: str) -> str:
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page)))


async def test_meeting_page_in_the_readers_language_with_both_zones(site, make_meeting):
    client, inst = site
    meeting, mid = await make_meeting()
    url = f"/meetings/{mid}"
    response = await client.get(url, headers=BROWSER)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
    page = response.text
    assert f'<link rel="alternate" type="application/activity+json" href="{inst.urls.meeting(mid)}">' in page
    assert f'type="text/calendar" href="/meetings/{mid}.ics"' in page
    assert '<article class="meeting" lang="en"' in page
    shown = text_of(page)
    assert MEETING["titles"]["en"] in shown
    assert "Friday 23 October 2026, 09:00 – Monday 26 October 2026, 17:00 (Europe/Paris, UTC+02:00)" in shown
    assert 'id="when-reader"' not in page  # the reader's zone defaults to the organiser's
    assert "Bourse du travail" in shown and "1 place de la Libération, Dijon, FR" in shown
    assert 'href="https://meet.example/intl"' in page
    assert "0 of 10 delegate seats taken" in shown
    assert f'action="/meetings/{mid}/register"' in page
    assert "Register from your own server" in shown and inst.urls.meeting(mid) in shown
    # The AP document is still served at the same URL.
    ap = await client.get(url, headers={"Accept": "application/activity+json"})
    assert ap.json()["type"] == "Event"

    french = await client.get(url, headers={**BROWSER, "Accept-Language": "fr-FR,fr;q=0.9"})
    assert '<article class="meeting" lang="fr"' in french.text
    assert MEETING["titles"]["fr"] in text_of(french.text) and "Quatre jours de débats." in french.text
    assert '<article class="meeting" lang="fr"' in (await client.get(f"{url}?lang=fr", headers=BROWSER)).text

    # The reader's zone, converted on the server.
    sao_paulo = text_of((await client.get(f"{url}?tz=America/Sao_Paulo", headers=BROWSER)).text)
    assert "Friday 23 October 2026, 04:00 – Monday 26 October 2026, 13:00 (America/Sao_Paulo, UTC-03:00)" in sao_paulo
    assert "(Europe/Paris, UTC+02:00)" in sao_paulo
    bad = await client.get(f"{url}?tz=Mars/Olympus", headers=BROWSER)
    assert bad.status_code == 400 and "Unknown time zone" in bad.text


async def test_web_registration_form(site, make_meeting):
    client, inst = site
    meeting, mid = await make_meeting(capacity=3)
    response = await client.post(f"/meetings/{mid}/register", data=FORM)
    assert response.status_code == 303
    assert response.headers["location"] == f"/meetings/{mid}?registered=pending#registration"
    [row] = await Registration.filter(meeting_id=meeting.id)
    assert (row.via, row.name, row.union_name, row.email, row.delegates, row.state) == (
        "web", "Ana Souza", "CSP-Conlutas", "ana@conlutas.example", 2, "pending")
    assert row.message == "We arrive on the 22nd."
    done = await client.get(response.headers["location"], headers=BROWSER)
    assert "Registration received." in done.text

    # Bad input: a clear 400, the form kept, nothing stored.
    bad = await client.post(f"/meetings/{mid}/register", data={**FORM, "email": "not-an-address", "delegates": "0"})
    assert bad.status_code == 400
    assert "e-mail address" in bad.text and "from 1 to 50" in bad.text
    assert 'value="Ana Souza"' in bad.text and "We arrive on the 22nd." in bad.text
    assert await Registration.filter(meeting_id=meeting.id).count() == 1
    # More delegates than seats: refused as full, nothing stored.
    full = await client.post(f"/meetings/{mid}/register", data={**FORM, "delegates": "4"})
    assert full.status_code == 409 and "full" in full.text
    assert await Registration.filter(meeting_id=meeting.id).count() == 1
    assert (await client.post("/meetings/nope/register", data=FORM)).status_code == 404


async def test_free_registration_counts_seats_and_closes_when_cancelled(site, make_meeting):
    client, inst = site
    union = await get_by_username("sud_rail")
    meeting, mid = await make_meeting(join_mode="free", capacity=5)
    assert (await client.post(f"/meetings/{mid}/register", data=FORM)).status_code == 303
    page = await client.get(f"/meetings/{mid}?registered=accepted", headers=BROWSER)
    assert "2 of 5 delegate seats taken" in text_of(page.text) and "You are registered." in page.text
    assert "ana@conlutas.example" not in page.text  # who registered is for the organisers only

    await out_meetings.postpone_meeting(inst, union, meeting)
    assert "This meeting is postponed." in (await client.get(f"/meetings/{mid}", headers=BROWSER)).text
    await out_meetings.cancel_meeting(inst, union, meeting)
    page = await client.get(f"/meetings/{mid}", headers=BROWSER)
    assert "This meeting is cancelled." in page.text and 'name="delegates"' not in page.text
    refused = await client.post(f"/meetings/{mid}/register", data=FORM)
    assert refused.status_code in (400, 409) and await Registration.filter(meeting_id=meeting.id).count() == 1


async def test_union_meetings_upcoming_and_past(site, make_meeting):
    client, inst = site
    await make_meeting()
    await make_meeting(titles={"en": "Women's rights and feminism"}, start="2026-03-13T18:00",
                       end="2026-03-13T20:00", kind="thematic")
    page = (await client.get("/meetings")).text
    upcoming, past = page.split('id="upcoming"')[1].split('id="past"')
    assert MEETING["titles"]["en"] in upcoming and "Women's rights and feminism" not in upcoming
    assert "Women&#39;s rights and feminism" in past
    assert 'href="/@sud_rail/calendar.ics"' in page
    assert '<a href="/meetings">Meetings</a>' in page and '<a href="/calendar">Calendar</a>' in page


async def test_network_calendar_filters(site, make_meeting):
    client, inst = site
    await make_meeting()
    await make_meeting(titles={"es": "Encuentro del sector ferroviario"}, kind="sector", theme="railways",
                       start="2026-11-10T10:00", end="2026-11-10T12:00")
    await store_remote_post(inst, gancio_event("https://gancio.example/federation/m/12",
                                               "https://gancio.example/federation/u/gancio"))
    everything = text_of((await client.get("/calendar")).text)
    for title in (MEETING["titles"]["en"], "Encuentro del sector ferroviario", "Assemblea dei lavoratori"):
        assert title in everything
    sector = text_of((await client.get("/calendar?kind=sector")).text)
    assert "Encuentro del sector ferroviario" in sector and MEETING["titles"]["en"] not in sector
    spanish = text_of((await client.get("/calendar?lang=es")).text)
    assert "Encuentro del sector ferroviario" in spanish and "Assemblea" not in spanish
    themed = text_of((await client.get("/calendar?theme=internationalism")).text)
    assert MEETING["titles"]["en"] in themed and "Encuentro" not in themed
    nothing = await client.get("/calendar?kind=plenary")
    assert nothing.status_code == 200 and "No meetings match these filters." in nothing.text
    assert "No meetings" in (await client.get("/calendar?when=past")).text


async def test_the_register_link_in_the_summary_leads_to_the_registration_section(site, make_meeting):
    client, inst = site
    meeting, mid = await make_meeting(join_mode="free")
    event = (await client.get(f"/meetings/{mid}", headers={"Accept": "application/activity+json"})).json()
    links = set(re.findall(r'href="([^"]+/register)"', event["summary"]))
    assert links == {f"{inst.urls.meeting(mid)}/register"}
    [link] = links
    path = link.removeprefix(inst.urls.base)
    answer = await client.get(path, headers=BROWSER)  # what a Mastodon reader's click does
    assert answer.status_code == 303 and answer.headers["location"] == f"/meetings/{mid}#registration"
    page = await client.get(answer.headers["location"], headers=BROWSER)
    assert page.status_code == 200 and '<section id="registration"' in page.text
    assert (await client.get("/meetings/nope/register", headers=BROWSER)).status_code == 404
