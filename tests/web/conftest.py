from __future__ import annotations

import json

import httpx
import pytest

from actors.instance import Instance
from actors.local import create_actor
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
async def site(db, remote):
    """The web app in-process on a fresh database, with a union and the instance actor."""
    clock = FrozenClock()

    def answer(request: httpx.Request) -> httpx.Response:
        url = str(request.url)
        status, doc, ctype = remote.get(url) or remote.get(url.split("?")[0]) or (404, {}, "application/json")
        # A stream, as a real server's answer is: the client reads it under its size cap.
        return httpx.Response(status, headers={"Content-Type": ctype}, stream=httpx.ByteStream(json.dumps(doc).encode()))

    client = SafeClient(policy=AddressPolicy(), user_agent="t", transport=httpx.MockTransport(answer))
    inst = Instance(urls=Urls(BASE), client=client, clock=clock)
    await create_actor(username="sud_rail", kind="union", name="SUD-Rail", now=clock.now())
    await create_actor(username=inst.urls.host, kind="instance", name="instance", now=clock.now())
    app = create_app(inst, version="test")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE) as client:
        yield client, inst
    await inst.client.aclose()
