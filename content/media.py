"""Uploaded files: checked by what they contain (never by their name), images re-encoded
without their metadata and given a preview, stored under DATA/media with random names.

No HTTP here: the web layer hands in bytes, this module answers with a `Media` row or a
`MediaRefused` that says why. Decoding is CPU work: callers use `check_async`.
"""
from __future__ import annotations

import asyncio
import io
import re
import secrets
import zipfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from PIL import Image, ImageOps, ImageSequence, UnidentifiedImageError

from content.models import Media

MB = 1024 * 1024
MAX_IMAGE_BYTES = 10 * MB
MAX_DOCUMENT_BYTES = 20 * MB
# Mastodon's image_matrix_limit: a 7680x4320 frame. Checked from the header, before any pixel is
# decoded, so a small file declaring a huge canvas (a decompression bomb) costs nothing.
MAX_PIXELS = 33_177_600
# Animated images: every frame is decoded and kept as RGBA (4 bytes a pixel) until re-encoded,
# so frames x pixels is bounded too: 40 million pixels is ~160 MB at most, per upload.
MAX_FRAMES = 300
MAX_ANIMATION_PIXELS = 40_000_000
PREVIEW_SIZE = 400
MAX_DESCRIPTION = 1500  # Mastodon's description_limit
MAX_TITLE = 500  # Media.title's column

# Pillow format -> (media type, extension). SVG is absent on purpose: it is a document that can
# carry script, and Pillow cannot decode it anyway.
IMAGE_FORMATS = {"JPEG": ("image/jpeg", "jpg"), "PNG": ("image/png", "png"), "GIF": ("image/gif", "gif"),
                 "WEBP": ("image/webp", "webp")}
ODF_TYPES = {"application/vnd.oasis.opendocument.text": "odt",
             "application/vnd.oasis.opendocument.spreadsheet": "ods",
             "application/vnd.oasis.opendocument.presentation": "odp"}
# Main part of an OOXML package -> (media type, extension). Macro-enabled packages are refused.
OOXML_PARTS = {
    "word/document.xml": ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", "docx"),
    "xl/workbook.xml": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx"),
    "ppt/presentation.xml": ("application/vnd.openxmlformats-officedocument.presentationml.presentation", "pptx"),
}
DOCUMENT_TYPES = {"application/pdf": "pdf", **ODF_TYPES, **{t: e for t, e in OOXML_PARTS.values()}}
PREVIEW_TYPES = {"jpg": "image/jpeg", "png": "image/png"}
# What /media/{name} accepts: our random token, an optional preview marker, a known extension.
# Always used with fullmatch: `$` alone would let "name.pdf\n" through.
NAME = re.compile(r"[A-Za-z0-9_-]{22}(?:-p)?\.(?:jpg|png|gif|webp|pdf|odt|ods|odp|docx|xlsx|pptx)")

REFUSED_TYPE = "not an image (JPEG, PNG, GIF, WebP) or a document (PDF, OpenDocument, Office Open XML)"


class MediaRefused(ValueError):
    """A file we will not store; the message says why, for the person who sent it."""


@dataclass
class Upload:
    """A checked file, not stored yet: what will be written and described."""
    kind: str  # "image" | "document"
    media_type: str
    ext: str
    data: bytes
    original_name: str = ""
    width: int | None = None
    height: int | None = None
    preview: bytes | None = None
    preview_ext: str = ""


def _size_text(limit: int) -> str:
    return f"{limit // MB} MB"


def check(data: bytes, filename: str = "") -> Upload:
    """Decide what `data` is from its bytes alone; images come back re-encoded (orientation
    applied, metadata gone) with a preview. Raises `MediaRefused`."""
    if not data:
        raise MediaRefused("the file is empty")
    name = _display_name(filename)
    if data.startswith(b"%PDF-"):
        return _document(data, "application/pdf", "pdf", name)
    if data.startswith(b"PK\x03\x04"):
        media_type, ext = _office(data)
        return _document(data, media_type, ext, name)
    if len(data) > MAX_IMAGE_BYTES:
        # Too big for an image and not a document we know: say the limit that applies to images.
        raise MediaRefused(f"too large (max {_size_text(MAX_IMAGE_BYTES)} for an image) or {REFUSED_TYPE}")
    return _image(data, name)


async def check_async(data: bytes, filename: str = "") -> Upload:
    return await asyncio.to_thread(check, data, filename)


def _display_name(filename: str) -> str:
    # Only ever shown as a fallback title: the last path component, without control characters.
    base = re.split(r"[\\/]", filename or "")[-1]
    return re.sub(r"[\x00-\x1f\x7f]", "", base).strip()[:MAX_TITLE]


def _document(data: bytes, media_type: str, ext: str, name: str) -> Upload:
    if len(data) > MAX_DOCUMENT_BYTES:
        raise MediaRefused(f"too large (max {_size_text(MAX_DOCUMENT_BYTES)} for a document)")
    return Upload(kind="document", media_type=media_type, ext=ext, data=data, original_name=name)


def _office(data: bytes) -> tuple[str, str]:
    """An OpenDocument or Office Open XML package, recognised from its directory (nothing is
    extracted but two small, size-capped entries)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = set(archive.namelist())
            if "mimetype" in names:
                declared = _read_small(archive, "mimetype").decode("ascii", "replace").strip()
                if declared in ODF_TYPES:
                    return declared, ODF_TYPES[declared]
            if "[Content_Types].xml" in names:
                types = _read_small(archive, "[Content_Types].xml").lower()
                if b"macroenabled" in types or any(n.lower().endswith("vbaproject.bin") for n in names):
                    raise MediaRefused("documents with macros are not accepted")
                for part, found in OOXML_PARTS.items():
                    if part in names:
                        return found
    except (zipfile.BadZipFile, OSError, EOFError, RuntimeError, ValueError) as exc:
        if isinstance(exc, MediaRefused):
            raise
        raise MediaRefused(f"a damaged archive: {REFUSED_TYPE}") from exc
    raise MediaRefused(REFUSED_TYPE)


def _read_small(archive: zipfile.ZipFile, name: str, limit: int = MB) -> bytes:
    with archive.open(name) as handle:
        return handle.read(limit)


def _image(data: bytes, name: str) -> Upload:
    try:
        image = Image.open(io.BytesIO(data), formats=list(IMAGE_FORMATS))
    except Image.DecompressionBombError as exc:  # Pillow's own guard, far above ours
        raise MediaRefused(f"the image is too large (at most {MAX_PIXELS // 1_000_000} million pixels)") from exc
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise MediaRefused(REFUSED_TYPE) from exc
    with image:
        fmt = image.format or ""
        if fmt not in IMAGE_FORMATS:
            raise MediaRefused(REFUSED_TYPE)
        if image.width < 1 or image.height < 1 or image.width * image.height > MAX_PIXELS:
            raise MediaRefused(f"the image is too large ({image.width}x{image.height} pixels; "
                               f"at most {MAX_PIXELS // 1_000_000} million pixels)")
        frames = getattr(image, "n_frames", 1)
        if frames > MAX_FRAMES or frames * image.width * image.height > MAX_ANIMATION_PIXELS:
            raise MediaRefused(f"the animation is too long ({frames} frames)")
        try:
            if frames > 1:
                encoded, first = _reencode_animation(image, fmt)
            else:
                first = ImageOps.exif_transpose(image)  # loads the pixels: damaged files fail here
                encoded = _reencode(first, fmt, image.info.get("icc_profile"))
            preview, preview_ext = _preview(first)
        except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
            raise MediaRefused("the image could not be read (damaged or truncated file)") from exc
    media_type, ext = IMAGE_FORMATS[fmt]
    return Upload(kind="image", media_type=media_type, ext=ext, data=encoded, original_name=name,
                  width=first.width, height=first.height, preview=preview, preview_ext=preview_ext)


def _plain(frame: Image.Image) -> Image.Image:
    # A copy whose `info` is empty: Pillow writes comments, XMP and EXIF it finds there.
    clean = frame.copy()
    clean.info = {}
    return clean


def _reencode(image: Image.Image, fmt: str, icc: bytes | None) -> bytes:
    clean = _plain(image)
    params: dict = {"icc_profile": icc} if icc else {}
    if fmt == "JPEG":
        if clean.mode not in ("RGB", "L"):
            clean = clean.convert("RGB")  # CMYK and friends: browsers show RGB reliably
        params.update(quality=90, optimize=True)
    elif fmt == "WEBP":
        params.update(quality=90)
    elif fmt == "GIF" and "transparency" in image.info:
        params["transparency"] = image.info["transparency"]
    out = io.BytesIO()
    clean.save(out, fmt, **params)
    return out.getvalue()


def _reencode_animation(image: Image.Image, fmt: str) -> tuple[bytes, Image.Image]:
    frames: list[Image.Image] = []
    durations: list[int] = []
    for frame in ImageSequence.Iterator(image):
        durations.append(int(frame.info.get("duration") or 100))
        frames.append(_plain(frame.convert("RGBA")))
    out = io.BytesIO()
    frames[0].save(out, fmt, save_all=True, append_images=frames[1:], duration=durations,
                   loop=int(image.info.get("loop", 0) or 0), disposal=2 if fmt == "GIF" else 0)
    return out.getvalue(), frames[0]


def _preview(image: Image.Image) -> tuple[bytes, str]:
    small = _plain(image)
    alpha = small.mode in ("RGBA", "LA", "PA") or (small.mode == "P" and "transparency" in image.info)
    small = small.convert("RGBA" if alpha else "RGB")
    small.thumbnail((PREVIEW_SIZE, PREVIEW_SIZE))
    out = io.BytesIO()
    if alpha:
        small.save(out, "PNG", optimize=True)
        return out.getvalue(), "png"
    small.save(out, "JPEG", quality=85)
    return out.getvalue(), "jpg"


# --- storage ----------------------------------------------------------------------------

async def save(upload: Upload, media_dir: Path, *, description: str = "", now: datetime) -> Media:
    """Write the file (and preview) under `media_dir` and record it, unattached (post=None)."""
    description = description.strip()[:MAX_DESCRIPTION]
    token = secrets.token_urlsafe(16)
    file_name = f"{token}.{upload.ext}"
    preview_name = f"{token}-p.{upload.preview_ext}" if upload.preview else ""
    written: list[Path] = []
    try:
        await asyncio.to_thread(_write, media_dir, file_name, upload.data, written)
        if upload.preview:
            await asyncio.to_thread(_write, media_dir, preview_name, upload.preview, written)
        title = description if upload.kind == "document" else ""
        return await Media.create(
            local=True, kind=upload.kind, media_type=upload.media_type, file_name=file_name,
            preview_name=preview_name, size=len(upload.data), width=upload.width, height=upload.height,
            description=description, title=(title or upload.original_name)[:MAX_TITLE], created_at=now)
    except BaseException:
        for path in written:  # no file without its row
            path.unlink(missing_ok=True)
        raise


def _write(media_dir: Path, name: str, data: bytes, written: list[Path]) -> None:
    media_dir.mkdir(parents=True, exist_ok=True)
    path = media_dir / name
    # "x": a name is never reused, even if two uploads drew the same token.
    with open(path, "xb") as handle:
        written.append(path)
        handle.write(data)


async def discard(media_dir: Path, rows: list[Media]) -> None:
    """Forget uploads (their rows and files), e.g. when the form that sent them is refused."""
    for row in rows:
        await row.delete()
        for name in (row.file_name, row.preview_name):
            if name and NAME.fullmatch(name):
                (media_dir / name).unlink(missing_ok=True)


async def prune(media_dir: Path, before: datetime) -> int:
    """Uploads never attached (a preview abandoned, a statement deleted) older than `before`."""
    rows = await Media.filter(local=True, post_id__isnull=True, created_at__lt=before)
    await discard(media_dir, rows)
    return len(rows)


def path_of(media_dir: Path, name: str) -> Path | None:
    """The file behind a served name, or None: only our own token-shaped names, never a path."""
    if not NAME.fullmatch(name):
        return None
    path = media_dir / name
    return path if path.is_file() else None


def attachment(row: Media, url_of) -> dict:
    """The AS2 attachment of an uploaded file, as Mastodon shapes one (`name` is the alt text,
    or a document's title); `preview` is ours only (Notes carry the keys `note_json` emits)."""
    item = {"type": "Image" if row.kind == "image" else "Document", "mediaType": row.media_type,
            "url": url_of(row.file_name), "name": (row.description if row.kind == "image" else row.title) or None}
    if row.kind == "image":
        item.update(width=row.width, height=row.height)
        if row.preview_name:
            item["preview"] = url_of(row.preview_name)
    return item
