"""Announce and Like (and their Undo) by remote actors."""
from __future__ import annotations

from actors.instance import Instance
from actors.models import Following, FollowState, RemoteActor
from content.as2 import id_of
from content import notify
from content.models import Interaction, Notification, Post
from inbox.errors import Retry
from inbox.handlers import Ignored
from outbox.lookup import LookupError_, fetch_post


async def on_announce(inst: Instance, activity: dict, signer: RemoteActor) -> str:
    uri = id_of(activity.get("object"))
    if not isinstance(uri, str):
        raise Ignored("Announce of nothing")
    ours = inst.urls.is_local(uri)
    if not ours and not await Following.filter(remote=signer, state=FollowState.ACCEPTED).exists():
        raise Ignored("boost by someone nobody here follows")
    if ours:
        if not await Post.filter(ap_id=uri, local=True).exists():
            raise Ignored("boost of a statement we do not have")
    else:
        # Never trust an embedded copy: the original is fetched from its origin.
        try:
            await fetch_post(inst, uri)
        except LookupError_ as exc:
            if exc.temporary:
                raise Retry(exc.reason) from exc
            raise Ignored(exc.reason) from exc
    _, created = await Interaction.get_or_create(
        activity_id=activity["id"],
        defaults={"kind": "announce", "actor_uri": signer.uri, "object_uri": uri, "created_at": inst.now()},
    )
    if ours:
        await notify.record("reblog", actor_uri=signer.uri, object_uri=uri, activity_id=activity["id"],
                            now=inst.now())
    return f"boost of {uri} recorded" if created else "boost already recorded"


async def on_like(inst: Instance, activity: dict, signer: RemoteActor) -> str:
    uri = id_of(activity.get("object"))
    if not isinstance(uri, str) or not await Post.filter(ap_id=uri, local=True).exists():
        raise Ignored("Like of something that is not ours")
    _, created = await Interaction.get_or_create(
        activity_id=activity["id"],
        defaults={"kind": "like", "actor_uri": signer.uri, "object_uri": uri, "created_at": inst.now()},
    )
    await notify.record("favourite", actor_uri=signer.uri, object_uri=uri, activity_id=activity["id"],
                        now=inst.now())
    return "like recorded" if created else "like already recorded"


async def on_undo_interaction(inst: Instance, activity: dict, signer: RemoteActor) -> str:
    inner = activity["object"]
    kind = "announce" if inner.get("type") == "Announce" else "like"
    query = Interaction.filter(kind=kind, actor_uri=signer.uri)
    removed = await query.filter(activity_id=inner.get("id")).delete()
    if not removed and id_of(inner.get("object")):
        removed = await query.filter(object_uri=id_of(inner.get("object"))).delete()
    if not removed:
        raise Ignored(f"Undo of a {inner.get('type')} we do not have")
    await Notification.filter(activity_id=inner.get("id"), actor_uri=signer.uri).delete()
    return f"{inner.get('type')} withdrawn"
