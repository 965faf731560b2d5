"""Follow, Accept, Reject and Undo(Follow)."""
from __future__ import annotations

from actors import follows
from actors.instance import Instance
from actors.models import Follower, FollowState, LocalActor, RemoteActor
from content import notify
from content.as2 import id_of
from inbox.handlers import Ignored
from outbox.follows import answer_follow, reject_follow_request


async def _local_target(inst: Instance, uri: str | None) -> LocalActor | None:
    if not uri or not inst.urls.is_local(uri):
        return None
    if uri == inst.urls.instance_actor:
        return await LocalActor.filter(kind="instance").first()
    username = uri.removeprefix(inst.urls.base + "/actors/")
    return await LocalActor.filter(username=username, kind="union").first()


async def on_follow(inst: Instance, activity: dict, signer: RemoteActor) -> str:
    target = await _local_target(inst, id_of(activity.get("object")))
    if target is None:
        raise Ignored("Follow of an actor that is not ours")
    if target.kind == "instance":
        # Mastodon refuses follows of its instance actor; so do we, politely.
        await reject_follow_request(inst, target, signer, activity["id"])
        return "rejected: the instance actor cannot be followed"
    manual = target.manually_approves_followers or inst.approve_followers
    row = await follows.upsert_follower(target, signer, activity["id"], state=FollowState.PENDING, now=inst.now())
    if row.state == FollowState.ACCEPTED or not manual:
        row.local, row.remote = target, signer
        await answer_follow(inst, row, accept=True)
        await notify.record("follow", actor_uri=signer.uri, activity_id=activity["id"], now=inst.now())
        return "follower accepted"
    await notify.record("follow_request", actor_uri=signer.uri, activity_id=activity["id"], now=inst.now())
    return "follow request awaiting approval"


async def on_accept_or_reject(inst: Instance, activity: dict, signer: RemoteActor) -> str:
    obj = activity.get("object")
    accepted = activity["type"] == "Accept"
    if isinstance(obj, dict) and obj.get("type") not in (None, "Follow"):
        raise Ignored(f"{activity['type']} of a {obj.get('type')} is not handled here")
    # An embedded Follow names our actor: the fallback when its id is not the one we sent.
    ours = await _local_target(inst, id_of(obj.get("actor"))) if isinstance(obj, dict) else None
    row = await follows.settle_following(signer, accepted=accepted, follow_id=id_of(obj), local=ours)
    if row is None:
        if not accepted:
            # Mastodon also uses Reject to remove an existing follower of theirs: nothing of ours to do.
            raise Ignored("Reject of no Follow of ours")
        raise Ignored("Accept of no Follow of ours (or not from its followee)")
    return "following accepted" if accepted else "follow rejected"


async def on_undo_follow(inst: Instance, activity: dict, signer: RemoteActor) -> str:
    inner = activity["object"]
    target_uri = id_of(inner.get("object")) if isinstance(inner, dict) else None
    target = await _local_target(inst, target_uri)
    if target is not None:
        removed = await follows.remove_follower(target, signer)
    else:
        removed = await Follower.filter(remote=signer, follow_id=id_of(inner)).delete() > 0
    if not removed:
        raise Ignored("Undo of a Follow we do not have")
    return "follower removed"
