"""Fetch a remote post from its origin and store it, never trusting a copy from elsewhere."""
from __future__ import annotations

import hashlib
import json

from actors.blocks import is_blocked
from actors.instance import Instance
from actors.remote import ActorFetchError, fetch_actor
from content import library
from content.as2 import InvalidObject, parse_object
from content.models import Post, Tombstone
from content.remote_meetings import sync_remote_meeting
from federation.addresses import FetchError
from federation.hosts import host_or_empty as _host
from federation.http import is_temporary


class LookupError_(Exception):
    def __init__(self, reason: str, *, temporary: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.temporary = temporary


VIAS = ("create", "update", "fetch")


def fingerprint(fields: dict) -> str:
    """What a version of a post says, without its timestamps: two deliveries of the same version
    (or a version whose sender gives no `updated`, like Gancio's) compare equal."""
    said = {k: v for k, v in fields.items() if k not in ("published", "updated", "extra")}
    said["extra"] = {k: v for k, v in (fields.get("extra") or {}).items() if k != "fingerprint"}
    return hashlib.sha256(json.dumps(said, sort_keys=True, default=str).encode()).hexdigest()


async def store_remote_post(inst: Instance, doc: dict, *, via: str = "fetch") -> Post:
    """Store (or refresh) a remote object already known to come from its origin."""
    post, _ = await save_remote_post(inst, doc, via=via)
    return post


async def save_remote_post(inst: Instance, doc: dict, *, via: str = "fetch") -> tuple[Post, bool]:
    """Store (or refresh) a remote object already known to come from its origin; the post and
    whether anything was stored. `via` is how it came: a Create, an Update, or our own fetch.

    Deliveries arrive out of order (a Create retried longer than the Update after it), and many
    senders give no `updated` (Gancio, Friendica on events): with `updated`, only a strictly newer
    version replaces ours; without it, a Create or a fetch never replaces what we have, and an
    Update replaces it only when what it says differs (its fingerprint). We never invent an
    `updated`: the sender did not say when."""
    if via not in VIAS:
        raise ValueError(f"via must be one of {VIAS}")
    try:
        parsed = parse_object(doc, now=inst.now())
    except InvalidObject as exc:
        raise LookupError_(f"unusable object: {exc.reason}") from exc
    if _host(parsed.author_uri) != _host(parsed.ap_id):
        raise LookupError_("object is attributed to an actor on another host")
    fields = {k: v for k, v in vars(parsed).items() if k != "ap_id"}
    fields["extra"] = {**parsed.extra, "languages": list(parsed.content_map)}
    print_ = fingerprint(fields)
    fields["extra"]["fingerprint"] = print_
    existing = await Post.filter(ap_id=parsed.ap_id).first()
    if existing is None:
        post = await Post.create(ap_id=parsed.ap_id, local=False, **fields)
        if post.attachments:
            await library.index_remote(post, inst.now(), replace=False)
        await sync_remote_meeting(post)
        return post, True
    if existing.author_uri != parsed.author_uri:
        raise LookupError_("authorship change is not supported")
    changed = (existing.extra or {}).get("fingerprint") != print_
    if parsed.updated is not None:
        have = existing.updated or existing.published
        if have is not None and parsed.updated <= have:
            return existing, False
    elif via != "update" or not changed:
        return existing, False
    else:
        # No `updated`: keep the date we had rather than pretend we know when it changed.
        fields["updated"] = existing.updated
    if doc.get("published") is None:
        fields["published"] = existing.published  # parse_object's "now" is not the sender's date
    await existing.update_from_dict(fields).save()
    await library.index_remote(existing, inst.now())
    # A peer's Event: its Meeting row follows, SEQUENCE + 1 when what it says changed.
    await sync_remote_meeting(existing, changed=changed)
    return existing, True


async def fetch_post(inst: Instance, uri: str) -> Post:
    post = await Post.filter(ap_id=uri).first()
    if post:
        return post
    if inst.urls.is_local(uri):
        raise LookupError_("no such statement here")
    if await Tombstone.filter(ap_id=uri).exists():
        raise LookupError_("that object was deleted")
    if await is_blocked(_host(uri)):
        raise LookupError_(f"{_host(uri)} is blocked")
    try:
        doc = await inst.client.get_ap(uri, sign_with=await inst.instance_key())
    except FetchError as exc:
        raise LookupError_(f"could not fetch {uri}: {exc.reason}", temporary=is_temporary(exc)) from exc
    post = await store_remote_post(inst, doc)
    try:
        await fetch_actor(inst, post.author_uri)
    except ActorFetchError:
        pass  # the post stands on its own; the author's profile can be fetched later
    return post
