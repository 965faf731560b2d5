"""Type-specific fields of received Events (FEP-8a8e, Mobilizon, Gancio) and Questions."""
from __future__ import annotations

import math
import re
from typing import Any
from content.sanitize import plain_text, safe_url
from content.terms import KINDS, POSTAL_KEYS, MeetingError, check_year, declares_namespace, zone
from content.values import InvalidObject, as_list, read_datetime

MAX_POLL_OPTIONS = 20


_JOIN_MODES = {"free", "restricted", "invite", "external", "none"}


def event_extra(obj: dict) -> dict[str, Any]:
    tz_name = obj.get("timezone")
    tz = None
    if tz_name not in (None, ""):
        try:
            tz = zone(tz_name)
        except MeetingError:
            raise InvalidObject("timezone is not an IANA time zone name") from None
    if obj.get("startTime") is None:
        raise InvalidObject("Event without startTime")
    start = read_datetime(obj.get("startTime"), "startTime", tz)
    end = read_datetime(obj.get("endTime"), "endTime", tz) if obj.get("endTime") is not None else None
    try:
        # The range we allow our own meetings: a year-9999 Event would overflow every calendar
        # and page that converts it to another zone.
        for moment, what in ((start, "startTime"), (end, "endTime")):
            if moment is not None:
                check_year(moment, what, tz)
    except MeetingError as exc:
        raise InvalidObject(str(exc)) from None
    if end is not None and end < start:
        raise InvalidObject("Event endTime is before startTime")
    extra: dict[str, Any] = {
        "startTime": start.isoformat(), "endTime": end.isoformat() if end else None,
        "timezone": tz_name if tz else None, "location": _location(obj.get("location")),
    }
    join_mode = obj.get("joinMode")
    if isinstance(join_mode, str) and join_mode.lower() in _JOIN_MODES:
        extra["joinMode"] = join_mode.lower()
    status = next((s for s in (obj.get("eventStatus"), obj.get("status"), obj.get("ical:status")) if isinstance(s, str)), None)
    if status:
        # Room for a full IRI ("https://w3id.org/fep/8a8e/EventCancelled"): read by its last segment.
        extra["status"] = plain_text(status, 200)
    for key in ("isOnline", "commentsEnabled", "anonymousParticipationEnabled"):
        if isinstance(obj.get(key), bool):
            extra[key] = obj[key]
    for key in ("maximumAttendeeCapacity", "remainingAttendeeCapacity", "participantCount"):
        if _is_count(obj.get(key)):
            extra[key] = obj[key]
    if isinstance(obj.get("category"), str):
        extra["category"] = plain_text(obj["category"], 64)
    if safe_url(obj.get("externalParticipationUrl")):
        extra["externalParticipationUrl"] = obj["externalParticipationUrl"].strip()
    # Mobilizon's online address: the Link attachment named "Website".
    for item in as_list(obj.get("attachment")):
        if isinstance(item, dict) and "Link" in as_list(item.get("type")) and item.get("name") == "Website":
            if safe_url(item.get("href")):
                extra["onlineUrl"] = item["href"].strip()
                break
    # FEP-8a8e hybrid: a Place and a VirtualLocation in one array; the Place is `location`.
    if "onlineUrl" not in extra and (extra["location"] or {}).get("type") == "Place":
        for item in as_list(obj.get("location"))[:10]:
            if isinstance(item, dict) and "VirtualLocation" in as_list(item.get("type")) and safe_url(item.get("url")):
                extra["onlineUrl"] = item["url"].strip()
                break
    extra.update(_meeting_terms(obj))
    return extra


_UUID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$")
MAX_ORGANIZERS = 20


def _meeting_terms(obj: dict) -> dict[str, Any]:
    """Mobilizon's `uuid` (a calendar UID that survives a reschedule), FEP-8a8e `organizers`, and
    what another Union Hall says in our namespace: kind, theme, registration dates."""
    out: dict[str, Any] = {}
    if isinstance(obj.get("uuid"), str) and _UUID.match(obj["uuid"]):
        out["uuid"] = obj["uuid"]
    organizers = obj.get("organizers")
    if isinstance(organizers, dict):
        organizers = organizers.get("orderedItems", organizers.get("items"))
    found = [safe_url(o.get("id") if isinstance(o, dict) else o) for o in as_list(organizers)[:MAX_ORGANIZERS]]
    if any(found):
        out["organizers"] = list(dict.fromkeys(u for u in found if u))
    # Mobilizon's group event: `actor` is the member organising it (content.remote_meetings adds
    # them to the organisers when they are on the group's host).
    actor = obj.get("actor")
    actor = safe_url(actor.get("id") if isinstance(actor, dict) else actor)
    if actor:
        out["actor"] = actor
    if not declares_namespace(obj.get("@context")):
        return out
    if isinstance(obj.get("meetingKind"), str) and obj["meetingKind"] in KINDS:
        out["meetingKind"] = obj["meetingKind"]
    if isinstance(obj.get("theme"), str) and plain_text(obj["theme"], 255):
        out["theme"] = plain_text(obj["theme"], 255)
    for key in ("registrationOpens", "registrationCloses"):
        try:
            moment = read_datetime(obj.get(key), key) if obj.get(key) is not None else None
        except InvalidObject:
            moment = None  # a bad date makes the date unknown, not the meeting unusable
        try:
            if moment is not None:
                check_year(moment, key)
                out[key] = moment.isoformat()
        except MeetingError:
            pass
    return out


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 10**9


def _location(value: Any) -> dict | None:
    # FEP-8a8e allows an array (hybrid events); Mobilizon/Gancio send one object or a string.
    for item in as_list(value):
        if isinstance(item, str) and plain_text(item, 300):
            return {"type": "Place", "name": plain_text(item, 300)}
        if not isinstance(item, dict):
            continue
        kinds = as_list(item.get("type"))
        if "VirtualLocation" in kinds:
            url = safe_url(item.get("url"))
            if url:
                return {"type": "VirtualLocation", "name": plain_text(item.get("name"), 300), "url": url}
        elif "Place" in kinds or not kinds:
            return _place(item)
    return None


def _place(item: dict) -> dict:
    place: dict[str, Any] = {"type": "Place", "name": plain_text(item.get("name"), 300)}
    address = item.get("address")
    if isinstance(address, str):
        place["address"] = plain_text(address, 500)
    elif isinstance(address, dict):
        place["address"] = {k: plain_text(address[k], 200) for k in POSTAL_KEYS if isinstance(address.get(k), str)}
    # Only real numbers in range: a string "48.87" or NaN is ignored, as Mobilizon does.
    for key, bound in (("latitude", 90), ("longitude", 180)):
        number = item.get(key)
        if isinstance(number, (int, float)) and not isinstance(number, bool) and math.isfinite(number) and abs(number) <= bound:
            place[key] = float(number)
    return place


def question_extra(obj: dict) -> dict[str, Any]:
    extra: dict[str, Any] = {}
    for key in ("oneOf", "anyOf"):
        options = []
        for item in as_list(obj.get(key))[:MAX_POLL_OPTIONS]:
            if isinstance(item, dict) and plain_text(item.get("name"), 200):
                replies = item.get("replies")
                votes = replies.get("totalItems") if isinstance(replies, dict) else 0
                options.append({"name": plain_text(item.get("name"), 200), "votes": votes if _is_count(votes) else 0})
        if options:
            extra[key] = options
    for key in ("endTime", "closed"):
        try:
            extra[key] = read_datetime(obj.get(key), key).isoformat()
        except InvalidObject:
            pass  # `closed` may be a boolean; an unreadable end just means "no end shown"
    if _is_count(obj.get("votersCount")):
        extra["votersCount"] = obj["votersCount"]
    return extra
