"""Origin and ownership rules checked before an activity is stored (GoToSocial style:
each rule explicit). They need the database at most, never the network."""
from __future__ import annotations

from urllib.parse import urlsplit

from content.as2 import as_list, id_of
from content.models import Post
from federation.vocab import ACTOR_TYPES
from inbox.errors import Refused

OBJECT_TYPES = {"Note", "Article", "Page", "Event", "Question"}
_SCHEMES = ("https://", "http://")


def host(url: str) -> str:
    return urlsplit(url).netloc.lower()


def check_shape(activity: object) -> dict:
    if not isinstance(activity, dict):
        raise Refused(400, "the body must be a JSON object")
    for key in ("id", "type", "actor"):
        if key not in activity:
            raise Refused(400, f"the activity has no {key!r}")
    aid, actor = activity["id"], id_of(activity["actor"]) if not isinstance(activity["actor"], list) else None
    if not isinstance(aid, str) or not aid.startswith(_SCHEMES) or len(aid) > 2048:
        raise Refused(400, "the activity id must be an http(s) URL")
    if not isinstance(activity["type"], str):
        raise Refused(400, "the activity type must be a string")
    if not isinstance(actor, str) or not actor.startswith(_SCHEMES):
        raise Refused(400, "the actor must be one http(s) URL")
    if host(aid) != host(actor):
        raise Refused(403, "the activity id is not on the actor's host")
    return activity


def actor_uri(activity: dict) -> str:
    return id_of(activity["actor"])  # type: ignore[return-value]


async def check_ownership(activity: dict) -> None:
    """An actor may only create, update or delete its own objects, and undo its own activities."""
    kind, actor = activity["type"], actor_uri(activity)
    obj = activity.get("object")
    oid = id_of(obj)
    if kind in ("Create", "Update", "Delete", "Undo", "Announce", "Like", "Follow", "Accept", "Reject") and not oid:
        raise Refused(400, f"{kind} needs an object")
    if kind == "Create":
        if host(oid) != host(actor):
            raise Refused(403, "the object is not on the actor's host")
        if isinstance(obj, dict):
            authors = [id_of(a) for a in as_list(obj.get("attributedTo"))]
            if authors and actor not in authors:
                raise Refused(403, "the object is attributed to someone else")
        existing = await Post.filter(ap_id=oid).first()
        if existing and existing.author_uri != actor:
            raise Refused(403, "that object belongs to another actor")
    elif kind == "Update":
        types = set(as_list(obj.get("type"))) if isinstance(obj, dict) else set()
        if types & ACTOR_TYPES:
            if oid != actor:
                raise Refused(403, "an actor may only update itself")
        else:
            if host(oid) != host(actor):
                raise Refused(403, "the object is not on the actor's host")
            existing = await Post.filter(ap_id=oid).first()
            if existing and existing.author_uri != actor:
                raise Refused(403, "that object belongs to another actor")
            if isinstance(obj, dict):
                authors = [id_of(a) for a in as_list(obj.get("attributedTo"))]
                if authors and actor not in authors:
                    raise Refused(403, "the object is attributed to someone else")
    elif kind == "Undo" and isinstance(obj, dict):
        inner_actor = id_of(obj.get("actor"))
        if inner_actor is not None and inner_actor != actor:
            raise Refused(403, "an actor may only undo its own activities")
