"""Assembly: the Instance every package shares, the background workers, the ASGI app."""
from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import timedelta
from importlib.metadata import PackageNotFoundError, version as _pkg_version

from actors.instance import Instance
from actors.urls import Urls
from federation.clock import SYSTEM_CLOCK, Clock
from federation.delivery import DeliveryWorker
from federation.http import AddressPolicy, SafeClient
from federation.models import Delivery, DeliveryState
from inbox.models import InboxItem, InboxState
from inbox.process import InboxProcessor
from outbox.meetings import announce_open_registrations
from unionhall.db import close_db, is_postgres, open_db
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
                    approve_followers=settings.approve_followers, media_dir=settings.media_dir.resolve())


# A claim must outlive the request it covers, or a slow peer would be sent the same delivery twice.
MIN_LEASE_MARGIN = 15
# How often the worker looks for meetings whose registration has just opened (one cheap query).
MEETING_CHECK_SECONDS = 60


class Workers:
    """The delivery worker and the inbox processor, as tasks of the current event loop."""

    def __init__(self, inst: Instance, settings: Settings) -> None:
        self.inst = inst
        self.settings = settings
        self.delivery = DeliveryWorker(client=inst.client, keys=inst.signing_key, clock=inst.clock,
                                       concurrency=settings.delivery_concurrency,
                                       lease=timedelta(seconds=max(settings.delivery_lease_seconds,
                                                                   inst.client.total_timeout + MIN_LEASE_MARGIN)))
        self.inbox = InboxProcessor(inst)
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task] = []

    async def recover(self) -> None:
        """On SQLite only one process runs workers, so claims left by a crash (SIGKILL, power
        loss) are certainly stale: release them now instead of waiting for the lease."""
        if is_postgres(self.settings.db_url):
            return
        released = await Delivery.filter(state=DeliveryState.PENDING, locked_until__isnull=False).update(locked_until=None)
        released += await InboxItem.filter(state=InboxState.PENDING, locked_until__isnull=False).update(locked_until=None)
        if released:
            log.warning("resumed %d deliveries/inbox items claimed before the last stop", released)

    def start(self) -> None:
        self.inst.wake_delivery = self.delivery.wake
        self._tasks = [asyncio.create_task(self.delivery.run(self._stop), name="delivery"),
                       asyncio.create_task(self.inbox.run(self._stop), name="inbox"),
                       asyncio.create_task(self._meetings(), name="meetings")]

    async def _meetings(self) -> None:
        """Announce registration openings that came due; a failure is logged and tried next round."""
        while not self._stop.is_set():
            try:
                await announce_open_registrations(self.inst)
            except Exception:  # noqa: BLE001 - the loop must outlive one bad round (e.g. database restart)
                log.exception("announcing registration openings failed")
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._stop.wait(), timeout=MEETING_CHECK_SECONDS)

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
            await workers.recover()
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
