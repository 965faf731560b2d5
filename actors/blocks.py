"""Domain blocks: activities from a blocked domain are refused before any fetch."""
from __future__ import annotations

from datetime import datetime

from actors.models import DomainBlock


def normalise_domain(domain: str) -> str:
    value = domain.strip().lower().rstrip(".")
    if "://" in value:
        value = value.split("://", 1)[1].split("/", 1)[0]
    try:
        value = value.encode("idna").decode("ascii")
    except UnicodeError:
        pass
    return value


async def block(domain: str, *, reason: str = "", now: datetime) -> str:
    name = normalise_domain(domain)
    await DomainBlock.update_or_create(domain=name, defaults={"reason": reason, "created_at": now})
    return name


async def unblock(domain: str) -> bool:
    return await DomainBlock.filter(domain=normalise_domain(domain)).delete() > 0


def _candidates(host: str) -> list[str]:
    name = normalise_domain(host).split(":", 1)[0] if not host.startswith("[") else normalise_domain(host)
    parts = name.split(".")
    candidates = [name] + [".".join(parts[i:]) for i in range(1, len(parts) - 1)]
    with_port = normalise_domain(host)
    if with_port != name:
        candidates.append(with_port)
    return candidates


async def is_blocked(*hosts: str) -> bool:
    """Any of `hosts` (which may carry a port) blocked; a block on a domain covers its subdomains."""
    candidates = [c for host in hosts if host for c in _candidates(host)]
    return bool(candidates) and await DomainBlock.filter(domain__in=candidates).exists()


async def list_blocks() -> list[DomainBlock]:
    return await DomainBlock.all().order_by("domain")
