"""The public library: documents we published and documents from the unions we follow."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from actors.local import get_by_username
from actors.models import Following, FollowState, RemoteActor
from content import media
from content.as2 import PUBLIC
from content.models import Media, Post
from inbox.handlers import actors as actor_handlers
from inbox.handlers import posts
from outbox import statements
from outbox.lookup import store_remote_post
from tests.content.test_media import PDF, png
from tests.web.test_admin import remote
from web import library


def note(ap_id: str, author, *, lang: str, tags: list[str], attachments: list[dict], when: datetime,
         public: bool = True, updated: datetime | None = None) -> dict:
    """A remote Note as a peer sends it."""
    doc = {"id": ap_id, "type": "Note", "attributedTo": author.uri, "content": "<p>x</p>", "contentMap": {lang: "<p>x</p>"},
           "to": [PUBLIC] if public else [f"{author.uri}/followers"], "cc": [f"{author.uri}/followers"],
           "published": when.isoformat(), "attachment": attachments,
           "tag": [{"type": "Hashtag", "name": f"#{t}", "href": f"https://x.example/tags/{t}"} for t in tags]}
    if updated:
        doc["updated"] = updated.isoformat()
    return doc


async def receive(inst, kind: str, doc: dict, author) -> str:
    """Through the inbox's own handlers, as a delivered activity is."""
    activity = {"id": f"{doc['id']}#{kind}-{doc.get('updated', '')}", "type": kind, "actor": author.uri, "object": doc}
    handler = {"Create": posts.on_create, "Update": posts.on_update_object}[kind]
    return await handler(inst, activity, author)


@pytest.fixture
async def shelves(site):
    client, inst = site
    union = await get_by_username("sud_rail")
    # Ours: a statement with a PDF and an image (the image is no library item).
    pdf = await media.save(media.check(PDF), inst.media_root(), description="Motion on pensions", now=inst.now())
    photo = await media.save(media.check(png()), inst.media_root(), description="Photo", now=inst.now())
    await statements.publish(inst, union, {"en": "Our motion #pensions"}, media=[pdf, photo])
    # An upload never published is not in the library either.
    await media.save(media.check(PDF), inst.media_root(), description="Draft, unpublished", now=inst.now())
    # Theirs: a followed union's French document, its Mastodon-shaped image, a hostile link;
    # and a document from a union we do not follow.
    cgt = await remote("cgt_cheminots", "cgt.example")
    await Following.create(local=union, remote=cgt, follow_id="https://ours.example/activities/f1",
                           state=FollowState.ACCEPTED, created_at=inst.now())
    await receive(inst, "Create", note("https://cgt.example/notes/1", cgt, lang="fr", tags=["retraites"],
                                       when=inst.now() - timedelta(days=1), attachments=[
        {"type": "Document", "mediaType": "application/pdf", "url": "https://cgt.example/files/appel.pdf",
         "name": "Appel à la grève"},
        {"type": "Document", "mediaType": "image/jpeg", "url": "https://cgt.example/files/1.jpg", "name": "Manif"},
    ]), cgt)
    await receive(inst, "Create", note("https://cgt.example/notes/2", cgt, lang="fr", tags=[],
                                       when=inst.now() - timedelta(days=2), attachments=[
        {"type": "Document", "url": "https://cgt.example/files/tract.pdf"},
    ]), cgt)
    # Stored (it mentions nobody, but a lookup could fetch it), yet from a union we do not follow.
    stranger = await remote("other", "elsewhere.example")
    await store_remote_post(inst, note("https://elsewhere.example/notes/1", stranger, lang="en", tags=["pensions"],
                                       when=inst.now() - timedelta(days=3), attachments=[
        {"type": "Document", "mediaType": "application/pdf", "url": "https://elsewhere.example/x.pdf", "name": "Not ours"},
    ]))
    return client, inst


def titles(html: str) -> list[str]:
    import re
    return re.findall(r'<article class="document"[^>]*>\s*<h2[^>]*><a href="[^"]*"[^>]*>([^<]*)</a>', html)


async def test_library_lists_our_documents_and_those_of_followed_unions(shelves):
    client, inst = shelves
    page = await client.get("/library")
    assert page.status_code == 200
    assert titles(page.text) == ["Motion on pensions", "Appel à la grève", "tract.pdf"]
    assert 'href="https://cgt.example/files/appel.pdf" rel="nofollow noopener noreferrer"' in page.text
    assert "@cgt_cheminots@cgt.example" in page.text and "@sud_rail@ours.example" in page.text
    assert 'lang="fr"' in page.text and "#pensions" in page.text and "PDF" in page.text
    assert "Manif" not in page.text and "Not ours" not in page.text and "Draft, unpublished" not in page.text
    # Our document links to where it is served, which serves it.
    link = next(line for line in page.text.splitlines() if "Motion on pensions" in line)
    served = await client.get(link.split('href="')[1].split('"')[0])
    assert served.status_code == 200 and served.content == PDF


@pytest.mark.parametrize("query,expected", [
    ("?source=ours", ["Motion on pensions"]),
    ("?source=network", ["Appel à la grève", "tract.pdf"]),
    ("?lang=fr", ["Appel à la grève", "tract.pdf"]),
    ("?lang=en", ["Motion on pensions"]),
    ("?tag=retraites", ["Appel à la grève"]),
    ("?tag=%23Pensions", ["Motion on pensions"]),
    ("?lang=fr&source=ours", []),
    ("?source=nonsense", ["Motion on pensions", "Appel à la grève", "tract.pdf"]),
])
async def test_filters(shelves, query, expected):
    client, _ = shelves
    page = await client.get(f"/library{query}")
    assert page.status_code == 200 and titles(page.text) == expected
    if not expected:
        assert "No documents match these filters" in page.text


async def test_filter_form_works_without_script(shelves):
    client, _ = shelves
    page = (await client.get("/library?lang=fr")).text
    assert '<form method="get" action="/library"' in page and "<script" not in page
    assert '<option value="fr" lang="fr" selected>' in page
    assert 'href="/library"' in (await client.get("/")).text  # reachable from the site's navigation


async def test_followers_only_documents_stay_off_the_public_page(shelves):
    client, inst = shelves
    cgt = await RemoteActor.get(uri="https://cgt.example/users/cgt_cheminots")
    await receive(inst, "Create", note("https://cgt.example/notes/3", cgt, lang="fr", tags=[], when=inst.now(),
                                       public=False, attachments=[
        {"type": "Document", "mediaType": "application/pdf", "url": "https://cgt.example/files/interne.pdf",
         "name": "Note interne"}]), cgt)
    assert await Post.filter(ap_id="https://cgt.example/notes/3", public=False).exists()
    page = await client.get("/library")
    assert page.status_code == 200 and "Note interne" not in page.text
    assert titles(page.text) == ["Motion on pensions", "Appel à la grève", "tract.pdf"]


async def test_an_update_replaces_and_a_delete_removes_the_documents(shelves):
    client, inst = shelves
    cgt = await RemoteActor.get(uri="https://cgt.example/users/cgt_cheminots")
    first = "https://cgt.example/notes/1"
    await receive(inst, "Update", note(first, cgt, lang="fr", tags=["retraites"], when=inst.now() - timedelta(days=1),
                                       updated=inst.now(), attachments=[
        {"type": "Document", "mediaType": "application/pdf", "url": "https://cgt.example/files/appel-v2.pdf",
         "name": "Appel à la grève (corrigé)"},
        {"type": "Document", "mediaType": "text/plain", "url": "https://cgt.example/files/notes.txt", "name": "Notes"},
    ]), cgt)
    assert titles((await client.get("/library?source=network")).text) == \
        ["Appel à la grève (corrigé)", "Notes", "tract.pdf"]
    post = await Post.get(ap_id=first)
    assert await Media.filter(post_id=post.id, local=False).count() == 2
    result = await posts.on_delete_object(inst, {"id": f"{first}#delete", "type": "Delete", "actor": cgt.uri,
                                                 "object": first}, cgt)
    assert result == f"deleted {first}"
    assert titles((await client.get("/library?source=network")).text) == ["tract.pdf"]
    # Nothing left behind by the deleted post (Media.post is SET_NULL: the rows are deleted with it).
    assert await Media.filter(local=False, post_id__isnull=True).count() == 0
    assert not await Media.filter(remote_url__startswith="https://cgt.example/files/appel").exists()


async def test_older_documents_are_paged_not_dropped(shelves, monkeypatch):
    client, inst = shelves
    monkeypatch.setattr(library, "PER_PAGE", 2)
    first = await client.get("/library")
    assert titles(first.text) == ["Motion on pensions", "Appel à la grève"] and "3 documents" in first.text
    assert 'href="/library?page=2" rel="next"' in first.text
    second = await client.get("/library?page=2")
    assert titles(second.text) == ["tract.pdf"] and 'href="/library?page=1" rel="prev"' in second.text
    assert "rel=\"next\"" not in second.text
    tagged = await client.get("/library?tag=retraites&page=1")
    assert titles(tagged.text) == ["Appel à la grève"]
    assert titles((await client.get("/library?page=abc")).text) == titles(first.text)


async def test_a_deleted_account_takes_its_documents_along(shelves):
    client, inst = shelves
    cgt = await RemoteActor.get(uri="https://cgt.example/users/cgt_cheminots")
    await actor_handlers.on_delete_actor(inst, {"id": f"{cgt.uri}#delete", "type": "Delete", "actor": cgt.uri,
                                                "object": cgt.uri}, cgt)
    assert titles((await client.get("/library")).text) == ["Motion on pensions"]
    assert await Media.filter(local=False, post_id__isnull=True).count() == 0
