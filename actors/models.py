"""Who speaks: local actors with their keys, remote actors we have resolved, the
relationships between them, domain blocks and the staff logins that act for a union."""
from __future__ import annotations

from tortoise import fields
from tortoise.models import Model


# The union itself (an Organization) or the instance actor (an Application).
class LocalActor(Model):
    id = fields.IntField(primary_key=True)
    username = fields.CharField(max_length=64, unique=True)
    kind = fields.CharField(max_length=16)  # "union" | "instance"
    name = fields.CharField(max_length=255, default="")
    summary = fields.TextField(default="")
    private_key_pem = fields.TextField()
    public_key_pem = fields.TextField()
    manually_approves_followers = fields.BooleanField(default=False)
    # Profile facts unions show each other: sector, country, links (name + URL pairs).
    sector = fields.CharField(max_length=255, default="")
    country = fields.CharField(max_length=64, default="")
    links = fields.JSONField(default=list)
    created_at = fields.DatetimeField()
    updated_at = fields.DatetimeField()

    class Meta:
        table = "actors_local"


# Cache of a remote actor document; the key is refreshed when verification fails.
class RemoteActor(Model):
    id = fields.IntField(primary_key=True)
    uri = fields.CharField(max_length=2048, unique=True)
    domain = fields.CharField(max_length=255, db_index=True)
    username = fields.CharField(max_length=255, default="")
    type = fields.CharField(max_length=32, default="Person")
    name = fields.CharField(max_length=2048, default="")
    summary = fields.TextField(default="")
    url = fields.CharField(max_length=2048, default="")
    inbox = fields.CharField(max_length=2048)
    shared_inbox = fields.CharField(max_length=2048, default="")
    followers_url = fields.CharField(max_length=2048, default="")
    key_id = fields.CharField(max_length=2048, default="", db_index=True)
    public_key_pem = fields.TextField(default="")
    icon_url = fields.CharField(max_length=2048, default="")
    # manuallyApprovesFollowers: a follow of theirs stays "requested" until they answer.
    locked = fields.BooleanField(default=False)
    fetched_at = fields.DatetimeField()
    deleted_at = fields.DatetimeField(null=True)

    class Meta:
        table = "actors_remote"

    @property
    def handle(self) -> str:
        return f"@{self.username}@{self.domain}" if self.username else self.uri

    @property
    def delivery_inbox(self) -> str:
        return self.shared_inbox or self.inbox


class FollowState:
    PENDING = "pending"
    ACCEPTED = "accepted"


# A remote actor following one of ours; `follow_id` is their Follow, echoed in our Accept.
class Follower(Model):
    id = fields.IntField(primary_key=True)
    local = fields.ForeignKeyField("models.LocalActor", related_name="followers", on_delete=fields.CASCADE)
    remote = fields.ForeignKeyField("models.RemoteActor", related_name="following_locals", on_delete=fields.CASCADE)
    follow_id = fields.CharField(max_length=2048)
    state = fields.CharField(max_length=16, default=FollowState.PENDING)
    created_at = fields.DatetimeField()

    class Meta:
        table = "actors_follower"
        unique_together = (("local", "remote"),)


# One of ours following a remote actor; `requested` until their Accept arrives.
class Following(Model):
    id = fields.IntField(primary_key=True)
    local = fields.ForeignKeyField("models.LocalActor", related_name="following", on_delete=fields.CASCADE)
    remote = fields.ForeignKeyField("models.RemoteActor", related_name="followed_by_locals", on_delete=fields.CASCADE)
    follow_id = fields.CharField(max_length=2048, unique=True)
    state = fields.CharField(max_length=16, default=FollowState.PENDING)
    created_at = fields.DatetimeField()
    # The bell of Mastodon apps (follow with notify=true): each new post of theirs is a "status" notification.
    notify = fields.BooleanField(default=False)

    class Meta:
        table = "actors_following"
        unique_together = (("local", "remote"),)


class DomainBlock(Model):
    domain = fields.CharField(max_length=255, primary_key=True)
    reason = fields.TextField(default="")
    created_at = fields.DatetimeField()

    class Meta:
        table = "actors_domain_block"


# A staff login allowed to act for the union (argon2 hash, never the password).
class Login(Model):
    id = fields.IntField(primary_key=True)
    username = fields.CharField(max_length=64, unique=True)
    password_hash = fields.CharField(max_length=255)
    actor = fields.ForeignKeyField("models.LocalActor", related_name="logins", on_delete=fields.CASCADE)
    created_at = fields.DatetimeField()

    class Meta:
        table = "actors_login"


# Instance-wide values every process must share (e.g. the session signing secret).
class InstanceSetting(Model):
    key = fields.CharField(max_length=64, primary_key=True)
    value = fields.TextField()

    class Meta:
        table = "actors_instance_setting"


# Failed logins, for throttling by login name and by address.
class LoginAttempt(Model):
    id = fields.BigIntField(primary_key=True)
    key = fields.CharField(max_length=255, db_index=True)
    at = fields.DatetimeField(db_index=True)

    class Meta:
        table = "actors_login_attempt"


# A client application registered through POST /api/v1/apps or the development settings page.
# The client secret is kept only as a SHA-256 hash (it is shown once, when the app is made).
class OAuthApp(Model):
    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=255)
    website = fields.CharField(max_length=2048, default="")
    redirect_uris = fields.JSONField(default=list)
    scopes = fields.CharField(max_length=1024, default="read")
    client_id = fields.CharField(max_length=64, unique=True)
    secret_hash = fields.CharField(max_length=64)
    # Made by a staff login on the development settings page (None: registered by a client).
    owner = fields.ForeignKeyField("models.Login", related_name="apps", null=True, on_delete=fields.CASCADE)
    created_at = fields.DatetimeField()

    class Meta:
        table = "actors_oauth_app"


# An authorization code: single use, short-lived, bound to its redirect URI and PKCE challenge.
class OAuthCode(Model):
    id = fields.IntField(primary_key=True)
    code_hash = fields.CharField(max_length=64, unique=True)
    app = fields.ForeignKeyField("models.OAuthApp", related_name="codes", on_delete=fields.CASCADE)
    login = fields.ForeignKeyField("models.Login", related_name="codes", on_delete=fields.CASCADE)
    scopes = fields.CharField(max_length=1024)
    redirect_uri = fields.CharField(max_length=2048)
    code_challenge = fields.CharField(max_length=128, default="")
    expires_at = fields.DatetimeField()
    used = fields.BooleanField(default=False)

    class Meta:
        table = "actors_oauth_code"


# An access token (and its refresh token), stored as SHA-256 hashes. `login` is None for a
# client_credentials token, which acts for no one.
class OAuthToken(Model):
    id = fields.IntField(primary_key=True)
    token_hash = fields.CharField(max_length=64, unique=True)
    refresh_hash = fields.CharField(max_length=64, null=True, unique=True)
    app = fields.ForeignKeyField("models.OAuthApp", related_name="tokens", on_delete=fields.CASCADE)
    login = fields.ForeignKeyField("models.Login", related_name="tokens", null=True, on_delete=fields.CASCADE)
    # The code it was exchanged for (kept through refreshes): a replay of that code revokes it.
    code = fields.ForeignKeyField("models.OAuthCode", related_name="tokens", null=True, on_delete=fields.SET_NULL)
    scopes = fields.CharField(max_length=1024)
    created_at = fields.DatetimeField()
    last_used_at = fields.DatetimeField(null=True)
    revoked_at = fields.DatetimeField(null=True, db_index=True)

    class Meta:
        table = "actors_oauth_token"


# Where a union's staff stopped reading (GET/POST /api/v1/markers), shared by all their apps.
class Marker(Model):
    id = fields.IntField(primary_key=True)
    actor = fields.ForeignKeyField("models.LocalActor", related_name="markers", on_delete=fields.CASCADE)
    timeline = fields.CharField(max_length=16)  # "home" | "notifications"
    last_read_id = fields.CharField(max_length=32)
    version = fields.IntField(default=0)
    updated_at = fields.DatetimeField()

    class Meta:
        table = "actors_marker"
        unique_together = (("actor", "timeline"),)
