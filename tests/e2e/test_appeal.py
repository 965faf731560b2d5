"""An appeal between two real instances over real HTTP: A appeals, B (which follows A) sees it in its
admin timeline and declares solidarity with a boost in one step; A's appeal page lists B's
declaration and co-signature; A's admin hides the declaration and it leaves the page and the
`replies` collection."""
from __future__ import annotations

import json
import re

import httpx
import pytest

from tests.e2e.harness import ap_get, destroy, eventually, make_instance

pytestmark = pytest.mark.timeout(180)
PASSWORD = "correct horse battery"  # what make_instance gives `init`
CSRF = re.compile(r'<input type="hidden" name="csrf" value="([^"]+)">')
DECLARATION = re.compile(r'<article class="declaration[^"]*"[^>]*>.*?</article>', re.S)


@pytest.fixture
async def pair(tmp_path):
    a = await make_instance(tmp_path, "a", "solidaires", "Union syndicale Solidaires")
    b = await make_instance(tmp_path, "b", "conlutas", "CSP-Conlutas")
    for inst in (a, b):
        inst.start()
    try:
        yield a, b
    finally:
        for inst in (a, b):
            await destroy(inst)


async def logged_in(inst) -> httpx.AsyncClient:
    """An admin session obtained through the real login form, as a browser would."""
    client = httpx.AsyncClient(base_url=inst.url, timeout=30)
    token = CSRF.search((await client.get("/login")).text).group(1)
    response = await client.post("/login", data={"username": "admin", "password": PASSWORD, "csrf": token})
    assert response.status_code == 303, response.text
    return client


def token_of(page: str) -> str:
    return CSRF.search(page).group(1)


async def _true(coro) -> bool:
    return bool(await coro)


async def page_of(url: str) -> str:
    async with httpx.AsyncClient(timeout=10) as client:
        return (await client.get(url, headers={"Accept": "text/html"})).text


async def test_appeal_declaration_cosignature_and_hiding(pair):
    a, b = pair
    following = "SELECT f.state FROM actors_following f JOIN actors_remote r ON r.id = f.remote_id WHERE r.uri = $1"
    b.cli("follow", a.acct)
    await eventually(lambda: _eq(b.sql(following, a.actor_uri), [("accepted",)]), what="B following A")

    sid = a.cli("post", "Send your declarations of solidarity with the cleaners on strike!", "--lang", "en",
                "--also", "fr", "Envoyez vos déclarations de solidarité avec les nettoyeuses en grève !",
                "--appeal", "--until", "2031-01-31").stdout.strip()
    note = ap_get(sid).json()
    assert note["appeal"] is True and note["appealUntil"] == "2031-01-31T23:59:59Z"
    assert "appeal for declarations of solidarity" in note["content"], "Mastodon readers are told too"

    # B stores it with the appeal flag kept in `extra` (not in its own appeal column).
    await eventually(lambda: b.post_count(ap_id=sid), what="B has A's appeal")
    (extra, own_flag), = await b.sql("SELECT extra, appeal FROM content_post WHERE ap_id = $1", sid)
    extra = json.loads(extra) if isinstance(extra, str) else extra
    assert extra["appeal"] is True and extra["appeal_until"] == "2031-01-31T23:59:59Z" and not own_flag

    # B's admin sees it in the timeline and declares solidarity, cross-posting it in one step.
    admin_b = await logged_in(b)
    try:
        timeline = (await admin_b.get("/admin/timeline")).text
        item = timeline.split(f'data-uri="{sid}"')[1].split("</article>")[0]
        assert "Declare solidarity" in item and ">Boost</button>" in item
        form = await admin_b.get("/admin/declare", params={"uri": sid})
        assert form.status_code == 200 and 'name="boost" value="1" checked' in form.text
        sent = await admin_b.post("/admin/declare", params={"uri": sid}, data={
            "csrf": token_of(form.text), "lang": "pt", "text": "A CSP-Conlutas declara sua solidariedade com a greve!",
            "boost": "1"})
        assert sent.status_code == 303 and sent.headers["location"] == "/admin/timeline?done=declared_boosted"
        after = (await admin_b.get(sent.headers["location"])).text
        item = after.split(f'data-uri="{sid}"')[1].split("</article>")[0]
        assert ">Unboost</button>" in item and "you declared your solidarity" in item
    finally:
        await admin_b.aclose()
    (reply_id,), = await b.sql("SELECT ap_id FROM content_post WHERE local = $1 AND in_reply_to = $2", True, sid)

    # Back on A: the declaration and the co-signature arrive by themselves.
    page_url = sid
    await eventually(lambda: _true(_contains_async(page_of(page_url), '<article class="declaration')),
                     what="A lists B's declaration")
    await eventually(lambda: _true(_contains_async(page_of(page_url), "Co-signed by 1 union<")),
                     what="A counts B's co-signature", timeout=30)
    page = await page_of(page_url)
    (declaration,) = DECLARATION.findall(page)
    assert 'lang="pt"' in declaration and "declara sua solidariedade" in declaration
    assert "CSP-Conlutas" in declaration and b.acct in declaration
    cosigners = page[page.index('<section id="cosigners"'):]
    assert "CSP-Conlutas" in cosigners.split("</ul>")[0]
    replies = ap_get(f"{sid}/replies").json()
    assert replies["totalItems"] == 1 and replies["first"]["items"] == [reply_id]

    # A's admin hides the declaration: gone from the page and the collection, still listed for the admin.
    admin_a = await logged_in(a)
    try:
        short = sid.rsplit("/", 1)[1]
        status_page = (await admin_a.get(f"/admin/statements/{short}")).text
        hide = re.search(rf'action="(/admin/statements/{short}/declarations/\d+/hide)"', status_page).group(1)
        refused = await admin_a.post(hide, data={})
        assert refused.status_code == 403, "no CSRF token, no change"
        hidden = await admin_a.post(hide, data={"csrf": token_of(status_page)})
        assert hidden.status_code == 303
        assert "/show" in (await admin_a.get(f"/admin/statements/{short}")).text
    finally:
        await admin_a.aclose()
    page = await page_of(page_url)
    assert not DECLARATION.findall(page) and "declara sua solidariedade" not in page
    assert "Co-signed by 1 union<" in page, "hiding a declaration does not undo the co-signature"
    replies = ap_get(f"{sid}/replies").json()
    assert replies["totalItems"] == 0 and replies["first"]["items"] == []


async def _eq(coro, value) -> bool:
    return await coro == value


async def _contains_async(coro, text: str) -> bool:
    return text in await coro
