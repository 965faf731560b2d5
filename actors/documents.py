"""Actor documents and relationship collections, shaped as Mastodon requires (interop notes 2)."""
from __future__ import annotations

from actors.instance import Instance
from actors.models import Follower, Following, FollowState, LocalActor
from actors.profile import property_values
from federation.vocab import ACTOR_CONTEXT, AS_CONTEXT, iso_datetime, ordered_collection, ordered_page

PAGE_SIZE = 40
# FEP-8a8e: a union's upcoming meetings, linked from its actor document.
UNION_CONTEXT = [*ACTOR_CONTEXT[:-1], {**ACTOR_CONTEXT[-1], "fep8a8e": "https://w3id.org/fep/8a8e/",
                                       "upcomingEvents": {"@id": "fep8a8e:upcomingEvents", "@type": "@id"}}]


def actor_document(inst: Instance, actor: LocalActor) -> dict:
    urls = inst.urls
    if actor.kind == "instance":
        uri = urls.instance_actor
        # Mastodon's own instance actor carries only these fields, and is readable unsigned.
        return {
            "@context": ACTOR_CONTEXT,
            "id": uri,
            "type": "Application",
            "preferredUsername": actor.username,
            "inbox": urls.shared_inbox,
            "outbox": f"{uri}/outbox",
            "url": f"{urls.base}/",
            "manuallyApprovesFollowers": True,
            "endpoints": {"sharedInbox": urls.shared_inbox},
            "publicKey": {"id": urls.instance_key_id, "owner": uri, "publicKeyPem": actor.public_key_pem},
        }
    uri = urls.actor(actor.username)
    return {
        "@context": UNION_CONTEXT,
        "id": uri,
        "type": "Organization",
        "preferredUsername": actor.username,
        "name": actor.name,
        "summary": actor.summary,
        "url": urls.profile(actor.username),
        "inbox": urls.inbox(actor.username),
        "outbox": urls.outbox(actor.username),
        "followers": urls.followers(actor.username),
        "following": urls.following(actor.username),
        "upcomingEvents": urls.upcoming_events(actor.username),
        "endpoints": {"sharedInbox": urls.shared_inbox},
        # UNIONHALL_APPROVE_FOLLOWERS holds every follower whatever the union's own switch says,
        # and the document must say what the inbox will do.
        "manuallyApprovesFollowers": actor.manually_approves_followers or inst.approve_followers,
        "discoverable": True,
        "indexable": True,
        "memorial": False,
        "published": iso_datetime(actor.created_at),
        "publicKey": {"id": urls.key_id(actor.username), "owner": uri, "publicKeyPem": actor.public_key_pem},
        "attachment": property_values(actor.sector, actor.country, actor.links),
        "tag": [],
    }


async def relationship_collection(inst: Instance, actor: LocalActor, which: str, page: int | None) -> dict:
    """`which` is "followers" or "following"; accepted relationships only."""
    cid = inst.urls.followers(actor.username) if which == "followers" else inst.urls.following(actor.username)
    model = Follower if which == "followers" else Following
    query = model.filter(local=actor, state=FollowState.ACCEPTED)
    total = await query.count()
    if page is None:
        return ordered_collection(cid, total, first=f"{cid}?page=1")
    rows = await query.order_by("-id").offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE).prefetch_related("remote")
    items = [row.remote.uri for row in rows]
    more = page * PAGE_SIZE < total
    doc = ordered_page(f"{cid}?page={page}", cid, items,
                       next_=f"{cid}?page={page + 1}" if more else None,
                       prev=f"{cid}?page={page - 1}" if page > 1 else None)
    doc["totalItems"] = total
    return doc


__all__ = ["actor_document", "relationship_collection", "AS_CONTEXT"]
