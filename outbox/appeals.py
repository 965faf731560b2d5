"""Moderating the declarations on our appeals. Hiding one is our own decision, told to no one:
the peer keeps its post, but it leaves our public page and the appeal's `replies` collection."""
from __future__ import annotations

from actors.instance import Instance
from actors.models import LocalActor
from content import appeals
from content.models import Post
from outbox.statements import OutboxError


async def set_hidden(inst: Instance, local: LocalActor, post: Post, hidden: bool) -> Post:
    """Hide or show `post`, which must be another instance's reply to one of `local`'s appeals."""
    appeal = await Post.filter(ap_id=post.in_reply_to, local=True, author_uri=inst.uri_of(local)).first() \
        if post.in_reply_to else None
    if post.local or appeal is None or not appeals.is_appeal(appeal):
        raise OutboxError("that is not a declaration on one of our appeals")
    if post.hidden != hidden:
        post.hidden = hidden
        await post.save(update_fields=["hidden"])
    return post
