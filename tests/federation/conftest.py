"""Real HTTP servers on 127.0.0.1 for the federation tests.

`local_server` / `other_server`: uvicorn serving a tiny ASGI app in a background thread;
each test registers the routes it needs and reads back what the server received.
`silent_listener`: a bare listening socket that never accepts, so a test can count the
TCP connections that reached it (the kernel queues completed handshakes in the backlog).
"""
from __future__ import annotations

import socket
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import base64
import json
import re

import pytest
import uvicorn
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from starlette.requests import Request
from starlette.responses import Response

from federation.httpsig import SigningKey, generate_private_key_pem

Handler = Callable[[Request], Awaitable[Response]]


@dataclass
class Received:
    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes
    client_port: int


@dataclass
class LocalServer:
    host: str = "127.0.0.1"
    port: int = 0
    routes: dict[str, Handler] = field(default_factory=dict)
    received: list[Received] = field(default_factory=list)
    in_flight: int = 0
    max_in_flight: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def origin(self) -> str:
        return f"http://{self.host}:{self.port}"

    def url(self, path: str = "/") -> str:
        return self.origin + path

    def route(self, path: str, handler: Handler | None = None, *, status: int = 200,
              body: bytes | str = b"", content_type: str | None = None,
              headers: dict[str, str] | None = None) -> None:
        """Serve `path` with `handler`, or with a fixed response built from the other arguments."""
        if handler is None:
            data = body.encode() if isinstance(body, str) else body

            async def handler(request: Request) -> Response:
                return Response(data, status_code=status, headers=headers, media_type=content_type)

        self.routes[path] = handler

    def serve_ap(self, path: str, doc: Any = None, *, content_type: str = "application/activity+json",
                 id_: str | None = None) -> str:
        """Serve an AS2 document at `path` (by default a Note whose id is that URL); return the URL."""
        url = self.url(path)
        doc = {"id": id_ or url, "type": "Note", "content": "Solidarity"} if doc is None else doc
        self.route(path, body=json.dumps(doc), content_type=content_type)
        return url

    def redirect(self, path: str, to: str, status: int = 302) -> None:
        self.route(path, status=status, headers={"Location": to})

    def reset(self) -> None:
        self.routes.clear()
        self.received.clear()
        self.in_flight = self.max_in_flight = 0

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        request = Request(scope, receive)
        body = await request.body()
        self.received.append(Received(
            method=request.method, path=request.url.path, query=request.url.query,
            headers={k.lower(): v for k, v in request.headers.items()}, body=body,
            client_port=scope["client"][1] if scope.get("client") else 0,
        ))
        handler = self.routes.get(request.url.path)
        with self._lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            response = await handler(request) if handler else Response("not found", status_code=404)
        finally:
            with self._lock:
                self.in_flight -= 1
        await response(scope, receive, send)


def _start(app: LocalServer) -> Iterator[LocalServer]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    app.port = sock.getsockname()[1]
    config = uvicorn.Config(app, lifespan="off", log_level="warning", access_log=False,
                            timeout_keep_alive=30)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("test server did not start")
        time.sleep(0.01)
    try:
        yield app
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


@pytest.fixture(scope="session")
def _server_a() -> Iterator[LocalServer]:
    yield from _start(LocalServer())


@pytest.fixture(scope="session")
def _server_b() -> Iterator[LocalServer]:
    yield from _start(LocalServer())


@pytest.fixture
def local_server(_server_a: LocalServer) -> LocalServer:
    _server_a.reset()
    return _server_a


@pytest.fixture
def other_server(_server_b: LocalServer) -> LocalServer:
    """A second origin (another port), for cross-origin redirects."""
    _server_b.reset()
    return _server_b


class SilentListener:
    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.sock.setblocking(False)
        self.port: int = self.sock.getsockname()[1]
        self.accepted = 0

    def connections(self) -> int:
        """Accept whatever reached the backlog and return the running total."""
        while True:
            try:
                conn, _ = self.sock.accept()
            except BlockingIOError:
                return self.accepted
            conn.close()
            self.accepted += 1


@pytest.fixture
def silent_listener() -> Iterator[SilentListener]:
    listener = SilentListener()
    try:
        yield listener
    finally:
        listener.sock.close()


@pytest.fixture(scope="session")
def signing_pem() -> str:
    return generate_private_key_pem()


@pytest.fixture
def signing_key(signing_pem: str) -> SigningKey:
    return SigningKey.from_pem("https://unions.test/actor#main-key", signing_pem)


def verify_signature(rec: Received, signing_pem: str) -> list[str]:
    """Independent draft-cavage check: rebuild the signing string and verify with the public key."""
    params = dict(re.findall(r'(\w+)="([^"]*)"', rec.headers["signature"]))
    names = params["headers"].split()
    target = rec.path + (f"?{rec.query}" if rec.query else "")
    lines = [f"(request-target): {rec.method.lower()} {target}" if n == "(request-target)"
             else f"{n}: {rec.headers[n]}" for n in names]
    public = serialization.load_pem_private_key(signing_pem.encode(), None).public_key()
    public.verify(base64.b64decode(params["signature"]), "\n".join(lines).encode(),
                  padding.PKCS1v15(), hashes.SHA256())  # raises InvalidSignature
    return names
