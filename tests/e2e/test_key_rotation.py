"""A peer rotates its key: the first request signed with the new key makes us refetch once
and accept; bad signatures cannot make us refetch at the sender's rate."""
from __future__ import annotations

import pytest

from federation.httpsig import generate_private_key_pem

pytestmark = pytest.mark.timeout(120)


def follow(actor, union, n: int) -> dict:
    return {"@context": "https://www.w3.org/ns/activitystreams", "id": f"{actor.uri}#follows/{n}",
            "type": "Follow", "actor": actor.uri, "object": union.actor_uri}


async def test_key_rotation_is_followed_and_refetches_are_bounded(union, mastodon):
    peer = mastodon
    rosa = peer.add_actor("rosa", pem=generate_private_key_pem())
    inbox = f"{union.actor_uri}/inbox"
    assert (await peer.deliver(rosa, inbox, follow(rosa, union, 1))).status_code == 202
    fetched = peer.fetches.count("/users/rosa")
    assert fetched == 1  # first contact: the key is fetched once and cached

    # Rosa's server rotates her key (same key id, new key pair): we refetch once and accept.
    rosa.pem = generate_private_key_pem()
    assert (await peer.deliver(rosa, inbox, follow(rosa, union, 2))).status_code == 202
    assert peer.fetches.count("/users/rosa") == fetched + 1
    stored = await union.sql("SELECT count(*) FROM inbox_item WHERE activity_id = $1", f"{rosa.uri}#follows/2")
    assert stored == [(1,)]

    # Someone signs as Rosa with a key she never published: refused; the first failure may
    # refetch (a rotation looks the same), the next ones within minutes do not.
    real = rosa.pem
    rosa.pem = generate_private_key_pem()
    try:
        statuses = [(await peer.deliver(rosa, inbox, follow(rosa, union, n))).status_code for n in range(3, 8)]
    finally:
        rosa.pem = real
    assert statuses == [401] * 5
    assert peer.fetches.count("/users/rosa") <= fetched + 1
    refused = await union.sql("SELECT count(*) FROM inbox_item WHERE activity_id LIKE $1", f"{rosa.uri}#follows/%")
    assert refused == [(2,)]
