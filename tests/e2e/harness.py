"""Real Union Hall instances as separate processes on 127.0.0.1, started with the CLI.

Each instance gets its own data directory and database (a fresh PostgreSQL database when
UNIONHALL_TEST_DB=postgres). Tests look at an instance through HTTP and through read-only
SQL on its own database, never through our Python objects."""
from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import httpx

from tests.dbutil import backend, copy_sqlite_template, create_database, drop_database

ROOT = Path(__file__).resolve().parents[2]
UNIONHALL = [sys.executable, "-m", "unionhall.cli"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Instance:
    name: str
    handle: str
    port: int
    data: Path
    db_url: str
    proc: subprocess.Popen | None = None
    extra_env: dict[str, str] = field(default_factory=dict)
    log_path: Path = field(init=False)

    def __post_init__(self) -> None:
        self.log_path = self.data.parent / f"{self.name}.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def acct(self) -> str:
        return f"@{self.handle}@{self.host}"

    @property
    def actor_uri(self) -> str:
        return f"{self.url}/actors/{self.handle}"

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("UNIONHALL_")}
        env.update(UNIONHALL_URL=self.url, UNIONHALL_DATA=str(self.data),
                   UNIONHALL_ALLOW_PRIVATE_ADDRESSES="127.0.0.0/8", UNIONHALL_LOG_LEVEL="warning",
                   PYTHONPATH=str(ROOT))
        if self.db_url.startswith("postgres"):
            env["UNIONHALL_DATABASE_URL"] = self.db_url
        env.update(self.extra_env)
        return env

    def cli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        result = subprocess.run([*UNIONHALL, *args], env=self.env(), cwd=ROOT, capture_output=True, text=True, timeout=60)
        if check and result.returncode != 0:
            raise AssertionError(f"unionhall {' '.join(args)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
        return result

    def start(self, *serve_args: str) -> None:
        log = open(self.log_path, "a")
        self.proc = subprocess.Popen([*UNIONHALL, "serve", "--port", str(self.port), *serve_args], env=self.env(),
                                     cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"{self.name} exited at start:\n{self.log_path.read_text()}")
            try:
                if httpx.get(f"{self.url}/.well-known/nodeinfo", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise AssertionError(f"{self.name} did not start:\n{self.log_path.read_text()}")

    def spawn(self, *args: str) -> subprocess.Popen:
        """Another long-running process of this instance (e.g. `worker`), logging beside it."""
        log = open(self.log_path, "a")
        return subprocess.Popen([*UNIONHALL, *args], env=self.env(), cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def kill(self) -> None:
        """SIGKILL: no shutdown handlers, no flush; what was committed is all that survives."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()
        self.proc = None

    async def sql(self, query: str, *args) -> list[tuple]:
        """Read-only look at this instance's own database (placeholders written $1, $2…)."""
        if self.db_url.startswith("postgres"):
            conn = await asyncpg.connect(self.db_url)
            try:
                return [tuple(r) for r in await conn.fetch(query, *args)]
            finally:
                await conn.close()
        path = self.db_url.removeprefix("sqlite://")
        lite = query
        for i in range(len(args), 0, -1):
            lite = lite.replace(f"${i}", "?")
        with sqlite3.connect(path, timeout=10) as conn:
            return list(conn.execute(lite, args).fetchall())

    async def post_count(self, **where) -> int:
        clauses = " AND ".join(f"{k} = ${i + 1}" for i, k in enumerate(where)) or "1=1"
        rows = await self.sql(f"SELECT count(*) FROM content_post WHERE {clauses}", *where.values())
        return rows[0][0]


async def make_instance(tmp: Path, name: str, handle: str, display: str, **extra_env: str) -> Instance:
    """A fresh instance (not started). `extra_env` overrides settings, e.g.
    UNIONHALL_ALLOW_PRIVATE_ADDRESSES="127.0.0.2/32" or UNIONHALL_APPROVE_FOLLOWERS="1"."""
    data = tmp / name
    if backend() == "postgres":
        db_url = await create_database(tmp)
    else:  # where `init` looks for it; already migrated, so `init` only adds the actors
        path = (data / "unionhall.sqlite3").resolve()
        await copy_sqlite_template(path)
        db_url = f"sqlite://{path}"
    inst = Instance(name=name, handle=handle, port=free_port(), data=data, db_url=db_url, extra_env=extra_env)
    inst.cli("init", "--url", inst.url, "--handle", handle, "--name", display, "--password", "correct horse battery")
    return inst


async def destroy(inst: Instance) -> None:
    inst.stop()
    await drop_database(inst.db_url)


async def eventually(check, *, timeout: float = 20.0, interval: float = 0.2, what: str = "condition"):
    """Poll an async check until it returns a truthy value; the value is returned."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = await check()
        if last:
            return last
        await asyncio.sleep(interval)
    raise AssertionError(f"timed out waiting for {what} (last value: {last!r})")


def ap_get(url: str) -> httpx.Response:
    return httpx.get(url, headers={"Accept": "application/activity+json"}, timeout=10)


def dumps(doc) -> str:
    return json.dumps(doc, indent=2, ensure_ascii=False)
