"""Notifications for the union's admin: who followed, asked to follow, replied, mentioned us,
boosted or liked our statements, edited a post we boosted or liked, or posted with our bell on. One per activity, however often the activity arrives."""
from __future__ import annotations

from datetime import datetime

from content.models import Notification

KINDS = ("follow", "follow_request", "mention", "reply", "reblog", "favourite", "update", "status",
         "registration", "registration_request", "registration_withdrawn")


async def record(kind: str, *, actor_uri: str, object_uri: str = "", activity_id: str, now: datetime) -> Notification:
    if kind not in KINDS:
        raise ValueError(f"unknown notification kind {kind!r}")
    row, _ = await Notification.get_or_create(
        activity_id=activity_id,
        defaults={"kind": kind, "actor_uri": actor_uri, "object_uri": object_uri, "created_at": now},
    )
    return row


async def unread(limit: int = 50) -> list[Notification]:
    return await Notification.filter(read=False).order_by("-created_at", "-id").limit(limit)
