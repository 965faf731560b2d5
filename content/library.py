"""The library's index: documents received in remote posts, kept as `Media(local=False)` rows
(url, title, media type, language) next to our own uploads, so /library pages them in SQL
instead of scanning posts' JSON. Rebuilt whenever a remote post is stored or updated, removed
with it (Media.post is SET_NULL: the rows would otherwise outlive the post).
"""
from __future__ import annotations

from datetime import datetime
from pathlib import PurePosixPath
from urllib.parse import unquote, urlsplit

from content.media import DOCUMENT_TYPES, MAX_TITLE
from content.models import Media, Post
from content.sanitize import safe_url

# Received without a media type, a Document is taken for one by its URL's suffix.
DOCUMENT_SUFFIXES = {f".{ext}" for ext in DOCUMENT_TYPES.values()} | {".doc", ".xls", ".ppt", ".rtf", ".txt"}
MAX_URL = 2048  # Media.remote_url's column


def is_document(item: dict) -> bool:
    """A received attachment that is a document, not media: Mastodon sends images as type
    Document too, so the media type decides (application/* or text/*), then the URL's suffix
    when there is none."""
    media_type = str(item.get("mediaType") or "")
    if media_type:
        return media_type.split("/")[0] in ("application", "text")
    suffix = PurePosixPath(urlsplit(str(item.get("url", ""))).path).suffix.lower()
    return item.get("type") == "Document" and suffix in DOCUMENT_SUFFIXES


def _title(item: dict, url: str) -> str:
    name = str(item.get("name") or "").strip() or unquote(PurePosixPath(urlsplit(url).path).name) or "Document"
    return name[:MAX_TITLE]


async def index_remote(post: Post, now: datetime, *, replace: bool = True) -> int:
    """Replace the indexed documents of a remote post by those it carries now; how many.
    `replace=False` for a post just created (nothing to forget: one query less per Create)."""
    if replace:
        await forget_remote([post.id])
    rows = []
    for item in post.attachments if isinstance(post.attachments, list) else []:
        url = safe_url(item.get("url")) if isinstance(item, dict) else None
        if url is None or len(url) > MAX_URL or not is_document(item):
            continue
        rows.append(Media(post_id=post.id, local=False, kind="document", remote_url=url, title=_title(item, url),
                          media_type=str(item.get("mediaType") or "")[:100], language=(post.language or "")[:16],
                          created_at=now))
    if rows:
        await Media.bulk_create(rows)
    return len(rows)


async def forget_remote(post_ids: list[int]) -> None:
    """Call before deleting remote posts."""
    if post_ids:
        await Media.filter(post_id__in=post_ids, local=False).delete()
