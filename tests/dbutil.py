"""Test databases: a fresh SQLite file, or a fresh PostgreSQL database created and
dropped by the test itself (UNIONHALL_TEST_DB=postgres). Nothing relies on an earlier run."""
from __future__ import annotations

import os
import uuid
from pathlib import Path

import asyncpg

PG_ADMIN_DSN = os.environ.get("UNIONHALL_TEST_PG", "postgres://postgres@127.0.0.1:5432/test")


def backend() -> str:
    return os.environ.get("UNIONHALL_TEST_DB", "sqlite")


async def create_database(tmp: Path) -> str:
    """Return a database URL for a brand-new, empty database."""
    if backend() == "postgres":
        name = f"uh_test_{uuid.uuid4().hex[:12]}"
        conn = await asyncpg.connect(PG_ADMIN_DSN)
        try:
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()
        base = PG_ADMIN_DSN.rsplit("/", 1)[0]
        return f"{base}/{name}"
    return f"sqlite://{tmp / f'uh-{uuid.uuid4().hex[:8]}.sqlite3'}"


async def drop_database(url: str) -> None:
    if not url.startswith("postgres"):
        return
    name = url.rsplit("/", 1)[1]
    conn = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()
