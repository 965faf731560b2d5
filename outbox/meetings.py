"""Our meetings: announce, change, postpone, cancel, and say when registration opens.

Every change is an `Update` carrying the whole Event with its SEQUENCE raised, in one transaction
with the rows (outbox.emit). Because Mastodon before 4.5 never shows an Update of an Event
(interop notes A.5), a reschedule, a postponement and a cancellation also go out as a short
statement replying to the event. A meeting people registered for is never deleted: they must
see the cancellation.
"""
from __future__ import annotations

import logging
import re
import uuid
from datetime import datetime

from tortoise.transactions import in_transaction

from actors import follows
from actors.instance import Instance
from actors.models import LocalActor, RemoteActor
from content import compose, registrations
from content.as2 import PUBLIC
from content.meeting_words import range_text, words
from content.meetings import (MeetingError, MeetingInput, check_input, event_json, local_times, ordered_names,
                              summary_html, summary_text)
from content.models import Meeting, Post, Registration, Tombstone
from federation.vocab import AS_CONTEXT, iso_datetime
from outbox.emit import emit, new_id
from outbox.models import Activity

log = logging.getLogger("unionhall.meetings")

__all__ = ["MeetingError", "create_meeting", "update_meeting", "postpone_meeting", "cancel_meeting",
           "delete_meeting", "announce_open_registrations", "meeting_document"]


async def _organizer_names(meeting: Meeting) -> dict[str, str]:
    uris = list(meeting.organizers or [])
    names = {a.uri: a.name or a.username for a in await RemoteActor.filter(uri__in=uris)}
    return {u: names.get(u, u) for u in uris}


async def meeting_document(inst: Instance, meeting: Meeting, post: Post | None = None) -> dict:
    """The Event as served at its id, with live counts."""
    post = post or await Post.get(id=meeting.post_id)
    names = await _organizer_names(meeting)
    for local in await LocalActor.filter(kind="union"):
        if inst.uri_of(local) in names:
            names[inst.uri_of(local)] = local.name or local.username
    taken = await registrations.seats_taken(meeting) if meeting.local else None
    return event_json(inst.urls.base, post, meeting, names, seats_taken=taken)


def _hashtag(theme: str) -> str:
    # "women's rights" -> "WomensRights": one tag per theme so Mastodon readers can follow it.
    return "".join(w[:1].upper() + w[1:] for w in re.findall(r"\w+", theme.replace("'", "").replace("’", "")))


def _render(inst: Instance, data: MeetingInput) -> tuple[dict[str, str], list[dict]]:
    """Descriptions (plain text) -> safe HTML per language, and their hashtags + the theme's."""
    content_map: dict[str, str] = {}
    tags: dict[str, dict] = {}
    for lang, text in data.descriptions.items():
        html, found, _ = compose.text_to_html(text, hashtag_url=inst.urls.tag, mentions={})
        content_map[lang] = html
        for tag in found:
            tags.setdefault(tag.lower(), {"type": "Hashtag", "name": f"#{tag}", "href": inst.urls.tag(tag)})
    theme_tag = _hashtag(data.theme)
    if theme_tag:
        tags.setdefault(theme_tag.lower(), {"type": "Hashtag", "name": f"#{theme_tag}", "href": inst.urls.tag(theme_tag)})
    return content_map, list(tags.values())


def _languages(data: MeetingInput) -> list[str]:
    return list(dict.fromkeys([*data.titles, *data.descriptions]))


def _apply(inst: Instance, post: Post, meeting: Meeting, data: MeetingInput) -> None:
    content_map, tags = _render(inst, data)
    primary = next(iter(data.titles))
    post.name, post.language, post.tags = data.titles[primary], primary, tags
    post.content_map, post.content = content_map, content_map.get(primary) or next(iter(content_map.values()), "")
    post.extra = {**(post.extra or {}), "languages": _languages(data), "descriptions": dict(data.descriptions)}
    for name in ("timezone", "place_name", "address", "online_url", "kind", "theme", "capacity", "join_mode",
                 "external_url", "registration_opens", "registration_closes"):
        setattr(meeting, name, getattr(data, name))
    meeting.name_map = dict(data.titles)
    meeting.start, meeting.end = data.start, data.end


async def _audience(local: LocalActor, meeting: Meeting | None = None) -> list[str]:
    """Followers, and every fediverse actor registered for the meeting: they must hear of changes
    even when they do not follow us."""
    inboxes = await follows.follower_inboxes(local)
    if meeting is not None and meeting.id:
        # Friendica attendees (via="friendica") hear of changes too: they registered from a server.
        uris = await Registration.filter(meeting_id=meeting.id, via__in=["fediverse", "friendica"],
                                         local=False).exclude(
            state__in=["withdrawn", "declined"]).values_list("actor_uri", flat=True)
        for actor in await RemoteActor.filter(uri__in=[u for u in uris if u], deleted_at__isnull=True):
            inboxes.append(actor.delivery_inbox)
    return list(dict.fromkeys(inboxes))


async def _emit_event(inst: Instance, local: LocalActor, post: Post, meeting: Meeting, kind: str) -> dict:
    event = await meeting_document(inst, meeting, post)
    context = event.pop("@context")
    if kind == "Create":
        aid, when = f"{post.ap_id}/activity", post.published
    else:
        aid, when = inst.urls.activity(new_id()), post.updated or inst.now()
    activity = {"@context": context, "id": aid, "type": kind, "actor": post.author_uri,
                "published": iso_datetime(when), "to": event["to"], "cc": event["cc"], "object": event}
    await emit(inst, local, activity, inboxes=await _audience(local, meeting), listed=kind == "Create")
    return event


async def create_meeting(inst: Instance, local: LocalActor, data: MeetingInput | dict) -> Meeting:
    """Check, store and announce (Create{Event} to our followers) in one transaction."""
    data = check_input(data)
    mid = new_id()
    ap_id = inst.urls.meeting(mid)
    author = inst.uri_of(local)
    now = inst.now()
    async with in_transaction():
        post = Post(ap_id=ap_id, local=True, type="Event", author_uri=author, url=ap_id, public=True,
                    to=[PUBLIC], cc=[inst.urls.followers(local.username)], published=now, extra={})
        meeting = Meeting(local=True, uid=str(uuid.uuid4()), sequence=0, status="scheduled")
        _apply(inst, post, meeting, data)
        meeting.organizers = list(dict.fromkeys([author, *data.organizers]))
        # Registration already open when announced: the Event says so, no second statement.
        meeting.opening_announced = data.registration_opens is None or data.registration_opens <= now
        await _save_summary(post, meeting)
        await post.save()
        meeting.post = post
        await meeting.save()
        await _emit_event(inst, local, post, meeting, "Create")
    inst.poke_delivery()
    return meeting


async def _save_summary(post: Post, meeting: Meeting) -> None:
    """The primary summary as HTML on the Post too: pages and timelines read it from there."""
    register = f"{post.ap_id}/register" if meeting.join_mode in ("free", "approval") else ""
    post.summary = summary_html(summary_text(meeting, post.language or "en", register_url=register))


async def _own(inst: Instance, local: LocalActor, meeting: Meeting) -> tuple[Meeting, Post]:
    """Fresh rows (the caller's copy may be stale), and only a meeting of `local`."""
    fresh = await Meeting.filter(id=meeting.id, local=True).first()
    post = await Post.filter(id=fresh.post_id).first() if fresh else None
    if fresh is None or post is None or post.author_uri != inst.uri_of(local):
        raise MeetingError("no such meeting of ours")
    return fresh, post


def _defuse(text: str) -> str:
    # A title with "@name@host" or "#tag" must not mention anyone or tag anything in the
    # statement about it (mentions are resolved over the network); a word joiner breaks both.
    return text.replace("@", "@\u2060").replace("#", "#\u2060")


def _note_texts(post: Post, meeting: Meeting, key: str, *, before: datetime | None = None,
                url: str | None = None) -> dict[str, str]:
    """The short statement about a change, in each language of the meeting's titles, ending with
    the meeting's address (Mastodon links it)."""
    start, end = local_times(meeting)
    link = url or post.ap_id
    texts = {}
    for lang, title in ordered_names(post, meeting).items():
        when = f"{range_text(start, end, lang)} ({meeting.timezone or 'UTC'})"
        old = range_text(before.astimezone(start.tzinfo), None, lang) if before is not None else ""
        text = words(lang)[key].format(title=_defuse(title), when=when, before=old, url=link)
        texts[lang] = text if link in text else f"{text}\n\n{link}"
    return texts


async def _reply(inst: Instance, local: LocalActor, post: Post, texts: dict[str, str]) -> Post | None:
    """The short statement replying to the event. Sent after the Update is committed: a failure
    here (it should not happen) must not undo the change itself."""
    from outbox.statements import OutboxError, publish
    try:
        return await publish(inst, local, texts, in_reply_to=post.ap_id)
    except OutboxError as exc:
        log.warning("could not publish the statement about %s: %s", post.ap_id, exc)
        return None


async def _change(inst: Instance, local: LocalActor, meeting: Meeting, post: Post) -> None:
    post.updated = inst.now()
    await _save_summary(post, meeting)
    async with in_transaction():
        # Two admins saving at once must still give two SEQUENCE numbers (calendars drop an
        # update whose SEQUENCE they already have): the row is locked while the number is taken.
        locked = await Meeting.filter(id=meeting.id).select_for_update().first()
        meeting.sequence = (locked.sequence if locked else meeting.sequence) + 1
        await post.save()
        await meeting.save()
        await _emit_event(inst, local, post, meeting, "Update")
    inst.poke_delivery()


async def update_meeting(inst: Instance, local: LocalActor, meeting: Meeting, data: MeetingInput | dict) -> Meeting:
    """Edit. A new start makes the meeting "rescheduled" (previous start kept) and is also told
    in a reply statement."""
    data = check_input(data)
    meeting, post = await _own(inst, local, meeting)
    if meeting.status == "cancelled":
        raise MeetingError("this meeting is cancelled; announce a new one instead")
    old_start, old_opens = meeting.start, meeting.registration_opens
    moved = data.start != old_start
    _apply(inst, post, meeting, data)
    if data.registration_opens != old_opens:
        # A new opening date still ahead is announced when it comes, even if an earlier one was.
        meeting.opening_announced = data.registration_opens is None or data.registration_opens <= inst.now()
    meeting.organizers = list(dict.fromkeys([post.author_uri, *data.organizers]))
    if moved:
        meeting.previous_start, meeting.status = old_start, "rescheduled"
    await _change(inst, local, meeting, post)
    if moved:
        await _reply(inst, local, post, _note_texts(post, meeting, "note_rescheduled", before=old_start))
    return meeting


async def postpone_meeting(inst: Instance, local: LocalActor, meeting: Meeting) -> Meeting:
    """Will not take place on its date; a new date will follow (update_meeting with a new start)."""
    meeting, post = await _own(inst, local, meeting)
    if meeting.status in ("cancelled", "postponed"):
        raise MeetingError(f"this meeting is already {meeting.status}")
    meeting.status, meeting.previous_start = "postponed", meeting.start
    await _change(inst, local, meeting, post)
    await _reply(inst, local, post, _note_texts(post, meeting, "note_postponed"))
    return meeting


async def cancel_meeting(inst: Instance, local: LocalActor, meeting: Meeting) -> Meeting:
    meeting, post = await _own(inst, local, meeting)
    if meeting.status == "cancelled":
        raise MeetingError("this meeting is already cancelled")
    meeting.status = "cancelled"
    await _change(inst, local, meeting, post)
    await _reply(inst, local, post, _note_texts(post, meeting, "note_cancelled"))
    return meeting


async def delete_meeting(inst: Instance, local: LocalActor, meeting: Meeting) -> None:
    """Only a meeting nobody registered for may disappear; otherwise cancel it."""
    meeting, post = await _own(inst, local, meeting)
    if await Registration.filter(meeting_id=meeting.id).exists():
        raise MeetingError("people registered for this meeting: cancel it instead, so they see the cancellation")
    inboxes = await _audience(local, meeting)
    async with in_transaction():
        await Tombstone.update_or_create(ap_id=post.ap_id, defaults={"author_uri": post.author_uri,
                                                                       "deleted_at": inst.now()})
        await post.delete()  # the Meeting row goes with it (cascade)
        for row in await Activity.filter(object_uri=post.ap_id, type__in=["Create", "Update"]):
            row.payload = {**row.payload, "object": {"id": post.ap_id, "type": "Tombstone"}}
            row.listed = False
            await row.save(update_fields=["payload", "listed"])
        await emit(inst, local, {"@context": AS_CONTEXT, "id": f"{post.ap_id}#delete", "type": "Delete",
                                 "actor": post.author_uri, "to": [PUBLIC],
                                 "object": {"id": post.ap_id, "type": "Tombstone"}}, inboxes=inboxes)
    inst.poke_delivery()


async def announce_open_registrations(inst: Instance) -> int:
    """Publish "Registration is open for …" once for each of our meetings whose registration
    opening has passed. Cheap when there is nothing to do: one indexed query."""
    now = inst.now()
    due = await Meeting.filter(local=True, opening_announced=False, registration_opens__lte=now, start__gt=now,
                               join_mode__in=["free", "approval"]).exclude(status="cancelled").limit(20)
    if not due:
        return 0
    unions = {inst.uri_of(a): a for a in await LocalActor.filter(kind="union")}
    done = 0
    for meeting in due:
        post = await Post.filter(id=meeting.post_id).first()
        local = unions.get(post.author_uri) if post else None
        if local is None:
            continue
        texts = _note_texts(post, meeting, "note_open", url=f"{post.ap_id}/register")
        from outbox.statements import OutboxError, publish
        try:
            async with in_transaction():
                # Claimed in the same transaction as the statement: two workers never both say it.
                if not await Meeting.filter(id=meeting.id, opening_announced=False).update(opening_announced=True):
                    continue
                await publish(inst, local, texts, in_reply_to=post.ap_id)
        except OutboxError as exc:
            log.warning("could not announce the registration opening of %s: %s", post.ap_id, exc)
            await Meeting.filter(id=meeting.id).update(opening_announced=True)  # do not retry every minute
            continue
        done += 1
    return done
