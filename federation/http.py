"""The one HTTP client for every outbound request of the server.

Guards, each for a known attack on ActivityPub servers (interop notes C.1, C.5, Mastodon 5.1/5.3):
- SSRF: the address is checked where the socket is opened, after our own DNS lookup, so a
  name that re-resolves to 10.0.0.5 between check and connect (DNS rebinding) still fails;
  IP-literal URLs are refused before any socket exists.
- Size/time: bodies are streamed against a byte cap (compressed and decoded), connect/read
  timeouts plus one overall deadline per call (slow-drip responses, CVE-2023-36461). The
  deadline runs only while the call holds its connection slot: time spent queued behind our
  own per-host/total limits is not the peer's, and has a limit (and an error) of its own.
- Plain http:// goes only to loopback/private addresses the policy allows (tests, a local
  demo); TLS is what authenticates a public peer's name.
- Redirects are followed by hand: each hop is re-checked, re-signed, and for AP documents
  must stay on the same origin (a host must not vouch for another host's document).
- Type confusion and impersonation: AP documents must come with an AP content type
  (CVE-2024-25623) and carry exactly the id that was asked for (CVE-2024-23832).
"""
from __future__ import annotations

import asyncio
import email.utils
import json
import socket
import ssl
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import aclosing, asynccontextmanager
from datetime import datetime, timezone
from http.cookiejar import CookieJar, DefaultCookiePolicy
from typing import Any, TypeVar

import httpx

from federation.addresses import (
    PLAIN_HTTP_REFUSED, AddressPolicy, BlockedAddress, FetchError, GuardedBackend, Resolver, build_transport,
    parse_ip,
)
from federation.clock import SYSTEM_CLOCK, Clock
from federation.httpsig import HttpSigAuth, SigningKey

__all__ = [  # the policy names are re-exported: callers import everything from here
    "AP_ACCEPT", "LOCAL_QUEUE_FULL", "PLAIN_HTTP_REFUSED", "AddressPolicy", "BadContentType", "BlockedAddress",
    "FetchError", "Gone", "GuardedBackend", "HTTPStatusError", "IdMismatch", "ResponseTooLarge", "Resolver",
    "SafeClient", "build_transport", "is_ap_content_type", "is_temporary", "parse_retry_after",
]

AS_PROFILE = "https://www.w3.org/ns/activitystreams"
AP_ACCEPT = f'application/activity+json, application/ld+json; profile="{AS_PROFILE}"'
_REDIRECT_CODES = frozenset({301, 302, 303, 307, 308})
# The request never left this server: it waited too long for a connection slot of our own.
# Temporary, and nothing to hold against the peer.
LOCAL_QUEUE_FULL = "local queue full"
T = TypeVar("T")


class ResponseTooLarge(FetchError):
    pass


class BadContentType(FetchError):
    pass


class IdMismatch(FetchError):
    pass


class HTTPStatusError(FetchError):
    def __init__(self, reason: str, url: str = "", *, status: int,
                 retry_after: float | None = None, detail: str = "") -> None:
        super().__init__(reason, url, detail)
        self.status = status
        self.retry_after = retry_after


class Gone(HTTPStatusError):
    """410: the remote says the object is deleted for good (Mastodon answers this for deleted actors)."""


def is_ap_content_type(value: str | None) -> bool:
    """application/activity+json, or application/ld+json whose profile list names ActivityStreams."""
    if not value:
        return False
    mime, *params = (part.strip() for part in value.split(";"))
    mime = mime.lower()
    if mime == "application/activity+json":
        return True
    if mime != "application/ld+json":
        return False
    for param in params:
        key, _, val = param.partition("=")
        if key.strip().lower() == "profile":
            # RFC 6906: the profile parameter is a space-separated list of URIs.
            if AS_PROFILE in val.strip().strip('"').split():
                return True
    return False


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP-date); None if absent/invalid."""
    if not value:
        return None
    text = value.strip()
    if text.isdigit():
        return float(int(text))
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    now = now or datetime.now(timezone.utc)
    return max(0.0, (when - now).total_seconds())


class _HostLimiter:
    """At most `per_host` requests in flight per host and `total` in all; per-host entries
    vanish when idle so the map stays small.

    The total matches the connection pool's size, so a request holding a slot never queues in
    the pool: all local queueing happens here, before the call's deadline starts.
    """

    def __init__(self, per_host: int, total: int) -> None:
        self._limit = per_host
        self._total = asyncio.Semaphore(total)
        self._slots: dict[str, tuple[asyncio.Semaphore, list[int]]] = {}

    @asynccontextmanager
    async def slot(self, host: str, *, wait: float | None) -> AsyncIterator[None]:
        """Hold a slot for `host`; waiting longer than `wait` seconds raises LOCAL_QUEUE_FULL."""
        sem, users = self._slots.setdefault(host, (asyncio.Semaphore(self._limit), [0]))
        users[0] += 1
        try:
            try:
                async with asyncio.timeout(wait):
                    await sem.acquire()
                    try:
                        await self._total.acquire()
                    except BaseException:
                        sem.release()
                        raise
            except TimeoutError:
                raise FetchError(LOCAL_QUEUE_FULL, detail=f"no free connection slot for {host} within {wait}s",
                                 ) from None
            try:
                yield
            finally:
                self._total.release()
                sem.release()
        finally:
            users[0] -= 1
            if users[0] == 0:
                self._slots.pop(host, None)


class _CallTimer:
    """One call's time limits. The overall deadline (`asyncio.Timeout`, entered by `_run` with no
    deadline yet) runs only while a request holds its slot: it is paused while waiting for one,
    which `queue_wait` bounds instead."""

    def __init__(self, timeout: asyncio.Timeout, total: float, queue_wait: float | None) -> None:
        self._timeout = timeout
        self._left = total
        self._running_since: float | None = None
        self.queue_wait = queue_wait

    def pause(self) -> None:
        if self._timeout.expired():
            return  # the TimeoutError is already on its way
        if self._running_since is not None:
            self._left -= asyncio.get_running_loop().time() - self._running_since
            self._running_since = None
        self._timeout.reschedule(None)

    def resume(self) -> None:
        if self._timeout.expired():
            return
        self._running_since = asyncio.get_running_loop().time()
        self._timeout.reschedule(self._running_since + max(self._left, 0.0))


def _origin(url: httpx.URL) -> tuple[str, str, int | None]:
    return url.scheme, url.host, url.port


def _network_reason(exc: BaseException) -> str:
    if isinstance(exc, httpx.TimeoutException):
        return "timeout"
    seen: set[int] = set()
    cause: BaseException | None = exc
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        if isinstance(cause, ConnectionRefusedError):
            return "connection refused"
        if isinstance(cause, socket.gaierror) or "could not resolve" in str(cause):
            return "dns resolution failed"
        if isinstance(cause, ssl.SSLError):
            return "tls error"
        cause = cause.__cause__ or cause.__context__
    if isinstance(exc, httpx.ConnectError):
        return "connection failed"
    if isinstance(exc, httpx.RemoteProtocolError | httpx.LocalProtocolError):
        return "protocol error"
    return "connection error"


def _parse_object(body: bytes, url: str) -> dict[str, Any]:
    try:
        doc = json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise FetchError("invalid JSON", url, str(exc)[:200]) from None
    if not isinstance(doc, dict):
        raise FetchError("not a JSON object", url)
    return doc


def _check_id(doc: dict[str, Any], url: str) -> None:
    doc_id = doc.get("id")
    allowed = {url}
    if "#" in url:
        # Key ids (…/actor#main-key) are served inside the actor document, whose id has no fragment.
        allowed.add(url.split("#", 1)[0])
    if not isinstance(doc_id, str) or doc_id not in allowed:
        raise IdMismatch("id does not match the requested URL", url, f"document id {doc_id!r}")


_NETWORK_REASONS = frozenset({"timeout", "connection refused", "dns resolution failed", "tls error",
                              "connection failed", "connection error"})


def is_temporary(exc: FetchError) -> bool:
    """Worth trying again later: the peer was unreachable or answered 5xx/429/408, or our own
    queue was full. A wrong content type, an id mismatch, a 4xx or a refused address will not
    get better."""
    if isinstance(exc, HTTPStatusError):
        return exc.status >= 500 or exc.status in (408, 429)
    if isinstance(exc, (BlockedAddress, BadContentType, IdMismatch, ResponseTooLarge)):
        return False
    return exc.reason in _NETWORK_REASONS or exc.reason == LOCAL_QUEUE_FULL


class SafeClient:
    """Every outbound request of the server goes through one of these (share it; it pools).

    `transport` replaces the guarded transport (tests with httpx.MockTransport): IP-literal
    URLs are still refused up front (and plain http to a public literal), but host names are
    then not checked at connect time. `clock` dates Retry-After HTTP-dates.

    Time: `total_timeout` bounds each call (all hops, all reads) from the moment it holds a
    connection slot (at most `max_per_host` per host, `max_connections` in all); waiting for
    a slot is bounded by `queue_timeout` (per call: the `queue_timeout=` argument) and ends in
    FetchError(LOCAL_QUEUE_FULL), which says nothing about the peer.
    """

    def __init__(self, *, policy: AddressPolicy, user_agent: str, max_bytes: int = 1_048_576,
                 connect_timeout: float = 5, read_timeout: float = 10, total_timeout: float = 30,
                 queue_timeout: float = 120, max_redirects: int = 3, max_connections: int = 100,
                 max_per_host: int = 20, transport: httpx.AsyncBaseTransport | None = None,
                 clock: Clock = SYSTEM_CLOCK) -> None:
        self.policy = policy
        self.max_bytes = max_bytes
        self._total_timeout = total_timeout
        self._queue_timeout = queue_timeout
        self._max_redirects = max_redirects
        self._clock = clock
        self._hosts = _HostLimiter(max_per_host, max_connections)
        self._client = httpx.AsyncClient(
            transport=transport or build_transport(policy, max_connections=max_connections),
            timeout=httpx.Timeout(connect=connect_timeout, read=read_timeout, write=read_timeout,
                                  pool=total_timeout),
            # identity: a compressed body is still decoded under the cap below, but most
            # servers honour this and we then never hold a decompressor at all.
            headers={"User-Agent": user_agent, "Accept-Encoding": "identity"},
            follow_redirects=False,
            trust_env=False,
            # No cookies: a server must not be able to tag our later requests (or a shared host's).
            cookies=CookieJar(policy=DefaultCookiePolicy(allowed_domains=[])),
        )

    async def aclose(self) -> None:
        await self._client.aclose()

    async def __aenter__(self) -> "SafeClient":
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    @property
    def total_timeout(self) -> float:
        """Seconds one call may take once it holds its connection slot."""
        return self._total_timeout

    @property
    def queue_timeout(self) -> float:
        """Default seconds a call may wait for a connection slot."""
        return self._queue_timeout

    # -- public calls ---------------------------------------------------------------------------

    async def get_ap(self, url: str, *, sign_with: SigningKey | None = None,
                     check_id: bool = True, queue_timeout: float | None = None) -> dict[str, Any]:
        """`check_id=False` only where the caller re-fetches the id the document names and checks
        it (key ids: GoToSocial's `…/main-key` serves a stub whose id is the actor)."""
        async def run(timer: _CallTimer) -> dict[str, Any]:
            async with self._open("GET", url, {"Accept": AP_ACCEPT}, timer, sign_with=sign_with,
                                  redirects="same-origin") as resp:
                self._raise_for_status(resp, url)
                ctype = resp.headers.get("content-type")
                if not is_ap_content_type(ctype):
                    raise BadContentType("not an ActivityPub content type", url, repr(ctype))
                body = await self._read(resp, url)
            doc = _parse_object(body, url)
            if check_id:
                _check_id(doc, url)
            return doc

        return await self._run(url, run, queue_timeout)

    async def get_json(self, url: str, *, accept: str = "application/json",
                       queue_timeout: float | None = None) -> tuple[int, dict[str, Any] | None]:
        async def run(timer: _CallTimer) -> tuple[int, dict[str, Any] | None]:
            async with self._open("GET", url, {"Accept": accept}, timer, redirects="any") as resp:
                if not resp.is_success:
                    return resp.status_code, None
                body = await self._read(resp, url)
            return resp.status_code, _parse_object(body, url)

        return await self._run(url, run, queue_timeout)

    async def get_text(self, url: str, *, accept: str, queue_timeout: float | None = None) -> tuple[int, str]:
        """Status and body text; the text is "" when the status is not 2xx."""
        async def run(timer: _CallTimer) -> tuple[int, str]:
            async with self._open("GET", url, {"Accept": accept}, timer, redirects="any") as resp:
                if not resp.is_success:
                    return resp.status_code, ""
                body = await self._read(resp, url)
                return resp.status_code, body.decode(resp.charset_encoding or "utf-8", "replace")

        return await self._run(url, run, queue_timeout)

    async def post(self, url: str, body: bytes, *, sign_with: SigningKey,
                   content_type: str = "application/activity+json",
                   queue_timeout: float | None = None) -> httpx.Response:
        """Signed POST; redirects are returned, not followed (a delivery must not be re-aimed).
        `queue_timeout` (any call): this call's limit on waiting for a connection slot, e.g. what
        is left of the caller's lease after the total timeout."""
        async def run(timer: _CallTimer) -> httpx.Response:
            headers = {"Content-Type": content_type, "Accept": AP_ACCEPT}
            async with self._open("POST", url, headers, timer, content=body, sign_with=sign_with,
                                  redirects="none") as resp:
                data = await self._read(resp, url, truncate=True)
                # The body is already decoded and maybe cut short: drop the headers describing the wire form.
                kept = [(k, v) for k, v in resp.headers.multi_items()
                        if k.lower() not in ("content-encoding", "content-length", "transfer-encoding")]
                return httpx.Response(resp.status_code, headers=kept, content=data, request=resp.request)

        return await self._run(url, run, queue_timeout)

    # -- machinery ------------------------------------------------------------------------------

    async def _run(self, url: str, call: Callable[[_CallTimer], Awaitable[T]], queue_timeout: float | None) -> T:
        """One deadline around the whole call (all hops, all reads; armed once it holds a slot)
        and one error vocabulary."""
        queue_wait = self._queue_timeout if queue_timeout is None else max(0.0, queue_timeout)
        try:
            async with asyncio.timeout(None) as deadline:
                return await call(_CallTimer(deadline, self._total_timeout, queue_wait))
        except FetchError as exc:
            raise exc.with_url(url)
        except TimeoutError:
            raise FetchError("timeout", url, f"no complete answer within {self._total_timeout}s") from None
        except httpx.PoolTimeout:
            # The pool is as large as the slots, so this should not happen; if it does, it is ours.
            raise FetchError(LOCAL_QUEUE_FULL, url, "no free pooled connection") from None
        except httpx.HTTPError as exc:
            raise FetchError(_network_reason(exc), url, str(exc) or type(exc).__name__) from exc

    def _target(self, url: str, base: httpx.URL | None = None) -> httpx.URL:
        try:
            target = base.join(url) if base is not None else httpx.URL(url)
        except (httpx.InvalidURL, TypeError, ValueError) as exc:
            raise FetchError("invalid URL", str(url), str(exc)) from None
        if target.scheme not in ("http", "https") or not target.host:
            raise FetchError("unsupported URL", str(url), "only absolute http(s) URLs are fetched")
        if target.userinfo:
            # httpx would turn user:pass@ into an Authorization header sent to whoever answers.
            raise FetchError("unsupported URL", str(url), "credentials in URL")
        try:
            literal = parse_ip(target.host)
        except ValueError:
            literal = None
        if literal is not None:
            self.policy.check(literal)  # before any socket: the backend would refuse it too
            if target.scheme == "http":
                self.policy.check_plain_http(literal)
        return target

    @asynccontextmanager
    async def _slot(self, host: str, timer: _CallTimer) -> AsyncIterator[None]:
        """Wait for a connection slot with the deadline paused; it runs while the slot is held."""
        timer.pause()
        async with self._hosts.slot(host, wait=timer.queue_wait):
            timer.resume()
            yield

    @asynccontextmanager
    async def _open(self, method: str, url: str, headers: dict[str, str], timer: _CallTimer, *,
                    content: bytes | None = None, sign_with: SigningKey | None = None,
                    redirects: str) -> AsyncIterator[httpx.Response]:
        """Yield the final streamed response, following redirects per `redirects` (none/same-origin/any)."""
        current = self._target(url)
        first = current
        for _hop in range(self._max_redirects + 1):
            async with self._slot(current.host, timer):
                request = self._client.build_request(method, current, headers=headers, content=content)
                # A fresh signature per hop: the signed (request-target) and Host change with the URL.
                auth = HttpSigAuth(sign_with) if sign_with is not None else httpx.USE_CLIENT_DEFAULT
                resp = await self._client.send(request, auth=auth, stream=True)
                try:
                    if redirects == "none" or resp.status_code not in _REDIRECT_CODES:
                        yield resp
                        return
                    location = resp.headers.get("location")
                    if not location:
                        raise FetchError("redirect without location", url)
                    nxt = self._target(location, base=current)
                finally:
                    await resp.aclose()
            if redirects == "same-origin" and _origin(nxt) != _origin(first):
                raise FetchError("cross-origin redirect", url, f"to {nxt}")
            if current.scheme == "https" and nxt.scheme == "http":
                raise FetchError("insecure redirect", url, f"to {nxt}")
            current = nxt
        raise FetchError("too many redirects", url, f"more than {self._max_redirects}")

    def _raise_for_status(self, resp: httpx.Response, url: str) -> None:
        if resp.is_success:
            return
        retry_after = parse_retry_after(resp.headers.get("retry-after"), self._clock.now())
        cls = Gone if resp.status_code == 410 else HTTPStatusError
        raise cls(f"HTTP {resp.status_code}", url, status=resp.status_code, retry_after=retry_after)

    async def _read(self, resp: httpx.Response, url: str, *, truncate: bool = False) -> bytes:
        """Read at most max_bytes, counting both the wire bytes and the decoded bytes.

        truncate=True keeps the first max_bytes instead of failing (POST answers, where only the
        status matters).
        """
        cap = self.max_bytes

        def too_large(detail: str) -> ResponseTooLarge:
            return ResponseTooLarge("response too large", url, detail)

        length = resp.headers.get("content-length", "")
        if not truncate and length.isdigit() and int(length) > cap:
            raise too_large(f"Content-Length {length} > {cap}")
        encoding = resp.headers.get("content-encoding", "").strip().lower()
        if encoding in ("", "identity"):
            decoder = None
        elif encoding in ("gzip", "x-gzip", "deflate"):
            decoder = zlib.decompressobj(zlib.MAX_WBITS | 32)  # accepts gzip and zlib wrappers
        elif truncate:
            return b""  # a POST answer we cannot decode: its status is all that matters
        else:
            raise FetchError("unsupported content-encoding", url, encoding)

        out = bytearray()
        wire = 0
        async with aclosing(resp.aiter_raw()) as chunks:
            async for chunk in chunks:
                wire += len(chunk)
                if decoder is None:
                    out += chunk
                else:
                    try:
                        # max_length bounds each step, so a bomb never inflates past cap+1 bytes.
                        out += decoder.decompress(chunk, cap + 1 - len(out))
                        while decoder.unconsumed_tail and len(out) <= cap:
                            out += decoder.decompress(decoder.unconsumed_tail, cap + 1 - len(out))
                    except zlib.error as exc:
                        if truncate:
                            break
                        raise FetchError("invalid content-encoding", url, str(exc)) from None
                if len(out) > cap or wire > cap:
                    if truncate:
                        del out[cap:]
                        break
                    raise too_large(f"body exceeds {cap} bytes")
        return bytes(out)
