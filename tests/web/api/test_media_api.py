"""POST /api/v1/media and /api/v2/media, GET and PUT /api/v1/media/:id: uploads checked by what
they contain, stored unattached, described until a status takes them."""
from __future__ import annotations

import pytest

from content import media
from content.models import Media
from tests.content.test_media import PDF, png


@pytest.mark.parametrize("version", ["v1", "v2"])
async def test_an_image_is_uploaded_with_its_description(api, version):
    client, inst, headers = api
    response = await client.post(f"/api/{version}/media", headers=headers,
                                 data={"description": "Picket line", "focus": "0.0,0.0"},
                                 files={"file": ("photo.png", png((40, 30)), "image/png")})
    assert response.status_code == 200, response.text
    shown = response.json()
    row = await Media.get(id=int(shown["id"]))
    assert row.post_id is None and row.kind == "image" and row.description == "Picket line"
    assert shown["type"] == "image" and shown["description"] == "Picket line"
    assert shown["url"] == inst.urls.media(row.file_name) and shown["preview_url"] == inst.urls.media(row.preview_name)
    assert shown["meta"]["original"]["width"] == 40 and shown["meta"]["original"]["height"] == 30
    assert (await client.get(shown["url"])).status_code == 200, "the file is served"


async def test_a_document_is_accepted(api):
    client, inst, headers = api
    response = await client.post("/api/v1/media", headers=headers, files={"file": ("motion.pdf", PDF, "application/pdf")})
    assert response.status_code == 200 and response.json()["type"] == "unknown"
    assert (await Media.get()).media_type == "application/pdf"


async def test_show_and_describe_until_attached(api):
    client, inst, headers = api
    made = (await client.post("/api/v2/media", headers=headers, files={"file": ("p.png", png(), "image/png")})).json()
    shown = await client.get(f"/api/v1/media/{made['id']}", headers=headers)
    assert shown.status_code == 200 and shown.json()["id"] == made["id"] and shown.json()["description"] is None
    described = await client.put(f"/api/v1/media/{made['id']}", headers=headers, json={"description": "Banner"})
    assert described.status_code == 200 and described.json()["description"] == "Banner"
    assert (await Media.get(id=int(made["id"]))).description == "Banner"
    too_long = await client.put(f"/api/v1/media/{made['id']}", headers=headers, json={"description": "x" * 1501})
    assert too_long.status_code == 422 and (await Media.get(id=int(made["id"]))).description == "Banner"

    status = await client.post("/api/v1/statuses", headers=headers, json={"status": "With banner", "media_ids": [made["id"]]})
    assert status.status_code == 200
    attached = await client.put(f"/api/v1/media/{made['id']}", headers=headers, json={"description": "Changed"})
    assert attached.status_code == 422 and "attached" in attached.json()["error"]
    assert (await Media.get(id=int(made["id"]))).description == "Banner"
    assert (await client.get("/api/v1/media/424242", headers=headers)).status_code == 404


@pytest.mark.parametrize("files, data, reason", [
    ({"file": ("x.png", b"<svg onload=alert(1)>", "image/png")}, {}, "not an image"),
    ({"file": ("x.png", b"", "image/png")}, {}, "empty"),
    ({}, {"description": "no file"}, "file is missing"),
    ({"file": ("x.png", png(), "image/png")}, {"description": "x" * 1501}, "too long"),
])
async def test_bad_uploads_are_refused_and_nothing_stored(api, files, data, reason):
    client, inst, headers = api
    response = await client.post("/api/v2/media", headers=headers, files=files or None, data=data)
    assert response.status_code == 422 and reason in response.json()["error"]
    assert await Media.all().count() == 0


async def test_an_oversized_body_is_refused_from_its_length(api):
    client, inst, headers = api
    read = []

    async def body():
        read.append(True)  # never reached: the length alone decides
        yield b"x"

    length = media.MAX_DOCUMENT_BYTES + 3 * media.MB
    response = await client.post("/api/v2/media", content=body(), headers={
        **headers, "Content-Type": "multipart/form-data; boundary=b", "Content-Length": str(length)})
    assert response.status_code == 413 and "too large" in response.json()["error"]
    assert read == [] and await Media.all().count() == 0


async def test_uploading_needs_the_media_scope(api, token):
    client, inst, headers = api
    read = await token("read")
    response = await client.post("/api/v2/media", headers=read, files={"file": ("p.png", png(), "image/png")})
    assert response.status_code == 403
    assert (await client.post("/api/v2/media", files={"file": ("p.png", png(), "image/png")})).status_code == 401
    assert await Media.all().count() == 0
