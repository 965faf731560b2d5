"""`unionhall demo` fills a fresh instance (profile + multilingual statements, federated like any
admin action) and refuses a second run; `init --sector --country` sets the profile facts."""
from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from datetime import date, datetime, timezone

import httpx
import pytest

from actors.local import get_by_username
from actors.models import Follower, FollowState, RemoteActor
from content.models import Post
from federation.models import Delivery
from outbox.models import Activity
from tests.e2e.harness import ROOT, destroy, make_instance
from tests.web.conftest import remote, site  # noqa: F401  (in-process app fixtures)
from unionhall import demo


@pytest.fixture
async def fresh(tmp_path):
    instance = await make_instance(tmp_path, "d", "union", "Our Union")
    try:
        yield instance
    finally:
        await destroy(instance)


async def test_demo_fills_a_fresh_instance_and_refuses_a_second_run(fresh):
    result = fresh.cli("demo")
    assert "8 meetings and statements published for @union@" in result.stdout
    rows = await fresh.sql("SELECT content_map, appeal, language FROM content_post WHERE local = $1", True)
    assert len(rows) == 8
    maps = [json.loads(r[0]) if isinstance(r[0], str) else r[0] for r in rows]
    assert all(set(m) == {"en", "fr", "es"} for m in maps)
    assert {r[2] for r in rows} == {"en"}
    assert sum(1 for r in rows if r[1]) == 1, "one appeal for declarations of solidarity"
    assert any("Réunion thématique virtuelle" in m["fr"] for m in maps)
    assert any("El Cerrejón" in m["es"] for m in maps)
    assert await fresh.sql("SELECT name, sector, country FROM actors_local WHERE kind = 'union'") == [
        ("Our Union", "Railways", "FR")]
    assert await fresh.sql("SELECT type, count(*) FROM outbox_activity GROUP BY type ORDER BY type") == [
        ("Create", 8), ("Update", 1)]

    again = fresh.cli("demo", check=False)
    assert again.returncode == 2 and "already has statements" in again.stderr
    assert "Traceback" not in again.stderr
    assert await fresh.post_count(local=True) == 8

    # What a `make run` user then sees.
    fresh.start()
    async with httpx.AsyncClient(timeout=10) as client:
        page = await client.get(f"{fresh.url}/@union")
        assert page.status_code == 200
        assert "Railways" in page.text and "France" in page.text and "Albania: the miners" in page.text
        actor = (await client.get(fresh.actor_uri, headers={"Accept": "application/activity+json"})).json()
        assert [f["name"] for f in actor["attachment"]] == ["Sector", "Country", "Website", "Network",
                                                             "Thematic meetings"]
        meetings = await client.get(f"{fresh.url}/meetings")
        assert meetings.status_code == 200 and meetings.text.count("Virtual thematic meeting:") == 5
        assert "International meeting of the Network" in meetings.text
        assert (await client.get(f"{fresh.url}/@union/calendar.ics")).text.count("BEGIN:VEVENT") == 6


async def test_demo_statements_and_profile_reach_followers(site):
    _, inst = site
    union = await get_by_username("sud_rail")
    remote = await RemoteActor.create(uri="https://far.example/users/rosa", domain="far.example", username="rosa",
                                      inbox="https://far.example/users/rosa/inbox", shared_inbox="https://far.example/inbox",
                                      fetched_at=datetime.now(timezone.utc))
    await Follower.create(local=union, remote=remote, follow_id="https://far.example/f/1", state=FollowState.ACCEPTED,
                          created_at=datetime.now(timezone.utc))
    posts = await demo.fill(inst, union)
    assert len(posts) == 8 and posts[-1].appeal and posts[-1].appeal_until > inst.now()
    assert [p.type for p in posts] == ["Event"] * 6 + ["Note"] * 2
    activities = await Activity.all()
    assert sorted(a.type for a in activities) == ["Create"] * 8 + ["Update"]
    for activity in activities:
        inboxes = [d.inbox for d in await Delivery.filter(envelope__activity_id=activity.ap_id)]
        assert inboxes == ["https://far.example/inbox"], activity.type
    with pytest.raises(demo.DemoRefused):
        await demo.fill(inst, union)
    assert await Post.filter(local=True).count() == 8



async def test_demo_keeps_manual_approval_and_pending_requests(site):
    """The demo sets the profile facts, never the union's choice to approve followers by hand."""
    _, inst = site
    union = await get_by_username("sud_rail")
    union.manually_approves_followers = True
    await union.save()
    remote = await RemoteActor.create(uri="https://far.example/users/ana", domain="far.example", username="ana",
                                      inbox="https://far.example/users/ana/inbox", fetched_at=datetime.now(timezone.utc))
    await Follower.create(local=union, remote=remote, follow_id="https://far.example/f/2", state=FollowState.PENDING,
                          created_at=datetime.now(timezone.utc))
    await demo.fill(inst, union)
    assert (await get_by_username("sud_rail")).manually_approves_followers
    assert [f.state for f in await Follower.filter(local=union)] == [FollowState.PENDING]
    assert not await Activity.filter(type="Accept").exists()

def test_meetings_are_future_saturdays():
    days = demo.meeting_dates(date(2026, 12, 2), 5)
    assert all(d.weekday() == 5 for d in days)
    assert days[0] >= date(2026, 12, 16) and days == sorted(set(days))
    first = demo.thematic_meeting("feminism", demo.MEETINGS[0][1], days[0])
    assert first.start == datetime(2026, 12, 19, 16, 0, tzinfo=timezone.utc) and first.kind == "thematic"
    assert first.titles["fr"] == "Réunion thématique virtuelle : droits des femmes et féminisme"
    dijon = demo.international_meeting(date(2026, 12, 2))
    assert dijon.start.weekday() == 3 and (dijon.end - dijon.start).days == 3 and dijon.join_mode == "approval"


def _init(tmp_path, *extra: str) -> subprocess.CompletedProcess:
    env = {"UNIONHALL_DATA": str(tmp_path / "data"), "PATH": "/usr/bin:/bin"}
    return subprocess.run([sys.executable, "-m", "unionhall.cli", "init", "--url", "http://127.0.0.1:9",
                           "--handle", "correos", "--name", "Correos", "--password", "pw", *extra],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)


def test_init_takes_sector_and_country(tmp_path):
    assert _init(tmp_path, "--sector", "Post", "--country", "Spain").returncode == 0
    with sqlite3.connect(tmp_path / "data" / "unionhall.sqlite3") as conn:
        assert conn.execute("SELECT sector, country FROM actors_local WHERE kind = 'union'").fetchall() == [
            ("Post", "ES")]


def test_init_refuses_a_bad_country_and_creates_nothing(tmp_path):
    result = _init(tmp_path, "--country", "QQ")
    assert result.returncode == 2 and "not a country code" in result.stderr
    assert not (tmp_path / "data" / "unionhall.sqlite3").exists()
