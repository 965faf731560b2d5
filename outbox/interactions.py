"""Boost (Announce) and favourite (Like) of remote posts, and their Undo (always embedded)."""
from __future__ import annotations

from tortoise.transactions import in_transaction

from actors import follows
from actors.instance import Instance
from actors.models import LocalActor, RemoteActor
from content.as2 import PUBLIC
from content.models import Interaction, Post
from federation.vocab import AS_CONTEXT
from outbox.emit import emit, new_id
from outbox.lookup import fetch_post
from outbox.models import Activity
from outbox.statements import OutboxError


async def _author_inbox(post: Post) -> list[str]:
    author = await RemoteActor.filter(uri=post.author_uri).first()
    return [author.delivery_inbox] if author else []


async def boost(inst: Instance, local: LocalActor, uri: str) -> Interaction:
    post = await fetch_post(inst, uri)
    if not post.public:
        raise OutboxError("only public statements can be cross-posted")
    me = inst.uri_of(local)
    existing = await Interaction.filter(kind="announce", actor_uri=me, object_uri=post.ap_id).first()
    if existing:
        return existing
    aid = inst.urls.activity(new_id())
    activity = {"@context": AS_CONTEXT, "id": aid, "type": "Announce", "actor": me,
                "published": inst.now().strftime("%Y-%m-%dT%H:%M:%SZ"), "to": [PUBLIC],
                "cc": [inst.urls.followers(local.username), post.author_uri], "object": post.ap_id}
    inboxes = await follows.follower_inboxes(local) + await _author_inbox(post)
    async with in_transaction():
        row = await Interaction.create(kind="announce", activity_id=aid, actor_uri=me, object_uri=post.ap_id,
                                       local=True, created_at=inst.now())
        await emit(inst, local, activity, inboxes=inboxes, listed=True)
    inst.poke_delivery()
    return row


async def like(inst: Instance, local: LocalActor, uri: str) -> Interaction:
    post = await fetch_post(inst, uri)
    me = inst.uri_of(local)
    existing = await Interaction.filter(kind="like", actor_uri=me, object_uri=post.ap_id).first()
    if existing:
        return existing
    aid = inst.urls.activity(new_id())
    activity = {"@context": AS_CONTEXT, "id": aid, "type": "Like", "actor": me, "object": post.ap_id}
    async with in_transaction():
        row = await Interaction.create(kind="like", activity_id=aid, actor_uri=me, object_uri=post.ap_id,
                                       local=True, created_at=inst.now())
        await emit(inst, local, activity, inboxes=await _author_inbox(post))
    inst.poke_delivery()
    return row


async def undo(inst: Instance, local: LocalActor, kind: str, uri: str) -> bool:
    """Withdraw our boost or like of `uri`; the Undo embeds the original activity."""
    me = inst.uri_of(local)
    row = await Interaction.filter(kind=kind, actor_uri=me, object_uri=uri).first()
    if row is None:
        return False
    post = await Post.filter(ap_id=uri).first()
    original = {"id": row.activity_id, "type": "Announce" if kind == "announce" else "Like", "actor": me, "object": uri}
    activity = {"@context": AS_CONTEXT, "id": f"{row.activity_id}/undo", "type": "Undo", "actor": me, "object": original}
    inboxes = await _author_inbox(post) if post else []
    if kind == "announce":
        inboxes = await follows.follower_inboxes(local) + inboxes
        activity["to"], activity["cc"] = [PUBLIC], [inst.urls.followers(local.username)]
    async with in_transaction():
        await row.delete()
        # The withdrawn boost or like leaves the outbox and is no longer served at its id.
        await Activity.filter(ap_id=row.activity_id).update(listed=False, public=False)
        await emit(inst, local, activity, inboxes=inboxes)
    inst.poke_delivery()
    return True
