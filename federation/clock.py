"""Injectable time and randomness, so retry schedules and windows are tested without sleeping."""
from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(timezone.utc)


@dataclass
class FrozenClock:
    """A clock tests move by hand."""

    current: datetime = field(default_factory=lambda: datetime(2026, 9, 23, 9, 0, tzinfo=timezone.utc))

    def now(self) -> datetime:
        return self.current

    def advance(self, **delta: float) -> None:
        self.current = self.current + timedelta(**delta)


SYSTEM_CLOCK = SystemClock()


def default_rng() -> random.Random:
    return random.Random()
