"""Origin and ownership rules checked before an activity is stored (GoToSocial style:
each rule explicit). They need the database at most, never the network."""
from __future__ import annotations

from content.as2 import as_list, attributed_to, id_of
from content.models import Post
from federation.hosts import host_or_empty as host
from federation.vocab import ACTOR_TYPES
from inbox.errors import Refused

_SCHEMES = ("https://", "http://")


def _usable(url: object) -> bool:
    return isinstance(url, str) and url.startswith(_SCHEMES) and len(url) <= 2048 and bool(host(url))


def check_shape(activity: object) -> dict:
    if not isinstance(activity, dict):
        raise Refused(400, "the body must be a JSON object")
    for key in ("id", "type", "actor"):
        if key not in activity:
            raise Refused(400, f"the activity has no {key!r}")
    aid, actor = activity["id"], id_of(activity["actor"]) if not isinstance(activity["actor"], list) else None
    if not _usable(aid):
        raise Refused(400, "the activity id must be an http(s) URL")
    if not isinstance(activity["type"], str):
        raise Refused(400, "the activity type must be a string")
    if not _usable(actor):
        raise Refused(400, "the actor must be one http(s) URL")
    if host(aid) != host(actor):
        raise Refused(403, "the activity id is not on the actor's host")
    obj = id_of(activity.get("object"))
    if obj is not None and not _usable(obj):
        raise Refused(400, "the object id must be an http(s) URL")
    return activity


def actor_uri(activity: dict) -> str:
    return id_of(activity["actor"])  # type: ignore[return-value]


def _claims_other_author(obj: object, actor: str) -> bool:
    """The embedded object names an author, and it is not the actor."""
    if not isinstance(obj, dict) or obj.get("attributedTo") is None:
        return False
    return attributed_to(obj) != actor


async def _owned_by_other(oid: str, actor: str) -> bool:
    existing = await Post.filter(ap_id=oid).first()
    return existing is not None and existing.author_uri != actor


async def check_ownership(activity: dict) -> None:
    """An actor may only create or update its own objects, and undo its own activities.
    (A Delete of someone else's object is answered 202 and ignored, as Mastodon does.)"""
    kind, actor = activity["type"], actor_uri(activity)
    obj = activity.get("object")
    oid = id_of(obj)
    if kind in ("Create", "Update", "Delete", "Undo", "Announce", "Like", "Follow", "Accept", "Reject") and not oid:
        raise Refused(400, f"{kind} needs an object")
    if kind == "Create":
        if host(oid) != host(actor):
            raise Refused(403, "the object is not on the actor's host")
        if _claims_other_author(obj, actor):
            raise Refused(403, "the object is attributed to someone else")
        if await _owned_by_other(oid, actor):
            raise Refused(403, "that object belongs to another actor")
    elif kind == "Update":
        types = set(as_list(obj.get("type"))) if isinstance(obj, dict) else set()
        if types & ACTOR_TYPES:
            if oid != actor:
                raise Refused(403, "an actor may only update itself")
        elif host(oid) != host(actor) or await _owned_by_other(oid, actor):
            raise Refused(403, "that object belongs to another actor")
        elif _claims_other_author(obj, actor):
            raise Refused(403, "the object is attributed to someone else")
    elif kind == "Undo":
        if not isinstance(obj, dict):
            return  # by reference: the handler matches it against this actor's own activities
        if id_of(obj.get("actor")) != actor:
            raise Refused(403, "an actor may only undo its own activities")
