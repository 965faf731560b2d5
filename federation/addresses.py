"""Which IP addresses the server may connect to, and the connector that enforces it.

`GuardedBackend` resolves each host name itself and checks every address at connect time,
then dials the checked address: the address checked is the address connected, so DNS
rebinding gets nowhere. `federation.http.SafeClient` runs every request through it.

Plain http:// is only ever dialled to a loopback/private address the policy explicitly allows
(tests, the local demo): TLS is what authenticates a peer's name, so every public peer is
https. `build_transport` gives http origins a backend that enforces this at connect time too.

The block list mirrors Mastodon's `app/lib/private_address_check.rb` plus the later bypass
fixes (unspecified `::`, IPv4-compatible `::a.b.c.d`), and Python's own `ipaddress` flags as
a second net. Tunnelling and translation prefixes (6to4, Teredo, NAT64) are refused outright,
as Mastodon does: nobody federates from them, and any of them can carry a private IPv4 inside.
"""
from __future__ import annotations

import asyncio
import ipaddress
import socket
import ssl
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Union

import anyio
import httpcore
import httpx

IPAddress = Union[ipaddress.IPv4Address, ipaddress.IPv6Address]
IPNetwork = Union[ipaddress.IPv4Network, ipaddress.IPv6Network]
Resolver = Callable[[str, int], Awaitable[Sequence[str]]]


class FetchError(Exception):
    """An outbound request failed or its answer was refused.

    Defined here rather than in `federation.http` because the policy raises `BlockedAddress`
    and `http` imports the policy; `federation.http` re-exports both names.
    """

    def __init__(self, reason: str, url: str = "", detail: str = "") -> None:
        self.reason = reason
        self.url = url
        self.detail = detail
        text = f"{reason} ({url})" if url else reason
        super().__init__(f"{text}: {detail}" if detail else text)

    def with_url(self, url: str) -> "FetchError":
        # The policy and the network backend do not know the URL; the client fills it in.
        if not self.url:
            self.url = url
            text = f"{self.reason} ({url})"
            self.args = (f"{text}: {self.detail}" if self.detail else text,)
        return self


class BlockedAddress(FetchError):
    """The target is (or resolves to) an address the policy does not allow."""


PLAIN_HTTP_REFUSED = "plain http is only allowed to loopback/private test addresses"


_BLOCKED_V4 = tuple(
    ipaddress.IPv4Network(n)
    for n in (
        "0.0.0.0/8",  # "this network"; 0.0.0.0 reaches localhost on Linux
        "10.0.0.0/8",
        "100.64.0.0/10",  # CGNAT shared address space: often the provider's internal network
        "127.0.0.0/8",
        "169.254.0.0/16",  # link-local, includes the cloud metadata endpoint
        "172.16.0.0/12",
        "192.0.0.0/24",
        "192.0.2.0/24",
        "192.88.99.0/24",  # 6to4 relay anycast
        "192.168.0.0/16",
        "198.18.0.0/15",
        "198.51.100.0/24",
        "203.0.113.0/24",
        "224.0.0.0/4",
        "240.0.0.0/4",
        "255.255.255.255/32",
    )
)

_BLOCKED_V6 = tuple(
    ipaddress.IPv6Network(n)
    for n in (
        "::/96",  # ::, ::1 and the deprecated IPv4-compatible ::a.b.c.d (GHSA-vwhj-3g83-v276)
        "64:ff9b::/96",  # NAT64 well-known prefix: the gateway would reach any IPv4
        "64:ff9b:1::/48",  # NAT64 local-use prefix
        "100::/64",  # discard
        "2001::/32",  # Teredo
        "2001:10::/28",
        "2001:20::/28",
        "2001:db8::/32",
        "2002::/16",  # 6to4
        "fc00::/7",  # unique local
        "fe80::/10",  # link-local
        "fec0::/10",  # deprecated site-local, still routed inside some networks
        "ff00::/8",  # multicast
    )
)


def parse_ip(ip: str | IPAddress) -> IPAddress:
    """Parse an address, accepting brackets and zone ids as they come out of URLs and getaddrinfo."""
    if isinstance(ip, (ipaddress.IPv4Address, ipaddress.IPv6Address)):
        return ip
    text = ip.strip()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    return ipaddress.ip_address(text)


def _unwrap(ip: IPAddress) -> IPAddress:
    # An IPv4-mapped address (::ffff:a.b.c.d) is connected as the IPv4 address it carries.
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.scope_id:
            ip = ipaddress.IPv6Address(ip.compressed.split("%", 1)[0])
        if ip.ipv4_mapped is not None:
            return ip.ipv4_mapped
    return ip


def is_public_address(ip: str | IPAddress) -> bool:
    """True when `ip` is a globally routable unicast address we may connect to.

    Unparseable input is not public: the caller could not connect to it safely anyway.
    """
    try:
        addr = _unwrap(parse_ip(ip))
    except ValueError:
        return False
    if isinstance(addr, ipaddress.IPv6Address):
        # Embedded IPv4 in tunnelling prefixes is covered by refusing the prefixes, but check
        # the payload too so the answer stays right if a prefix is ever let through.
        embedded = addr.sixtofour or (addr.teredo[1] if addr.teredo else None)
        if embedded is not None and not is_public_address(embedded):
            return False
        if any(addr in net for net in _BLOCKED_V6):
            return False
    elif any(addr in net for net in _BLOCKED_V4):
        return False
    return not (
        addr.is_private
        or addr.is_loopback
        or addr.is_link_local
        or addr.is_multicast
        or addr.is_reserved
        or addr.is_unspecified
        or not addr.is_global
    )


@dataclass(frozen=True)
class AddressPolicy:
    """Which non-public addresses are allowed anyway (tests, local demos, a LAN federation)."""

    allow_private: bool = False
    allowed_networks: tuple[IPNetwork, ...] = ()

    @classmethod
    def from_setting(cls, value: str | None) -> "AddressPolicy":
        """Read UNIONHALL_ALLOW_PRIVATE_ADDRESSES.

        Empty -> nothing private; "1"/"true"/"yes" -> everything; otherwise a comma-separated
        list of CIDRs or addresses, like Mastodon's ALLOWED_PRIVATE_ADDRESSES. A typo raises
        ValueError at startup instead of silently allowing nothing (or everything).
        """
        text = (value or "").strip()
        if not text:
            return cls()
        if text.lower() in ("1", "true", "yes", "on"):
            return cls(allow_private=True)
        networks = []
        for part in text.split(","):
            part = part.strip()
            if part:
                # strict=False: "127.0.0.1/8" means 127.0.0.0/8, as Mastodon reads it.
                networks.append(ipaddress.ip_network(part.strip("[]"), strict=False))
        return cls(allowed_networks=tuple(networks))

    def allows(self, ip: str | IPAddress) -> bool:
        try:
            addr = parse_ip(ip)
        except ValueError:
            return False
        if is_public_address(addr) or self.allow_private:
            return True
        # Match both spellings, so "127.0.0.0/8" also lets ::ffff:127.0.0.1 through.
        candidates = (_unwrap(addr), addr)
        return any(
            c.version == net.version and c in net for c in candidates for net in self.allowed_networks
        )

    def check(self, ip: str | IPAddress) -> None:
        """Raise BlockedAddress unless the policy allows connecting to `ip`."""
        if not self.allows(ip):
            raise BlockedAddress("blocked address", detail=f"{ip} is not a public address")

    def allows_plain_http(self, ip: str | IPAddress) -> bool:
        """Unencrypted http only to a non-public address this policy lets through on purpose
        (allow_private / allowed_networks). A public address never: without TLS nothing proves
        who answers for the name, even if an allowed network happens to include it."""
        try:
            addr = parse_ip(ip)
        except ValueError:
            return False
        return not is_public_address(addr) and self.allows(addr)

    def check_plain_http(self, ip: str | IPAddress) -> None:
        """Raise BlockedAddress unless an http:// (no TLS) request may go to `ip`."""
        if not self.allows_plain_http(ip):
            raise BlockedAddress(PLAIN_HTTP_REFUSED,
                                 detail=f"{ip} is not a loopback/private address allowed for testing")


async def _system_resolve(host: str, port: int) -> list[str]:
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [info[4][0] for info in infos]


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """httpcore network backend that resolves names itself and only dials addresses the policy allows.

    TLS still verifies and sends SNI for the host name: httpcore passes the origin's host to
    start_tls, not the address we connected to. `plain_http=True` is the backend of http://
    origins (no TLS will follow): every address must then also pass `check_plain_http`.
    """

    def __init__(self, policy: AddressPolicy, *, resolver: Resolver | None = None,
                 inner: httpcore.AsyncNetworkBackend | None = None, plain_http: bool = False) -> None:
        self._policy = policy
        self._resolve = resolver or _system_resolve
        self._inner = inner or httpcore.AnyIOBackend()
        self._plain_http = plain_http

    async def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                          local_address: str | None = None,
                          socket_options: Any = None) -> httpcore.AsyncNetworkStream:
        try:
            with anyio.fail_after(timeout):
                resolved = list(dict.fromkeys(await self._resolve(host, port)))
        except TimeoutError as exc:
            raise httpcore.ConnectTimeout(f"resolving {host} timed out") from exc
        except OSError as exc:
            raise httpcore.ConnectError(f"could not resolve {host}: {exc}") from exc
        if not resolved:
            raise httpcore.ConnectError(f"could not resolve {host}: no addresses")
        # Refuse if ANY address is blocked: a name mixing public and private answers is an attack.
        for ip in resolved:
            self._policy.check(ip)
            if self._plain_http:
                self._policy.check_plain_http(ip)
        last: Exception | None = None
        for ip in resolved:
            try:
                return await self._inner.connect_tcp(ip, port, timeout, local_address, socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last = exc
        assert last is not None
        raise last

    async def connect_unix_socket(self, path: str, timeout: float | None = None,
                                  socket_options: Any = None) -> httpcore.AsyncNetworkStream:
        raise BlockedAddress("blocked address", detail="unix sockets are never dialled")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class _GuardedPool(httpcore.AsyncConnectionPool):
    """A connection pool whose https origins dial through GuardedBackend and whose every other
    origin (plain http) dials through one that also requires `check_plain_http`.

    A connection belongs to one origin (scheme, host, port) for its whole life, so deciding
    when it is created covers every request (and every redirect hop) that later reuses it.
    """

    def __init__(self, policy: AddressPolicy, *, resolver: Resolver | None, ssl_context: ssl.SSLContext,
                 max_connections: int, keepalive_expiry: float) -> None:
        super().__init__(ssl_context=ssl_context, max_connections=max_connections,
                         max_keepalive_connections=max_connections, keepalive_expiry=keepalive_expiry,
                         network_backend=GuardedBackend(policy, resolver=resolver))
        self._plain_backend = GuardedBackend(policy, resolver=resolver, plain_http=True)
        self._plain_keepalive_expiry = keepalive_expiry

    def create_connection(self, origin: httpcore.Origin) -> httpcore.AsyncConnectionInterface:
        if origin.scheme == b"https":
            return super().create_connection(origin)
        return httpcore.AsyncHTTPConnection(origin=origin, keepalive_expiry=self._plain_keepalive_expiry,
                                            network_backend=self._plain_backend)


def build_transport(policy: AddressPolicy, *, max_connections: int = 100,
                    resolver: Resolver | None = None, verify: ssl.SSLContext | bool = True,
                    ) -> httpx.AsyncHTTPTransport:
    """An httpx transport whose connection pool dials through GuardedBackend.

    httpx does not expose the pool's network backend, so the pool is built here with
    httpcore's public constructor and swapped in. trust_env=False: an environment proxy
    would make the proxy, not us, pick the address.
    """
    ssl_context = httpx.create_ssl_context(verify=verify, trust_env=False)
    transport = httpx.AsyncHTTPTransport(verify=ssl_context, trust_env=False)
    transport._pool = _GuardedPool(policy, resolver=resolver, ssl_context=ssl_context,
                                   max_connections=max_connections, keepalive_expiry=5.0)
    return transport
