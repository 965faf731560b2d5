from __future__ import annotations

import pytest

from tests.dbutil import create_database, drop_database
from unionhall.db import close_db, open_db


@pytest.fixture
async def db(tmp_path):
    """An initialised, migrated, empty database for one test (SQLite or PostgreSQL)."""
    url = await create_database(tmp_path)
    await open_db(url)
    try:
        yield url
    finally:
        await close_db()
        await drop_database(url)
