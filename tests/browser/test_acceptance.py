"""Issue 3's acceptance, end to end, in Chromium against two real running instances.

A (SUD-Rail) publishes an appeal in English, French and Spanish with an image and a PDF
through the admin's compose form. B (CGT Ports) follows A: the statement appears in B's
admin timeline, B's admin boosts it and sends a declaration of solidarity. Back on A, the
public appeal page lists B's declaration and "Co-signed by 1 union", and a French-speaking
reader gets the French text. Every step is a click or a form in the browser; federation
between A and B is real signed HTTP. Waits poll (`eventually`), never sleep.
"""
from __future__ import annotations

import io
import re

import pytest
import pytest_asyncio
from PIL import Image

from tests.browser.conftest import PHONE, SCREENSHOTS, log_in, new_context, visit
from tests.e2e.harness import destroy, eventually, make_instance

pytestmark = [pytest.mark.asyncio(loop_scope="module"), pytest.mark.timeout(300)]

TEXTS = {
    "en": "SUD-Rail calls for declarations of solidarity with the striking rail workers of Lyon. #strike",
    "fr": "SUD-Rail appelle à des déclarations de solidarité avec les cheminots en grève de Lyon. #strike",
    "es": "SUD-Rail pide declaraciones de solidaridad con los ferroviarios en huelga de Lyon. #strike",
}
ALT = "Picket line at Lyon Part-Dieu station at dawn"
PDF_TITLE = "Strike platform (preparatory text)"
DECLARATION = "CGT Ports declares its full solidarity with the rail workers of Lyon: your fight is ours."


def png_bytes() -> bytes:
    """A real PNG (a red banner), made with Pillow, the library the server decodes it with."""
    image = Image.new("RGB", (240, 120), (179, 0, 27))
    image.paste((255, 255, 255), (20, 50, 220, 70))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def pdf_bytes(text: str = "Strike platform") -> bytes:
    """A minimal valid one-page PDF: objects, and an xref table whose offsets are right."""
    stream = f"BT /F1 18 Tf 72 720 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def unions(tmp_path_factory):
    """A and B running; B follows A (accepted)."""
    tmp = tmp_path_factory.mktemp("acceptance")
    a = await make_instance(tmp, "a", "sud_rail", "SUD-Rail")
    b = await make_instance(tmp, "b", "cgt_ports", "CGT Ports")
    a.start()
    b.start()
    try:
        assert "follow request sent" in b.cli("follow", a.acct).stdout

        async def accepted():
            rows = await b.sql("SELECT f.state FROM actors_following f JOIN actors_remote r ON r.id = f.remote_id "
                               "WHERE r.uri = $1", a.actor_uri)
            return rows == [("accepted",)]

        await eventually(accepted, timeout=30, what="B following A, accepted")
        yield a, b
    finally:
        await destroy(b)
        await destroy(a)


async def test_appeal_published_in_a_browser_is_boosted_and_answered_from_another_instance(browser, unions):
    a, b = unions
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    context_a = await new_context(browser)
    context_b = await new_context(browser)
    reader_fr = await new_context(browser, locale="fr-FR",
                                  extra_http_headers={"Accept-Language": "fr-FR,fr;q=0.9,en;q=0.5"})
    try:
        # --- A: log in, compose in three languages, an appeal, an image and a PDF; publish.
        page = await log_in(context_a, a)
        await page.get_by_role("link", name="Compose").first.click()
        await page.wait_for_url(f"{a.url}/admin/compose")
        for i, (lang, text) in enumerate(TEXTS.items()):
            await page.locator(f"#lang{i}").fill(lang)
            await page.locator(f"#text{i}").fill(text)
        await page.get_by_label("This is an appeal for declarations of solidarity").check()
        await page.locator("#file0").set_input_files(
            files=[{"name": "picket.png", "mimeType": "image/png", "buffer": png_bytes()}])
        await page.locator("#desc0").fill(ALT)
        await page.locator("#file1").set_input_files(
            files=[{"name": "platform.pdf", "mimeType": "application/pdf", "buffer": pdf_bytes()}])
        await page.locator("#desc1").fill(PDF_TITLE)
        async with page.expect_navigation():
            await page.get_by_role("button", name="Publish").click()
        assert await page.locator('[role="alert"]').count() == 0, await page.locator('[role="alert"]').inner_text()

        rows = await eventually(lambda: a.sql("SELECT ap_id FROM content_post WHERE local = $1 AND appeal = $2",
                                              True, True), what="the appeal stored on A")
        assert len(rows) == 1
        uri = rows[0][0]

        # The public page on A: the text, the image with its alt text (served as an image) and the PDF.
        public = await context_a.new_page()
        await visit(public, uri)
        image = public.locator(f'main img[alt="{ALT}"]')
        await image.wait_for()
        assert await image.evaluate("img => img.complete && img.naturalWidth > 0"), "the image did not load"
        pdf_link = public.locator("main a", has_text=PDF_TITLE)
        href = await pdf_link.get_attribute("href")
        pdf = await context_a.request.get(href if "://" in href else f"{a.url}{href}")
        assert pdf.status == 200 and pdf.headers["content-type"].startswith("application/pdf")
        assert (await pdf.body()).startswith(b"%PDF-")

        # --- B: the statement appears in the admin timeline.
        page_b = await log_in(context_b, b)
        item = page_b.locator(f'article.timeline-item[data-uri="{uri}"]')

        async def on_timeline():
            await visit(page_b, f"{b.url}/admin/timeline")
            return await item.count() == 1

        await eventually(on_timeline, timeout=30, interval=0.5, what="A's appeal on B's timeline")
        shown = await item.inner_text()
        assert TEXTS["en"].split(" #")[0] in shown, shown
        assert ALT in shown and PDF_TITLE in shown, f"the attachments did not reach B: {shown}"
        await page_b.screenshot(path=str(SCREENSHOTS / "acceptance-b-timeline.png"), full_page=True)

        # Boost it.
        async with page_b.expect_navigation():
            await item.get_by_role("button", name="Boost").click()
        await item.get_by_role("button", name="Unboost").wait_for()

        # Declare solidarity: the form, its boost box checked by default, then send.
        async with page_b.expect_navigation():
            await item.get_by_role("link", name="Declare solidarity").click()
        assert page_b.url.startswith(f"{b.url}/admin/declare?uri=")
        assert await page_b.locator("#boost").is_checked()
        await page_b.screenshot(path=str(SCREENSHOTS / "acceptance-b-declare.png"), full_page=True)
        text = page_b.locator("#text")
        prefilled = (await text.input_value()).strip()
        await text.fill(f"{prefilled} {DECLARATION}".strip())
        async with page_b.expect_navigation():
            await page_b.get_by_role("button", name="Send declaration").click()
        assert await page_b.locator('[role="alert"]').count() == 0, await page_b.locator('[role="alert"]').inner_text()

        # --- Back on A: the appeal page lists B's declaration and one co-signing union.
        declaration = public.locator("#declarations article.declaration", has_text=DECLARATION)

        async def declared():
            await visit(public, uri)
            return await declaration.count() == 1

        await eventually(declared, timeout=30, interval=0.5, what="B's declaration on A's appeal page")
        assert "CGT Ports" in await declaration.inner_text()
        assert f"@cgt_ports@{b.host}" in await declaration.inner_text()
        cosigners = public.locator("#cosigners")

        async def cosigned():
            await visit(public, uri)
            return "Co-signed by 1 union" in await cosigners.inner_text()

        await eventually(cosigned, timeout=30, interval=0.5, what="B's boost counted as a co-signature")
        heading = re.sub(r"\s+", " ", await cosigners.locator("h2").inner_text())
        assert heading == "Co-signed by 1 union", heading
        names = await cosigners.locator("ul.cosigners li").all_inner_texts()
        assert len(names) == 1 and "CGT Ports" in names[0], names
        await public.screenshot(path=str(SCREENSHOTS / "acceptance-a-appeal.png"), full_page=True)
        await public.set_viewport_size(PHONE)
        width = await public.evaluate("() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]")
        assert width[0] <= width[1], f"the appeal page is {width[0]}px wide on a {width[1]}px phone"
        await public.screenshot(path=str(SCREENSHOTS / "acceptance-a-appeal-phone.png"), full_page=True)

        # --- A French-speaking reader gets the French text.
        french = await reader_fr.new_page()
        await visit(french, uri)
        article = french.locator('main > article[lang="fr"]')
        assert await article.count() == 1, await french.content()
        assert TEXTS["fr"].split(" #")[0] in await article.inner_text()
        assert TEXTS["en"].split(" #")[0] not in await article.inner_text()
        assert await french.locator("html").get_attribute("lang") == "fr"
        await french.screenshot(path=str(SCREENSHOTS / "acceptance-a-appeal-fr.png"), full_page=True)
        # Every translation is a click away: the language switch.
        async with french.expect_navigation():
            await french.locator("main > article").get_by_role("link", name="español", exact=True).click()
        assert TEXTS["es"].split(" #")[0] in await french.locator('main > article[lang="es"]').inner_text()
    finally:
        for context in (context_a, context_b, reader_fr):
            await context.close()
