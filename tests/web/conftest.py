from __future__ import annotations

import json
import re
from datetime import datetime

import httpx
import pytest

from actors.instance import Instance
from actors.local import create_actor, create_login, get_by_username
from actors.models import RemoteActor
from actors.urls import Urls
from federation.clock import FrozenClock
from federation.http import AddressPolicy, SafeClient
from web.app import create_app

BASE = "https://ours.example"


@pytest.fixture
def remote():
    """The rest of the fediverse as these tests see it: URL -> (status, JSON document, content type).
    Outbound requests of the app go to this table (an httpx MockTransport), never to the network."""
    return {}


@pytest.fixture
async def site(db, remote, tmp_path):
    """The web app in-process on a fresh database, with a union and the instance actor."""
    clock = FrozenClock()

    def answer(request: httpx.Request) -> httpx.Response:
        url = str(request.url)
        status, doc, ctype = remote.get(url) or remote.get(url.split("?")[0]) or (404, {}, "application/json")
        # A stream, as a real server's answer is: the client reads it under its size cap.
        return httpx.Response(status, headers={"Content-Type": ctype}, stream=httpx.ByteStream(json.dumps(doc).encode()))

    client = SafeClient(policy=AddressPolicy(), user_agent="t", transport=httpx.MockTransport(answer))
    inst = Instance(urls=Urls(BASE), client=client, clock=clock, media_dir=tmp_path / "media")
    await create_actor(username="sud_rail", kind="union", name="SUD-Rail", now=clock.now())
    await create_actor(username=inst.urls.host, kind="instance", name="instance", now=clock.now())
    app = create_app(inst, version="test")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE) as client:
        yield client, inst
    await inst.client.aclose()


ADMIN_PASSWORD = "correct horse battery staple"
_CSRF = re.compile(r'<input type="hidden" name="csrf" value="([^"]+)">')


@pytest.fixture
async def admin(site):
    """Logged in over HTTP through the real login form; yields (client, inst, union, csrf token)."""
    client, inst = site
    union = await get_by_username("sud_rail")
    await create_login(username="admin", password=ADMIN_PASSWORD, actor=union, now=inst.now())
    token = _CSRF.search((await client.get("/login")).text).group(1)
    response = await client.post("/login", data={"username": "admin", "password": ADMIN_PASSWORD, "csrf": token})
    assert response.status_code == 303
    token = _CSRF.search((await client.get("/admin")).text).group(1)
    return client, inst, union, token


@pytest.fixture
def remote_actor(db):
    """A factory storing a cached remote actor `name` of AS2 type `kind` on `name`.example:
    `await remote_actor("rail", "Organization", now)`."""
    async def make(name: str, kind: str, now: datetime) -> RemoteActor:
        domain = f"{name}.example"
        return await RemoteActor.create(uri=f"https://{domain}/actors/{name}", domain=domain, username=name, type=kind,
                                        name=f"{name.title()} Union", url=f"https://{domain}/@{name}",
                                        inbox=f"https://{domain}/actors/{name}/inbox",
                                        shared_inbox=f"https://{domain}/inbox", fetched_at=now)
    return make


MEETING = {
    "titles": {"en": "International meeting of alternative unions", "fr": "Rencontre internationale du syndicalisme alternatif"},
    "descriptions": {"en": "Four days of debates.\n\nInterpretation in four languages.",
                     "fr": "Quatre jours de débats."},
    "start": "2026-10-23T09:00", "end": "2026-10-26T17:00", "timezone": "Europe/Paris",
    "place_name": "Bourse du travail", "address": {"streetAddress": "1 place de la Libération",
                                                   "addressLocality": "Dijon", "addressCountry": "FR"},
    "online_url": "https://meet.example/intl", "kind": "international", "theme": "internationalism",
    "capacity": 10, "join_mode": "approval",
}


@pytest.fixture
def make_meeting(site):
    """Announces one of our meetings through outbox.meetings (the admin form's path):
    `await make_meeting(capacity=3)` overrides fields of MEETING. Returns (meeting, mid)."""
    from outbox.meetings import create_meeting

    async def make(**changes):
        client, inst = site
        union = await get_by_username("sud_rail")
        meeting = await create_meeting(inst, union, {**MEETING, **changes})
        await meeting.fetch_related("post")
        return meeting, meeting.post.ap_id.rsplit("/", 1)[-1]
    return make
