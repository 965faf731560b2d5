"""One canonical spelling of a URL's host, for every origin comparison and domain block."""
from __future__ import annotations

import re
from urllib.parse import urlsplit

_HOST_CHARS = re.compile(r"^[a-z0-9_.-]+$")
_DEFAULT_PORTS = {"http": 80, "https": 443}


class InvalidHost(ValueError):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def canonical_name(host: str) -> str:
    """A bare host name: lowercased, IDNA-encoded, trailing dot stripped (IPv6 stays bracketed)."""
    if host.startswith("[") or ":" in host:
        return f"[{host.strip('[]').lower()}]"
    try:
        name = host.rstrip(".").encode("idna").decode("ascii").lower()
    except UnicodeError:
        raise InvalidHost("invalid host name") from None
    if not name or not _HOST_CHARS.match(name):
        raise InvalidHost("invalid host name")
    return name


def host_of(url: str) -> str:
    """Canonical `host[:port]` of a URL.

    Lowercased, IDNA-encoded, trailing dot stripped, default port dropped: otherwise
    `Evil.Example.` and `evil.example:443` would dodge a block on `evil.example`
    (CVE-2023-42451 class). Raises InvalidHost when there is no usable host, so two broken
    URLs never compare equal as "".
    """
    try:
        parts = urlsplit(url.strip()) if isinstance(url, str) else None
        host, port = (parts.hostname, parts.port) if parts else (None, None)
    except ValueError:
        raise InvalidHost("malformed URL") from None
    if not host:
        raise InvalidHost("URL has no host")
    name = canonical_name(host)
    if port is not None and port != _DEFAULT_PORTS.get(parts.scheme.lower()):
        return f"{name}:{port}"
    return name


def host_or_empty(url: str) -> str:
    """host_of, or "" for a URL with no usable host (for URLs already validated, and logs)."""
    try:
        return host_of(url)
    except InvalidHost:
        return ""


def same_origin_host(a: str, b: str) -> bool:
    """Both URLs have a usable host and it is the same one."""
    first = host_or_empty(a)
    return bool(first) and first == host_or_empty(b)
