"""Domain blocks: activities from a blocked domain are refused before any fetch, and a
block severs relationships with that domain and stops what we were about to send it."""
from __future__ import annotations

from datetime import datetime

from actors.models import DomainBlock, Follower, Following
from federation.hosts import InvalidHost, canonical_name


def _split(value: str) -> tuple[str, str]:
    """'Evil.Example.:8443' -> ('evil.example', '8443'); '[::1]:80' -> ('[::1]', '80')."""
    value = value.strip()
    if "://" in value:
        value = value.split("://", 1)[1]
    value = value.split("/", 1)[0].split("@")[-1]
    if value.startswith("["):
        name, _, rest = value.partition("]")
        return canonical_name(name + "]"), rest.lstrip(":")
    name, _, port = value.partition(":")
    return canonical_name(name), port


def normalise_domain(domain: str) -> str:
    name, port = _split(domain)
    return f"{name}:{port}" if port else name


def _candidates(host: str) -> list[str]:
    """A block on a domain covers its subdomains and every port; a block on host:port only that port."""
    try:
        name, port = _split(host)
    except InvalidHost:
        return []
    parts = name.split(".") if not name.startswith("[") else [name]
    candidates = [".".join(parts[i:]) for i in range(len(parts) - 1 if len(parts) > 1 else 1)]
    if port:
        candidates.append(f"{name}:{port}")
    return candidates


async def block(domain: str, *, reason: str = "", now: datetime) -> str:
    name = normalise_domain(domain)
    await DomainBlock.update_or_create(domain=name, defaults={"reason": reason, "created_at": now})
    return name


async def sever(domain: str) -> int:
    """Drop follows both ways with accounts on a blocked domain (Mastodon's suspend does)."""
    blocked = normalise_domain(domain)
    removed = 0
    for model in (Follower, Following):
        for row in await model.all().prefetch_related("remote"):
            if blocked in _candidates(row.remote.domain):
                await row.delete()
                removed += 1
    return removed


async def unblock(domain: str) -> bool:
    return await DomainBlock.filter(domain=normalise_domain(domain)).delete() > 0


async def is_blocked(*hosts: str) -> bool:
    """Any of `hosts` (host[:port] or URL) blocked, directly or through a parent domain."""
    candidates = [c for host in hosts if host for c in _candidates(host)]
    return bool(candidates) and await DomainBlock.filter(domain__in=candidates).exists()


async def list_blocks() -> list[DomainBlock]:
    return await DomainBlock.all().order_by("domain")
