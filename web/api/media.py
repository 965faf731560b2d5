"""Media uploads in the Mastodon client API (v1 and v2): checked by content.media, stored by
outbox.media, unattached until a status carries them (POST or PUT /api/v1/statuses)."""
from __future__ import annotations

from datetime import timedelta

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from actors.instance import Instance
from content import media
from content.models import Media
from outbox import media as out_media
from web.api.common import MAX_MULTIPART, ApiError, api, not_found, params, path_id
from web.api.entities import media_attachment

# One file at the document limit plus the other fields: refused from the Content-Length,
# before any byte is read or spooled (params() holds every multipart body to the same).
MAX_BODY = MAX_MULTIPART
# As the composer: an upload no status took within a day is pruned.
UNATTACHED_KEPT = timedelta(days=1)


def entity(inst: Instance, row: Media) -> dict:
    return media_attachment(media.attachment(row, inst.urls.media), str(row.id), media_id=row.id)


def _description(value: str) -> str:
    value = value.strip()
    if len(value) > media.MAX_DESCRIPTION:
        raise ApiError(422, f"the description is too long ({len(value)} characters; at most {media.MAX_DESCRIPTION})")
    return value


@api("write:media")
async def upload(request: Request) -> Response:
    inst = request.app.state.inst
    length = request.headers.get("content-length", "")
    if not (length.isascii() and length.isdigit()):
        raise ApiError(411, "the upload must be sent with its Content-Length")
    if int(length) > MAX_BODY:
        raise ApiError(413, f"the file is too large (at most {media.MAX_DOCUMENT_BYTES // media.MB} MB)")
    p = await params(request)
    file = p.file("file")
    if file is None:
        raise ApiError(422, "file is missing (send it as multipart/form-data, field `file`)")
    description = _description(p.text("description"))
    data = await file.read(media.MAX_DOCUMENT_BYTES + 1)
    try:
        if len(data) > media.MAX_DOCUMENT_BYTES:
            raise media.MediaRefused(f"too large (max {media.MAX_DOCUMENT_BYTES // media.MB} MB)")
        checked = await media.check_async(data, file.filename or "")
    except media.MediaRefused as exc:
        raise ApiError(422, f"{file.filename or 'the file'}: {exc}") from None
    await out_media.prune(inst, inst.now() - UNATTACHED_KEPT)
    row = await out_media.upload(inst, checked, description=description)
    return JSONResponse(entity(inst, row))


async def _row(request: Request) -> Media:
    row = await Media.filter(id=path_id(request), local=True).first()
    if row is None:
        raise not_found()
    return row


@api("write:media")
async def show(request: Request) -> Response:
    return JSONResponse(entity(request.app.state.inst, await _row(request)))


@api("write:media")
async def update(request: Request) -> Response:
    """A new description, while the upload waits for its status (a published one is changed
    by editing the status, so that its followers hear of it)."""
    row = await _row(request)
    p = await params(request)
    if p.get("description") is not None:
        description = _description(p.text("description"))
        # Only an unattached upload: nothing was published with it, so nothing to federate.
        fields = {"description": description}
        if row.kind == "document" and description:  # a document's name is its title (content.media.save)
            fields["title"] = description[:media.MAX_TITLE]
        changed = await Media.filter(id=row.id, post_id__isnull=True).update(**fields)
        if not changed:
            raise ApiError(422, "this media is already attached to a status: edit the status instead")
        await row.refresh_from_db()
    return JSONResponse(entity(request.app.state.inst, row))


routes = [
    Route("/api/v1/media", upload, methods=["POST"]),
    Route("/api/v2/media", upload, methods=["POST"]),
    Route("/api/v1/media/{id:int}", show, methods=["GET"]),
    Route("/api/v1/media/{id:int}", update, methods=["PUT"]),
]
