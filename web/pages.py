"""Plain HTML pages: the union's profile with its latest statements, and one page per statement.
(The full public site and admin come with the statements issue.)"""
from __future__ import annotations

from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from actors.follows import followers_count
from actors.local import get_by_username, get_union
from actors.models import Follower, Following, FollowState
from actors.profile import facts
from content.compose import AUTONYMS
from content.models import Post
from content.sanitize import safe_url
from web.appeal_view import appeal_context, page_number
from web.negotiation import wants_activity_json

PAGE_SIZE = 20
env = Environment(loader=FileSystemLoader(Path(__file__).parent / "templates"), autoescape=select_autoescape())
# Every peer-supplied URL a template links to goes through this (attachments.html): http(s) only.
env.filters["safe_url"] = safe_url
# A reader looks for their own language's name in a language switch, not a code.
env.filters["autonym"] = lambda code: AUTONYMS.get(code, AUTONYMS.get(code.split("-")[0], code))


def render(request: Request, name: str, status: int = 200, **context) -> HTMLResponse:
    inst = request.app.state.inst
    return HTMLResponse(env.get_template(name).render(host=inst.urls.host, **context), status_code=status)


async def profile(request: Request) -> Response:
    inst = request.app.state.inst
    username = request.path_params.get("username")
    union = await (get_by_username(username) if username else get_union())
    if union is None or union.kind != "union":
        return HTMLResponse("<p>No such union here.</p>", status_code=404)
    if wants_activity_json(request.headers.get("accept")):
        return RedirectResponse(inst.urls.actor(union.username), status_code=302)
    uri = inst.urls.actor(union.username)
    query = Post.filter(local=True, author_uri=uri, hidden=False)
    total = await query.count()
    raw = request.query_params.get("page", "1")
    page = int(raw) if raw.isdigit() and 0 < len(raw) < 7 else 0
    pages = max(1, -(-total // PAGE_SIZE))
    if not 1 <= page <= pages:
        return HTMLResponse("<p>No such page.</p>", status_code=404)
    posts = await query.order_by("-published", "-id").offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE)
    return render(request, "profile.html", union=union, posts=posts, actor_uri=uri, total=total,
                  facts=facts(union.sector, union.country, union.links),
                  page=page, pages=pages, followers=await followers_count(union),
                  following=await Following.filter(local=union, state=FollowState.ACCEPTED).count())


def pick_language(post: Post, request: Request) -> str:
    wanted = request.query_params.get("lang")
    if wanted in post.content_map:
        return wanted
    for part in request.headers.get("accept-language", "").split(","):
        code = part.split(";")[0].strip().lower()
        for candidate in (code, code.split("-")[0]):
            if candidate in post.content_map:
                return candidate
    return post.language or next(iter(post.content_map), "und")


async def statement_page(request: Request, post: Post) -> Response:
    union = await get_union()
    lang = pick_language(post, request)
    appeal = await appeal_context(post, pick=lambda p: pick_language(p, request), now=request.app.state.inst.now(),
                                  page=page_number(request.query_params.get("page")))
    if appeal is None:
        return HTMLResponse("<p>No such page.</p>", status_code=404)
    return render(request, "statement.html", union=union, post=post, lang=lang,
                  html=post.content_map.get(lang, post.content), **appeal)


async def meeting_page(request: Request, meeting) -> Response:
    """A meeting's page for browsers (web/activitypub.py serves the Event at the same URL)."""
    from web import meetings  # imported here: web.meetings renders with this module's `render`
    return await meetings.meeting_page(request, meeting)


TAG_SCAN = 500


async def tag(request: Request) -> Response:
    """Our statements with a hashtag (the href our Hashtag tags point at)."""
    union = await get_union()
    name = request.path_params["name"].lower()
    wanted = f"#{name}"
    recent = await Post.filter(local=True, hidden=False).order_by("-published").limit(TAG_SCAN)
    posts = [p for p in recent if any(t.get("type") == "Hashtag" and str(t.get("name", "")).lower() == wanted
                                      for t in p.tags)]
    return render(request, "tag.html", union=union, posts=posts, tag=name)


async def network(request: Request) -> Response:
    """The unions this one follows and those that follow it (accepted relationships only)."""
    union = await get_union()
    if union is None:
        return HTMLResponse("<p>No union here yet.</p>", status_code=404)
    following = await Following.filter(local=union, state=FollowState.ACCEPTED).prefetch_related("remote")
    followers = await Follower.filter(local=union, state=FollowState.ACCEPTED).prefetch_related("remote")
    return render(request, "network.html", union=union, following=[f.remote for f in following],
                  followers=[f.remote for f in followers])


routes = [
    Route("/network", network),
    Route("/", profile),
    Route("/@{username}", profile),
    Route("/tags/{name}", tag),
]
