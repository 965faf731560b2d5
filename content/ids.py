"""Time-ordered ids for what clients list (Mastodon-style snowflakes), so a timeline that mixes
posts and boosts (the Mastodon API's home timeline, which clients sort by id) pages and sorts
by one number.

Layout, from the high bits: milliseconds since 2020-01-01 (41 bits: until 2089), a 10-bit tag
drawn once per process, a 12-bit sequence within the millisecond. One process never repeats an
id (the sequence, then borrowing the next millisecond, keeps its ids strictly increasing); two
processes of a scale-out collide only if they drew the same tag (1 in 1024 per pair) AND issue
an id in the same millisecond with the same sequence number."""
from __future__ import annotations

import secrets
import threading
import time

EPOCH_MS = 1_577_836_800_000  # 2020-01-01T00:00:00Z
TAG_BITS, SEQ_BITS = 10, 12
MAX_SEQ = (1 << SEQ_BITS) - 1

_lock = threading.Lock()
_tag = secrets.randbits(TAG_BITS)
_last_ms = 0
_seq = 0


def compose(ms: int, tag: int, seq: int) -> int:
    return (max(ms - EPOCH_MS, 0) << (TAG_BITS + SEQ_BITS)) | (tag << SEQ_BITS) | seq


def snowflake() -> int:
    global _last_ms, _seq
    with _lock:
        now = int(time.time() * 1000)
        if now > _last_ms:
            _last_ms, _seq = now, 0
        elif _seq < MAX_SEQ:
            _seq += 1
        else:  # 4096 ids in one millisecond, or the clock went back: borrow the next millisecond
            _last_ms, _seq = _last_ms + 1, 0
        return compose(_last_ms, _tag, _seq)
