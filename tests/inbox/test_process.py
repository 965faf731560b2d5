"""The inbox processor's lease (one worker applies an item; an outcome is written only by the
lease's holder), its time bound per item, and idempotent answers to Follows."""
from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from actors.instance import Instance
from actors.local import create_actor
from actors.models import Follower, FollowState, LocalActor, RemoteActor
from actors.urls import Urls
from federation.clock import FrozenClock
from federation.http import AddressPolicy, SafeClient
from federation.models import Delivery, Envelope
from inbox import process
from inbox.handlers import follows as follow_handlers
from inbox.models import InboxItem, InboxState
from inbox.process import LEASE, InboxProcessor
from outbox.follows import answer_follow, answer_id, reject_follow_request
from outbox.models import Activity

BASE = "https://ours.example"
UNION = f"{BASE}/actors/rail"
PEERS = ("bob", "carol")


def peer_uri(name: str) -> str:
    return f"https://peer.example/users/{name}"


@pytest.fixture
async def inst(db):
    client = SafeClient(policy=AddressPolicy(), user_agent="t")
    inst = Instance(urls=Urls(BASE), client=client, clock=FrozenClock())
    await create_actor(username="rail", kind="union", name="Rail Workers", now=inst.now())
    await create_actor(username="instance.actor", kind="instance", name="ours.example", now=inst.now())
    for name in PEERS:
        await RemoteActor.create(uri=peer_uri(name), domain="peer.example", username=name,
                                 inbox=f"{peer_uri(name)}/inbox", fetched_at=inst.now())
    try:
        yield inst
    finally:
        await client.aclose()


async def receive_follow(inst: Instance, name: str, follow_id: str | None = None, target: str = UNION) -> InboxItem:
    follow_id = follow_id or f"{peer_uri(name)}#follows/1"
    payload = {"@context": "https://www.w3.org/ns/activitystreams", "id": follow_id, "type": "Follow",
               "actor": peer_uri(name), "object": target}
    return await InboxItem.create(activity_id=follow_id, type="Follow", actor_uri=peer_uri(name), payload=payload,
                                  received_at=inst.now())


async def answers(kind: str = "Accept") -> list[Activity]:
    return await Activity.filter(type=kind).order_by("id")


async def assert_one_answer_each(follow_ids: list[str], kind: str = "Accept") -> None:
    rows = await answers(kind)
    assert sorted(r.payload["object"]["id"] for r in rows) == sorted(follow_ids)
    for row in rows:
        envelopes = await Envelope.filter(activity_id=row.ap_id)
        assert len(envelopes) == 1, f"{row.ap_id} queued {len(envelopes)} times"
    assert await Envelope.filter(activity_id__in=[r.ap_id for r in rows]).count() == len(follow_ids)


async def test_follows_are_accepted_once(inst):
    items = [await receive_follow(inst, name) for name in PEERS]
    assert await InboxProcessor(inst).run_once() == 2
    for item in items:
        await item.refresh_from_db()
        assert (item.state, item.attempts, item.locked_until) == (InboxState.DONE, 1, None)
        assert item.processed_at == inst.now()
    await assert_one_answer_each([i.activity_id for i in items])
    inboxes = sorted(await Delivery.all().values_list("inbox", flat=True))
    assert inboxes == [f"{peer_uri(name)}/inbox" for name in PEERS]
    assert await Follower.filter(state=FollowState.ACCEPTED).count() == 2


@pytest.mark.parametrize("takeover", ["before_our_accept", "after_our_accept"])
async def test_racing_processors_apply_each_follow_once(inst, monkeypatch, takeover):
    """The review's case: A claims a batch, its first item outlives the lease, B claims everything
    again. Each Follow is answered once, and A neither overwrites B's outcomes nor goes on to items
    B now holds."""
    items = [await receive_follow(inst, name) for name in PEERS]
    a, b = InboxProcessor(inst), InboxProcessor(inst)
    real = follow_handlers.on_follow
    stalled = []

    async def slow_for_a(inst_, activity, signer):
        if stalled:  # B's calls, and anything after the stall
            return await real(inst_, activity, signer)
        stalled.append(activity["id"])
        if takeover == "after_our_accept":
            result = await real(inst_, activity, signer)
        inst.clock.advance(seconds=LEASE.total_seconds() + 60)  # A's fetch took longer than the lease
        assert await b.run_once() == 2
        if takeover == "before_our_accept":
            result = await real(inst_, activity, signer)
        return result

    monkeypatch.setattr(follow_handlers, "on_follow", slow_for_a)
    assert await a.run_once() == 2
    assert stalled == [items[0].activity_id]  # A stopped after the item it had started
    await assert_one_answer_each([i.activity_id for i in items])
    for item in items:
        await item.refresh_from_db()
        assert (item.state, item.locked_until) == (InboxState.DONE, None)
        assert item.result == "follower accepted"
    # Nothing is left for anyone.
    inst.clock.advance(seconds=LEASE.total_seconds() * 2)
    assert await a.run_once() == 0 and await b.run_once() == 0
    await assert_one_answer_each([i.activity_id for i in items])


async def test_outcome_of_a_lost_lease_is_not_written(inst, monkeypatch):
    item = await receive_follow(inst, "bob")
    a, b = InboxProcessor(inst), InboxProcessor(inst)
    real = follow_handlers.on_follow
    held_by_b = {}

    async def overtaken(inst_, activity, signer):
        inst.clock.advance(seconds=LEASE.total_seconds() + 1)
        claimed, stamp = await b._claim()  # B takes the item over but has not applied it yet
        assert [i.id for i in claimed] == [item.id]
        held_by_b["stamp"] = stamp
        return await real(inst_, activity, signer)

    monkeypatch.setattr(follow_handlers, "on_follow", overtaken)
    assert await a.run_once() == 1
    await item.refresh_from_db()
    # A's "done" was dropped: the row is still B's, pending, under B's stamp.
    assert item.state == InboxState.PENDING and item.processed_at is None and item.result == ""
    assert item.locked_until == held_by_b["stamp"]
    monkeypatch.setattr(follow_handlers, "on_follow", real)
    # Once B's lease runs out too, the item is applied again, and still answered once.
    inst.clock.advance(seconds=LEASE.total_seconds() + 1)
    assert await b.run_once() == 1
    await item.refresh_from_db()
    assert item.state == InboxState.DONE and item.attempts == 2
    await assert_one_answer_each([item.activity_id])


async def test_an_expired_lease_is_not_used(inst):
    items = [await receive_follow(inst, name) for name in PEERS]
    a = InboxProcessor(inst)
    claimed, stamp = await a._claim()
    assert [i.id for i in claimed] == [i.id for i in items]
    inst.clock.advance(seconds=LEASE.total_seconds() + 1)
    assert await a._process(claimed[0], claimed[1:], stamp) is None  # lapsed, even though nobody took it
    await claimed[0].refresh_from_db()
    assert claimed[0].state == InboxState.PENDING and claimed[0].attempts == 0
    assert await answers() == []
    assert await a.run_once() == 2  # claimed afresh, in order
    await assert_one_answer_each([i.activity_id for i in items])


async def test_reapplying_a_follow_sends_no_second_accept(inst):
    item = await receive_follow(inst, "bob")
    processor = InboxProcessor(inst)
    assert await processor.run_once() == 1
    first = await answers()
    assert len(first) == 1
    # A crash after the Accept committed but before the item was marked done.
    await InboxItem.filter(id=item.id).update(state=InboxState.PENDING, processed_at=None, locked_until=None)
    assert await processor.run_once() == 1
    await item.refresh_from_db()
    assert (item.state, item.result) == (InboxState.DONE, "follower accepted")
    assert [a.ap_id for a in await answers()] == [first[0].ap_id]
    await assert_one_answer_each([item.activity_id])
    assert await Follower.filter(state=FollowState.ACCEPTED).count() == 1


async def test_answering_twice_emits_once_and_still_settles_the_row(inst):
    await receive_follow(inst, "bob")
    assert await InboxProcessor(inst).run_once() == 1
    row = await Follower.get().prefetch_related("local", "remote")
    await Follower.filter(id=row.id).update(state=FollowState.PENDING)  # however it got there
    row.state = FollowState.PENDING
    assert await answer_follow(inst, row, accept=True) is False
    assert (await Follower.get(id=row.id)).state == FollowState.ACCEPTED
    await assert_one_answer_each([row.follow_id])


async def test_concurrent_answers_to_one_follow_emit_once(inst):
    """Two workers answering the same Follow at the same moment (on PostgreSQL both may pass the
    existence check; the unique activity id lets one through)."""
    item = await receive_follow(inst, "bob")
    local = await LocalActor.get(username="rail")
    remote = await RemoteActor.get(uri=peer_uri("bob"))
    await Follower.create(local=local, remote=remote, follow_id=item.activity_id, state=FollowState.PENDING,
                          created_at=inst.now())
    rows = [await Follower.get().prefetch_related("local", "remote") for _ in range(2)]
    sent = await asyncio.gather(*(answer_follow(inst, row, accept=True) for row in rows))
    assert sorted(sent) == [False, True]
    assert (await Follower.get()).state == FollowState.ACCEPTED
    await assert_one_answer_each([item.activity_id])
    # No follower row to lock here: on PostgreSQL both insert, and the loser's IntegrityError is absorbed.
    instance_actor = await LocalActor.get(kind="instance")
    refused = "https://peer.example/follows/instance"
    sent = await asyncio.gather(*(reject_follow_request(inst, instance_actor, remote, refused) for _ in range(2)))
    assert sorted(sent) == [False, True]
    await assert_one_answer_each([refused], kind="Reject")


async def test_the_answer_id_is_derived_from_the_follow_id(inst):
    item = await receive_follow(inst, "bob")
    assert await InboxProcessor(inst).run_once() == 1
    [accept] = await answers()
    assert accept.ap_id == answer_id(UNION, item.activity_id, accept=True)
    assert accept.ap_id.startswith(f"{UNION}#accepts/follows/")
    assert accept.payload["object"] == {"id": item.activity_id, "type": "Follow", "actor": peer_uri("bob"),
                                        "object": UNION}
    assert answer_id(UNION, item.activity_id, accept=False) != accept.ap_id


async def test_fast_forward_follow_gets_a_new_accept(inst):
    first = await receive_follow(inst, "bob", "https://peer.example/follows/1")
    processor = InboxProcessor(inst)
    assert await processor.run_once() == 1
    # Mastodon re-sends Follow with a new id when it thinks the relationship is not established.
    second = await receive_follow(inst, "bob", "https://peer.example/follows/2")
    assert await processor.run_once() == 1
    rows = await answers()
    assert [r.payload["object"]["id"] for r in rows] == [first.activity_id, second.activity_id]
    assert rows[0].ap_id != rows[1].ap_id
    assert rows[1].ap_id == answer_id(UNION, second.activity_id, accept=True)
    await assert_one_answer_each([first.activity_id, second.activity_id])
    follower = await Follower.get()
    assert (follower.follow_id, follower.state) == (second.activity_id, FollowState.ACCEPTED)


async def test_follow_of_the_instance_actor_is_rejected_once(inst):
    item = await receive_follow(inst, "bob", target=f"{BASE}/actor")
    processor = InboxProcessor(inst)
    assert await processor.run_once() == 1
    await InboxItem.filter(id=item.id).update(state=InboxState.PENDING, processed_at=None, locked_until=None)
    assert await processor.run_once() == 1
    instance_actor = await LocalActor.get(kind="instance")
    [reject] = await answers("Reject")
    assert reject.ap_id == answer_id(f"{BASE}/actor", item.activity_id, accept=False)
    assert reject.actor_id == instance_actor.id
    await assert_one_answer_each([item.activity_id], kind="Reject")
    assert await Follower.all().count() == 0


async def test_a_slow_item_is_retried_later_and_does_not_block_the_rest(inst, monkeypatch):
    slow, quick = [await receive_follow(inst, name) for name in PEERS]
    real = follow_handlers.on_follow
    hang = asyncio.Event()

    async def stuck_on_bob(inst_, activity, signer):
        if activity["id"] == slow.activity_id and not hang.is_set():
            await asyncio.sleep(30)  # a peer that never answers
        return await real(inst_, activity, signer)

    monkeypatch.setattr(follow_handlers, "on_follow", stuck_on_bob)
    # Long enough for the quick item's real work on a loaded machine, far below the stuck 30 s.
    processor = InboxProcessor(inst, item_timeout=2)
    started = asyncio.get_running_loop().time()
    assert await processor.run_once() == 2
    assert asyncio.get_running_loop().time() - started < 10
    await slow.refresh_from_db()
    await quick.refresh_from_db()
    assert quick.state == InboxState.DONE
    assert slow.state == InboxState.PENDING and slow.attempts == 1 and slow.processed_at is None
    assert slow.result == "temporary failure: took longer than 2 s"
    assert slow.locked_until == inst.now() + timedelta(seconds=60)  # the backoff, as for Retry
    await assert_one_answer_each([quick.activity_id])

    assert await processor.run_once() == 0  # not due yet
    hang.set()  # the peer recovers
    inst.clock.advance(seconds=61)
    assert await processor.run_once() == 1
    await slow.refresh_from_db()
    assert (slow.state, slow.attempts) == (InboxState.DONE, 2)
    await assert_one_answer_each([quick.activity_id, slow.activity_id])


async def test_a_timeout_on_the_last_attempt_is_an_error(inst, monkeypatch):
    item = await receive_follow(inst, "bob")
    await InboxItem.filter(id=item.id).update(attempts=process.MAX_ATTEMPTS - 1)

    async def never(inst_, activity, signer):
        await asyncio.sleep(30)

    monkeypatch.setattr(follow_handlers, "on_follow", never)
    assert await InboxProcessor(inst, item_timeout=0.05).run_once() == 1
    await item.refresh_from_db()
    assert (item.state, item.attempts, item.locked_until) == (InboxState.ERROR, process.MAX_ATTEMPTS, None)
    assert item.processed_at == inst.now()


async def test_batches_are_small_and_in_arrival_order(inst, monkeypatch):
    for n in range(12):
        await receive_follow(inst, PEERS[n % 2], f"https://peer.example/follows/{n}")
    seen = []
    real = follow_handlers.on_follow

    async def record(inst_, activity, signer):
        seen.append(activity["id"])
        return await real(inst_, activity, signer)

    monkeypatch.setattr(follow_handlers, "on_follow", record)
    processor = InboxProcessor(inst)
    assert await processor.run_once() == 10
    assert await processor.run_once() == 2
    assert seen == [f"https://peer.example/follows/{n}" for n in range(12)]


def test_item_timeout_must_fit_in_the_lease():
    with pytest.raises(ValueError):
        InboxProcessor(None, item_timeout=LEASE.total_seconds())  # type: ignore[arg-type]
