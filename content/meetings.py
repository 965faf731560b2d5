"""Meetings: the Event we federate (FEP-8a8e with Mobilizon's names beside, interop notes A.9) and
its summary; checking what an organiser typed is content/meeting_input.py, re-exported here.
Pure: no HTTP, no database.

The summary carries date, place and how to register in each language because Mastodon shows an
Event as its title, summary and link only (A.5); a single `location` object because Mobilizon and
Gancio do not read arrays (A.2, A.3); `attachment` always an array because Gancio reads its length;
every extension term defined inline because Friendica compacts with its own context (A.4).
"""
from __future__ import annotations

import copy
import html
import re
from datetime import datetime, timezone
from typing import Any

from content.terms import NS as UNIONHALL_NS
from content.as2 import PUBLIC
from content.meeting_input import (JOIN_MODES, KINDS, MAX_DESCRIPTION, POSTAL_KEYS, STATUSES, MeetingError,
                                   MeetingInput, check_input, parse_local_time, zone)
from content.meeting_words import date_text, range_text, words
from content.models import Meeting, Post
from content.sanitize import plain_text
from federation.vocab import AS_CONTEXT, SECURITY_CONTEXT, iso_datetime

# Ours -> the wire. FEP-8a8e says "restricted" for what our organisers call approval.
WIRE_JOIN_MODE = {"free": "free", "approval": "restricted", "external": "external", "none": "none"}
EVENT_STATUS = {"scheduled": "EventScheduled", "postponed": "EventPostponed",
                "rescheduled": "EventRescheduled", "cancelled": "EventCancelled"}
# Mobilizon's `status` (iCalendar): a postponed meeting has no date to confirm.
ICAL_STATUS = {"scheduled": "CONFIRMED", "postponed": "TENTATIVE", "rescheduled": "CONFIRMED",
               "cancelled": "CANCELLED"}

__all__ = ["JOIN_MODES", "KINDS", "POSTAL_KEYS", "STATUSES", "MeetingError", "MeetingInput", "check_input",
           "parse_local_time", "zone", "event_json", "summary_text", "summary_html", "ordered_names", "local_times",
           "location_json", "input_of", "CONTEXT"]

CONTEXT: list = [
    AS_CONTEXT,
    SECURITY_CONTEXT,
    {
        "sc": "http://schema.org#", "toot": "http://joinmastodon.org/ns#",
        "mz": "https://joinmobilizon.org/ns#", "ical": "http://www.w3.org/2002/12/cal/ical#",
        "fep8a8e": "https://w3id.org/fep/8a8e/", "unionhall": UNIONHALL_NS,
        "Hashtag": "as:Hashtag",
        "PostalAddress": "sc:PostalAddress", "address": "sc:address", "streetAddress": "sc:streetAddress",
        "postalCode": "sc:postalCode", "addressLocality": "sc:addressLocality",
        "addressRegion": "sc:addressRegion", "addressCountry": "sc:addressCountry",
        "VirtualLocation": "sc:VirtualLocation", "inLanguage": "sc:inLanguage",
        "maximumAttendeeCapacity": "sc:maximumAttendeeCapacity",
        "remainingAttendeeCapacity": "sc:remainingAttendeeCapacity",
        "timezone": "fep8a8e:timezone", "joinMode": "fep8a8e:joinMode",
        "externalParticipationUrl": {"@id": "fep8a8e:externalParticipationUrl", "@type": "@id"},
        "eventStatus": {"@id": "fep8a8e:eventStatus", "@type": "@vocab"},
        "previousStartTime": {"@id": "fep8a8e:previousStartTime", "@type": "http://www.w3.org/2001/XMLSchema#dateTime"},
        "attendees": {"@id": "fep8a8e:attendees", "@type": "@id"},
        "organizers": {"@id": "fep8a8e:organizers", "@type": "@id"},
        "category": "fep8a8e:category",
        "uuid": "sc:identifier", "participantCount": "mz:participantCount", "isOnline": "mz:isOnline",
        "anonymousParticipationEnabled": "mz:anonymousParticipationEnabled",
        "participationMessage": "mz:participationMessage",
        "status": "ical:status",
        "meetingKind": "unionhall:meetingKind", "theme": "unionhall:theme",
        "delegates": "unionhall:delegates",
        "registrationOpens": {"@id": "unionhall:registrationOpens", "@type": "http://www.w3.org/2001/XMLSchema#dateTime"},
        "registrationCloses": {"@id": "unionhall:registrationCloses", "@type": "http://www.w3.org/2001/XMLSchema#dateTime"},
    },
]


def ordered_names(post: Post, meeting: Meeting) -> dict[str, str]:
    """The titles, primary first (PostgreSQL's jsonb does not keep key order)."""
    names = meeting.name_map if isinstance(meeting.name_map, dict) else {}
    order = post.extra.get("languages") if isinstance(post.extra, dict) else None
    keys = [post.language, *(order if isinstance(order, list) else []), *names]
    out = {k: names[k] for k in dict.fromkeys(keys) if k in names}
    return out or ({post.language or "en": post.name} if post.name else {})


def local_times(meeting: Meeting) -> tuple[datetime, datetime | None]:
    """Start and end in the meeting's own zone (UTC when the zone is unknown)."""
    try:
        tz: Any = zone(meeting.timezone) if meeting.timezone else timezone.utc
    except MeetingError:
        tz = timezone.utc
    return meeting.start.astimezone(tz), meeting.end.astimezone(tz) if meeting.end else None


def _place_text(meeting: Meeting, lang: str) -> str:
    address = meeting.address if isinstance(meeting.address, dict) else {}
    parts = [meeting.place_name] + [address.get(k, "") for k in ("streetAddress", "addressLocality", "addressCountry")]
    place = ", ".join(dict.fromkeys(p for p in parts if p))
    if meeting.online_url:
        online = words(lang)["online"]
        return f"{place} + {online}" if place else online
    return place


def summary_text(meeting: Meeting, lang: str, *, register_url: str = "") -> str:
    """One line of plain text: status, date, place, how to register. Only what stays true until
    the next change, since older Mastodon never shows an Update (A.5)."""
    w = words(lang)
    start, end = local_times(meeting)
    parts = [f"{range_text(start, end, lang)} ({meeting.timezone or 'UTC'})"]
    if meeting.status != "scheduled" and meeting.status in w:
        parts.insert(0, f"[{w[meeting.status]}]")
    place = _place_text(meeting, lang)
    if place:
        parts.append(place)
    if meeting.join_mode == "none":
        parts.append(w["none"])
    elif meeting.join_mode == "external":
        parts.append(w["external"].format(meeting.external_url))
    elif meeting.status != "cancelled":
        how = w["approval" if meeting.join_mode == "approval" else "register"].format(register_url).rstrip(": ")
        if meeting.registration_opens:
            how += " (" + w["opens"].format(_day(meeting.registration_opens, meeting, lang))
            if meeting.registration_closes:
                how += " " + w["closes"].format(_day(meeting.registration_closes, meeting, lang))
            how += ")"
        elif meeting.registration_closes:
            how += " (" + w["closes"].format(_day(meeting.registration_closes, meeting, lang)) + ")"
        parts.append(how)
        if meeting.capacity:
            parts.append(w["capacity"].format(meeting.capacity))
    return " · ".join(parts)


def _day(moment: datetime, meeting: Meeting, lang: str) -> str:
    start, _ = local_times(meeting)
    return date_text(moment.astimezone(start.tzinfo), lang)


_LINK = re.compile(r"(https?://[^\s<>\"]+|mailto:[^\s<>\"]+)")


def summary_html(text: str) -> str:
    """Escaped text with its addresses as links (Mastodon reads an Event's summary as HTML)."""
    out, pos = [], 0
    for m in _LINK.finditer(text):
        out.append(html.escape(text[pos:m.start()], quote=False))
        url = m.group(1).rstrip(".,;)")
        out.append(f'<a href="{html.escape(url)}" rel="nofollow noopener noreferrer" target="_blank">'
                   f"{html.escape(url, quote=False)}</a>")
        pos = m.start() + len(url)
    out.append(html.escape(text[pos:], quote=False))
    return "<p>" + "".join(out) + "</p>"


def _status_title(title: str, meeting: Meeting, lang: str) -> str:
    # "[CANCELLED] title" (A.9): the only way a reader of an old copy of the title learns it.
    if meeting.status in ("cancelled", "postponed"):
        return f"[{words(lang)[meeting.status]}] {title}"
    return title


def location_json(meeting: Meeting) -> dict | None:
    address = {k: v for k, v in (meeting.address or {}).items() if k in POSTAL_KEYS and v}
    if meeting.place_name or address:
        place: dict[str, Any] = {"type": "Place", "name": meeting.place_name or ", ".join(address.values())}
        if address:
            place["address"] = {"type": "PostalAddress", **address}
        return place
    if meeting.online_url:
        return {"type": "VirtualLocation", "name": "Online", "url": meeting.online_url}
    return None


def event_json(inst_base: str, post: Post, meeting: Meeting, organizer_names: dict[str, str] | None = None,
               *, seats_taken: int | None = None) -> dict:
    """The Event as served at its id and sent in Create/Update. `seats_taken` (accepted delegates)
    gives the remaining capacity; `organizer_names` (uri -> name) end the summary when the
    meeting has several organisers."""
    ap_id = post.ap_id
    register_url = f"{ap_id}/register" if meeting.join_mode in ("free", "approval") else ""
    names = ordered_names(post, meeting)
    primary = post.language if post.language in names else next(iter(names), "en")
    organizers = list(meeting.organizers or []) or [post.author_uri]
    summaries = {}
    for lang in names:
        text = summary_text(meeting, lang, register_url=register_url)
        if organizer_names and len(organizers) > 1:
            text += " · " + ", ".join(organizer_names.get(o, o) for o in organizers)
        summaries[lang] = summary_html(text)
    start, end = local_times(meeting)
    name_map = {lang: _status_title(t, meeting, lang) for lang, t in names.items()}
    contents = post.content_in_order()
    attachment: list[dict] = [a for a in (post.attachments or []) if isinstance(a, dict)]
    if meeting.online_url:
        # Mobilizon's online address (A.2): a Link named "Website"; Gancio reads Links too.
        attachment.append({"type": "Link", "mediaType": "text/html", "name": "Website", "href": meeting.online_url})
    taken = seats_taken if seats_taken is not None else (meeting.participant_count or 0)
    doc: dict[str, Any] = {
        "@context": copy.deepcopy(CONTEXT),
        "id": ap_id,
        "type": "Event",
        "uuid": meeting.uid,
        "url": post.url or ap_id,
        "attributedTo": post.author_uri,
        "organizers": {"id": f"{ap_id}/organizers", "type": "OrderedCollection",
                       "totalItems": len(organizers), "orderedItems": organizers},
        "to": list(post.to or [PUBLIC]),
        "cc": list(post.cc or []),
        "name": name_map.get(primary) or next(iter(name_map.values()), ""),
        "nameMap": name_map,
        "summary": summaries.get(primary, ""),
        "summaryMap": summaries,
        "content": contents.get(primary) or next(iter(contents.values()), ""),
        "contentMap": contents,
        "mediaType": "text/html",
        "inLanguage": primary,
        "startTime": start.isoformat(timespec="seconds"),
        "endTime": end.isoformat(timespec="seconds") if end else None,
        "timezone": meeting.timezone or None,
        "location": location_json(meeting),
        "isOnline": bool(meeting.online_url) and not (meeting.place_name or meeting.address),
        "eventStatus": EVENT_STATUS.get(meeting.status, "EventScheduled"),
        "status": ICAL_STATUS.get(meeting.status, "CONFIRMED"),
        "joinMode": WIRE_JOIN_MODE.get(meeting.join_mode, "free"),
        "externalParticipationUrl": meeting.external_url or None,
        "maximumAttendeeCapacity": meeting.capacity,
        "remainingAttendeeCapacity": max(meeting.capacity - taken, 0) if meeting.capacity else None,
        "participantCount": taken,
        "attendees": {"id": f"{ap_id}/attendees", "type": "Collection", "totalItems": taken},
        "anonymousParticipationEnabled": False,
        "commentsEnabled": True,
        "category": "MEETING",
        "meetingKind": meeting.kind,
        "theme": meeting.theme or None,
        "registrationOpens": iso_datetime(meeting.registration_opens) if meeting.registration_opens else None,
        "registrationCloses": iso_datetime(meeting.registration_closes) if meeting.registration_closes else None,
        "tag": [t for t in (post.tags or []) if isinstance(t, dict)],
        "attachment": attachment,
        "published": iso_datetime(post.published),
    }
    if meeting.previous_start and meeting.status in ("rescheduled", "postponed"):
        doc["previousStartTime"] = meeting.previous_start.astimezone(start.tzinfo).isoformat(timespec="seconds")
    if post.updated:
        doc["updated"] = iso_datetime(post.updated)
    # Absent rather than null: several readers treat a present null as a value.
    return {k: v for k, v in doc.items() if v is not None}


def input_of(post: Post, meeting: Meeting) -> MeetingInput:
    """What the organiser typed, back from the rows: the edit form's starting point."""
    typed = post.extra.get("descriptions") if isinstance(post.extra, dict) else None
    descriptions = dict(typed) if isinstance(typed, dict) else {
        lang: plain_text(markup, MAX_DESCRIPTION) for lang, markup in post.content_in_order().items()}
    return MeetingInput(
        titles=ordered_names(post, meeting), descriptions=descriptions, start=meeting.start,
        end=meeting.end or meeting.start, timezone=meeting.timezone or "UTC", place_name=meeting.place_name,
        address=dict(meeting.address or {}), online_url=meeting.online_url, kind=meeting.kind, theme=meeting.theme,
        capacity=meeting.capacity, join_mode=meeting.join_mode, external_url=meeting.external_url,
        registration_opens=meeting.registration_opens, registration_closes=meeting.registration_closes,
        organizers=list(meeting.organizers or []),
    )
