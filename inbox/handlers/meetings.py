"""RSVP for meetings (interop notes A.7, A.10).

On OUR meetings: Join (Mobilizon, FEP-8a8e), Friendica's Accept / TentativeAccept / Reject of the
Event, Leave and Undo(Join) — answered from the organiser with Accept, Reject (full, closed,
blocked) or Ignore (join mode none or external).

On OUR Joins to peers' meetings: Accept / Reject / Ignore, honoured only from the meeting's
organiser (the Event's author or one of its organizers), as Mobilizon requires of us.

Accept and Reject also answer our Follows: `on_accept_or_reject` routes by what the object is.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from tortoise.transactions import in_transaction

from actors.blocks import is_blocked
from actors.instance import Instance
from actors.models import RemoteActor
from content import notify
from content.as2 import id_of
from content.models import Meeting, Post, Registration, Tombstone
from content.registrations import ACTIVE_STATES, MAX_MESSAGE_CHARS, OPEN_MODES, read_delegates
from content.sanitize import plain_text
from content.values import InvalidObject, read_datetime
from federation.hosts import host_or_empty as host
from inbox.handlers import Ignored, follows
from outbox.registrations import AlreadyRegistered, ignore_request, take_request

# A Leave carrying `published` withdraws only registrations made up to then; this much clock
# difference between the two servers is tolerated.
LEAVE_SKEW = timedelta(minutes=2)
OUTCOME_WORDS = {"accept": "accepted", "pending": "pending", "reject": "rejected"}


async def _our_meeting(inst: Instance, uri: str | None) -> tuple[Post, Meeting] | None:
    if not uri or not inst.urls.is_local(uri):
        return None
    post = await Post.filter(ap_id=uri, local=True, type="Event").first()
    meeting = await Meeting.filter(post_id=post.id).first() if post else None
    return (post, meeting) if meeting else None


async def _target(inst: Instance, activity: dict) -> tuple[Post, Meeting]:
    found = await _our_meeting(inst, id_of(activity.get("object")))
    if found is None:
        raise Ignored(f"{activity['type']} of something that is not one of our meetings")
    return found


def _name(signer: RemoteActor) -> str:
    return signer.name or signer.handle


async def _undone(request_id: str, signer: RemoteActor) -> bool:
    """Whether this actor undid the request before it reached us (see `_remember_undone`)."""
    return await Tombstone.filter(ap_id=request_id, author_uri=signer.uri).exists()


async def _remember_undone(inst: Instance, request_id: str | None, signer: RemoteActor) -> None:
    """An Undo that arrives before its Join: the id is kept so the late Join is not registered."""
    if request_id and not inst.urls.is_local(request_id):
        # Never taken over from another author: nobody can pre-empt someone else's request.
        await Tombstone.get_or_create(ap_id=request_id[:2048],
                                      defaults={"author_uri": signer.uri, "deleted_at": inst.now()})


async def _request(inst: Instance, activity: dict, signer: RemoteActor, *, via: str, delegates: int,
                   message: str) -> str:
    """A new request (Join, or Friendica's attend): once per request id, whatever the redelivery."""
    _post, meeting = await _target(inst, activity)
    existing = await Registration.filter(request_id=activity["id"]).first()
    if existing is not None:
        return f"already {existing.state}"
    if await _undone(activity["id"], signer):
        raise Ignored(f"{activity['type']} that its sender had already undone")
    try:
        decision, reg = await take_request(
            inst, meeting, via=via, actor=signer, request_id=activity["id"], delegates=delegates,
            message=message, name=_name(signer), union_name=_name(signer), blocked=await is_blocked(host(signer.uri)))
    except AlreadyRegistered as exc:
        # A second request from someone already registered changes nothing (Mobilizon refuses it too).
        raise Ignored(f"{signer.uri} is already registered ({exc.state})") from None
    if decision.outcome == "ignore":
        return "ignored: this meeting does not take registrations over the fediverse"
    word = OUTCOME_WORDS[decision.outcome]
    text = f"registration {word}" + (f" ({decision.text})" if decision.reason else "")
    return text if reg is None or reg.state == word else f"{text}; kept {reg.state}"


async def on_join(inst: Instance, activity: dict, signer: RemoteActor) -> str:
    # Mobilizon's participationMessage is plain text; HTML is stripped as Mobilizon does.
    message = plain_text(activity.get("participationMessage") or "", MAX_MESSAGE_CHARS) \
        if isinstance(activity.get("participationMessage"), str) else ""
    return await _request(inst, activity, signer, via="fediverse", delegates=read_delegates(activity),
                          message=message)


async def _withdraw_rows(meeting: Meeting, rows: list[Registration], signer: RemoteActor, activity: dict,
                         inst: Instance, state: str = "withdrawn") -> int:
    if not rows:
        return 0
    post = await Post.get(id=meeting.post_id)
    # The rows and the organiser's notification change together or not at all.
    async with in_transaction():
        for reg in rows:
            reg.state, reg.updated_at = state, inst.now()
            await reg.save(update_fields=["state", "updated_at"])
        await notify.record("registration_withdrawn", actor_uri=signer.uri, object_uri=post.ap_id,
                            activity_id=activity["id"], now=inst.now())
    return len(rows)


def _sent_at(activity: dict) -> datetime | None:
    """The activity's `published`, in UTC (SQLite compares the stored text); None when absent or bad."""
    if activity.get("published") is None:
        return None
    try:
        return read_datetime(activity["published"], "published").astimezone(timezone.utc)
    except InvalidObject:
        return None


async def on_leave(inst: Instance, activity: dict, signer: RemoteActor) -> str:
    _post, meeting = await _target(inst, activity)
    rows = Registration.filter(meeting_id=meeting.id, actor_uri=signer.uri, local=False, state__in=ACTIVE_STATES)
    sent = _sent_at(activity)
    if sent is not None:
        # A Leave retried late must not withdraw a registration made after it was sent.
        rows = rows.filter(created_at__lte=sent + LEAVE_SKEW)
    if not await _withdraw_rows(meeting, await rows, signer, activity, inst):
        raise Ignored("Leave of a meeting this actor is not registered for"
                      + (" (no registration made before the Leave)" if sent is not None else ""))
    return "registration withdrawn"


async def on_undo_join(inst: Instance, activity: dict, signer: RemoteActor) -> str:
    # The pipeline already refused an embedded Join whose actor is not the Undo's (inbox/rules.py);
    # a Join by reference is matched against this actor's own registrations only.
    reg = await Registration.filter(request_id=id_of(activity.get("object")), actor_uri=signer.uri,
                                    local=False).first()
    if reg is None:
        await _remember_undone(inst, id_of(activity.get("object")), signer)
        raise Ignored("Undo of a Join we do not have (remembered: the Join will not be registered)")
    if reg.state not in ACTIVE_STATES:
        return f"nothing to undo: the registration is {reg.state}"
    meeting = await Meeting.get(id=reg.meeting_id)
    await _withdraw_rows(meeting, [reg], signer, activity, inst)
    return "registration withdrawn"


async def on_undo_attendance(inst: Instance, activity: dict, signer: RemoteActor) -> str:
    """Friendica's Undo{Accept{Event}} / Undo{TentativeAccept{Event}}: attendance taken back, like a Leave."""
    inner = activity.get("object")
    inner_id = id_of(inner)
    kind = inner.get("type") if isinstance(inner, dict) else None
    found = await _our_meeting(inst, id_of(inner.get("object")) if isinstance(inner, dict) else None)
    if found is None:
        raise Ignored(f"Undo of an {kind} that is not of one of our meetings")
    _post, meeting = found
    rows = await Registration.filter(meeting_id=meeting.id, actor_uri=signer.uri, local=False,
                                     state__in=ACTIVE_STATES if kind == "Accept" else ("maybe",))
    if not rows:
        await _remember_undone(inst, inner_id, signer)
        raise Ignored(f"Undo of an {kind} we do not have (remembered: it will not be registered)")
    await _withdraw_rows(meeting, rows, signer, activity, inst)
    return "registration withdrawn"


async def on_tentative_accept(inst: Instance, activity: dict, signer: RemoteActor) -> str:
    """Friendica's "maybe": kept, shown to the organiser, holds no seat, gets no answer."""
    _post, meeting = await _target(inst, activity)
    if meeting.join_mode not in OPEN_MODES:
        # As for a Join (FEP-8a8e): Ignore, keep nothing — the meeting takes no registration here.
        await ignore_request(inst, meeting, signer, activity["id"], via="friendica")
        return "ignored: this meeting does not take registrations over the fediverse"
    if await _undone(activity["id"], signer):
        raise Ignored("TentativeAccept that its sender had already undone")
    rows = await Registration.filter(meeting_id=meeting.id, actor_uri=signer.uri, local=False,
                                     state__in=ACTIVE_STATES)
    if rows:
        await _withdraw_rows(meeting, [r for r in rows if r.state != "maybe"], signer, activity, inst, "maybe")
        return "registration now maybe"
    now = inst.now()
    await Registration.get_or_create(request_id=activity["id"], defaults={
        "meeting_id": meeting.id, "local": False, "via": "friendica", "actor_uri": signer.uri,
        "name": _name(signer), "union_name": _name(signer), "state": "maybe", "created_at": now,
        "updated_at": now})
    return "registration maybe"


async def _on_event_reject(inst: Instance, activity: dict, signer: RemoteActor) -> str:
    """Friendica's "not going": declined, which frees a seat if one was held."""
    _post, meeting = await _target(inst, activity)
    rows = await Registration.filter(meeting_id=meeting.id, actor_uri=signer.uri, local=False,
                                     state__in=ACTIVE_STATES)
    if not await _withdraw_rows(meeting, rows, signer, activity, inst, "declined"):
        raise Ignored("declined a meeting this actor was not registered for")
    return "registration declined"


# --- answers to OUR Joins ------------------------------------------------------------------------

async def _our_join(activity: dict) -> Registration | None:
    return await Registration.filter(request_id=id_of(activity.get("object")), local=True).first()


async def on_answer_to_our_join(inst: Instance, activity: dict, signer: RemoteActor) -> str:
    reg = await _our_join(activity)
    if reg is None:
        raise Ignored(f"{activity['type']} of a Join we did not send")
    meeting = await Meeting.get(id=reg.meeting_id)
    post = await Post.get(id=meeting.post_id)
    organisers = {post.author_uri, *[u for u in (meeting.organizers or []) if isinstance(u, str)]}
    if signer.uri not in organisers:
        # C.6 #46: only the organiser decides; anyone else's answer leaves the registration as it is.
        raise Ignored(f"{activity['type']} of our Join from {signer.uri}, who is not the meeting's organiser")
    kind = activity["type"]
    state = {"Accept": "accepted", "Reject": "rejected", "Ignore": "ignored"}[kind]
    if reg.state == "withdrawn":
        return f"{kind} of a registration we withdrew: kept withdrawn"
    reason = activity.get("reason") if isinstance(activity.get("reason"), str) else ""
    if not reason and kind == "Reject" and isinstance(activity.get("summary"), str):
        reason = activity["summary"]
    reg.state, reg.reason, reg.updated_at = state, plain_text(reason, 255), inst.now()
    await reg.save(update_fields=["state", "reason", "updated_at"])
    return f"our registration {state}"


async def on_accept_or_reject(inst: Instance, activity: dict, signer: RemoteActor) -> str:
    """Accept / Reject: of our Join (a meeting's organiser answering us), of one of our meetings
    (Friendica's attend / not going), else of our Follow (inbox/handlers/follows.py)."""
    obj = activity.get("object")
    inner_type = obj.get("type") if isinstance(obj, dict) else None
    if inner_type != "Follow":
        if inner_type == "Join" or await _our_join(activity) is not None:
            return await on_answer_to_our_join(inst, activity, signer)
        if await _our_meeting(inst, id_of(obj)) is not None:
            if activity["type"] == "Accept":
                return await _request(inst, activity, signer, via="friendica", delegates=1, message="")
            return await _on_event_reject(inst, activity, signer)
    return await follows.on_accept_or_reject(inst, activity, signer)
