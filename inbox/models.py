"""Verified activities received, stored before the 202 and applied by a worker."""
from __future__ import annotations

from tortoise import fields
from tortoise.models import Model


class InboxState:
    PENDING = "pending"
    DONE = "done"
    IGNORED = "ignored"  # well-formed but refused by a rule (ownership, relevance…)
    ERROR = "error"


class InboxItem(Model):
    id = fields.BigIntField(primary_key=True)
    # Idempotency: the same activity via the shared and the personal inbox is stored once.
    activity_id = fields.CharField(max_length=2048, unique=True)
    type = fields.CharField(max_length=32)
    actor_uri = fields.CharField(max_length=2048)
    payload = fields.JSONField()
    state = fields.CharField(max_length=16, default=InboxState.PENDING, db_index=True)
    attempts = fields.IntField(default=0)
    locked_until = fields.DatetimeField(null=True)
    result = fields.TextField(default="")
    received_at = fields.DatetimeField()
    processed_at = fields.DatetimeField(null=True)

    class Meta:
        table = "inbox_item"
