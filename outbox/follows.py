"""Follow handshake, both directions (interop notes 4.1)."""
from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from actors import follows
from actors.instance import Instance
from actors.models import Follower, FollowState, LocalActor, RemoteActor
from federation.vocab import AS_CONTEXT
from outbox.emit import emit, new_id
from outbox.models import Activity


def follow_json(follow_id: str, actor_uri: str, object_uri: str) -> dict:
    return {"id": follow_id, "type": "Follow", "actor": actor_uri, "object": object_uri}


async def follow(inst: Instance, local: LocalActor, remote: RemoteActor) -> str:
    """Send a Follow; the relationship stays pending until their Accept arrives."""
    follow_id = inst.urls.activity(new_id())
    activity = {"@context": AS_CONTEXT, **follow_json(follow_id, inst.uri_of(local), remote.uri)}
    async with in_transaction():
        await follows.start_following(local, remote, follow_id, now=inst.now())
        await emit(inst, local, activity, inboxes=[remote.inbox])
    inst.poke_delivery()
    return follow_id


async def unfollow(inst: Instance, local: LocalActor, remote: RemoteActor) -> bool:
    async with in_transaction():
        row = await follows.stop_following(local, remote)
        if row is None:
            return False
        undo = {"@context": AS_CONTEXT, "id": inst.urls.activity(new_id()), "type": "Undo",
                "actor": inst.uri_of(local), "object": follow_json(row.follow_id, inst.uri_of(local), remote.uri)}
        await emit(inst, local, undo, inboxes=[remote.inbox])
    inst.poke_delivery()
    return True


def answer_id(actor_uri: str, follow_id: str, *, accept: bool) -> str:
    """The id of our Accept/Reject of one Follow, derived from the Follow's id: answering the same
    Follow again (an inbox item re-applied after a crash, or by a second worker) names the same
    activity, which is sent once; a repeat Follow with a new id (Mastodon's fast-forward) gets an
    answer of its own that echoes the new id."""
    digest = hashlib.sha256(follow_id.encode()).hexdigest()[:16]
    return f"{actor_uri}#{'accepts' if accept else 'rejects'}/follows/{digest}"


async def _answer_once(inst: Instance, local: LocalActor, answer: dict, inbox: str,
                       settle: Callable[[], Awaitable[None]]) -> bool:
    """Run `settle` (the relationship change the answer announces) and emit `answer` in one
    transaction, unless an activity with the answer's id exists: then only `settle` runs, so a
    repeat leaves the row right and sends nothing. True if the answer was emitted now."""
    try:
        async with in_transaction():
            await settle()
            if await Activity.filter(ap_id=answer["id"]).exists():
                return False
            await emit(inst, local, answer, inboxes=[inbox])
    except IntegrityError:
        # Two workers answered the same Follow at once: the unique ap_id let one through, and
        # its answer is the one delivered. Anything else is a real error.
        if not await Activity.filter(ap_id=answer["id"]).exists():
            raise
        await settle()
        return False
    inst.poke_delivery()
    return True


async def answer_follow(inst: Instance, row: Follower, *, accept: bool) -> bool:
    """Accept or Reject a remote Follow, embedding their Follow verbatim by id (Mastodon matches on it).
    Idempotent per Follow id; True if an answer was emitted, False if this Follow was answered before."""
    local, remote = row.local, row.remote
    actor_uri = inst.uri_of(local)
    answer = {
        "@context": AS_CONTEXT,
        "id": answer_id(actor_uri, row.follow_id, accept=accept),
        "type": "Accept" if accept else "Reject",
        "actor": actor_uri,
        "object": follow_json(row.follow_id, remote.uri, actor_uri),
    }

    async def settle() -> None:
        if accept:
            row.state = FollowState.ACCEPTED
            await Follower.filter(id=row.id).update(state=FollowState.ACCEPTED)
        else:
            await Follower.filter(id=row.id).delete()

    return await _answer_once(inst, local, answer, remote.inbox, settle)


async def reject_follow_request(inst: Instance, local: LocalActor, remote: RemoteActor, follow_id: str) -> bool:
    """Refuse a Follow we will never store (e.g. addressed to the instance actor); once per Follow id."""
    actor_uri = inst.uri_of(local)
    answer = {"@context": AS_CONTEXT, "id": answer_id(actor_uri, follow_id, accept=False), "type": "Reject",
              "actor": actor_uri, "object": follow_json(follow_id, remote.uri, actor_uri)}

    async def nothing() -> None:
        return None

    return await _answer_once(inst, local, answer, remote.inbox, nothing)
