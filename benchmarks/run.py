"""Run the Union Hall benchmarks and write their results as JSON to benchmarks/results/.

    .venv/bin/python -m benchmarks.run [--db sqlite|postgres] [--quick] [--only fanout,ingest,crypto,api]

(`make benchmark` runs it with the defaults: SQLite, full sizes.) What each benchmark measures
is in benchmarks/README.md. Everything runs on 127.0.0.0/8; each wait has a deadline.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from benchmarks.common import install_fake_key_cache
from benchmarks.client_api import run_client_api
from benchmarks.crypto_floor import run_crypto_floor
from benchmarks.fanout import run_fanout
from benchmarks.ingest import run_ingest

RESULTS = Path(__file__).resolve().parent / "results"
ROOT = RESULTS.parent.parent
OVERALL_TIMEOUT = 3600.0

FULL = {"followers": 1000, "inboxes": 300, "peers": 10, "rounds": 3, "actors": 100, "activities": 2000,
        "in_flight": 32, "api_statuses": 300, "api_in_flight": 8}
QUICK = {"followers": 100, "inboxes": 30, "peers": 10, "rounds": 2, "actors": 20, "activities": 200,
         "in_flight": 32, "api_statuses": 40, "api_in_flight": 8}
ALL = ("fanout", "ingest", "crypto", "api")


def _machine() -> dict[str, Any]:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpus": os.cpu_count(), "cpu_model": model, "python": platform.python_version(),
            "sqlite": sqlite3.sqlite_version, "platform": platform.platform(), **_checkout()}


def _checkout() -> dict[str, Any]:
    """The commit measured, and which tracked files outside benchmarks/ differ from it (read-only git)."""
    def git(*args: str) -> str:
        try:
            return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=10).stdout
        except (OSError, subprocess.SubprocessError):
            return ""
    changed = [line[3:] for line in git("status", "--porcelain", "--untracked-files=no").splitlines()
               if not line[3:].startswith("benchmarks/")]
    return {"commit": git("rev-parse", "--short", "HEAD").strip(), "uncommitted_changes": changed}


async def _pg_version() -> str:
    import asyncpg

    from tests.dbutil import PG_ADMIN_DSN
    conn = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        return str(await conn.fetchval("SHOW server_version"))
    finally:
        await conn.close()


def _profile_path(stamp: str | None, db: str, name: str) -> Path | None:
    if stamp is None:
        return None
    RESULTS.mkdir(exist_ok=True)
    return RESULTS / f"{stamp}-{db}-{name}.prof"


def _print_profile(path: Path | None, top: int = 25) -> None:
    if path is None or not path.exists():
        return
    import pstats
    print(f"    server profile written to {path.relative_to(ROOT)}; top {top} by own time:")
    pstats.Stats(str(path)).sort_stats("tottime").print_stats(top)


async def run(db: str, quick: bool, only: tuple[str, ...], profile_stamp: str | None = None,
              count_sql: bool = False) -> dict[str, Any]:
    """Run the selected benchmarks on `db`; returns everything measured.

    Diagnostics (slower; their timings are not comparable): `profile_stamp` runs each instance
    under cProfile and keeps the stats; `count_sql` counts the SQL statements it issues.
    """
    sizes = QUICK if quick else FULL
    out: dict[str, Any] = {"started_at": datetime.now(timezone.utc).isoformat(timespec="seconds"), "db": db,
                           "quick": quick, "machine": _machine(), "sizes": sizes}
    if db == "postgres":
        out["machine"]["postgres"] = await _pg_version()
    install_fake_key_cache()
    async with asyncio.timeout(OVERALL_TIMEOUT):
        if "crypto" in only:
            print("(c) crypto floor …", flush=True)
            out["crypto"] = run_crypto_floor(fanout_signs=sizes["inboxes"], ingest_activities=sizes["activities"])
            _print_crypto(out["crypto"])
        if "fanout" in only:
            print(f"(a) fan-out: {sizes['followers']} followers over {sizes['inboxes']} inboxes "
                  f"on {sizes['peers']} receiver hosts ({db}) …", flush=True)
            with tempfile.TemporaryDirectory(prefix="uh-bench-fanout-") as tmp:
                out["fanout"] = await run_fanout(Path(tmp), db, followers=sizes["followers"],
                                                 inboxes=sizes["inboxes"], peers=sizes["peers"],
                                                 rounds=sizes["rounds"],
                                                 profile_to=_profile_path(profile_stamp, db, "fanout"),
                                                 count_sql=count_sql)
            _print_fanout(out["fanout"])
            _print_profile(_profile_path(profile_stamp, db, "fanout"))
        if "ingest" in only:
            print(f"(b) inbox ingest: {sizes['activities']} Creates from {sizes['actors']} actors, "
                  f"{sizes['in_flight']} in flight ({db}) …", flush=True)
            with tempfile.TemporaryDirectory(prefix="uh-bench-ingest-") as tmp:
                out["ingest"] = await run_ingest(Path(tmp), db, actors=sizes["actors"],
                                                 activities=sizes["activities"], concurrency=sizes["in_flight"],
                                                 profile_to=_profile_path(profile_stamp, db, "ingest"),
                                                 count_sql=count_sql)
            _print_ingest(out["ingest"])
            _print_profile(_profile_path(profile_stamp, db, "ingest"))
        if "api" in only:
            print(f"(d) client API: {2 * sizes['api_statuses']} statuses posted, home timeline paged ({db}) …",
                  flush=True)
            with tempfile.TemporaryDirectory(prefix="uh-bench-api-") as tmp:
                out["api"] = await run_client_api(Path(tmp), db, statuses=sizes["api_statuses"],
                                                  in_flight=sizes["api_in_flight"])
            _print_api(out["api"])
    out["finished_at"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
    return out


def _print_api(a: dict[str, Any]) -> None:
    one, many = a["post_one_at_a_time"], a["post_in_flight"]
    print(f"    POST /api/v1/statuses one at a time: {one['per_s']}/s (median {one['median_ms']} ms, "
          f"p95 {one['p95_ms']} ms); {many['in_flight']} in flight: {many['per_s']}/s "
          f"(median {many['median_ms']} ms, p95 {many['p95_ms']} ms)")
    print(f"    reblog: median {a['reblog']['median_ms']} ms, p95 {a['reblog']['p95_ms']} ms")
    home = a["home_pages"]
    print(f"    home timeline, {home['count']} pages of {home['limit']} ({home['statuses_seen']} statuses, each once): "
          f"median {home['median_ms']} ms, p95 {home['p95_ms']} ms per page")
    print(f"    verify_credentials: median {a['verify_credentials']['median_ms']} ms, "
          f"p95 {a['verify_credentials']['p95_ms']} ms; server CPU {a['server_cpu']}")


def _print_crypto(c: dict[str, Any]) -> None:
    print(f"    parse the private key once: {c['private_key_parse_once_ms']} ms")
    for name in ("fanout_signs", "ingest_sender_signs", "ingest_verify_as_server_does", "ingest_verify_bare_rsa",
                 "public_pem_parse"):
        r = c[name]
        print(f"    {name:30} {r['count']:5} in {r['seconds']:7.3f} s  = {r['per_s']:8.1f}/s  ({r['us_each']} µs each)")


def _print_fanout(f: dict[str, Any]) -> None:
    print(f"    setup (follows + Accepts, untimed): {f['setup']['setup_s']} s")
    for r in f["rounds"]:
        print(f"    round {r['round']}: created->last 2xx {r['created_to_last_2xx_s']:.3f} s "
              f"(first 2xx after {r['created_to_first_2xx_s']:.3f} s, sending {r['first_to_last_2xx_s']:.3f} s); "
              f"CLI {r['cli_post_s']:.2f} s, CLI done->last 2xx {r['cli_done_to_last_2xx_s']:.3f} s; "
              f"{r['deliveries_per_s_end_to_end']}/s end to end, {r['deliveries_per_s_while_sending']}/s "
              f"while sending; inboxes {r['distinct_inboxes_received']} (dupes {r['inboxes_received_more_than_once']}, "
              f"unverified {r['unverified_by_receivers']}); server CPU {r['server_cpu_ms_per_delivery']} ms/delivery, "
              f"core use while sending {r['server_core_use_while_sending']}, "
              f"machine {r['machine_cores_busy']} of {os.cpu_count()} cores busy"
              + (f"; {r['sql']['per_item']} SQL statements/delivery" if "sql" in r else ""))
    print(f"    all inboxes exactly once, verified: {f['all_inboxes_exactly_once_verified']}")


def _print_ingest(g: dict[str, Any]) -> None:
    for label, p in (("cold (1/actor)", g["cold_one_per_actor"]), ("main", g["main"])):
        print(f"    {label}: {p['activities']} sent {p['statuses']}; HTTP {p['http_accepted_per_s']}/s "
              f"({p['http_s']} s, median {p['latency_ms_median']} ms, p95 {p['latency_ms_p95']} ms); "
              f"stored {p['stored']} at {p['stored_per_s_end_to_end']}/s end to end ({p['end_to_end_s']} s); "
              f"{p['stored_when_http_finished']} stored when HTTP finished, backlog drained at "
              f"{p['backlog_drain_per_s']}/s; actor fetches {p['actor_document_fetches']}; "
              f"server CPU {p['server_cpu_ms_per_activity']} ms/activity (core use {p['server_core_use_during_http']} "
              f"during HTTP, {p['server_core_use_during_drain']} after), driver CPU {p['driver_cpu_s']} s, "
              f"machine {p['machine_cores_busy']} of {os.cpu_count()} cores busy"
              + (f"; {p['sql']['per_item']} SQL statements/activity" if "sql" in p else ""))
    print(f"    inbox_item states: {g['inbox_item_states']}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    parser.add_argument("--only", default=",".join(ALL), help="comma-separated subset of: " + ", ".join(ALL))
    parser.add_argument("--no-save", action="store_true", help="print only; write no JSON file")
    parser.add_argument("--profile", action="store_true",
                        help="diagnostic: run the instance under cProfile (slower; figures not comparable) "
                             "and write its stats to benchmarks/results/*.prof")
    parser.add_argument("--count-sql", action="store_true",
                        help="diagnostic: run the instance at log level debug and count its SQL statements "
                             "per delivery / per activity (slower; figures not comparable)")
    args = parser.parse_args(argv)
    only = tuple(x.strip() for x in args.only.split(",") if x.strip())
    if unknown := set(only) - set(ALL):
        parser.error(f"unknown benchmark(s): {', '.join(sorted(unknown))}")
    t0 = time.monotonic()
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    results = asyncio.run(run(args.db, args.quick, only, stamp if args.profile else None, args.count_sql))
    results["wall_s"] = round(time.monotonic() - t0, 1)
    results["diagnostic"] = args.profile or args.count_sql
    if not args.no_save:
        RESULTS.mkdir(exist_ok=True)
        suffix = (("-quick" if args.quick else "") + ("-profiled" if args.profile else "")
                  + ("-sqlcount" if args.count_sql else ""))
        path = RESULTS / f"{stamp}-{args.db}{suffix}.json"
        path.write_text(json.dumps(results, indent=2))
        print(f"results written to {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
