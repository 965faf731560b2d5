"""Relationships: remote followers of our actors, and the remote actors ours follow."""
from __future__ import annotations

from datetime import datetime

from actors.models import Follower, Following, FollowState, LocalActor, RemoteActor


async def upsert_follower(local: LocalActor, remote: RemoteActor, follow_id: str, *, state: str, now: datetime) -> Follower:
    row = await Follower.filter(local=local, remote=remote).first()
    if row is None:
        return await Follower.create(local=local, remote=remote, follow_id=follow_id, state=state, created_at=now)
    # A repeat Follow fast-forwards the stored id, as Mastodon does; the Accept must echo the newest.
    row.follow_id = follow_id
    if row.state != FollowState.ACCEPTED:
        row.state = state
    await row.save(update_fields=["follow_id", "state"])
    return row


async def remove_follower(local: LocalActor, remote: RemoteActor) -> bool:
    return await Follower.filter(local=local, remote=remote).delete() > 0


async def follower_inboxes(local: LocalActor) -> list[str]:
    """One inbox per remote server when it has a shared inbox, else one per follower."""
    rows = await Follower.filter(local=local, state=FollowState.ACCEPTED).prefetch_related("remote")
    seen: dict[str, None] = {}
    for row in rows:
        if row.remote.deleted_at is None:
            seen.setdefault(row.remote.delivery_inbox, None)
    return list(seen)


async def followers_count(local: LocalActor) -> int:
    return await Follower.filter(local=local, state=FollowState.ACCEPTED).count()


async def start_following(local: LocalActor, remote: RemoteActor, follow_id: str, *, now: datetime) -> Following:
    row = await Following.filter(local=local, remote=remote).first()
    if row is None:
        return await Following.create(local=local, remote=remote, follow_id=follow_id, state=FollowState.PENDING, created_at=now)
    # Re-sending a Follow (e.g. to repair a relationship) must not stop what already flows.
    row.follow_id = follow_id
    await row.save(update_fields=["follow_id"])
    return row


async def settle_following(remote: RemoteActor, *, accepted: bool, follow_id: str | None,
                           local: LocalActor | None = None) -> Following | None:
    """Apply an Accept/Reject from the followee `remote`: matched by our Follow id, else (as
    Mastodon does for an embedded Follow) by the pair (our actor, the signer)."""
    row = await Following.filter(remote=remote, follow_id=follow_id).first() if follow_id else None
    if row is None and local is not None:
        row = await Following.filter(remote=remote, local=local).first()
    if row is None:
        return None
    if accepted:
        row.state = FollowState.ACCEPTED
        await row.save(update_fields=["state"])
    else:
        await row.delete()
    return row


async def stop_following(local: LocalActor, remote: RemoteActor) -> Following | None:
    row = await Following.filter(local=local, remote=remote).first()
    if row:
        await row.delete()
    return row


async def is_followed_by_local(remote_uri: str) -> bool:
    return await Following.filter(remote__uri=remote_uri, state=FollowState.ACCEPTED).exists()


async def set_notify(local: LocalActor, remote: RemoteActor, on: bool) -> None:
    """The bell: notify us of each new post of theirs (kept across the request and its Accept)."""
    await Following.filter(local=local, remote=remote).update(notify=on)
