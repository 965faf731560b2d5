"""Follow, unfollow and follow requests through the Mastodon client API: each answer is the
Relationship, each change an activity queued by outbox.follows."""
from __future__ import annotations

import pytest

from actors import follows
from actors.local import get_by_username
from actors.models import Follower, Following, FollowState
from outbox.models import Activity
from tests.web.api.test_statuses import deliveries_of
from web.api.common import LOCAL_ACCOUNT_BASE


@pytest.fixture
async def rail(api, remote_actor):
    client, inst, headers = api
    return await remote_actor("rail", "Organization", inst.now())


async def test_follow_is_requested_until_the_accept_arrives(api, rail):
    client, inst, headers = api
    response = await client.post(f"/api/v1/accounts/{rail.id}/follow", headers=headers)
    assert response.status_code == 200, response.text
    shown = response.json()
    assert shown["id"] == str(rail.id) and shown["requested"] is True and shown["following"] is False
    row = await Following.get(remote=rail)
    assert row.state == FollowState.PENDING
    sent = await Activity.get(type="Follow")
    assert sent.payload["object"] == rail.uri and sent.ap_id == row.follow_id
    assert await deliveries_of(sent.ap_id) == {rail.inbox}

    await follows.settle_following(rail, accepted=True, follow_id=row.follow_id)  # as their Accept does
    again = (await client.post(f"/api/v1/accounts/{rail.id}/follow", headers=headers)).json()
    assert again["following"] is True and again["requested"] is False
    assert await Activity.filter(type="Follow").count() == 1, "an accepted follow is not sent again"

    gone = await client.post(f"/api/v1/accounts/{rail.id}/unfollow", headers=headers)
    assert gone.status_code == 200 and gone.json()["following"] is False and gone.json()["requested"] is False
    undo = await Activity.get(type="Undo")
    assert undo.payload["object"]["id"] == row.follow_id and not await Following.exists()


async def test_a_read_only_token_cannot_follow(api, rail, token):
    client, inst, headers = api
    read = await token("read")
    assert (await client.post(f"/api/v1/accounts/{rail.id}/follow", headers=read)).status_code == 403
    assert (await client.post(f"/api/v1/accounts/{rail.id}/follow")).status_code == 401
    follow_scope = await token("follow")  # the legacy scope covers follows
    assert (await client.post(f"/api/v1/accounts/{rail.id}/follow", headers=follow_scope)).status_code == 200
    assert await Following.all().count() == 1


async def test_own_and_unknown_accounts_cannot_be_followed(api, rail):
    client, inst, headers = api
    union = await get_by_username("sud_rail")
    ours = await client.post(f"/api/v1/accounts/{LOCAL_ACCOUNT_BASE + union.id}/follow", headers=headers)
    assert ours.status_code == 422 and "this instance" in ours.json()["error"]
    assert (await client.post(f"/api/v1/accounts/{rail.id + 100}/follow", headers=headers)).status_code == 404
    assert (await client.post("/api/v1/accounts/99999999999999999999/follow", headers=headers)).status_code == 404
    assert (await client.post("/api/v1/accounts/abc/follow", headers=headers)).status_code == 404
    assert await Following.all().count() == 0 and await Activity.all().count() == 0


async def test_follow_requests_listed_authorized_and_rejected(api, remote_actor, token):
    client, inst, headers = api
    union = await get_by_username("sud_rail")
    rail = await remote_actor("rail", "Organization", inst.now())
    bob = await remote_actor("bob", "Person", inst.now())
    carol = await remote_actor("carol", "Person", inst.now())
    for actor in (rail, bob):
        await follows.upsert_follower(union, actor, f"{actor.uri}#follows/1", state=FollowState.PENDING, now=inst.now())
    await follows.upsert_follower(union, carol, f"{carol.uri}#follows/1", state=FollowState.ACCEPTED, now=inst.now())

    listed = await client.get("/api/v1/follow_requests", headers=headers)
    assert listed.status_code == 200 and [a["acct"] for a in listed.json()] == ["bob@bob.example", "rail@rail.example"]
    first_page = await client.get("/api/v1/follow_requests?limit=1", headers=headers)
    assert [a["acct"] for a in first_page.json()] == ["bob@bob.example"]
    next_url = first_page.headers["link"].split(">")[0].lstrip("<")
    assert [a["acct"] for a in (await client.get(next_url, headers=headers)).json()] == ["rail@rail.example"]
    assert (await client.get("/api/v1/follow_requests", headers=await token("write"))).status_code == 403

    accepted = await client.post(f"/api/v1/follow_requests/{rail.id}/authorize", headers=headers)
    assert accepted.status_code == 200 and accepted.json()["followed_by"] is True
    assert accepted.json()["requested_by"] is False
    assert (await Follower.get(remote=rail)).state == FollowState.ACCEPTED
    accept = await Activity.get(type="Accept")
    assert accept.payload["object"]["id"] == f"{rail.uri}#follows/1" and await deliveries_of(accept.ap_id) == {rail.inbox}

    rejected = await client.post(f"/api/v1/follow_requests/{bob.id}/reject", headers=headers)
    assert rejected.status_code == 200 and rejected.json()["followed_by"] is False
    assert not await Follower.filter(remote=bob).exists()
    assert (await Activity.get(type="Reject")).payload["object"]["actor"] == bob.uri

    # Nothing pending any more: answering again, or an accepted follower, is a 404 and sends nothing.
    assert (await client.post(f"/api/v1/follow_requests/{rail.id}/authorize", headers=headers)).status_code == 404
    assert (await client.post(f"/api/v1/follow_requests/{carol.id}/reject", headers=headers)).status_code == 404
    assert await Activity.filter(type__in=["Accept", "Reject"]).count() == 2
    assert (await client.get("/api/v1/follow_requests", headers=headers)).json() == []


async def test_the_bell_is_kept_with_the_follow_and_shown_in_the_relationship(api, rail):
    client, inst, headers = api
    on = await client.post(f"/api/v1/accounts/{rail.id}/follow", headers=headers, json={"notify": True})
    assert on.status_code == 200 and on.json()["notifying"] is True and on.json()["requested"] is True
    row = await Following.get(remote=rail)
    await follows.settle_following(rail, accepted=True, follow_id=row.follow_id)
    kept = (await client.post(f"/api/v1/accounts/{rail.id}/follow", headers=headers)).json()
    assert kept["following"] is True and kept["notifying"] is True, "no notify param: the bell stays"
    off = await client.post(f"/api/v1/accounts/{rail.id}/follow", headers=headers, data={"notify": "false"})
    assert off.json()["notifying"] is False and not (await Following.get(remote=rail)).notify
