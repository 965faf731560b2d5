"""Inbound pipeline, asynchronous part: stored items are applied in arrival order by a
worker (in the web process, or a separate `unionhall worker`)."""
from __future__ import annotations

import asyncio
import logging
import random
from datetime import timedelta

from tortoise.expressions import Q

from actors.instance import Instance
from actors.models import RemoteActor
from content.as2 import as_list, id_of
from federation.vocab import ACTOR_TYPES
from inbox.errors import Retry
from inbox.handlers import Ignored, actors, follows, interactions, posts
from inbox.models import InboxItem, InboxState

log = logging.getLogger("unionhall.inbox")
LEASE = timedelta(minutes=2)
MAX_ATTEMPTS = 8


def _handler(activity: dict):
    kind = activity["type"]
    obj = activity.get("object")
    inner_type = obj.get("type") if isinstance(obj, dict) else None
    if kind == "Follow":
        return follows.on_follow
    if kind in ("Accept", "Reject"):
        return follows.on_accept_or_reject
    if kind == "Undo":
        if inner_type == "Follow":
            return follows.on_undo_follow
        if inner_type in ("Announce", "Like"):
            return interactions.on_undo_interaction
        return None
    if kind == "Create":
        return posts.on_create
    if kind == "Update":
        types = set(as_list(inner_type))
        return actors.on_update_actor if types & ACTOR_TYPES else posts.on_update_object
    if kind == "Delete":
        return actors.on_delete_actor if id_of(obj) == id_of(activity.get("actor")) else posts.on_delete_object
    if kind == "Announce":
        return interactions.on_announce
    if kind == "Like":
        return interactions.on_like
    return None


async def apply(inst: Instance, item: InboxItem) -> tuple[str, str]:
    """Run the handler of one stored item; returns (state, result)."""
    handler = _handler(item.payload)
    if handler is None:
        return InboxState.IGNORED, f"{item.type} is not handled"
    signer = await RemoteActor.filter(uri=item.actor_uri).first()
    if signer is None:
        return InboxState.IGNORED, "unknown actor"
    try:
        return InboxState.DONE, await handler(inst, item.payload, signer)
    except Ignored as exc:
        return InboxState.IGNORED, str(exc)


class InboxProcessor:
    def __init__(self, inst: Instance, *, batch: int = 50, poll_interval: float = 1.0) -> None:
        self.inst = inst
        self.batch = batch
        self.poll_interval = poll_interval
        self._wake = asyncio.Event()
        self._rng = random.Random()

    def wake(self) -> None:
        self._wake.set()

    async def _claim(self) -> list[InboxItem]:
        now = self.inst.now()
        due = Q(locked_until__isnull=True) | Q(locked_until__lt=now)
        ids = await InboxItem.filter(due, state=InboxState.PENDING).order_by("id").limit(self.batch).values_list(
            "id", flat=True)
        if not ids:
            return []
        # Compare-and-set on the whole batch; the random stamp tells our rows from those another
        # process claimed in the same instant.
        stamp = now + LEASE + timedelta(microseconds=self._rng.randrange(1, 1_000_000))
        await InboxItem.filter(due, id__in=ids, state=InboxState.PENDING).update(locked_until=stamp)
        return await InboxItem.filter(id__in=ids, locked_until=stamp).order_by("id")

    async def run_once(self) -> int:
        items = await self._claim()
        for item in items:
            item.attempts += 1
            try:
                state, result = await apply(self.inst, item)
            except Retry as exc:
                state = InboxState.ERROR if item.attempts >= MAX_ATTEMPTS else InboxState.PENDING
                result = f"temporary failure: {exc}"
                item.locked_until = self.inst.now() + timedelta(seconds=30 * 2 ** item.attempts)
            except Exception as exc:  # a bug must not wedge the queue; it is logged and kept visible
                log.exception("inbox item %s failed", item.activity_id)
                state, result = InboxState.ERROR, f"{type(exc).__name__}: {exc}"
            item.state, item.result = state, result[:2000]
            if state != InboxState.PENDING:
                item.processed_at = self.inst.now()
                item.locked_until = None
            await item.save(update_fields=["state", "result", "attempts", "processed_at", "locked_until"])
            log.debug("inbox %s %s: %s", item.type, state, result)
        return len(items)

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                done = await self.run_once()
            except Exception:
                log.exception("inbox processor pass failed")
                done = 0
            if done:
                continue
            self._wake.clear()
            waiter = asyncio.ensure_future(self._wake.wait())
            stopper = asyncio.ensure_future(stop.wait())
            await asyncio.wait({waiter, stopper}, timeout=self.poll_interval, return_when=asyncio.FIRST_COMPLETED)
            waiter.cancel()
            stopper.cancel()
