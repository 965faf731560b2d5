"""Issue 4's browser acceptance, in Chromium against a real running instance: the organiser
announces a meeting through the admin form, a visitor without a fediverse account registers
through the web form on the public page, the organiser sees the registration in the meeting's
list and accepts it, and the meeting's .ics, downloaded from the page, parses with `icalendar`.
Screenshots of the meeting page and the calendar go to the screenshots folder.
"""
from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import pytest_asyncio
from icalendar import Calendar

from tests.browser.conftest import PHONE, SCREENSHOTS, log_in, new_context, visit
from tests.e2e.harness import destroy, eventually, make_instance

pytestmark = [pytest.mark.asyncio(loop_scope="module"), pytest.mark.timeout(300)]

TITLE_EN = "4th International Meeting of alternative unions"
TITLE_FR = "4e Rencontre internationale du syndicalisme alternatif"
# Next year's September, whatever year the test runs in: registration must still be open.
YEAR = datetime.now().year + 1


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def union(tmp_path_factory):
    inst = await make_instance(tmp_path_factory.mktemp("meetings"), "a", "solidaires", "Union syndicale Solidaires")
    inst.start()
    try:
        yield inst
    finally:
        await destroy(inst)


async def test_meeting_created_in_the_admin_registered_for_on_the_web_and_exported(browser, union):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    organiser = await new_context(browser)
    visitor = await new_context(browser, accept_downloads=True)
    try:
        # --- The organiser announces the meeting through the admin form.
        admin = await log_in(organiser, union)
        await admin.locator("main").get_by_role("link", name="Meetings", exact=True).click()
        await admin.wait_for_url(f"{union.url}/admin/meetings")
        await admin.get_by_role("link", name="Announce a meeting").click()
        await admin.wait_for_url(f"{union.url}/admin/meetings/new")
        await admin.locator("#lang0").fill("en")
        await admin.locator("#title0").fill(TITLE_EN)
        await admin.locator("#desc0").fill("Four days of debates on the struggles of our unions. #international")
        await admin.locator("#lang1").fill("fr")
        await admin.locator("#title1").fill(TITLE_FR)
        await admin.get_by_label("Time zone", exact=True).fill("Europe/Paris")
        await admin.get_by_label("Start", exact=True).fill(f"{YEAR}-09-23T09:00")
        await admin.get_by_label("End", exact=True).fill(f"{YEAR}-09-26T17:00")
        await admin.get_by_label("Place", exact=True).fill("Bourse du travail")
        await admin.get_by_label("City", exact=True).fill("Dijon")
        await admin.get_by_label("Kind", exact=True).select_option("international")
        await admin.get_by_label("Capacity (delegates)", exact=True).fill("3")
        await admin.get_by_label("Registration", exact=True).select_option("approval")
        async with admin.expect_navigation():
            await admin.get_by_role("button", name="Publish meeting").click()
        assert await admin.locator('[role="alert"]').count() == 0, await admin.locator('[role="alert"]').inner_text()
        assert admin.url == f"{union.url}/admin/meetings?done=created"
        rows = await union.sql("SELECT p.ap_id, m.uid FROM content_meeting m JOIN content_post p ON p.id = m.post_id")
        assert len(rows) == 1
        url, uid = rows[0]

        # --- A visitor registers through the web form on the public page.
        page = await visitor.new_page()
        await visit(page, url)
        assert TITLE_EN in await page.locator("h1").inner_text()
        when = await page.locator("#when-organiser").inner_text()
        assert f"23 September {YEAR}, 09:00" in when and "Europe/Paris" in when
        await page.screenshot(path=str(SCREENSHOTS / "meeting-page.png"), full_page=True)
        # The reader's zone: a plain GET form, converted on the server.
        await page.get_by_label("Show the times in").select_option("America/Sao_Paulo")
        async with page.expect_navigation():
            await page.get_by_role("button", name="Show").click()
        assert f"23 September {YEAR}, 04:00" in await page.locator("#when-reader").inner_text()
        await page.get_by_label("Your name", exact=True).fill("Ana Souza")
        await page.get_by_label("Union", exact=True).fill("CSP-Conlutas")
        await page.get_by_label("E-mail", exact=True).fill("ana@conlutas.example")
        await page.get_by_label("Delegates", exact=True).fill("2")
        await page.get_by_label("Message to the organisers (optional)").fill("We arrive the day before.")
        async with page.expect_navigation():
            await page.get_by_role("button", name="Register", exact=True).click()
        assert "Registration received." in await page.locator("#registration").inner_text()
        await page.set_viewport_size(PHONE)
        width = await page.evaluate("() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]")
        assert width[0] <= width[1], f"the meeting page is {width[0]}px wide on a {width[1]}px phone"
        await page.screenshot(path=str(SCREENSHOTS / "meeting-page-phone.png"), full_page=True)

        # --- The organiser sees it in the meeting's list, and accepts it.
        await visit(admin, f"{union.url}/admin/meetings")
        await admin.locator("article.admin-meeting").get_by_role("link", name="Registrations").click()
        row = admin.locator("tr.registration", has_text="Ana Souza")
        await row.wait_for()
        text = await row.inner_text()
        assert "CSP-Conlutas" in text and "ana@conlutas.example" in text and "We arrive the day before." in text
        assert await row.locator("td.delegates").inner_text() == "2"
        async with admin.expect_navigation():
            await row.get_by_role("button", name="Accept").click()
        assert await row.locator(".state").inner_text() == "accepted"
        await admin.screenshot(path=str(SCREENSHOTS / "meeting-registrations.png"), full_page=True)

        async def counted():
            await visit(page, url)
            return "2 of 3 delegate seats taken" in await page.locator(".seats").inner_text()

        await eventually(counted, what="the accepted delegates counted on the public page")

        # --- The .ics, downloaded from the page, parsed with icalendar.
        async with page.expect_download() as info:
            await page.get_by_role("link", name="Add to calendar (.ics)").click()
        download = await info.value
        cal = Calendar.from_ical(Path(await download.path()).read_bytes())
        [event] = cal.walk("VEVENT")
        assert str(event["UID"]) == uid and str(event["SUMMARY"]) == TITLE_EN
        assert event["DTSTART"].params["TZID"] == "Europe/Paris"
        assert event.decoded("DTSTART") == datetime(YEAR, 9, 23, 9, 0, tzinfo=ZoneInfo("Europe/Paris"))
        assert str(event["STATUS"]) == "CONFIRMED" and str(event["URL"]) == url
        assert [str(tz["TZID"]) for tz in cal.walk("VTIMEZONE")] == ["Europe/Paris"]

        # --- The network calendar lists it.
        await page.set_viewport_size({"width": 1280, "height": 900})
        await visit(page, f"{union.url}/calendar")
        assert await page.locator("article.meeting-card", has_text=TITLE_EN).count() == 1
        await page.screenshot(path=str(SCREENSHOTS / "calendar.png"), full_page=True)
    finally:
        await organiser.close()
        await visitor.close()
