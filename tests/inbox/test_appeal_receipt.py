"""A peer's appeal arriving in a Create: the flag is read in the activity's @context and kept in
`extra`, never in our own appeal columns."""
from __future__ import annotations

import pytest

from actors.instance import Instance
from actors.local import create_actor
from actors.models import Following, FollowState, RemoteActor
from actors.urls import Urls
from content.appeals import CONTEXT_TERMS
from content.models import Post
from federation.clock import FrozenClock
from federation.http import AddressPolicy, SafeClient
from inbox.handlers import posts

BASE = "https://ours.example"
PUBLIC = "https://www.w3.org/ns/activitystreams#Public"
CONTEXT = ["https://www.w3.org/ns/activitystreams", CONTEXT_TERMS]


@pytest.fixture
async def setup(db):
    inst = Instance(urls=Urls(BASE), client=SafeClient(policy=AddressPolicy(), user_agent="t"), clock=FrozenClock())
    union = await create_actor(username="rail", kind="union", name="Rail", now=inst.now())
    peer = await RemoteActor.create(uri="https://peer.example/actors/dock", domain="peer.example", username="dock",
                                    type="Organization", inbox="https://peer.example/inbox", fetched_at=inst.now())
    await Following.create(local=union, remote=peer, follow_id=f"{BASE}/follows/1", state=FollowState.ACCEPTED,
                           created_at=inst.now())
    try:
        yield inst, peer
    finally:
        await inst.client.aclose()


def create(n: int, context, **fields) -> dict:
    note = {"id": f"https://peer.example/notes/{n}", "type": "Note", "attributedTo": "https://peer.example/actors/dock",
            "to": [PUBLIC], "content": "<p>Declarations please</p>", "published": "2026-09-23T08:00:00Z", **fields}
    return {"@context": context, "id": f"https://peer.example/notes/{n}/activity", "type": "Create",
            "actor": "https://peer.example/actors/dock", "object": note}


async def test_embedded_appeal_is_read_in_the_activity_context(setup):
    inst, peer = setup
    await posts.on_create(inst, create(1, CONTEXT, appeal=True, appealUntil="2026-10-31T23:59:59Z"), peer)
    stored = await Post.get(ap_id="https://peer.example/notes/1")
    assert stored.extra["appeal"] is True and stored.extra["appeal_until"] == "2026-10-31T23:59:59Z"
    assert stored.appeal is False and stored.appeal_until is None, "our columns are our admin's only"


async def test_appeal_without_our_namespace_or_not_a_boolean_is_ignored(setup):
    inst, peer = setup
    await posts.on_create(inst, create(2, "https://www.w3.org/ns/activitystreams", appeal=True), peer)
    await posts.on_create(inst, create(3, CONTEXT, appeal="yes"), peer)
    for n in (2, 3):
        stored = await Post.get(ap_id=f"https://peer.example/notes/{n}")
        assert "appeal" not in stored.extra and not stored.appeal
