"""What an appeal page shows: its deadline, its declarations and its co-signing unions, as plain
dicts for the templates (public statement page and admin statement page).

Reads content.appeals and joins its posts and URIs with the cached remote actors; the caller
chooses the reader's language (`pick`), so this module does not depend on web.pages (which
imports it).
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from actors.models import RemoteActor
from content import appeals
from content.models import Post
from content.sanitize import safe_url, sanitize_html
from web.bidi import direction

# Declarations per page of the public appeal page: each is sanitised again when shown.
PAGE_SIZE = 50
def union_item(actor: RemoteActor | None, fallback_uri: str) -> dict[str, str]:
    if actor is None:
        return {"name": fallback_uri, "handle": "", "url": safe_url(fallback_uri) or ""}
    return {"name": actor.name or actor.username or actor.uri, "handle": actor.handle,
            "url": safe_url(actor.url or actor.uri) or ""}


def declaration_item(post: Post, actor: RemoteActor | None, pick: Callable[[Post], str]) -> dict:
    lang = pick(post)
    # Stored HTML was sanitised on receipt; sanitised again here because it is put in our page as is.
    body = sanitize_html(post.content_map.get(lang) or post.content or "")
    return {"id": post.id, "lang": lang, "dir": direction(lang), "html": body, "summary": post.summary,
            "published": post.published, "hidden": post.hidden, "url": safe_url(post.url or post.ap_id) or "",
            "union": union_item(actor, post.author_uri)}


def deadline(post: Post, now: datetime) -> dict | None:
    until = appeals.appeal_deadline(post)
    if until is None:
        return None
    return {"text": appeals.deadline_text(until), "iso": until.isoformat(), "passed": until < now}


async def _actors(uris: list[str]) -> dict[str, RemoteActor]:
    return {a.uri: a for a in await RemoteActor.filter(uri__in=uris, deleted_at=None)}


async def signatures(post: Post) -> tuple[list[RemoteActor], list[RemoteActor]]:
    """(co-signing unions, individual supporters), in the order they signed; an actor whose
    document we never had is left out (we cannot tell a union from a person)."""
    uris = await appeals.signer_uris(post)
    found = await _actors(uris)
    ordered = [found[u] for u in uris if u in found]
    unions = [a for a in ordered if appeals.is_union(a.type)][:appeals.MAX_COSIGNERS]
    people = [a for a in ordered if not appeals.is_union(a.type)][:appeals.MAX_COSIGNERS]
    return unions, people


def page_number(raw: str | None) -> int:
    """?page= as a number from 1, or 0 when it is not one (the caller answers 404)."""
    raw = raw or "1"
    return int(raw) if raw.isdigit() and 0 < len(raw) < 7 else 0


async def appeal_context(post: Post, *, pick: Callable[[Post], str], now: datetime, with_hidden: bool = False,
                         page: int | None = None) -> dict | None:
    """Template variables for an appeal (`appeal` is None for an ordinary statement).

    `page` (public page): that page of PAGE_SIZE declarations, so a view sanitises at most that
    many; None when there is no such page. Without it (the admin page) the first
    MAX_DECLARATIONS, hidden ones included if asked."""
    if not appeals.is_appeal(post):
        return {"appeal": None}
    total = await appeals.declaration_count(post)
    pages = max(1, -(-total // PAGE_SIZE))
    if page is None:
        found = await appeals.declarations(post, with_hidden=with_hidden)
    elif 1 <= page <= pages:
        found = await appeals.declarations(post, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
    else:
        return None
    authors = await _actors(list({p.author_uri for p in found}))
    unions, people = await signatures(post)
    return {"appeal": {
        "deadline": deadline(post, now),
        "declarations": [declaration_item(p, authors.get(p.author_uri), pick) for p in found],
        "count": total,
        "page": page or 1, "pages": pages,
        "cosigners": [union_item(a, a.uri) for a in unions],
        "supporters": len(people),
    }}
