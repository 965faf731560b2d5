"""Follow handshake, both directions (interop notes 4.1)."""
from __future__ import annotations

from tortoise.transactions import in_transaction

from actors import follows
from actors.instance import Instance
from actors.models import Follower, FollowState, LocalActor, RemoteActor
from federation.vocab import AS_CONTEXT
from outbox.emit import emit, emit_now, new_id


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


async def answer_follow(inst: Instance, row: Follower, *, accept: bool) -> None:
    """Accept or Reject a remote Follow, embedding their Follow verbatim by id (Mastodon matches on it)."""
    local, remote = row.local, row.remote
    answer = {
        "@context": AS_CONTEXT,
        "id": f"{inst.uri_of(local)}#{'accepts' if accept else 'rejects'}/follows/{new_id()}",
        "type": "Accept" if accept else "Reject",
        "actor": inst.uri_of(local),
        "object": follow_json(row.follow_id, remote.uri, inst.uri_of(local)),
    }
    async with in_transaction():
        if accept:
            row.state = FollowState.ACCEPTED
            await row.save(update_fields=["state"])
        else:
            await row.delete()
        await emit(inst, local, answer, inboxes=[remote.inbox])
    inst.poke_delivery()


async def reject_follow_request(inst: Instance, local: LocalActor, remote: RemoteActor, follow_id: str) -> None:
    """Refuse a Follow we will never store (e.g. addressed to the instance actor)."""
    answer = {"@context": AS_CONTEXT, "id": f"{inst.uri_of(local)}#rejects/follows/{new_id()}", "type": "Reject",
              "actor": inst.uri_of(local), "object": follow_json(follow_id, remote.uri, inst.uri_of(local))}
    await emit_now(inst, local, answer, inboxes=[remote.inbox])
