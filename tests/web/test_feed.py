"""The Atom feed of statements, read by a real feed parser."""
from __future__ import annotations

from datetime import timedelta

import feedparser

from content.models import Post

UNION = "https://ours.example/actors/sud_rail"


async def test_atom_feed_parses_as_atom_with_every_statement(site):
    client, inst = site
    now = inst.now()
    await Post.create(ap_id="https://ours.example/statements/1", local=True, author_uri=UNION, language="en",
                      content="<p>Solidarity with the striking rail workers! <script>x</script></p>",
                      content_map={"en": "<p>Solidarity with the striking rail workers!</p>",
                                   "fr": "<p>Solidarité avec les cheminot·es en grève !</p>"},
                      tags=[{"type": "Hashtag", "name": "#RailStrike"}], published=now - timedelta(days=1))
    await Post.create(ap_id="https://ours.example/statements/2", local=True, author_uri=UNION, language="es",
                      content="<p>¡Huelga general!</p>", content_map={"es": "<p>¡Huelga general!</p>"},
                      published=now, updated=now + timedelta(hours=1))
    await Post.create(ap_id="https://ours.example/statements/3", local=True, author_uri=UNION, hidden=True,
                      content="<p>hidden</p>", published=now)
    await Post.create(ap_id="https://peer.example/notes/9", author_uri="https://peer.example/users/a",
                      content="<p>not ours</p>", published=now)

    response = await client.get("/@sud_rail/feed.atom")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/atom+xml")
    feed = feedparser.parse(response.content)
    assert not feed.bozo, feed.bozo_exception
    assert feed.version == "atom10"
    assert feed.feed.title == "SUD-Rail"
    assert [e.id for e in feed.entries] == ["https://ours.example/statements/2", "https://ours.example/statements/1"]
    first, second = feed.entries
    assert first.title == "¡Huelga general!"
    assert second.tags[0].term == "RailStrike"
    # Every translation is reachable from the entry.
    assert {link.href for link in second.links} >= {"https://ours.example/statements/1",
                                                     "https://ours.example/statements/1?lang=fr"}
    assert "<script>" not in second.content[0].value and "Solidarity" in second.content[0].value

    same = await client.get("/feed.atom")
    assert feedparser.parse(same.content).feed.title == "SUD-Rail"
    assert (await client.get("/@nobody/feed.atom")).status_code == 404
    profile = await client.get("/@sud_rail")
    assert 'type="application/atom+xml"' in profile.text
