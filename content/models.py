"""What is said: posts (local and remote in one table), tombstones and interactions."""
from __future__ import annotations

from tortoise import fields
from tortoise.models import Model


# A Note, Article, Page, Event or Question, ours or a peer's.
#
# `content_map` keeps every language received, primary first; `content` is the
# primary language's HTML (already sanitised for remote posts).
class Post(Model):
    id = fields.BigIntField(primary_key=True)
    ap_id = fields.CharField(max_length=2048, unique=True)
    local = fields.BooleanField(default=False, db_index=True)
    type = fields.CharField(max_length=32, default="Note")
    author_uri = fields.CharField(max_length=2048, db_index=True)
    url = fields.CharField(max_length=2048, default="")
    name = fields.TextField(default="")
    summary = fields.TextField(default="")
    content = fields.TextField(default="")
    content_map = fields.JSONField(default=dict)
    language = fields.CharField(max_length=16, default="")
    in_reply_to = fields.CharField(max_length=2048, null=True, db_index=True)
    public = fields.BooleanField(default=True)
    to = fields.JSONField(default=list)
    cc = fields.JSONField(default=list)
    tags = fields.JSONField(default=list)
    attachments = fields.JSONField(default=list)
    sensitive = fields.BooleanField(default=False)
    published = fields.DatetimeField(db_index=True)
    updated = fields.DatetimeField(null=True)
    # Extra, type-specific fields (Event times, Question options) kept as received.
    extra = fields.JSONField(default=dict)

    class Meta:
        table = "content_post"


# A deleted object id: a late or replayed Create of it is refused.
class Tombstone(Model):
    ap_id = fields.CharField(max_length=2048, primary_key=True)
    author_uri = fields.CharField(max_length=2048, default="")
    deleted_at = fields.DatetimeField()

    class Meta:
        table = "content_tombstone"


# A boost (Announce) or favourite (Like) by any actor of any post.
class Interaction(Model):
    id = fields.BigIntField(primary_key=True)
    kind = fields.CharField(max_length=16)  # "announce" | "like"
    activity_id = fields.CharField(max_length=2048, unique=True)
    actor_uri = fields.CharField(max_length=2048, db_index=True)
    object_uri = fields.CharField(max_length=2048, db_index=True)
    local = fields.BooleanField(default=False)
    created_at = fields.DatetimeField()

    class Meta:
        table = "content_interaction"
