"""Uploads: the writes (files under the instance's media directory, and their rows) that the
web layer asks for. Checking a file (`content.media.check_async`) writes nothing and stays in
content/; attaching uploads to a statement is done by outbox.statements, in its transaction.
"""
from __future__ import annotations

from datetime import datetime

from actors.instance import Instance
from content import media
from content.models import Media


async def upload(inst: Instance, checked: media.Upload, *, description: str = "") -> Media:
    """Store a checked file, unattached (it waits for the statement that will carry it)."""
    return await media.save(checked, inst.media_root(), description=description, now=inst.now())


async def discard(inst: Instance, rows: list[Media]) -> None:
    """Forget uploads now: their rows and files (a refused form, a removed attachment)."""
    if rows:
        await media.discard(inst.media_root(), rows)


async def prune(inst: Instance, before: datetime) -> int:
    """Forget unattached uploads created before `before` (abandoned previews); how many."""
    return await media.prune(inst.media_root(), before)
