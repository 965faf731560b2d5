"""Fetch a remote post from its origin and store it, never trusting a copy from elsewhere."""
from __future__ import annotations

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


async def store_remote_post(inst: Instance, doc: dict) -> Post:
    """Store (or refresh) a remote object already known to come from its origin."""
    try:
        parsed = parse_object(doc, now=inst.now())
    except InvalidObject as exc:
        raise LookupError_(f"unusable object: {exc.reason}") from exc
    if _host(parsed.author_uri) != _host(parsed.ap_id):
        raise LookupError_("object is attributed to an actor on another host")
    fields = {k: v for k, v in vars(parsed).items() if k != "ap_id"}
    fields["extra"] = {**parsed.extra, "languages": list(parsed.content_map)}
    existing = await Post.filter(ap_id=parsed.ap_id).first()
    if existing:
        if existing.author_uri != parsed.author_uri:
            raise LookupError_("authorship change is not supported")
        # Deliveries arrive out of order (a Create retried longer than the Update after it):
        # only a strictly newer version replaces what we have.
        have = existing.updated or existing.published
        incoming = parsed.updated or parsed.published
        if have is not None and incoming <= have:
            return existing
        await existing.update_from_dict(fields).save()
        await library.index_remote(existing, inst.now())
        await sync_remote_meeting(existing)  # a peer's Event: its Meeting row follows, SEQUENCE + 1
        return existing
    post = await Post.create(ap_id=parsed.ap_id, local=False, **fields)
    await library.index_remote(post, inst.now())
    await sync_remote_meeting(post)
    return post


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
