"""Assembly: the Instance every package shares, the background workers, the ASGI app."""
from __future__ import annotations

import asyncio
import contextlib
import logging
from importlib.metadata import PackageNotFoundError, version as _pkg_version

from actors.instance import Instance
from actors.urls import Urls
from federation.clock import SYSTEM_CLOCK, Clock
from federation.delivery import DeliveryWorker
from federation.http import AddressPolicy, SafeClient
from inbox.process import InboxProcessor
from unionhall.db import close_db, open_db
from unionhall.settings import Settings
from web.app import create_app

log = logging.getLogger("unionhall")

try:
    VERSION = _pkg_version("unionhall")
except PackageNotFoundError:  # running from a checkout without install
    VERSION = "0.0.0"


def build_instance(settings: Settings, *, clock: Clock = SYSTEM_CLOCK) -> Instance:
    client = SafeClient(policy=AddressPolicy.from_setting(settings.allow_private_addresses),
                        user_agent=f"UnionHall/{VERSION} (+{settings.base}/)")
    return Instance(urls=Urls(settings.base), client=client, clock=clock,
                    approve_followers=settings.approve_followers)


class Workers:
    """The delivery worker and the inbox processor, as tasks of the current event loop."""

    def __init__(self, inst: Instance, settings: Settings) -> None:
        self.inst = inst
        self.delivery = DeliveryWorker(client=inst.client, keys=inst.signing_key, clock=inst.clock,
                                       concurrency=settings.delivery_concurrency)
        self.inbox = InboxProcessor(inst)
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task] = []

    def start(self) -> None:
        self.inst.wake_delivery = self.delivery.wake
        self._tasks = [asyncio.create_task(self.delivery.run(self._stop), name="delivery"),
                       asyncio.create_task(self.inbox.run(self._stop), name="inbox")]

    async def wait(self) -> None:
        await asyncio.gather(*self._tasks)

    async def stop(self) -> None:
        self._stop.set()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait_for(task, timeout=10)


def build_app(settings: Settings, *, with_workers: bool = True):
    inst = build_instance(settings)
    holder: dict[str, Workers] = {}

    @contextlib.asynccontextmanager
    async def lifespan(app):
        await open_db(settings.db_url)
        if with_workers:
            workers = Workers(inst, settings)
            workers.start()
            holder["w"] = workers
        try:
            yield
        finally:
            if with_workers:
                await holder["w"].stop()
            await inst.client.aclose()
            await close_db()

    def wake_inbox() -> None:
        if "w" in holder:
            holder["w"].inbox.wake()

    return create_app(inst, version=VERSION, wake_inbox=wake_inbox, lifespan=lifespan)
