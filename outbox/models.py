"""Activities this instance has said, each served at its own id."""
from __future__ import annotations

from tortoise import fields
from tortoise.models import Model


class Activity(Model):
    id = fields.BigIntField(primary_key=True)
    ap_id = fields.CharField(max_length=2048, unique=True)
    type = fields.CharField(max_length=32)
    actor = fields.ForeignKeyField("models.LocalActor", related_name="activities", on_delete=fields.CASCADE)
    object_uri = fields.CharField(max_length=2048, default="", db_index=True)
    payload = fields.JSONField()
    public = fields.BooleanField(default=True)
    # In the outbox collection (Create/Announce/Update/Delete of public content), not Follow/Accept.
    listed = fields.BooleanField(default=True)
    created_at = fields.DatetimeField(db_index=True)

    class Meta:
        table = "outbox_activity"


# A client's Idempotency-Key on POST /api/v1/statuses: a retried request returns the status
# the first one made instead of publishing twice. Kept a day, as Mastodon does.
class IdempotencyKey(Model):
    id = fields.IntField(primary_key=True)
    login_id = fields.IntField()
    key = fields.CharField(max_length=255)
    post_ap_id = fields.CharField(max_length=2048)
    created_at = fields.DatetimeField(db_index=True)

    class Meta:
        table = "outbox_idempotency_key"
        unique_together = (("login_id", "key"),)
