"""(b) Inbox ingest: many remote actors POST signed Create(Note)s at the union's shared inbox.

One fake peer (127.0.0.20) hosts `actors` accounts. Each Note mentions the union (in `cc`
and as a `Mention` tag), which is what makes the relevance rule store it. All requests are
signed before any timing (Mastodon 4.5's header layout). A warm-up phase sends one Create
per actor, so the union fetches and caches every actor (timed separately, "cold"); the main
phase then sends `activities` Creates with `concurrency` in flight and measures:

- the HTTP accept rate: 202s per second, first POST to last answer;
- end to end: first POST until `SELECT count(*) FROM content_post WHERE local = false`
  reaches the total (polled every 50 ms over one kept-open connection).
"""
from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

from benchmarks.common import (
    PUBLIC, CpuMeter, DbProbe, SignedPost, TimedPeer, log_offset, post_all, proc_cpu_seconds, sign_post, sql_since,
    start_peers, start_union, status_counts, stop_peers, stop_union, wait_for,
)
from tests.e2e.harness import Instance

PEER_IP = 20  # 127.0.0.20
REMOTE_POSTS = "SELECT count(*) FROM content_post WHERE local = false"


def _creates(peer: TimedPeer, union: Instance, count: int, *, tag: str) -> list[SignedPost]:
    actors = list(peer.actors.values())
    mention = {"type": "Mention", "href": union.actor_uri, "name": f"@{union.handle}@{union.host}"}
    out = []
    for i in range(count):
        actor = actors[i % len(actors)]
        note = peer.note(actor, f"@{union.handle} {tag} message {i}: we stand with you.",
                         to=[PUBLIC], cc=[union.actor_uri, f"{actor.uri}/followers"], tag=[mention])
        create = {"@context": "https://www.w3.org/ns/activitystreams", "id": f"{note['id']}/activity",
                  "type": "Create", "actor": actor.uri, "published": note["published"],
                  "to": note["to"], "cc": note["cc"], "object": note}
        out.append(sign_post(actor, f"{union.url}/inbox", json.dumps(create).encode()))
    return out


def _at(samples: list[tuple[float, int, float]], when: float) -> tuple[float, int, float]:
    """The last sample taken at or before `when` (the first one if none)."""
    before = [x for x in samples if x[0] <= when]
    return before[-1] if before else samples[0]


async def _phase(union: Instance, probe: DbProbe, posts: list[SignedPost], *, target: int, concurrency: int,
                 timeout: float, count_sql: bool) -> dict[str, Any]:
    """Send `posts`, wait until `target` remote posts are stored; sample progress and CPU meanwhile."""
    pid = union.proc.pid  # type: ignore[union-attr]
    meter = CpuMeter(pid)
    offset = log_offset(union)
    samples: list[tuple[float, int, float]] = [(time.time(), await probe.scalar(REMOTE_POSTS), proc_cpu_seconds(pid))]
    base = samples[0][1]
    t0 = samples[0][0]
    sending = asyncio.create_task(post_all(posts, concurrency=concurrency, timeout=timeout))

    async def stored_all() -> bool:
        samples.append((time.time(), await probe.scalar(REMOTE_POSTS), proc_cpu_seconds(pid)))
        if samples[-1][1] >= target:
            return True
        # Refused or ignored activities would never be stored: stop once nothing is left to do.
        if sending.done() and not await probe.scalar("SELECT count(*) FROM inbox_item WHERE state = 'pending'"):
            samples.append((time.time(), await probe.scalar(REMOTE_POSTS), proc_cpu_seconds(pid)))
            return True
        return False

    try:
        await wait_for(stored_all, timeout=timeout, interval=0.05, what=f"{target} remote posts stored")
    finally:
        sent = await sending
    cpu = meter.read()
    t_done, n_done, cpu_done = samples[-1]
    http_end = max(s.finished for s in sent)
    t_http, n_http, cpu_http = _at(samples, http_end)
    accepted = sum(1 for s in sent if s.status == 202)
    stored = n_done - base
    n = len(posts)
    latencies = sorted(s.finished - s.started for s in sent)
    result: dict[str, Any] = {
        "activities": n,
        "stored": stored,
        "statuses": status_counts(sent),
        "http_s": round(http_end - t0, 3),
        "http_accepted_per_s": round(accepted / (http_end - t0), 1),
        "end_to_end_s": round(t_done - t0, 3),
        "stored_per_s_end_to_end": round(stored / (t_done - t0), 1),
        "stored_when_http_finished": n_http - base,
        "backlog_drain_s": round(max(0.0, t_done - http_end), 3),
        "backlog_drain_per_s": round((n_done - n_http) / (t_done - http_end), 1) if t_done > http_end else None,
        "latency_ms_median": round(latencies[n // 2] * 1000, 1),
        "latency_ms_p95": round(latencies[min(n - 1, int(n * 0.95))] * 1000, 1),
        **cpu,
        "server_cpu_ms_per_activity": round(cpu["server_cpu_s"] * 1000 / n, 2),
        # Share of one core the instance used while the POSTs were under way, and after.
        "server_core_use_during_http": round((cpu_http - samples[0][2]) / (t_http - t0), 2) if t_http > t0 else None,
        "server_core_use_during_drain":
            round((cpu_done - cpu_http) / (t_done - t_http), 2) if t_done > t_http else None,
    }
    if count_sql:
        result["sql"] = sql_since(union, offset, per=n)
    return result


async def run_ingest(tmp: Path, db: str, *, actors: int, activities: int, concurrency: int = 32,
                     timeout: float = 600, profile_to: Path | None = None, count_sql: bool = False) -> dict[str, Any]:
    """Run benchmark (b); returns a JSON-able result."""
    (peer,) = start_peers(PEER_IP, 1)
    peer.verify_inbound = False  # nothing is POSTed to it here; it only serves actor documents
    union: Instance | None = None
    try:
        for i in range(actors):
            peer.add_actor(f"a{i}")
        union = await start_union(tmp, db, profile_to=profile_to, count_sql=count_sql)
        t_sign = time.perf_counter()
        warm = _creates(peer, union, actors, tag="warm-up")
        main = _creates(peer, union, activities, tag="main")
        sign_s = time.perf_counter() - t_sign
        async with DbProbe(union.db_url) as probe:
            fetches0 = len(peer.fetches)
            cold = await _phase(union, probe, warm, target=actors, concurrency=concurrency, timeout=timeout,
                                count_sql=count_sql)
            cold["actor_document_fetches"] = len(peer.fetches) - fetches0
            fetches0 = len(peer.fetches)
            hot = await _phase(union, probe, main, target=actors + activities, concurrency=concurrency,
                               timeout=timeout, count_sql=count_sql)
            hot["actor_document_fetches"] = len(peer.fetches) - fetches0
            states = dict(await probe.rows("SELECT state, count(*) FROM inbox_item GROUP BY state"))
        return {
            "config": {"actors": actors, "activities": activities, "in_flight": concurrency,
                       "inbox": "shared /inbox", "presigned": True, "presign_s": round(sign_s, 2),
                       "sender_ip": f"127.0.0.{PEER_IP}",
                       "diagnostics": {"profiled": profile_to is not None, "count_sql": count_sql}},
            "cold_one_per_actor": cold, "main": hot, "inbox_item_states": states,
        }
    except BaseException:
        if union is not None and union.log_path.exists():
            print(f"--- instance log tail ({union.log_path}):\n{union.log_path.read_text()[-3000:]}")
        raise
    finally:
        if union is not None:
            await stop_union(union)
        stop_peers([peer])
