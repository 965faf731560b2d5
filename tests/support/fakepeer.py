"""A fediverse server in a box, on 127.0.0.1, that behaves as Mastodon 4.5 does on the wire.

It serves WebFinger and actor documents (one `Person` per fake account, each with its
own key id), records every request it receives (verifying inbound POSTs with Mastodon's
own rules from mastodon_signer, not with our code), and sends activities signed exactly
as Mastodon signs them. Used by the Mastodon-shaped, bad-input and benchmark runs."""
from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from federation.httpsig import generate_private_key_pem, public_key_pem_from_private
from tests.support.mastodon_signer import MastodonRejected, mastodon_sign, mastodon_verify

AP = "application/activity+json"
_SHARED_PEM: str | None = None


def shared_pem() -> str:
    """One RSA key for every fake account: generating thousands would dominate the run."""
    global _SHARED_PEM
    if _SHARED_PEM is None:
        _SHARED_PEM = generate_private_key_pem()
    return _SHARED_PEM


@dataclass
class FakeActor:
    peer: "FakePeer"
    name: str
    pem: str
    server: str = ""  # actors with the same server share an inbox, like users of one Mastodon

    @property
    def uri(self) -> str:
        return f"{self.peer.url}/users/{self.name}"

    @property
    def key_id(self) -> str:
        return f"{self.uri}#main-key"

    @property
    def inbox(self) -> str:
        return f"{self.uri}/inbox"

    @property
    def shared_inbox(self) -> str:
        return f"{self.peer.url}/s/{self.server}/inbox" if self.server else f"{self.peer.url}/inbox"

    @property
    def handle(self) -> str:
        return f"@{self.name}@{self.peer.host}"

    def document(self) -> dict:
        return {
            "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
            "id": self.uri, "type": "Person", "preferredUsername": self.name, "name": self.name.title(),
            "summary": "<p>A fediverse account in a test box.</p>", "url": f"{self.peer.url}/@{self.name}",
            "inbox": self.inbox, "outbox": f"{self.uri}/outbox", "followers": f"{self.uri}/followers",
            "following": f"{self.uri}/following", "endpoints": {"sharedInbox": self.shared_inbox},
            "manuallyApprovesFollowers": False, "discoverable": True,
            "publicKey": {"id": self.key_id, "owner": self.uri, "publicKeyPem": public_key_pem_from_private(self.pem)},
        }


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    verified: bool
    error: str = ""

    def json(self) -> dict:
        return json.loads(self.body)


@dataclass
class FakePeer:
    host_ip: str = "127.0.0.1"
    port: int = 0
    actors: dict[str, FakeActor] = field(default_factory=dict)
    received: list[Received] = field(default_factory=list)
    fetches: list[str] = field(default_factory=list)
    documents: dict[str, tuple[int, object, str]] = field(default_factory=dict)  # path -> (status, body, type)
    inbox_status: int = 202
    inbox_delay: float = 0.0
    verify_inbound: bool = True
    public_keys: dict[str, str] = field(default_factory=dict)  # our key ids -> PEM, for verifying inbound

    @property
    def url(self) -> str:
        return f"http://{self.host_ip}:{self.port}"

    @property
    def host(self) -> str:
        return f"{self.host_ip}:{self.port}"

    # --- accounts and documents -------------------------------------------------
    def add_actor(self, name: str, *, server: str = "", pem: str | None = None) -> FakeActor:
        actor = FakeActor(self, name, pem or shared_pem(), server)
        self.actors[name] = actor
        return actor

    def serve_document(self, path: str, body: object, *, status: int = 200, content_type: str = AP) -> str:
        self.documents[path] = (status, body, content_type)
        return f"{self.url}{path}"

    def note(self, actor: FakeActor, text: str, *, to: list[str] | None = None, cc: list[str] | None = None,
             **extra) -> dict:
        """A Mastodon-shaped public Note, also served at its id."""
        nid = f"{actor.uri}/statuses/{uuid.uuid4().int % 10**18}"
        note = {
            "id": nid, "type": "Note", "summary": None, "inReplyTo": None,
            "published": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "url": f"{self.url}/@{actor.name}/{nid.rsplit('/', 1)[1]}", "attributedTo": actor.uri,
            "to": to or ["https://www.w3.org/ns/activitystreams#Public"], "cc": cc or [f"{actor.uri}/followers"],
            "sensitive": False, "content": f"<p>{text}</p>", "contentMap": {"en": f"<p>{text}</p>"},
            "attachment": [], "tag": [],
            **extra,
        }
        self.serve_document(nid.removeprefix(self.url), {"@context": "https://www.w3.org/ns/activitystreams", **note})
        return note

    # --- the ASGI side -------------------------------------------------------------
    def app(self) -> Starlette:
        async def webfinger(request: Request) -> Response:
            resource = request.query_params.get("resource", "")
            name = resource.removeprefix("acct:").split("@", 1)[0]
            actor = self.actors.get(name)
            if actor is None:
                return Response(status_code=404)
            return JSONResponse({"subject": f"acct:{name}@{self.host}", "links": [
                {"rel": "self", "type": AP, "href": actor.uri}]}, media_type="application/jrd+json")

        async def get_any(request: Request) -> Response:
            path = request.url.path
            self.fetches.append(path)
            if path.startswith("/users/") and path.count("/") == 2:
                actor = self.actors.get(path.split("/")[2])
                if actor:
                    return Response(json.dumps(actor.document()), media_type=AP)
            if path in self.documents:
                status, body, ctype = self.documents[path]
                data = body if isinstance(body, (bytes, str)) else json.dumps(body)
                return Response(data, status_code=status, media_type=ctype)
            return Response(status_code=404)

        async def post_inbox(request: Request) -> Response:
            body = await request.body()
            verified, error = True, ""
            if self.verify_inbound:
                try:
                    key_id = _key_id(request.headers.get("signature", ""))
                    pem = self.public_keys.get(key_id) or await _fetch_key(key_id)
                    self.public_keys[key_id] = pem
                    path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
                    mastodon_verify("POST", path, dict(request.headers), body, pem, datetime.now(timezone.utc))
                except (MastodonRejected, httpx.HTTPError, KeyError, ValueError) as exc:
                    verified, error = False, str(exc)
            self.received.append(Received("POST", request.url.path, dict(request.headers), body, verified, error))
            if self.inbox_delay:
                await asyncio.sleep(self.inbox_delay)
            return Response(status_code=self.inbox_status if verified else 401)

        return Starlette(routes=[
            Route("/.well-known/webfinger", webfinger),
            Route("/{path:path}", post_inbox, methods=["POST"]),
            Route("/{path:path}", get_any, methods=["GET"]),
        ])

    def start(self) -> "FakePeer":
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host_ip, self.port))
        self.port = sock.getsockname()[1]
        self._sock = sock
        config = uvicorn.Config(self.app(), lifespan="off", log_level="warning", access_log=False,
                                timeout_keep_alive=30, backlog=2048)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [sock]}, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("fake peer did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(10)
        self._sock.close()

    # --- sending, as Mastodon does ---------------------------------------------------
    async def deliver(self, actor: FakeActor, inbox_url: str, activity: dict, *, now: datetime | None = None,
                      headers_override: dict | None = None, body: bytes | None = None) -> httpx.Response:
        payload = body if body is not None else json.dumps(activity).encode()
        headers = mastodon_sign("POST", inbox_url, private_key_pem=actor.pem, actor=actor.uri, body=payload,
                                now=now or datetime.now(timezone.utc))
        headers.update(headers_override or {})
        async with httpx.AsyncClient(timeout=30) as client:
            return await client.post(inbox_url, content=payload, headers=headers)

    def activities(self, type_: str | None = None) -> list[dict]:
        out = []
        for rec in self.received:
            try:
                doc = rec.json()
            except ValueError:
                continue
            if type_ is None or doc.get("type") == type_:
                out.append(doc)
        return out


def _key_id(signature: str) -> str:
    for part in signature.split(","):
        name, _, value = part.partition("=")
        if name.strip() == "keyId":
            return value.strip().strip('"')
    raise KeyError("no keyId")


async def _fetch_key(key_id: str) -> str:
    async with httpx.AsyncClient(timeout=10) as client:
        doc = (await client.get(key_id.split("#")[0], headers={"Accept": AP})).json()
    return doc["publicKey"]["publicKeyPem"]
