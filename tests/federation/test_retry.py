"""The pure delivery policies: schedule, status classes, circuit breaker."""
from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

import pytest

from federation.retry import (
    MAX_AGE, MAX_RETRY_AFTER, OK, PERMANENT, RETRY, SCHEDULE, Breaker, backoff_delay, circuit_open_until,
    classify, retry_delay,
)

NOW = datetime(2026, 9, 23, 9, 0, tzinfo=timezone.utc)
EXPECTED = [timedelta(seconds=30), timedelta(minutes=2), timedelta(minutes=10), timedelta(minutes=30),
            timedelta(hours=1), timedelta(hours=3), timedelta(hours=6), timedelta(hours=12),
            timedelta(hours=24), timedelta(hours=48)]


def test_schedule_is_the_documented_one() -> None:
    assert list(SCHEDULE) == EXPECTED
    assert MAX_AGE == timedelta(days=4)


@pytest.mark.parametrize("attempts", range(1, 15))
def test_backoff_stays_within_25_percent_of_its_step(attempts: int) -> None:
    base = EXPECTED[min(attempts, len(EXPECTED)) - 1]  # after the 10th failure: 48 h forever
    rng = random.Random(attempts)
    delays = [backoff_delay(attempts, rng) for _ in range(200)]
    assert all(base * 0.75 <= d <= base * 1.25 for d in delays)
    # Jitter really spreads them: not all equal, and both sides of the base are used.
    assert min(delays) < base < max(delays)


def test_backoff_grows_and_is_reproducible_with_a_seed() -> None:
    a = [backoff_delay(n, random.Random(7)) for n in range(1, 11)]
    b = [backoff_delay(n, random.Random(7)) for n in range(1, 11)]
    assert a == b
    # Neighbouring steps are at least 2x apart, more than the jitter can blur.
    assert all(later > earlier for earlier, later in zip(a, a[1:]))


def test_backoff_treats_zero_or_negative_attempts_as_the_first() -> None:
    assert backoff_delay(0, random.Random(1)) == backoff_delay(1, random.Random(1))
    assert backoff_delay(-3, random.Random(1)) <= timedelta(seconds=37.5)


def test_the_whole_schedule_spans_the_retry_window() -> None:
    # Without jitter the ten steps add up to ~4 days: the last retry lands near MAX_AGE.
    total = sum(EXPECTED, timedelta())
    assert timedelta(days=3) < total < MAX_AGE + timedelta(days=1)


def test_retry_after_wins_when_longer_and_is_capped() -> None:
    rng = random.Random(3)
    assert retry_delay(1, rng, retry_after=3600) == timedelta(hours=1)
    # Shorter than our own backoff: our backoff stands (a peer cannot make us hammer it).
    short = retry_delay(5, random.Random(3), retry_after=1)
    assert short == backoff_delay(5, random.Random(3))
    assert retry_delay(1, rng, retry_after=365 * 86400) == MAX_RETRY_AFTER == timedelta(hours=48)
    assert retry_delay(1, random.Random(3), retry_after=None) == backoff_delay(1, random.Random(3))


@pytest.mark.parametrize("status, expected", [
    (200, OK), (201, OK), (202, OK), (204, OK), (299, OK),
    (400, PERMANENT), (403, PERMANENT), (404, PERMANENT), (405, PERMANENT), (410, PERMANENT),
    (413, PERMANENT), (422, PERMANENT), (451, PERMANENT), (499, PERMANENT), (501, PERMANENT),
    (401, RETRY), (408, RETRY), (429, RETRY),
    (500, RETRY), (502, RETRY), (503, RETRY), (504, RETRY), (599, RETRY),
    (None, RETRY),  # network error: no answer at all
    (301, RETRY), (302, RETRY),  # not followed for POST; retried like Mastodon does
])
def test_classify(status: int | None, expected: str) -> None:
    assert classify(status) == expected


def test_circuit_closed_below_threshold_then_doubling_cool_off_up_to_an_hour() -> None:
    assert [circuit_open_until(n, NOW) for n in range(10)] == [None] * 10
    cool_offs = [circuit_open_until(n, NOW) - NOW for n in range(10, 20)]  # type: ignore[operator]
    assert cool_offs[:6] == [timedelta(seconds=s) for s in (60, 120, 240, 480, 960, 1920)]
    assert cool_offs[6:] == [timedelta(hours=1)] * 4
    assert circuit_open_until(10_000, NOW) == NOW + timedelta(hours=1)  # no overflow


def test_breaker_parameters() -> None:
    default = Breaker()
    assert (default.threshold, default.cool_off, default.max_cool_off) == (
        10, timedelta(seconds=60), timedelta(hours=1))
    quick = Breaker(threshold=2, cool_off=timedelta(seconds=5), max_cool_off=timedelta(seconds=12))
    assert quick.open_until(1, NOW) is None
    assert quick.open_until(2, NOW) == NOW + timedelta(seconds=5)
    assert quick.open_until(3, NOW) == NOW + timedelta(seconds=10)
    assert quick.open_until(4, NOW) == NOW + timedelta(seconds=12)
