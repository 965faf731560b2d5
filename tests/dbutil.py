"""Test databases: a fresh SQLite file, or a fresh PostgreSQL database created and
dropped by the test itself (UNIONHALL_TEST_DB=postgres). Nothing relies on an earlier run.

Running every migration for each of a thousand tests costs about a second each, so each
test process migrates one template once (made by this process, named by a random id, and
removed when it exits) and every test gets a copy of it: `CREATE DATABASE … TEMPLATE` on
PostgreSQL, a file copy on SQLite. The copy is as empty as a freshly migrated database."""
from __future__ import annotations

import asyncio
import atexit
import os
import shutil
import tempfile
import uuid
from pathlib import Path

import asyncpg

from unionhall.db import migrate_db

PG_ADMIN_DSN = os.environ.get("UNIONHALL_TEST_PG", "postgres://postgres@127.0.0.1:5432/test")

_template: dict[str, str] = {}


def backend() -> str:
    return os.environ.get("UNIONHALL_TEST_DB", "sqlite")


def _pg_url(name: str) -> str:
    return f"{PG_ADMIN_DSN.rsplit('/', 1)[0]}/{name}"


async def _pg_execute(sql: str) -> None:
    conn = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def _pg_template() -> str:
    if "postgres" not in _template:
        name = f"uh_template_{uuid.uuid4().hex[:12]}"
        await _pg_execute(f'CREATE DATABASE "{name}"')
        atexit.register(_drop_pg_template, name)
        await migrate_db(_pg_url(name))  # closes its connections: a template must have none
        _template["postgres"] = name
    return _template["postgres"]


def _drop_pg_template(name: str) -> None:
    asyncio.run(_pg_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def _sqlite_template() -> Path:
    if "sqlite" not in _template:
        folder = Path(tempfile.mkdtemp(prefix="uh-template-"))
        atexit.register(shutil.rmtree, folder, True)
        path = folder / "template.sqlite3"
        await migrate_db(f"sqlite://{path}")
        _template["sqlite"] = str(path)
    return Path(_template["sqlite"])


async def create_database(tmp: Path) -> str:
    """Return a database URL for a brand-new database with every migration applied."""
    if backend() == "postgres":
        name = f"uh_test_{uuid.uuid4().hex[:12]}"
        await _pg_execute(f'CREATE DATABASE "{name}" TEMPLATE "{await _pg_template()}"')
        return _pg_url(name)
    path = tmp / f"uh-{uuid.uuid4().hex[:8]}.sqlite3"
    await copy_sqlite_template(path)
    return f"sqlite://{path}"


async def copy_sqlite_template(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(await _sqlite_template(), path)


async def drop_database(url: str) -> None:
    if not url.startswith("postgres"):
        return
    name = url.rsplit("/", 1)[1]
    await _pg_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
