"""The delivery queue against a real database (the `db` fixture) and real HTTP receivers on
127.0.0.1 that verify our signatures. Time is a FrozenClock: retry schedules are walked by
moving it, never by sleeping."""
from __future__ import annotations

import asyncio
import inspect
import ipaddress
import random
import socket
import threading
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from typing import Any

import pytest
from starlette.requests import Request
from starlette.responses import Response
from tortoise.transactions import in_transaction

from federation.clock import FrozenClock
from federation.delivery import (
    DeliveryWorker, cancel_host, deliveries_for, delivery_summary, enqueue, inbox_host,
)
from federation.http import LOCAL_QUEUE_FULL, AddressPolicy, SafeClient
from federation.httpsig import (
    SignatureError, SigningKey, parse_request_signature, public_key_pem_from_private, verify_signature,
)
from federation.models import Delivery, DeliveryState, Envelope, HostHealth
from tests.dbutil import backend

from .conftest import LocalServer

LOOPBACK = AddressPolicy(allowed_networks=(ipaddress.ip_network("127.0.0.0/8"),))
BODY = b'{"id": "https://unions.test/acts/1", "type": "Create",  "content": "Gr\xc3\xbc\xc3\x9fe"}\n'
LEASE = timedelta(minutes=2)


@dataclass
class Inbox:
    """A peer's inbox: verifies each POST's signature with federation.httpsig, then answers `status`."""

    server: LocalServer
    public_pem: str
    status: int = 202
    body: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    hold: threading.Event | None = None  # answer only once this is set
    verified: list[bool] = field(default_factory=list)

    def serve(self, path: str = "/inbox") -> str:
        async def handler(request: Request) -> Response:
            body = await request.body()
            try:
                parsed = parse_request_signature(
                    request.method, request.url.path, request.url.query, request.headers, body,
                    expected_host=f"127.0.0.1:{self.server.port}", now=datetime.now(timezone.utc))
                verify_signature(parsed, self.public_pem)
            except SignatureError as exc:
                self.verified.append(False)
                return Response(exc.reason, status_code=401)
            self.verified.append(True)
            await asyncio.sleep(self.delay)
            while self.hold is not None and not self.hold.is_set():
                await asyncio.sleep(0.01)
            return Response(self.body, status_code=self.status, headers=self.headers)

        self.server.route(path, handler)
        return self.server.url(path)


@pytest.fixture
def inbox(local_server: LocalServer, signing_pem: str) -> Inbox:
    return Inbox(local_server, public_key_pem_from_private(signing_pem))


@pytest.fixture
def other_inbox(other_server: LocalServer, inbox: Inbox) -> Inbox:
    return Inbox(other_server, inbox.public_pem)


@pytest.fixture
async def client() -> AsyncIterator[SafeClient]:
    async with SafeClient(policy=LOOPBACK, user_agent="UnionHall-test/1") as c:
        yield c


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock()


@pytest.fixture
def make_worker(client: SafeClient, signing_key: SigningKey, clock: FrozenClock):
    async def keys(key_id: str) -> SigningKey:
        assert key_id == signing_key.key_id
        return signing_key

    def make(**kw) -> DeliveryWorker:
        kw.setdefault("client", client)
        return DeliveryWorker(keys=keys, clock=clock, rng=random.Random(42), lease=LEASE, **kw)

    return make


async def send(urls: list[str], clock: FrozenClock, activity: str = "https://unions.test/acts/1") -> Envelope:
    return await enqueue(activity, BODY, "https://unions.test/actor#main-key", urls, now=clock.now())


async def only(activity: str = "https://unions.test/acts/1") -> Delivery:
    [d] = await deliveries_for(activity)
    return d


async def eventually(check: Callable[[], Any]) -> None:
    for _ in range(500):  # real time only where a real peer is involved; 5 s at most
        result = check()
        if await result if inspect.isawaitable(result) else result:
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition not reached in 5 s")


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed on exit: connecting is refused



async def test_enqueue_dedupes_inboxes(db, clock: FrozenClock) -> None:
    env = await send(["https://a.example/inbox", "https://a.example/inbox", "https://A.example:443/inbox",
                      " https://b.example/inbox", "https://b.example/users/x/inbox",
                      "http://127.0.0.1:8080/inbox"], clock)
    rows = await deliveries_for("https://unions.test/acts/1")
    assert [(d.inbox, d.host) for d in rows] == [
        ("https://a.example/inbox", "a.example"), ("https://b.example/inbox", "b.example"),
        ("https://b.example/users/x/inbox", "b.example"), ("http://127.0.0.1:8080/inbox", "127.0.0.1:8080")]
    assert all(d.state == DeliveryState.PENDING and d.next_attempt_at == clock.now() and d.attempts == 0
               for d in rows)
    stored = await Envelope.get(id=env.id)
    assert stored.body == BODY and stored.key_id == "https://unions.test/actor#main-key"
    assert inbox_host("https://[::1]:8443/inbox") == "[::1]:8443"
    for bad in ("ftp://d.example/inbox", "https://user:pw@c.example/inbox", "https://evil.example:99999/inbox"):
        with pytest.raises(ValueError):  # inbox_host itself still refuses them (enqueue stores them failed)
            inbox_host(bad)


INVALID_INBOXES = {  # inbox -> what last_error says about it
    "https://evil.example:99999/inbox": "port",
    "https:///inbox": "no host",
    "https://:8443/inbox": "no host",
    "ftp://d.example/inbox": "not an http(s) URL",
    "/relative/inbox": "not an http(s) URL",
    "https://c.example/" + "x" * 2100: "longer than 2048 characters",
    "https://user:pw@c.example/inbox": "credentials",
    "https://a.example/in box": "control character or space",
    "https://a.example/inbox\x00": "control character or space",
    "https://bad\ud800.example/inbox": "control character or space",
    "https://" + "a" * 300 + ".example/inbox": "host name too long",
}


async def test_invalid_inboxes_are_stored_failed_and_the_publication_commits(db, inbox: Inbox, make_worker,
                                                                           clock) -> None:
    good = inbox.serve()
    async with in_transaction():  # the caller's transaction, with a domain row of its own
        await HostHealth.create(host="domain-row.example")
        await send([*INVALID_INBOXES, good, "https://evil.example:99999/inbox"], clock)
    assert await HostHealth.filter(host="domain-row.example").exists()  # committed, not rolled back
    rows = await deliveries_for("https://unions.test/acts/1")
    [queued] = [d for d in rows if d.state == DeliveryState.PENDING]
    assert (queued.inbox, queued.host) == (good, inbox_host(good))
    failed = [d for d in rows if d.state == DeliveryState.FAILED]
    assert len(failed) == len(INVALID_INBOXES)  # the repeated bad one is stored once
    for d, (url, why) in zip(failed, INVALID_INBOXES.items()):
        assert (d.host, d.attempts, d.finished_at, d.locked_until) == ("invalid", 0, clock.now(), None)
        assert d.last_error.startswith("invalid inbox URL: ") and why in d.last_error, (url, d.last_error)
        assert len(d.inbox) <= 2048 and d.inbox.isprintable()
        if url.isprintable() and len(url) <= 2048:
            assert d.inbox == url
    assert await make_worker().run_once() == 1  # only the valid one is ever sent
    assert inbox.verified == [True]
    summary = {s["host"]: s for s in await delivery_summary(now=clock.now())}
    assert summary["invalid"]["failed"] == len(INVALID_INBOXES) and summary[queued.host]["delivered"] == 1

    await send(["nonsense", "https://evil.example:99999/inbox"], clock, "https://unions.test/acts/2")
    assert [(d.state, d.host) for d in await deliveries_for("https://unions.test/acts/2")] == [
        (DeliveryState.FAILED, "invalid")] * 2  # nothing valid at all still stores what was asked


async def test_enqueue_commits_and_rolls_back_with_the_callers_transaction(db, clock: FrozenClock) -> None:
    with pytest.raises(RuntimeError):
        async with in_transaction():
            await HostHealth.create(host="domain-row.example")  # stands in for the caller's own row
            await send(["https://a.example/inbox", "https://b.example/inbox"], clock)
            assert await Delivery.all().count() == 2  # visible inside the transaction
            raise RuntimeError("the caller's domain logic failed")
    assert await Envelope.all().count() == await Delivery.all().count() == await HostHealth.all().count() == 0

    async with in_transaction():
        await HostHealth.create(host="domain-row.example")
        await send(["https://a.example/inbox"], clock)
    assert await Delivery.all().count() == 1 and await HostHealth.all().count() == 1



async def test_delivered_on_2xx_with_a_valid_signature(db, inbox: Inbox, make_worker, clock) -> None:
    url = inbox.serve()
    await send([url], clock)
    seen: list[tuple[str, int]] = []

    async def on_result(d: Delivery) -> None:
        seen.append((d.state, d.attempts))

    assert await make_worker(on_result=on_result).run_once() == 1
    [rec] = inbox.server.received
    assert inbox.verified == [True] and rec.headers["content-type"] == "application/activity+json"
    assert rec.body == BODY  # the envelope's bytes, unchanged
    d = await only()
    assert (d.state, d.last_status, d.attempts, d.finished_at, d.locked_until) == (
        DeliveryState.DELIVERED, 202, 1, clock.now(), None)
    assert seen == [(DeliveryState.DELIVERED, 1)]
    health = await HostHealth.get(host=inbox_host(url))
    assert health.last_success_at == clock.now() and health.consecutive_failures == 0
    clock.advance(hours=1)
    assert await make_worker().run_once() == 0  # delivered is final


@pytest.mark.parametrize("status, body, error", [
    (500, "database is down", "HTTP 500 Internal Server Error: database is down"),
    (401, "", "HTTP 401 Unauthorized"),  # often a key-cache race on the receiver: worth retrying
])
async def test_retried_later_then_delivered(db, inbox: Inbox, make_worker, clock, status, body, error) -> None:
    inbox.status, inbox.body = status, body
    await send([inbox.serve()], clock)
    worker = make_worker()
    assert await worker.run_once() == 1
    d = await only()
    assert (d.state, d.attempts, d.last_status, d.last_error) == (DeliveryState.PENDING, 1, status, error)
    assert (await HostHealth.get(host=d.host)).consecutive_failures == 1
    wait = d.next_attempt_at - clock.now()
    assert timedelta(seconds=22.5) <= wait <= timedelta(seconds=37.5)  # 30 s ± 25 %
    assert await worker.run_once() == 0  # not due yet
    clock.advance(seconds=wait.total_seconds() - 1)
    assert await worker.run_once() == 0
    clock.advance(seconds=1)
    inbox.status = 202
    assert await worker.run_once() == 1
    d = await only()
    assert (d.state, d.attempts, d.last_status, d.last_error) == (DeliveryState.DELIVERED, 2, 202, "")
    assert inbox.verified == [True, True]  # signed afresh for the second attempt too
    assert (await HostHealth.get(host=d.host)).consecutive_failures == 0  # success reset the count


@pytest.mark.parametrize("retry_after, expected", [
    ("3600", timedelta(hours=1)),
    ("date", timedelta(hours=2)),
    ("999999999", timedelta(hours=48)),  # clamped
])
async def test_429_retry_after_is_honoured(db, inbox: Inbox, make_worker, clock, retry_after, expected) -> None:
    if retry_after == "date":
        retry_after = format_datetime(clock.now() + timedelta(hours=2), usegmt=True)
    inbox.status, inbox.headers = 429, {"Retry-After": retry_after}
    await send([inbox.serve()], clock)
    worker = make_worker()
    assert await worker.run_once() == 1
    d = await only()
    assert d.state == DeliveryState.PENDING and d.last_status == 429
    assert d.next_attempt_at == clock.now() + expected
    clock.advance(seconds=expected.total_seconds() - 60)
    assert await worker.run_once() == 0  # our 30 s backoff would have gone long ago
    clock.advance(seconds=60)
    assert await worker.run_once() == 1


async def test_403_is_permanent_with_a_readable_reason(db, inbox: Inbox, make_worker, clock) -> None:
    inbox.status, inbox.body = 403, "blocked:" + "x" * 400
    url = inbox.serve()
    await send([url], clock)
    worker = make_worker()
    assert await worker.run_once() == 1
    d = await only()
    assert (d.state, d.last_status, d.finished_at) == (DeliveryState.FAILED, 403, clock.now())
    assert d.last_error == "HTTP 403 Forbidden: " + ("blocked:" + "x" * 400)[:200]
    clock.advance(days=1)
    assert await worker.run_once() == 0
    assert len(inbox.server.received) == 1
    assert (await HostHealth.get(host=inbox_host(url))).consecutive_failures == 0  # not held against the host


async def test_connection_refused_is_retried_with_a_readable_reason(db, make_worker, clock) -> None:
    url = f"http://127.0.0.1:{closed_port()}/inbox"
    await send([url], clock)
    assert await make_worker().run_once() == 1
    d = await only()
    assert (d.state, d.attempts, d.last_status, d.last_error) == (
        DeliveryState.PENDING, 1, None, "connection refused")
    assert timedelta(seconds=22.5) <= d.next_attempt_at - clock.now() <= timedelta(seconds=37.5)
    health = await HostHealth.get(host=inbox_host(url))
    assert (health.consecutive_failures, health.last_error) == (1, "connection refused")


async def test_blocked_address_is_permanent(db, inbox: Inbox, make_worker, clock) -> None:
    async with SafeClient(policy=AddressPolicy(), user_agent="UnionHall-test/1") as strict:
        await send([inbox.serve()], clock)
        assert await make_worker(client=strict).run_once() == 1
    d = await only()
    assert d.state == DeliveryState.FAILED
    assert d.last_error == "blocked address: 127.0.0.1 is not a public address"
    assert inbox.server.received == []


async def test_expired_after_max_age(db, inbox: Inbox, make_worker, clock) -> None:
    inbox.status = 503
    await send([inbox.serve()], clock)
    worker = make_worker()
    clock.advance(days=3, hours=23)
    assert await worker.run_once() == 1
    assert (await only()).state == DeliveryState.PENDING  # not old enough yet: retried
    clock.advance(hours=2)
    assert await worker.run_once() == 1
    d = await only()
    assert (d.state, d.attempts, d.finished_at) == (DeliveryState.EXPIRED, 2, clock.now())
    assert d.last_error == "HTTP 503 Service Unavailable"
    clock.advance(days=3)
    assert await worker.run_once() == 0


async def test_deliveries_stuck_behind_an_open_circuit_expire(db, inbox: Inbox, make_worker, clock) -> None:
    url = inbox.serve()
    await send([url], clock, "https://unions.test/acts/old")
    clock.advance(days=4, seconds=1)
    await send([url], clock, "https://unions.test/acts/new")
    await HostHealth.create(host=inbox_host(url), consecutive_failures=40,
                            circuit_open_until=clock.now() + timedelta(hours=1))
    assert await make_worker().run_once() == 0  # the host is never tried...
    old = await only("https://unions.test/acts/old")
    assert old.state == DeliveryState.EXPIRED and "circuit open" in old.last_error  # ...yet old work ends
    assert (await only("https://unions.test/acts/new")).state == DeliveryState.PENDING
    assert inbox.server.received == []


async def test_circuit_opens_after_10_failures_and_holds_the_hosts_other_deliveries(
        db, inbox: Inbox, other_inbox: Inbox, make_worker, clock) -> None:
    inbox.status = 503
    dead = [inbox.serve(f"/users/{i}/inbox") for i in range(12)]
    healthy = other_inbox.serve()
    await send(dead + [healthy], clock)
    worker = make_worker(concurrency=1)  # one at a time, so "the 11th" is well defined
    assert await worker.run_once() == 11  # ten failures, then the rest of that host is held back
    assert len(inbox.server.received) == 10 and other_inbox.verified == [True]
    host = inbox_host(dead[0])
    health = await HostHealth.get(host=host)
    assert (health.consecutive_failures, health.circuit_open_until) == (10, clock.now() + timedelta(seconds=60))
    held = [d for d in await deliveries_for("https://unions.test/acts/1") if d.attempts == 0]
    assert [(d.inbox, d.state, d.locked_until) for d in held] == [
        (u, DeliveryState.PENDING, None) for u in dead[10:]]
    [summary] = [s for s in await delivery_summary(now=clock.now()) if s["host"] == host]
    assert summary["circuit_open_until"] == health.circuit_open_until and summary["pending"] == 12

    clock.advance(seconds=45)  # the failed ones are due again (30 s ± 25 %), the circuit is not
    await send([dead[0]], clock, "https://unions.test/acts/2")
    assert await worker.run_once() == 0 and len(inbox.server.received) == 10
    clock.advance(seconds=16)  # cool-off over: half-open, exactly one probe
    assert await worker.run_once() == 1 and len(inbox.server.received) == 11
    health = await HostHealth.get(host=host)
    assert (health.consecutive_failures, health.circuit_open_until) == (11, clock.now() + timedelta(seconds=120))

    clock.advance(seconds=121)
    inbox.status = 202  # the host comes back
    assert await worker.run_once() == 1  # the probe succeeds...
    health = await HostHealth.get(host=host)
    assert (health.consecutive_failures, health.circuit_open_until) == (0, None)
    assert await worker.run_once() == 12  # ...and everything else flows again
    assert await Delivery.filter(state=DeliveryState.DELIVERED).count() == 14 == await Delivery.all().count()



async def test_a_crashed_workers_claim_runs_out_and_the_delivery_resumes(
        db, inbox: Inbox, make_worker, clock) -> None:
    inbox.hold = threading.Event()
    await send([inbox.serve()], clock)
    crashing = asyncio.create_task(make_worker().run_once())
    try:
        await eventually(lambda: inbox.server.received)
        crashing.cancel()  # the worker dies mid-request: no outcome is written
        with pytest.raises(asyncio.CancelledError):
            await crashing
    finally:
        inbox.hold.set()
    d = await only()
    assert (d.state, d.attempts, d.locked_until) == (DeliveryState.PENDING, 0, clock.now() + LEASE)

    restarted = make_worker()
    assert await restarted.run_once() == 0  # still leased to the dead worker
    clock.advance(seconds=LEASE.total_seconds() + 1)
    assert await restarted.run_once() == 1
    d = await only()
    assert (d.state, d.attempts) == (DeliveryState.DELIVERED, 1)
    assert [r.body for r in inbox.server.received] == [BODY, BODY]  # at-least-once


async def test_sends_overlap_up_to_the_concurrency_limit(db, inbox: Inbox, make_worker, clock) -> None:
    inbox.delay = 0.3
    urls = [inbox.serve(f"/users/{i}/inbox") for i in range(8)]
    await send(urls, clock)
    started = time.monotonic()
    assert await make_worker(concurrency=8).run_once() == 8
    assert inbox.server.max_in_flight > 1
    assert time.monotonic() - started < 8 * 0.3  # not one after another
    assert all(d.state == DeliveryState.DELIVERED for d in await deliveries_for("https://unions.test/acts/1"))

    inbox.server.max_in_flight = 0
    inbox.delay = 0.05
    await send(urls, clock, "https://unions.test/acts/2")
    assert await make_worker(concurrency=1).run_once() == 8
    assert inbox.server.max_in_flight == 1  # the semaphore really bounds it


async def test_wake_starts_due_work_without_waiting_for_the_poll(db, inbox: Inbox, make_worker, clock) -> None:
    url = inbox.serve()
    worker = make_worker(poll_interval=60)
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run(stop))
    try:
        await asyncio.sleep(0.2)  # first (empty) round done, now waiting out the 60 s poll
        await send([url], clock)
        worker.wake()
        await eventually(lambda: Delivery.filter(state=DeliveryState.DELIVERED).exists())
    finally:
        stop.set()
        await asyncio.wait_for(task, 5)  # stop ends the loop promptly too


async def test_summary_and_deliveries_for(db, inbox: Inbox, other_inbox: Inbox, make_worker, clock) -> None:
    ok = inbox.serve("/ok")
    no = Inbox(inbox.server, inbox.public_pem, status=403)
    busy = Inbox(inbox.server, inbox.public_pem, status=503, body="try later")
    await send([ok, no.serve("/no"), busy.serve("/busy"), other_inbox.serve()], clock)
    assert await make_worker(concurrency=1).run_once() == 4
    here, there = inbox_host(ok), inbox_host(other_inbox.server.url())
    summary = {s["host"]: s for s in await delivery_summary(now=clock.now())}
    assert summary[here] | {"last_success_at": None} == {
        "host": here, "pending": 1, "delivered": 1, "failed": 1, "expired": 0,
        "last_error": "HTTP 503 Service Unavailable: try later", "circuit_open_until": None,
        "consecutive_failures": 1, "last_success_at": None}
    assert (summary[there]["delivered"], summary[there]["last_error"]) == (1, "")
    rows = await deliveries_for("https://unions.test/acts/1")
    assert [(d.inbox, d.state) for d in rows] == [
        (ok, "delivered"), (inbox.server.url("/no"), "failed"), (inbox.server.url("/busy"), "pending"),
        (other_inbox.server.url("/inbox"), "delivered")]
    assert await deliveries_for("https://unions.test/acts/none") == []


@pytest.mark.skipif(backend() != "postgres", reason="several workers need PostgreSQL (SKIP LOCKED)")
async def test_two_workers_never_send_the_same_delivery(db, inbox: Inbox, make_worker, clock) -> None:
    urls = [inbox.serve(f"/users/{i}/inbox") for i in range(300)]
    await send(urls, clock)
    async with SafeClient(policy=LOOPBACK, user_agent="UnionHall-test/2") as second:
        workers = [make_worker(batch=8, concurrency=4), make_worker(batch=8, concurrency=4, client=second)]
        counts = [0, 0]
        while True:  # rounds started together, so the two claims really race each other
            done = await asyncio.gather(*(w.run_once() for w in workers))
            if not any(done):
                break
            counts = [c + n for c, n in zip(counts, done)]
    assert sum(counts) == 300 and min(counts) > 0  # both took part
    per_path = Counter(r.path for r in inbox.server.received)
    assert len(per_path) == 300 and set(per_path.values()) == {1}
    assert all(d.state == DeliveryState.DELIVERED and d.attempts == 1
               for d in await deliveries_for("https://unions.test/acts/1"))



# ------------------------------------------------------------- our own queueing is not the host's fault


async def test_waiting_behind_the_per_host_limit_is_not_a_host_failure(db, inbox: Inbox, make_worker, clock) -> None:
    inbox.delay = 0.6
    await send([inbox.serve(f"/users/{i}/inbox") for i in range(3)], clock)
    async with SafeClient(policy=LOOPBACK, user_agent="t", max_per_host=1, total_timeout=1) as one_at_a_time:
        # Before: the 2nd and 3rd spent their 1 s deadline queued for the slot, "timed out" and
        # were counted against the (perfectly healthy) host.
        assert await make_worker(client=one_at_a_time, concurrency=3).run_once() == 3
    rows = await deliveries_for("https://unions.test/acts/1")
    assert [(d.state, d.attempts, d.last_error) for d in rows] == [(DeliveryState.DELIVERED, 1, "")] * 3
    assert inbox.server.max_in_flight == 1
    assert (await HostHealth.get(host=rows[0].host)).consecutive_failures == 0


async def test_a_full_local_queue_hands_the_delivery_back_untouched(db, inbox: Inbox, make_worker, clock) -> None:
    inbox.delay = 0.6
    await send([inbox.serve(f"/users/{i}/inbox") for i in range(3)], clock)
    async with SafeClient(policy=LOOPBACK, user_agent="t", max_per_host=1, queue_timeout=0.2) as c:
        worker = make_worker(client=c, concurrency=3)
        assert await worker.run_once() == 1  # one sent; two gave up waiting for the slot
        rows = await deliveries_for("https://unions.test/acts/1")
        assert sorted((d.state, d.attempts, d.locked_until, d.last_error) for d in rows) == [
            (DeliveryState.DELIVERED, 1, None, "")] + [(DeliveryState.PENDING, 0, None, "")] * 2
        assert len(inbox.server.received) == 1
        health = await HostHealth.get(host=rows[0].host)
        assert (health.consecutive_failures, health.circuit_open_until, health.last_error) == (0, None, "")
        assert await worker.run_once() == 1 and await worker.run_once() == 1  # due at once, not backed off
    assert all(d.state == DeliveryState.DELIVERED for d in await deliveries_for("https://unions.test/acts/1"))


async def test_the_slot_wait_is_bounded_by_the_lease(db, inbox: Inbox, signing_key: SigningKey, clock) -> None:
    inbox.delay = 0.6
    await send([inbox.serve(f"/users/{i}/inbox") for i in range(2)], clock)

    async def keys(key_id: str) -> SigningKey:
        return signing_key

    # A 30.3 s lease and a 30 s deadline leave 0.3 s to wait for a slot: waiting longer could
    # let the lease lapse mid-request (and another worker send it again).
    async with SafeClient(policy=LOOPBACK, user_agent="t", max_per_host=1, total_timeout=30) as c:
        assert c.total_timeout == 30
        worker = DeliveryWorker(client=c, keys=keys, clock=clock, concurrency=2,
                                lease=timedelta(seconds=30.3))
        started = time.monotonic()
        assert await worker.run_once() == 1
        assert time.monotonic() - started < 1.2
    rows = await deliveries_for("https://unions.test/acts/1")
    assert sorted((d.state, d.attempts, d.locked_until) for d in rows) == [
        (DeliveryState.DELIVERED, 1, None), (DeliveryState.PENDING, 0, None)]
    assert (await HostHealth.get(host=rows[0].host)).consecutive_failures == 0
    assert LOCAL_QUEUE_FULL == "local queue full"


# ------------------------------------------------------------- an admin blocks a domain


async def test_cancel_host_fails_pending_deliveries_of_the_domain_and_its_subdomains(db, clock) -> None:
    hit = ["https://evil.example/inbox", "https://evil.example:8443/inbox", "https://sub.evil.example/inbox",
           "https://a.sub.evil.example:9000/users/x/inbox", "https://EVIL.example/users/y/inbox",
           "https://evil.example./z/inbox", "https://sub.evil.example.:8443/inbox"]
    spared = ["https://notevil.example/inbox", "https://evil.example.com/inbox", "https://evil.examples/inbox",
              "https://evilxexample/inbox", "https://friend.example/inbox"]
    await send(hit + spared + ["https://evil.example/done"], clock)
    await Delivery.filter(inbox="https://evil.example/done").update(state=DeliveryState.DELIVERED)
    in_flight = clock.now() + LEASE  # a worker is sending this one right now
    await Delivery.filter(inbox=hit[2]).update(locked_until=in_flight)
    clock.advance(minutes=5)

    assert await cancel_host(" Evil.Example. ", reason="domain blocked by an admin", now=clock.now()) == len(hit)
    rows = {d.inbox: d for d in await deliveries_for("https://unions.test/acts/1")}
    for url in hit:
        d = rows[url]
        assert (d.state, d.last_error, d.finished_at, d.locked_until) == (
            DeliveryState.FAILED, "domain blocked by an admin", clock.now(), None), url
    assert all(rows[u].state == DeliveryState.PENDING and rows[u].last_error == "" for u in spared)
    assert rows["https://evil.example/done"].state == DeliveryState.DELIVERED
    assert await cancel_host("evil.example", reason="again", now=clock.now()) == 0  # only pending ones

    # LIKE wildcards in the name are literal; IDN spellings match either way.
    assert await cancel_host("%", reason="x", now=clock.now()) == 0
    assert await cancel_host("_riend.example", reason="x", now=clock.now()) == 0
    await send(["https://b\u00fccher.example/inbox", "https://xn--caf-dma.example/inbox"], clock,
               "https://unions.test/acts/2")
    assert await cancel_host("xn--bcher-kva.example", reason="x", now=clock.now()) == 1
    assert await cancel_host("caf\u00e9.example", reason="x", now=clock.now()) == 1
    with pytest.raises(ValueError):
        await cancel_host("  ", reason="x", now=clock.now())
