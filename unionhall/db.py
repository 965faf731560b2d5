"""Database wiring: one tortoise app spanning every package's models, built-in migrations."""
from __future__ import annotations

from tortoise import Tortoise
from tortoise.migrations.api import migrate

MODEL_MODULES = [
    "federation.models",
    "actors.models",
    "content.models",
    "outbox.models",
    "inbox.models",
]


def tortoise_config(db_url: str) -> dict:
    if db_url.startswith("sqlite://") and "busy_timeout" not in db_url:
        # Several processes (serve + CLI) share the file; wait for a lock rather than fail.
        db_url += ("&" if "?" in db_url else "?") + "busy_timeout=10000"
    return {
        "connections": {"default": db_url},
        "apps": {
            "models": {
                "models": MODEL_MODULES,
                "default_connection": "default",
                "migrations": "unionhall.migrations",
            }
        },
        "use_tz": True,
        "timezone": "UTC",
    }


def is_postgres(db_url: str) -> bool:
    return db_url.startswith(("postgres://", "postgresql://", "asyncpg://"))


async def migrate_db(db_url: str) -> None:
    await migrate(config=tortoise_config(db_url))
    await Tortoise.close_connections()


async def open_db(db_url: str, *, run_migrations: bool = True) -> None:
    if run_migrations:
        await migrate_db(db_url)
    # Global fallback: request handlers and workers run in tasks other than the one that opened it.
    await Tortoise.init(config=tortoise_config(db_url), _enable_global_fallback=True)


async def close_db() -> None:
    await Tortoise.close_connections()
