"""Atom feed of a union's statements, newest first (built with feedgen)."""
from __future__ import annotations

from feedgen.feed import FeedGenerator
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from actors.local import get_by_username, get_union
from content.models import Post
from content.sanitize import plain_text, sanitize_html

FEED_SIZE = 50
TITLE_CHARS = 90


def _title(post: Post) -> str:
    text = post.summary or plain_text(post.content, TITLE_CHARS * 2)
    return text if len(text) <= TITLE_CHARS else text[: TITLE_CHARS - 1].rstrip() + "…"


async def atom(request: Request) -> Response:
    inst = request.app.state.inst
    username = request.path_params.get("username")
    union = await (get_by_username(username) if username else get_union())
    if union is None or union.kind != "union":
        return Response("no such union", status_code=404, media_type="text/plain")
    actor_uri, profile = inst.urls.actor(union.username), inst.urls.profile(union.username)
    posts = await Post.filter(local=True, author_uri=actor_uri, hidden=False, public=True).order_by(
        "-published").limit(FEED_SIZE)
    feed = FeedGenerator()
    feed.id(profile)
    feed.title(union.name or union.username)
    feed.subtitle(plain_text(union.summary, 300) or f"Statements of @{union.username}@{inst.urls.host}")
    feed.author({"name": union.name or union.username, "uri": profile})
    feed.link(href=profile, rel="alternate", type="text/html")
    feed.link(href=f"{profile}/feed.atom", rel="self", type="application/atom+xml")
    feed.updated(posts[0].updated or posts[0].published if posts else union.created_at)
    if posts and posts[0].language:
        feed.language(posts[0].language)
    for post in reversed(posts):  # feedgen prepends: add oldest first to list newest first
        entry = feed.add_entry()
        entry.id(post.ap_id)
        entry.title(_title(post))
        entry.link(href=post.ap_id, rel="alternate", type="text/html")
        entry.published(post.published)
        entry.updated(post.updated or post.published)
        # Feed readers render this HTML; sanitising again costs little and guards any future path.
        entry.content(sanitize_html(post.content), type="html")
        for lang in list(post.content_in_order())[1:]:
            entry.link(href=f"{post.ap_id}?lang={lang}", rel="alternate", type="text/html", hreflang=lang)
        for tag in post.tags:
            if tag.get("type") == "Hashtag":
                entry.category(term=str(tag.get("name", "")).lstrip("#"))
    return Response(feed.atom_str(pretty=True), media_type="application/atom+xml; charset=utf-8",
                    headers={"Cache-Control": "max-age=300, public"})


routes = [
    Route("/feed.atom", atom),
    Route("/@{username}/feed.atom", atom),
]
