"""What is said: posts (local and remote in one table), tombstones and interactions."""
from __future__ import annotations

from tortoise import fields
from tortoise.models import Model

from content.ids import snowflake


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
    # An appeal asks other unions for declarations of solidarity (replies) and co-signatures.
    appeal = fields.BooleanField(default=False)
    appeal_until = fields.DatetimeField(null=True)
    # Hidden by our admin (e.g. a declaration on our appeal): kept, not shown.
    hidden = fields.BooleanField(default=False)
    # The id the Mastodon client API shows (time-ordered, shared with boosts); rows older than
    # the column got theirs in migration 0005.
    sid = fields.BigIntField(null=True, unique=True, default=snowflake)

    class Meta:
        table = "content_post"

    def content_in_order(self) -> dict[str, str]:
        """Every language in the author's order, the primary (`language`) first. PostgreSQL's
        jsonb does not keep key order, so the order lives in `extra["languages"]` (a list)."""
        order = self.extra.get("languages") if isinstance(self.extra, dict) else None
        keys = [self.language, *(order if isinstance(order, list) else []), *self.content_map]
        return {k: self.content_map[k] for k in dict.fromkeys(keys) if k in self.content_map}


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
    # A boost is a status of its own in the Mastodon client API: its id, in the posts' id space.
    sid = fields.BigIntField(null=True, unique=True, default=snowflake)

    class Meta:
        table = "content_interaction"


# An uploaded or received file: an image (with alt text and a preview) or a document
# such as a PDF preparatory text. Local files live under DATA/media.
class Media(Model):
    id = fields.BigIntField(primary_key=True)
    post = fields.ForeignKeyField("models.Post", related_name="media", null=True, on_delete=fields.SET_NULL)
    local = fields.BooleanField(default=True)
    kind = fields.CharField(max_length=16)  # "image" | "document"
    media_type = fields.CharField(max_length=100)
    file_name = fields.CharField(max_length=255, default="")
    preview_name = fields.CharField(max_length=255, default="")
    remote_url = fields.CharField(max_length=2048, default="")
    size = fields.IntField(default=0)
    width = fields.IntField(null=True)
    height = fields.IntField(null=True)
    description = fields.TextField(default="")
    title = fields.CharField(max_length=500, default="")
    language = fields.CharField(max_length=16, default="")
    created_at = fields.DatetimeField()

    class Meta:
        table = "content_media"


# What the admin should know about: new followers, requests, replies, boosts, likes, mentions.
class Notification(Model):
    id = fields.BigIntField(primary_key=True)
    kind = fields.CharField(max_length=32)
    actor_uri = fields.CharField(max_length=2048)
    object_uri = fields.CharField(max_length=2048, default="")
    activity_id = fields.CharField(max_length=2048, null=True, unique=True)
    read = fields.BooleanField(default=False, db_index=True)
    created_at = fields.DatetimeField(db_index=True)

    class Meta:
        table = "content_notification"


# A meeting (an AS2 Event), ours or a peer's: the Post row carries id, title (`name`),
# description per language and addressing; this row carries what calendars and
# registration need, as queryable columns. Remote Events get one too, so the network
# calendar is one query.
class Meeting(Model):
    id = fields.BigIntField(primary_key=True)
    post = fields.OneToOneField("models.Post", related_name="meeting", on_delete=fields.CASCADE)
    local = fields.BooleanField(default=False, db_index=True)
    # Never changes, even on reschedule: the iCalendar UID.
    uid = fields.CharField(max_length=255, unique=True)
    # Raised on every change: the iCalendar SEQUENCE.
    sequence = fields.IntField(default=0)
    name_map = fields.JSONField(default=dict)
    start = fields.DatetimeField(db_index=True)
    end = fields.DatetimeField(null=True)
    timezone = fields.CharField(max_length=64, default="")
    previous_start = fields.DatetimeField(null=True)
    # "scheduled" | "postponed" | "rescheduled" | "cancelled"
    status = fields.CharField(max_length=16, default="scheduled")
    # "thematic" | "sector" | "plenary" | "international" | "other"
    kind = fields.CharField(max_length=16, default="other", db_index=True)
    theme = fields.CharField(max_length=255, default="")
    place_name = fields.CharField(max_length=500, default="")
    # {"streetAddress", "postalCode", "addressLocality", "addressRegion", "addressCountry"}
    address = fields.JSONField(default=dict)
    online_url = fields.CharField(max_length=2048, default="")
    organizers = fields.JSONField(default=list)
    capacity = fields.IntField(null=True)
    # "free" | "approval" | "external" | "none"
    join_mode = fields.CharField(max_length=16, default="free")
    external_url = fields.CharField(max_length=2048, default="")
    registration_opens = fields.DatetimeField(null=True)
    registration_closes = fields.DatetimeField(null=True)
    # Set once the "registration is open" statement went out.
    opening_announced = fields.BooleanField(default=False)
    # A peer's counts as it announced them (ours are counted from Registration rows).
    participant_count = fields.IntField(null=True)

    class Meta:
        table = "content_meeting"


# Someone registered for a meeting: a fediverse actor (Join, Friendica Accept…), a person
# through the web form, or this union registering for a peer's meeting (`local`).
class Registration(Model):
    id = fields.BigIntField(primary_key=True)
    meeting = fields.ForeignKeyField("models.Meeting", related_name="registrations", on_delete=fields.CASCADE)
    local = fields.BooleanField(default=False)
    # "fediverse" | "web"
    via = fields.CharField(max_length=16)
    actor_uri = fields.CharField(max_length=2048, null=True, db_index=True)
    # The Join (or Friendica Accept) that asked, echoed in our answer; ours when `local`.
    request_id = fields.CharField(max_length=2048, null=True, unique=True)
    name = fields.CharField(max_length=255, default="")
    union_name = fields.CharField(max_length=255, default="")
    email = fields.CharField(max_length=320, default="")
    delegates = fields.IntField(default=1)
    message = fields.TextField(default="")
    # "pending" | "accepted" | "rejected" | "withdrawn" | "maybe" | "declined" | "ignored"
    state = fields.CharField(max_length=16, default="pending", db_index=True)
    reason = fields.CharField(max_length=255, default="")
    created_at = fields.DatetimeField()
    updated_at = fields.DatetimeField()

    class Meta:
        table = "content_registration"
