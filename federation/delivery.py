"""The delivery queue: rows in federation.models, claimed with a lease, signed and POSTed,
retried per federation.retry, with a per-host circuit breaker.

Nothing is held in memory that matters: a claim is `locked_until` on the row, so a crashed
worker's claims run out and the work resumes; several worker processes on PostgreSQL claim
with FOR UPDATE SKIP LOCKED and never share a row. Delivery is at-least-once (a crash after
the POST but before the outcome is written sends again); receivers dedupe by activity id.
"""
from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import urlsplit

import httpx
from tortoise.backends.base.client import TransactionContext
from tortoise.expressions import Q, Subquery
from tortoise.functions import Count
from tortoise.queryset import QuerySet
from tortoise.transactions import in_transaction

from federation import retry
from federation.clock import SYSTEM_CLOCK, Clock
from federation.http import LOCAL_QUEUE_FULL, BlockedAddress, FetchError, SafeClient, parse_retry_after
from federation.httpsig import SigningKey
from federation.models import Delivery, DeliveryState, Envelope, HostHealth

__all__ = ["INVALID_HOST", "DeliveryWorker", "KeyProvider", "cancel_host", "deliveries_for", "delivery_summary",
           "enqueue", "has_waiting", "inbox_host", "retry_host_now"]

log = logging.getLogger(__name__)

KeyProvider = Callable[[str], Awaitable[SigningKey]]
_DEFAULT_PORTS = {"http": 80, "https": 443}
_MAX_INBOX_CHARS = 2048  # Delivery.inbox
_MAX_HOST_CHARS = 255  # Delivery.host / HostHealth.host
# The host of a delivery whose inbox URL could not be used at all (stored failed at enqueue).
INVALID_HOST = "invalid"
_ERROR_BODY_CHARS = 200
_UNUSABLE_URL = frozenset({"invalid URL", "unsupported URL"})  # SafeClient's reasons
# Deliveries stuck behind an open circuit are never attempted, so they would never reach
# the "fails again after MAX_AGE" rule; a sweep expires them. Once a minute is plenty.
_SWEEP_EVERY = timedelta(minutes=1)
_STRANDED_ERROR = "host unreachable (circuit open) for longer than the retry window"


def _transaction() -> TransactionContext:
    # The models' own connection name: federation must not assume how the app named it.
    # Inside a caller's transaction this yields a savepoint on that same transaction.
    return in_transaction(Delivery._meta.default_connection)


def _utc(when: datetime) -> datetime:
    if when.tzinfo is None:
        raise ValueError("naive datetime: pass an aware UTC datetime")
    # SQLite compares the stored ISO strings, which only order correctly in one zone.
    return when.astimezone(timezone.utc)


def inbox_host(url: str) -> str:
    """The circuit breaker's unit: lowercase host, plus the port when it is not the default.

    ValueError (with a short reason) for anything that is not a storable absolute http(s) URL.
    """
    if not isinstance(url, str):
        raise ValueError("not a string")
    if len(url) > _MAX_INBOX_CHARS:
        raise ValueError(f"longer than {_MAX_INBOX_CHARS} characters")
    if not url.isprintable() or any(c.isspace() for c in url):
        # NUL and lone surrogates cannot even be stored (PostgreSQL); the rest is no URL either.
        raise ValueError("control character or space in URL")
    parts = urlsplit(url)
    if parts.scheme not in _DEFAULT_PORTS:
        raise ValueError("not an http(s) URL")
    if "@" in parts.netloc:
        # user:pass@ would be sent as an Authorization header; the safe client refuses it anyway.
        raise ValueError("credentials in URL")
    if not parts.hostname:
        raise ValueError("no host")
    host = parts.hostname
    try:
        port = parts.port
    except ValueError as exc:
        raise ValueError(f"bad port: {exc}") from None
    if port is not None and port != _DEFAULT_PORTS[parts.scheme]:
        host = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    if len(host) > _MAX_HOST_CHARS:
        raise ValueError("host name too long")
    return host


def _checked_inbox(url: str) -> str:
    """inbox_host, plus the parse SafeClient will do at send time (IDNA, IPv6 syntax, …)."""
    host = inbox_host(url)
    try:
        httpx.URL(url)
    except (httpx.InvalidURL, ValueError, TypeError) as exc:
        raise ValueError(f"invalid URL: {exc}") from None
    return host


def _shown(value: object) -> str:
    """An unusable inbox as it can be stored and shown: escaped, and cut to the column."""
    text = value if isinstance(value, str) else repr(value)
    text = "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)
    return text if len(text) <= _MAX_INBOX_CHARS else text[:_MAX_INBOX_CHARS - 1] + "…"


async def enqueue(activity_id: str, body: bytes, key_id: str, inboxes: Iterable[str], *,
                  now: datetime) -> Envelope:
    """Store one envelope and one pending delivery per distinct inbox.

    Model queries inside the caller's `async with in_transaction():` run on that transaction's
    connection (tortoise swaps it into a context variable, connection.py `set`), so these rows
    commit or roll back with the caller's domain rows. Called alone, it is its own transaction.

    An inbox URL that cannot be used (bad port, no host, not http(s), credentials, too long,
    control characters) must not stop the publication to everyone else: it is stored as a
    delivery already FAILED, host INVALID_HOST, last_error "invalid inbox URL: <why>", so the
    admin sees it. It is never sent.
    """
    now = _utc(now)
    rows: list[Delivery] = []
    seen_keys: set[str] = set()
    seen_inboxes: set[str] = set()  # (envelope, inbox) is unique
    for raw in inboxes:
        inbox = raw.strip() if isinstance(raw, str) else raw
        try:
            host = _checked_inbox(inbox)
        except ValueError as exc:
            shown = _shown(inbox)
            if shown in seen_inboxes:
                continue
            seen_inboxes.add(shown)
            rows.append(Delivery(inbox=shown, host=INVALID_HOST, state=DeliveryState.FAILED,
                                 last_error=f"invalid inbox URL: {exc}", next_attempt_at=now,
                                 created_at=now, finished_at=now))
            continue
        parts = urlsplit(inbox)
        # Same inbox spelled with another host case or an explicit default port is one inbox.
        key = f"{parts.scheme.lower()}://{host}{parts.path or '/'}?{parts.query}"
        if key in seen_keys or inbox in seen_inboxes:
            continue
        seen_keys.add(key)
        seen_inboxes.add(inbox)
        rows.append(Delivery(inbox=inbox, host=host, next_attempt_at=now, created_at=now))
    async with _transaction():
        envelope = await Envelope.create(activity_id=activity_id, body=bytes(body), key_id=key_id,
                                         created_at=now)
        for row in rows:
            row.envelope = envelope
        await Delivery.bulk_create(rows)
    return envelope


async def deliveries_for(activity_id: str) -> list[Delivery]:
    """Every delivery of an activity (all envelopes with that id), oldest first."""
    return await Delivery.filter(envelope__activity_id=activity_id).order_by("id")


async def delivery_summary(*, now: datetime | None = None) -> list[dict[str, Any]]:
    """Per host: counts by state, the last error, and until when its circuit is open (None if closed)."""
    now = _utc(now) if now else SYSTEM_CLOCK.now()
    rows = await (Delivery.all().group_by("host", "state").annotate(n=Count("id"))
                  .values("host", "state", "n"))
    hosts: dict[str, dict[str, Any]] = {}
    for row in rows:
        entry = hosts.setdefault(row["host"], {"host": row["host"], **{s: 0 for s in DeliveryState.ALL}})
        entry[row["state"]] = row["n"]
    health = {h.host: h for h in await HostHealth.filter(host__in=list(hosts))}
    for host, entry in hosts.items():
        h = health.get(host)
        open_until = h.circuit_open_until if h else None
        entry.update(
            last_error=h.last_error if h else "",
            circuit_open_until=open_until if open_until and open_until > now else None,
            consecutive_failures=h.consecutive_failures if h else 0,
            last_success_at=h.last_success_at if h else None,
        )
    return [hosts[h] for h in sorted(hosts)]


# What an outcome does to the host's health row.
_RESET = "reset"  # the host answered: close the circuit (Mastodon's Stoplight counts 4xx as green)
_COUNT = "count"  # unreachable or erroring: one more consecutive failure
_NOTE = "note"  # refused by our own policy: remember the error, leave the counters alone
_NONE = "none"  # our side failed (no signing key): the host is not to blame


@dataclass(frozen=True)
class _Outcome:
    kind: str  # retry.OK / PERMANENT / RETRY
    host_effect: str
    status: int | None = None
    error: str = ""
    retry_after: float | None = None


# Not an outcome: the request never left (no free connection slot in time); hand the row back.
_QUEUED = _Outcome("queued", _NONE)


@dataclass(frozen=True)
class _Claim:
    delivery: Delivery
    probe: bool  # the one request let through a half-open circuit


def _describe(resp: httpx.Response) -> str:
    head = f"HTTP {resp.status_code} {resp.reason_phrase}".rstrip()
    text = " ".join(resp.content[:_ERROR_BODY_CHARS * 4].decode("utf-8", "replace")[:_ERROR_BODY_CHARS].split())
    return f"{head}: {text}" if text else head


def _due(now: datetime) -> QuerySet[Delivery]:
    open_hosts = HostHealth.filter(circuit_open_until__gt=now).values("host")
    return (Delivery.filter(state=DeliveryState.PENDING)
            .filter(Q(locked_until=None) | Q(locked_until__lt=now))
            .exclude(host__in=Subquery(open_hosts)))


class DeliveryWorker:
    def __init__(self, *, client: SafeClient, keys: KeyProvider, clock: Clock = SYSTEM_CLOCK,
                 rng: random.Random | None = None, concurrency: int = 32, batch: int = 64,
                 lease: timedelta = timedelta(minutes=2), poll_interval: float = 1.0,
                 on_result: Callable[[Delivery], Awaitable[None]] | None = None) -> None:
        # The lease must outlast a whole batch: batch/concurrency rounds of the client's
        # total timeout (64/32 x 30 s = 60 s < 2 min with the defaults). Waiting for one of the
        # client's per-host slots is not in that timeout: each send may wait only for what is
        # left of its lease after the total timeout (see _send).
        self._client = client
        self._keys = keys
        self._clock = clock
        self._rng = rng or random.Random()
        self._sem = asyncio.Semaphore(concurrency)
        self._batch = batch
        self._lease = lease
        self._poll_interval = poll_interval
        self._on_result = on_result
        self._wake = asyncio.Event()
        self._last_claimed = 0
        self._last_sweep: datetime | None = None
        # Circuits our own outcomes opened during the current batch: the rest of that host's
        # batch is handed back instead of piling onto a dead server.
        self._open_circuits: dict[str, datetime] = {}

    def wake(self) -> None:
        """Start due work now (call from the worker's event loop, e.g. right after enqueue)."""
        self._wake.set()

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            self._wake.clear()  # before run_once, so a wake() during the batch is not lost
            try:
                await self.run_once()
            except Exception:  # a database hiccup must not kill the worker; the next round retries
                log.exception("delivery round failed")
            if self._last_claimed >= self._batch and not stop.is_set():
                continue  # a full batch: more is probably due
            waiters = [asyncio.ensure_future(self._wake.wait()), asyncio.ensure_future(stop.wait())]
            try:
                await asyncio.wait(waiters, timeout=self._poll_interval, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for waiter in waiters:
                    waiter.cancel()

    async def run_once(self) -> int:
        """Claim due deliveries, send them (at most `concurrency` at once), record each outcome."""
        self._last_claimed = 0
        now = _utc(self._clock.now())
        if self._last_sweep is None or now - self._last_sweep >= _SWEEP_EVERY:
            await _expire_stranded(now)
            self._last_sweep = now
        claims = await self._claim(now)
        self._last_claimed = len(claims)
        if not claims:
            return 0
        self._open_circuits.clear()
        ids = {c.delivery.envelope_id for c in claims}  # type: ignore[attr-defined]
        envelopes = {e.id: e for e in await Envelope.filter(id__in=ids)}
        done = await asyncio.gather(*(
            self._attempt(c, envelopes[c.delivery.envelope_id]) for c in claims  # type: ignore[attr-defined]
        ))
        return sum(done)

    async def _claim(self, now: datetime) -> list[_Claim]:
        until = now + self._lease
        async with _transaction():
            # On PostgreSQL the ORM emits `... FOR UPDATE OF "federation_delivery" SKIP LOCKED`:
            # rows another worker is claiming right now are passed over, not waited for.
            # SQLite has no row locks; its one writer at a time serialises claims instead.
            due = await (_due(now).filter(next_attempt_at__lte=now)
                         .order_by("next_attempt_at", "id").limit(self._batch)
                         .select_for_update(skip_locked=True, of=(Delivery._meta.db_table,)))
            if not due:
                return []
            hosts = {d.host for d in due}
            # A host with circuit_open_until set (and past, or _due would have left it out) is
            # half-open: only one probe may go. Lock its health row so two workers cannot both
            # probe; a row locked by another worker means that worker is probing it.
            tripped = set(await HostHealth.filter(host__in=hosts, circuit_open_until__isnull=False)
                          .values_list("host", flat=True))
            probing = {h.host for h in await HostHealth.filter(host__in=tripped, circuit_open_until__lte=now)
                       .select_for_update(skip_locked=True)} if tripped else set()
            claims: list[_Claim] = []
            for d in due:
                if d.host in tripped:
                    if d.host not in probing:
                        continue
                    probing.discard(d.host)  # later rows of this host wait for the probe's verdict
                    claims.append(_Claim(d, probe=True))
                else:
                    claims.append(_Claim(d, probe=False))
            if not claims:
                return []
            probes = [c.delivery.host for c in claims if c.probe]
            if probes:
                # Re-arm the circuit for the probe's lease: other workers leave the host alone
                # until the probe's outcome resets it or opens it again (or, after a crash or an
                # outcome that says nothing about the host, the lease lapses: half-open again).
                await HostHealth.filter(host__in=probes).update(circuit_open_until=until)
            await Delivery.filter(id__in=[c.delivery.id for c in claims]).update(locked_until=until)
        for c in claims:
            c.delivery.locked_until = until  # the claim token the outcome update checks
        return claims

    async def _attempt(self, claim: _Claim, envelope: Envelope) -> int:
        d = claim.delivery
        async with self._sem:
            now = _utc(self._clock.now())
            assert d.locked_until is not None
            if now >= d.locked_until:
                return 0  # the lease ran out while queued: another worker may own the row now
            try:
                opened = self._open_circuits.get(d.host)
                if opened is not None and opened > now and not claim.probe:
                    # Hand it back untouched: it waits for the circuit, it has not failed.
                    await Delivery.filter(id=d.id, locked_until=d.locked_until).update(locked_until=None)
                    return 0
                outcome = await self._send(d, envelope, now)
                if outcome is _QUEUED:
                    # Never sent: our own queue was full. Not an attempt, not the host's fault.
                    await Delivery.filter(id=d.id, locked_until=d.locked_until).update(locked_until=None)
                    return 0
                recorded = await self._record(d, outcome, _utc(self._clock.now()))
            except Exception:  # logged, and the lease hands the row to a later round
                log.exception("delivery %s to %s crashed", d.id, d.inbox)
                return 0
        if recorded and self._on_result is not None:
            try:
                await self._on_result(d)
            except Exception:
                log.exception("on_result hook failed for delivery %s", d.id)
        return 1

    async def _send(self, d: Delivery, envelope: Envelope, now: datetime) -> _Outcome:
        try:
            key = await self._keys(envelope.key_id)
        except Exception as exc:
            log.exception("no signing key %s for delivery %s", envelope.key_id, d.id)
            return _Outcome(retry.RETRY, _NONE, error=f"signing key {envelope.key_id} unavailable: {exc}")
        # Wait for a connection slot only as long as the lease still covers the whole request
        # afterwards; past that another worker could claim the row while we send it.
        assert d.locked_until is not None
        left = (d.locked_until - now).total_seconds() - self._client.total_timeout
        queue_timeout = min(self._client.queue_timeout, max(0.0, left))
        try:
            # SafeClient signs at send time, so every attempt carries a fresh Date and signature.
            resp = await self._client.post(d.inbox, envelope.body, sign_with=key, queue_timeout=queue_timeout)
        except BlockedAddress as exc:
            reason = f"{exc.reason}: {exc.detail}" if exc.detail else exc.reason
            return _Outcome(retry.PERMANENT, _NOTE, error=reason)
        except FetchError as exc:
            if exc.reason == LOCAL_QUEUE_FULL:
                return _QUEUED
            if exc.reason in _UNUSABLE_URL:  # retrying cannot fix the URL itself
                return _Outcome(retry.PERMANENT, _NONE, error=f"{exc.reason}: {exc.detail}")
            return _Outcome(retry.RETRY, _COUNT, error=exc.reason)
        kind = retry.classify(resp.status_code)
        if kind == retry.OK:
            return _Outcome(kind, _RESET, status=resp.status_code)
        if kind == retry.PERMANENT:
            return _Outcome(kind, _RESET, status=resp.status_code, error=_describe(resp))
        return _Outcome(kind, _COUNT, status=resp.status_code, error=_describe(resp),
                        retry_after=parse_retry_after(resp.headers.get("retry-after"), now))

    async def _record(self, d: Delivery, outcome: _Outcome, now: datetime) -> bool:
        fields: dict[str, Any] = {"attempts": d.attempts + 1, "locked_until": None,
                                  "last_status": outcome.status, "last_error": outcome.error}
        if outcome.kind == retry.OK:
            fields.update(state=DeliveryState.DELIVERED, finished_at=now)
        elif outcome.kind == retry.PERMANENT:
            fields.update(state=DeliveryState.FAILED, finished_at=now)
        elif now - d.created_at > retry.MAX_AGE:
            fields.update(state=DeliveryState.EXPIRED, finished_at=now)
        else:
            delay = retry.retry_delay(fields["attempts"], self._rng, outcome.retry_after)
            fields.update(next_attempt_at=now + delay)
        async with _transaction():
            # Matching locked_until makes the claim a token: if our lease lapsed and another
            # worker re-claimed the row, its outcome wins and ours is dropped.
            if not await Delivery.filter(id=d.id, locked_until=d.locked_until).update(**fields):
                log.warning("delivery %s: lease lost before its outcome was written", d.id)
                return False
            await self._update_host(d.host, outcome, now)
        for name, value in fields.items():
            setattr(d, name, value)
        if d.state in (DeliveryState.FAILED, DeliveryState.EXPIRED):
            log.info("delivery %s to %s %s: %s", d.id, d.inbox, d.state, d.last_error)
        return True

    async def _update_host(self, host: str, outcome: _Outcome, now: datetime) -> None:
        if outcome.host_effect == _NONE:
            return
        health = await HostHealth.filter(host=host).select_for_update().get_or_none()
        if health is None:
            # Two workers may meet the same new host: insert-or-ignore, then lock what is there.
            await HostHealth.bulk_create([HostHealth(host=host)], ignore_conflicts=True)
            health = await HostHealth.filter(host=host).select_for_update().get()
        if outcome.host_effect == _RESET:
            health.consecutive_failures = 0
            health.circuit_open_until = None
            self._open_circuits.pop(host, None)
        elif outcome.host_effect == _COUNT:
            health.consecutive_failures += 1
            health.circuit_open_until = retry.circuit_open_until(health.consecutive_failures, now)
            if health.circuit_open_until is not None:
                self._open_circuits[host] = health.circuit_open_until
        if outcome.kind == retry.OK:
            health.last_success_at = now
        else:
            health.last_failure_at = now
            health.last_error = outcome.error
        await health.save()


async def _expire_stranded(now: datetime) -> int:
    """Expire pending deliveries older than MAX_AGE whose host's circuit is open right now."""
    open_hosts = HostHealth.filter(circuit_open_until__gt=now).values("host")
    async with _transaction():
        stranded = (Delivery.filter(state=DeliveryState.PENDING, created_at__lt=now - retry.MAX_AGE,
                                    host__in=Subquery(open_hosts))
                    .filter(Q(locked_until=None) | Q(locked_until__lt=now)))
        await stranded.filter(last_error="").update(last_error=_STRANDED_ERROR)
        return await stranded.update(state=DeliveryState.EXPIRED, finished_at=now, locked_until=None)


async def retry_host_now(host: str, *, now: datetime) -> int:
    """The host is back (it just talked to us, or an admin says so): close its circuit and make
    its waiting deliveries due now. Returns how many deliveries were brought forward."""
    now = _utc(now)
    async with _transaction():
        await HostHealth.filter(host=host).update(consecutive_failures=0, circuit_open_until=None)
        return await Delivery.filter(host=host, state=DeliveryState.PENDING, next_attempt_at__gt=now).update(
            next_attempt_at=now)


async def has_waiting(host: str, *, now: datetime) -> bool:
    return await Delivery.filter(host=host, state=DeliveryState.PENDING, next_attempt_at__gt=_utc(now)).exists()


def _domain_spellings(host_domain: str) -> set[str]:
    name = host_domain.strip().lower().rstrip(".")
    if not name:
        raise ValueError("no domain given")
    spellings = {name}
    for convert in (lambda n: n.encode("idna").decode("ascii"), lambda n: n.encode("ascii").decode("idna")):
        try:  # stored hosts keep the URL's spelling: match the Unicode and the xn-- form alike
            spellings.add(convert(name).lower())
        except UnicodeError:
            pass
    # ...and with the trailing dot a URL may carry ("https://evil.example./inbox").
    return spellings | {f"{n}." for n in spellings}


async def cancel_host(host_domain: str, *, reason: str, now: datetime) -> int:
    """Fail every pending delivery to `host_domain` or any of its subdomains, on any port (an
    admin blocked the domain): "evil.example" covers evil.example, evil.example:8443 and
    sub.evil.example[:port], not notevil.example or evil.example.com. last_error = `reason`.

    A delivery a worker is sending right now is failed as well; clearing its lease makes that
    worker's outcome a no-op (_record matches the lease). Returns how many were failed.
    """
    now = _utc(now)
    match = Q(*(Q(host=name) | Q(host__startswith=f"{name}:") | Q(host__endswith=f".{name}")
                | Q(host__contains=f".{name}:")  # a subdomain with a port: the only ':' precedes the port
                for name in _domain_spellings(host_domain)), join_type=Q.OR)
    async with _transaction():
        return await Delivery.filter(match, state=DeliveryState.PENDING).update(
            state=DeliveryState.FAILED, last_error=reason, finished_at=now, locked_until=None)
