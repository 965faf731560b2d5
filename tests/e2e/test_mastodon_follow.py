"""A Mastodon account (a fake peer speaking Mastodon's wire format) follows a union instance."""
from __future__ import annotations

import pytest

from tests.e2e.harness import eventually

pytestmark = pytest.mark.timeout(120)


async def test_mastodon_follow_is_accepted_with_its_own_follow_id_and_gets_statements(union, mastodon):
    bob = mastodon.add_actor("bob")
    follow = {"@context": "https://www.w3.org/ns/activitystreams", "id": f"{mastodon.url}/1b2c3d4e-follow",
              "type": "Follow", "actor": bob.uri, "object": union.actor_uri}
    response = await mastodon.deliver(bob, f"{union.actor_uri}/inbox", follow)
    assert response.status_code == 202, response.text

    accepts = await eventually(lambda: _async(mastodon.activities("Accept")), what="the Accept")
    accept = accepts[0]
    assert accept["actor"] == union.actor_uri
    assert accept["object"]["id"] == follow["id"] and accept["object"]["type"] == "Follow"
    accept_request = next(r for r in mastodon.received if r.json().get("type") == "Accept")
    # Delivered to the follower's personal inbox, signed in a way Mastodon's own verifier accepts.
    assert accept_request.path == f"/users/{bob.name}/inbox"
    assert accept_request.verified, accept_request.error

    sid = union.cli("post", "Solidarity with the postal strike in Brazil", "--lang", "en").stdout.strip()
    creates = await eventually(lambda: _async(mastodon.activities("Create")), what="the Create")
    create = creates[0]
    assert create["object"]["id"] == sid
    assert "https://www.w3.org/ns/activitystreams#Public" in create["object"]["to"]
    assert f"{union.actor_uri}/followers" in create["object"]["cc"]
    create_request = next(r for r in mastodon.received if r.json().get("type") == "Create")
    assert create_request.path == "/inbox"  # the shared inbox, one POST per server
    assert create_request.verified, create_request.error


async def _async(value):
    return value
