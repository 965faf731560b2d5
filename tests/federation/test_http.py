"""The safe client against real HTTP servers on 127.0.0.1 (see conftest.py)."""
from __future__ import annotations

import asyncio
import base64
import gzip
import hashlib
import ipaddress
import json
import socket
import time
import tracemalloc
from collections.abc import AsyncIterator
from datetime import timedelta
from email.utils import format_datetime

import pytest
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from federation.clock import FrozenClock
from federation.http import (
    AP_ACCEPT, LOCAL_QUEUE_FULL, AddressPolicy, BadContentType, BlockedAddress, FetchError, Gone,
    HTTPStatusError, IdMismatch, ResponseTooLarge, SafeClient, is_ap_content_type, is_temporary, parse_retry_after,
)
from federation.httpsig import SigningKey

from .conftest import LocalServer, verify_signature

AP = "application/activity+json"
LOOPBACK = AddressPolicy(allowed_networks=(ipaddress.ip_network("127.0.0.0/8"), ipaddress.ip_network("::1")))


@pytest.fixture
async def client() -> AsyncIterator[SafeClient]:
    async with SafeClient(policy=LOOPBACK, user_agent="UnionHall-test/1", max_bytes=4096) as c:
        yield c


# ---------------------------------------------------------------- URLs and headers


async def test_allowed_networks_let_loopback_through(client: SafeClient, local_server: LocalServer) -> None:
    url = local_server.serve_ap("/notes/1")
    doc = await client.get_ap(url)
    assert doc["content"] == "Solidarity"
    rec = local_server.received[0]
    assert rec.headers["accept"] == AP_ACCEPT
    assert rec.headers["accept-encoding"] == "identity"
    assert rec.headers["user-agent"] == "UnionHall-test/1"
    assert "signature" not in rec.headers


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.com/x", "http:///nohost",
                                 "http://user:pw@127.0.0.1/"])
async def test_unsupported_urls_refused(client: SafeClient, url: str) -> None:
    with pytest.raises(FetchError) as err:
        await client.get_json(url)
    assert err.value.reason in ("unsupported URL", "invalid URL")


# ---------------------------------------------------------------- redirects


async def test_three_redirects_followed_four_refused(client: SafeClient, local_server: LocalServer) -> None:
    first = local_server.url("/r1")
    local_server.serve_ap("/doc", id_=first)  # the id must still be the URL asked for
    local_server.redirect("/r1", "/r2", 301)
    local_server.redirect("/r2", local_server.url("/r3"), 307)
    local_server.redirect("/r3", "/doc", 308)
    assert (await client.get_ap(first))["id"] == first
    assert [r.path for r in local_server.received] == ["/r1", "/r2", "/r3", "/doc"]

    local_server.received.clear()
    local_server.redirect("/r0", "/r1")
    with pytest.raises(FetchError) as err:
        await client.get_ap(local_server.url("/r0"))
    assert err.value.reason == "too many redirects"
    assert [r.path for r in local_server.received] == ["/r0", "/r1", "/r2", "/r3"]


async def test_cross_origin_redirect_refused_for_ap_allowed_for_json(
        client: SafeClient, local_server: LocalServer, other_server: LocalServer) -> None:
    other_server.serve_ap("/doc", id_=local_server.url("/users/a"))
    local_server.redirect("/users/a", other_server.url("/doc"))
    with pytest.raises(FetchError) as err:
        await client.get_ap(local_server.url("/users/a"))
    assert err.value.reason == "cross-origin redirect"
    assert other_server.received == []

    # WebFinger hosts commonly redirect to the server that really answers.
    other_server.route("/wf", body='{"subject": "acct:a@x"}', content_type="application/jrd+json")
    local_server.redirect("/.well-known/webfinger", other_server.url("/wf"))
    status, doc = await client.get_json(local_server.url("/.well-known/webfinger"))
    assert (status, doc) == (200, {"subject": "acct:a@x"})


@pytest.mark.parametrize("target", ["http://169.254.169.254/latest/meta-data/", "http://[::ffff:10.0.0.1]/",
                                    "http://10.0.0.5/", "http://127.0.0.2:1/"])
async def test_redirect_to_blocked_address_refused(target: str, local_server: LocalServer) -> None:
    local_server.redirect("/hop", target)
    async with SafeClient(policy=AddressPolicy(allowed_networks=(ipaddress.ip_network("127.0.0.1/32"),)),
                          user_agent="t") as c:
        with pytest.raises(BlockedAddress):
            await c.get_json(local_server.url("/hop"))
    assert len(local_server.received) == 1


async def test_signed_get_carries_a_valid_signature_on_every_hop(
        client: SafeClient, local_server: LocalServer, signing_key: SigningKey, signing_pem: str) -> None:
    url = local_server.url("/users/alice")

    async def needs_signature(request: Request) -> Response:
        if "signature" not in request.headers:
            return Response('{"error":"Request not signed"}', status_code=401)
        verify_signature(local_server.received[-1], signing_pem)
        return Response(json.dumps({"id": url, "type": "Person"}), media_type=AP)

    local_server.route("/users/alice/", needs_signature)
    local_server.redirect("/users/alice", "/users/alice/?x=1")
    with pytest.raises(HTTPStatusError) as err:
        await client.get_ap(url)
    assert err.value.status == 401
    local_server.received.clear()

    assert (await client.get_ap(url, sign_with=signing_key))["type"] == "Person"
    for rec in local_server.received:  # both hops, each signed for its own target
        names = verify_signature(rec, signing_pem)
        assert {"(request-target)", "host", "date"} <= set(names)
        assert rec.headers["signature"].startswith(f'keyId="{signing_key.key_id}"')


# ---------------------------------------------------------------- what is accepted as a document


@pytest.mark.parametrize("value,ok", [
    ("application/activity+json", True),
    ("Application/Activity+JSON; charset=utf-8", True),
    ('application/ld+json; profile="https://www.w3.org/ns/activitystreams"', True),
    ('application/ld+json;PROFILE="https://w3id.org/security/v1 https://www.w3.org/ns/activitystreams"', True),
    ("application/ld+json", False),
    ('application/ld+json; profile="https://example.com/other"', False),
    ("application/json", False), ("text/html", False), ("", False), (None, False),
])
def test_is_ap_content_type(value: str | None, ok: bool) -> None:
    assert is_ap_content_type(value) is ok


@pytest.mark.parametrize("content_type", ["text/html; charset=utf-8", "application/json", "image/png"])
async def test_ap_json_with_wrong_content_type_refused(client: SafeClient, local_server: LocalServer,
                                                       content_type: str) -> None:
    url = local_server.serve_ap("/media/upload.png", content_type=content_type)
    with pytest.raises(BadContentType):
        await client.get_ap(url)


async def test_id_must_match_requested_url(client: SafeClient, local_server: LocalServer) -> None:
    for bad in ("https://evil.example/notes/1", local_server.url("/notes/1/"), None):
        url = local_server.serve_ap("/notes/1", {"id": bad, "type": "Note"} if bad else {"type": "Note"})
        with pytest.raises(IdMismatch):
            await client.get_ap(url)
    url = local_server.serve_ap("/list", [{"id": "x"}])  # type: ignore[arg-type]
    with pytest.raises(FetchError) as err:
        await client.get_ap(url)
    assert err.value.reason == "not a JSON object"


async def test_key_url_fragment(client: SafeClient, local_server: LocalServer) -> None:
    actor = local_server.url("/actor")
    local_server.serve_ap("/actor", {"id": actor, "type": "Application"})
    assert (await client.get_ap(actor + "#main-key"))["id"] == actor
    local_server.serve_ap("/actor", {"id": actor + "#main-key", "type": "Key"})
    assert (await client.get_ap(actor + "#main-key"))["type"] == "Key"
    with pytest.raises(IdMismatch):  # a fragment on the document alone is still a different id
        await client.get_ap(actor)


# ---------------------------------------------------------------- size, time, status


async def test_body_over_cap_refused_with_content_length(client: SafeClient, local_server: LocalServer) -> None:
    url = local_server.url("/big")
    local_server.route("/big", body=json.dumps({"id": url, "pad": "x" * 5000}), content_type=AP)
    with pytest.raises(ResponseTooLarge) as err:
        await client.get_ap(url)
    assert "Content-Length" in str(err.value)


async def test_body_over_cap_refused_when_chunked(client: SafeClient, local_server: LocalServer) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"id": "x", "pad": "'
        for _ in range(20):
            yield b"x" * 500
        yield b'"}'

    async def handler(request: Request) -> Response:
        return StreamingResponse(chunks(), media_type=AP)

    local_server.route("/stream", handler)
    with pytest.raises(ResponseTooLarge) as err:
        await client.get_ap(local_server.url("/stream"))
    assert "Content-Length" not in str(err.value)  # refused by counting, not by the header


async def test_gzip_bomb_capped_and_small_gzip_decoded(local_server: LocalServer) -> None:
    bomb = gzip.compress(b" " * 50_000_000)  # ~50 KB on the wire, under the cap; 50 MB inflated
    local_server.route("/bomb", body=bomb, content_type=AP, headers={"Content-Encoding": "gzip"})
    url = local_server.url("/small")
    local_server.route("/small", body=gzip.compress(json.dumps({"id": url}).encode()), content_type=AP,
                       headers={"Content-Encoding": "gzip"})
    async with SafeClient(policy=LOOPBACK, user_agent="t", max_bytes=100_000) as c:
        tracemalloc.start()
        try:
            with pytest.raises(ResponseTooLarge):
                await c.get_ap(local_server.url("/bomb"))
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert peak < 5_000_000  # never inflated far past the cap
        assert await c.get_ap(url) == {"id": url}


async def test_retry_after_seconds_and_http_date(local_server: LocalServer) -> None:
    clock = FrozenClock()
    local_server.route("/busy", status=429, headers={"Retry-After": "120"})
    when = format_datetime(clock.now() + timedelta(seconds=300), usegmt=True)
    local_server.route("/down", status=503, headers={"Retry-After": when})
    async with SafeClient(policy=LOOPBACK, user_agent="t", clock=clock) as c:
        with pytest.raises(HTTPStatusError) as err:
            await c.get_ap(local_server.url("/busy"))
        assert (err.value.status, err.value.retry_after) == (429, 120.0)
        with pytest.raises(HTTPStatusError) as err:
            await c.get_ap(local_server.url("/down"))
        assert (err.value.status, err.value.retry_after) == (503, 300.0)
    assert parse_retry_after("soon") is None
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # past dates mean "now"


async def test_gone(client: SafeClient, local_server: LocalServer) -> None:
    local_server.route("/users/deleted", status=410)
    with pytest.raises(Gone) as err:
        await client.get_ap(local_server.url("/users/deleted"))
    assert isinstance(err.value, HTTPStatusError) and err.value.status == 410


async def test_read_timeout_and_total_deadline(local_server: LocalServer) -> None:
    async def stall(request: Request) -> Response:
        await asyncio.sleep(1.5)
        return Response("{}", media_type=AP)

    async def drip(request: Request) -> Response:
        async def body() -> AsyncIterator[bytes]:
            for _ in range(40):  # each byte well within the read timeout; the whole far beyond
                await asyncio.sleep(0.1)
                yield b" "
        return StreamingResponse(body(), media_type=AP)

    local_server.route("/stall", stall)
    local_server.route("/drip", drip)
    async with SafeClient(policy=LOOPBACK, user_agent="t", read_timeout=0.3, total_timeout=0.8) as c:
        for path in ("/stall", "/drip"):
            started = time.monotonic()
            with pytest.raises(FetchError) as err:
                await c.get_ap(local_server.url(path))
            assert err.value.reason == "timeout"
            assert time.monotonic() - started < 1.4


# ---------------------------------------------------------------- JSON, text, POST


async def test_get_json_and_get_text(client: SafeClient, local_server: LocalServer) -> None:
    local_server.route("/nodeinfo", body='{"links": []}', content_type="application/json")
    local_server.route("/host-meta", body="<XRD/>", content_type="application/xrd+xml")
    local_server.route("/array", body="[1]", content_type="application/json")
    assert await client.get_json(local_server.url("/nodeinfo")) == (200, {"links": []})
    assert await client.get_json(local_server.url("/missing")) == (404, None)
    assert await client.get_text(local_server.url("/host-meta"), accept="application/xrd+xml") == (200, "<XRD/>")
    assert await client.get_text(local_server.url("/missing"), accept="*/*") == (404, "")
    assert local_server.received[2].headers["accept"] == "application/xrd+xml"
    with pytest.raises(FetchError):
        await client.get_json(local_server.url("/array"))


async def test_no_cookies_kept(client: SafeClient, local_server: LocalServer) -> None:
    local_server.route("/set", body="{}", content_type="application/json", headers={"Set-Cookie": "track=1; Path=/"})
    await client.get_json(local_server.url("/set"))
    await client.get_json(local_server.url("/set"))
    assert "cookie" not in local_server.received[1].headers


async def test_post_signed_exact_bytes_no_redirect(client: SafeClient, local_server: LocalServer,
                                                   signing_key: SigningKey, signing_pem: str) -> None:
    body = b'{"type":"Create","id":"https://unions.test/a/1","note":"\xc3\xa9"}'
    local_server.route("/inbox", status=202)
    resp = await client.post(local_server.url("/inbox"), body, sign_with=signing_key)
    assert resp.status_code == 202
    rec = local_server.received[0]
    assert rec.body == body and rec.headers["content-type"] == AP
    assert "digest" in verify_signature(rec, signing_pem)
    assert rec.headers["digest"] == "SHA-256=" + base64.b64encode(hashlib.sha256(body).digest()).decode()

    local_server.redirect("/moved", "/inbox")
    resp = await client.post(local_server.url("/moved"), body, sign_with=signing_key)
    assert resp.status_code == 302 and len(local_server.received) == 2

    local_server.route("/chatty", body="y" * 10_000, content_type="text/plain")
    resp = await client.post(local_server.url("/chatty"), body, sign_with=signing_key)
    assert resp.status_code == 200 and resp.content == b"y" * 4096  # truncated at the cap


async def test_post_network_errors_have_clear_reasons(client: SafeClient, signing_key: SigningKey,
                                                      local_server: LocalServer) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed_port = s.getsockname()[1]
    with pytest.raises(FetchError) as err:
        await client.post(f"http://127.0.0.1:{closed_port}/inbox", b"{}", sign_with=signing_key)
    assert err.value.reason == "connection refused"

    async def slow(request: Request) -> Response:
        await asyncio.sleep(1)
        return Response(status_code=202)

    local_server.route("/slow", slow)
    async with SafeClient(policy=LOOPBACK, user_agent="t", read_timeout=0.2) as c:
        with pytest.raises(FetchError) as err:
            await c.post(local_server.url("/slow"), b"{}", sign_with=signing_key)
    assert err.value.reason == "timeout"


async def test_many_requests_share_a_few_pooled_connections(local_server: LocalServer) -> None:
    async def slow(request: Request) -> Response:
        await asyncio.sleep(0.05)
        return Response('{"ok": true}', media_type="application/json")

    local_server.route("/n", slow)
    async with SafeClient(policy=LOOPBACK, user_agent="t", max_per_host=4) as c:
        results = await asyncio.gather(*(c.get_json(local_server.url("/n")) for _ in range(40)))
    assert results == [(200, {"ok": True})] * 40
    assert 1 < local_server.max_in_flight <= 4
    assert len({r.client_port for r in local_server.received}) <= 4  # connections were reused


# ---------------------------------------------------------------- our own queue is not the peer's fault


async def _status_or_reason(call) -> int | str:
    try:
        result = await call
    except FetchError as exc:
        return exc.reason
    return result[0] if isinstance(result, tuple) else result.status_code


async def test_waiting_for_a_host_slot_does_not_count_against_the_deadline(
        local_server: LocalServer, signing_key: SigningKey) -> None:
    # Three rounds of two take 1.5 s, past the 1 s deadline; each request alone keeps half a second
    # of margin (a loaded CI machine took more than 0.2 s of overhead for one).
    async def slow(request: Request) -> Response:
        await asyncio.sleep(0.5)
        return Response(status_code=202)

    local_server.route("/inbox", slow)
    async with SafeClient(policy=LOOPBACK, user_agent="t", max_per_host=2, total_timeout=1) as c:
        results = await asyncio.gather(*(
            _status_or_reason(c.post(local_server.url("/inbox"), b"{}", sign_with=signing_key)) for _ in range(6)))
    # Before: [202, 202, 'timeout', 'timeout', 'timeout', 'timeout'] -- four never even sent.
    assert results == [202] * 6
    assert local_server.max_in_flight == 2 and len(local_server.received) == 6


async def test_the_deadline_still_bounds_the_request_once_it_holds_its_slot(local_server: LocalServer) -> None:
    async def stall(request: Request) -> Response:
        await asyncio.sleep(1.2)
        return Response("{}", media_type="application/json")

    local_server.route("/stall", stall)
    async with SafeClient(policy=LOOPBACK, user_agent="t", max_per_host=1, total_timeout=0.5) as c:
        started = time.monotonic()
        results = await asyncio.gather(*(_status_or_reason(c.get_json(local_server.url("/stall")))
                                         for _ in range(2)))
    assert results == ["timeout", "timeout"]
    assert len(local_server.received) == 2  # the second was sent (after the first gave up), then timed out
    assert time.monotonic() - started < 1.4


async def test_a_slot_wait_over_its_own_limit_is_local_queue_full(local_server: LocalServer,
                                                                  signing_key: SigningKey) -> None:
    async def slow(request: Request) -> Response:
        await asyncio.sleep(0.6)
        return Response(status_code=202)

    local_server.route("/inbox", slow)
    async with SafeClient(policy=LOOPBACK, user_agent="t", max_per_host=1, queue_timeout=0.2) as c:
        url = local_server.url("/inbox")
        results = await asyncio.gather(*(_status_or_reason(c.post(url, b"{}", sign_with=signing_key))
                                         for _ in range(2)))
        assert results == [202, LOCAL_QUEUE_FULL]
        assert len(local_server.received) == 1  # the queued one was never sent

        first = asyncio.ensure_future(c.post(url, b"{}", sign_with=signing_key))
        await asyncio.sleep(0.05)
        with pytest.raises(FetchError) as err:  # a per-call limit (the delivery worker's lease) wins
            await c.post(url, b"{}", sign_with=signing_key, queue_timeout=0.05)
        assert (await first).status_code == 202
    assert err.value.reason == LOCAL_QUEUE_FULL and err.value.url == url
    assert not isinstance(err.value, BlockedAddress) and is_temporary(err.value)
