"""Status ids: strictly increasing within a process even when the clock stands still or goes
back, and ordered by time across processes (the tag sits below the milliseconds)."""
from __future__ import annotations

from content import ids


def test_ids_increase_through_a_burst_and_a_clock_going_back(monkeypatch):
    now = [1_800_000_000.0]
    monkeypatch.setattr(ids.time, "time", lambda: now[0])
    monkeypatch.setattr(ids, "_last_ms", 0)
    burst = [ids.snowflake() for _ in range(ids.MAX_SEQ + 10)]  # more than one millisecond holds
    now[0] -= 5  # NTP steps the clock back
    after = [ids.snowflake() for _ in range(3)]
    made = burst + after
    assert made == sorted(made) and len(set(made)) == len(made)
    assert burst[0] >> (ids.TAG_BITS + ids.SEQ_BITS) == 1_800_000_000_000 - ids.EPOCH_MS


def test_time_orders_ids_of_different_processes():
    earlier_busy_process = ids.compose(1_800_000_000_000, tag=1023, seq=ids.MAX_SEQ)
    later_quiet_process = ids.compose(1_800_000_000_001, tag=0, seq=0)
    assert earlier_busy_process < later_quiet_process < 2**63
    assert ids.compose(ids.EPOCH_MS + 2**41 - 1, 1023, ids.MAX_SEQ) < 2**63  # fits a BIGINT until 2089
