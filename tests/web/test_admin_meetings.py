"""Admin meetings: create/edit/postpone/cancel through the forms, the registrations list with
approve/refuse and CSV export, and our registrations to a peer's meeting (register, withdraw)."""
from __future__ import annotations

import csv
import io
import re
from datetime import datetime, timezone

from content.models import Meeting, Post, Registration
from outbox.models import Activity

AP = "application/activity+json"
FORM = {"lang0": "en", "title0": "Sector group: railways", "desc0": "Agenda: #strike coordination.",
        "lang1": "fr", "title1": "Groupe sectoriel : rail", "desc1": "Ordre du jour : coordination.",
        "lang2": "", "title2": "", "desc2": "",
        "timezone": "Europe/Paris", "start": "2026-10-05T18:00", "end": "2026-10-05T20:00",
        "place_name": "", "streetAddress": "", "postalCode": "", "addressLocality": "", "addressRegion": "",
        "addressCountry": "", "online_url": "https://meet.example/rail", "kind": "sector", "theme": "railways",
        "capacity": "4", "join_mode": "approval", "external_url": "", "registration_opens": "",
        "registration_closes": "2026-10-04T12:00"}
PEER = "https://peer.example/actors/cgt"
PEER_EVENT = "https://peer.example/meetings/plenary"


async def test_admin_pages_need_a_login(site):
    client, _ = site
    for path in ("/admin/meetings", "/admin/meetings/new", "/admin/registrations"):
        response = await client.get(path)
        assert response.status_code == 303 and response.headers["location"].startswith("/login")
    assert (await client.post("/admin/meetings/new", data=FORM)).status_code == 403


async def test_create_edit_postpone_cancel(admin):
    client, inst, union, token = admin
    form = await client.get("/admin/meetings/new")
    assert form.status_code == 200 and 'name="csrf"' in form.text and 'type="datetime-local"' in form.text
    assert (await client.post("/admin/meetings/new", data=FORM)).status_code == 403, "no CSRF token"

    created = await client.post("/admin/meetings/new", data={**FORM, "csrf": token})
    assert created.status_code == 303 and created.headers["location"] == "/admin/meetings?done=created"
    meeting = await Meeting.get(local=True).prefetch_related("post")
    mid = meeting.post.ap_id.rsplit("/", 1)[-1]
    assert meeting.start == datetime(2026, 10, 5, 16, 0, tzinfo=timezone.utc)  # 18:00 in Paris (UTC+2)
    assert meeting.timezone == "Europe/Paris" and meeting.capacity == 4 and meeting.join_mode == "approval"
    assert meeting.name_map == {"en": "Sector group: railways", "fr": "Groupe sectoriel : rail"}
    assert meeting.registration_closes == datetime(2026, 10, 4, 10, 0, tzinfo=timezone.utc)
    listing = await client.get("/admin/meetings")
    assert "Sector group: railways" in listing.text and f"/admin/meetings/{mid}/registrations" in listing.text

    # The edit form shows the times as typed, in the meeting's zone.
    edit = await client.get(f"/admin/meetings/{mid}/edit")
    assert 'value="2026-10-05T18:00"' in edit.text and 'value="Groupe sectoriel : rail"' in edit.text
    moved = await client.post(f"/admin/meetings/{mid}/edit", data={**FORM, "csrf": token, "start": "2026-10-12T18:00",
                                                                    "end": "2026-10-12T20:00"})
    assert moved.status_code == 303
    meeting = await Meeting.get(id=meeting.id)
    assert meeting.status == "rescheduled" and meeting.sequence == 1
    assert meeting.start == datetime(2026, 10, 12, 16, 0, tzinfo=timezone.utc)

    assert (await client.post(f"/admin/meetings/{mid}/postpone", data={"csrf": token})).status_code == 303
    assert (await Meeting.get(id=meeting.id)).status == "postponed"
    assert (await client.post(f"/admin/meetings/{mid}/cancel", data={"csrf": token})).status_code == 303
    assert (await Meeting.get(id=meeting.id)).status == "cancelled"
    again = await client.post(f"/admin/meetings/{mid}/cancel", data={"csrf": token})
    assert again.status_code == 409 and "already cancelled" in again.text
    assert (await client.post("/admin/meetings/nope/cancel", data={"csrf": token})).status_code == 404
    assert (await client.get("/admin/meetings/nope/edit")).status_code == 404


async def test_bad_input_is_a_400_with_the_form_kept_and_nothing_stored(admin):
    client, inst, union, token = admin
    cases = [({"end": "2026-10-05T17:00"}, "the end is before the start"),
             ({"title0": "<b>Rail</b> group"}, "contains HTML"),
             ({"timezone": "Mars/Olympus"}, "unknown time zone"),
             ({"start": "99999-01-01T10:00"}, "not a date and time"),
             ({"start": "0999-01-01T10:00", "end": "0999-01-02T10:00"}, "outside 1900-9999"),
             ({"capacity": "0"}, "capacity"),
             ({"online_url": "javascript:alert(1)"}, "not a web address"),
             ({"lang1": ""}, "give the language of row 2")]
    for change, reason in cases:
        response = await client.post("/admin/meetings/new", data={**FORM, "csrf": token, **change})
        assert response.status_code == 400, change
        assert reason in response.text, (change, re.findall(r'role="alert".*', response.text))
        assert 'value="https://meet.example/rail"' in response.text or "online_url" in change
    assert not await Meeting.exists() and not await Post.exists() and not await Activity.exists()


async def test_registrations_list_decide_and_csv(admin, make_meeting, remote_actor):
    client, inst, union, token = admin
    meeting, mid = await make_meeting(capacity=4)
    assert (await client.post(f"/meetings/{mid}/register", data={
        "name": "=HYPERLINK(\"https://evil.example\")", "union": "+CGT", "email": "ana@example.org",
        "delegates": "2", "message": "-1 seat for @someone"})).status_code == 303
    peer = await remote_actor("rail", "Organization", inst.now())
    now = inst.now()
    fediverse = await Registration.create(meeting_id=meeting.id, via="fediverse", actor_uri=peer.uri,
                                          request_id="https://rail.example/joins/1", delegates=3,
                                          message="Three of us.", state="pending", created_at=now, updated_at=now)
    page = await client.get(f"/admin/meetings/{mid}/registrations")
    assert page.status_code == 200
    rows = page.text.count('<tr class="registration"')
    assert rows == 2 and "ana@example.org" in page.text and "@rail@rail.example" in page.text
    assert "(web form)" in page.text and "(fediverse)" in page.text and "Three of us." in page.text

    web = await Registration.get(via="web")
    assert (await client.post(f"/admin/meetings/{mid}/registrations/{web.id}/accept",
                              data={"csrf": token})).status_code == 303
    assert (await Registration.get(id=web.id)).state == "accepted"
    # 2 + 3 delegates do not fit in 4 seats: refused with the reason, nothing changed.
    full = await client.post(f"/admin/meetings/{mid}/registrations/{fediverse.id}/accept", data={"csrf": token})
    assert full.status_code == 409 and "not enough seats" in full.text
    assert (await Registration.get(id=fediverse.id)).state == "pending"
    refused = await client.post(f"/admin/meetings/{mid}/registrations/{fediverse.id}/refuse", data={"csrf": token})
    assert refused.status_code == 303 and (await Registration.get(id=fediverse.id)).state == "rejected"
    # The refusal federates: a Reject of their Join, to their inbox.
    reject = await Activity.filter(type="Reject").first()
    assert reject is not None and reject.payload["object"]["id"] == "https://rail.example/joins/1"
    assert (await client.post(f"/admin/meetings/{mid}/registrations/99999/accept",
                              data={"csrf": token})).status_code == 404

    export = await client.get(f"/admin/meetings/{mid}/registrations?format=csv")
    assert export.status_code == 200 and export.headers["content-type"].startswith("text/csv")
    assert export.headers["content-disposition"] == f'attachment; filename="registrations-{mid}.csv"'
    table = list(csv.reader(io.StringIO(export.text)))
    assert table[0][:3] == ["name", "union", "e-mail"] and len(table) == 3
    by_via = {row[4]: row for row in table[1:]}
    assert by_via["web"][0] == "'=HYPERLINK(\"https://evil.example\")"  # formula-injection safe
    assert by_via["web"][1] == "'+CGT" and by_via["web"][7] == "'-1 seat for @someone"
    assert by_via["web"][2] == "ana@example.org" and by_via["web"][5] == "2" and by_via["web"][6] == "accepted"
    assert by_via["fediverse"][3] == peer.uri and by_via["fediverse"][6] == "rejected"


def peer_documents(remote) -> None:
    remote[PEER] = (200, {"@context": ["https://www.w3.org/ns/activitystreams"], "id": PEER, "type": "Organization",
                          "preferredUsername": "cgt", "name": "CGT Peer", "inbox": f"{PEER}/inbox",
                          "publicKey": {"id": f"{PEER}#main-key", "owner": PEER, "publicKeyPem": "pem"}}, AP)
    remote[PEER_EVENT] = (200, {"@context": ["https://www.w3.org/ns/activitystreams"], "id": PEER_EVENT,
                                "type": "Event", "attributedTo": PEER, "name": "Plenary of the network",
                                "startTime": "2026-11-20T09:00:00+01:00", "endTime": "2026-11-21T17:00:00+01:00",
                                "timezone": "Europe/Paris", "joinMode": "free",
                                "to": ["https://www.w3.org/ns/activitystreams#Public"],
                                "published": "2026-09-01T10:00:00Z"}, AP)


async def test_our_registrations_to_a_peers_meeting(admin, remote):
    client, inst, union, token = admin
    peer_documents(remote)
    bad = await client.post("/admin/registrations", data={"csrf": token, "uri": PEER_EVENT, "delegates": "0",
                                                           "message": "Two of us"})
    assert bad.status_code == 400 and "from 1 to 50" in bad.text and "Two of us" in bad.text
    assert (await client.post("/admin/registrations", data={"csrf": token, "uri": "not a url",
                                                            "delegates": "1"})).status_code == 400
    sent = await client.post("/admin/registrations", data={"csrf": token, "uri": PEER_EVENT, "delegates": "2",
                                                           "message": "Two of us"})
    assert sent.status_code == 303
    reg = await Registration.get(local=True)
    assert (reg.delegates, reg.state, reg.message) == (2, "pending", "Two of us")
    join = await Activity.get(type="Join")
    assert join.payload["object"] == PEER_EVENT and join.payload["delegates"] == 2
    page = await client.get("/admin/registrations")
    assert "Plenary of the network" in page.text and "waiting for approval" in page.text
    again = await client.post("/admin/registrations", data={"csrf": token, "uri": PEER_EVENT, "delegates": "1"})
    assert again.status_code == 400 and "already registered" in again.text

    withdrawn = await client.post(f"/admin/registrations/{reg.id}/withdraw", data={"csrf": token})
    assert withdrawn.status_code == 303 and (await Registration.get(id=reg.id)).state == "withdrawn"
    assert await Activity.filter(type="Leave").exists()
    assert (await client.post(f"/admin/registrations/{reg.id}/withdraw", data={"csrf": token})).status_code == 409
