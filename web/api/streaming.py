"""Streaming, as Mastodon serves it: a WebSocket at /api/v1/streaming (Elk, Phanpy) and
server-sent events at /api/v1/streaming/{user,public,…} (Mastodon.py), with the events
`update`, `notification` and `status.update`.

Each open stream polls the database every POLL_SECONDS for what is newer than it has sent
(statuses by sid, notifications by id, edits by time): a user stream's poll is about ten
indexed queries (followed accounts, posts, boosts and their originals, edits, notifications,
and what rendering the news needs). It works the same whichever process stored the row: a
scale-out's web processes need no message bus, and the worker that received an activity need
not know who is listening. The token is checked again every HEARTBEAT_SECONDS.
Deletions are not streamed (a deleted post's id is gone with its row); clients drop them on
their next refresh."""
from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from actors.instance import Instance
from actors.models import LocalActor
from actors.oauth import Grant, authenticate
from content.ids import SEQ_BITS, TAG_BITS, snowflake
from content.models import Notification, Post
from web.api.common import Page, bearer, error
from web.api.entities import notifications, statuses
from web.api.timelines import hashtags, home_sources, merged_page, sid_of

POLL_SECONDS = 2.0
HEARTBEAT_SECONDS = 15.0
MAX_STREAMS = 200  # per process; each is one task polling the database
BATCH = 40
LOOKBACK = 5_000 << (TAG_BITS + SEQ_BITS)  # five seconds of status ids
NOTIFICATION_LOOKBACK = 50  # rows (notification ids are a plain sequence)
MAX_ANONYMOUS = MAX_STREAMS // 2  # public streams without a token leave room for the union's staff
USER_STREAMS = ("user", "user:notification")
PUBLIC_STREAMS = ("public", "public:local", "public:remote", "hashtag", "hashtag:local")

class StreamError(ValueError):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class Sub:
    stream: str
    tag: str = ""

    def name(self) -> list[str]:
        return [self.stream, self.tag] if self.tag else [self.stream]


def check_sub(grant: Grant | None, stream: str, tag: str = "") -> Sub:
    if stream in USER_STREAMS:
        if grant is None or grant.actor is None:
            raise StreamError(401, "This stream requires an authenticated user")
        needed = "read:notifications" if stream == "user:notification" else "read:statuses"
        if not grant.allows(needed):
            raise StreamError(403, "This action is outside the authorized scopes")
    elif stream in PUBLIC_STREAMS:
        if grant is not None and not grant.allows("read:statuses"):
            raise StreamError(403, "This action is outside the authorized scopes")
        if stream.startswith("hashtag") and not tag.strip().lstrip("#"):
            raise StreamError(400, "a hashtag stream needs a tag")
    else:
        raise StreamError(400, f"unknown stream {stream[:50]!r}")
    return Sub(stream, tag.strip().lstrip("#").lower() if stream.startswith("hashtag") else "")


@dataclass
class Cursor:
    """Where a stream is. Each subscription keeps its own status cursor, so a busy one cannot make
    another skip rows. Ids are drawn before their transaction commits, so a row may become visible
    after a newer one: each poll also looks LOOKBACK back and skips what it already sent."""
    floor: int
    notification: int
    edited_since: datetime
    subs: dict[Sub, int] = field(default_factory=dict)
    sent: dict[Sub, set[int]] = field(default_factory=dict)
    notified: set[int] = field(default_factory=set)

    def add(self, sub: Sub) -> None:
        self.subs.setdefault(sub, self.floor)
        self.sent.setdefault(sub, set())

    def lower(self, sub: Sub) -> int:
        return max(self.subs[sub] - LOOKBACK, self.floor)

    def mark(self, sub: Sub, sids: list[int]) -> None:
        if sids:
            self.subs[sub] = max(self.subs[sub], *sids)
        floor = self.lower(sub)
        self.sent[sub] = {n for n in self.sent[sub] | set(sids) if n > floor}


async def start(inst: Instance) -> Cursor:
    newest = await Notification.all().order_by("-id").limit(1).values_list("id", flat=True)
    now = inst.now()
    # Ids come from the wall clock (content.ids), whatever clock the instance was given.
    return Cursor(floor=snowflake(), notification=newest[0] if newest else 0, edited_since=now)


def _event(sub: Sub, kind: str, payload: dict) -> dict:
    return {"stream": sub.name(), "event": kind, "payload": json.dumps(payload)}


async def _user(inst: Instance, actor: LocalActor, sub: Sub, cursor: Cursor) -> list[dict]:
    posts, boosts = await home_sources(inst, actor)
    page = Page(max_id=None, since_id=None, min_id=cursor.lower(sub), limit=BATCH)
    sent = list(cursor.sent[sub])
    items = (await merged_page(posts.exclude(sid__in=sent), boosts.exclude(sid__in=sent), page))[::-1]
    events = [_event(sub, "update", e) for e in await statuses(inst, actor, items)]  # oldest first
    cursor.mark(sub, [sid_of(i) for i in items])
    # `updated` is the author's clock: an edit that reaches us late, dated before our last poll, is
    # not streamed (clients see it on their next refresh).
    edited = await (posts.filter(updated__gt=cursor.edited_since, sid__lte=cursor.subs[sub])
                    .order_by("updated").limit(BATCH))
    events += [_event(sub, "status.update", e) for e in await statuses(inst, actor, edited)]
    return events


async def _public(inst: Instance, actor: LocalActor | None, sub: Sub, cursor: Cursor) -> list[dict]:
    query = Post.filter(public=True, hidden=False, sid__gt=cursor.lower(sub)).exclude(sid__in=list(cursor.sent[sub]))
    if sub.stream in ("public:local", "hashtag:local"):
        query = query.filter(local=True)
    elif sub.stream == "public:remote":
        query = query.filter(local=False)
    rows = await query.order_by("sid").limit(BATCH)
    cursor.mark(sub, [p.sid for p in rows])
    posts = [p for p in rows if not sub.tag or sub.tag in hashtags(p)]
    return [_event(sub, "update", e) for e in await statuses(inst, actor, posts)]


async def _notifications(inst: Instance, actor: LocalActor, cursor: Cursor) -> list:
    rows = await (Notification.filter(id__gt=cursor.notification - NOTIFICATION_LOOKBACK)
                  .exclude(id__in=list(cursor.notified)).order_by("id").limit(BATCH))
    if rows:
        cursor.notification = max(cursor.notification, rows[-1].id)
    cursor.notified = {n for n in cursor.notified | {r.id for r in rows}
                       if n > cursor.notification - NOTIFICATION_LOOKBACK}
    return await notifications(inst, actor, rows)


async def poll(inst: Instance, grant: Grant | None, cursor: Cursor) -> list[dict]:
    """What happened since `cursor` for its subscriptions, oldest first; advances the cursor."""
    actor = grant.actor if grant else None
    now = inst.now()
    events: list[dict] = []
    for sub in list(cursor.subs):
        if sub.stream == "user" and actor is not None:
            events += await _user(inst, actor, sub, cursor)
        elif sub.stream in PUBLIC_STREAMS:
            events += await _public(inst, actor, sub, cursor)
    wants_notifications = [s for s in cursor.subs if s.stream in USER_STREAMS]
    if wants_notifications and actor is not None:
        for entity in await _notifications(inst, actor, cursor):
            events += [_event(s, "notification", entity) for s in wants_notifications]
    cursor.edited_since = now
    return events


@dataclass
class Slots:
    """Open streams in this process; anonymous ones may take only part of them."""
    open: int = 0
    anonymous: int = 0

    def room(self, grant: Grant | None) -> bool:
        return self.open < MAX_STREAMS and (grant is not None or self.anonymous < MAX_ANONYMOUS)

    def take(self, grant: Grant | None) -> bool:
        if not self.room(grant):
            return False
        self.open += 1
        self.anonymous += grant is None
        return True

    def give_back(self, grant: Grant | None) -> None:
        self.open -= 1
        self.anonymous -= grant is None


SLOTS = Slots()


async def _still_valid(inst: Instance, raw: str | None, grant: Grant | None) -> bool:
    """A token revoked (or whose app was deleted) while its stream is open ends the stream."""
    return grant is None or await authenticate(raw or "", inst.now()) is not None


def _interval(app) -> float:
    return getattr(app.state, "stream_poll_seconds", POLL_SECONDS)


# --- server-sent events -----------------------------------------------------------------

async def sse(request: Request) -> Response:
    inst: Instance = request.app.state.inst
    raw = bearer(request)
    grant = await authenticate(raw, inst.now()) if raw else None
    if raw and grant is None:
        return error(401, "The access token is invalid")
    path = request.path_params["stream"].replace("/", ":")
    try:
        sub = check_sub(grant, path, request.query_params.get("tag", ""))
    except StreamError as exc:
        return error(exc.status, exc.message)
    if not SLOTS.room(grant):
        return error(503, "too many open streams; try again later")
    interval = _interval(request.app)

    async def body() -> AsyncIterator[bytes]:
        # The slot is taken here, not before the response: a generator never started (the client
        # left first) would never give it back.
        if not SLOTS.take(grant):
            yield b"event: error\ndata: {\"error\": \"too many open streams\"}\n\n"
            return
        try:
            cursor = await start(inst)
            cursor.add(sub)
            yield b":)\n\n"
            quiet = 0.0
            while not await request.is_disconnected():
                for ev in await poll(inst, grant, cursor):
                    yield f"event: {ev['event']}\ndata: {ev['payload']}\n\n".encode()
                await asyncio.sleep(interval)
                quiet += interval
                if quiet >= HEARTBEAT_SECONDS:
                    quiet = 0.0
                    if not await _still_valid(inst, raw, grant):
                        return
                    yield b":thump\n\n"
        finally:
            SLOTS.give_back(grant)

    return StreamingResponse(body(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})


# --- WebSocket --------------------------------------------------------------------------

async def websocket(ws: WebSocket) -> None:
    inst: Instance = ws.app.state.inst
    # Browsers cannot set headers on a WebSocket: the token comes as a query parameter or as the
    # subprotocol, as Mastodon accepts it.
    protocol = ws.headers.get("sec-websocket-protocol", "").split(",")[0].strip()
    raw = ws.query_params.get("access_token") or protocol or None
    grant = await authenticate(raw, inst.now()) if raw else None
    if raw and grant is None:
        await ws.close(code=4001, reason="The access token is invalid")
        return
    first = ws.query_params.get("stream")
    try:
        sub = check_sub(grant, first, ws.query_params.get("tag", "")) if first else None
    except StreamError as exc:
        await ws.close(code=4000 + exc.status, reason=exc.message)
        return
    if not SLOTS.take(grant):
        await ws.close(code=1013, reason="too many open streams")
        return
    try:
        cursor = await start(inst)
        if sub is not None:
            cursor.add(sub)
        await ws.accept(subprotocol=protocol or None)
        await _serve(ws, inst, raw, grant, cursor)
    except WebSocketDisconnect:
        pass
    finally:
        SLOTS.give_back(grant)


async def _serve(ws: WebSocket, inst: Instance, raw: str | None, grant: Grant | None, cursor: Cursor) -> None:
    interval = _interval(ws.app)
    reader = asyncio.create_task(_read(ws, grant, cursor))
    quiet = 0.0
    try:
        while not reader.done():
            for ev in await poll(inst, grant, cursor):
                await ws.send_text(json.dumps(ev))
            await asyncio.wait({reader}, timeout=interval)
            quiet += interval
            if quiet >= HEARTBEAT_SECONDS:
                quiet = 0.0
                if not await _still_valid(inst, raw, grant):
                    await ws.close(code=4001, reason="The access token was revoked")
                    return
    finally:
        reader.cancel()


async def _read(ws: WebSocket, grant: Grant | None, cursor: Cursor) -> None:
    """{"type": "subscribe" | "unsubscribe", "stream": …, "tag": …} messages from the client."""
    while True:
        message = await ws.receive()
        if message["type"] == "websocket.disconnect":
            return
        try:
            request = json.loads(message.get("text") or message.get("bytes") or b"")
        except ValueError:
            request = None
        if not isinstance(request, dict):
            await ws.send_text(json.dumps({"error": "messages are JSON objects", "status": 400}))
            continue
        try:
            sub = check_sub(grant, str(request.get("stream", "")), str(request.get("tag") or ""))
        except StreamError as exc:
            await ws.send_text(json.dumps({"error": exc.message, "status": exc.status}))
            continue
        if request.get("type") == "subscribe":
            cursor.add(sub)
        elif request.get("type") == "unsubscribe":
            cursor.subs.pop(sub, None)
            cursor.sent.pop(sub, None)


async def health(request: Request) -> Response:
    return PlainTextResponse("OK")


routes = [
    Route("/api/v1/streaming/health", health, methods=["GET", "HEAD"]),
    WebSocketRoute("/api/v1/streaming", websocket),
    WebSocketRoute("/api/v1/streaming/", websocket),
    Route("/api/v1/streaming/{stream:path}", sse, methods=["GET"]),
]
