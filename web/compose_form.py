"""The statement form (compose and edit): texts per language, content warning, appeal and
deadline, up to four attachments; preview, then publish.

Files chosen at preview are stored then (unattached) and come back as hidden `media_id`
fields, so publishing does not need them again. A refused form stores nothing new: files
uploaded by that request are checked before anything is written, and removed again if the
statement itself is refused.
"""
from __future__ import annotations

import functools
import html as _html
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from actors.models import RemoteActor
from content import compose, media
from content.as2 import normalize_language
from content.models import Media, Post
from outbox import media as out_media
from outbox import statements
from outbox.statements import OutboxError
from web.admin_common import direction, languages, not_found, own, page, see_other, sid
from web.auth import require_login

ROWS = 3
FILES = 4
# The whole multipart body: four documents at their limit plus the text fields.
MAX_BODY = FILES * media.MAX_DOCUMENT_BYTES + 2 * media.MB
# Uploads of abandoned previews are kept this long, then pruned (an attachment removed by an
# edit, or carried by a deleted statement, is discarded at once by outbox.statements).
UNATTACHED_KEPT = timedelta(days=1)


@dataclass
class Draft:
    rows: list[dict[str, str]] = field(default_factory=lambda: [{"lang": "", "text": ""} for _ in range(ROWS)])
    summary: str = ""
    appeal: bool = False
    appeal_until: str = ""  # as typed: YYYY-MM-DD
    descs: list[str] = field(default_factory=lambda: [""] * FILES)
    media_ids: list[int] = field(default_factory=list)  # uploads already stored (preview, or the edited post)
    drop_ids: set[int] = field(default_factory=set)
    files: list[tuple[int, UploadFile]] = field(default_factory=list)  # (slot, file) chosen in this request

    @classmethod
    async def from_form(cls, request: Request) -> Draft:
        form = await request.form()
        rows = [{"lang": str(form.get(f"lang{n}") or "").strip(), "text": str(form.get(f"text{n}") or "")}
                for n in range(ROWS)]
        files = [(n, f) for n in range(FILES) if isinstance(f := form.get(f"file{n}"), UploadFile)
                 and (f.filename or f.size)]  # a browser sends an empty part for "no file chosen"
        return cls(rows=rows, summary=str(form.get("summary") or "").strip(),
                   appeal=form.get("appeal") == "1", appeal_until=str(form.get("appeal_until") or "").strip(),
                   descs=[_one_line(form.get(f"desc{n}")) for n in range(FILES)],
                   media_ids=_ids(form.getlist("media_id")), drop_ids=set(_ids(form.getlist("drop_media"))),
                   files=files)

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

    def deadline(self, today: date) -> datetime | None:
        """The end of the chosen day (UTC): "until 5 May" includes 5 May."""
        if not self.appeal_until:
            return None
        try:
            day = date.fromisoformat(self.appeal_until)
        except ValueError:
            raise OutboxError(f"the deadline {self.appeal_until!r} is not a date (YYYY-MM-DD)") from None
        if day < today:
            raise OutboxError(f"the deadline {day.isoformat()} is already past")
        if not self.appeal:
            raise OutboxError("a deadline is only for an appeal for declarations of solidarity")
        return datetime.combine(day, time(23, 59, 59), tzinfo=timezone.utc)


def _one_line(value) -> str:
    return re.sub(r"[\x00-\x1f\x7f]+", " ", str(value or "")).strip()[:media.MAX_DESCRIPTION]


def _ids(values) -> list[int]:
    return list(dict.fromkeys(int(v) for v in values if isinstance(v, str) and v.isdigit() and len(v) < 19))


def limit_body(endpoint: Callable[[Request], Awaitable[Response]]) -> Callable[[Request], Awaitable[Response]]:
    """Outside `require_login`, whose CSRF check parses the body: an oversized upload is refused
    from its Content-Length before any of it is read or spooled to disk."""

    @functools.wraps(endpoint)
    async def wrapper(request: Request) -> Response:
        if request.method == "POST":
            length = request.headers.get("content-length", "")
            if not length.isdigit():
                return HTMLResponse("<!doctype html><title>Length required</title>"
                                    "<p>The form must be sent with its length.</p>", status_code=411)
            if int(length) > MAX_BODY:
                return HTMLResponse("<!doctype html><title>Too large</title><p>The attachments are too large "
                                    f"(at most {media.MAX_DOCUMENT_BYTES // media.MB} MB each).</p>",
                                    status_code=413)
        return await endpoint(request)

    return wrapper


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
        shown.append({"lang": code, "dir": direction(code), "html": body})
    return shown


async def _kept(draft: Draft, post: Post | None) -> list[Media]:
    """Uploads the form carries back (minus those the admin removed), in their order."""
    wanted = [i for i in draft.media_ids if i not in draft.drop_ids]
    owner = [None] + ([post.id] if post else [])
    rows = {m.id: m for m in await Media.filter(id__in=wanted, local=True) if m.post_id in owner}
    if len(rows) != len(wanted):
        raise OutboxError("an attachment uploaded earlier is no longer available; choose the file again")
    return [rows[i] for i in wanted]


async def _check_files(draft: Draft, kept: int) -> list[tuple[int, media.Upload]]:
    if kept + len(draft.files) > FILES:
        raise OutboxError(f"at most {FILES} attachments")
    checked = []
    for slot, upload in draft.files:
        data = await upload.read(media.MAX_DOCUMENT_BYTES + 1)
        try:
            if len(data) > media.MAX_DOCUMENT_BYTES:
                raise media.MediaRefused(f"too large (max {media.MAX_DOCUMENT_BYTES // media.MB} MB)")
            checked.append((slot, await media.check_async(data, upload.filename or "")))
        except media.MediaRefused as exc:
            raise OutboxError(f"Attachment {kept + slot + 1} ({upload.filename or 'file'}): {exc}") from None
    return checked


async def _store(inst, draft: Draft, uploads: list[tuple[int, media.Upload]]) -> list[Media]:
    await out_media.prune(inst, inst.now() - UNATTACHED_KEPT)
    stored: list[Media] = []
    try:
        for slot, upload in uploads:
            stored.append(await out_media.upload(inst, upload, description=draft.descs[slot]))
    except BaseException:
        await out_media.discard(inst, stored)
        raise
    return stored


async def _form(request: Request, *, draft: Draft, mode: str, post: Post | None = None, status: int = 200,
                error: str = "", preview: list | None = None, attached: list[Media] | None = None) -> HTMLResponse:
    return page(request, "admin_compose.html", status=status, draft=draft, mode=mode, post=post, error=error,
                 preview=preview or [], attached=attached or [], slots=max(0, FILES - len(attached or [])),
                 sid=sid(request.app.state.inst, post.ap_id) if post else "",
                 today=request.app.state.inst.now().date().isoformat())


async def _submit(request: Request, *, mode: str, post: Post | None) -> Response:
    """Preview or publish/save; on a refusal the form comes back (400) with what was typed."""
    inst = request.app.state.inst
    draft = await Draft.from_form(request)
    action = (await request.form()).get("action")
    attached: list[Media] = []
    try:
        attached = await _kept(draft, post)
        uploads = await _check_files(draft, len(attached))
        texts = draft.texts()
        deadline = draft.deadline(inst.now().date()) if mode == "new" else None
        if action == "preview":
            shown = _preview(inst, texts)
            attached += await _store(inst, draft, uploads)
            draft.media_ids = [m.id for m in attached]
            # The stored files' descriptions now belong to them; the empty slots shown next
            # start after them, so only the descriptions typed without a file move up.
            stored = {slot for slot, _ in uploads}
            rest = [d for slot, d in enumerate(draft.descs) if slot not in stored]
            draft.descs = rest + [""] * (FILES - len(rest))
            return await _form(request, draft=draft, mode=mode, post=post, preview=shown, attached=attached)
        new = await _store(inst, draft, uploads)
        try:
            if mode == "new":
                post = await statements.publish(inst, request.state.login.actor, texts,
                                                summary=draft.summary or None, appeal=draft.appeal,
                                                appeal_until=deadline, media=attached + new)
            else:
                await statements.edit(inst, request.state.login.actor, post.ap_id, texts,
                                      summary=draft.summary or None, media=attached + new)
        except BaseException:
            await out_media.discard(inst, new)
            raise
    except OutboxError as exc:
        if draft.files:
            exc = OutboxError(f"{exc} (files chosen this time were not kept: choose them again)")
        return await _form(request, draft=draft, mode=mode, post=post, status=400, error=str(exc), attached=attached)
    return see_other(f"/admin/statements/{sid(inst, post.ap_id)}")


@limit_body
@require_login
async def compose_page(request: Request) -> Response:
    if request.method == "GET":
        return await _form(request, draft=Draft(), mode="new")
    return await _submit(request, mode="new", post=None)


_MENTION = re.compile(r'<span class="h-card"[^>]*><a href="([^"]*)" class="u-url mention">@<span>[^<]*</span></a></span>')


async def editable_text(post: Post, body: str) -> str:
    """Our own rendered HTML back to the plain text the composer takes."""
    hrefs = [_html.unescape(h) for h in _MENTION.findall(body)]
    handles: dict[str, str] = {}
    if hrefs:
        for actor in await RemoteActor.filter(url__in=hrefs) + await RemoteActor.filter(uri__in=hrefs):
            handles[actor.url or actor.uri] = handles[actor.uri] = f"@{actor.username}@{actor.domain}"
    body = _MENTION.sub(lambda m: handles.get(_html.unescape(m.group(1)), m.group(0)), body)
    body = body.replace("</p><p>", "\n\n").replace("<br>", "\n")
    return _html.unescape(re.sub(r"<[^>]*>", "", body))


@limit_body
@require_login
async def statement_edit(request: Request) -> Response:
    post = await own(request)
    if post is None:
        return not_found()
    if request.method == "GET":
        draft = Draft(summary=post.summary)
        for n, (lang, body) in enumerate(languages(post)[:ROWS]):
            draft.rows[n] = {"lang": lang, "text": await editable_text(post, body)}
        attached = await Media.filter(post_id=post.id).order_by("id")
        draft.media_ids = [m.id for m in attached]
        return await _form(request, draft=draft, mode="edit", post=post, attached=attached)
    return await _submit(request, mode="edit", post=post)


routes = [
    Route("/admin/compose", compose_page, methods=["GET", "POST"]),
    Route("/admin/statements/{sid}/edit", statement_edit, methods=["GET", "POST"]),
]
