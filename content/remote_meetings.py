"""A peer's Event as a Meeting row, kept in step with every newer version we store.

The row is what registration needs (a Registration points at a Meeting) and what calendars read:
its `uid` never changes and its `sequence` rises with each newer version received, so a calendar
that subscribed to our network feed replaces a rescheduled or cancelled meeting instead of showing
it twice. Built from what content.events kept in Post.extra; no HTTP here.
"""
from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from content.meeting_words import WORDS
from content.models import Meeting, Post
from content.terms import KINDS, POSTAL_KEYS, peer_status
from content.values import InvalidObject, read_datetime
from federation.hosts import host_or_empty, same_origin_host

# Mobilizon's "restricted" is our approval; an invitation-only event takes no registration from us.
_JOIN = {"free": "free", "restricted": "approval", "invite": "none", "external": "external", "none": "none"}


def uid_for(ap_id: str) -> str:
    """The Event's id, stable for as long as it exists (a hash when too long for the column)."""
    return ap_id if len(ap_id) <= 255 else hashlib.sha256(ap_id.encode()).hexdigest() + "@peer"


def _moment(value: Any, what: str) -> datetime | None:
    try:
        return read_datetime(value, what) if value else None
    except InvalidObject:
        return None


def fields_of(post: Post) -> dict[str, Any] | None:
    """The Meeting columns a peer's Event post gives, or None when it has no usable start."""
    extra = post.extra if isinstance(post.extra, dict) else {}
    start = _moment(extra.get("startTime"), "startTime")
    if start is None:
        return None
    end = _moment(extra.get("endTime"), "endTime")
    status = peer_status(extra.get("status"))
    location = extra.get("location") if isinstance(extra.get("location"), dict) else {}
    virtual = location.get("type") == "VirtualLocation"
    address = location.get("address") if not virtual else None
    if isinstance(address, str):
        address = {"streetAddress": address[:200]} if address else {}
    capacity = extra.get("maximumAttendeeCapacity")
    count = extra.get("participantCount")
    names = extra.get("nameMap") if isinstance(extra.get("nameMap"), dict) else {}
    organizers = [o for o in extra.get("organizers") or [] if isinstance(o, str)] or [post.author_uri]
    actor = extra.get("actor")
    if isinstance(actor, str) and same_origin_host(actor, post.author_uri):
        # A Mobilizon group's event: attributedTo is the group, `actor` the member who organises
        # it — and who answers our Join; an Accept from them must count as the organiser's.
        organizers = list(dict.fromkeys([*organizers, actor]))
    name_map = {k: v for k, v in names.items() if isinstance(v, str) and v} or {post.language or "und": post.name or "Event"}
    return {
        "name_map": {k: _without_status_prefix(v, status) for k, v in name_map.items()},
        "start": start, "end": end if end is None or end >= start else None,
        "timezone": str(extra.get("timezone") or "")[:64],
        "status": status,
        "place_name": "" if virtual else str(location.get("name") or "")[:500],
        "address": {k: v for k, v in (address or {}).items() if k in POSTAL_KEYS and isinstance(v, str)},
        "online_url": str((location.get("url") if virtual else extra.get("onlineUrl")) or "")[:2048],
        "capacity": capacity if isinstance(capacity, int) and capacity > 0 else None,
        "join_mode": _JOIN.get(str(extra.get("joinMode") or "free"), "free"),
        "external_url": str(extra.get("externalParticipationUrl") or "")[:2048],
        "participant_count": count if isinstance(count, int) else None,
        # FEP-8a8e `organizers`, else the author (its fallback); content/events.py checked the URLs.
        "organizers": organizers,
        # Another Union Hall's own terms (content/events.py keeps them only in our namespace).
        "kind": extra.get("meetingKind") if extra.get("meetingKind") in KINDS else "other",
        "theme": str(extra.get("theme") or "")[:255],
        "registration_opens": _moment(extra.get("registrationOpens"), "registrationOpens"),
        "registration_closes": _moment(extra.get("registrationCloses"), "registrationCloses"),
    }


# Our own title prefixes ("[CANCELLED] …", "[ANNULÉ] …": content.meetings puts them in another
# Union Hall's nameMap for readers of old copies), in every language we write them in.
_PREFIXES = {status: tuple(f"[{w[status]}] " for w in WORDS.values()) for status in ("cancelled", "postponed")}


def _without_status_prefix(title: str, status: str) -> str:
    """The title without the prefix its status explains already (calendars would otherwise show
    "Cancelled: [CANCELLED] …")."""
    for prefix in _PREFIXES.get(status, ()):
        if title.startswith(prefix) and title[len(prefix):].strip():
            return title[len(prefix):].strip()
    return title


async def _new_uid(post: Post) -> str:
    """The Event's `uuid` (Mobilizon's calendar UID) namespaced by the Event's host ("uuid@host"):
    each host has its own UIDs, so a peer cannot take over another's meeting in a calendar. And
    unless another meeting already has it (the same host reusing one)."""
    uuid = post.extra.get("uuid") if isinstance(post.extra, dict) else None
    host = host_or_empty(post.ap_id)
    uuid = f"{uuid}@{host}" if isinstance(uuid, str) and uuid and host and len(uuid) + len(host) < 255 else None
    # The id itself may have been claimed as a `uuid` by an earlier Event: then its hash.
    for candidate in (uuid, uid_for(post.ap_id), hashlib.sha256(post.ap_id.encode()).hexdigest() + "@peer"):
        if isinstance(candidate, str) and candidate and not await Meeting.filter(uid=candidate).exists():
            return candidate
    return f"{hashlib.sha256(post.ap_id.encode()).hexdigest()}-{post.id}@peer"


async def sync_remote_meeting(post: Post, *, changed: bool = True) -> Meeting | None:
    """Create or refresh the Meeting row of a peer's Event just stored. `changed`: what the
    version says differs from the one before (outbox.lookup compares fingerprints); only then is
    the row rewritten and its SEQUENCE raised, once — a calendar must not see a redelivery as news."""
    if post.local or post.type != "Event":
        return None
    values = fields_of(post)
    if values is None:
        return None
    meeting = await Meeting.filter(post_id=post.id).first()
    if meeting is None:
        return await Meeting.create(post_id=post.id, local=False, uid=await _new_uid(post), sequence=0, **values)
    if not changed:
        return meeting
    if meeting.start != values["start"] and values["status"] in ("rescheduled", "postponed"):
        values["previous_start"] = meeting.start
    meeting.update_from_dict({**values, "sequence": meeting.sequence + 1})
    await meeting.save()
    return meeting
