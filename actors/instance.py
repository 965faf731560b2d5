"""The running instance as every package sees it: its URLs, its one outbound client,
its clock, and the signing keys of its local actors (parsed once, cached)."""
from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from actors.models import LocalActor
from actors.urls import Urls
from federation.clock import SYSTEM_CLOCK, Clock
from federation.http import SafeClient
from federation.httpsig import SigningKey


@dataclass
class Instance:
    urls: Urls
    client: SafeClient
    clock: Clock = SYSTEM_CLOCK
    approve_followers: bool = False
    _keys: dict[str, SigningKey] = field(default_factory=dict)
    _key_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    # Rate limits kept per process: when a remote key was last refetched after a failed
    # verification, and when a peer host was last checked for a delivery backlog.
    key_refetched_at: dict[str, datetime] = field(default_factory=dict)
    peer_checked_at: dict[str, datetime] = field(default_factory=dict)
    # Set by a process that runs a delivery worker, so publishing starts delivery at once.
    wake_delivery: Callable[[], None] | None = None
    # Where uploads are stored (DATA/media; set by unionhall.runtime). In-process tests pass a
    # directory of their own (tmp_path), so nothing is left behind and nothing real is touched.
    media_dir: Path | None = None

    def now(self) -> datetime:
        return self.clock.now()

    def allow_once_per(self, table: dict[str, datetime], key: str, period: timedelta) -> bool:
        """True (and remembered) if `key` was not allowed within the last `period`."""
        now = self.now()
        last = table.get(key)
        if last is not None and now - last < period:
            return False
        if len(table) > 10_000:  # bounded memory under a flood of distinct keys
            table.clear()
        table[key] = now
        return True

    async def signing_key(self, key_id: str) -> SigningKey:
        """The private key behind one of our key ids (cached; RSA parsing is not free)."""
        cached = self._keys.get(key_id)
        if cached:
            return cached
        # One loader at a time: 32 concurrent first deliveries must not each parse the PEM (~30 ms).
        async with self._key_lock:
            if key_id not in self._keys:
                if key_id == self.urls.instance_key_id:
                    actor = await LocalActor.get(kind="instance")
                else:
                    username = key_id.removeprefix(self.urls.base + "/actors/").split("#", 1)[0]
                    actor = await LocalActor.get(username=username)
                self._keys[key_id] = SigningKey.from_pem(key_id, actor.private_key_pem)
        return self._keys[key_id]

    async def instance_key(self) -> SigningKey:
        return await self.signing_key(self.urls.instance_key_id)

    def key_id_of(self, actor: LocalActor) -> str:
        return self.urls.instance_key_id if actor.kind == "instance" else self.urls.key_id(actor.username)

    def uri_of(self, actor: LocalActor) -> str:
        return self.urls.instance_actor if actor.kind == "instance" else self.urls.actor(actor.username)

    def media_root(self) -> Path:
        # No silent fallback (a temporary directory would be leaked, or uploads lost at exit).
        if self.media_dir is None:
            raise RuntimeError("this Instance has no media_dir: uploads need a directory (DATA/media)")
        return self.media_dir

    def poke_delivery(self) -> None:
        if self.wake_delivery is not None:
            self.wake_delivery()
