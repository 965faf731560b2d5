"""ActivityStreams vocabulary shared by every document we serve."""
from __future__ import annotations

from datetime import datetime, timezone

AS_CONTEXT = "https://www.w3.org/ns/activitystreams"
SECURITY_CONTEXT = "https://w3id.org/security/v1"
PUBLIC = "https://www.w3.org/ns/activitystreams#Public"
AP_CONTENT_TYPE = "application/activity+json"

ACTOR_TYPES = frozenset({"Person", "Service", "Application", "Group", "Organization"})

# Terms Mastodon expects in compact form on actor documents (interop notes 2.2).
ACTOR_CONTEXT = [
    AS_CONTEXT,
    SECURITY_CONTEXT,
    {
        "manuallyApprovesFollowers": "as:manuallyApprovesFollowers",
        "toot": "http://joinmastodon.org/ns#",
        "featured": {"@id": "toot:featured", "@type": "@id"},
        "alsoKnownAs": {"@id": "as:alsoKnownAs", "@type": "@id"},
        "movedTo": {"@id": "as:movedTo", "@type": "@id"},
        "schema": "http://schema.org#",
        "PropertyValue": "schema:PropertyValue",
        "value": "schema:value",
        "discoverable": "toot:discoverable",
        "indexable": "toot:indexable",
        "memorial": "toot:memorial",
        "suspended": "toot:suspended",
        "Hashtag": "as:Hashtag",
        "Emoji": "toot:Emoji",
    },
]


def iso_datetime(moment: datetime) -> str:
    """Mastodon's own form: UTC, whole seconds, "Z". A naive datetime is taken as UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def ordered_collection(cid: str, total: int, *, first: str | None, last: str | None = None) -> dict:
    doc = {"@context": AS_CONTEXT, "id": cid, "type": "OrderedCollection", "totalItems": total}
    if first:
        doc["first"] = first
    if last:
        doc["last"] = last
    return doc


def ordered_page(pid: str, part_of: str, items: list, *, next_: str | None, prev: str | None) -> dict:
    doc = {"@context": AS_CONTEXT, "id": pid, "type": "OrderedCollectionPage", "partOf": part_of,
           "orderedItems": items}
    if next_:
        doc["next"] = next_
    if prev:
        doc["prev"] = prev
    return doc
