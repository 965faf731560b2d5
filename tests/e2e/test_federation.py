"""Three instances, three processes, real HTTP: the federation acceptance of the core issue."""
from __future__ import annotations

import pytest

from tests.e2e.harness import ap_get, destroy, eventually, make_instance

pytestmark = pytest.mark.timeout(180)


@pytest.fixture
async def trio(tmp_path):
    a = await make_instance(tmp_path, "a", "solidaires", "Union syndicale Solidaires")
    b = await make_instance(tmp_path, "b", "conlutas", "CSP-Conlutas")
    c = await make_instance(tmp_path, "c", "cgt", "CGT")
    for inst in (a, b, c):
        inst.start()
    try:
        yield a, b, c
    finally:
        for inst in (a, b, c):
            await destroy(inst)


async def following_state(inst, remote_uri: str):
    rows = await inst.sql(
        "SELECT f.state FROM actors_following f JOIN actors_remote r ON r.id = f.remote_id WHERE r.uri = $1", remote_uri)
    return rows[0][0] if rows else None


async def follower_uris(inst) -> set[str]:
    rows = await inst.sql("SELECT r.uri FROM actors_follower f JOIN actors_remote r ON r.id = f.remote_id "
                          "WHERE f.state = 'accepted'")
    return {r[0] for r in rows}


async def test_follow_publish_boost_edit_delete_unfollow(trio):
    a, b, c = trio

    # A follows B and C; each accepts automatically and A sees "accepted" only after the Accept.
    assert "accept" in a.cli("follow", b.acct).stdout
    a.cli("follow", c.acct)
    await eventually(lambda: _eq(following_state(a, b.actor_uri), "accepted"), what="A following B")
    await eventually(lambda: _eq(following_state(a, c.actor_uri), "accepted"), what="A following C")
    assert a.actor_uri in await follower_uris(b)
    followers = ap_get(f"{b.actor_uri}/followers").json()
    assert followers["totalItems"] == 1

    # B publishes in two languages; A receives the whole contentMap.
    sid = b.cli("post", "Solidarity with the striking rail workers! #RailStrike", "--lang", "en",
                "--also", "fr", "Solidarité avec les cheminot·es en grève ! #RailStrike").stdout.strip()
    assert sid.startswith(f"{b.url}/statements/")
    await eventually(lambda: a.post_count(ap_id=sid), what="A has B's statement")
    (content_map, language), = await a.sql("SELECT content_map, language FROM content_post WHERE ap_id = $1", sid)
    content_map = _json(content_map)
    assert list(content_map) == ["en", "fr"] and language == "en"
    assert "cheminot·es" in content_map["fr"] and "RailStrike" in content_map["en"]

    # C cross-posts (boosts) it; A, which follows C, records C's boost.
    c.cli("boost", sid)
    boosts = "SELECT count(*) FROM content_interaction WHERE kind = 'announce' AND actor_uri = $1 AND object_uri = $2"
    await eventually(lambda: _first(a.sql(boosts, c.actor_uri, sid)), what="A sees C's boost")
    # B, the author, hears of it too.
    await eventually(lambda: _first(b.sql(boosts, c.actor_uri, sid)), what="B sees C's boost")

    # B edits: A shows the new text.
    b.cli("edit", sid, "Solidarity with the rail workers, strike extended! #RailStrike", "--lang", "en",
          "--also", "fr", "Solidarité avec les cheminot·es, grève reconduite ! #RailStrike")
    await eventually(lambda: _contains(a.sql("SELECT content FROM content_post WHERE ap_id = $1", sid), "extended"),
                     what="A has the edit")

    # B deletes: A drops it and keeps a tombstone so a replayed Create cannot bring it back.
    b.cli("delete", sid)
    await eventually(lambda: _zero(a.post_count(ap_id=sid)), what="A drops the deleted statement")
    assert await a.sql("SELECT ap_id FROM content_tombstone WHERE ap_id = $1", sid)
    assert ap_get(sid).status_code == 410

    # A unfollows B: B stops delivering to A.
    a.cli("unfollow", b.acct)
    await eventually(lambda: _not_in(follower_uris(b), a.actor_uri), what="B drops A as follower")
    later = b.cli("post", "A statement A should not receive", "--lang", "en").stdout.strip()
    rows = await b.sql("SELECT d.inbox FROM federation_delivery d JOIN federation_envelope e ON e.id = d.envelope_id "
                       "WHERE e.activity_id = $1", f"{later}/activity")
    assert all(a.host not in inbox for (inbox,) in rows)
    assert await a.post_count(ap_id=later) == 0


async def _eq(coro, value):
    return (await coro) == value


async def _first(coro):
    rows = await coro
    return rows[0][0] if rows else 0


async def _zero(coro):
    return (await coro) == 0


async def _contains(coro, text):
    rows = await coro
    return bool(rows) and text in rows[0][0]


async def _not_in(coro, item):
    return item not in await coro


def _json(value):
    import json

    return value if isinstance(value, dict) else json.loads(value)
