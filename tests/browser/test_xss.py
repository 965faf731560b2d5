"""Stored XSS from a peer, checked where it would bite: in a real browser.

A Mastodon-shaped peer (tests/support/fakepeer.py, signing as Mastodon does) delivers
over real HTTP to a running instance: an actor whose name, summary and links are attacks,
a post to its followers (the union follows it: admin timeline) and a reply to the union's
appeal that mentions the union (notifications, the public appeal page). Every payload
would set `window.__xss`, change `document.title` or open an alert() if it ran.

In Chromium we load each page, hover and click every link, and assert that nothing ran,
that no javascript:/data: URL, event handler, <script>/<iframe>/<svg>/<object> from the
content reached the DOM, and that the Content-Security-Policy header is there. The pages
are loaded twice: once as served, and once with the CSP switched off in the browser, so
the sanitiser alone is shown to hold (the CSP is the second wall, not the only one). The
served HTML is parsed and checked too.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from html.parser import HTMLParser

import pytest
import pytest_asyncio

from tests.browser.conftest import log_in, new_context, visit
from tests.e2e.harness import destroy, eventually, make_instance
from tests.support.fakepeer import FakeActor, FakePeer, shared_pem

pytestmark = [pytest.mark.asyncio(loop_scope="module"), pytest.mark.timeout(240)]

AS = "https://www.w3.org/ns/activitystreams"
PUBLIC = f"{AS}#Public"

# Each would leave a trace if it ran. `alert` also opens a dialog the page listener records.
RUN = "window.__xss='{0}';document.title='XSS {0}';alert('{0}')"
FRAGMENTS = [
    f"<script>{RUN.format('script')}</script>",
    f"<img src=x onerror=\"{RUN.format('img-onerror')}\">",
    f"<body onload=\"{RUN.format('body-onload')}\">",
    f"<a href=\"https://example.com/ok\" onmouseover=\"{RUN.format('onmouseover')}\">hover me</a>",
    f"<p onclick=\"{RUN.format('onclick')}\">click this paragraph</p>",
    f"<a href=\"javascript:{RUN.format('javascript-link')}\">javascript link</a>",
    f"<a href=\"JaVaScRiPt&#58;{RUN.format('encoded-javascript')}\">encoded javascript link</a>",
    f"<a href=\" &#14;javascript:{RUN.format('spaced-javascript')}\">spaced javascript link</a>",
    "<a href=\"data:text/html;base64,PHNjcmlwdD5hbGVydCgnZGF0YScpPC9zY3JpcHQ+\">data link</a>",
    f"<a href=\"vbscript:{RUN.format('vbscript')}\">vbscript link</a>",
    f"<svg onload=\"{RUN.format('svg-onload')}\"><script>{RUN.format('svg-script')}</script></svg>",
    f"<svg><a xlink:href=\"javascript:{RUN.format('svg-xlink')}\"><text y=\"20\">svg link</text></a></svg>",
    f"<math><mtext><table><mglyph><style><img src=x onerror=\"{RUN.format('mxss')}\"></style></mglyph>"
    "</table></mtext></math>",
    "<style>body{background:url(javascript:alert('style'))} p{width:expression(alert('expression'))}</style>",
    "<span style=\"background:url(javascript:alert('style-attr'));width:expression(alert('expr-attr'))\">"
    "styled text</span>",
    f"<iframe src=\"javascript:{RUN.format('iframe')}\"></iframe>",
    "<iframe srcdoc=\"&lt;script&gt;parent.__xss='srcdoc'&lt;/script&gt;\"></iframe>",
    "<object data=\"data:text/html;base64,PHNjcmlwdD5hbGVydCgnb2JqZWN0Jyk8L3NjcmlwdD4=\"></object>",
    f"<embed src=\"javascript:{RUN.format('embed')}\">",
    f"<form action=\"javascript:{RUN.format('form')}\"><button formaction=\"javascript:alert(1)\">go</button>"
    "</form>",
    "<meta http-equiv=\"refresh\" content=\"0;url=javascript:alert('meta')\">",
    "<base href=\"javascript:alert('base')//\">",
    f"<a href=\"https://example.com/q\" title=\"&quot; onmouseover=&quot;{RUN.format('attr-breakout')}\">quoted title</a>",
    f"<noscript><p title=\"</noscript><img src=x onerror={RUN.format('noscript')}>\"></noscript>",
]
PAYLOAD = "".join(FRAGMENTS)
EVIL_NAME = f"Mallory <img src=x onerror=\"{RUN.format('actor-name')}\"><script>{RUN.format('name-script')}</script>"
EVIL_SUMMARY = f"<p>We organise.</p>{PAYLOAD}"
EVIL_SCHEMES = ("javascript:", "data:", "vbscript:")
# Attributes that take a URL the browser may load or navigate to.
URL_ATTRIBUTES = {"href", "src", "action", "formaction", "data", "xlink:href", "poster", "background", "srcdoc",
                  "cite", "ping"}
FOREIGN_TAGS = {"script", "iframe", "frame", "object", "embed", "svg", "math", "base", "applet"}


@dataclass
class EvilActor(FakeActor):
    """A fake union whose profile is an attack: name, summary, url and icon."""

    def document(self) -> dict:
        doc = super().document()
        doc.update(type="Organization", name=EVIL_NAME, summary=EVIL_SUMMARY,
                   url=f"javascript:{RUN.format('actor-url')}",
                   icon={"type": "Image", "url": "data:image/svg+xml,<svg onload=alert(1)>"})
        return doc


def note(peer: FakePeer, actor: FakeActor, marker: str, **extra) -> dict:
    """A Mastodon-shaped Note carrying every payload, plus a visible marker proving it was rendered."""
    content = f"<p>{marker}</p>{PAYLOAD}"
    evil = peer.note(actor, marker, **extra) | {
        "content": content, "contentMap": {"en": content},
        "summary": f"CW {marker} <script>{RUN.format('summary')}</script><img src=x onerror=\"{RUN.format('cw')}\">",
        "url": f"javascript:{RUN.format('note-url')}",
        "attachment": [{"type": "Document", "mediaType": "image/png", "url": "javascript:alert('attachment')",
                        "name": f"<img src=x onerror=\"{RUN.format('alt')}\">"},
                       # A real-looking document (the library lists it) whose title is an attack.
                       {"type": "Document", "mediaType": "application/pdf", "url": f"{peer.url}/files/{marker}.pdf",
                        "name": f"Evil PDF {marker}<script>{RUN.format('doc-title')}</script>"
                                f"<img src=x onerror=\"{RUN.format('doc-img')}\">"}],
    }
    # Served at its id the same way it is delivered, should the instance fetch it.
    peer.serve_document(evil["id"].removeprefix(peer.url), {"@context": AS, **evil})
    return evil


def create_of(n: dict) -> dict:
    return {"@context": AS, "id": f"{n['id']}/activity", "type": "Create", "actor": n["attributedTo"],
            "published": n["published"], "to": n["to"], "cc": n["cc"], "object": n}


async def stored(inst, ap_id: str) -> bool:
    return (await inst.sql("SELECT count(*) FROM content_post WHERE ap_id = $1", ap_id))[0][0] == 1


# ------------------------------------------------------------------ the scene

@dataclass
class Scene:
    union: object
    peer: FakePeer
    mallory: EvilActor
    appeal_url: str
    is_appeal: bool
    timeline_marker: str
    reply_marker: str


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def scene(tmp_path_factory, browser):
    union = await make_instance(tmp_path_factory.mktemp("xss"), "u", "solidaires", "Union syndicale Solidaires")
    union.start()
    peer = FakePeer().start()
    try:
        mallory = EvilActor(peer, "mallory", shared_pem())
        peer.actors[mallory.name] = mallory

        # Mallory follows the union (network page, a follower notification)...
        follow = {"@context": AS, "id": f"{peer.url}/{uuid.uuid4()}", "type": "Follow", "actor": mallory.uri,
                  "object": union.actor_uri}
        assert (await peer.deliver(mallory, f"{union.actor_uri}/inbox", follow)).status_code == 202
        # ...and the union follows Mallory (timeline), the handshake completed as Mastodon does.
        assert "follow request sent" in union.cli("follow", mallory.handle).stdout
        ours = await eventually(lambda: _now([a for a in peer.activities("Follow") if a.get("object") == mallory.uri]),
                                what="the union's Follow")
        accept = {"@context": AS, "id": f"{mallory.uri}#accepts/follows/1", "type": "Accept", "actor": mallory.uri,
                  "object": {"id": ours[0]["id"], "type": "Follow", "actor": union.actor_uri, "object": mallory.uri}}
        assert (await peer.deliver(mallory, f"{union.actor_uri}/inbox", accept)).status_code == 202

        # The union's appeal, published through the admin's compose form.
        context = await new_context(browser)
        page = await log_in(context, union)
        await visit(page, f"{union.url}/admin/compose")
        await page.locator("#lang0").fill("en")
        await page.locator("#text0").fill("Send us your declarations of solidarity with the strikers.")
        appeal_box = page.get_by_label("This is an appeal for declarations of solidarity")
        if await appeal_box.count():  # without it the other pages are still tested; the appeal page test fails
            await appeal_box.check()
        async with page.expect_navigation():
            await page.get_by_role("button", name="Publish").click()
        await context.close()
        rows = await eventually(lambda: union.sql("SELECT ap_id, appeal FROM content_post WHERE local = $1 "
                                                  "ORDER BY id DESC LIMIT 1", True), what="the statement stored")
        appeal, is_appeal = rows[0][0], bool(rows[0][1])

        timeline_marker, reply_marker = "xss-probe-timeline-post", "xss-probe-declaration"
        post = note(peer, mallory, timeline_marker)
        reply = note(peer, mallory, reply_marker, inReplyTo=appeal,
                     cc=[f"{mallory.uri}/followers", union.actor_uri],
                     tag=[{"type": "Mention", "href": union.actor_uri, "name": f"@solidaires@{union.host}"}])
        for n in (post, reply):
            response = await peer.deliver(mallory, f"{union.url}/inbox", create_of(n))
            assert response.status_code == 202, response.text
            await eventually(lambda: stored(union, n["id"]), what=f"{n['id']} stored")
        yield Scene(union, peer, mallory, appeal, is_appeal, timeline_marker, reply_marker)
    finally:
        peer.stop()
        await destroy(union)


async def _now(value):
    return value


# ------------------------------------------------------------------ checks

class Tags(HTMLParser):
    """Every start tag of a served page with its attributes (entities decoded, as a browser reads them)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, attrs))

    handle_startendtag = handle_starttag


def _evil_url(value: str | None) -> bool:
    # Browsers drop leading whitespace/control characters and tabs/newlines inside the scheme.
    cleaned = "".join(ch for ch in (value or "") if ch > " ").lower()
    return cleaned.startswith(EVIL_SCHEMES)


def served_html_problems(body: str) -> list[str]:
    parser = Tags()
    parser.feed(body)
    problems = []
    for tag, attrs in parser.tags:
        if tag in FOREIGN_TAGS:
            problems.append(f"<{tag}> element")
        if tag == "meta" and any(name == "http-equiv" for name, _ in attrs):
            problems.append("<meta http-equiv>")
        for name, value in attrs:
            if name.startswith("on"):
                problems.append(f"<{tag} {name}=…>")
            if name in URL_ATTRIBUTES and _evil_url(value):
                problems.append(f"<{tag} {name}={value!r}>")
            if name == "style" and any(w in (value or "").lower() for w in ("javascript", "expression", "url(")):
                problems.append(f"<{tag} style={value!r}>")
    for chunk in body.lower().split("<style")[1:]:
        css = chunk.split("</style>")[0]
        if "javascript" in css or "expression(" in css:
            problems.append("a <style> element with script in it")
    return problems


DOM_PROBLEMS = """() => {
  const problems = [];
  const foreign = document.querySelectorAll('script, iframe, frame, object, embed, svg, math, base, applet, meta[http-equiv]');
  for (const el of foreign) problems.push('<' + el.tagName.toLowerCase() + '> element');
  const urlAttrs = %s;
  for (const el of document.querySelectorAll('*')) {
    for (const attr of el.attributes) {
      const name = attr.name.toLowerCase();
      const value = attr.value.replace(/[\\u0000-\\u0020]/g, '').toLowerCase();
      if (name.startsWith('on')) problems.push('<' + el.tagName + ' ' + name + '>');
      if (urlAttrs.includes(name) && /^(javascript|data|vbscript):/.test(value)) problems.push('<' + el.tagName + ' ' + name + '=' + value + '>');
      if (name === 'style' && /javascript|expression|url\\(/.test(value)) problems.push('<' + el.tagName + ' style=' + value + '>');
    }
  }
  for (const el of document.querySelectorAll('style')) {
    if (/javascript|expression\\(/i.test(el.textContent)) problems.push('<style> with script');
  }
  // What the browser actually resolved: a link's effective protocol, not just its text.
  for (const a of document.querySelectorAll('a[href], area[href]')) {
    if (!['http:', 'https:', 'mailto:'].includes(a.protocol)) problems.push('link to ' + a.protocol);
  }
  return problems;
}""" % sorted(URL_ATTRIBUTES)

TRACES = "() => ({flag: window.__xss === undefined ? null : String(window.__xss), title: document.title})"


async def exercise(context, base: str, url: str, must_show: str) -> tuple[dict, list[str], list[str], object]:
    """Load `url`, hover the content and click every link leaving the site;
    return (traces, dialogs, DOM problems, response)."""
    dialogs: list[str] = []

    async def on_dialog(dialog) -> None:
        dialogs.append(dialog.message)
        await dialog.dismiss()

    context.on("page", lambda p: p.on("dialog", on_dialog))
    page = await context.new_page()
    response = await visit(page, url)
    title = await page.title()
    assert must_show in await page.locator("body").inner_text(), f"{url} does not show {must_show!r}: nothing tested"
    # Open what a content warning folds away, as a reader would: the attack must be on screen.
    folded = page.locator("main details:not([open]) > summary")
    for _ in range(50):
        if not await folded.count():
            break
        await folded.first.click()
    problems = await page.evaluate(DOM_PROBLEMS)
    for element in await page.locator("main a, main p, main span, main li, main article").all():
        if await element.is_visible():
            await element.hover(timeout=10_000)
    # Popups for every target=_blank link would only slow the run: the links open in place, where
    # their 204 leaves the page as it is (DOM_PROBLEMS has already looked at the markup as served).
    await page.evaluate("() => document.querySelectorAll('a[target]').forEach(a => a.removeAttribute('target'))")
    for link in await page.locator("main a").all():
        href = await link.get_attribute("href", timeout=10_000) or ""
        if not href or href.startswith(("/", "?", "#", base)):
            continue  # our own navigation: following it would leave the page under test
        if await link.is_visible():
            # Links leave for 204 (see new_context): the page stays, popups open and are closed below.
            await link.click(timeout=10_000, no_wait_after=True)
            assert page.url == url, f"following {href!r} left {url} for {page.url}"
    await page.wait_for_timeout(300)  # an onerror/onload or a navigation to javascript: would have fired by now
    traces = await page.evaluate(TRACES)
    for other in context.pages:
        if other is not page:
            await other.close()
    assert traces["title"] == title, f"document.title changed to {traces['title']!r}"
    served = (await response.text(), await response.all_headers())
    await page.close()
    return traces, dialogs, problems, served


def pages_of(scene: Scene) -> list[tuple[str, str, bool]]:
    """(url, text that proves the attack is on the page, admin?)"""
    u = scene.union
    return [
        (f"{u.url}/admin/notifications", f"@mallory@{scene.peer.host}", True),
        (f"{u.url}/admin/timeline", scene.timeline_marker, True),
        (scene.appeal_url, scene.reply_marker, False),
        (f"{u.url}/network", "Mallory", False),
        (f"{u.url}/library", f"Evil PDF {scene.timeline_marker}", False),
    ]


PAGE_IDS = ["admin-notifications", "admin-timeline", "appeal-page", "network", "library"]


@pytest.mark.parametrize("which", range(len(PAGE_IDS)), ids=PAGE_IDS)
@pytest.mark.parametrize("csp", ["served-csp", "csp-off"])
async def test_remote_attacks_do_not_run_in_the_browser(browser, scene, which, csp):
    url, must_show, admin = pages_of(scene)[which]
    if url == scene.appeal_url:
        assert scene.is_appeal, "the compose form has no appeal checkbox: the statement is not an appeal"
    context = await new_context(browser, allow=(f"{scene.union.url}/",), bypass_csp=(csp == "csp-off"))
    try:
        if admin:
            await log_in(context, scene.union)
        traces, dialogs, problems, (body, headers) = await exercise(context, scene.union.url, url, must_show)
    finally:
        await context.close()
    assert dialogs == [], f"alert() ran on {url}: {dialogs}"
    assert traces["flag"] is None, f"script ran on {url}: window.__xss = {traces['flag']!r}"
    assert not traces["title"].startswith("XSS"), traces
    assert problems == [], f"dangerous markup in the DOM of {url}: {problems}"

    # The served HTML, parsed, and the headers the browser received.
    assert served_html_problems(body) == [], url
    csp_header = headers.get("content-security-policy", "")
    assert "default-src 'none'" in csp_header, f"{url}: CSP {csp_header!r}"
    directives = {d.split()[0]: d for d in csp_header.split(";") if d.split()}
    assert "script-src" not in directives, "no script at all is the policy: script-src would widen default-src"
    assert headers.get("x-content-type-options") == "nosniff"


async def test_the_attacks_reached_the_pages_as_text(scene, browser):
    """Non-vacuity: the actor's name is shown (escaped) and the reply's ordinary text survived."""
    context = await new_context(browser)
    try:
        page = await context.new_page()
        await visit(page, f"{scene.union.url}/network")
        text = await page.locator("main").inner_text()
        assert "Mallory" in text
        # Escaped, the name's markup is visible text, never an element.
        assert await page.locator("main img").count() == 0
        await visit(page, scene.appeal_url)
        article = page.locator("article.declaration", has_text=scene.reply_marker)
        await article.wait_for()
        folded = article.locator("details:not([open]) > summary")
        while await folded.count():
            await folded.first.click()
        content = await article.inner_text()
        assert "hover me" in content and "styled text" in content, content
        # Script and style elements went with their text; the name's markup above is escaped text.
        for gone in ("window.__xss='script'", "svg-script", "expression(alert('expression'))", "mxss"):
            assert gone not in content, (gone, content)
    finally:
        await context.close()


async def test_the_detectors_catch_an_unsanitised_page(browser):
    """The checks above are not blind: the raw payload, unsanitised and without a CSP, trips them."""
    context = await new_context(browser, allow=("http://127.0.0.1:",))
    try:
        page = await context.new_page()
        dialogs = []

        async def on_dialog(dialog) -> None:
            dialogs.append(dialog.message)
            await dialog.dismiss()

        page.on("dialog", on_dialog)
        await page.set_content(f"<!doctype html><title>t</title><main>{PAYLOAD}</main>", wait_until="domcontentloaded")
        await page.wait_for_timeout(300)
        problems = await page.evaluate(DOM_PROBLEMS)
        traces = await page.evaluate(TRACES)
    finally:
        await context.close()
    assert traces["flag"] is not None and dialogs, (traces, dialogs)
    for expected in ("<script> element", "<iframe> element", "<svg> element", "<object> element", "onerror",
                     "onmouseover", "link to javascript:", "link to data:"):
        assert any(expected in p for p in problems), (expected, problems)
    assert served_html_problems(PAYLOAD)


async def test_payload_is_well_formed():
    """The fixture's own sanity: every fragment is HTML a parser reads as elements (no typo made them text)."""
    assert len(FRAGMENTS) >= 20
    for fragment in FRAGMENTS:
        parser = Tags()
        parser.feed(fragment)
        assert parser.tags, fragment
