"""The admin hears of followers, requests, replies, mentions, boosts and likes — once each."""
from __future__ import annotations

import pytest

from actors.instance import Instance
from actors.local import create_actor
from actors.models import RemoteActor
from actors.urls import Urls
from content.models import Notification, Post
from federation.clock import FrozenClock
from federation.http import AddressPolicy, SafeClient
from inbox.handlers import follows, interactions, posts

BASE = "https://ours.example"
UNION = f"{BASE}/actors/rail"
STATEMENT = f"{BASE}/statements/1"
PUBLIC = "https://www.w3.org/ns/activitystreams#Public"


@pytest.fixture
async def setup(db):
    inst = Instance(urls=Urls(BASE), client=SafeClient(policy=AddressPolicy(), user_agent="t"), clock=FrozenClock())
    await create_actor(username="rail", kind="union", name="Rail", now=inst.now())
    bob = await RemoteActor.create(uri="https://peer.example/users/bob", domain="peer.example", username="bob",
                                   inbox="https://peer.example/users/bob/inbox", fetched_at=inst.now())
    await Post.create(ap_id=STATEMENT, local=True, author_uri=UNION, content="<p>Appeal</p>", published=inst.now())
    try:
        yield inst, bob
    finally:
        await inst.client.aclose()


def note(n: int, **extra) -> dict:
    return {"id": f"https://peer.example/users/bob/statuses/{n}", "type": "Note",
            "attributedTo": "https://peer.example/users/bob", "to": [PUBLIC], "content": "<p>hi</p>",
            "published": "2026-09-23T08:00:00Z", **extra}


async def kinds() -> list[str]:
    return [n.kind for n in await Notification.all().order_by("id")]


async def test_each_kind_once_and_undo_removes_it(setup):
    inst, bob = setup
    follow = {"id": "https://peer.example/f/1", "type": "Follow", "actor": bob.uri, "object": UNION}
    await follows.on_follow(inst, follow, bob)
    await follows.on_follow(inst, follow, bob)  # the same activity again: still one notification
    reply = note(1, inReplyTo=STATEMENT)
    await posts.on_create(inst, {"id": "https://peer.example/c/1", "type": "Create", "actor": bob.uri,
                                 "object": reply}, bob)
    mention = note(2, cc=[UNION], tag=[{"type": "Mention", "href": UNION, "name": "@rail@ours.example"}])
    await posts.on_create(inst, {"id": "https://peer.example/c/2", "type": "Create", "actor": bob.uri,
                                 "object": mention}, bob)
    boost = {"id": "https://peer.example/a/1", "type": "Announce", "actor": bob.uri, "object": STATEMENT}
    like = {"id": "https://peer.example/l/1", "type": "Like", "actor": bob.uri, "object": STATEMENT}
    await interactions.on_announce(inst, boost, bob)
    await interactions.on_like(inst, like, bob)
    assert await kinds() == ["follow", "reply", "mention", "reblog", "favourite"]
    reply_row = await Notification.get(kind="reply")
    assert reply_row.object_uri == reply["id"] and reply_row.actor_uri == bob.uri and not reply_row.read

    await interactions.on_undo_interaction(inst, {"id": "https://peer.example/u/1", "type": "Undo",
                                                  "actor": bob.uri, "object": like}, bob)
    assert await kinds() == ["follow", "reply", "mention", "reblog"]


async def test_a_follow_held_for_approval_is_a_follow_request(setup):
    inst, bob = setup
    inst.approve_followers = True
    await follows.on_follow(inst, {"id": "https://peer.example/f/2", "type": "Follow", "actor": bob.uri,
                                   "object": UNION}, bob)
    assert await kinds() == ["follow_request"]


async def test_an_unrelated_post_from_a_followed_account_notifies_nobody(setup):
    inst, bob = setup
    from actors.models import Following, LocalActor

    union = await LocalActor.get(username="rail")
    await Following.create(local=union, remote=bob, follow_id=f"{UNION}#f", state="accepted", created_at=inst.now())
    await posts.on_create(inst, {"id": "https://peer.example/c/3", "type": "Create", "actor": bob.uri,
                                 "object": note(3)}, bob)
    assert await Post.filter(ap_id=note(3)["id"]).exists()
    assert await kinds() == []


async def test_an_edit_of_a_post_we_boosted_is_an_update_notification_and_others_are_not(setup):
    from content.models import Interaction

    inst, bob = setup
    union_uri = UNION
    shared, other = note(5, cc=[UNION]), note(6, cc=[UNION])
    for n, doc in ((5, shared), (6, other)):
        await posts.on_create(inst, {"id": f"https://peer.example/c/{n}", "type": "Create", "actor": bob.uri,
                                     "object": doc}, bob)
    await Interaction.create(kind="announce", activity_id=f"{BASE}/activities/b1", actor_uri=union_uri,
                             object_uri=shared["id"], local=True, created_at=inst.now())
    await Notification.all().delete()
    for n, doc in ((5, shared), (6, other)):
        edited = {**doc, "content": "<p>edited</p>", "updated": "2026-09-23T09:00:00Z"}
        await posts.on_update_object(inst, {"id": f"https://peer.example/u/{n}", "type": "Update", "actor": bob.uri,
                                            "object": edited}, bob)
    rows = await Notification.all()
    assert [(r.kind, r.object_uri, r.actor_uri) for r in rows] == [("update", shared["id"], bob.uri)]


async def test_with_the_bell_on_a_followed_accounts_new_posts_notify_but_not_its_replies_to_others(setup):
    from actors.models import Following, LocalActor

    inst, bob = setup
    union = await LocalActor.get(username="rail")
    following = await Following.create(local=union, remote=bob, follow_id="https://ours.example/f/1",
                                       state="accepted", created_at=inst.now())
    reply_to_other = note(8, inReplyTo="https://else.example/notes/1")
    quiet = note(7)
    for n, doc in ((7, quiet), (8, reply_to_other)):
        await posts.on_create(inst, {"id": f"https://peer.example/c/{n}", "type": "Create", "actor": bob.uri,
                                     "object": doc}, bob)
    assert await kinds() == []  # the bell is off

    following.notify = True
    await following.save()
    thread = note(10, inReplyTo=note(9)["id"])
    for n, doc in ((9, note(9)), (10, thread), (11, note(11, inReplyTo="https://else.example/notes/1"))):
        await posts.on_create(inst, {"id": f"https://peer.example/c/{n}", "type": "Create", "actor": bob.uri,
                                     "object": doc}, bob)
    rows = await Notification.all().order_by("id")
    assert [(r.kind, r.object_uri) for r in rows] == [("status", note(9)["id"]), ("status", thread["id"])]
