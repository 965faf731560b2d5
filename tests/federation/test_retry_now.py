"""A host that is back gets what we owe it at once, not after its backoff."""
from __future__ import annotations

from datetime import timedelta

from federation.clock import FrozenClock
from federation.delivery import enqueue, has_waiting, retry_host_now
from federation.models import Delivery, HostHealth


async def test_retry_host_now_brings_waiting_deliveries_forward_and_closes_the_circuit(db):
    clock = FrozenClock()
    now = clock.now()
    await enqueue("https://a.example/activities/1", b"{}", "https://a.example/actors/u#main-key",
                  ["https://back.example/inbox", "https://other.example/inbox"], now=now)
    later = now + timedelta(hours=3)
    await Delivery.all().update(next_attempt_at=later, attempts=4, last_error="connection refused")
    await HostHealth.create(host="back.example", consecutive_failures=12, circuit_open_until=later)

    assert await has_waiting("back.example", now=now)
    assert await retry_host_now("back.example", now=now) == 1
    assert not await has_waiting("back.example", now=now)

    back = await Delivery.get(host="back.example")
    assert back.next_attempt_at == now and back.state == "pending" and back.attempts == 4
    health = await HostHealth.get(host="back.example")
    assert health.circuit_open_until is None and health.consecutive_failures == 0
    # Other hosts keep their schedule.
    assert (await Delivery.get(host="other.example")).next_attempt_at == later
    assert await retry_host_now("never-seen.example", now=now) == 0
