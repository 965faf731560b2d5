"""Every schema change ships a migration: the models and the migrations on disk agree."""
from __future__ import annotations

from tortoise.cli.cli import tortoise_cli_context
from tortoise.migrations.autodetector import MigrationAutodetector

from unionhall.db import tortoise_config


async def test_models_match_the_migrations(tmp_path):
    config = tortoise_config(f"sqlite://{tmp_path / 'probe.sqlite3'}")
    async with tortoise_cli_context(config) as ctx:
        writers = await MigrationAutodetector(ctx.apps, config["apps"]).changes()
    pending = [op for writer in writers for op in writer.operations]
    assert pending == [], f"models changed without a migration: {pending}"
