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


async def test_0005_gives_existing_posts_and_boosts_time_ordered_api_ids(tmp_path):
    import sqlite3

    from tortoise import Tortoise
    from tortoise.migrations.api import migrate

    url = f"sqlite://{tmp_path / 'old.sqlite3'}"
    await migrate(config=tortoise_config(url), target="models.0004_meetings")
    await Tortoise.close_connections()
    db = sqlite3.connect(tmp_path / "old.sqlite3")
    rows = ((1, "2026-01-02T10:00:00"), (2, "2026-01-01T10:00:00"), (3, "2026-01-01T10:00:00"),
            (4, "1999-05-01T10:00:00"), (5, "1998-05-01T10:00:00"))
    for n, at in rows:
        db.execute("INSERT INTO content_post (id, ap_id, local, type, author_uri, url, name, summary, content,"
                   " content_map, language, public, \"to\", cc, tags, attachments, sensitive, published, extra,"
                   " appeal, hidden) VALUES (?, ?, 0, 'Note', 'https://a.example/u', '', '', '', '', '{}', '', 1,"
                   " '[]', '[]', '[]', '[]', 0, ?, '{}', 0, 0)", (n, f"https://a.example/p/{n}", f"{at}+00:00"))
    db.execute("INSERT INTO content_interaction (id, kind, activity_id, actor_uri, object_uri, local, created_at)"
               " VALUES (1, 'announce', 'https://a.example/b/1', 'https://a.example/u', 'https://a.example/p/1', 0,"
               " '2026-01-03T10:00:00+00:00')")
    db.commit()
    db.close()
    await migrate(config=tortoise_config(url))
    await Tortoise.close_connections()
    db = sqlite3.connect(tmp_path / "old.sqlite3")
    sid = {n: db.execute("SELECT sid FROM content_post WHERE id = ?", (n,)).fetchone()[0] for n, _ in rows}
    boost = db.execute("SELECT sid FROM content_interaction").fetchone()[0]
    db.close()
    # By time, not by row id; rows of one millisecond, and rows older than the ids' epoch, stay apart.
    assert sid[5] < sid[4] < sid[2] < sid[3] < sid[1] < boost
