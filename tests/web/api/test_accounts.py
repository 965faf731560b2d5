"""Accounts through the API: our credentials (read and update through outbox.profile), known
accounts by id and handle, their statuses, followers and following, relationships."""
from __future__ import annotations

import pytest

from actors.local import get_by_username
from actors.models import Follower, Following, FollowState, LocalActor, RemoteActor
from content.models import Interaction, Post
from federation.models import Delivery, Envelope
from outbox import interactions, statements
from outbox.models import Activity
from tests.web.api.paging import links, walk
from web.api.common import local_account_id


@pytest.fixture
async def world(api, remote_actor):
    """rail follows us (accepted), bob asked to (pending); we follow rail (accepted) and cgt (pending)."""
    client, inst, headers = api
    union = await get_by_username("sud_rail")
    now = inst.now()
    rail = await remote_actor("rail", "Organization", now)
    bob = await remote_actor("bob", "Person", now)
    cgt = await remote_actor("cgt", "Organization", now)
    await Follower.create(local=union, remote=rail, follow_id=f"{rail.uri}#f", state=FollowState.ACCEPTED, created_at=now)
    await Follower.create(local=union, remote=bob, follow_id=f"{bob.uri}#f", created_at=now)
    await Following.create(local=union, remote=rail, follow_id="https://ours.example/f/1", state=FollowState.ACCEPTED,
                           created_at=now)
    await Following.create(local=union, remote=cgt, follow_id="https://ours.example/f/2", created_at=now)
    return client, inst, headers, union, rail, bob, cgt


async def test_verify_credentials(world, token):
    client, inst, headers, union, rail, bob, cgt = world
    union.summary, union.links = "<p>Rail workers &amp; friends.</p>", [{"name": "Web", "url": "https://sudrail.example/"}]
    await union.save()
    response = await client.get("/api/v1/accounts/verify_credentials", headers=headers)
    assert response.status_code == 200
    me = response.json()
    assert me["id"] == local_account_id(union) and me["username"] == me["acct"] == "sud_rail"
    assert me["followers_count"] == 1 and me["following_count"] == 1
    assert me["source"]["note"] == "Rail workers & friends." and me["source"]["privacy"] == "public"
    assert me["source"]["fields"] == [{"name": "Web", "value": "https://sudrail.example/", "verified_at": None}]
    assert me["source"]["follow_requests_count"] == 1
    assert me["role"]["permissions"] == "0" and me["role"]["highlighted"] is False
    assert me["fields"][0]["value"].startswith('<a href="https://sudrail.example/"')
    # The profile fields are those of the actor document: the sector and country come first.
    union.sector, union.country = "Railways", "FR"
    await union.save()
    shown = (await client.get("/api/v1/accounts/verify_credentials", headers=headers)).json()
    assert [(f["name"], f["value"]) for f in shown["fields"][:2]] == [("Sector", "Railways"), ("Country", "France")]
    assert [f["name"] for f in shown["source"]["fields"]] == ["Web"], "the editable part stays the links"
    assert (await client.get("/api/v1/accounts/verify_credentials")).status_code == 401
    assert (await client.get("/api/v1/accounts/verify_credentials", headers=await token("write"))).status_code == 403
    assert (await client.get("/api/v1/accounts/verify_credentials", headers=await token("profile"))).status_code == 200


async def test_update_credentials_as_a_form_tells_followers(world):
    client, inst, headers, union, rail, bob, cgt = world
    response = await client.patch("/api/v1/accounts/update_credentials", headers=headers, data={
        "display_name": "SUD-Rail Fédération", "note": "Rail workers.\n\nSince 1996.", "locked": "true",
        "fields_attributes[0][name]": "Web", "fields_attributes[0][value]": "https://sudrail.example/",
        "fields_attributes[1][name]": "Blog", "fields_attributes[1][value]": "blog.sudrail.example"})
    assert response.status_code == 200, response.text
    me = response.json()
    assert me["display_name"] == "SUD-Rail Fédération" and me["locked"] is True
    assert me["source"]["note"] == "Rail workers.\n\nSince 1996."
    assert [(f["name"], f["value"]) for f in me["source"]["fields"]] == [
        ("Web", "https://sudrail.example/"), ("Blog", "https://blog.sudrail.example")]
    stored = await LocalActor.get(id=union.id)
    assert stored.name == "SUD-Rail Fédération" and stored.manually_approves_followers is True
    assert stored.summary == "<p>Rail workers.</p><p>Since 1996.</p>"
    update = await Activity.get(type="Update")
    assert update.payload["object"]["name"] == "SUD-Rail Fédération"
    envelopes = await Envelope.filter(activity_id=update.ap_id).values_list("id", flat=True)
    assert set(await Delivery.filter(envelope_id__in=envelopes).values_list("inbox", flat=True)) == {rail.shared_inbox}


async def test_update_credentials_as_json(world):
    client, inst, headers, union, rail, bob, cgt = world
    response = await client.patch("/api/v1/accounts/update_credentials", headers=headers, json={
        "fields_attributes": [{"name": "Web", "value": "https://a.example/"}, {"name": "", "value": ""}]})
    assert response.status_code == 200, response.text
    assert [f["name"] for f in response.json()["source"]["fields"]] == ["Web"]
    response = await client.patch("/api/v1/accounts/update_credentials", headers=headers, json={
        "fields_attributes": {"1": {"name": "Two", "value": "https://b.example/"},
                              "0": {"name": "One", "value": "https://a.example/"}}, "locked": False})
    assert [f["name"] for f in response.json()["source"]["fields"]] == ["One", "Two"]
    assert response.json()["display_name"] == "SUD-Rail", "what is not sent is kept"
    # Nothing changed: no Update is sent.
    before = await Activity.filter(type="Update").count()
    response = await client.patch("/api/v1/accounts/update_credentials", headers=headers, json={})
    assert response.status_code == 200 and await Activity.filter(type="Update").count() == before


@pytest.mark.parametrize("body", [
    {"display_name": ""}, {"display_name": "x" * 201}, {"note": "x" * 5001}, {"display_name": "  \n "},
    {"fields_attributes": [{"name": "Bad", "value": "javascript:alert(1)"}]},
    {"fields_attributes": [{"name": str(n), "value": f"https://{n}.example/"} for n in range(5)]},
    {"fields_attributes": ["https://a.example/"]}, {"note": "bad \x00 char"},
    {"fields_attributes": [{"name": "Web", "value": "https://a.example/\x00"}]},
    {"fields_attributes": [{"name": "W\x00", "value": "https://a.example/"}]},
])
async def test_invalid_credentials_change_nothing(world, body):
    client, inst, headers, union, rail, bob, cgt = world
    response = await client.patch("/api/v1/accounts/update_credentials", headers=headers, json=body)
    assert response.status_code == 422 and "error" in response.json(), response.text
    stored = await LocalActor.get(id=union.id)
    assert stored.name == "SUD-Rail" and stored.links == [] and stored.summary == ""
    assert not await Activity.filter(type="Update").exists()


async def test_update_credentials_needs_write(world, token):
    client, inst, headers, union, rail, bob, cgt = world
    response = await client.patch("/api/v1/accounts/update_credentials", headers=await token("read"),
                                  data={"display_name": "Taken over"})
    assert response.status_code == 403
    assert (await client.patch("/api/v1/accounts/update_credentials", data={"display_name": "x"})).status_code == 401
    assert (await LocalActor.get(id=union.id)).name == "SUD-Rail"
    response = await client.patch("/api/v1/accounts/update_credentials", headers=await token("write:accounts"),
                                  data={"display_name": "SUD-Rail!"})
    assert response.status_code == 200


async def test_pictures_cannot_be_uploaded(world):
    client, inst, headers, union, rail, bob, cgt = world
    response = await client.patch("/api/v1/accounts/update_credentials", headers=headers,
                                  data={"display_name": "New"}, files={"avatar": ("a.png", b"\x89PNG", "image/png")})
    assert response.status_code == 422 and "avatar" in response.json()["error"]
    assert (await LocalActor.get(id=union.id)).name == "SUD-Rail"


async def test_lookup_known_accounts_only(world):
    client, inst, headers, union, rail, bob, cgt = world
    for acct in ("sud_rail", "@sud_rail", "sud_rail@ours.example"):
        response = await client.get(f"/api/v1/accounts/lookup?acct={acct}")
        assert response.status_code == 200 and response.json()["id"] == local_account_id(union), acct
    for acct in ("rail@rail.example", "@Rail@RAIL.example"):
        response = await client.get(f"/api/v1/accounts/lookup?acct={acct}", headers=headers)
        assert response.json()["id"] == str(rail.id) and response.json()["acct"] == "rail@rail.example"
    for acct in ("nobody", "rail@elsewhere.example", "a@b@c", "@rail.example"):
        response = await client.get(f"/api/v1/accounts/lookup?acct={acct}")
        assert response.status_code == 404 and response.json() == {"error": "Record not found"}, acct
    nul = await client.get("/api/v1/accounts/lookup?acct=rail%00@rail.example")
    assert nul.status_code == 422 and nul.json() == {"error": "acct contains a NUL character"}
    assert (await client.get("/api/v1/accounts/lookup")).status_code == 422
    assert (await client.get("/api/v1/accounts/lookup?acct=@")).status_code == 422


async def test_relationships(world, token):
    client, inst, headers, union, rail, bob, cgt = world
    ids = [str(rail.id), str(bob.id), str(cgt.id), "999999", "abc", local_account_id(union)]
    response = await client.get("/api/v1/accounts/relationships", headers=headers, params={"id[]": ids})
    assert response.status_code == 200
    shown = {r["id"]: r for r in response.json()}
    assert list(shown) == [str(rail.id), str(bob.id), str(cgt.id), local_account_id(union)]
    assert shown[str(rail.id)]["following"] is True and shown[str(rail.id)]["followed_by"] is True
    assert shown[str(bob.id)]["requested_by"] is True and shown[str(bob.id)]["followed_by"] is False
    assert shown[str(cgt.id)]["requested"] is True and shown[str(cgt.id)]["following"] is False
    assert (await client.get("/api/v1/accounts/relationships?id[]=1")).status_code == 401
    assert (await client.get("/api/v1/accounts/relationships?id[]=1", headers=await token("follow"))).status_code == 200
    response = await client.get("/api/v1/accounts/relationships", headers=headers, params={"id[]": ["1"] * 101})
    assert response.status_code == 422


async def test_show_account_and_bad_ids(world):
    client, inst, headers, union, rail, bob, cgt = world
    assert (await client.get(f"/api/v1/accounts/{rail.id}")).json()["acct"] == "rail@rail.example"
    assert (await client.get(f"/api/v1/accounts/{local_account_id(union)}")).json()["username"] == "sud_rail"
    bob.deleted_at = inst.now()
    await bob.save()
    for bad in (bob.id, 0, 999999, 10**15 + 999, 10**18, 10**25, "abc", "-1"):
        for tail in ("", "/statuses", "/followers", "/following", "/featured_tags"):
            response = await client.get(f"/api/v1/accounts/{bad}{tail}", headers=headers)
            assert response.status_code == 404, (bad, tail)


async def test_our_statuses_with_boosts_and_filters(world):
    client, inst, headers, union, rail, bob, cgt = world
    rails = await Post.create(ap_id=f"{rail.uri}/notes/1", author_uri=rail.uri, content="<p>Hi</p>",
                              content_map={"en": "<p>Hi</p>"}, language="en", published=inst.now())
    s1 = await statements.publish(inst, union, {"fr": "Grève #greve"})
    boost = await interactions.boost(inst, union, rails.ap_id)
    s2 = await statements.publish(inst, union, {"en": "Thanks"}, in_reply_to=rails.ap_id)
    await Post.create(ap_id=f"{rail.uri}/notes/2", author_uri=rail.uri, content="<p>Theirs</p>", published=inst.now())
    url = f"/api/v1/accounts/{local_account_id(union)}/statuses"

    async def ids(query: str = "") -> list[str]:
        response = await client.get(url + query)
        assert response.status_code == 200, response.text
        return [s["id"] for s in response.json()]

    assert await ids() == [str(s2.sid), str(boost.sid), str(s1.sid)]
    assert await ids("?exclude_reblogs=true") == [str(s2.sid), str(s1.sid)]
    assert await ids("?exclude_replies=1") == [str(boost.sid), str(s1.sid)]
    assert await ids("?tagged=greve") == [str(s1.sid)]
    assert await ids("?only_media=true") == [] and await ids("?pinned=true") == []
    pages = await walk(client, url + "?limit=1")
    assert [s["id"] for p in pages for s in p] == await ids()
    response = await client.get(url + f"?max_id={s2.sid}&limit=1")
    assert [s["id"] for s in response.json()] == [str(boost.sid)]
    assert links(response)["next"].endswith(f"max_id={boost.sid}")
    assert (await client.get(url + "?max_id=x")).status_code == 422


async def test_remote_statuses_are_what_we_stored(world):
    client, inst, headers, union, rail, bob, cgt = world
    public = await Post.create(ap_id=f"{rail.uri}/notes/1", author_uri=rail.uri, content="<p>Hi</p>",
                               published=inst.now())
    private = await Post.create(ap_id=f"{rail.uri}/notes/2", author_uri=rail.uri, content="<p>Followers</p>",
                                public=False, published=inst.now())
    bobs = await Post.create(ap_id=f"{bob.uri}/notes/1", author_uri=bob.uri, content="<p>Bob</p>", published=inst.now())
    boost = await Interaction.create(kind="announce", activity_id=f"{rail.uri}/boosts/1", actor_uri=rail.uri,
                                     object_uri=bobs.ap_id, created_at=inst.now())
    url = f"/api/v1/accounts/{rail.id}/statuses"
    shown = (await client.get(url, headers=headers)).json()
    assert [s["id"] for s in shown] == [str(boost.sid), str(private.sid), str(public.sid)]
    assert shown[0]["reblog"]["account"]["acct"] == "bob@bob.example"
    anonymous = (await client.get(url)).json()
    assert [s["id"] for s in anonymous] == [str(boost.sid), str(public.sid)]


async def test_followers_and_following(world, remote_actor):
    client, inst, headers, union, rail, bob, cgt = world
    more = []
    for n in range(4):
        actor = await remote_actor(f"u{n}", "Person", inst.now())
        more.append(await Follower.create(local=union, remote=actor, follow_id=f"{actor.uri}#f",
                                          state=FollowState.ACCEPTED, created_at=inst.now()))
    url = f"/api/v1/accounts/{local_account_id(union)}/followers"
    response = await client.get(url)
    assert [a["acct"] for a in response.json()] == ["u3@u3.example", "u2@u2.example", "u1@u1.example",
                                                    "u0@u0.example", "rail@rail.example"]
    rail_row = await Follower.get(remote=rail)
    assert links(response)["next"].endswith(f"max_id={rail_row.id}"), "cursors are the rows' ids"
    pages = await walk(client, url + "?limit=2")
    assert [len(p) for p in pages] == [2, 2, 1]
    assert [a["id"] for p in pages for a in p] == [a["id"] for a in response.json()]
    following = (await client.get(f"/api/v1/accounts/{local_account_id(union)}/following")).json()
    assert [a["acct"] for a in following] == ["rail@rail.example"]
    assert (await client.get(f"/api/v1/accounts/{rail.id}/followers")).json() == []
    assert (await client.get(f"/api/v1/accounts/{rail.id}/following")).json() == []
    await RemoteActor.filter(id=rail.id).update(deleted_at=inst.now())
    assert len((await client.get(url)).json()) == 4


async def test_empty_account_collections(world):
    client, inst, headers, union, rail, bob, cgt = world
    assert (await client.get(f"/api/v1/accounts/{rail.id}/featured_tags")).json() == []
    assert (await client.get(f"/api/v1/accounts/{rail.id}/lists", headers=headers)).json() == []
    response = await client.get(f"/api/v1/accounts/familiar_followers?id[]={rail.id}", headers=headers)
    assert response.json() == [{"id": str(rail.id), "accounts": []}]
