"""Headless Chromium (Debian's `chromium`, driven by Playwright) against real running instances.

The browser is Debian's package, not Playwright's download (the Makefile's `chromium` target
installs it); UNIONHALL_CHROMIUM points elsewhere. A missing browser FAILS these tests: CI
must really run them, a silent skip would hide that nothing was checked.

Every test module runs on its own event loop (loop_scope="module"), so the browser and the
instances are started once per module: starting Chromium costs about a second, an instance
a few.
"""
from __future__ import annotations

import os
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import pytest_asyncio
from playwright.async_api import Browser, BrowserContext, Page, Response, async_playwright

from tests.e2e.harness import ROOT, Instance, destroy, free_port, make_instance

CHROMIUM = os.environ.get("UNIONHALL_CHROMIUM", "/usr/bin/chromium")
SCREENSHOTS = Path(os.environ.get("UNIONHALL_SCREENSHOTS", ROOT / "screenshots"))
# What tests.e2e.harness.make_instance gives `unionhall init --password` (login name: init's default).
ADMIN_LOGIN = "admin"
ADMIN_PASSWORD = "correct horse battery"
# Root in a container: no user namespaces for the sandbox, and a small /dev/shm.
LAUNCH_ARGS = ["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"]
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 375, "height": 740}


def chromium_path() -> str:
    path = Path(CHROMIUM)
    if not (path.is_file() and os.access(path, os.X_OK)):
        pytest.fail(f"Chromium not found at {CHROMIUM}: the browser tests need Debian's chromium "
                    "(`make test` installs it with apt-get; or set UNIONHALL_CHROMIUM to a Chromium binary)",
                    pytrace=False)
    return str(path)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def browser() -> Browser:
    executable = chromium_path()
    async with async_playwright() as pw:
        chromium = await pw.chromium.launch(executable_path=executable, args=LAUNCH_ARGS)
        try:
            yield chromium
        finally:
            await chromium.close()


async def new_context(browser: Browser, *, allow: tuple[str, ...] = ("http://127.0.0.1:",),
                      **options) -> BrowserContext:
    """A context whose requests reach only URLs starting with one of `allow`; anything else is
    answered 204 (a navigation to a 204 leaves the page where it is). An escaped link or a remote
    image must not hang a test on a network this machine does not have, nor lead away from the
    page under test."""
    context = await browser.new_context(**options)

    async def only_local(route):
        if route.request.url.startswith(allow):
            await route.continue_()
        else:
            await route.fulfill(status=204, body="")

    await context.route("**/*", only_local)
    return context


async def log_in(context: BrowserContext, inst: Instance) -> Page:
    """Log in through the real /login form; returns the page, now on /admin."""
    page = await context.new_page()
    response = await page.goto(f"{inst.url}/login")
    assert response is not None and response.status == 200
    await page.get_by_label("Login name").fill(ADMIN_LOGIN)
    await page.get_by_label("Password").fill(ADMIN_PASSWORD)
    await page.get_by_role("button", name="Log in").click()
    await page.wait_for_url(f"{inst.url}/admin")
    return page


async def visit(page: Page, url: str) -> Response:
    response = await page.goto(url)
    assert response is not None, url
    assert response.status == 200, f"{url}: HTTP {response.status}\n{(await response.text())[:2000]}"
    return response


@contextmanager
def serve_page(html: str) -> Iterator[str]:
    """Serves `html` at every path on a port of its own (another origin than any instance: a
    web client such as Elk, or a native app's callback); yields the origin."""
    body = html.encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@asynccontextmanager
async def running_union(tmp_path_factory, label: str) -> AsyncIterator[Instance]:
    """A started instance holding the Solidaires union, destroyed afterwards."""
    inst = await make_instance(tmp_path_factory.mktemp(label), "a", "solidaires", "Union syndicale Solidaires")
    inst.start()
    try:
        yield inst
    finally:
        await destroy(inst)
