"""Nothing published is lost: not while a follower is down, not when the publisher is
killed (SIGKILL) in the middle of a fan-out."""
from __future__ import annotations

import asyncio

import pytest

from tests.e2e.harness import destroy, eventually, make_instance
from tests.support.fakepeer import FakePeer

pytestmark = pytest.mark.timeout(240)


async def _following_accepted(inst, remote_uri: str) -> bool:
    rows = await inst.sql("SELECT f.state FROM actors_following f JOIN actors_remote r ON r.id = f.remote_id "
                          "WHERE r.uri = $1", remote_uri)
    return bool(rows) and rows[0][0] == "accepted"


@pytest.fixture
async def a_follows_b(tmp_path):
    a = await make_instance(tmp_path, "a", "solidaires", "Union syndicale Solidaires")
    b = await make_instance(tmp_path, "b", "conlutas", "CSP-Conlutas")
    a.start()
    b.start()
    try:
        a.cli("follow", b.acct)
        await eventually(lambda: _following_accepted(a, b.actor_uri), what="A follows B")
        yield a, b
    finally:
        await destroy(a)
        await destroy(b)


async def _publish_while_down(a, b, text: str) -> str:
    a.stop()
    sid = b.cli("post", text, "--lang", "en").stdout.strip()
    # B tries, fails (connection refused) and schedules a retry; the failure is visible to the admin.
    await eventually(lambda: _delivery_attempted(b, a.host), what="B's first failed attempt")
    return sid


async def test_follower_down_while_publishing_receives_after_restart(a_follows_b):
    a, b = a_follows_b
    sid = await _publish_while_down(a, b, "Solidarity with the striking miners of El Cerrejón!")
    report = b.cli("deliveries").stdout
    assert a.host in report and "connection refused" in report
    per_post = b.cli("deliveries", "--post", sid).stdout.splitlines()
    assert per_post[0].split()[:3] == ["ACTIVITY", "HOST", "STATE"]
    assert any(line.split()[:3] == ["Create", a.host, "pending"] and "connection refused" in line
               for line in per_post[1:]), per_post

    a.start()
    # B's own retry schedule (about 30 s for the first retry) brings it over; nobody pokes it.
    await eventually(lambda: a.post_count(ap_id=sid), timeout=90, what="A receives the statement after restart")
    rows = await b.sql("SELECT d.state, d.attempts FROM federation_delivery d JOIN federation_envelope e "
                       "ON e.id = d.envelope_id WHERE e.activity_id = $1", f"{sid}/activity")
    assert rows == [("delivered", 2)]
    assert any(line.split()[:4] == ["Create", a.host, "delivered", "2"]
               for line in b.cli("deliveries", "--post", sid).stdout.splitlines()), "per-post view after delivery"


async def _delivery_attempted(inst, host: str) -> bool:
    rows = await inst.sql("SELECT attempts FROM federation_delivery WHERE host = $1 AND state = 'pending' "
                          "AND last_error <> ''", host)
    return bool(rows) and rows[0][0] >= 1


async def test_sigkill_mid_fanout_finishes_after_restart_without_duplicate_effects(tmp_path):
    peer = FakePeer().start()
    peer.inbox_delay = 0.6  # slow receivers, so the fan-out is still running when we kill the sender
    a = await make_instance(tmp_path, "a", "solidaires", "Union syndicale Solidaires")
    b = await make_instance(tmp_path, "b", "conlutas", "CSP-Conlutas", UNIONHALL_DELIVERY_LEASE="10")
    a.start()
    b.start()
    try:
        a.cli("follow", b.acct)
        await eventually(lambda: _following_accepted(a, b.actor_uri), what="A follows B")
        servers = 80
        followers = [peer.add_actor(f"member{i}", server=f"s{i}") for i in range(servers)]
        for actor in followers:
            follow = {"@context": "https://www.w3.org/ns/activitystreams", "id": f"{actor.uri}#follow",
                      "type": "Follow", "actor": actor.uri, "object": b.actor_uri}
            assert (await peer.deliver(actor, f"{b.actor_uri}/inbox", follow)).status_code == 202
        await eventually(lambda: _count(b, "SELECT count(*) FROM actors_follower WHERE state = 'accepted'", servers + 1),
                         timeout=60, what="all followers accepted")
        peer.received.clear()

        sid = b.cli("post", "Declaration of solidarity with the jade miners of Hpakant", "--lang", "en").stdout.strip()
        await eventually(lambda: _some_creates(peer, 5), what="the fan-out under way")
        b.kill()
        delivered_before = len({r.path for r in peer.received if _is_create(r)})
        assert delivered_before < servers + 1, "the fan-out finished before the kill; slow the receivers down"

        b.start()
        await eventually(lambda: _all_creates(peer, servers), timeout=90, what="every server receives the statement")
        await eventually(lambda: a.post_count(ap_id=sid), what="A receives it")
        # Deliveries that were in flight at the kill are sent again and recorded.
        await eventually(lambda: _states(b, sid, {"delivered": servers + 1}), timeout=60, what="B records every delivery")
        # At-least-once on the wire, exactly once in effect: A stored it once.
        assert await a.post_count(ap_id=sid) == 1
        assert (await a.sql("SELECT count(*) FROM inbox_item WHERE activity_id = $1", f"{sid}/activity"))[0][0] == 1
        assert all(r.verified for r in peer.received), [r.error for r in peer.received if not r.verified][:3]
    finally:
        peer.stop()
        await destroy(a)
        await destroy(b)


async def _states(inst, sid: str, expected: dict) -> bool:
    rows = await inst.sql("SELECT state, count(*) FROM federation_delivery d JOIN federation_envelope e "
                          "ON e.id = d.envelope_id WHERE e.activity_id = $1 GROUP BY state", f"{sid}/activity")
    return dict(rows) == expected


def _is_create(rec) -> bool:
    return b'"Create"' in rec.body


async def _count(inst, query: str, expected: int) -> bool:
    return (await inst.sql(query))[0][0] >= expected


async def _some_creates(peer: FakePeer, n: int) -> bool:
    await asyncio.sleep(0)
    return sum(1 for r in peer.received if _is_create(r)) >= n


async def _all_creates(peer: FakePeer, servers: int) -> bool:
    paths = {r.path for r in peer.received if _is_create(r)}
    return len(paths) >= servers


async def test_a_peer_that_talks_to_us_again_gets_its_backlog_at_once(a_follows_b):
    a, b = a_follows_b
    sid = await _publish_while_down(a, b, "Appeal: send your declarations of solidarity")
    a.start()
    # A signs a request to B (it re-sends its Follow): B sees A is back and retries at once,
    # well before the ~30 s backoff would have run out.
    a.cli("follow", b.acct)
    await eventually(lambda: a.post_count(ap_id=sid), timeout=12, what="A gets the backlog at once")
    rows = await b.sql("SELECT d.state, d.attempts FROM federation_delivery d JOIN federation_envelope e "
                       "ON e.id = d.envelope_id WHERE e.activity_id = $1", f"{sid}/activity")
    assert rows == [("delivered", 2)]
