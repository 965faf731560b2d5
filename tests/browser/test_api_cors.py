"""A web client on another origin, as Elk and Phanpy are: a page served from another port calls
the running instance's Mastodon API with fetch() and a bearer token in headless Chromium. The
Authorization header makes Chromium send a CORS preflight first; the call only goes through if
the preflight is answered, and the page can read `Link` only if the header is exposed.
A control call to a non-API path (no CORS there) is blocked by the same browser, so a success
is the browser's verdict on our headers, not a page that cannot fail."""
from __future__ import annotations

import httpx
import pytest
import pytest_asyncio

from tests.browser.conftest import new_context, running_union, serve_page, visit

pytestmark = [pytest.mark.asyncio(loop_scope="module"), pytest.mark.timeout(180)]

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Another origin's client</title></head>
<body><p id="state">loaded</p>
<script>
async function callApi(base, token) {
  const auth = {Authorization: "Bearer " + token};
  const out = {origin: location.origin};
  try {
    const response = await fetch(base + "/api/v1/timelines/home?limit=1", {headers: auth});
    out.status = response.status;
    out.link = response.headers.get("Link");
    const body = await response.json();
    out.isArray = Array.isArray(body);
    out.ids = out.isArray ? body.map(s => s.id) : null;
    const next = out.link && /<([^>]+)>;\\s*rel="next"/.exec(out.link);
    if (next) {
      const second = await fetch(next[1], {headers: auth});
      out.nextStatus = second.status;
      out.nextIds = (await second.json()).map(s => s.id);
    }
  } catch (e) { out.error = String(e); }
  try {  // a JSON body is not a "simple" request either: a second preflight, for POST
    const posted = await fetch(base + "/api/v1/statuses", {method: "POST",
      headers: {...auth, "Content-Type": "application/json", "Idempotency-Key": "cors-page-1"},
      body: JSON.stringify({status: "Posted from another origin", language: "en"})});
    out.postStatus = posted.status;
    out.postedContent = (await posted.json()).content;
  } catch (e) { out.postError = String(e); }
  try {  // the admin pages have no CORS: the browser must refuse to hand the answer to this page
    await fetch(base + "/admin", {headers: auth});
    out.control = "readable";
  } catch (e) { out.control = "blocked"; }
  document.getElementById("state").textContent = "done";
  return out;
}
</script></body></html>"""


@pytest.fixture(scope="module")
def other_origin():
    """The client's page, on a port of its own: another origin than the instance."""
    with serve_page(PAGE) as origin:
        yield origin


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def union(tmp_path_factory):
    async with running_union(tmp_path_factory, "cors") as inst:
        yield inst


def development_token(inst) -> str:
    """A token as the development settings give one: `unionhall app create` on the instance."""
    printed = inst.cli("app", "create", "CORS page", "--scopes", "read write").stdout
    return next(line.split(":", 1)[1].strip() for line in printed.splitlines() if line.startswith("access_token:"))


async def test_cross_origin_client_reads_the_timeline_and_the_link_header(browser, union, other_origin):
    token = development_token(union)
    for n in range(3):
        union.cli("post", f"Statement {n} for the web client", "--lang", "en")

    # What the browser will ask, asked directly: the preflight's answer.
    preflight = httpx.options(f"{union.url}/api/v1/timelines/home", timeout=10, headers={
        "Origin": other_origin, "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": "authorization"})
    assert preflight.status_code in (200, 204), preflight.text
    assert preflight.headers["access-control-allow-origin"] in ("*", other_origin)
    assert "authorization" in preflight.headers["access-control-allow-headers"].lower()
    assert "GET" in preflight.headers["access-control-allow-methods"]

    context = await new_context(browser)
    try:
        page = await context.new_page()
        cdp = await context.new_cdp_session(page)
        await cdp.send("Network.enable")
        preflights: list[dict] = []
        cdp.on("Network.requestWillBeSent", lambda event: preflights.append(event)
               if event["request"]["method"] == "OPTIONS" else None)
        await visit(page, f"{other_origin}/")
        result = await page.evaluate("([base, token]) => callApi(base, token)", [union.url, token])
        await page.wait_for_selector("#state:text('done')")
    finally:
        await context.close()

    assert union.url != result["origin"] and result["origin"] == other_origin
    assert "error" not in result, result
    assert result["status"] == 200 and result["isArray"] is True and len(result["ids"]) == 1, result
    assert result["link"] and 'rel="next"' in result["link"], f"Link not readable by the page: {result}"
    assert result["nextStatus"] == 200 and len(result["nextIds"]) == 1, result
    assert result["nextIds"][0] != result["ids"][0] and int(result["nextIds"][0]) < int(result["ids"][0])
    assert "postError" not in result and result["postStatus"] == 200, result
    assert "Posted from another origin" in result["postedContent"]
    assert result["control"] == "blocked", "a path without CORS must stay unreadable to another origin"
    # Chromium's network log shows that the calls were preceded by preflights (the control's too):
    # their success above means the browser accepted our answers to them.
    asked = {event["request"]["url"].split("?")[0] for event in preflights}
    assert {f"{union.url}/api/v1/timelines/home", f"{union.url}/api/v1/statuses"} <= asked, asked
