"""The admin edits the profile on a running instance; a Mastodon follower's server (a fake peer
speaking Mastodon's wire format) receives a signed Update of the actor with the profile fields."""
from __future__ import annotations

import re

import httpx
import pytest

from tests.e2e.harness import eventually

pytestmark = pytest.mark.timeout(120)
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


async def _async(value):
    return value


async def test_profile_edit_reaches_a_mastodon_follower(union, mastodon):
    bob = mastodon.add_actor("bob")
    follow = {"@context": "https://www.w3.org/ns/activitystreams", "id": f"{mastodon.url}/follow-1",
              "type": "Follow", "actor": bob.uri, "object": union.actor_uri}
    assert (await mastodon.deliver(bob, f"{union.actor_uri}/inbox", follow)).status_code == 202
    await eventually(lambda: _async(mastodon.activities("Accept")), what="the Accept")

    async with httpx.AsyncClient(base_url=union.url, timeout=10) as client:
        token = CSRF.search((await client.get("/login")).text).group(1)
        login = await client.post("/login", data={"username": "admin", "password": "correct horse battery",
                                                  "csrf": token})
        assert login.status_code == 303
        token = CSRF.search((await client.get("/admin/profile")).text).group(1)
        saved = await client.post("/admin/profile", data={
            "csrf": token, "name": "Union syndicale Solidaires", "summary": "Solidaires, unitaires, démocratiques.",
            "sector": "Interprofessional", "country": "FR",
            "link_label0": "Website", "link_url0": "https://solidaires.example/"})
        assert saved.status_code == 303

    updates = await eventually(lambda: _async(mastodon.activities("Update")), what="the Update")
    update = updates[0]
    assert update["actor"] == union.actor_uri and update["object"]["id"] == union.actor_uri
    assert update["object"]["type"] == "Organization"
    assert "https://www.w3.org/ns/activitystreams#Public" in update["to"]
    fields = {f["name"]: f["value"] for f in update["object"]["attachment"] if f["type"] == "PropertyValue"}
    assert fields["Sector"] == "Interprofessional" and fields["Country"] == "France"
    assert 'href="https://solidaires.example/"' in fields["Website"] and 'rel="me' in fields["Website"]
    assert "Solidaires, unitaires, démocratiques." in update["object"]["summary"]
    request = next(r for r in mastodon.received if r.json().get("type") == "Update")
    assert request.path == "/inbox"  # the follower's shared inbox
    assert request.verified, request.error
    # What Mastodon then refetches says the same.
    async with httpx.AsyncClient(timeout=10) as client:
        actor = (await client.get(union.actor_uri, headers={"Accept": "application/activity+json"})).json()
    assert actor["attachment"] == update["object"]["attachment"]
