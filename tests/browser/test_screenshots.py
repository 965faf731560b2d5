"""Every main page, public and admin, in Chromium at desktop and phone width, with screenshots.

Each page must answer 200, say which union it is, carry `<html lang>`, have a visible <h1>,
and fit a phone's width without sideways scrolling. Full-page PNGs are written to
`screenshots/` at the repository root (UNIONHALL_SCREENSHOTS to put them elsewhere), named
`<page>-<desktop|phone>.png`, for a human to look at.
"""
from __future__ import annotations

import pytest
import pytest_asyncio

from tests.browser.conftest import DESKTOP, PHONE, SCREENSHOTS, log_in, new_context, visit
from tests.e2e.harness import destroy, make_instance

pytestmark = [pytest.mark.asyncio(loop_scope="module"), pytest.mark.timeout(240)]

UNION = "Union syndicale Solidaires"
HANDLE = "solidaires"


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def site(tmp_path_factory):
    """An instance with a few statements: multilingual, tagged, one with a content warning."""
    union = await make_instance(tmp_path_factory.mktemp("shots"), "u", HANDLE, UNION)
    union.start()
    try:
        first = union.cli("post", "Solidarity with the dock workers of Santos. #strike #ports", "--lang", "en",
                          "--also", "fr", "Solidarité avec les dockers de Santos. #strike #ports",
                          "--also", "es", "Solidaridad con los estibadores de Santos. #strike #ports").stdout.strip()
        union.cli("post", "A long word that must wrap on a phone: Arbeitnehmerinnenvertretungsversammlungsbeschluss "
                  "https://example.org/a/very/long/path/that/should/not/push/the/page/sideways/on/a/phone/screen "
                  "#strike", "--lang", "en", "--summary", "Strike news")
        yield union, first
    finally:
        await destroy(union)


def public_pages(base: str, statement: str) -> list[tuple[str, str]]:
    return [
        ("profile", f"{base}/"),
        ("profile-handle", f"{base}/@{HANDLE}"),
        ("statement", statement),
        ("statement-fr", f"{statement}?lang=fr"),
        ("tag", f"{base}/tags/strike"),
        ("network", f"{base}/network"),
        ("remote-follow", f"{base}/remote_follow"),
        ("library", f"{base}/library"),
        ("login", f"{base}/login"),
    ]


def admin_pages(base: str, statement: str) -> list[tuple[str, str]]:
    sid = statement.rstrip("/").rsplit("/", 1)[1]
    return [
        ("admin-home", f"{base}/admin"),
        ("admin-compose", f"{base}/admin/compose"),
        ("admin-statements", f"{base}/admin/statements"),
        ("admin-statement-status", f"{base}/admin/statements/{sid}"),
        ("admin-statement-edit", f"{base}/admin/statements/{sid}/edit"),
        ("admin-profile", f"{base}/admin/profile"),
        ("admin-follows", f"{base}/admin/follows"),
        ("admin-notifications", f"{base}/admin/notifications"),
        ("admin-timeline", f"{base}/admin/timeline"),
        ("admin-apps", f"{base}/admin/apps"),
    ]


def authorize_url(union) -> str:
    """The page a Mastodon app (here one registered as Tusky would be) opens to log in."""
    out = union.cli("app", "create", "Tusky", "--scopes", "read write follow push").stdout
    client_id = next(line.split(": ", 1)[1] for line in out.splitlines() if line.startswith("client_id: "))
    return (f"{union.url}/oauth/authorize?response_type=code&client_id={client_id}"
            "&redirect_uri=urn:ietf:wg:oauth:2.0:oob&scope=read+write+follow+push")


PAGE_FACTS = """() => ({
  lang: document.documentElement.getAttribute('lang') || '',
  h1: Array.from(document.querySelectorAll('h1')).filter(h => h.offsetParent !== null).map(h => h.innerText.trim()),
  article: Array.from(document.querySelectorAll('main article')).map(a => a.innerText.trim()).join(' '),
  scrollWidth: document.documentElement.scrollWidth,
  innerWidth: Math.min(window.innerWidth, document.documentElement.clientWidth),
  wide: Array.from(document.querySelectorAll('body *'))
    .filter(e => e.getBoundingClientRect().right > document.documentElement.clientWidth + 1)
    .slice(0, 5).map(e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + (e.className ? '.' + e.className : '')),
})"""


@pytest.mark.parametrize("width", ["desktop", "phone"])
async def test_main_pages_load_fit_and_are_screenshotted(browser, site, width):
    union, statement = site
    viewport = DESKTOP if width == "desktop" else PHONE
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    # Not is_mobile: a mobile viewport zooms out to fit wide content, which would hide the overflow we look for.
    context = await new_context(browser, viewport=viewport, device_scale_factor=1)
    try:
        public = await context.new_page()
        admin = await log_in(context, union)
        failures = []
        pages = [(public, name, url) for name, url in public_pages(union.url, statement)]
        pages += [(admin, name, url) for name, url in admin_pages(union.url, statement)]
        login_url = authorize_url(union)
        pages += [(public, "oauth-authorize-login", login_url), (admin, "oauth-authorize-consent", login_url)]
        for page, name, url in pages:
            await visit(page, url)
            facts = await page.evaluate(PAGE_FACTS)
            await page.screenshot(path=str(SCREENSHOTS / f"{name}-{width}.png"), full_page=True)
            body = await page.locator("body").inner_text()
            if UNION not in body:
                failures.append(f"{name}: the union's name is not on the page")
            if len(facts["lang"]) < 2:
                failures.append(f"{name}: <html lang> is {facts['lang']!r}")
            if name.startswith("statement"):
                # The statement itself is the page's content (it has no title of its own).
                if "Santos" not in facts["article"]:
                    failures.append(f"{name}: the statement's text is not in <main><article>")
            elif not facts["h1"] or not all(facts["h1"]):
                failures.append(f"{name}: no visible <h1>")
            if facts["scrollWidth"] > facts["innerWidth"]:
                failures.append(f"{name}: {facts['scrollWidth']}px wide in a {facts['innerWidth']}px window "
                                f"(too wide: {facts['wide']})")
        assert failures == [], "\n".join(failures)

        # The feed the profile links to answers, as Atom.
        await visit(public, f"{union.url}/")
        feed = await public.locator('link[rel="alternate"][type="application/atom+xml"]').first.get_attribute("href")
        assert feed, "the profile links no Atom feed"
        response = await context.request.get(feed if "://" in feed else f"{union.url}{feed}")
        assert response.status == 200 and "atom" in response.headers["content-type"], response.headers
        assert "<feed" in await response.text()
    finally:
        await context.close()
    assert (SCREENSHOTS / f"statement-{width}.png").stat().st_size > 1000
