"""What each CLI command does, on an opened database."""
from __future__ import annotations

import asyncio
import signal
from collections.abc import Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import datetime

import uvicorn

from actors import blocks, local
from actors.instance import Instance
from actors.models import Follower, Following, FollowState, LocalActor, RemoteActor
from actors.remote import ActorFetchError, resolve_handle
from content.sanitize import plain_text, sanitize_html
from federation.delivery import cancel_host, deliveries_for, delivery_summary, retry_host_now
from federation.hosts import InvalidHost
from federation.webfinger import WebFingerError, split_handle
from outbox import follows as outbox_follows
from outbox import interactions, profile, statements
from outbox.lookup import LookupError_
from outbox.models import Activity
from unionhall import config_file
from unionhall.db import close_db, is_postgres, open_db
from unionhall.runtime import Workers, build_app, build_instance
from unionhall.settings import Settings


class CommandError(Exception):
    pass


@asynccontextmanager
async def opened(settings: Settings):
    if not (settings.database_url or (settings.data_dir / "unionhall.sqlite3").exists()):
        raise CommandError(f"no instance in {settings.data_dir}/ yet: run `unionhall init` first")
    await open_db(settings.db_url)
    inst = build_instance(settings)
    try:
        yield inst
    finally:
        await inst.client.aclose()
        await close_db()


async def _union(inst: Instance) -> LocalActor:
    union = await local.get_union()
    if union is None:
        raise CommandError("this instance has no union actor: run `unionhall init`")
    return union


async def init(settings: Settings, *, handle: str, name: str, summary: str, admin: str, password: str,
               approve: bool, sector: str = "", country: str = "") -> int:
    try:  # checked before anything is created: a refused init leaves nothing behind
        sector, country = profile.check_sector(sector), profile.check_country(country)
    except profile.ProfileError as exc:
        raise CommandError(str(exc)) from exc
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    (settings.media_dir).mkdir(parents=True, exist_ok=True)
    await open_db(settings.db_url)
    inst = build_instance(settings)
    try:
        if await local.get_union() is not None:
            raise CommandError(f"already initialised in {settings.data_dir}/ (remove it to start over)")
        now = inst.now()
        try:
            union = await local.create_actor(username=handle, kind="union", name=plain_text(name, 255),
                                             summary=sanitize_html(summary), now=now)
        except local.ActorError as exc:
            raise CommandError(str(exc)) from exc
        union.manually_approves_followers, union.sector, union.country = approve, sector, country
        await union.save(update_fields=["manually_approves_followers", "sector", "country"])
        await local.create_actor(username=inst.urls.host, kind="instance", name="Union Hall instance actor", now=now)
        await local.create_login(username=admin, password=password, actor=union, now=now)
    finally:
        await inst.client.aclose()
        await close_db()
    config_file.save(settings)
    print(f"Union Hall instance ready in {settings.data_dir}/")
    print(f"  union:    @{handle}@{inst.urls.host}  ({inst.urls.actor(handle)})")
    print(f"  admin:    {admin}")
    print(f"  password: {password}")
    return 0


def serve(settings: Settings, host: str, port: int, *, with_workers: bool) -> int:
    if not (settings.database_url or (settings.data_dir / "unionhall.sqlite3").exists()):
        raise SystemExit(f"no instance in {settings.data_dir}/ yet: run `unionhall init` first")
    app = build_app(settings, with_workers=with_workers)
    print(f"Union Hall serving {settings.url} on http://{host}:{port}/", flush=True)
    proxies = settings.trusted_proxies.strip()
    uvicorn.run(app, host=host, port=port, log_level=settings.log_level, proxy_headers=bool(proxies),
                forwarded_allow_ips=proxies or None)
    return 0


async def worker(settings: Settings) -> int:
    async with opened(settings) as inst:
        if not is_postgres(settings.db_url):
            raise CommandError("a separate worker needs PostgreSQL; on SQLite `unionhall serve` runs the worker")
        workers = Workers(inst, settings)
        workers.start()
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        print("Union Hall worker running (delivery + inbox); Ctrl-C stops it.", flush=True)
        await stop.wait()
        await workers.stop()
    return 0


async def post(settings: Settings, texts: dict[str, str], summary: str | None, *, appeal: bool = False,
               until: datetime | None = None) -> int:
    async with opened(settings) as inst:
        try:
            row = await statements.publish(inst, await _union(inst), texts, summary=summary, appeal=appeal,
                                           appeal_until=until)
        except statements.OutboxError as exc:
            raise CommandError(str(exc)) from exc
        print(row.ap_id)
    return 0


async def edit(settings: Settings, ap_id: str, texts: dict[str, str], summary: str | None) -> int:
    async with opened(settings) as inst:
        try:
            await statements.edit(inst, await _union(inst), ap_id, texts, summary=summary)
        except statements.OutboxError as exc:
            raise CommandError(str(exc)) from exc
        print(f"edited {ap_id}")
    return 0


async def _remote_by_handle(inst: Instance, handle: str) -> RemoteActor:
    try:
        split_handle(handle)
        return await resolve_handle(inst, handle)
    except (ActorFetchError, WebFingerError) as exc:
        raise CommandError(f"cannot find {handle}: {exc.reason}") from exc


async def _known_remote(handle: str) -> RemoteActor:
    try:
        user, host = split_handle(handle)
    except WebFingerError as exc:
        raise CommandError(exc.reason) from exc
    actor = await RemoteActor.filter(username__iexact=user, domain=host).first()
    if actor is None:
        raise CommandError(f"{handle} is not known here")
    return actor


def _print_rows(rows: list[tuple], header: tuple) -> None:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        print("  ".join(str(v).ljust(w) for v, w in zip(row, widths)).rstrip())


async def _deliveries(inst: Instance, retry_host: str | None) -> str:
    if retry_host:
        count = await retry_host_now(retry_host.strip().lower(), now=inst.now())
        return f"{count} pending deliveries to {retry_host} will be retried now (by the running server or worker)"
    rows = await delivery_summary(now=inst.now())
    if not rows:
        return "no deliveries yet"
    _print_rows([(r["host"], r["pending"], r["delivered"], r["failed"], r["expired"],
                  r.get("circuit_open_until") or "", (r.get("last_error") or "")[:60]) for r in rows],
                ("HOST", "PENDING", "DELIVERED", "FAILED", "EXPIRED", "PAUSED UNTIL", "LAST ERROR"))
    return ""


async def post_deliveries(settings: Settings, ap_id: str) -> int:
    """Per statement: every activity about it (Create, Update, Delete) and where each stands."""
    async with opened(settings):
        activities = await Activity.filter(object_uri=ap_id).order_by("id")
        if not activities:
            raise CommandError(f"no statement {ap_id} was published here")
        rows = []
        for activity in activities:
            for d in await deliveries_for(activity.ap_id):
                rows.append((activity.type, d.host, d.state, d.attempts, d.next_attempt_at.strftime("%Y-%m-%d %H:%M")
                             if d.state == "pending" else "", (d.last_error or "")[:60]))
        if rows:
            _print_rows(rows, ("ACTIVITY", "HOST", "STATE", "TRIES", "NEXT TRY", "LAST ERROR"))
        else:
            print("no deliveries: nobody follows this union yet")
    return 0


async def _follow(inst: Instance, handle: str) -> str:
    remote = await _remote_by_handle(inst, handle)
    await outbox_follows.follow(inst, await _union(inst), remote)
    return f"follow request sent to {remote.handle}; it shows as following once they accept"


async def _unfollow(inst: Instance, handle: str) -> str:
    remote = await _known_remote(handle)
    if not await outbox_follows.unfollow(inst, await _union(inst), remote):
        raise CommandError(f"not following {handle}")
    return f"unfollowed {remote.handle}"


async def _relations(inst: Instance, which: str) -> str:
    union = await _union(inst)
    model = Follower if which == "followers" else Following
    rows = await model.filter(local=union).prefetch_related("remote").order_by("id")
    if not rows:
        return f"no {which} yet"
    _print_rows([(r.remote.handle, r.state, r.created_at.strftime("%Y-%m-%d")) for r in rows], ("ACCOUNT", "STATE", "SINCE"))
    return ""


async def _answer(inst: Instance, handle: str, accept: bool) -> str:
    remote = await _known_remote(handle)
    row = await Follower.filter(local=await _union(inst), remote=remote, state=FollowState.PENDING).prefetch_related(
        "local", "remote").first()
    if row is None:
        raise CommandError(f"no pending follow request from {handle}")
    await outbox_follows.answer_follow(inst, row, accept=accept)
    return f"{'accepted' if accept else 'refused'} {remote.handle}"


async def _interaction(inst: Instance, verb: str, url: str) -> str:
    union = await _union(inst)
    try:
        if verb == "boost":
            await interactions.boost(inst, union, url)
        elif verb == "like":
            await interactions.like(inst, union, url)
        elif not await interactions.undo(inst, union, "announce" if verb == "unboost" else "like", url):
            raise CommandError(f"nothing to {verb}")
    except (LookupError_, statements.OutboxError) as exc:
        raise CommandError(getattr(exc, "reason", str(exc))) from exc
    return f"{verb}: {url}"


async def _delete(inst: Instance, ap_id: str) -> str:
    try:
        await statements.delete(inst, await _union(inst), ap_id)
    except statements.OutboxError as exc:
        raise CommandError(str(exc)) from exc
    return f"deleted {ap_id}"


async def _block(inst: Instance, domain: str, reason: str = "") -> str:
    try:
        name = await blocks.block(domain, reason=reason, now=inst.now())
    except InvalidHost as exc:
        raise CommandError(f"not a domain: {domain!r} ({exc.reason})") from exc
    severed = await blocks.sever(name)
    cancelled = await cancel_host(name, reason=f"domain blocked: {reason or name}", now=inst.now())
    return f"blocked {name} ({severed} follow relationships removed, {cancelled} pending deliveries cancelled)"


async def _unblock(inst: Instance, domain: str) -> str:
    try:
        removed = await blocks.unblock(domain)
    except InvalidHost as exc:
        raise CommandError(f"not a domain: {domain!r} ({exc.reason})") from exc
    if not removed:
        raise CommandError(f"{domain} was not blocked")
    return f"unblocked {blocks.normalise_domain(domain)}"


async def _blocks(inst: Instance, _: object) -> str:
    rows = await blocks.list_blocks()
    if not rows:
        return "no domain blocks"
    _print_rows([(b.domain, b.created_at.strftime("%Y-%m-%d"), b.reason) for b in rows], ("DOMAIN", "SINCE", "REASON"))
    return ""


SIMPLE: dict[str, Callable[..., Awaitable[str]]] = {
    "deliveries": _deliveries, "follow": _follow, "unfollow": _unfollow,
    "followers": lambda inst, _: _relations(inst, "followers"),
    "following": lambda inst, _: _relations(inst, "following"),
    "approve": lambda inst, h: _answer(inst, h, True), "reject": lambda inst, h: _answer(inst, h, False),
    "boost": lambda inst, u: _interaction(inst, "boost", u), "unboost": lambda inst, u: _interaction(inst, "unboost", u),
    "like": lambda inst, u: _interaction(inst, "like", u), "unlike": lambda inst, u: _interaction(inst, "unlike", u),
    "delete": _delete, "block": _block, "unblock": _unblock, "blocks": _blocks,
}


async def simple(settings: Settings, command: str, target, *, reason: str = "") -> int:
    async with opened(settings) as inst:
        fn = SIMPLE[command]
        message = await (fn(inst, target, reason) if command == "block" else fn(inst, target))
        if message:
            print(message)
    return 0
