"""Inbound pipeline, asynchronous part: stored items are applied in arrival order by a
worker (in the web process, or a separate `unionhall worker`)."""
from __future__ import annotations

import asyncio
import logging
import random
from datetime import datetime, timedelta, timezone

from tortoise.expressions import Q

from actors.instance import Instance
from actors.models import RemoteActor
from content.as2 import as_list, id_of
from federation.vocab import ACTOR_TYPES
from inbox.errors import Retry
from inbox.handlers import Ignored, actors, follows, interactions, meetings, posts
from inbox.models import InboxItem, InboxState

log = logging.getLogger("unionhall.inbox")
LEASE = timedelta(minutes=2)
MAX_ATTEMPTS = 8
# One item's handler (network fetches included) may take this long before it is retried later.
ITEM_TIMEOUT = 60.0


def _handler(activity: dict):
    kind = activity["type"]
    obj = activity.get("object")
    inner_type = obj.get("type") if isinstance(obj, dict) else None
    if kind == "Follow":
        return follows.on_follow
    if kind in ("Accept", "Reject"):
        # Of our Follow, of our Join, or Friendica's RSVP on our meeting: routed by the object.
        return meetings.on_accept_or_reject
    if kind == "Join":
        return meetings.on_join
    if kind == "Leave":
        return meetings.on_leave
    if kind == "TentativeAccept":
        return meetings.on_tentative_accept
    if kind == "Ignore":
        return meetings.on_answer_to_our_join
    if kind == "Undo":
        if inner_type == "Follow":
            return follows.on_undo_follow
        if inner_type in ("Announce", "Like"):
            return interactions.on_undo_interaction
        if inner_type in ("Join", None):
            return meetings.on_undo_join
        if inner_type in ("Accept", "TentativeAccept"):
            # Friendica takes back its attend / maybe on an Event by undoing it.
            return meetings.on_undo_attendance
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
    """Claims due items with a lease and applies them one at a time, in arrival order.

    The lease works like the delivery queue's (federation/delivery.py): a claim writes a stamp
    into `locked_until` that no other worker can have written, and that stamp is a token. Before
    each item the token is renewed with a compare-and-set (so an item is only applied while we
    hold it, with a whole fresh lease ahead), and the outcome is written only where
    `locked_until` still equals our token: if the lease ran out and another worker took the
    item over, its outcome stands and ours is dropped. Handlers are idempotent (a re-applied
    Follow sends no second Accept), so the rare double application that remains is harmless.
    """

    def __init__(self, inst: Instance, *, batch: int = 10, poll_interval: float = 1.0,
                 item_timeout: float = ITEM_TIMEOUT) -> None:
        # Each item gets a fresh lease just before it runs, and may take at most item_timeout:
        # the outcome is always written inside the lease.
        if not 0 < item_timeout < LEASE.total_seconds():
            raise ValueError("item_timeout must be positive and shorter than the lease")
        self.inst = inst
        self.batch = batch
        self.poll_interval = poll_interval
        self.item_timeout = item_timeout
        self._wake = asyncio.Event()
        self._rng = random.Random()

    def wake(self) -> None:
        self._wake.set()

    def _now(self) -> datetime:
        # SQLite compares the stored ISO strings, which only order correctly in one zone.
        return self.inst.now().astimezone(timezone.utc)

    def _stamp(self, now: datetime) -> datetime:
        # The random microseconds tell our stamp from one another process wrote in the same instant.
        return now + LEASE + timedelta(microseconds=self._rng.randrange(1, 1_000_000))

    async def _claim(self) -> tuple[list[InboxItem], datetime | None]:
        now = self._now()
        due = Q(locked_until__isnull=True) | Q(locked_until__lt=now)
        ids = await InboxItem.filter(due, state=InboxState.PENDING).order_by("id").limit(self.batch).values_list(
            "id", flat=True)
        if not ids:
            return [], None
        # Compare-and-set on the whole batch: only rows still due take our stamp.
        stamp = self._stamp(now)
        await InboxItem.filter(due, id__in=ids, state=InboxState.PENDING).update(locked_until=stamp)
        return await InboxItem.filter(id__in=ids, locked_until=stamp).order_by("id"), stamp

    async def _renew(self, item: InboxItem, rest: list[InboxItem], token: datetime) -> datetime | None:
        """Confirm we still hold `item` and give it, and the rest of the batch we still hold, a full
        lease: the new token, or None if the item is no longer ours."""
        now = self._now()
        if now >= token:
            return None  # the lease ran out: another worker may be applying it already
        renewed = self._stamp(now)
        # Attempts are counted before the handler runs, so an item that crashes the process counts too.
        if not await InboxItem.filter(id=item.id, locked_until=token, state=InboxState.PENDING).update(
                locked_until=renewed, attempts=item.attempts + 1):
            return None
        if rest:
            # A rest item some other worker took keeps its stamp, and fails its own check when reached.
            await InboxItem.filter(id__in=[i.id for i in rest], locked_until=token,
                                   state=InboxState.PENDING).update(locked_until=renewed)
        item.attempts += 1
        return renewed

    async def _apply_bounded(self, item: InboxItem) -> tuple[str, str, datetime | None]:
        """(state, result, locked_until) for one item; one slow peer costs at most item_timeout."""
        budget = asyncio.timeout(self.item_timeout)
        try:
            async with budget:
                state, result = await apply(self.inst, item)
            return state, result, None
        except (Retry, TimeoutError) as exc:
            reason = f"took longer than {self.item_timeout:g} s" if budget.expired() else str(exc) or repr(exc)
            state = InboxState.ERROR if item.attempts >= MAX_ATTEMPTS else InboxState.PENDING
            # A pending item's locked_until is its next try.
            retry_at = self._now() + timedelta(seconds=30 * 2 ** item.attempts) if state == InboxState.PENDING \
                else None
            return state, f"temporary failure: {reason}", retry_at
        except Exception as exc:  # a bug must not wedge the queue; it is logged and kept visible
            log.exception("inbox item %s failed", item.activity_id)
            return InboxState.ERROR, f"{type(exc).__name__}: {exc}", None

    async def _process(self, item: InboxItem, rest: list[InboxItem], token: datetime) -> datetime | None:
        """Apply one claimed item; the token the rest of the batch now carries, or None if the lease
        was lost (then the rest of the batch is not ours either)."""
        token = await self._renew(item, rest, token)
        if token is None:
            log.info("inbox item %s: lease lost before it was applied; left to its new holder", item.activity_id)
            return None
        state, result, locked_until = await self._apply_bounded(item)
        result = result[:2000]
        processed_at = self._now() if state != InboxState.PENDING else None
        if not await InboxItem.filter(id=item.id, locked_until=token).update(
                state=state, result=result, processed_at=processed_at, locked_until=locked_until):
            # The lease lapsed and another worker took the item over: its outcome stands, not ours.
            log.warning("inbox item %s: lease lost while it was applied; its outcome was not written",
                        item.activity_id)
            return None
        item.state, item.result, item.processed_at, item.locked_until = state, result, processed_at, locked_until
        log.debug("inbox %s %s: %s", item.type, state, result)
        return token

    async def run_once(self) -> int:
        """Claim a batch and apply it in arrival order; returns how many items were claimed."""
        items, token = await self._claim()
        for n, item in enumerate(items):
            assert token is not None
            token = await self._process(item, items[n + 1:], token)
            if token is None:
                # Stop rather than apply a later item while another worker may hold an earlier one;
                # what is left runs out its lease and is claimed again, in order.
                break
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
