"""Settings, all from environment variables (documented in the README)."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit


def _flag(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class Settings:
    url: str = "http://127.0.0.1:8000"
    data_dir: Path = Path("data")
    database_url: str = ""
    allow_private_addresses: str = ""
    approve_followers: bool = False
    delivery_concurrency: int = 32
    # How long a claimed delivery stays with a worker that may have crashed (PostgreSQL scale-out).
    delivery_lease_seconds: int = 120
    log_level: str = "info"
    # Addresses of reverse proxies whose X-Forwarded-For we believe (login throttling by address).
    trusted_proxies: str = ""

    @property
    def host(self) -> str:
        """The public host[:port] signatures must be addressed to."""
        return urlsplit(self.url).netloc

    @property
    def domain(self) -> str:
        return urlsplit(self.url).hostname or ""

    @property
    def base(self) -> str:
        return self.url.rstrip("/")

    @property
    def db_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite://{(self.data_dir / 'unionhall.sqlite3').resolve()}"

    @property
    def media_dir(self) -> Path:
        return self.data_dir / "media"


def from_env(env: dict[str, str] | None = None, **overrides) -> Settings:
    env = dict(os.environ if env is None else env)
    values = dict(
        url=env.get("UNIONHALL_URL", "http://127.0.0.1:8000").rstrip("/"),
        data_dir=Path(env.get("UNIONHALL_DATA", "data")),
        database_url=env.get("UNIONHALL_DATABASE_URL", ""),
        allow_private_addresses=env.get("UNIONHALL_ALLOW_PRIVATE_ADDRESSES", ""),
        approve_followers=_flag(env.get("UNIONHALL_APPROVE_FOLLOWERS")),
        delivery_concurrency=int(env.get("UNIONHALL_DELIVERY_CONCURRENCY", "32")),
        delivery_lease_seconds=int(env.get("UNIONHALL_DELIVERY_LEASE", "120")),
        log_level=env.get("UNIONHALL_LOG_LEVEL", "info"),
        trusted_proxies=env.get("UNIONHALL_TRUSTED_PROXIES", ""),
    )
    values.update({k: v for k, v in overrides.items() if v is not None})
    return Settings(**values)
