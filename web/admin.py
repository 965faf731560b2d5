"""Admin pages (behind `require_login`): home, composer (preview, publish), our statements (edit,
delete, delivery status), follows and follow requests, notifications.

Every change goes through outbox/ (or actors.remote for a handle); this module only turns forms
into those calls and reads rows to show them.
"""
from __future__ import annotations

import html as _html
import re
from dataclasses import dataclass, field

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from actors.models import Follower, Following, FollowState, RemoteActor
from actors.remote import ActorFetchError, resolve_handle
from content import compose
from content.as2 import normalize_language
from content.models import Notification, Post
from content.sanitize import safe_url
from federation.delivery import deliveries_for
from federation.models import DeliveryState
from outbox import follows as out_follows
from outbox import statements
from outbox.models import Activity
from outbox.statements import OutboxError
from web.auth import render_form, require_login

ROWS = 3
# Offered in the language field (any other BCP-47 code can be typed).
LANGUAGES = [("en", "English"), ("fr", "Français"), ("es", "Español"), ("de", "Deutsch"), ("it", "Italiano"),
             ("pt", "Português"), ("nl", "Nederlands"), ("ca", "Català"), ("eu", "Euskara"), ("pl", "Polski"),
             ("sv", "Svenska"), ("el", "Ελληνικά"), ("tr", "Türkçe"), ("ar", "العربية")]
RTL = {"ar", "he", "fa", "ur"}
NOTIFICATION_WORDS = {"follow": "followed you", "follow_request": "asked to follow you", "reply": "replied",
                      "mention": "mentioned you", "reblog": "boosted", "favourite": "liked"}


def _page(request: Request, name: str, status: int = 200, **context) -> HTMLResponse:
    login = request.state.login
    return render_form(request, name, status=status, union=login.actor, login=login, languages=LANGUAGES,
                       **context)


def _see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def _sid(inst, ap_id: str) -> str:
    return ap_id[len(inst.urls.statement("")):]


def _languages(post: Post) -> list[tuple[str, str]]:
    """The texts in the author's order, primary language first."""
    return list(post.content_in_order().items())


def _direction(code: str) -> str:
    return "rtl" if code.split("-")[0].lower() in RTL else "ltr"


# --- the statement form -----------------------------------------------------------------

@dataclass
class Draft:
    rows: list[dict[str, str]] = field(default_factory=lambda: [{"lang": "", "text": ""} for _ in range(ROWS)])
    summary: str = ""

    @classmethod
    async def from_form(cls, request: Request) -> Draft:
        form = await request.form()
        rows = [{"lang": str(form.get(f"lang{n}") or "").strip(), "text": str(form.get(f"text{n}") or "")}
                for n in range(ROWS)]
        return cls(rows=rows, summary=str(form.get("summary") or "").strip())

    def texts(self) -> dict[str, str]:
        """Language -> text, in row order; rows without text are ignored. A row with text but no
        language is passed on with an empty code, so the outbox names the problem."""
        texts: dict[str, str] = {}
        for row in self.rows:
            if not row["text"].strip():
                continue
            if row["lang"] in texts:
                raise OutboxError(f"the language {row['lang'] or '(none)'} is given twice")
            texts[row["lang"]] = row["text"]
        return texts


def _preview(inst, texts: dict[str, str]) -> list[dict[str, str]]:
    """What each language will look like (mentions shown as typed: they resolve on publish)."""
    if not texts:
        raise OutboxError("a statement needs some text")
    shown = []
    for lang, text in texts.items():
        code = normalize_language(lang)
        if code is None:
            raise OutboxError(f"not a language code: {lang!r} (use two letters, such as en, fr, es, pt)")
        body, _, _ = compose.text_to_html(text, hashtag_url=inst.urls.tag, mentions={})
        shown.append({"lang": code, "dir": _direction(code), "html": body})
    return shown


async def _form(request: Request, *, draft: Draft, mode: str, post: Post | None = None, status: int = 200,
                error: str = "", preview: list | None = None) -> HTMLResponse:
    return _page(request, "admin_compose.html", status=status, draft=draft, mode=mode, post=post, error=error,
                 preview=preview or [], sid=_sid(request.app.state.inst, post.ap_id) if post else "")


@require_login
async def compose_page(request: Request) -> Response:
    inst = request.app.state.inst
    if request.method == "GET":
        return await _form(request, draft=Draft(), mode="new")
    draft = await Draft.from_form(request)
    action = (await request.form()).get("action")
    try:
        texts = draft.texts()
        if action == "preview":
            return await _form(request, draft=draft, mode="new", preview=_preview(inst, texts))
        post = await statements.publish(inst, request.state.login.actor, texts, summary=draft.summary or None)
    except OutboxError as exc:
        return await _form(request, draft=draft, mode="new", status=400, error=str(exc))
    return _see_other(f"/admin/statements/{_sid(inst, post.ap_id)}")


# --- our statements ---------------------------------------------------------------------

async def _own(request: Request) -> Post | None:
    inst = request.app.state.inst
    sid = request.path_params["sid"]
    return await Post.filter(ap_id=inst.urls.statement(sid), local=True,
                             author_uri=inst.uri_of(request.state.login.actor)).first()


def _not_found() -> HTMLResponse:
    return HTMLResponse("<!doctype html><title>Not found</title><p>No such statement.</p>", status_code=404)


_MENTION = re.compile(r'<span class="h-card"[^>]*><a href="([^"]*)" class="u-url mention">@<span>[^<]*</span></a></span>')


async def _editable_text(post: Post, body: str) -> str:
    """Our own rendered HTML back to the plain text the composer takes."""
    hrefs = [_html.unescape(h) for h in _MENTION.findall(body)]
    handles: dict[str, str] = {}
    if hrefs:
        for actor in await RemoteActor.filter(url__in=hrefs) + await RemoteActor.filter(uri__in=hrefs):
            handles[actor.url or actor.uri] = handles[actor.uri] = f"@{actor.username}@{actor.domain}"
    body = _MENTION.sub(lambda m: handles.get(_html.unescape(m.group(1)), m.group(0)), body)
    body = body.replace("</p><p>", "\n\n").replace("<br>", "\n")
    return _html.unescape(re.sub(r"<[^>]*>", "", body))


@require_login
async def statement_list(request: Request) -> Response:
    inst = request.app.state.inst
    posts = await (Post.filter(local=True, author_uri=inst.uri_of(request.state.login.actor))
                   .order_by("-published", "-id").limit(200))
    return _page(request, "admin_statements.html", posts=[(p, _sid(inst, p.ap_id)) for p in posts])


@require_login
async def statement_edit(request: Request) -> Response:
    inst = request.app.state.inst
    post = await _own(request)
    if post is None:
        return _not_found()
    if request.method == "GET":
        draft = Draft(summary=post.summary)
        for n, (lang, body) in enumerate(_languages(post)[:ROWS]):
            draft.rows[n] = {"lang": lang, "text": await _editable_text(post, body)}
        return await _form(request, draft=draft, mode="edit", post=post)
    draft = await Draft.from_form(request)
    action = (await request.form()).get("action")
    try:
        texts = draft.texts()
        if action == "preview":
            return await _form(request, draft=draft, mode="edit", post=post, preview=_preview(inst, texts))
        await statements.edit(inst, request.state.login.actor, post.ap_id, texts, summary=draft.summary or None)
    except OutboxError as exc:
        return await _form(request, draft=draft, mode="edit", post=post, status=400, error=str(exc))
    return _see_other(f"/admin/statements/{_sid(inst, post.ap_id)}")


@require_login
async def statement_delete(request: Request) -> Response:
    inst = request.app.state.inst
    post = await _own(request)
    if post is None:
        return _not_found()
    await statements.delete(inst, request.state.login.actor, post.ap_id)
    return _see_other("/admin/statements")


@require_login
async def statement_status(request: Request) -> Response:
    inst = request.app.state.inst
    post = await _own(request)
    if post is None:
        return _not_found()
    activities = await Activity.filter(object_uri=post.ap_id).order_by("created_at", "id")
    groups: dict[str, list[dict]] = {"delivered": [], "pending": [], "failed": []}
    for activity in activities:
        for d in await deliveries_for(activity.ap_id):
            state = {DeliveryState.DELIVERED: "delivered", DeliveryState.PENDING: "pending"}.get(d.state, "failed")
            groups[state].append({"host": d.host, "inbox": d.inbox, "activity": activity.type, "state": d.state,
                                  "attempts": d.attempts, "next_try": d.next_attempt_at, "status": d.last_status,
                                  "error": d.last_error, "finished": d.finished_at})
    for rows in groups.values():
        rows.sort(key=lambda r: (r["host"], r["activity"]))
    lang = post.language or next(iter(post.content_map), "und")
    return _page(request, "admin_statement.html", post=post, sid=_sid(inst, post.ap_id), groups=groups,
                 activities=activities, lang=lang, dir=_direction(lang),
                 html=post.content_map.get(lang, post.content))


# --- follows ----------------------------------------------------------------------------

async def _follows_page(request: Request, *, status: int = 200, error: str = "", handle: str = "",
                        message: str = "") -> HTMLResponse:
    local = request.state.login.actor
    following = await Following.filter(local=local).prefetch_related("remote").order_by("-created_at", "-id")
    followers = await Follower.filter(local=local).prefetch_related("remote").order_by("-created_at", "-id")
    return _page(request, "admin_follows.html", status=status, error=error, handle=handle, message=message,
                 following=following, accepted=[f for f in followers if f.state == FollowState.ACCEPTED],
                 requests=[f for f in followers if f.state != FollowState.ACCEPTED])


@require_login
async def follows_page(request: Request) -> Response:
    if request.method == "GET":
        return await _follows_page(request, message={"followed": "Follow request sent.",
                                                     "unfollowed": "Unfollowed.", "approved": "Request approved.",
                                                     "rejected": "Request rejected."}
                                   .get(request.query_params.get("done", ""), ""))
    inst = request.app.state.inst
    handle = str((await request.form()).get("handle") or "").strip()
    if not handle:
        return await _follows_page(request, status=400, error="Give a handle such as @union@example.org.")
    try:
        remote = await resolve_handle(inst, handle)
    except ActorFetchError as exc:
        return await _follows_page(request, status=400, handle=handle, error=f"Could not find {handle}: {exc.reason}")
    await out_follows.follow(inst, request.state.login.actor, remote)
    return _see_other("/admin/follows?done=followed")


@require_login
async def unfollow(request: Request) -> Response:
    inst = request.app.state.inst
    local = request.state.login.actor
    row = await Following.filter(id=request.path_params["fid"], local=local).prefetch_related("remote").first()
    if row is None:
        return await _follows_page(request, status=404, error="You do not follow that union.")
    await out_follows.unfollow(inst, local, row.remote)
    return _see_other("/admin/follows?done=unfollowed")


async def _answer(request: Request, accept: bool) -> Response:
    inst = request.app.state.inst
    row = await (Follower.filter(id=request.path_params["fid"], local=request.state.login.actor)
                 .prefetch_related("local", "remote").first())
    if row is None or row.state == FollowState.ACCEPTED:
        return await _follows_page(request, status=404, error="No such follow request.")
    await out_follows.answer_follow(inst, row, accept=accept)
    return _see_other(f"/admin/follows?done={'approved' if accept else 'rejected'}")


@require_login
async def approve(request: Request) -> Response:
    return await _answer(request, True)


@require_login
async def reject(request: Request) -> Response:
    return await _answer(request, False)


# --- notifications ----------------------------------------------------------------------

@require_login
async def notifications(request: Request) -> Response:
    rows = await Notification.all().order_by("-created_at", "-id").limit(100)
    actors = {a.uri: a for a in await RemoteActor.filter(uri__in=list({n.actor_uri for n in rows}))}
    items = []
    for n in rows:
        actor = actors.get(n.actor_uri)
        items.append({"n": n, "words": NOTIFICATION_WORDS.get(n.kind, n.kind),
                      "handle": f"@{actor.username}@{actor.domain}" if actor else n.actor_uri,
                      "actor_url": safe_url((actor.url or actor.uri) if actor else n.actor_uri),
                      "object_url": safe_url(n.object_uri), "new": not n.read})
    response = _page(request, "admin_notifications.html", items=items)
    unread = [n.id for n in rows if not n.read]
    if unread:  # seen now: marked read once the page is rendered
        await Notification.filter(id__in=unread).update(read=True)
    return response


@require_login
async def home(request: Request) -> Response:
    unread = await Notification.filter(read=False).count()
    return _page(request, "admin_home.html", unread=unread)


routes = [
    Route("/admin", home),
    Route("/admin/compose", compose_page, methods=["GET", "POST"]),
    Route("/admin/statements", statement_list),
    Route("/admin/statements/{sid}", statement_status),
    Route("/admin/statements/{sid}/edit", statement_edit, methods=["GET", "POST"]),
    Route("/admin/statements/{sid}/delete", statement_delete, methods=["POST"]),
    Route("/admin/follows", follows_page, methods=["GET", "POST"]),
    Route("/admin/follows/{fid:int}/unfollow", unfollow, methods=["POST"]),
    Route("/admin/followers/{fid:int}/approve", approve, methods=["POST"]),
    Route("/admin/followers/{fid:int}/reject", reject, methods=["POST"]),
    Route("/admin/notifications", notifications),
]
