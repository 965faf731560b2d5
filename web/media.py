"""GET /media/{name}: our uploads, served as the type they were checked to be, never as a page.

A stored file is only ever what `content.media.check` recognised (images re-encoded, PDF,
OpenDocument, OOXML), but the headers still assume the worst: `nosniff` so no browser guesses
HTML, a strict CSP (with `sandbox`, except for PDFs: see PDF_CSP) so even a document opened
directly runs no script with our origin.
"""
from __future__ import annotations

from starlette.requests import Request
from starlette.responses import FileResponse, PlainTextResponse, Response
from starlette.routing import Route
from tortoise.expressions import Q

from content.media import NAME, PREVIEW_TYPES, path_of
from content.models import Media

MEDIA_CSP = "sandbox; default-src 'none'; img-src 'self'; style-src 'unsafe-inline'"
# Browsers' built-in PDF viewers refuse to run in a sandboxed document (Chromium shows "blocked",
# Safari a blank page), so an inline PDF gets the same policy without `sandbox`. It still cannot
# become a page of ours: it is served as application/pdf with nosniff, and it was checked to
# start with "%PDF-"; a PDF's own JavaScript runs inside the viewer, not with our origin.
PDF_CSP = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; frame-ancestors 'self'"
# Names are random and a file never changes under its name: caches may keep it for good.
CACHE = "public, max-age=31536000, immutable"
INLINE_DOCUMENTS = {"application/pdf"}


def _not_found() -> Response:
    return PlainTextResponse("No such file.", status_code=404)


async def serve(request: Request) -> Response:
    name = request.path_params["name"]
    if not NAME.fullmatch(name):  # also refuses anything path-like before the database is asked
        return _not_found()
    row = await Media.filter(Q(file_name=name) | Q(preview_name=name), local=True).first()
    path = path_of(request.app.state.inst.media_root(), name) if row else None
    if row is None or path is None:
        return _not_found()
    if name == row.file_name:
        media_type = row.media_type
    else:
        media_type = PREVIEW_TYPES[name.rsplit(".", 1)[1]]
    headers = {"X-Content-Type-Options": "nosniff", "Content-Security-Policy": MEDIA_CSP, "Cache-Control": CACHE}
    if row.kind == "document" and name == row.file_name:
        # The title (or uploaded name) makes a readable file name; the extension is ours.
        ext = name.rsplit(".", 1)[1]
        inline = media_type in INLINE_DOCUMENTS
        if inline:
            headers["Content-Security-Policy"] = PDF_CSP
        stem = (row.title or "document").removesuffix(f".{ext}")[:100]
        return FileResponse(path, media_type=media_type, headers=headers, filename=f"{stem}.{ext}",
                            content_disposition_type="inline" if inline else "attachment")
    return FileResponse(path, media_type=media_type, headers=headers)


routes = [Route("/media/{name}", serve, methods=["GET", "HEAD"])]
