"""Address policy (mirrors Mastodon's private_address_check) and its enforcement at connect time."""
from __future__ import annotations

import ipaddress
import socket

import httpx
import pytest

from federation.addresses import AddressPolicy, BlockedAddress, FetchError, build_transport, is_public_address
from federation.http import SafeClient
from federation.httpsig import SigningKey

from .conftest import LocalServer, SilentListener

LOOPBACK = AddressPolicy(allowed_networks=(ipaddress.ip_network("127.0.0.0/8"), ipaddress.ip_network("::1")))

BLOCKED = [
    # IPv4 special ranges
    "0.0.0.0", "0.1.2.3", "10.0.0.5", "100.64.0.1", "100.127.255.254", "127.0.0.1", "127.255.0.1",
    "169.254.169.254", "172.16.0.1", "172.31.255.255", "192.0.0.8", "192.0.2.1", "192.88.99.1",
    "192.168.1.1", "198.18.0.1", "198.51.100.7", "203.0.113.9", "224.0.0.1", "239.255.255.250",
    "240.0.0.1", "255.255.255.255",
    # IPv6 special ranges
    "::", "::1", "fe80::1", "fe80::1%eth0", "fc00::1", "fd12:3456::1", "fec0::1", "ff02::1", "ff0e::1",
    "100::1", "2001:db8::1", "2001:10::1", "2001:20::1",
    # IPv4 smuggled inside IPv6
    "::ffff:127.0.0.1", "::ffff:10.0.0.1", "::ffff:169.254.169.254", "::ffff:0.0.0.0",
    "::127.0.0.1", "::10.0.0.1", "::8.8.8.8",  # IPv4-compatible: deprecated, refused whole
    "2002:7f00:1::1", "2002:a00:1::", "2002:808:808::1",  # 6to4 (Mastodon refuses all of 2002::/16)
    "2001:0:4136:e378:8000:63bf:3fff:fdd2",  # Teredo
    "64:ff9b::7f00:1", "64:ff9b::a9fe:a9fe", "64:ff9b::808:808", "64:ff9b:1::a00:1",  # NAT64
    "[::1]",  # as it appears in a URL
]

PUBLIC = ["8.8.8.8", "1.1.1.1", "93.184.216.34", "100.63.255.255", "100.128.0.1", "172.32.0.1",
          "2606:4700:4700::1111", "2a01:4f8::1", "::ffff:8.8.8.8"]


@pytest.mark.parametrize("ip", BLOCKED)
def test_blocked_addresses_are_not_public(ip: str) -> None:
    assert is_public_address(ip) is False
    with pytest.raises(BlockedAddress) as err:
        AddressPolicy().check(ip)
    assert err.value.reason == "blocked address" and ip in str(err.value)


@pytest.mark.parametrize("ip", PUBLIC)
def test_public_addresses_pass(ip: str) -> None:
    assert is_public_address(ip) is True
    AddressPolicy().check(ip)  # no exception


def test_accepts_ipaddress_objects_and_rejects_garbage() -> None:
    assert is_public_address(ipaddress.ip_address("8.8.8.8")) is True
    assert is_public_address(ipaddress.ip_address("10.1.2.3")) is False
    for junk in ("example.com", "", "999.1.1.1", "1.2.3"):
        assert is_public_address(junk) is False
        with pytest.raises(BlockedAddress):
            AddressPolicy(allow_private=True).check(junk)  # even "allow all" needs an address


def test_blocked_address_is_a_fetch_error() -> None:
    with pytest.raises(FetchError):
        AddressPolicy().check("127.0.0.1")


@pytest.mark.parametrize("value", [None, "", "   "])
def test_from_setting_empty_allows_nothing_private(value: str | None) -> None:
    policy = AddressPolicy.from_setting(value)
    assert policy == AddressPolicy()
    assert not policy.allows("127.0.0.1")
    assert policy.allows("8.8.8.8")


@pytest.mark.parametrize("value", ["1", "true", "YES", " True "])
def test_from_setting_true_allows_every_private_address(value: str) -> None:
    policy = AddressPolicy.from_setting(value)
    assert policy.allow_private
    for ip in ("127.0.0.1", "10.0.0.5", "::1", "169.254.169.254", "fd00::1"):
        policy.check(ip)


def test_from_setting_list_allows_only_those_networks() -> None:
    policy = AddressPolicy.from_setting("127.0.0.1/8, ::1,192.168.10.0/24")
    assert policy.allowed_networks == (
        ipaddress.ip_network("127.0.0.0/8"), ipaddress.ip_network("::1/128"),
        ipaddress.ip_network("192.168.10.0/24"),
    )
    for ip in ("127.0.0.1", "127.9.9.9", "::1", "192.168.10.20", "::ffff:127.0.0.1", "8.8.8.8"):
        policy.check(ip)
    for ip in ("10.0.0.5", "192.168.11.1", "169.254.169.254", "::", "0.0.0.0", "fe80::1"):
        with pytest.raises(BlockedAddress):
            policy.check(ip)


def test_allowed_networks_for_loopback_in_tests() -> None:
    policy = AddressPolicy(allowed_networks=(ipaddress.ip_network("127.0.0.0/8"),))
    policy.check("127.0.0.1")
    with pytest.raises(BlockedAddress):
        policy.check("::1")  # an IPv4 network does not cover IPv6 loopback
    with pytest.raises(BlockedAddress):
        policy.check("10.0.0.1")


@pytest.mark.parametrize("value", ["localhost", "127.0.0.1/33", "maybe", "10.0.0.0/8,,nope"])
def test_from_setting_typos_fail_loudly(value: str) -> None:
    with pytest.raises(ValueError):
        AddressPolicy.from_setting(value)


def test_policy_is_immutable() -> None:
    policy = AddressPolicy()
    with pytest.raises(AttributeError):
        policy.allow_private = True  # type: ignore[misc]


BLOCKED_LITERALS = [
    "http://127.0.0.1:8080/key", "http://[::ffff:10.0.0.1]/", "http://[::]/", "http://0.0.0.0/",
    "http://169.254.169.254/latest/meta-data/", "http://[::1]/", "http://10.0.0.5/",
    "http://100.64.0.1/", "http://[fe80::1]/", "http://[::ffff:127.0.0.1]/", "http://[::127.0.0.1]/",
    "http://[64:ff9b::a9fe:a9fe]/", "http://[2002:a00:1::]/", "http://[fd00::1]/",
]


# ---------------------------------------------------------------- enforced at connect time (GuardedBackend)


@pytest.mark.parametrize("url", BLOCKED_LITERALS)
async def test_ip_literals_refused_before_the_transport_is_touched(url: str, signing_key: SigningKey) -> None:
    calls: list[httpx.Request] = []
    transport = httpx.MockTransport(lambda r: calls.append(r) or httpx.Response(200, json={"id": url}))
    async with SafeClient(policy=AddressPolicy(), user_agent="t", transport=transport) as c:
        for call in (c.get_ap(url), c.get_json(url), c.get_text(url, accept="*/*"),
                     c.post(url, b"{}", sign_with=signing_key)):
            with pytest.raises(BlockedAddress) as err:
                await call
            assert err.value.url == url
    assert calls == []


async def test_loopback_listener_gets_no_connection_unless_allowed(silent_listener: SilentListener,
                                                                   signing_key: SigningKey) -> None:
    port = silent_listener.port
    async with SafeClient(policy=AddressPolicy(), user_agent="t") as c:
        # a literal, a name resolving to loopback, and the decimal spelling getaddrinfo accepts
        for url in (f"http://127.0.0.1:{port}/", f"http://localhost:{port}/", f"http://2130706433:{port}/"):
            with pytest.raises(BlockedAddress):
                await c.get_ap(url)
        with pytest.raises(BlockedAddress):
            await c.post(f"http://localhost:{port}/inbox", b"{}", sign_with=signing_key)
    assert silent_listener.connections() == 0
    # Control: the same listener does count a connection the policy lets through.
    async with SafeClient(policy=LOOPBACK, user_agent="t", read_timeout=0.2) as c:
        with pytest.raises(FetchError) as err:
            await c.get_ap(f"http://127.0.0.1:{port}/")
        assert err.value.reason == "timeout"
    assert silent_listener.connections() == 1


async def test_connects_to_the_checked_address_not_a_second_lookup(local_server: LocalServer,
                                                                   silent_listener: SilentListener) -> None:
    answers = {"rebind.example": ["127.0.0.1"], "evil.example": ["10.0.0.5"],
               "mixed.example": ["93.184.216.34", "127.0.0.1"]}

    async def resolver(host: str, port: int) -> list[str]:
        if host not in answers:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return answers[host]

    # rebind.example is unknown to the system resolver: success proves we dialled our own answer.
    async with SafeClient(policy=LOOPBACK, user_agent="t",
                          transport=build_transport(LOOPBACK, resolver=resolver)) as c:
        url = f"http://rebind.example:{local_server.port}/doc"
        local_server.serve_ap("/doc", id_=url)
        assert (await c.get_ap(url))["id"] == url
        assert local_server.received[0].headers["host"] == f"rebind.example:{local_server.port}"
        with pytest.raises(BlockedAddress):
            await c.get_ap("http://evil.example/doc")
        with pytest.raises(FetchError) as err:
            await c.get_ap("http://nowhere.example/doc")
        assert err.value.reason == "dns resolution failed"
    strict = AddressPolicy()
    async with SafeClient(policy=strict, user_agent="t",
                          transport=build_transport(strict, resolver=resolver)) as c:
        with pytest.raises(BlockedAddress):  # one private answer among public ones is enough
            await c.get_json(f"http://mixed.example:{silent_listener.port}/")
    assert silent_listener.connections() == 0
