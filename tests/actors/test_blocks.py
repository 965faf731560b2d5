"""Domain blocks cannot be dodged by spelling the host differently."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from actors.blocks import block, is_blocked, normalise_domain, sever, unblock
from actors.models import Follower, Following, LocalActor, RemoteActor
from federation.hosts import host_of

NOW = datetime(2026, 9, 23, 9, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize("url", [
    "https://evil.example/users/x", "https://EVIL.example./users/x", "https://evil.example.:443/users/x",
    "http://evil.example.:80/users/x", "https://evil.example:8443/users/x", "https://sub.evil.example./u",
    "https://deep.sub.evil.example:443/u",
])
async def test_every_spelling_of_a_blocked_domain_is_blocked(db, url):
    await block("evil.example", now=NOW)
    assert await is_blocked(host_of(url))
    assert await is_blocked(url)


async def test_neighbours_are_not_blocked(db):
    await block("evil.example", now=NOW)
    for url in ("https://notevil.example/u", "https://example/u", "https://evil.example.org/u"):
        assert not await is_blocked(host_of(url)), url


async def test_a_port_specific_block_covers_only_that_port(db):
    await block("127.0.0.2:8001", now=NOW)
    assert await is_blocked("127.0.0.2:8001")
    assert not await is_blocked("127.0.0.2:8002")


def test_the_stored_spelling_is_canonical():
    assert normalise_domain("https://Evil.Example./path") == "evil.example"
    assert normalise_domain("Evil.Example.:8443") == "evil.example:8443"


async def test_blocking_severs_follows_both_ways_with_that_domain_only(db):
    union = await LocalActor.create(username="u", kind="union", private_key_pem="", public_key_pem="",
                                    created_at=NOW, updated_at=NOW)
    bad = await RemoteActor.create(uri="https://sub.evil.example/users/x", domain="sub.evil.example",
                                   inbox="https://sub.evil.example/users/x/inbox", fetched_at=NOW)
    good = await RemoteActor.create(uri="https://good.example/users/y", domain="good.example",
                                    inbox="https://good.example/users/y/inbox", fetched_at=NOW)
    for remote in (bad, good):
        await Follower.create(local=union, remote=remote, follow_id=f"{remote.uri}#f", state="accepted", created_at=NOW)
        await Following.create(local=union, remote=remote, follow_id=f"{remote.uri}#g", state="accepted", created_at=NOW)
    await block("evil.example", now=NOW)
    assert await sever("evil.example") == 2
    assert [f.remote_id for f in await Follower.all()] == [good.id]
    assert [f.remote_id for f in await Following.all()] == [good.id]
    assert await unblock("EVIL.example.") and not await is_blocked("evil.example")
