"""`unionhall meeting …` as an organiser uses it from a shell: add prints the id, list shows it,
reschedule/postpone/cancel change it, registrations come out as a table or CSV, and bad input
exits 2 with the reason and stores nothing."""
from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timezone

import pytest

from tests.e2e.harness import destroy, make_instance


@pytest.fixture
async def inst(tmp_path):
    instance = await make_instance(tmp_path, "x", "sud_rail", "SUD-Rail")
    try:
        yield instance
    finally:
        await destroy(instance)


ADD = ("meeting", "add", "--title", "International meeting", "--also", "fr", "Rencontre internationale",
       "--description", "Programme", "--start", "2036-09-23T09:00", "--end", "2036-09-26T17:00",
       "--tz", "Europe/Paris", "--place", "Bourse du Travail", "--address", "17 rue X, Dijon",
       "--capacity", "3", "--join", "approval", "--kind", "international", "--opens", "2036-07-05T00:00")


async def test_add_list_reschedule_cancel(inst):
    ap_id = inst.cli(*ADD).stdout.strip()
    assert ap_id.startswith(f"{inst.url}/meetings/")
    [(status, start, sequence, tz, capacity, join)] = await inst.sql(
        "SELECT status, start, sequence, timezone, capacity, join_mode FROM content_meeting")
    assert (status, sequence, tz, capacity, join) == ("scheduled", 0, "Europe/Paris", 3, "approval")
    listed = inst.cli("meeting", "list").stdout
    assert ap_id in listed and "2036-09-23 09:00 Europe/Paris" in listed and "International meeting" in listed

    assert inst.cli("meeting", "reschedule", ap_id, "--start", "2036-10-07T09:00", "--end", "2036-10-10T17:00").returncode == 0
    [(status, sequence)] = await inst.sql("SELECT status, sequence FROM content_meeting")
    assert (status, sequence) == ("rescheduled", 1)
    assert "2036-10-07 09:00" in inst.cli("meeting", "list").stdout
    [(payload,)] = await inst.sql("SELECT payload FROM outbox_activity WHERE type = 'Update'")
    event = (json.loads(payload) if isinstance(payload, str) else payload)["object"]
    assert event["startTime"] == "2036-10-07T09:00:00+02:00" and event["nameMap"]["fr"] == "Rencontre internationale"
    assert event["registrationOpens"] == "2036-07-04T22:00:00Z", "registration dates kept"

    mid = ap_id.rsplit("/", 1)[1]
    assert inst.cli("meeting", "cancel", mid).stdout.strip() == f"cancelled {mid}"
    [(status, sequence)] = await inst.sql("SELECT status, sequence FROM content_meeting")
    assert (status, sequence) == ("cancelled", 2)
    again = inst.cli("meeting", "cancel", mid, check=False)
    assert again.returncode == 2 and "already cancelled" in again.stderr
    notes = await inst.sql("SELECT count(*) FROM content_post WHERE type = 'Note' AND in_reply_to = $1", ap_id)
    assert notes == [(2,)], "a statement for the reschedule and one for the cancellation"


async def test_registrations_table_and_csv(inst):
    ap_id = inst.cli(*ADD).stdout.strip()
    [(meeting_id,)] = await inst.sql("SELECT id FROM content_meeting")
    now = datetime(2036, 7, 6, 10, 0, tzinfo=timezone.utc)
    for name, email, delegates, via, state, message in (
            ("Ana", "ana@dock.example", 2, "web", "accepted", "We come by train, see you"),
            ("=HYPERLINK(\"http://evil.example\")", "x@evil.example", 1, "web", "pending", "hi")):
        await inst.sql("INSERT INTO content_registration (meeting_id, local, via, name, union_name, email, delegates, "
                       "message, state, reason, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, "
                       "$10, $11, $12)", meeting_id, False, via, name, "Dockers", email, delegates, message, state,
                       "", now, now)
    table = inst.cli("meeting", "registrations", ap_id).stdout
    assert "ana@dock.example" in table and "accepted" in table
    rows = list(csv.reader(io.StringIO(inst.cli("meeting", "registrations", ap_id, "--csv").stdout)))
    assert rows[0] == ["name", "union", "e-mail", "fediverse actor", "via", "delegates", "state", "message",
                       "registered at"]
    assert rows[1][:8] == ["Ana", "Dockers", "ana@dock.example", "", "web", "2", "accepted", "We come by train, see you"]
    assert rows[1][8].startswith("2036-07-06T10:00:00")
    assert rows[2][0].startswith("'="), "a formula stays text in a spreadsheet"


@pytest.mark.parametrize("changes, reason", [
    ({"--end": "2036-09-22T17:00"}, "end is before the start"),
    ({"--start": "99999-09-23T09:00"}, "not a date and time"),
    ({"--tz": "Mars/Olympus_Mons"}, "unknown time zone"),
    ({"--title": "<b>Meeting</b>"}, "contains HTML"),
    ({"--capacity": "0"}, "capacity must be from 1"),
    ({"--online": "ftp://meet.example"}, "not a web address"),
])
async def test_bad_input_exits_2_and_stores_nothing(inst, changes, reason):
    args = list(ADD)
    for flag, value in changes.items():
        if flag in args:
            args[args.index(flag) + 1] = value
        else:
            args += [flag, value]
    result = inst.cli(*args, check=False)
    assert result.returncode == 2 and reason in result.stderr
    assert await inst.sql("SELECT count(*) FROM content_post") == [(0,)]
    assert await inst.sql("SELECT count(*) FROM content_meeting") == [(0,)]


async def test_unknown_meeting(inst):
    result = inst.cli("meeting", "cancel", "nope", check=False)
    assert result.returncode == 2 and "no meeting of ours" in result.stderr
