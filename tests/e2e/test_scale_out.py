"""Scale-out on PostgreSQL: a web process without workers, and two separate worker processes
sharing the queues (FOR UPDATE SKIP LOCKED for deliveries, compare-and-set for the inbox)."""
from __future__ import annotations

import signal

import pytest

from tests.dbutil import backend
from tests.e2e.harness import destroy, eventually, make_instance
from tests.support.fakepeer import FakePeer

pytestmark = [pytest.mark.timeout(180),
              pytest.mark.skipif(backend() != "postgres", reason="separate workers need PostgreSQL")]


async def test_web_and_two_workers_deliver_everything_exactly_once(tmp_path):
    peer = FakePeer().start()
    b = await make_instance(tmp_path, "b", "conlutas", "CSP-Conlutas")
    b.start("--no-worker")
    workers = [b.spawn("worker"), b.spawn("worker")]
    try:
        servers = 40
        for i in range(servers):
            actor = peer.add_actor(f"member{i}", server=f"s{i}")
            follow = {"@context": "https://www.w3.org/ns/activitystreams", "id": f"{actor.uri}#follow",
                      "type": "Follow", "actor": actor.uri, "object": b.actor_uri}
            assert (await peer.deliver(actor, f"{b.actor_uri}/inbox", follow)).status_code == 202
        # The web process only stores; the workers apply the Follows and deliver the Accepts.
        await eventually(lambda: _count(peer, "Accept", servers), timeout=60, what="every Follow accepted")

        sid = b.cli("post", "Solidarity with the call-centre strike", "--lang", "en").stdout.strip()
        await eventually(lambda: _count(peer, "Create", servers), timeout=60, what="every server gets the Create")
        query = ("SELECT d.state, d.attempts FROM federation_delivery d JOIN federation_envelope e "
                 "ON e.id = d.envelope_id WHERE e.activity_id = $1")

        async def all_recorded():
            # A worker records "delivered" just after the peer has answered: wait for the last ones.
            rows = await b.sql(query, f"{sid}/activity")
            return rows if all(row[0] != "pending" for row in rows) else None

        rows = await eventually(all_recorded, timeout=30, what="every delivery recorded")
        assert len(rows) == servers and all(row == ("delivered", 1) for row in rows), rows
        for kind in ("Accept", "Create"):  # each applied / delivered once, though two workers raced for them
            paths = [r.path for r in peer.received if r.json().get("type") == kind]
            assert len(paths) == len(set(paths)) == servers, kind
        assert all(r.verified for r in peer.received)
    finally:
        for proc in workers:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=15)
        peer.stop()
        await destroy(b)


async def _count(peer: FakePeer, kind: str, n: int) -> bool:
    return len({r.path for r in peer.received if r.json().get("type") == kind}) >= n
