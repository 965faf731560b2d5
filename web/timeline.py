"""Admin timeline: the posts (and boosts) of the actors we follow, newest first, with boost, like,
reply and, on an appeal, "Declare solidarity" (a reply and a boost in one step).

Every change goes through outbox/ (statements.publish, interactions.*); this module turns forms
into those calls and reads rows to show them.
"""
from __future__ import annotations

import html
import logging
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from actors.instance import Instance
from actors.models import Following, FollowState, LocalActor, RemoteActor
from actors.remote import ActorFetchError, fetch_actor
from content import appeals
from content.as2 import normalize_language
from content.models import Interaction, Post
from content.sanitize import safe_url, sanitize_html
from outbox import interactions, statements
from outbox.lookup import LookupError_, fetch_post
from outbox.statements import OutboxError
from web.admin_common import direction
from web.admin_common import page as admin_page  # `page` is the page number here
from web.appeal_view import deadline, union_item
from web.auth import require_login
from web.pages import pick_language

log = logging.getLogger(__name__)
PAGE_SIZE = 20
MAX_PAGE = 50  # 1000 items back is far enough for an admin; older posts are on their authors' sites
DONE = {"boosted": "Boosted: your followers see it now.", "unboosted": "Boost withdrawn.", "liked": "Liked.",
        "unliked": "Like withdrawn.", "replied": "Reply published.",
        "declared": "Declaration of solidarity sent.", "declared_boosted":
        "Declaration of solidarity sent, and the appeal cross-posted to your followers."}


@dataclass
class Entry:
    post: Post
    at: datetime
    booster: RemoteActor | None = None


async def _followed(local: LocalActor) -> dict[str, RemoteActor]:
    rows = await Following.filter(local=local, state=FollowState.ACCEPTED).prefetch_related("remote")
    return {f.remote.uri: f.remote for f in rows}


async def entries(local: LocalActor, page: int) -> tuple[list[Entry], bool]:
    """One page of the timeline and whether an older page exists.

    Posts and boosts are two sorted streams; the first `page * PAGE_SIZE + 1` of each are enough
    to cut any page of their merge, so each page costs two bounded queries."""
    followed = await _followed(local)
    if not followed:
        return [], False
    want = page * PAGE_SIZE + 1
    uris = list(followed)
    posts = await (Post.filter(author_uri__in=uris, local=False, hidden=False)
                   .order_by("-published", "-id").limit(want))
    merged = [Entry(post=p, at=p.published) for p in posts]
    boosts = await (Interaction.filter(kind="announce", actor_uri__in=uris, local=False)
                    .order_by("-created_at", "-id").limit(want))
    boosted = {p.ap_id: p for p in await Post.filter(ap_id__in=[b.object_uri for b in boosts], hidden=False)}
    merged += [Entry(post=boosted[b.object_uri], at=b.created_at, booster=followed.get(b.actor_uri))
               for b in boosts if b.object_uri in boosted]
    merged.sort(key=lambda e: (e.at, e.post.id), reverse=True)
    start = (page - 1) * PAGE_SIZE
    return merged[start:start + PAGE_SIZE], len(merged) > start + PAGE_SIZE


async def _items(request: Request, local: LocalActor, shown: list[Entry]) -> list[dict]:
    inst = request.app.state.inst
    me = inst.uri_of(local)
    uris = list({e.post.ap_id for e in shown})
    mine = set(await Interaction.filter(actor_uri=me, local=True, object_uri__in=uris).values_list("kind", "object_uri"))
    declared = set(await Post.filter(local=True, author_uri=me, in_reply_to__in=uris).values_list("in_reply_to", flat=True))
    authors = {a.uri: a for a in await RemoteActor.filter(uri__in=list({e.post.author_uri for e in shown}))}
    return [item(request, e.post, authors.get(e.post.author_uri), booster=e.booster,
                 boosted=("announce", e.post.ap_id) in mine, liked=("like", e.post.ap_id) in mine,
                 declared=e.post.ap_id in declared) for e in shown]


def item(request: Request, post: Post, author: RemoteActor | None, *, booster: RemoteActor | None = None,
         boosted: bool = False, liked: bool = False, declared: bool = False) -> dict:
    """A post as the timeline shows it: sanitised, in the reader's language, the others folded away."""
    lang = pick_language(post, request)
    others = [{"lang": code, "dir": direction(code), "html": sanitize_html(text)}
              for code, text in post.content_in_order().items() if code != lang]
    return {
        "uri": post.ap_id, "url": safe_url(post.url or post.ap_id) or "", "lang": lang, "dir": direction(lang),
        "html": sanitize_html(post.content_map.get(lang) or post.content or ""), "summary": post.summary,
        "name": post.name, "others": others, "published": post.published, "public": post.public,
        "attachments": [{"url": safe_url(a.get("url")) or "", "name": a.get("name") or a.get("url")}
                        for a in post.attachments if isinstance(a, dict) and safe_url(a.get("url"))],
        "author": union_item(author, post.author_uri),
        "booster": union_item(booster, booster.uri) if booster else None,
        "appeal": appeals.is_appeal(post), "deadline": deadline(post, request.app.state.inst.now()),
        "boosted": boosted, "liked": liked, "declared": declared,
    }


def _page_number(request: Request) -> int | None:
    raw = request.query_params.get("page", "1")
    return int(raw) if raw.isdigit() and len(raw) < 4 and 1 <= int(raw) <= MAX_PAGE else None


async def _timeline(request: Request, *, page: int = 1, status: int = 200, error: str = "") -> HTMLResponse:
    local = request.state.login.actor
    shown, more = await entries(local, page)
    # A failure told after a redirect (see _boost_after): shown once.
    error = error or request.session.pop("timeline_alert", "")
    return admin_page(request, "admin_timeline.html", status=status, error=error, page=page,
                      more=more and page < MAX_PAGE, items=await _items(request, local, shown),
                      message=DONE.get(request.query_params.get("done", ""), ""), following=bool(await _followed(local)))


@require_login
async def timeline(request: Request) -> Response:
    page = _page_number(request)
    if page is None:
        return await _timeline(request, status=400, error=f"page must be a whole number from 1 to {MAX_PAGE}")
    return await _timeline(request, page=page)


def _back(page: object, done: str) -> RedirectResponse:
    page = int(page) if isinstance(page, str) and page.isdigit() and len(page) < 4 and 1 <= int(page) <= MAX_PAGE else 1
    query = urlencode({"page": page, "done": done} if page > 1 else {"done": done})
    return RedirectResponse(f"/admin/timeline?{query}", status_code=303)


async def _interact(request: Request, action: str) -> Response:
    inst = request.app.state.inst
    local = request.state.login.actor
    form = await request.form()
    uri = safe_url(form.get("uri"))
    if not uri or uri != form.get("uri"):
        return await _timeline(request, status=400, error="Give the post's id (an http or https URL).")
    try:
        if action == "boost":
            await interactions.boost(inst, local, uri)
        elif action == "like":
            await interactions.like(inst, local, uri)
        elif not await interactions.undo(inst, local, "announce" if action == "unboost" else "like", uri):
            return await _timeline(request, status=400, error=f"Nothing to withdraw: you did not {action[2:]} that post.")
    except (OutboxError, LookupError_) as exc:
        return await _timeline(request, status=400, error=f"Could not {action}: {getattr(exc, 'reason', exc)}")
    return _back(form.get("page"), {"boost": "boosted", "unboost": "unboosted", "like": "liked",
                                    "unlike": "unliked"}[action])


@require_login
async def boost(request: Request) -> Response:
    return await _interact(request, "boost")


@require_login
async def unboost(request: Request) -> Response:
    return await _interact(request, "unboost")


@require_login
async def like(request: Request) -> Response:
    return await _interact(request, "like")


@require_login
async def unlike(request: Request) -> Response:
    return await _interact(request, "unlike")


# --- reply and declare ------------------------------------------------------------------

def _error_page(message: str, status: int = 400) -> HTMLResponse:
    return HTMLResponse(f"<!doctype html><title>Cannot answer</title><p>{html.escape(message)}</p>"
                        '<p><a href="/admin/timeline">Back to the timeline</a></p>', status_code=status)


def _uri(raw: object) -> str | None:
    uri = safe_url(raw) if isinstance(raw, str) else None
    return uri if uri and uri == raw else None


async def _target(request: Request) -> Post | str | None:
    """The post named by ?uri= if we have it (None if not: a GET fetches nothing, see `lookup`); else why not."""
    uri = _uri(request.query_params.get("uri", ""))
    if uri is None:
        return "Give the post's id (an http or https URL) as ?uri=."
    post = await Post.filter(ap_id=uri).first()
    if post is not None and post.local:
        return "That is one of our own statements."
    return post


def with_mention(text: str, handle: str) -> str:
    """Mastodon's way to make a reply reach and notify its author: the text starts with their handle."""
    if not handle.startswith("@") or handle.lower() in text.lower():
        return text
    return f"{handle} {text}"


async def _author(inst: Instance, post: Post) -> RemoteActor:
    """The post's author, fetched if we never had their document (fetch_post goes on without it):
    without it the reply would neither mention them nor reach their inbox."""
    cached = await RemoteActor.filter(uri=post.author_uri).first()
    if cached is not None:
        return cached
    try:
        return await fetch_actor(inst, post.author_uri)
    except ActorFetchError as exc:
        raise OutboxError(f"could not reach the author of this post: {exc.reason}") from exc


async def _boost_after(request: Request, local: LocalActor, post: Post) -> bool:
    """Cross-post a declaration's appeal. The declaration is already published: a failure here is
    told on the timeline (the session carries it, no text in the URL), never by the form again,
    which would invite sending the declaration twice."""
    try:
        await interactions.boost(request.app.state.inst, local, post.ap_id)
        return True
    except Exception as exc:  # whatever it was, the declaration stands and must not be sent again
        if not isinstance(exc, (OutboxError, LookupError_)):
            log.exception("cross-posting %s after a declaration failed", post.ap_id)
        reason = getattr(exc, "reason", None) or str(exc) or type(exc).__name__
        request.session["timeline_alert"] = (f"Declaration sent, but cross-posting failed: {reason}. "
                                             "Use Boost on the appeal to try again.")
        return False


async def _answer(request: Request, *, declare: bool) -> Response:
    inst = request.app.state.inst
    local = request.state.login.actor
    post = await _target(request)
    if isinstance(post, str):
        return _error_page(post)
    if post is None:
        return admin_page(request, "admin_lookup.html", status=200 if request.method == "GET" else 400,
                          uri=request.query_params["uri"], then="declare" if declare else "reply")
    if declare and not appeals.is_appeal(post):
        return _error_page("That post is not an appeal for declarations of solidarity; use Reply.")
    author = await RemoteActor.filter(uri=post.author_uri).first()
    shown = item(request, post, author)
    template = "admin_declare.html" if declare else "admin_reply.html"
    if request.method == "GET":
        handle = author.handle if author and author.username else ""
        lang = post.language if normalize_language(post.language) else "en"
        return admin_page(request, template, post=shown, lang_code=lang.split("-")[0],
                          text=f"{handle} " if handle else "", boost=True, error="")
    form = await request.form()
    lang = str(form.get("lang") or "").strip()
    text = str(form.get("text") or "")
    cross_post = form.get("boost") == "1"

    def again(error: str) -> HTMLResponse:
        return admin_page(request, template, status=400, post=shown, lang_code=lang, text=text,
                          boost=cross_post, error=error)

    try:
        author = await _author(inst, post)
    except OutboxError as exc:
        return again(str(exc))
    handle = author.handle if author.username else ""
    if not (text.replace(handle, "") if handle else text).strip():
        return again("Write the text of your " + ("declaration." if declare else "reply."))
    if declare and cross_post and not post.public:
        return again("Only a public appeal can be cross-posted: untick the box to send the declaration alone.")
    try:
        await statements.publish(inst, local, {lang: with_mention(text, handle)}, in_reply_to=post.ap_id)
    except (OutboxError, LookupError_) as exc:
        return again(str(getattr(exc, "reason", exc)))
    if not declare:
        return RedirectResponse("/admin/timeline?done=replied", status_code=303)
    boosted = cross_post and await _boost_after(request, local, post)
    return RedirectResponse(f"/admin/timeline?done={'declared_boosted' if boosted else 'declared'}", status_code=303)


@require_login
async def lookup(request: Request) -> Response:
    """Fetch a post we do not have from its origin (a POST: it writes, and needs the CSRF token),
    then open the reply or declaration form on it."""
    form = await request.form()
    uri = _uri(form.get("uri"))
    then = "declare" if form.get("then") == "declare" else "reply"
    if uri is None:
        return _error_page("Give the post's id (an http or https URL).")
    try:
        await fetch_post(request.app.state.inst, uri)
    except LookupError_ as exc:
        return _error_page(f"Could not find that post: {exc.reason}")
    return RedirectResponse(f"/admin/{then}?{urlencode({'uri': uri})}", status_code=303)


@require_login
async def reply(request: Request) -> Response:
    return await _answer(request, declare=False)


@require_login
async def declare(request: Request) -> Response:
    return await _answer(request, declare=True)


routes = [
    Route("/admin/timeline", timeline),
    Route("/admin/timeline/boost", boost, methods=["POST"]),
    Route("/admin/timeline/unboost", unboost, methods=["POST"]),
    Route("/admin/timeline/like", like, methods=["POST"]),
    Route("/admin/timeline/unlike", unlike, methods=["POST"]),
    Route("/admin/lookup", lookup, methods=["POST"]),
    Route("/admin/reply", reply, methods=["GET", "POST"]),
    Route("/admin/declare", declare, methods=["GET", "POST"]),
]
