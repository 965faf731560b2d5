"""Plain http:// only to loopback/private addresses the policy explicitly lets through.

TLS is what authenticates a peer's name; without it anyone on the path could answer for a
public host (or read what we sign and send). http is for tests and the local demo only.
"""
from __future__ import annotations

import ipaddress
import json
import socket
from collections.abc import AsyncIterator

import httpcore
import httpx
import pytest

from federation.addresses import PLAIN_HTTP_REFUSED, AddressPolicy, BlockedAddress, FetchError, build_transport
from federation.http import SafeClient
from federation.httpsig import SigningKey

from .conftest import LocalServer

AP = "application/activity+json"
LOOPBACK = AddressPolicy(allowed_networks=(ipaddress.ip_network("127.0.0.0/8"), ipaddress.ip_network("::1")))
PUBLIC_NET = AddressPolicy(allowed_networks=(ipaddress.ip_network("127.0.0.0/8"), ipaddress.ip_network("8.8.8.0/24")))


@pytest.mark.parametrize("policy, ip, ok", [
    (LOOPBACK, "127.0.0.1", True), (LOOPBACK, "::1", True), (LOOPBACK, "::ffff:127.0.0.1", True),
    (LOOPBACK, "8.8.8.8", False), (LOOPBACK, "10.0.0.5", False),
    (AddressPolicy(allow_private=True), "10.0.0.5", True), (AddressPolicy(allow_private=True), "127.0.0.1", True),
    (AddressPolicy(allow_private=True), "8.8.8.8", False),
    (AddressPolicy(allow_private=True), "2606:4700:4700::1111", False),
    (AddressPolicy(), "127.0.0.1", False), (AddressPolicy(), "8.8.8.8", False),
    (PUBLIC_NET, "8.8.8.8", False),  # an allowed network does not make a public address safe to talk to in clear
    (PUBLIC_NET, "127.0.0.9", True),
])
def test_allows_plain_http(policy: AddressPolicy, ip: str, ok: bool) -> None:
    assert policy.allows_plain_http(ip) is ok
    if ok:
        policy.check_plain_http(ip)
    else:
        with pytest.raises(BlockedAddress) as err:
            policy.check_plain_http(ip)
        assert err.value.reason == PLAIN_HTTP_REFUSED and ip in err.value.detail


async def test_http_to_a_public_ip_literal_is_refused_before_the_transport(signing_key: SigningKey) -> None:
    calls: list[httpx.Request] = []

    class Body(httpx.AsyncByteStream):  # a real stream: SafeClient reads the raw bytes
        def __init__(self, data: bytes) -> None:
            self.data = data

        async def __aiter__(self) -> AsyncIterator[bytes]:
            yield self.data

    def answer(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(200, headers={"content-type": AP}, stream=Body(json.dumps({"id": str(request.url)}).encode()))

    async with SafeClient(policy=AddressPolicy(allow_private=True), user_agent="t",
                          transport=httpx.MockTransport(answer)) as c:
        for url in ("http://93.184.216.34/notes/1", "http://[2606:4700:4700::1111]/notes/1"):
            for call in (c.get_ap(url), c.get_json(url), c.get_text(url, accept="*/*"),
                         c.post(url, b"{}", sign_with=signing_key)):
                with pytest.raises(BlockedAddress) as err:
                    await call
                assert err.value.reason == PLAIN_HTTP_REFUSED and err.value.url == url
        assert calls == []
        # The same address over TLS is an ordinary peer.
        assert (await c.get_ap("https://93.184.216.34/notes/1"))["id"] == "https://93.184.216.34/notes/1"
        assert len(calls) == 1


@pytest.fixture
def dialled(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int]]:
    """Every address the guarded backend really dials; anything but loopback fails without a packet."""
    seen: list[tuple[str, int]] = []
    real = httpcore.AnyIOBackend.connect_tcp

    async def connect_tcp(self, host, port, *args, **kw):  # type: ignore[no-untyped-def]
        seen.append((host, port))
        if not host.startswith("127."):
            raise httpcore.ConnectError("test: no outside network")
        return await real(self, host, port, *args, **kw)

    monkeypatch.setattr(httpcore.AnyIOBackend, "connect_tcp", connect_tcp)
    return seen


async def _resolver(host: str, port: int) -> list[str]:
    answers = {"public.example": ["93.184.216.34"], "loop.example": ["127.0.0.1"]}
    try:
        return [str(ipaddress.ip_address(host))]
    except ValueError:
        pass
    if host not in answers:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
    return answers[host]


@pytest.mark.parametrize("policy", [LOOPBACK, AddressPolicy(allow_private=True)])
async def test_http_to_a_name_resolving_to_a_public_address_is_refused_at_connect_time(
        policy: AddressPolicy, dialled: list[tuple[str, int]], local_server: LocalServer,
        signing_key: SigningKey) -> None:
    async with SafeClient(policy=policy, user_agent="t", connect_timeout=1,
                          transport=build_transport(policy, resolver=_resolver)) as c:
        url = "http://public.example/notes/1"
        for call in (c.get_ap(url), c.get_json(url), c.get_text(url, accept="*/*"),
                     c.post("http://public.example/inbox", b"{}", sign_with=signing_key)):
            with pytest.raises(BlockedAddress) as err:
                await call
            assert err.value.reason == PLAIN_HTTP_REFUSED
        assert dialled == []

        # A redirect from an allowed loopback peer to public plain http is refused at that hop.
        local_server.redirect("/hop", "http://public.example/doc")
        with pytest.raises(BlockedAddress) as err:
            await c.get_json(local_server.url("/hop"))
        assert err.value.reason == PLAIN_HTTP_REFUSED and err.value.url == local_server.url("/hop")
        assert dialled == [("127.0.0.1", local_server.port)] and len(local_server.received) == 1

        # Loopback over plain http is still fine (tests, the local demo)...
        local_server.route("/n", body='{"ok": true}', content_type="application/json")
        assert await c.get_json(f"http://loop.example:{local_server.port}/n") == (200, {"ok": True})
        # ...and the public host over TLS is dialled as usual (here it fails for want of a network).
        with pytest.raises(FetchError) as err:
            await c.get_json("https://public.example/doc")
        assert not isinstance(err.value, BlockedAddress)
        assert dialled[-1] == ("93.184.216.34", 443)
