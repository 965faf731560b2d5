"""Across servers: a visitor follows us from their own server; our admin, sent by another
server's page to /authorize_interaction, follows an account or cross-posts a post."""
from __future__ import annotations

from urllib.parse import quote

import pytest

from actors.models import Following
from content.models import Interaction
from outbox.models import Activity
from tests.web.test_auth import CSRF, admin_site, log_in  # noqa: F401 (fixture)

AP = "application/activity+json"
ROSA = "https://mastodon.example/users/rosa"
NOTE = "https://mastodon.example/users/rosa/statuses/1"


@pytest.fixture
def fediverse(remote):
    remote["https://mastodon.example/.well-known/webfinger"] = (200, {
        "subject": "acct:rosa@mastodon.example",
        "links": [{"rel": "self", "type": AP, "href": ROSA},
                  {"rel": "http://ostatus.org/schema/1.0/subscribe",
                   "template": "https://mastodon.example/authorize_interaction?uri={uri}"}]}, "application/jrd+json")
    remote[ROSA] = (200, {
        "@context": ["https://www.w3.org/ns/activitystreams"], "id": ROSA, "type": "Person",
        "preferredUsername": "rosa", "name": "Rosa", "inbox": f"{ROSA}/inbox",
        "endpoints": {"sharedInbox": "https://mastodon.example/inbox"},
        "publicKey": {"id": f"{ROSA}#main-key", "owner": ROSA, "publicKeyPem": "pem"}}, AP)
    remote[NOTE] = (200, {
        "@context": "https://www.w3.org/ns/activitystreams", "id": NOTE, "type": "Note", "attributedTo": ROSA,
        "to": ["https://www.w3.org/ns/activitystreams#Public"], "content": "<p>Strike at the post office!</p>",
        "published": "2026-09-23T08:00:00Z"}, AP)
    return remote


async def test_a_visitor_is_sent_to_their_own_server_to_follow_us(site, fediverse):
    client, _ = site
    page = await client.get("/remote_follow")
    assert page.status_code == 200 and "@sud_rail@ours.example" in page.text
    response = await client.post("/remote_follow", data={"handle": "@rosa@mastodon.example"})
    assert response.status_code == 303
    assert response.headers["location"] == (
        "https://mastodon.example/authorize_interaction?uri=" + quote("https://ours.example/actors/sud_rail", safe=""))
    bad = await client.post("/remote_follow", data={"handle": "not a handle"})
    assert bad.status_code == 400 and "not a handle" in bad.text and 'value="not a handle"' in bad.text


async def test_authorize_interaction_needs_login(site):
    client, _ = site
    response = await client.get("/authorize_interaction?uri=" + quote(ROSA))
    assert response.status_code == 303 and response.headers["location"].startswith("/login?next=")


async def test_admin_follows_an_account_from_another_servers_page(admin_site, fediverse):
    client, _ = admin_site
    await log_in(client)
    page = await client.get("/authorize_interaction?uri=" + quote("acct:rosa@mastodon.example"))
    assert page.status_code == 200 and "@rosa@mastodon.example" in page.text
    token = CSRF.search(page.text).group(1)
    done = await client.post("/authorize_interaction", data={"uri": ROSA, "action": "follow", "csrf": token})
    assert done.status_code == 200 and "Follow request sent" in done.text
    row = await Following.get().prefetch_related("remote")
    assert row.remote.uri == ROSA and row.state == "pending"
    follow = await Activity.get(type="Follow")
    assert follow.payload["object"] == ROSA


async def test_admin_cross_posts_a_post_and_refused_without_token(admin_site, fediverse):
    client, _ = admin_site
    await log_in(client)
    page = await client.get("/authorize_interaction?uri=" + quote(NOTE))
    assert page.status_code == 200 and "Strike at the post office!" in page.text
    forged = await client.post("/authorize_interaction", data={"uri": NOTE, "action": "boost"})
    assert forged.status_code == 403 and not await Interaction.exists()
    token = CSRF.search(page.text).group(1)
    done = await client.post("/authorize_interaction", data={"uri": NOTE, "action": "boost", "csrf": token})
    assert done.status_code == 200 and "Cross-posted" in done.text
    boost = await Activity.get(type="Announce")
    assert boost.payload["object"] == NOTE
    assert await Interaction.filter(kind="announce", object_uri=NOTE, local=True).count() == 1


async def test_network_page_and_profile_links(site):
    client, _ = site
    network = await client.get("/network")
    assert network.status_code == 200 and "Who follows us" in network.text
    profile = await client.get("/@sud_rail")
    assert 'href="/remote_follow"' in profile.text and 'href="/network"' in profile.text


async def test_profile_pages_through_statements_newest_first(site):
    from datetime import timedelta

    from content.models import Post

    client, inst = site
    for n in range(45):
        await Post.create(ap_id=f"https://ours.example/statements/{n}", local=True,
                          author_uri="https://ours.example/actors/sud_rail", content=f"<p>statement number {n}</p>",
                          published=inst.now() + timedelta(minutes=n))
    first = await client.get("/@sud_rail")
    assert "statement number 44" in first.text and "statement number 24" not in first.text
    assert 'rel="next" href="?page=2"' in first.text and 'rel="prev"' not in first.text
    last = await client.get("/@sud_rail?page=3")
    assert "statement number 0<" in last.text and 'rel="prev" href="?page=2"' in last.text
    assert (await client.get("/@sud_rail?page=4")).status_code == 404
    assert (await client.get("/@sud_rail?page=abc")).status_code == 404
