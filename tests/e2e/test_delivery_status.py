"""The admin's delivery status of one statement, with real followers: one instance up, one
instance down (its process stopped), and a Mastodon-shaped server that answers 410 Gone.

Everything goes over real HTTP: A publishes through the CLI, the admin page is read through
a session opened with the real login form."""
from __future__ import annotations

import re

import pytest

from tests.e2e.harness import destroy, eventually, make_instance
from tests.e2e.test_appeal import logged_in

pytestmark = pytest.mark.timeout(180)

FOLLOWING = "SELECT f.state FROM actors_following f JOIN actors_remote r ON r.id = f.remote_id WHERE r.uri = $1"


@pytest.fixture
async def followers(tmp_path, union, mastodon):
    """B (kept up) and C (stopped once it follows), both following `union`; a Mastodon
    account on a server that will answer 410 to every delivery."""
    b = await make_instance(tmp_path, "b", "cgt_ports", "CGT Ports")
    c = await make_instance(tmp_path, "c", "usb_sanita", "USB Sanità")
    for inst in (b, c):
        inst.start()
    try:
        for inst in (b, c):
            inst.cli("follow", union.acct)

            async def accepted(inst=inst):
                return await inst.sql(FOLLOWING, union.actor_uri) == [("accepted",)]

            await eventually(accepted, timeout=30, what=f"{inst.name} following the union")
        rosa = mastodon.add_actor("rosa")
        follow = {"@context": "https://www.w3.org/ns/activitystreams", "id": f"{mastodon.url}/follows/rosa-1",
                  "type": "Follow", "actor": rosa.uri, "object": union.actor_uri}
        assert (await mastodon.deliver(rosa, f"{union.actor_uri}/inbox", follow)).status_code == 202

        async def rosa_accepted():
            return mastodon.activities("Accept")

        await eventually(rosa_accepted, what="the Mastodon follow accepted")
        yield b, c
    finally:
        for inst in (b, c):
            await destroy(inst)


def section(page: str, name: str) -> str:
    found = re.search(rf'<section id="{name}">(.*?)</section>', page, re.S)
    assert found, f"no {name} section in the page"
    return found.group(1)


async def test_status_page_shows_delivered_pending_and_failed_hosts(union, mastodon, followers):
    b, c = followers
    c.stop()  # C is down from now on
    mastodon.inbox_status = 410  # and this server says the account is gone for good

    sid = union.cli("post", "Solidarity with the health workers on strike", "--lang", "en").stdout.strip()
    create = "SELECT count(*) FROM content_post WHERE ap_id = $1 AND local = $2"
    await eventually(lambda: _eq(b.sql(create, sid, False), [(1,)]), what="the statement on B")

    admin = await logged_in(union)
    try:
        status_url = f"/admin/statements/{sid.rsplit('/', 1)[1]}"

        async def settled():
            page = (await admin.get(status_url)).text
            return page if c.host in section(page, "pending") and mastodon.host in section(page, "failed") else None

        page = await eventually(settled, timeout=40, interval=0.5, what="C pending and the 410 server failed")
        delivered, pending, failed = (section(page, n) for n in ("delivered", "pending", "failed"))
        assert b.host in delivered and b.host not in pending + failed
        assert c.host in pending and c.host not in delivered + failed
        assert re.search(r"refused|connect", pending, re.I), f"the pending reason is shown: {pending}"
        assert mastodon.host in failed and mastodon.host not in delivered + pending
        assert "410" in failed
    finally:
        await admin.aclose()


async def _eq(coro, expected) -> bool:
    return await coro == expected
