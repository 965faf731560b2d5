from __future__ import annotations


class Refused(Exception):
    """An inbound request refused with an HTTP status and a reason a peer's admin can read."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(f"{status}: {reason}")
        self.status = status
        self.reason = reason


class Retry(Exception):
    """A handler hit a temporary failure (peer down); the item is tried again later."""
