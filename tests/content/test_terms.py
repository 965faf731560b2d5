"""The shared meeting words (content.terms): one copy read by what we publish and what we receive."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from content import appeals, events, meeting_input, registrations, remote_meetings
from content.terms import NS, MeetingError, check_year, declares_namespace, peer_status, zone


def test_one_copy_of_each_word():
    assert meeting_input.KINDS is events.KINDS is remote_meetings.KINDS
    assert meeting_input.POSTAL_KEYS is events.POSTAL_KEYS is remote_meetings.POSTAL_KEYS
    assert appeals.NS is registrations.NS is NS
    assert meeting_input.MeetingError is MeetingError and meeting_input.zone is zone
    for module in (appeals, registrations, events):
        assert not hasattr(module, "_declares_namespace")


def test_declares_namespace():
    assert declares_namespace([{"unionhall": NS}])
    assert declares_namespace({"appeal": {"@id": "unionhall:appeal"}}, "unionhall:appeal")
    assert not declares_namespace({"appeal": {"@id": "unionhall:appeal"}})
    assert not declares_namespace(["https://www.w3.org/ns/activitystreams", {"theme": "https://evil.example/ns#"}])


@pytest.mark.parametrize("word, ours", [
    ("EventCancelled", "cancelled"), ("fep8a8e:EventPostponed", "postponed"), ("ical:CANCELLED", "cancelled"),
    ("https://w3id.org/fep/8a8e/EventRescheduled", "rescheduled"), ("http://www.w3.org/2002/12/cal/ical#TENTATIVE",
                                                                    "postponed"),
    ("CONFIRMED", "scheduled"), ("", "scheduled"), (None, "scheduled"), ("nonsense", "scheduled"),
])
def test_peer_status(word, ours):
    assert peer_status(word) == ours


def test_check_year_in_utc_and_in_the_meetings_zone():
    check_year(datetime(9999, 12, 31, 18, tzinfo=timezone(timedelta(hours=-5))), "x")
    with pytest.raises(MeetingError):
        check_year(datetime(9999, 12, 31, 23, 30, tzinfo=timezone(timedelta(hours=-5))), "x")
    with pytest.raises(MeetingError):
        check_year(datetime(9999, 12, 31, 20, tzinfo=timezone.utc), "x", ZoneInfo("Pacific/Kiritimati"))
    with pytest.raises(MeetingError):
        check_year(datetime(1899, 12, 31, 23, tzinfo=timezone.utc), "x")
