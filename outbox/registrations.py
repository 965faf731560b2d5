"""Registration for meetings, both directions (interop notes A.10).

Inbound requests (a fediverse Join, a Friendica "attend", the web form) all go through
`take_request`: the capacity check and the insert happen in ONE transaction holding a row lock
on the meeting (SELECT … FOR UPDATE on PostgreSQL; SQLite has a single writer), so two requests
racing for the last seats cannot both be accepted. Answers to fediverse requests are emitted in
that same transaction, from the meeting's organiser, to the requester's inbox.

Outbound: `register_for` sends our Join to a peer's meeting, `withdraw` takes it back.
"""
from __future__ import annotations

import hashlib
import re
from typing import Any

from tortoise.transactions import in_transaction

from actors.instance import Instance
from actors.models import LocalActor, RemoteActor
from actors.remote import ActorFetchError, fetch_actor
from content import notify
from content.models import Meeting, Post, Registration
from content.registrations import (
    ACCEPT, ACTIVE_STATES, IGNORE, JOIN_CONTEXT_TERMS, MAX_DELEGATES, MAX_MESSAGE_CHARS, OPEN_MODES, PENDING,
    REASONS,
    Decision, decide_request, fits, seats_taken,
)
from content.remote_meetings import sync_remote_meeting
from content.sanitize import plain_text
from federation.vocab import AS_CONTEXT, iso_datetime
from outbox.emit import emit, new_id
from outbox.lookup import LookupError_, fetch_post
from outbox.models import Activity

ANSWER_CONTEXT: list[Any] = [AS_CONTEXT, JOIN_CONTEXT_TERMS]
_EMAIL = re.compile(r"^[^@\s<>\"]+@[^@\s<>\"]+\.[^@\s<>\"]+$")
MAX_NAME = 255
MAX_EMAIL = 320


class RegistrationError(ValueError):
    """A registration that cannot be made or changed; the message says why, for a 4xx or the CLI."""


class AlreadyRegistered(RegistrationError):
    """A new request from an actor who already holds a pending or accepted registration."""

    def __init__(self, state: str) -> None:
        super().__init__(f"already registered ({state})")
        self.state = state


# --- who answers ------------------------------------------------------------------------------

async def organiser_of(inst: Instance, meeting: Meeting) -> LocalActor:
    """The local actor who published our meeting: our answers come from it (Mobilizon only honours
    an Accept from the event's organiser)."""
    post = await Post.get(id=meeting.post_id)
    username = post.author_uri.removeprefix(inst.urls.base + "/actors/")
    actor = await LocalActor.filter(username=username).first()
    if actor is None:
        raise RegistrationError("the meeting's organiser is not an actor of this instance")
    return actor


def answer_id(organiser_uri: str, request_id: str, kind: str) -> str:
    """Derived from the request id, so re-applying the same inbox item names the same answer, which
    is therefore sent once (as for Follows, outbox/follows.py)."""
    digest = hashlib.sha256(request_id.encode()).hexdigest()[:16]
    return f"{organiser_uri}#{kind.lower()}s/joins/{digest}"


def request_object(reg: Registration, event_uri: str) -> dict:
    """The request as we echo it: the Join embedded with its id preserved (Mobilizon matches on it),
    or Friendica's attendance (an Accept of the Event)."""
    kind = "Accept" if reg.via == "friendica" else "Join"
    return {"id": reg.request_id, "type": kind, "actor": reg.actor_uri, "object": event_uri}


async def _emit_answer(inst: Instance, organiser: LocalActor, reg: Registration, event_uri: str, kind: str,
                       inbox: str, reason: str = "") -> bool:
    """Emit Accept / Reject / Ignore of `reg`'s request; False if that very answer was sent before."""
    organiser_uri = inst.uri_of(organiser)
    aid = answer_id(organiser_uri, reg.request_id or "", kind)
    if await Activity.filter(ap_id=aid).exists():
        if kind == "Ignore" or await _answered_last(reg, aid):
            return False
        aid = inst.urls.activity(new_id())  # a second, different decision on the same request
    answer: dict[str, Any] = {"@context": ANSWER_CONTEXT, "id": aid, "type": kind, "actor": organiser_uri,
                              "to": [reg.actor_uri]}
    # FEP-8a8e prefers the Join's id for Ignore; Accept and Reject embed it (Mobilizon).
    answer["object"] = reg.request_id if kind == "Ignore" else request_object(reg, event_uri)
    if reason:
        answer["summary"] = f"Registration refused: {REASONS.get(reason, reason)}."
        answer["reason"] = reason
        answer["@context"] = [AS_CONTEXT, {**JOIN_CONTEXT_TERMS, "reason": "unionhall:reason"}]
    await emit(inst, organiser, answer, inboxes=[inbox], listed=False, public=False)
    return True


async def _answered_last(reg: Registration, aid: str) -> bool:
    last = await Activity.filter(object_uri=reg.request_id or "").order_by("-id").first()
    return last is not None and last.ap_id == aid


# --- inbound requests ---------------------------------------------------------------------------

async def _locked(meeting: Meeting) -> Meeting:
    # The row lock serialises every check-and-insert on this meeting until commit (PostgreSQL);
    # tortoise leaves FOR UPDATE out on SQLite, whose writers are serialised anyway.
    return await Meeting.select_for_update().get(id=meeting.id)


async def take_request(inst: Instance, meeting: Meeting, *, via: str, actor: RemoteActor | None,
                       request_id: str | None, delegates: int = 1, message: str = "", name: str = "",
                       union_name: str = "", email: str = "", blocked: bool = False,
                       keep_rejected: bool = True) -> tuple[Decision, Registration | None]:
    """Decide a new request and store it (accepted, pending, or rejected unless `keep_rejected` is
    False; nothing when ignored), answering a fediverse requester in the same transaction. Returns
    the decision and the stored row (None when nothing was stored; an unchanged "maybe" row when
    that actor's request was refused).

    A fediverse actor who already holds a pending or accepted registration raises AlreadyRegistered;
    one who said "maybe" (Friendica) has that row turned into the request when it is accepted or
    pending. Both checks run under the meeting's lock, so two requests of one actor racing each
    other make one registration."""
    now = inst.now()
    organiser = await organiser_of(inst, meeting)
    post = await Post.get(id=meeting.post_id)
    async with in_transaction():
        locked = await _locked(meeting)
        maybe = None
        if actor is not None:
            held = await Registration.filter(meeting_id=meeting.id, actor_uri=actor.uri, local=False,
                                             state__in=ACTIVE_STATES).order_by("-id")
            active = next((r for r in held if r.state != "maybe"), None)
            if active is not None:
                raise AlreadyRegistered(active.state)
            maybe = held[0] if held else None
        decision = decide_request(locked, now=now, taken=await seats_taken(locked), delegates=delegates,
                                  blocked=blocked)
        state = {ACCEPT: "accepted", PENDING: "pending"}.get(decision.outcome, "rejected")
        reg = Registration(meeting_id=meeting.id, local=False, via=via, actor_uri=actor.uri if actor else None,
                           request_id=request_id, name=name, union_name=union_name, email=email,
                           delegates=delegates, message=message, state=state, reason=decision.reason,
                           created_at=now, updated_at=now)
        if actor is not None:
            kind = {ACCEPT: "Accept", PENDING: "", IGNORE: "Ignore"}.get(decision.outcome, "Reject")
            if kind:
                await _emit_answer(inst, organiser, reg, post.ap_id, kind, actor.inbox, decision.reason)
        if maybe is not None and decision.outcome in (ACCEPT, PENDING):
            # "Maybe" becomes "attend": the same row, now answering to the attend's id.
            maybe.request_id, maybe.state, maybe.reason = request_id, state, decision.reason
            maybe.delegates, maybe.message, maybe.updated_at = delegates, message, now
            await maybe.save(update_fields=["request_id", "state", "reason", "delegates", "message", "updated_at"])
            stored = reg = maybe
        elif maybe is not None:
            stored = maybe  # refused or ignored: the "maybe" stays as it was, nothing new is kept
        elif decision.outcome == IGNORE or (state == "rejected" and not keep_rejected):
            stored = None
        else:
            stored = reg
            await reg.save()
        if stored is not None and decision.outcome in (ACCEPT, PENDING):
            await notify.record("registration" if decision.outcome == ACCEPT else "registration_request",
                                actor_uri=actor.uri if actor else f"{name} ({email})", object_uri=post.ap_id,
                                activity_id=request_id or f"{post.ap_id}#registrations/{reg.id}", now=now)
    if actor is not None:
        inst.poke_delivery()
    return decision, stored


async def ignore_request(inst: Instance, meeting: Meeting, actor: RemoteActor, request_id: str, *,
                         via: str) -> None:
    """Answer Ignore to a request for a meeting that takes no registration here (join mode none or
    external), keeping nothing — what take_request does for a Join, for Friendica's "maybe"."""
    organiser = await organiser_of(inst, meeting)
    post = await Post.get(id=meeting.post_id)
    reg = Registration(meeting_id=meeting.id, local=False, via=via, actor_uri=actor.uri, request_id=request_id)
    async with in_transaction():
        sent = await _emit_answer(inst, organiser, reg, post.ap_id, "Ignore", actor.inbox)
    if sent:
        inst.poke_delivery()


class InvalidRegistration(RegistrationError):
    """The web form's fields are wrong; `reasons` lists every problem, so the form can show them all."""

    def __init__(self, reasons: list[str]) -> None:
        super().__init__("; ".join(reasons))
        self.reasons = reasons


def check_web_fields(name: str, union_name: str, email: str, delegates: Any, message: str) -> tuple:
    """The one check of the web registration form (the page shows its reasons): (name, union_name,
    email, delegates, message) normalised, or InvalidRegistration with every problem found."""
    reasons = []
    raw_name, raw_union, email = (name or "").strip(), (union_name or "").strip(), (email or "").strip()
    if not plain_text(raw_name, MAX_NAME).strip():
        reasons.append("please give your name")
    elif len(raw_name) > MAX_NAME:
        reasons.append(f"the name is longer than {MAX_NAME} characters")
    if len(raw_union) > MAX_NAME:
        reasons.append(f"the union's name is longer than {MAX_NAME} characters")
    if not email or len(email) > MAX_EMAIL or not _EMAIL.match(email):
        reasons.append("please give a valid e-mail address, such as name@example.org, so the organisers can "
                       "reach you")
    try:
        count = int(delegates) if not isinstance(delegates, bool) else 0
    except (TypeError, ValueError):
        count = 0
    if not 1 <= count <= MAX_DELEGATES:
        reasons.append(f"the number of delegates must be a whole number from 1 to {MAX_DELEGATES}")
    message = (message or "").strip()
    if len(message) > MAX_MESSAGE_CHARS:
        reasons.append(f"the message is longer than {MAX_MESSAGE_CHARS} characters")
    if reasons:
        raise InvalidRegistration(reasons)
    return (plain_text(raw_name, MAX_NAME).strip(), plain_text(raw_union, MAX_NAME).strip(), email, count,
            plain_text(message, MAX_MESSAGE_CHARS))


async def register_web(inst: Instance, meeting: Meeting, *, name: str, union_name: str, email: str,
                       delegates: int | str, message: str) -> Registration:
    """The public form, for people without a fediverse account: the same capacity and approval rules.
    A refusal raises RegistrationError and stores nothing."""
    if not meeting.local:
        raise RegistrationError("register for a peer's meeting on its own site")
    name, union_name, email, count, message = check_web_fields(name, union_name, email, delegates, message)
    if meeting.join_mode not in OPEN_MODES:
        where = f": {meeting.external_url}" if meeting.external_url else ""
        raise RegistrationError(f"this meeting does not take registrations here{where}")
    # The web form stores no refused attempt: the visitor sees the reason at once.
    decision, reg = await take_request(inst, meeting, via="web", actor=None, request_id=None, delegates=count,
                                       message=message, name=name, union_name=union_name, email=email,
                                       keep_rejected=False)
    if reg is None:
        raise RegistrationError(decision.text)
    return reg


async def decide(inst: Instance, registration: Registration, accept: bool, reason: str = "") -> Registration:
    """The organiser approves or refuses a registration to our meeting; a fediverse requester is told
    (Accept / Reject of its request) in the same transaction as the change."""
    if registration.local:
        raise RegistrationError("that is our own registration to a peer's meeting")
    meeting = await Meeting.get(id=registration.meeting_id)
    organiser = await organiser_of(inst, meeting)
    post = await Post.get(id=meeting.post_id)
    async with in_transaction():
        locked = await _locked(meeting)
        reg = await Registration.get(id=registration.id)
        if accept:
            if reg.state == "accepted":
                return reg
            if reg.state not in ("pending", "rejected", "maybe"):
                raise RegistrationError(f"a {reg.state} registration cannot be accepted")
            if not fits(locked, taken=await seats_taken(locked), delegates=reg.delegates):
                raise RegistrationError("not enough seats left for this registration")
            reg.state, reg.reason = "accepted", ""
        else:
            if reg.state == "rejected":
                return reg
            if reg.state not in ("pending", "accepted", "maybe"):
                raise RegistrationError(f"a {reg.state} registration cannot be refused")
            reg.state, reg.reason = "rejected", plain_text(reason or "", 255)
        reg.updated_at = inst.now()
        await reg.save(update_fields=["state", "reason", "updated_at"])
        if reg.via in ("fediverse", "friendica") and reg.actor_uri and reg.request_id:
            remote = await RemoteActor.filter(uri=reg.actor_uri).first()
            if remote is not None:
                await _emit_answer(inst, organiser, reg, post.ap_id, "Accept" if accept else "Reject",
                                   remote.inbox, reg.reason)
    inst.poke_delivery()
    registration.state, registration.reason = reg.state, reg.reason
    return reg


# --- outbound: this union registers for a peer's meeting --------------------------------------------

async def peer_meeting(inst: Instance, meeting_uri: str) -> Meeting:
    """The Meeting row of a peer's Event, fetched from its origin if we do not have it yet."""
    try:
        post = await fetch_post(inst, meeting_uri)
    except LookupError_ as exc:
        raise RegistrationError(exc.reason) from exc
    if post.type != "Event":
        raise RegistrationError("that is not a meeting (an Event)")
    meeting = await Meeting.filter(post_id=post.id).first() or await sync_remote_meeting(post)
    if meeting is None:
        raise RegistrationError("that meeting has no usable start time")
    return meeting


async def register_for(inst: Instance, local: LocalActor, meeting_uri: str, *, delegates: int,
                       message: str) -> Registration:
    """Send our Join (with the size of the delegation and a message) to a peer's meeting; the
    registration stays pending until its organiser's Accept or Reject arrives."""
    if inst.urls.is_local(meeting_uri):
        raise RegistrationError("that is one of our own meetings")
    if isinstance(delegates, bool) or not isinstance(delegates, int) or not 1 <= delegates <= MAX_DELEGATES:
        raise RegistrationError(f"a registration is for 1 to {MAX_DELEGATES} delegates")
    if len(message or "") > MAX_MESSAGE_CHARS:
        raise RegistrationError(f"the message is longer than {MAX_MESSAGE_CHARS} characters")
    meeting = await peer_meeting(inst, meeting_uri)
    if meeting.join_mode in ("external", "none"):
        where = f": {meeting.external_url}" if meeting.external_url else ""
        raise RegistrationError(f"this meeting does not take registrations over the fediverse{where}")
    if meeting.status == "cancelled":
        raise RegistrationError("this meeting is cancelled")
    if await Registration.filter(meeting_id=meeting.id, local=True, state__in=ACTIVE_STATES).exists():
        raise RegistrationError("we are already registered for this meeting (withdraw first)")
    post = await Post.get(id=meeting.post_id)
    try:
        organiser = await fetch_actor(inst, post.author_uri)
    except ActorFetchError as exc:
        raise RegistrationError(f"cannot reach the meeting's organiser: {exc.reason}") from exc
    our_uri, now = inst.uri_of(local), inst.now()
    join: dict[str, Any] = {"@context": ANSWER_CONTEXT, "id": inst.urls.activity(new_id()), "type": "Join",
                            "actor": our_uri, "object": post.ap_id, "to": [organiser.uri], "delegates": delegates}
    message = plain_text(message or "", MAX_MESSAGE_CHARS)
    if message:
        join["participationMessage"] = message
    async with in_transaction():
        reg = await Registration.create(
            meeting_id=meeting.id, local=True, via="fediverse", actor_uri=our_uri, request_id=join["id"],
            name=local.name, union_name=local.name, delegates=delegates, message=message, state="pending",
            created_at=now, updated_at=now)
        await emit(inst, local, join, inboxes=[organiser.inbox], listed=False, public=False)
    inst.poke_delivery()
    return reg


async def withdraw(inst: Instance, local: LocalActor, registration: Registration) -> Registration:
    """Take back our registration to a peer's meeting. Both forms of A.10 are sent: `Leave{event}` is
    what Mobilizon understands, `Undo{Join}` what FEP-8a8e servers do; a receiver that knows both
    (Union Hall) applies the first and ignores the second, which finds nothing left to undo."""
    if not registration.local:
        raise RegistrationError("an organiser refuses a registration instead (decide)")
    if registration.state not in ACTIVE_STATES:
        raise RegistrationError(f"a {registration.state} registration cannot be withdrawn")
    meeting = await Meeting.get(id=registration.meeting_id)
    post = await Post.get(id=meeting.post_id)
    try:
        organiser = await fetch_actor(inst, post.author_uri)
    except ActorFetchError as exc:
        raise RegistrationError(f"cannot reach the meeting's organiser: {exc.reason}") from exc
    our_uri, published = inst.uri_of(local), iso_datetime(inst.now())
    join = {"id": registration.request_id, "type": "Join", "actor": our_uri, "object": post.ap_id}
    # `published` lets the organiser apply a late (retried) Leave only to registrations made before
    # it, not to the one we may have sent since (inbox/handlers/meetings.py on_leave).
    leave = {"@context": AS_CONTEXT, "id": inst.urls.activity(new_id()), "type": "Leave", "actor": our_uri,
             "object": post.ap_id, "to": [organiser.uri], "published": published}
    undo = {"@context": AS_CONTEXT, "id": inst.urls.activity(new_id()), "type": "Undo", "actor": our_uri,
            "object": join, "to": [organiser.uri], "published": published}
    async with in_transaction():
        registration.state, registration.updated_at = "withdrawn", inst.now()
        await registration.save(update_fields=["state", "updated_at"])
        for activity in (leave, undo):
            await emit(inst, local, activity, inboxes=[organiser.inbox], listed=False, public=False)
    inst.poke_delivery()
    return registration
