"""Statuses in the Mastodon client API: publish (with Idempotency-Key), show, context, delete,
edit, source and history. Boosts and favourites are in web/api/reblogs.py, whose routes are
listed here too.

Our statements are public Notes, one text per language: a client's status is one language's
text. Every change goes through outbox.statements; this module reads rows and checks input."""
from __future__ import annotations

from datetime import timedelta

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from actors.instance import Instance
from actors.models import LocalActor
from content.as2 import normalize_language
from content.models import Media, Post
from outbox import interactions, statements
from outbox.models import IdempotencyKey
from outbox.statements import MAX_ATTACHMENTS, OutboxError
from web.api import reblogs
from web.api.common import ApiError, Params, actor_of, api, grant_of, not_found, params, parse_id
from web.api.entities import iso, one_status, statuses
from web.api.status_ids import find, original, own, post_of, statement, status_id, visible
from web.compose_form import editable_text

# What we accept in one status (the instance entity should advertise the same number): a
# union's statement is longer than a chat message, so more than Mastodon's 500.
MAX_CHARACTERS = 5000
MAX_SPOILER = 1000
IDEMPOTENCY_KEPT = timedelta(days=1)
# How far a thread is walked each way; a longer chain is cut rather than read whole.
MAX_DEPTH = 40
MAX_DESCENDANTS = 200
UNSUPPORTED_VISIBILITY = {
    "unlisted": "unlisted posts are not supported: a union's statements are public",
    "private": "followers-only posts are not supported: a union's statements are public",
    "direct": "direct messages are not supported: a union's statements are public",
}


# --- input ------------------------------------------------------------------------------

def _text(p: Params, name: str, limit: int) -> str:
    value = p.text(name)
    if len(value) > limit:
        raise ApiError(422, f"{name} is too long ({len(value)} characters; at most {limit})")
    return value


def _language(p: Params) -> str | None:
    raw = p.text("language").strip()
    if not raw:
        return None
    code = normalize_language(raw)
    if code is None:
        raise ApiError(422, f"not a language code: {raw!r} (use a tag such as en, fr, es, pt-BR)")
    return code


def _sensitive(p: Params, spoiler: str | None) -> None:
    """A statement is sensitive exactly when it has a spoiler_text (outbox.statements): media
    cannot be hidden on their own, so `sensitive` without one is refused rather than dropped."""
    if p.flag("sensitive") and not (spoiler or "").strip():
        raise ApiError(422, "sensitive media without a spoiler_text (content warning) are not supported")


def _refuse_unsupported(p: Params) -> None:
    if p.get("scheduled_at") not in (None, ""):
        raise ApiError(422, "scheduled posts are not supported")
    if any(key == "poll" or key.startswith("poll[") for key in p.values):
        raise ApiError(422, "polls are not supported")
    visibility = p.text("visibility").strip() or "public"
    if visibility != "public":
        raise ApiError(422, UNSUPPORTED_VISIBILITY.get(visibility, f"unknown visibility: {visibility!r}"))


def _media_ids(p: Params) -> list[int]:
    ids: list[int] = []
    for value in p.getlist("media_ids"):
        number = parse_id(value)
        if number is None:
            raise ApiError(422, f"not a media id: {value!r}")
        if number not in ids:
            ids.append(number)
    if len(ids) > MAX_ATTACHMENTS:
        raise ApiError(422, f"at most {MAX_ATTACHMENTS} attachments")
    return ids


async def uploads(ids: list[int], post: Post | None = None) -> list[Media]:
    """Our uploads in the client's order, free (or already on `post`); else 422."""
    rows = {m.id: m for m in await Media.filter(id__in=ids, local=True)} if ids else {}
    for i in ids:
        row = rows.get(i)
        if row is None or row.post_id not in (None, post.id if post else None):
            raise ApiError(422, f"media {i} is not an upload waiting for this status")
    return [rows[i] for i in ids]


async def _default_language(inst: Instance, actor: LocalActor) -> str:
    """What the union wrote in last, as the composer would suggest; English for a first post."""
    last = await Post.filter(local=True, author_uri=inst.uri_of(actor)).order_by("-published", "-id").first()
    return (normalize_language(last.language) if last else None) or "en"


async def _reply_target(p: Params) -> str | None:
    raw = p.get("in_reply_to_id")
    if raw in (None, ""):
        return None
    number = parse_id(raw)
    post = post_of(await find(number) if number is not None else None)
    if post is None or post.hidden:
        raise ApiError(404, "The post you are trying to reply to does not appear to exist")
    return post.ap_id


# --- Idempotency-Key --------------------------------------------------------------------

async def _replayed(inst: Instance, login_id: int, key: str) -> Post | None:
    """The status a previous request with this key made; keys older than a day are forgotten."""
    await IdempotencyKey.filter(created_at__lt=inst.now() - IDEMPOTENCY_KEPT).delete()
    row = await IdempotencyKey.filter(login_id=login_id, key=key).first()
    if row is None:
        return None
    if not row.post_ap_id:
        raise ApiError(409, "a request with this Idempotency-Key is still being processed")
    post = await Post.filter(ap_id=row.post_ap_id).first()
    if post is None:
        raise ApiError(422, "the status made with this Idempotency-Key was deleted since")
    return post


async def _publish_once(inst: Instance, actor: LocalActor, login_id: int, key: str, **publish) -> Post:
    """The key, the statement and its deliveries commit together: a crash leaves neither (the
    client's retry then publishes), and of two requests racing with one key, the second waits on
    the key's row and is refused once the first commits (its own retry then gets the status)."""
    async with in_transaction():
        try:
            async with in_transaction():  # a savepoint: only the key's insert is undone on a clash
                reserved = await IdempotencyKey.create(login_id=login_id, key=key, post_ap_id="",
                                                       created_at=inst.now())
        except IntegrityError:
            raise ApiError(409, "a request with this Idempotency-Key is being processed; retry to get its status") from None
        post = await statements.publish(inst, actor, **publish)
        reserved.post_ap_id = post.ap_id
        await reserved.save(update_fields=["post_ap_id"])
    return post


# --- endpoints --------------------------------------------------------------------------

@api("write:statuses")
async def create(request: Request) -> Response:
    inst, actor = request.app.state.inst, actor_of(request)
    grant = grant_of(request)
    key = request.headers.get("idempotency-key", "").strip()[:255]
    login_id = grant.login.id if grant and grant.login else 0
    if key:
        earlier = await _replayed(inst, login_id, key)
        if earlier is not None:
            return JSONResponse(await one_status(inst, actor, earlier))
    p = await params(request)
    _refuse_unsupported(p)
    text = _text(p, "status", MAX_CHARACTERS)
    spoiler = _text(p, "spoiler_text", MAX_SPOILER).strip()
    _sensitive(p, spoiler)
    ids = _media_ids(p)
    if not text.strip():
        raise ApiError(422, "a status needs text (media alone is not supported: a statement is text "
                            "with attachments)" if ids else "a status needs text")
    language = _language(p) or await _default_language(inst, actor)
    in_reply_to = await _reply_target(p)
    media = await uploads(ids)
    publish = {"texts": {language: text}, "summary": spoiler or None, "in_reply_to": in_reply_to, "media": media}
    try:
        post = await (_publish_once(inst, actor, login_id, key, **publish) if key
                      else statements.publish(inst, actor, **publish))
    except OutboxError as exc:
        raise ApiError(422, str(exc)) from None
    return JSONResponse(await one_status(inst, actor, post))


@api("read:statuses", user=False)
async def show(request: Request) -> Response:
    found = await find(status_id(request))
    post = post_of(found)
    if post is None or not visible(post, request.state.actor):
        raise not_found()
    return JSONResponse((await statuses(request.app.state.inst, request.state.actor, [found]))[0])


async def _ancestors(post: Post, viewer: LocalActor | None) -> list[Post]:
    chain: list[Post] = []
    seen = {post.ap_id}
    current = post
    for _ in range(MAX_DEPTH):
        if not current.in_reply_to or current.in_reply_to in seen:
            break
        parent = await Post.filter(ap_id=current.in_reply_to).first()
        if parent is None:
            break
        seen.add(parent.ap_id)
        if visible(parent, viewer):  # a hidden one is left out, the thread above it is not
            chain.append(parent)
        current = parent
    return chain[::-1]


async def _descendants(post: Post, viewer: LocalActor | None) -> list[Post]:
    """Replies level by level (hidden ones and what hangs under them left out), shown depth first."""
    children: dict[str, list[Post]] = {}
    frontier, seen, total = [post.ap_id], {post.ap_id}, 0
    for _ in range(MAX_DEPTH):
        if not frontier or total >= MAX_DESCENDANTS:
            break
        rows = await (Post.filter(in_reply_to__in=frontier, hidden=False).order_by("published", "id")
                      .limit(MAX_DESCENDANTS - total))
        frontier = []
        for row in rows:
            if row.ap_id in seen or not visible(row, viewer):
                continue
            seen.add(row.ap_id)
            children.setdefault(row.in_reply_to, []).append(row)
            frontier.append(row.ap_id)
            total += 1
    out: list[Post] = []
    stack = list(reversed(children.get(post.ap_id, [])))
    while stack:
        row = stack.pop()
        out.append(row)
        stack.extend(reversed(children.get(row.ap_id, [])))
    return out


@api("read:statuses", user=False)
async def context(request: Request) -> Response:
    inst, viewer = request.app.state.inst, request.state.actor
    post = await original(request)
    above, below = await _ancestors(post, viewer), await _descendants(post, viewer)
    rendered = await statuses(inst, viewer, [*above, *below])
    return JSONResponse({"ancestors": rendered[:len(above)], "descendants": rendered[len(above):]})


async def source_text(post: Post, language: str | None = None) -> str:
    """The plain text the composer would show for one language (the primary by default)."""
    texts = post.content_in_order()
    body = texts.get(language or post.language) or next(iter(texts.values()), post.content or "")
    return await editable_text(post, body)


@api("write:statuses")
async def delete(request: Request) -> Response:
    """Our statement (answered with its source `text`, for "delete and redraft"); the id of
    our own boost withdraws the boost, as Mastodon does."""
    inst, actor = request.app.state.inst, actor_of(request)
    found = await find(status_id(request))
    if isinstance(found, tuple) and found[0].actor_uri == inst.uri_of(actor) and visible(found[1], actor):
        shown = (await statuses(inst, actor, [found]))[0]
        await interactions.undo(inst, actor, "announce", found[1].ap_id)
        return JSONResponse(shown)
    post = await original(request)
    own(inst, actor, post)
    shown = await one_status(inst, actor, post)
    shown["text"] = await source_text(post)
    try:
        await statements.delete(inst, actor, post.ap_id)
    except OutboxError as exc:
        raise ApiError(422, str(exc)) from None
    return JSONResponse(shown)


@api("write:statuses")
async def edit(request: Request) -> Response:
    """`status` replaces the text of its `language` (the primary by default); the statement's
    other languages stay. `media_ids`, when sent (even empty), replaces the attachments."""
    inst, actor = request.app.state.inst, actor_of(request)
    post = await original(request)
    own(inst, actor, post)
    p = await params(request)
    _refuse_unsupported(p)
    sources = {lang: await source_text(post, lang) for lang in post.content_in_order()}
    language = _language(p) or post.language
    given = p.get("status") is not None
    text = _text(p, "status", MAX_CHARACTERS) if given else sources.get(language, "")
    if not text.strip():
        raise ApiError(422, "a status needs text")
    texts = {**sources, language: text}  # the primary stays first; a new language comes last
    spoiler = _text(p, "spoiler_text", MAX_SPOILER).strip() if p.get("spoiler_text") is not None else post.summary
    _sensitive(p, spoiler)
    sent_media = "media_ids" in p.values or "media_ids[]" in p.values
    media = await uploads(_media_ids(p), post) if sent_media else None
    try:
        post = await statements.edit(inst, actor, post.ap_id, texts, summary=spoiler or None, media=media)
    except OutboxError as exc:
        raise ApiError(422, str(exc)) from None
    return JSONResponse(await one_status(inst, actor, post))


@api("read:statuses")
async def source(request: Request) -> Response:
    post = await original(request)
    statement(post)
    return JSONResponse({"id": str(post.sid), "text": await source_text(post), "spoiler_text": post.summary or ""})


@api("read:statuses", user=False)
async def history(request: Request) -> Response:
    """We keep no earlier versions: the current one is the whole history."""
    inst, viewer = request.app.state.inst, request.state.actor
    post = await original(request)
    shown = await one_status(inst, viewer, post)
    return JSONResponse([{
        "content": shown["content"], "spoiler_text": shown["spoiler_text"], "sensitive": shown["sensitive"],
        "created_at": iso(post.updated or post.published), "account": shown["account"], "poll": None,
        "media_attachments": shown["media_attachments"], "emojis": [],
    }])


routes = [
    Route("/api/v1/statuses", create, methods=["POST"]),
    Route("/api/v1/statuses/{id:int}", show, methods=["GET"]),
    Route("/api/v1/statuses/{id:int}", delete, methods=["DELETE"]),
    Route("/api/v1/statuses/{id:int}", edit, methods=["PUT"]),
    Route("/api/v1/statuses/{id:int}/context", context, methods=["GET"]),
    Route("/api/v1/statuses/{id:int}/source", source, methods=["GET"]),
    Route("/api/v1/statuses/{id:int}/history", history, methods=["GET"]),
    *reblogs.routes,
]
