"""What an organiser types is checked before anything is stored, and our Event carries both the
FEP-8a8e and Mobilizon names, with a summary that tells Mastodon readers when, where and how."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from content.meetings import (MeetingError, MeetingInput, check_input, event_json, parse_local_time,
                              summary_text)
from content.models import Meeting, Post

BASE = "https://ours.example"
AP_ID = f"{BASE}/meetings/abc"


def good(**changes) -> dict:
    data = {"titles": {"en": "International meeting", "fr": "Rencontre internationale"},
            "descriptions": {"en": "Programme"}, "start": "2026-09-23T09:00", "end": "2026-09-26T17:00",
            "timezone": "Europe/Paris"}
    data.update(changes)
    return data


@pytest.mark.parametrize("changes, reason", [
    ({"end": "2026-09-22T17:00"}, "end is before the start"),
    ({"end": "2026-09-23T09:00"}, "end is before the start"),
    ({"start": "99999-09-23T09:00"}, "not a date and time"),
    ({"start": "1066-10-14T09:00", "end": "1066-10-14T17:00"}, "outside 1900-9999"),
    ({"timezone": "Europe/Atlantis"}, "unknown time zone"),
    ({"timezone": "../../etc/passwd"}, "unknown time zone"),
    ({"titles": {"en": "<b>Meeting</b>"}}, "contains HTML"),
    ({"titles": {"en": "Meeting <script>alert(1)</script>"}}, "contains HTML"),
    ({"titles": {"en": "  "}}, "needs a title"),
    ({"titles": {"xx-invalid-tag-too-long": "Meeting"}}, "not a language code"),
    ({"online_url": "javascript:alert(1)"}, "not a web address"),
    ({"capacity": 0}, "capacity must be from 1"),
    ({"capacity": "lots"}, "whole number"),
    ({"join_mode": "lottery"}, "unknown registration mode"),
    ({"join_mode": "external"}, "needs the address"),
    ({"kind": "party"}, "unknown kind"),
    ({"registration_opens": "2026-07-05T00:00", "registration_closes": "2026-07-01T00:00"}, "closes before it opens"),
])
def test_refusals_say_why(changes, reason):
    with pytest.raises(MeetingError, match=reason):
        check_input(good(**changes))


def test_check_input_normalises():
    data = check_input(good(titles={"FR": "  Rencontre   internationale ", "en": "Meeting"}, capacity="3",
                            address="1 rue X, Dijon", join_mode="External", external_url="mailto:contact@union.example",
                            kind="International"))
    assert list(data.titles) == ["fr", "en"] and data.titles["fr"] == "Rencontre internationale"
    assert data.capacity == 3 and data.address == {"streetAddress": "1 rue X, Dijon"}
    assert data.join_mode == "external" and data.kind == "international"
    assert data.start == datetime(2026, 9, 23, 7, 0, tzinfo=timezone.utc)
    assert check_input(data) == data, "a MeetingInput goes through unchanged"
    closing = check_input(good(registration_closes="2026-09-01"))
    assert closing.registration_closes == datetime(2026, 9, 1, 21, 59, tzinfo=timezone.utc), "that whole day, in Paris"
    assert isinstance(data, MeetingInput)


def test_parse_local_time():
    assert parse_local_time("2026-09-23T09:00", "Europe/Paris") == datetime(2026, 9, 23, 7, tzinfo=timezone.utc)
    assert parse_local_time("2026-01-23 09:00", "Europe/Paris") == datetime(2026, 1, 23, 8, tzinfo=timezone.utc)
    assert parse_local_time("2026-09-23T09:00+00:00", "Europe/Paris") == datetime(2026, 9, 23, 9, tzinfo=timezone.utc)
    with pytest.raises(MeetingError):
        parse_local_time("tomorrow", "Europe/Paris")


def rows(**changes) -> tuple[Post, Meeting]:
    data = check_input(good(**changes))
    post = Post(ap_id=AP_ID, local=True, type="Event", author_uri=f"{BASE}/actors/rail", url=AP_ID, name="x",
                language=next(iter(data.titles)), content_map={"en": "<p>Programme</p>"}, content="<p>Programme</p>",
                to=["https://www.w3.org/ns/activitystreams#Public"], cc=[f"{BASE}/actors/rail/followers"],
                tags=[], attachments=[], published=datetime(2026, 3, 1, 10, tzinfo=timezone.utc),
                extra={"languages": list(data.titles)})
    meeting = Meeting(uid="5e7c-uid", sequence=0, name_map=dict(data.titles), start=data.start, end=data.end,
                      timezone=data.timezone, status="scheduled", kind="international", theme="", local=True,
                      place_name=data.place_name, address=data.address, online_url=data.online_url,
                      organizers=[f"{BASE}/actors/rail"], capacity=data.capacity, join_mode=data.join_mode,
                      external_url=data.external_url, registration_opens=data.registration_opens,
                      registration_closes=data.registration_closes)
    return post, meeting


def test_event_json_shape():
    post, meeting = rows(place_name="Bourse du Travail", address={"streetAddress": "17 rue X", "addressLocality": "Dijon",
                                                                   "addressCountry": "FR"},
                         online_url="https://meet.example/intl", capacity=300, join_mode="approval",
                         registration_opens="2026-07-05T00:00")
    event = event_json(BASE, post, meeting, {}, seats_taken=88)
    assert event["@context"][:2] == ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"]
    assert all(isinstance(c, dict) for c in event["@context"][2:]), "no remote context beyond AS and security"
    assert event["type"] == "Event" and event["id"] == AP_ID and event["uuid"] == "5e7c-uid"
    assert event["name"] == "International meeting" and event["nameMap"]["fr"] == "Rencontre internationale"
    # The offset is the meeting's zone's on that day: CEST in September.
    assert event["startTime"] == "2026-09-23T09:00:00+02:00" and event["endTime"] == "2026-09-26T17:00:00+02:00"
    assert event["timezone"] == "Europe/Paris"
    assert event["location"] == {"type": "Place", "name": "Bourse du Travail",
                                 "address": {"type": "PostalAddress", "streetAddress": "17 rue X",
                                             "addressLocality": "Dijon", "addressCountry": "FR"}}
    assert event["isOnline"] is False, "hybrid: a Place plus the Website link"
    assert event["attachment"] == [{"type": "Link", "mediaType": "text/html", "name": "Website",
                                    "href": "https://meet.example/intl"}]
    assert event["eventStatus"] == "EventScheduled" and event["status"] == "CONFIRMED"
    assert event["joinMode"] == "restricted" and event["maximumAttendeeCapacity"] == 300
    assert event["remainingAttendeeCapacity"] == 212 and event["participantCount"] == 88
    assert event["attendees"] == {"id": f"{AP_ID}/attendees", "type": "Collection", "totalItems": 88}
    assert event["organizers"]["type"] == "OrderedCollection" and event["organizers"]["orderedItems"] == [f"{BASE}/actors/rail"]
    assert event["category"] == "MEETING" and event["meetingKind"] == "international" and event["inLanguage"] == "en"
    assert event["registrationOpens"] == "2026-07-04T22:00:00Z"
    summary = event["summaryMap"]["en"]
    assert "23 September 2026 09:00 – 26 September 2026 17:00 (Europe/Paris)" in summary
    assert "Bourse du Travail" in summary and "Dijon" in summary and "online" in summary
    assert f'<a href="{AP_ID}/register"' in summary and "subject to approval" in summary
    assert "registration from 5 July 2026" in summary and "300 places" in summary
    assert "23 septembre 2026" in event["summaryMap"]["fr"] and "inscription" in event["summaryMap"]["fr"]
    assert event["summary"] == summary and event["content"] == "<p>Programme</p>"


def test_online_only_external_and_cancelled():
    post, meeting = rows(online_url="https://meet.example/x", join_mode="external",
                         external_url="https://forms.example/intl")
    event = event_json(BASE, post, meeting, None)
    assert event["location"]["type"] == "VirtualLocation" and event["isOnline"] is True
    assert event["joinMode"] == "external" and event["externalParticipationUrl"] == "https://forms.example/intl"
    assert "remainingAttendeeCapacity" not in event and "maximumAttendeeCapacity" not in event
    meeting.status = "cancelled"
    event = event_json(BASE, post, meeting, None)
    assert event["name"] == "[CANCELLED] International meeting" and event["status"] == "CANCELLED"
    assert summary_text(meeting, "en").startswith("[CANCELLED] ")


def test_summary_in_a_day_and_unknown_language_falls_back_to_english():
    post, meeting = rows(start="2026-03-13T18:00", end="2026-03-13T20:00", join_mode="none")
    assert summary_text(meeting, "sw") == "13 March 2026 18:00–20:00 (Europe/Paris) · no registration"
    assert summary_text(meeting, "es") == "13 de marzo de 2026 18:00–20:00 (Europe/Paris) · sin inscripción"


def test_a_time_the_clocks_skip_is_refused_and_a_repeated_one_is_its_first_occurrence():
    with pytest.raises(MeetingError, match=r"does not exist in Europe/Paris \(the clocks change\)"):
        parse_local_time("2026-03-29T02:30", "Europe/Paris")
    with pytest.raises(MeetingError, match="does not exist in Europe/Paris"):
        check_input(good(start="2026-03-29T02:00", end="2026-03-29T05:00"))
    # 02:30 happens twice on 25 October 2026 in Paris: the first (summer time, UTC+2) is meant.
    assert parse_local_time("2026-10-25T02:30", "Europe/Paris") == datetime(2026, 10, 25, 0, 30, tzinfo=timezone.utc)
    assert parse_local_time("2026-03-29T03:30", "Europe/Paris") == datetime(2026, 3, 29, 1, 30, tzinfo=timezone.utc)


def test_received_event_outside_the_years_we_allow_is_invalid():
    from content.as2 import parse_object
    from content.values import InvalidObject
    event = {"id": "https://peer.example/e/1", "type": "Event", "attributedTo": "https://peer.example/u/a",
             "name": "Far", "startTime": "9999-12-31T23:30:00-05:00", "to": ["https://www.w3.org/ns/activitystreams#Public"]}
    with pytest.raises(InvalidObject, match="outside 1900-9999"):
        parse_object(event, now=datetime(2026, 1, 1, tzinfo=timezone.utc))
    event["startTime"] = "9999-12-31T18:00:00-05:00"  # still 9999 in UTC: accepted
    assert parse_object(event, now=datetime(2026, 1, 1, tzinfo=timezone.utc)).extra["startTime"].startswith("9999")
