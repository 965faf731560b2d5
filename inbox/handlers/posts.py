"""Create, Update and Delete of Notes, Articles, Pages, Events and Questions."""
from __future__ import annotations

from actors.instance import Instance
from actors.follows import is_followed_by_local
from actors.models import Following, FollowState, RemoteActor
from content.as2 import SUPPORTED_TYPES, as_list, attributed_to, id_of
from content import library, notify
from content.models import Interaction, Post, Tombstone
from federation.addresses import FetchError
from federation.hosts import same_origin_host
from federation.http import is_temporary
from inbox.handlers import Ignored
from inbox.errors import Retry
from outbox.lookup import LookupError_, save_remote_post, store_remote_post


async def _object_doc(inst: Instance, activity: dict, signer: RemoteActor) -> dict:
    obj = activity.get("object")
    if isinstance(obj, dict):
        # An embedded object is read in its activity's @context (JSON-LD): extensions such as
        # our appeal are recognised by the namespace the sender declared there.
        if "@context" not in obj and "@context" in activity:
            return {"@context": activity["@context"], **obj}
        return obj
    # A bare URI: dereference it from its origin (same host as the actor, checked earlier).
    try:
        return await inst.client.get_ap(obj, sign_with=await inst.instance_key())
    except FetchError as exc:
        if is_temporary(exc):
            raise Retry(exc.reason) from exc
        raise Ignored(f"could not fetch the object: {exc.reason}") from exc


async def _is_relevant(inst: Instance, doc: dict, actor_uri: str) -> bool:
    """Mastodon's related_to_local_activity?: store only what someone here asked for."""
    if await is_followed_by_local(actor_uri):
        return True
    reply_to = id_of(doc.get("inReplyTo"))
    if reply_to and inst.urls.is_local(reply_to):
        return True
    addressed = [id_of(x) for key in ("to", "cc") for x in as_list(doc.get(key))[:500]]
    mentioned = [id_of(t.get("href")) for t in as_list(doc.get("tag"))[:50] if isinstance(t, dict)]
    return any(inst.urls.is_local(u) for u in addressed + mentioned if isinstance(u, str))


async def on_create(inst: Instance, activity: dict, signer: RemoteActor) -> str:
    doc = await _object_doc(inst, activity, signer)
    types = set(as_list(doc.get("type")))
    if not types & SUPPORTED_TYPES:
        raise Ignored(f"unsupported object type {doc.get('type')!r}")
    oid = doc.get("id")
    if not isinstance(oid, str) or not same_origin_host(oid, signer.uri):
        raise Ignored("object is not on the actor's host")
    if await Tombstone.filter(ap_id=oid).exists():
        raise Ignored("that object was deleted")
    if not await _is_relevant(inst, doc, signer.uri):
        raise Ignored("nobody here follows the author and it addresses no one here")
    if attributed_to(doc) != signer.uri:
        raise Ignored("object is attributed to someone else")
    try:
        post = await store_remote_post(inst, doc, via="create")
    except LookupError_ as exc:
        raise Ignored(exc.reason) from exc
    await _notify_addressed(inst, post, activity["id"])
    await _notify_subscribed(inst, post, activity["id"])
    return f"stored {post.type} {post.ap_id}"


async def _notify_addressed(inst: Instance, post, activity_id: str) -> None:
    """A reply to one of our statements, or a post that mentions us, reaches the admin."""
    if post.in_reply_to and inst.urls.is_local(post.in_reply_to):
        kind = "reply"
    elif any(t.get("type") == "Mention" and inst.urls.is_local(t.get("href")) for t in post.tags):
        kind = "mention"
    else:
        return
    await notify.record(kind, actor_uri=post.author_uri, object_uri=post.ap_id, activity_id=activity_id,
                        now=inst.now())


async def _notify_subscribed(inst: Instance, post: Post, activity_id: str) -> None:
    """We follow the author with the bell on: a new post of theirs is a "status" notification, as in
    Mastodon, which leaves out replies to others. One notification per activity: a reply to us stays
    a reply."""
    if post.in_reply_to:
        parent = await Post.filter(ap_id=post.in_reply_to).first()
        if parent is None or parent.author_uri != post.author_uri:
            return
    if await Following.filter(remote__uri=post.author_uri, state=FollowState.ACCEPTED, notify=True).exists():
        await notify.record("status", actor_uri=post.author_uri, object_uri=post.ap_id, activity_id=activity_id,
                            now=inst.now())


async def on_update_object(inst: Instance, activity: dict, signer: RemoteActor) -> str:
    doc = await _object_doc(inst, activity, signer)
    oid = doc.get("id")
    existing = await Post.filter(ap_id=oid).first() if isinstance(oid, str) else None
    if existing is None:
        # An Update for a post we never saw is processed like a Create (Mastodon does, for new ones).
        return await on_create(inst, {**activity, "object": doc}, signer)
    if existing.author_uri != signer.uri:
        raise Ignored("that object belongs to another actor")
    try:
        _, stored = await save_remote_post(inst, doc, via="update")
    except LookupError_ as exc:
        raise Ignored(exc.reason) from exc
    if not stored:  # older than what we have, or (no `updated`) the same content again
        raise Ignored(f"not newer than what we have, or unchanged: {oid}")
    await _notify_edited(inst, existing, activity["id"])
    return f"updated {oid}"


async def _notify_edited(inst: Instance, post: Post, activity_id: str) -> None:
    """A post we boosted or liked was edited: Mastodon tells its users ("update"), so staff on a
    Mastodon app learn that what they cross-posted now says something else."""
    if await Interaction.filter(object_uri=post.ap_id, local=True).exists():
        await notify.record("update", actor_uri=post.author_uri, object_uri=post.ap_id, activity_id=activity_id,
                            now=inst.now())


async def on_delete_object(inst: Instance, activity: dict, signer: RemoteActor) -> str:
    oid = id_of(activity.get("object"))
    post = await Post.filter(ap_id=oid).first()
    if post is not None and post.author_uri != signer.uri:
        raise Ignored("Delete of someone else's object")
    if not same_origin_host(oid, signer.uri):
        raise Ignored("Delete of an object on another host")
    # A Delete may arrive before its Create: the tombstone refuses the late Create.
    await Tombstone.update_or_create(ap_id=oid, defaults={"author_uri": signer.uri, "deleted_at": inst.now()})
    if post is not None:
        await library.forget_remote([post.id])
        await post.delete()
        return f"deleted {oid}"
    return f"tombstoned {oid}"
