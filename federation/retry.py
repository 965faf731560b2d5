"""Delivery policy as small pure functions (Fedify style): when to retry, when to give up,
when a host's circuit is open. No I/O, no clock: time and randomness are passed in.

Numbers follow the interop notes (C.4, Mastodon 5.1): a schedule that keeps trying for
about four days, Mastodon's "unsalvageable" status classes, and Mastodon's Stoplight
breaker (10 failures, 60 s cool-off) with the cool-off doubling so a long-dead host
costs one probe an hour, not one a minute.
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

# Delay after the 1st, 2nd, … failed attempt; the last step repeats.
SCHEDULE: tuple[timedelta, ...] = (
    timedelta(seconds=30), timedelta(minutes=2), timedelta(minutes=10), timedelta(minutes=30),
    timedelta(hours=1), timedelta(hours=3), timedelta(hours=6), timedelta(hours=12),
    timedelta(hours=24), timedelta(hours=48),
)
JITTER = 0.25
# Give up (EXPIRED) once a delivery older than this fails again: a receiver down for a
# long weekend still gets everything.
MAX_AGE = timedelta(days=4)
# A peer's Retry-After is honoured up to this, so a hostile "come back next year" cannot
# park our deliveries past MAX_AGE in one step.
MAX_RETRY_AFTER = timedelta(hours=48)

OK, PERMANENT, RETRY = "ok", "permanent", "retry"
# Mastodon retries these 4xx: 401 is often a key-cache race on the receiver, 408/429 say "later".
_SALVAGEABLE_4XX = frozenset({401, 408, 429})


def backoff_delay(attempts: int, rng: random.Random) -> timedelta:
    """Delay before the next try after `attempts` failed attempts (1 -> ~30 s), ±25 % jitter.

    Jitter spreads the retries of one fan-out so a recovering host is not hit by all of
    them in the same second.
    """
    base = SCHEDULE[min(max(attempts, 1), len(SCHEDULE)) - 1]
    return base * rng.uniform(1 - JITTER, 1 + JITTER)


def retry_delay(attempts: int, rng: random.Random, retry_after: float | None = None) -> timedelta:
    """The later of our backoff and the peer's Retry-After (seconds), the latter capped."""
    delay = backoff_delay(attempts, rng)
    if retry_after is not None and retry_after > 0:
        delay = max(delay, min(timedelta(seconds=retry_after), MAX_RETRY_AFTER))
    return delay


def classify(status: int | None) -> str:
    """"ok", "permanent" or "retry" for an HTTP status; None means no answer (network error).

    Like Mastodon, anything not known to be hopeless is retried, 3xx included: a POST is
    never redirected (the inbox must not be re-aimed), and a maintenance redirect passes.
    """
    if status is None:
        return RETRY
    if 200 <= status < 300:
        return OK
    if 400 <= status < 500:
        return RETRY if status in _SALVAGEABLE_4XX else PERMANENT  # 410 Gone included
    if status == 501:
        return PERMANENT  # "Not Implemented": the receiver will never take a POST there
    return RETRY


@dataclass(frozen=True)
class Breaker:
    """Per-host circuit breaker: after `threshold` consecutive failures the host is left
    alone for `cool_off`, doubling with each further failure (each failed probe) up to
    `max_cool_off`. When the cool-off ends one probe is let through (half-open)."""

    threshold: int = 10
    cool_off: timedelta = timedelta(seconds=60)
    max_cool_off: timedelta = timedelta(hours=1)

    def open_until(self, consecutive_failures: int, now: datetime) -> datetime | None:
        if consecutive_failures < self.threshold:
            return None
        doublings = min(consecutive_failures - self.threshold, 32)  # 2**32 min: no overflow
        return now + min(self.cool_off * (2 ** doublings), self.max_cool_off)


BREAKER = Breaker()


def circuit_open_until(consecutive_failures: int, now: datetime) -> datetime | None:
    """When the default breaker lets traffic through again; None while the circuit is closed."""
    return BREAKER.open_until(consecutive_failures, now)
