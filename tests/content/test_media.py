"""Uploads: recognised by content, images re-encoded without metadata, previews, limits, storage."""
from __future__ import annotations

import io
import os
import zipfile
from datetime import datetime, timedelta, timezone

import pytest
from PIL import Image

from content import media
from content.media import MediaRefused, check
from content.models import Media

NOW = datetime(2026, 5, 1, 12, 0, tzinfo=timezone.utc)
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def png(size=(40, 30), mode="RGB", color="red") -> bytes:
    out = io.BytesIO()
    Image.new(mode, size, color).save(out, "PNG")
    return out.getvalue()


def jpeg_with_exif(size=(800, 600), orientation=6) -> bytes:
    exif = Image.Exif()
    exif[0x010F] = "SpyCam Inc"  # Make
    exif[0x0112] = orientation
    exif[0x8825] = {1: "N", 2: (48.0, 51.0, 24.0), 3: "E", 4: (2.0, 21.0, 3.0)}  # GPS
    out = io.BytesIO()
    Image.new("RGB", size, "blue").save(out, "JPEG", exif=exif, comment=b"home address")
    return out.getvalue()


def zipped(entries: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return out.getvalue()


def test_type_comes_from_the_content_not_the_name():
    upload = check(png(), "statement.pdf")
    assert (upload.kind, upload.media_type, upload.ext) == ("image", "image/png", "png")
    doc = check(PDF, "photo.jpg")
    assert (doc.kind, doc.media_type, doc.ext) == ("document", "application/pdf", "pdf")
    assert doc.data == PDF  # documents are stored as sent


@pytest.mark.parametrize("data", [
    b"just some text, honestly a PNG",
    b"<!doctype html><html><script>alert(document.cookie)</script></html>",
    b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><script>alert(1)</script></svg>',
    b'<svg xmlns="http://www.w3.org/2000/svg"><rect width="10" height="10"/></svg>',
    b"GIF89a not really",
    b"",
])
def test_anything_else_is_refused_with_a_reason(data):
    with pytest.raises(MediaRefused) as refused:
        check(data, "innocent.png")
    assert "not an image" in str(refused.value) or "empty" in str(refused.value)


def test_exif_and_gps_are_stripped_and_orientation_applied():
    original = jpeg_with_exif()
    assert b"SpyCam" in original and b"home address" in original
    upload = check(original, "IMG_0001.JPG")
    assert upload.media_type == "image/jpeg"
    stored = Image.open(io.BytesIO(upload.data))
    assert dict(stored.getexif()) == {}
    assert b"SpyCam" not in upload.data and b"home address" not in upload.data and b"Exif" not in upload.data
    # Orientation 6 (rotate 90°) is applied to the pixels: the 800x600 photo is now upright.
    assert stored.size == (600, 800) and (upload.width, upload.height) == (600, 800)


def test_png_text_chunks_are_dropped():
    from PIL.PngImagePlugin import PngInfo
    info = PngInfo()
    info.add_text("Author", "Jane Organiser, 12 Union Street")
    out = io.BytesIO()
    Image.new("RGBA", (20, 20)).save(out, "PNG", pnginfo=info)
    upload = check(out.getvalue())
    assert b"Union Street" not in upload.data and upload.preview_ext == "png"


def test_a_small_preview_is_made():
    upload = check(png((1600, 900)))
    preview = Image.open(io.BytesIO(upload.preview))
    assert max(preview.size) == media.PREVIEW_SIZE and preview.size == (400, 225)
    assert upload.preview_ext == "jpg"


def test_animation_is_kept_without_its_comment():
    frames = [Image.new("RGB", (16, 16), c) for c in ("red", "green", "blue")]
    out = io.BytesIO()
    frames[0].save(out, "GIF", save_all=True, append_images=frames[1:], duration=80, comment=b"secret note")
    upload = check(out.getvalue())
    assert upload.media_type == "image/gif" and b"secret note" not in upload.data
    assert Image.open(io.BytesIO(upload.data)).n_frames == 3


def test_size_limits():
    with pytest.raises(MediaRefused, match="too large"):
        check(PDF + b"0" * media.MAX_DOCUMENT_BYTES)
    noise = Image.frombytes("RGB", (2048, 2048), os.urandom(2048 * 2048 * 3))
    out = io.BytesIO()
    noise.save(out, "PNG")
    assert len(out.getvalue()) > media.MAX_IMAGE_BYTES
    with pytest.raises(MediaRefused, match=r"too large \(max 10 MB"):
        check(out.getvalue())


def test_long_large_animations_are_refused():
    # 25 frames of 2000x1000: 50 million pixels, ~200 MB once decoded to RGBA; the file is small.
    frames = [Image.new("RGB", (2000, 1000), c) for c in ("red", "green", "blue", "white", "black") * 5]
    out = io.BytesIO()
    frames[0].save(out, "GIF", save_all=True, append_images=frames[1:], duration=80)
    assert len(out.getvalue()) < media.MAX_IMAGE_BYTES
    with pytest.raises(MediaRefused, match="animation is too long"):
        check(out.getvalue())


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
def test_decompression_bomb_is_refused_before_decoding():
    bomb = png((12000, 12000), mode="1", color=0)  # a few kB declaring 144 million pixels
    assert len(bomb) < 100_000
    with pytest.raises(MediaRefused, match="too large"):
        check(bomb)


def test_office_documents_by_their_package_contents():
    odt = zipped({"mimetype": b"application/vnd.oasis.opendocument.text", "content.xml": b"<x/>"})
    assert check(odt, "motion.bin").media_type == "application/vnd.oasis.opendocument.text"
    docx = zipped({"[Content_Types].xml": b"<Types/>", "word/document.xml": b"<w/>"})
    assert check(docx).ext == "docx"
    docm = zipped({"[Content_Types].xml": b'<Types><Override ContentType="application/vnd.ms-word.document.macroEnabled.main+xml"/></Types>',
                   "word/document.xml": b"<w/>", "word/vbaProject.bin": b"\0"})
    with pytest.raises(MediaRefused, match="macros"):
        check(docm, "motion.docx")
    with pytest.raises(MediaRefused, match="not an image"):
        check(zipped({"evil.html": b"<script>"}), "motion.docx")


async def test_save_serve_path_and_discard(db, tmp_path):
    tmp_path = tmp_path / "media"
    row = await media.save(check(jpeg_with_exif(), "IMG_1.jpg"), tmp_path, description="Pickets at dawn", now=NOW)
    assert row.kind == "image" and row.post_id is None and row.description == "Pickets at dawn"
    assert media.NAME.fullmatch(row.file_name) and media.NAME.fullmatch(row.preview_name)
    # A name with a trailing newline is not ours, even if such a file exists.
    (tmp_path / f"{row.file_name}\n").write_bytes(b"x")
    assert media.path_of(tmp_path, f"{row.file_name}\n") is None
    (tmp_path / f"{row.file_name}\n").unlink()
    assert media.path_of(tmp_path, row.file_name).read_bytes()[:2] == b"\xff\xd8"
    assert media.path_of(tmp_path, row.preview_name) is not None
    for name in ("../etc/passwd", "..", row.file_name + "/x", "/etc/passwd", "unionhall.sqlite3"):
        assert media.path_of(tmp_path, name) is None
    item = media.attachment(row, lambda n: f"https://ours.example/media/{n}")
    assert item == {"type": "Image", "mediaType": "image/jpeg", "url": f"https://ours.example/media/{row.file_name}",
                    "name": "Pickets at dawn", "width": 600, "height": 800,
                    "preview": f"https://ours.example/media/{row.preview_name}"}
    await media.discard(tmp_path, [row])
    assert list(tmp_path.iterdir()) == [] and await Media.all().count() == 0


async def test_documents_are_titled_and_prune_forgets_unattached_uploads(db, tmp_path):
    tmp_path = tmp_path / "media"
    doc = await media.save(check(PDF, "Motion for the congress.pdf"), tmp_path, now=NOW - timedelta(days=2))
    assert doc.title == "Motion for the congress.pdf" and doc.preview_name == ""
    titled = await media.save(check(PDF), tmp_path, description="Preparatory text", now=NOW)
    assert titled.title == "Preparatory text"
    assert await media.prune(tmp_path, NOW - timedelta(days=1)) == 1
    assert [m.id for m in await Media.all()] == [titled.id]
    assert [p.name for p in tmp_path.iterdir()] == [titled.file_name]
