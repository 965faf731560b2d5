"""Small value readers shared by the object parsers (no HTTP, no database)."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any
from zoneinfo import ZoneInfo


class InvalidObject(ValueError):
    """The object cannot be stored; `reason` says why in a few words (for logs and 400s)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def as_list(value: Any) -> list:
    """AS2 allows one value or an array for most properties; always get a list."""
    if value is None:
        return []
    if isinstance(value, list):
        return value
    return [value]


def read_datetime(value: Any, what: str, tz: ZoneInfo | None = None) -> datetime:
    # fromisoformat only knows years 1-9999, which is the range Mastodon accepts (0-9999);
    # "99999-01-01" or "+10000-..." fail here instead of breaking a calendar export later.
    if not isinstance(value, str) or len(value) > 64:
        raise InvalidObject(f"{what} is not a date-time")
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise InvalidObject(f"{what} is not a valid ISO 8601 date-time") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=tz or timezone.utc)
    return parsed
