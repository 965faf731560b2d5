"""Out-of-order deliveries never roll a remote post back to an older version."""
from __future__ import annotations

from actors.instance import Instance
from actors.urls import Urls
from content.models import Post
from federation.clock import FrozenClock
from federation.http import AddressPolicy, SafeClient
from outbox.lookup import LookupError_, store_remote_post

NOTE = {
    "id": "https://peer.example/users/rosa/statuses/1", "type": "Note",
    "attributedTo": "https://peer.example/users/rosa", "to": ["https://www.w3.org/ns/activitystreams#Public"],
    "content": "<p>original</p>", "published": "2026-09-20T10:00:00Z",
}


def instance() -> Instance:
    return Instance(urls=Urls("https://ours.example"), client=SafeClient(policy=AddressPolicy(), user_agent="t"),
                    clock=FrozenClock())


async def test_a_late_create_does_not_undo_an_edit(db):
    inst = instance()
    edited = {**NOTE, "content": "<p>edited</p>", "updated": "2026-09-20T12:00:00Z"}
    await store_remote_post(inst, edited)       # the Update arrived first (stored as a Create would be)
    await store_remote_post(inst, NOTE)         # the original Create, retried longer, arrives later
    post = await Post.get(ap_id=NOTE["id"])
    assert post.content == "<p>edited</p>" and post.updated is not None
    newer = {**NOTE, "content": "<p>edited again</p>", "updated": "2026-09-20T13:00:00Z"}
    await store_remote_post(inst, newer)
    assert (await Post.get(ap_id=NOTE["id"])).content == "<p>edited again</p>"
    await inst.client.aclose()


async def test_authorship_cannot_change_and_foreign_attribution_is_refused(db):
    inst = instance()
    await store_remote_post(inst, NOTE)
    for doc in ({**NOTE, "attributedTo": "https://peer.example/users/mallory", "updated": "2026-09-21T00:00:00Z"},
                {**NOTE, "id": "https://peer.example/users/rosa/statuses/2",
                 "attributedTo": "https://elsewhere.example/users/rosa"}):
        try:
            await store_remote_post(inst, doc)
        except LookupError_:
            pass
        else:
            raise AssertionError(f"accepted {doc}")
    assert (await Post.get(ap_id=NOTE["id"])).author_uri == NOTE["attributedTo"]
    assert await Post.all().count() == 1
    await inst.client.aclose()
