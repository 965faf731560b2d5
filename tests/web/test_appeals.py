"""Our appeals over HTTP: the public page's declarations and co-signers, the admin's Hide/Show,
the `replies` collection, and the Note's appeal properties."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pytest

from actors.local import get_by_username
from actors.models import RemoteActor
from content.models import Interaction, Post
from outbox import appeals as appeals_out
from outbox import statements
from outbox.lookup import store_remote_post
from web import appeal_view

CSRF = re.compile(r'<input type="hidden" name="csrf" value="([^"]+)">')
AP = {"Accept": "application/activity+json"}
DECLARATION = re.compile(r'<article class="declaration[^"]*"[^>]*>.*?</article>', re.S)


async def declaration(author: RemoteActor, appeal: Post, n: int, content_map: dict[str, str], **kw) -> Post:
    primary = next(iter(content_map))
    return await Post.create(ap_id=f"{author.uri}/notes/{n}", author_uri=author.uri, in_reply_to=appeal.ap_id,
                             url=f"https://{author.domain}/@{author.username}/{n}", content=content_map[primary],
                             content_map=content_map, language=primary, public=True,
                             published=appeal.published + timedelta(minutes=n), **kw)


@pytest.fixture
async def appeal(admin, remote_actor):
    """An appeal with two declarations (one in two languages), a union's boost and a person's like."""
    client, inst, union, token = admin
    post = await statements.publish(inst, union, {"en": "Support the cleaners' strike!", "fr": "Soutenez la grève !"},
                                    appeal=True, appeal_until=datetime(2026, 10, 15, 23, 59, 59, tzinfo=timezone.utc))
    rail = await remote_actor("rail", "Organization", inst.now())
    dock = await remote_actor("dock", "Group", inst.now())
    bob = await remote_actor("bob", "Person", inst.now())
    first = await declaration(rail, post, 1, {"en": "<p>Rail workers stand with you.</p>",
                                              "fr": "<p>Les cheminots sont avec vous.</p>"})
    second = await declaration(dock, post, 2, {"en": "<p>Dockers declare solidarity.</p><script>alert(1)</script>"})
    await Interaction.create(kind="announce", activity_id=f"{rail.uri}/boost/1", actor_uri=rail.uri,
                             object_uri=post.ap_id, created_at=inst.now())
    await Interaction.create(kind="like", activity_id=f"{bob.uri}/like/1", actor_uri=bob.uri,
                             object_uri=post.ap_id, created_at=inst.now())
    return client, inst, token, post, first, second


def sid(post: Post) -> str:
    return post.ap_id.rsplit("/", 1)[1]


async def test_public_appeal_page_shows_deadline_declarations_and_cosigners(appeal):
    client, inst, _, post, first, second = appeal
    page = (await client.get(f"/statements/{sid(post)}", headers={"Accept-Language": "fr"})).text
    assert "Deadline: <time" in page and "2026-10-15" in page
    assert '<section id="declarations"' in page and '<section id="cosigners"' in page
    articles = DECLARATION.findall(page)
    assert len(articles) == 2
    assert 'lang="fr"' in articles[0] and "Les cheminots sont avec vous." in articles[0], "the reader's language"
    assert "Rail Union" in articles[0] and "@rail@rail.example" in articles[0]
    assert 'href="https://rail.example/@rail"' in articles[0]
    assert 'lang="en"' in articles[1] and "Dockers declare solidarity." in articles[1]
    assert "<script" not in articles[1] and "alert(1)" not in page
    cosigners = page[page.index('<section id="cosigners"'):]
    assert "Co-signed by 1 union<" in cosigners
    assert re.search(r'<ul class="cosigners">\s*<li><a href="https://rail.example/@rail"[^>]*>Rail Union</a>', cosigners)
    assert "Bob Union" not in cosigners.split("</ul>")[0], "a person's like is not a union's co-signature"
    assert "Also supported by 1 person" in cosigners


async def test_ordinary_statement_page_has_no_appeal_sections(admin):
    client, inst, union, _ = admin
    post = await statements.publish(inst, union, {"en": "A plain statement"})
    page = (await client.get(f"/statements/{sid(post)}")).text
    assert "A plain statement" in page and 'id="declarations"' not in page and 'id="cosigners"' not in page


async def test_appeal_note_is_served_with_its_properties(appeal):
    client, _, _, post, _, _ = appeal
    note = (await client.get(f"/statements/{sid(post)}", headers=AP)).json()
    assert note["appeal"] is True and note["appealUntil"] == "2026-10-15T23:59:59Z"
    assert note["@context"][1]["unionhall"] == "https://unionhall.org/ns#"
    assert "appel à déclarations de solidarité" in note["contentMap"]["fr"]
    assert note["replies"]["id"] == f"{post.ap_id}/replies"


async def test_admin_hides_and_shows_a_declaration(appeal):
    client, inst, token, post, first, second = appeal
    admin_page = (await client.get(f"/admin/statements/{sid(post)}")).text
    assert admin_page.count('<article class="declaration') == 2
    hide = f"/admin/statements/{sid(post)}/declarations/{first.id}/hide"
    assert f'action="{hide}"' in admin_page
    replies = (await client.get(f"/statements/{sid(post)}/replies", headers=AP)).json()
    assert replies["totalItems"] == 2 and replies["first"]["items"] == [first.ap_id, second.ap_id]

    assert (await client.post(hide, data={})).status_code == 403, "no CSRF token, no change"
    assert not (await Post.get(id=first.id)).hidden
    response = await client.post(hide, data={"csrf": token})
    assert response.status_code == 303 and response.headers["location"].startswith(f"/admin/statements/{sid(post)}")
    assert (await Post.get(id=first.id)).hidden

    public = (await client.get(f"/statements/{sid(post)}")).text
    assert len(DECLARATION.findall(public)) == 1 and "Rail workers" not in public
    replies = (await client.get(f"/statements/{sid(post)}/replies", headers=AP)).json()
    assert replies["totalItems"] == 1 and replies["first"]["items"] == [second.ap_id]
    admin_page = (await client.get(f"/admin/statements/{sid(post)}")).text
    assert "Rail workers" in admin_page and f"/declarations/{first.id}/show" in admin_page, "the admin still sees it"

    assert (await client.post(f"/admin/statements/{sid(post)}/declarations/{first.id}/show",
                              data={"csrf": token})).status_code == 303
    assert len(DECLARATION.findall((await client.get(f"/statements/{sid(post)}")).text)) == 2


async def test_hiding_needs_a_declaration_of_that_statement(appeal):
    client, inst, token, post, first, _ = appeal
    other = await statements.publish(inst, await get_by_username("sud_rail"), {"en": "Another"})
    for url in (f"/admin/statements/{sid(other)}/declarations/{first.id}/hide",
                f"/admin/statements/{sid(post)}/declarations/999999/hide",
                f"/admin/statements/nope/declarations/{first.id}/hide"):
        assert (await client.post(url, data={"csrf": token})).status_code == 404, url
    own = await Post.get(ap_id=other.ap_id)
    assert (await client.post(f"/admin/statements/{sid(post)}/declarations/{own.id}/hide",
                              data={"csrf": token})).status_code == 404
    assert not await Post.filter(hidden=True).exists()


async def test_hide_requires_login(site):
    client, _ = site
    response = await client.post("/admin/statements/x/declarations/1/hide", data={})
    assert response.status_code == 403


async def test_publish_refuses_a_deadline_without_an_appeal_or_in_the_past(admin):
    _, inst, union, _ = admin
    with pytest.raises(statements.OutboxError, match="only for an appeal"):
        await statements.publish(inst, union, {"en": "x"}, appeal_until=inst.now() + timedelta(days=3))
    with pytest.raises(statements.OutboxError, match="already past"):
        await statements.publish(inst, union, {"en": "x"}, appeal=True, appeal_until=inst.now() - timedelta(days=3))
    assert not await Post.exists()
    naive = await statements.publish(inst, union, {"en": "x"}, appeal=True, appeal_until=datetime(2026, 12, 1))
    assert naive.appeal and naive.appeal_until == datetime(2026, 12, 1, tzinfo=timezone.utc)


async def test_an_edit_keeps_the_appeal(admin):
    _, inst, union, _ = admin
    post = await statements.publish(inst, union, {"en": "Appeal"}, appeal=True,
                                    appeal_until=datetime(2026, 10, 1, tzinfo=timezone.utc))
    await statements.edit(inst, union, post.ap_id, {"en": "Appeal, edited"})
    edited = await Post.get(ap_id=post.ap_id)
    assert edited.appeal and edited.appeal_until == datetime(2026, 10, 1, tzinfo=timezone.utc)


async def test_a_hidden_declaration_stays_hidden_when_its_author_edits_it(appeal):
    client, inst, token, post, first, _ = appeal
    assert (await client.post(f"/admin/statements/{sid(post)}/declarations/{first.id}/hide",
                              data={"csrf": token})).status_code == 303
    edited = {"id": first.ap_id, "type": "Note", "attributedTo": first.author_uri, "inReplyTo": post.ap_id,
              "to": ["https://www.w3.org/ns/activitystreams#Public"], "contentMap": {"en": "<p>Edited.</p>"},
              "published": "2026-09-23T09:01:00Z", "updated": "2026-09-23T09:30:00Z"}
    inst.clock.advance(hours=1)
    await store_remote_post(inst, edited)
    stored = await Post.get(id=first.id)
    assert stored.content_map == {"en": "<p>Edited.</p>"} and stored.hidden
    assert "Edited." not in (await client.get(f"/statements/{sid(post)}")).text


async def test_the_public_page_shows_declarations_fifty_at_a_time(appeal, remote_actor):
    client, inst, _, post, first, second = appeal
    many = await remote_actor("many", "Organization", inst.now())
    for n in range(3, 123):  # 2 + 120 = 122 declarations: pages of 50, 50 and 22
        await declaration(many, post, n, {"en": f"<p>Declaration number {n}.</p>"})
    assert appeal_view.PAGE_SIZE == 50
    pages = {}
    for n in (1, 2, 3):
        response = await client.get(f"/statements/{sid(post)}" + (f"?page={n}" if n > 1 else ""))
        assert response.status_code == 200
        pages[n] = response.text
        assert "Declarations of solidarity (122)" in pages[n], "the heading counts them all"
    assert [len(DECLARATION.findall(pages[n])) for n in (1, 2, 3)] == [50, 50, 22]
    assert "Rail workers stand with you." in DECLARATION.findall(pages[1])[0], "oldest first"
    assert "Declaration number 51." in DECLARATION.findall(pages[2])[0]
    assert "Declaration number 122." in DECLARATION.findall(pages[3])[-1]
    assert 'href="?page=2#declarations" rel="next"' in pages[1] and 'rel="prev"' not in pages[1]
    assert 'href="?page=1#declarations" rel="prev"' in pages[2] and 'href="?page=3#declarations" rel="next"' in pages[2]
    assert 'rel="next"' not in pages[3] and "Page 3 of 3" in pages[3]
    for bad in ("4", "0", "abc", "-1", "9999999"):
        assert (await client.get(f"/statements/{sid(post)}?page={bad}")).status_code == 404, bad


async def test_a_short_appeal_page_has_no_page_links(appeal):
    client, inst, _, post, *_ = appeal
    page = (await client.get(f"/statements/{sid(post)}")).text
    assert "Page 1 of" not in page and 'rel="next"' not in page


async def test_set_hidden_only_for_a_declaration_on_one_of_our_appeals(appeal):
    client, inst, token, post, first, _ = appeal
    union = await get_by_username("sud_rail")
    plain = await statements.publish(inst, union, {"en": "Not an appeal"})
    rail = await RemoteActor.get(uri=first.author_uri)
    reply_to_plain = await Post.create(ap_id=f"{rail.uri}/notes/50", author_uri=rail.uri, in_reply_to=plain.ap_id,
                                       content="<p>x</p>", content_map={"en": "<p>x</p>"}, language="en",
                                       public=True, published=inst.now())
    for post_ in (reply_to_plain, plain):
        with pytest.raises(statements.OutboxError, match="not a declaration on one of our appeals"):
            await appeals_out.set_hidden(inst, union, post_, True)
    assert not await Post.filter(hidden=True).exists()
    await appeals_out.set_hidden(inst, union, first, True)
    assert (await Post.get(id=first.id)).hidden
    await appeals_out.set_hidden(inst, union, first, False)
    assert not (await Post.get(id=first.id)).hidden
