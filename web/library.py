"""GET /library: the documents our union published (PDF preparatory texts and the like) and
those received in public posts of the unions it follows, filtered by language, tag and source
from the query string (a plain GET form: no script needed), paged with ?page=.

Both kinds are `Media` rows (received ones are indexed by content.library when their post is
stored), so visibility, source, language and paging are SQL.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route
from tortoise.expressions import Q
from tortoise.queryset import QuerySet

from actors.local import get_union
from actors.models import Following, FollowState, RemoteActor
from content.media import DOCUMENT_TYPES
from content.models import Media, Post
from content.sanitize import safe_url
from web.pages import render

PER_PAGE = 50
MAX_PAGE = 1000
LABELS = {"application/pdf": "PDF", **{t: e.upper() for t, e in DOCUMENT_TYPES.items() if t != "application/pdf"}}


@dataclass
class Entry:
    title: str
    url: str
    media_type: str
    language: str
    date: datetime
    statement: str
    source: str  # "ours" | "network"
    union_name: str
    union_handle: str
    tags: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        return LABELS.get(self.media_type, self.media_type or "document")


def _hashtags(tags) -> list[str]:
    if isinstance(tags, str):  # values_list hands JSON back undecoded on some backends
        tags = json.loads(tags)
    return [str(t.get("name", "")).lstrip("#") for t in tags or []
            if isinstance(t, dict) and t.get("type") == "Hashtag" and t.get("name")]


def _visible(source: str, followed: list[str]) -> QuerySet[Media]:
    """Our documents on our statements, and documents indexed from public, visible posts of the
    unions we follow."""
    ours = Q(local=True, kind="document", post__local=True)
    theirs = Q(local=False, post__local=False, post__public=True, post__author_uri__in=followed or [""])
    where = {"ours": ours, "network": theirs}.get(source, ours | theirs)
    return Media.filter(where, post_id__isnull=False, post__hidden=False)


def _language(lang: str) -> Q:
    return Q(language__iexact=lang) | Q(language__istartswith=f"{lang}-")


def _entry(inst, union, m: Media, actors: dict[str, RemoteActor]) -> Entry:
    post: Post = m.post
    if m.local:
        return Entry(title=m.title or "Document", url=f"/media/{m.file_name}", media_type=m.media_type,
                     language=m.language or post.language, date=post.published, statement=post.ap_id, source="ours",
                     union_name=union.name, union_handle=f"@{union.username}@{inst.urls.host}",
                     tags=_hashtags(post.tags))
    actor = actors.get(post.author_uri)
    return Entry(title=m.title or "Document", url=m.remote_url, media_type=m.media_type, language=m.language,
                 date=post.published, statement=safe_url(post.url) or safe_url(post.ap_id) or "", source="network",
                 union_name=(actor.name or actor.username) if actor else post.author_uri,
                 union_handle=f"@{actor.username}@{actor.domain}" if actor else "", tags=_hashtags(post.tags))


def _page_number(raw: str) -> int:
    return min(int(raw), MAX_PAGE) if raw.isdigit() and 0 < len(raw) < 6 and int(raw) > 0 else 1


async def library(request: Request) -> Response:
    inst = request.app.state.inst
    union = await get_union()
    if union is None:
        return HTMLResponse("<p>No union here yet.</p>", status_code=404)
    query = request.query_params
    lang = query.get("lang", "").strip().lower()[:16]
    tag = query.get("tag", "").strip().lstrip("#").lower()[:100]
    source = query.get("source", "")
    if source not in ("ours", "network"):
        source = ""
    page = _page_number(query.get("page", ""))
    follows = await Following.filter(local=union, state=FollowState.ACCEPTED).prefetch_related("remote")
    actors = {f.remote.uri: f.remote for f in follows}
    base = _visible(source, list(actors))
    languages = sorted({code.split("-")[0].lower() for code in
                        await base.filter(language__not="").distinct().values_list("language", flat=True)}
                       | ({lang} if lang else set()))
    chosen = base.filter(_language(lang)) if lang else base
    order = ("-post__published", "-post_id", "id")  # a post's documents in its own order
    if tag:
        # Hashtags live in the post's JSON: only (id, tags) pairs are read to pick the rows.
        pairs = await chosen.order_by(*order).values_list("id", "post__tags")
        ids = [i for i, tags in pairs if tag in {t.lower() for t in _hashtags(tags)}]
        total = len(ids)
        shown_ids = ids[(page - 1) * PER_PAGE:page * PER_PAGE]
        rows = await Media.filter(id__in=shown_ids).prefetch_related("post")
        rows.sort(key=lambda m: shown_ids.index(m.id))
    else:
        total = await chosen.count()
        rows = await chosen.order_by(*order).offset((page - 1) * PER_PAGE).limit(PER_PAGE).prefetch_related("post")
    entries = [_entry(inst, union, m, actors) for m in rows]
    filters = {k: v for k, v in (("lang", lang), ("tag", tag), ("source", source)) if v}
    more = page * PER_PAGE < total and page < MAX_PAGE
    return render(request, "library.html", union=union, entries=entries, total=total, lang_filter=lang,
                  tag=tag, source=source, languages=languages, page=page,
                  newer=f"/library?{urlencode({**filters, 'page': page - 1})}" if page > 1 else "",
                  older=f"/library?{urlencode({**filters, 'page': page + 1})}" if more else "",
                  tags=sorted({t.lower() for e in entries for t in e.tags})[:100])


routes = [Route("/library", library)]
