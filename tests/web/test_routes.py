"""Every URL we advertise is served, and bad query values get a 400, never a 500."""
from __future__ import annotations

import pytest

from content.models import Post

AP = {"Accept": "application/activity+json"}


@pytest.mark.parametrize("path", [
    "/actors/sud_rail/outbox?page=true&max_id=99999999999999999999",
    "/actors/sud_rail/outbox?page=true&max_id=-1",
    "/actors/sud_rail/followers?page=99999999999999999999",
    "/actors/sud_rail/followers?page=0",
    "/actors/sud_rail/following?page=abc",
])
async def test_bad_paging_values_are_400(site, path):
    client, _ = site
    response = await client.get(path, headers=AP)
    assert response.status_code == 400 and "error" in response.json()


async def test_a_page_is_served_at_its_own_id(site):
    client, _ = site
    doc = (await client.get("/actors/sud_rail/followers?page=1", headers=AP)).json()
    assert doc["id"] == "https://ours.example/actors/sud_rail/followers?page=1"


async def test_replies_collection_and_tag_page_are_served(site):
    client, inst = site
    now = inst.now()
    sid = "https://ours.example/statements/abc"
    await Post.create(ap_id=sid, local=True, author_uri="https://ours.example/actors/sud_rail", content="<p>x</p>",
                      content_map={"en": "<p>x</p>"}, language="en", published=now,
                      tags=[{"type": "Hashtag", "name": "#RailStrike", "href": "https://ours.example/tags/railstrike"}])
    for n, hidden in ((1, False), (2, True)):
        await Post.create(ap_id=f"https://peer.example/notes/{n}", author_uri="https://peer.example/users/a",
                          in_reply_to=sid, published=now, hidden=hidden)
    replies = await client.get(f"{sid.removeprefix('https://ours.example')}/replies", headers=AP)
    assert replies.status_code == 200 and replies.headers["content-type"].startswith("application/activity+json")
    doc = replies.json()
    assert doc["id"] == f"{sid}/replies" and doc["totalItems"] == 1
    assert doc["first"]["items"] == ["https://peer.example/notes/1"]  # the hidden one is not listed
    page = await client.get("/tags/railstrike")
    assert page.status_code == 200 and "https://ours.example/statements/abc" in page.text
    assert (await client.get("/statements/nope/replies", headers=AP)).status_code == 404


async def test_webfinger_advertises_only_what_is_served(site):
    client, _ = site
    doc = (await client.get("/.well-known/webfinger?resource=acct:sud_rail@ours.example")).json()
    for link in doc["links"]:
        if "href" in link:
            assert link["href"].startswith("https://ours.example/")
            path = link["href"].removeprefix("https://ours.example")
            response = await client.get(path, headers={"Accept": link.get("type", "text/html")})
            assert response.status_code in (200, 302), (link, response.status_code)


async def test_served_statement_keeps_the_authors_language_order_on_every_database(site):
    """jsonb (PostgreSQL) sorts object keys; the primary language must still come first."""
    from actors.local import get_by_username
    from outbox.statements import publish

    client, inst = site
    union = await get_by_username("sud_rail")
    post = await publish(inst, union, {"fr": "Grève générale", "es": "Huelga general", "en": "General strike"})
    reloaded = await Post.get(ap_id=post.ap_id)
    assert list(reloaded.content_in_order()) == ["fr", "es", "en"]
    note = (await client.get(post.ap_id.removeprefix("https://ours.example"), headers=AP)).json()
    assert list(note["contentMap"]) == ["fr", "es", "en"]
    assert note["content"].startswith("<p>Grève générale</p>")
