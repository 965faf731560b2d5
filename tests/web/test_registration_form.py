"""The public registration form (review of issue 4): a per-address limit, the one field check
(outbox.registrations.check_web_fields) with all its reasons shown, and what the page promises."""
from __future__ import annotations

import httpx

from content.models import Registration
from tests.web.conftest import BASE
from web import auth, registration_limit

FORM = {"name": "Ana Souza", "union": "CSP-Conlutas", "email": "ana@conlutas.example", "delegates": "1",
        "message": "We arrive on the 22nd."}
BROWSER = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}


async def test_registrations_are_limited_per_address(site, make_meeting):
    client, inst = site
    meeting, mid = await make_meeting(join_mode="free", capacity=None)
    url = f"/meetings/{mid}/register"
    for n in range(registration_limit.LIMIT):
        response = await client.post(url, data={**FORM, "email": f"ana{n}@conlutas.example"})
        assert response.status_code == 303, response.text
    refused = await client.post(url, data={**FORM, "email": "one-more@conlutas.example"})
    assert refused.status_code == 429
    assert "Too many registrations from your address: at most 10 an hour." in refused.text
    assert 'value="one-more@conlutas.example"' in refused.text, "the form is kept"
    assert int(refused.headers["Retry-After"]) == 3600
    assert await Registration.filter(meeting_id=meeting.id).count() == registration_limit.LIMIT

    # Another address is not held back by this one.
    app = client._transport.app
    other = httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=("203.0.113.9", 4000)), base_url=BASE)
    async with other:
        assert (await other.post(url, data={**FORM, "email": "bo@dock.example"})).status_code == 303

    # The login throttle's housekeeping (a 15-minute window) leaves this counter alone.
    inst.clock.advance(minutes=20)
    await auth.record_failure(["user:someone", "addr:198.51.100.1"], inst.now())
    assert (await client.post(url, data=FORM)).status_code == 429
    # An hour after the first ones, the address may register again.
    inst.clock.advance(minutes=41)
    assert (await client.post(url, data={**FORM, "email": "later@conlutas.example"})).status_code == 303
    assert await Registration.filter(meeting_id=meeting.id).count() == registration_limit.LIMIT + 2


async def test_refused_forms_do_not_count(site, make_meeting):
    client, _ = site
    meeting, mid = await make_meeting(join_mode="free", capacity=None)
    for _ in range(registration_limit.LIMIT + 2):
        assert (await client.post(f"/meetings/{mid}/register", data={**FORM, "email": "x"})).status_code == 400
    assert (await client.post(f"/meetings/{mid}/register", data=FORM)).status_code == 303


async def test_the_form_shows_every_reason_of_the_one_field_check(site, make_meeting):
    client, _ = site
    meeting, mid = await make_meeting(capacity=3)
    bad = await client.post(f"/meetings/{mid}/register",
                            data={**FORM, "name": "<b></b>", "email": "ana@conlutas.", "delegates": "0"})
    assert bad.status_code == 400
    for reason in ("Please give your name.",
                   "Please give a valid e-mail address, such as name@example.org, so the organisers can reach you.",
                   "The number of delegates must be a whole number from 1 to 50."):
        assert reason in bad.text
    assert await Registration.filter(meeting_id=meeting.id).count() == 0


async def test_a_pending_registration_is_told_what_really_happens(site, make_meeting):
    client, _ = site
    _, mid = await make_meeting(join_mode="approval", capacity=3)
    response = await client.post(f"/meetings/{mid}/register", data=FORM)
    assert response.headers["location"] == f"/meetings/{mid}?registered=pending#registration"
    page = (await client.get(response.headers["location"], headers=BROWSER)).text
    assert "by e-mail" not in page, "nothing sends e-mail"
    assert "The organisers see it in their list and decide on it; they have your e-mail address" in page
