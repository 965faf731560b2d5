from __future__ import annotations

import pytest
from argon2 import PasswordHasher

from actors import local
from tests.dbutil import create_database, drop_database
from unionhall.db import close_db, open_db


@pytest.fixture
async def db(tmp_path):
    """An initialised, migrated, empty database for one test (SQLite or PostgreSQL)."""
    url = await create_database(tmp_path)
    await open_db(url, run_migrations=False)  # a copy of a migrated template (tests/dbutil.py)
    try:
        yield url
    finally:
        await close_db()
        await drop_database(url)


@pytest.fixture(autouse=True)
def light_password_hashing(monkeypatch):
    """Argon2 with the cheapest parameters in this process: a password check costs a fraction of
    a millisecond instead of ~0.2 s, and hundreds of tests log in. Still real argon2 hashes
    (verified by the same code); instances started as processes keep the real parameters."""
    monkeypatch.setattr(local, "_hasher", PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))
