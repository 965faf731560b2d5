"""Shared pieces of the benchmark runs: the instance under test, a read-only probe of its
database, CPU accounting, signed POSTs sent with a bounded number in flight, and a
timestamping fake peer.

Everything talks to 127.0.0.0/8 only. Every wait is bounded by a deadline.
"""
from __future__ import annotations

import asyncio
import functools
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding

from tests.e2e import harness
from tests.e2e.harness import Instance, destroy, make_instance
from tests.support import fakepeer, mastodon_signer
from tests.support.fakepeer import FakePeer

PUBLIC = "https://www.w3.org/ns/activitystreams#Public"
CLK_TCK = os.sysconf("SC_CLK_TCK")


# --------------------------------------------------------------- fake-peer key caching

@functools.lru_cache(maxsize=8)
def _private_key(pem: str):
    return serialization.load_pem_private_key(pem.encode(), password=None)


def _cached_sign_bytes(private_key_pem: str, data: bytes) -> bytes:
    return _private_key(private_key_pem).sign(data, padding.PKCS1v15(), hashes.SHA256())  # type: ignore[union-attr]


def install_fake_key_cache() -> None:
    """Make the fake peers parse their one shared RSA key once, not on every use.

    tests.support re-parses the PEM on every signature (mastodon_signer._sign_bytes) and on
    every actor document served (fakepeer.public_key_pem_from_private): ~33 ms each on this
    machine (private-key consistency checks), which would put the *sender's* key parsing
    into the figures. Patched in this process only; the signatures are byte-identical.
    """
    mastodon_signer._sign_bytes = _cached_sign_bytes  # type: ignore[assignment]
    fakepeer.public_key_pem_from_private = functools.lru_cache(maxsize=8)(  # type: ignore[assignment]
        fakepeer.public_key_pem_from_private)


# --------------------------------------------------------------- a peer that keeps time

@dataclass
class TimedPeer(FakePeer):
    """A FakePeer that also records (wall time, path, status) when each POST's answer is sent."""

    answered: list[tuple[float, str, int]] = field(default_factory=list)

    def app(self) -> Any:  # type: ignore[override]
        inner = super().app()

        async def timed(scope, receive, send):
            if scope["type"] != "http" or scope["method"] != "POST":
                return await inner(scope, receive, send)
            status = [0]

            async def send_wrapper(message):
                if message["type"] == "http.response.start":
                    status[0] = message["status"]
                await send(message)
                if message["type"] == "http.response.body" and not message.get("more_body"):
                    self.answered.append((time.time(), scope["path"], status[0]))

            await inner(scope, receive, send_wrapper)

        return timed

    def reset(self) -> None:
        self.received = []
        self.answered = []


def start_peers(first_ip: int, count: int) -> list[TimedPeer]:
    """`count` timed peers on 127.0.0.{first_ip} … (loopback only)."""
    if first_ip < 1 or first_ip + count - 1 > 254:
        raise ValueError("peers must stay inside 127.0.0.1-127.0.0.254")
    peers: list[TimedPeer] = []
    try:
        for i in range(count):
            peers.append(TimedPeer(host_ip=f"127.0.0.{first_ip + i}").start())  # type: ignore[arg-type]
    except Exception:
        stop_peers(peers)
        raise
    return peers


def stop_peers(peers: list[TimedPeer]) -> None:
    for peer in peers:
        try:
            peer.stop()
        except Exception:  # noqa: BLE001 - best effort at teardown
            pass


# --------------------------------------------------------------- the instance under test

async def start_union(tmp: Path, db: str, *, profile_to: Path | None = None, count_sql: bool = False,
                      **extra_env: str) -> Instance:
    """A fresh union instance (SQLite file or a new PostgreSQL database), started with the CLI.

    Diagnostics (they slow the server down: their timings are not comparable):
    `profile_to` runs `serve` under cProfile and writes its stats there when it stops;
    `count_sql` runs it at log level debug, so `sql_since` can count the SQL it issued.
    """
    os.environ["UNIONHALL_TEST_DB"] = db  # read by tests.dbutil.create_database
    if count_sql:
        extra_env["UNIONHALL_LOG_LEVEL"] = "debug"
    inst = await make_instance(tmp, "union", "union", "Benchmark Workers' Union",
                               UNIONHALL_ALLOW_PRIVATE_ADDRESSES="127.0.0.0/8", **extra_env)
    start_instance(inst, profile_to)
    return inst


def start_instance(inst: Instance, profile_to: Path | None = None) -> None:
    if profile_to is None:
        inst.start()
        return
    plain = harness.UNIONHALL
    harness.UNIONHALL = [sys.executable, "-m", "cProfile", "-o", str(profile_to), "-m", "unionhall.cli"]
    try:
        inst.start()
    finally:
        harness.UNIONHALL = plain


def log_offset(inst: Instance) -> int:
    return inst.log_path.stat().st_size if inst.log_path.exists() else 0


_SQL_LINE = re.compile(r" DEBUG tortoise\.db_client: (.*)$")
_PLACEHOLDERS = re.compile(r"\((?:\?|\$\d+)(?:,\s*(?:\?|\$\d+))*\)")


def sql_since(inst: Instance, offset: int, per: int, top: int = 12) -> dict[str, Any]:
    """SQL statements the instance logged (log level debug) since `offset`, per item and by shape."""
    with open(inst.log_path, "rb") as f:
        f.seek(offset)
        text = f.read().decode("utf-8", "replace")
    shapes: dict[str, int] = {}
    for line in text.splitlines():
        m = _SQL_LINE.search(line)
        if not m or m.group(1).startswith(("Created connection pool", "Closed connection pool")):
            continue
        sql = m.group(1).split(": [", 1)[0].split(": (", 1)[0]
        sql = _PLACEHOLDERS.sub("(…)", re.sub(r"\$\d+", "?", sql))
        shape = sql[:140]
        shapes[shape] = shapes.get(shape, 0) + 1
    total = sum(shapes.values())
    ranked = sorted(shapes.items(), key=lambda kv: -kv[1])[:top]
    return {"statements": total, "per_item": round(total / per, 2) if per else None,
            "by_shape": [{"n": n, "per_item": round(n / per, 2) if per else None, "sql": sql} for sql, n in ranked]}


def stop_instance(inst: Instance) -> None:
    """SIGINT, not the harness's SIGTERM: uvicorn re-raises the signal after its graceful
    shutdown, and only SIGINT's KeyboardInterrupt lets cProfile write its stats."""
    if inst.proc is not None and inst.proc.poll() is None:
        inst.proc.send_signal(signal.SIGINT)
        try:
            inst.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            pass
    if inst.proc is not None and inst.proc.poll() is not None:
        inst.proc = None


async def stop_union(inst: Instance) -> None:
    """Stop the instance and drop its database (if PostgreSQL)."""
    stop_instance(inst)
    await destroy(inst)  # SIGTERM/SIGKILL if still running


def proc_cpu_seconds(pid: int) -> float:
    """user+system CPU seconds of a process (from /proc; Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def machine_busy_seconds() -> float:
    """CPU seconds all cores spent busy since boot (/proc/stat: everything but idle and iowait)."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    return (sum(values[:8]) - values[3] - values[4]) / CLK_TCK


class CpuMeter:
    """CPU seconds used by the instance process, by this (driver + fake peers) process, and by
    the whole machine (which includes PostgreSQL and the CLI)."""

    def __init__(self, server_pid: int) -> None:
        self.pid = server_pid
        self.start()

    def start(self) -> None:
        self._wall0 = time.monotonic()
        self._server0 = proc_cpu_seconds(self.pid)
        self._self0 = time.process_time()
        self._machine0 = machine_busy_seconds()

    def read(self) -> dict[str, float]:
        wall = time.monotonic() - self._wall0
        return {"server_cpu_s": round(proc_cpu_seconds(self.pid) - self._server0, 3),
                "driver_cpu_s": round(time.process_time() - self._self0, 3),
                "machine_cores_busy": round((machine_busy_seconds() - self._machine0) / wall, 2)}


def epoch(value: Any) -> float:
    """A timestamp column (datetime from asyncpg, ISO text from SQLite) as Unix seconds."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.timestamp()


class DbProbe:
    """Read-only queries on the instance's database over one kept-open connection.

    Placeholders are written $1, $2… (rewritten for SQLite).
    """

    def __init__(self, db_url: str) -> None:
        self.db_url = db_url
        self.postgres = db_url.startswith("postgres")
        self._pg: asyncpg.Connection | None = None
        self._lite: sqlite3.Connection | None = None

    async def __aenter__(self) -> "DbProbe":
        if self.postgres:
            self._pg = await asyncpg.connect(self.db_url)
        else:
            self._lite = sqlite3.connect(self.db_url.removeprefix("sqlite://"), timeout=10, isolation_level=None)
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._pg is not None:
            await self._pg.close()
        if self._lite is not None:
            self._lite.close()

    async def rows(self, query: str, *args: Any) -> list[tuple]:
        if self._pg is not None:
            return [tuple(r) for r in await self._pg.fetch(query, *args)]
        assert self._lite is not None
        for i in range(len(args), 0, -1):
            query = query.replace(f"${i}", "?")
        return list(self._lite.execute(query, args).fetchall())

    async def scalar(self, query: str, *args: Any) -> Any:
        rows = await self.rows(query, *args)
        return rows[0][0] if rows else None


async def wait_for(check: Callable[[], Awaitable[Any]], *, timeout: float, interval: float = 0.05,
                   what: str) -> Any:
    """The tests' `eventually`, with the benchmark's finer default polling."""
    return await harness.eventually(check, timeout=timeout, interval=interval, what=what)


# --------------------------------------------------------------- sending signed POSTs

@dataclass(frozen=True)
class SignedPost:
    url: str
    body: bytes
    headers: dict[str, str]


@dataclass(frozen=True)
class Sent:
    started: float
    finished: float
    status: int


def sign_post(actor: fakepeer.FakeActor, url: str, body: bytes) -> SignedPost:
    """Headers exactly as Mastodon 4.5 signs a delivery (tests.support.mastodon_signer)."""
    headers = mastodon_signer.mastodon_sign("POST", url, private_key_pem=actor.pem, actor=actor.uri, body=body,
                                            now=datetime.now(timezone.utc))
    return SignedPost(url, body, headers)


async def post_all(posts: list[SignedPost], *, concurrency: int, timeout: float) -> list[Sent]:
    """POST every request with at most `concurrency` in flight; each result keeps its wall times.

    A request that fails at the transport level is recorded with status 0.
    """
    sem = asyncio.Semaphore(concurrency)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, timeout=60, trust_env=False) as client:

        async def one(p: SignedPost) -> Sent:
            async with sem:
                started = time.time()
                try:
                    resp = await client.post(p.url, content=p.body, headers=p.headers)
                    status = resp.status_code
                except httpx.HTTPError:
                    status = 0
                return Sent(started, time.time(), status)

        async with asyncio.timeout(timeout):
            return list(await asyncio.gather(*(one(p) for p in posts)))


def status_counts(sent: list[Sent]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for s in sent:
        counts[str(s.status)] = counts.get(str(s.status), 0) + 1
    return counts
