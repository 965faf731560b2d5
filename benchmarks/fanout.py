"""(a) Fan-out: one statement from the union to many followers behind fewer shared inboxes.

Setup (not timed): `peers` fake servers on 127.0.0.2 … each host `inboxes / peers` fake
"Mastodon servers" (distinct shared inboxes /s/{server}/inbox) with 3–4 accounts each. Every
account follows the union over the protocol: a signed Follow POST, the union fetches the
actor, the union's Accept is delivered back. Then, per round, `unionhall post` publishes a
statement and we time, on the receivers' clock (same machine), from the Create's envelope
`created_at` in the database to the last 2xx answered by a receiver.
"""
from __future__ import annotations

import asyncio
import json
import statistics
import time
from pathlib import Path
from typing import Any

from benchmarks.common import (
    CpuMeter, DbProbe, SignedPost, TimedPeer, epoch, log_offset, post_all, proc_cpu_seconds, sign_post, sql_since,
    start_instance, start_peers, start_union, status_counts, stop_instance, stop_peers, stop_union, wait_for,
)
from tests.e2e.harness import Instance
from tests.support.fakepeer import FakeActor

FIRST_PEER_IP = 2  # 127.0.0.2 …


def _accounts(peers: list[TimedPeer], followers: int, inboxes: int) -> list[FakeActor]:
    """`followers` accounts over `inboxes` servers (server s lives on peer s % len(peers))."""
    if inboxes > followers:
        raise ValueError("need at least one follower per inbox")
    return [peers[(k % inboxes) % len(peers)].add_actor(f"m{k}", server=f"srv{k % inboxes}") for k in range(followers)]


async def _follow_everyone(union: Instance, probe: DbProbe, accounts: list[FakeActor], *, timeout: float) -> dict:
    t0 = time.time()
    posts: list[SignedPost] = []
    for i, actor in enumerate(accounts):
        follow = {"@context": "https://www.w3.org/ns/activitystreams", "id": f"{actor.uri}#follows/{i}",
                  "type": "Follow", "actor": actor.uri, "object": union.actor_uri}
        posts.append(sign_post(actor, f"{union.actor_uri}/inbox", json.dumps(follow).encode()))
    sent = await post_all(posts, concurrency=16, timeout=timeout)
    statuses = status_counts(sent)
    if statuses.get("202") != len(accounts):
        raise RuntimeError(f"Follow POSTs were not all accepted: {statuses}")
    n = len(accounts)

    async def settled() -> bool:
        accepted = await probe.scalar("SELECT count(*) FROM actors_follower WHERE state = 'accepted'")
        undelivered = await probe.scalar("SELECT count(*) FROM federation_delivery WHERE state <> 'delivered'")
        return accepted == n and undelivered == 0

    await wait_for(settled, timeout=timeout, interval=0.25, what=f"{n} accepted followers and their Accepts delivered")
    return {"follow_posts": statuses, "setup_s": round(time.time() - t0, 2)}


async def _one_round(union: Instance, probe: DbProbe, peers: list[TimedPeer], n_inboxes: int, rnd: int,
                     timeout: float, count_sql: bool) -> dict[str, Any]:
    for peer in peers:
        peer.reset()
    meter = CpuMeter(union.proc.pid)  # type: ignore[union-attr]
    offset = log_offset(union)
    t_cli0 = time.time()
    sid = union.cli("post", f"Round {rnd}: solidarity with the dock workers' strike.", "--lang", "en").stdout.strip()
    t_cli1 = time.time()
    activity_id = f"{sid}/activity"

    cpu_samples: list[tuple[float, float]] = []

    async def all_answered() -> bool:
        cpu_samples.append((time.time(), proc_cpu_seconds(union.proc.pid)))  # type: ignore[union-attr]
        return sum(1 for p in peers for (_, _, st) in p.answered if 200 <= st < 300) >= n_inboxes

    await wait_for(all_answered, timeout=timeout, what=f"{n_inboxes} deliveries answered 2xx")
    cpu = meter.read()

    async def outcomes_written() -> bool:
        return await probe.scalar(
            "SELECT count(*) FROM federation_delivery d JOIN federation_envelope e ON e.id = d.envelope_id "
            "WHERE e.activity_id = $1 AND d.state = 'delivered'", activity_id) == n_inboxes

    await wait_for(outcomes_written, timeout=30, what="delivery outcomes written")
    await asyncio.sleep(0.5)  # late duplicates, if any, would show up here
    created = epoch(await probe.scalar("SELECT created_at FROM federation_envelope WHERE activity_id = $1",
                                       activity_id))
    rows = await probe.rows(
        "SELECT d.state, count(*), max(d.finished_at), max(d.attempts) FROM federation_delivery d "
        "JOIN federation_envelope e ON e.id = d.envelope_id WHERE e.activity_id = $1 GROUP BY d.state", activity_id)
    states = {r[0]: r[1] for r in rows}
    last_outcome = max(epoch(r[2]) for r in rows if r[2] is not None)

    inboxes: dict[tuple[str, str], int] = {}
    unverified = other = 0
    for peer in peers:
        for rec in peer.received:
            if rec.json().get("id") != activity_id:
                other += 1
                continue
            inboxes[(peer.host, rec.path)] = inboxes.get((peer.host, rec.path), 0) + 1
            unverified += 0 if rec.verified else 1
    times = sorted(t for p in peers for (t, _, st) in p.answered if 200 <= st < 300)
    first, last = times[0], times[-1]
    # Share of one core the instance used while it was sending (samples every 50 ms).
    window = [x for x in cpu_samples if first - 0.05 <= x[0] <= last + 0.05]
    core_use = ((window[-1][1] - window[0][1]) / (window[-1][0] - window[0][0])
                if len(window) >= 2 and window[-1][0] > window[0][0] else None)
    n = len(times)
    result: dict[str, Any] = {
        "round": rnd,
        "cli_post_s": round(t_cli1 - t_cli0, 3),
        "created_to_first_2xx_s": round(first - created, 3),
        "created_to_last_2xx_s": round(last - created, 3),
        "cli_done_to_last_2xx_s": round(last - t_cli1, 3),
        "first_to_last_2xx_s": round(last - first, 3),
        "created_to_last_outcome_written_s": round(last_outcome - created, 3),
        "deliveries": n,
        "deliveries_per_s_end_to_end": round(n / (last - created), 1),
        "deliveries_per_s_while_sending": round((n - 1) / (last - first), 1) if last > first else None,
        "distinct_inboxes_received": len(inboxes),
        "inboxes_received_more_than_once": sum(1 for c in inboxes.values() if c > 1),
        "unverified_by_receivers": unverified,
        "other_posts_received": other,
        "delivery_states": states,
        "max_attempts": max(r[3] for r in rows),
        **cpu,
        "server_cpu_ms_per_delivery": round(cpu["server_cpu_s"] * 1000 / n, 2),
        "server_core_use_while_sending": round(core_use, 2) if core_use is not None else None,
    }
    if count_sql:
        result["sql"] = sql_since(union, offset, per=n)
    return result


def _summary(rounds: list[dict]) -> dict[str, Any]:
    keys = ("created_to_last_2xx_s", "created_to_first_2xx_s", "first_to_last_2xx_s", "cli_done_to_last_2xx_s",
            "deliveries_per_s_end_to_end", "deliveries_per_s_while_sending", "server_cpu_ms_per_delivery")
    return {f"median_{k}": statistics.median(r[k] for r in rounds if r[k] is not None) for k in keys}


async def run_fanout(tmp: Path, db: str, *, followers: int, inboxes: int, peers: int = 10, rounds: int = 3,
                     timeout: float = 600, profile_to: Path | None = None, count_sql: bool = False) -> dict[str, Any]:
    """Run benchmark (a); returns a JSON-able result.

    With `profile_to`, the setup is profiled into `<name>-setup.prof`, then the instance is
    restarted so that `profile_to` holds the timed rounds only.
    """
    fake = start_peers(FIRST_PEER_IP, peers)
    union: Instance | None = None
    try:
        accounts = _accounts(fake, followers, inboxes)
        setup_profile = profile_to.with_name(f"{profile_to.stem}-setup.prof") if profile_to else None
        union = await start_union(tmp, db, profile_to=setup_profile, count_sql=count_sql)
        async with DbProbe(union.db_url) as probe:
            setup = await _follow_everyone(union, probe, accounts, timeout=timeout)
            if profile_to is not None:
                stop_instance(union)
                start_instance(union, profile_to)
            expected = len({a.shared_inbox for a in accounts})
            results = []
            for rnd in range(1, rounds + 1):
                results.append(await _one_round(union, probe, fake, expected, rnd, timeout, count_sql))
        ok = all(r["distinct_inboxes_received"] == expected and r["inboxes_received_more_than_once"] == 0
                 and r["unverified_by_receivers"] == 0 and r["other_posts_received"] == 0 for r in results)
        return {
            "config": {"followers": followers, "inboxes": expected, "receiver_hosts": peers,
                       "diagnostics": {"profiled": profile_to is not None, "count_sql": count_sql},
                       "receiver_ips": f"127.0.0.{FIRST_PEER_IP}-127.0.0.{FIRST_PEER_IP + peers - 1}",
                       "rounds": rounds, "receivers_verify_signatures": True,
                       "delivery_concurrency": 32, "client_max_per_host": 20},
            "setup": setup, "rounds": results, "summary": _summary(results), "all_inboxes_exactly_once_verified": ok,
        }
    except BaseException:
        if union is not None and union.log_path.exists():
            print(f"--- instance log tail ({union.log_path}):\n{union.log_path.read_text()[-3000:]}")
        raise
    finally:
        if union is not None:
            await stop_union(union)
        stop_peers(fake)
