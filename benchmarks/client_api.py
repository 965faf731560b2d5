"""(d) Mastodon client API: what a union's staff feel in Tusky or Elk on their own instance.

One union instance (a separate process, started with the CLI) and an access token from
`unionhall app create`. Measured over HTTP on 127.0.0.1:

- publishing: `statuses` POST /api/v1/statuses one at a time (latency median and p95), then
  the same number with `in_flight` requests in flight (statuses per second);
- boosting every fourth of them (POST /api/v1/statuses/:id/reblog), so the home timeline mixes
  posts and boost wrappers as it does in use;
- paging: the whole home timeline at limit=40 by following the Link headers, as clients do
  (latency per page; every status must be seen exactly once);
- the startup call every client makes, GET /api/v1/accounts/verify_credentials (50 times).
"""
from __future__ import annotations

import asyncio
import statistics
import time
from pathlib import Path
from typing import Any

import httpx

from benchmarks.common import CpuMeter, start_union, stop_union


def _ms(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {"median_ms": round(statistics.median(ordered) * 1000, 2),
            "p95_ms": round(ordered[max(0, int(len(ordered) * 0.95) - 1)] * 1000, 2), "count": len(ordered)}


async def _timed(call) -> tuple[float, httpx.Response]:
    t0 = time.perf_counter()
    response = await call()
    return time.perf_counter() - t0, response


async def run_client_api(tmp: Path, db: str, *, statuses: int, in_flight: int) -> dict[str, Any]:
    union = await start_union(tmp, db)
    try:
        out = union.cli("app", "create", "benchmark", "--scopes", "read write follow").stdout
        token = next(line.split(": ", 1)[1] for line in out.splitlines() if line.startswith("access_token: "))
        headers = {"Authorization": f"Bearer {token}"}
        meter = CpuMeter(union.proc.pid)  # type: ignore[union-attr]
        async with httpx.AsyncClient(base_url=union.url, headers=headers, timeout=60) as client:
            async def post(i: int) -> tuple[float, httpx.Response]:
                return await _timed(lambda: client.post("/api/v1/statuses", json={
                    "status": f"Solidarity statement {i}: #RailStrike, we stand with the strikers.",
                    "language": "en"}))

            one_by_one = [await post(i) for i in range(statuses)]
            t0 = time.perf_counter()
            gate = asyncio.Semaphore(in_flight)

            async def gated(i: int) -> tuple[float, httpx.Response]:
                async with gate:
                    return await post(i)
            parallel = await asyncio.gather(*(gated(statuses + i) for i in range(statuses)))
            parallel_s = time.perf_counter() - t0
            made = [r for _, r in one_by_one + list(parallel)]
            assert all(r.status_code == 200 for r in made), {r.status_code for r in made}
            ids = [r.json()["id"] for r in made]

            reblogs = [await _timed(lambda i=i: client.post(f"/api/v1/statuses/{i}/reblog")) for i in ids[::4]]
            assert all(r.status_code == 200 for _, r in reblogs)

            pages: list[float] = []
            seen: list[str] = []
            url: str | None = "/api/v1/timelines/home?limit=40"
            while url:
                elapsed, response = await _timed(lambda u=url: client.get(u))
                assert response.status_code == 200, response.text
                pages.append(elapsed)
                batch = response.json()
                seen += [s["id"] for s in batch]
                url = response.links.get("next", {}).get("url") if batch else None
            expected = len(ids) + len(reblogs)
            assert len(seen) == len(set(seen)) == expected, (len(seen), len(set(seen)), expected)

            verify = [(await _timed(lambda: client.get("/api/v1/accounts/verify_credentials")))[0] for _ in range(50)]
        cpu = meter.read()
        return {
            "post_one_at_a_time": {**_ms([t for t, _ in one_by_one]),
                                   "per_s": round(statuses / sum(t for t, _ in one_by_one), 1)},
            "post_in_flight": {"in_flight": in_flight, **_ms([t for t, _ in parallel]),
                               "per_s": round(statuses / parallel_s, 1)},
            "reblog": _ms([t for t, _ in reblogs]),
            "home_pages": {**_ms(pages), "statuses_seen": len(seen), "limit": 40},
            "verify_credentials": _ms(verify),
            "server_cpu": cpu,
        }
    finally:
        await stop_union(union)
