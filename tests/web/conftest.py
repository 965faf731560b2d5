from __future__ import annotations

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
async def site(db):
    """The web app in-process on a fresh database, with a union and the instance actor."""
    clock = FrozenClock()
    inst = Instance(urls=Urls(BASE), client=SafeClient(policy=AddressPolicy(), user_agent="t"), clock=clock)
    await create_actor(username="sud_rail", kind="union", name="SUD-Rail", now=clock.now())
    await create_actor(username=inst.urls.host, kind="instance", name="instance", now=clock.now())
    app = create_app(inst, version="test")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE) as client:
        yield client, inst
    await inst.client.aclose()
