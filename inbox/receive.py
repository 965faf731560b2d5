"""Inbound pipeline, synchronous part: parse -> blocks -> signature -> signer owns actor
-> origin and ownership -> store once (idempotent by id) -> 202. Handlers run later."""
from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta

from tortoise.exceptions import IntegrityError

from actors.blocks import is_blocked
from actors.instance import Instance
from actors.models import RemoteActor
from actors.remote import ActorFetchError, actor_for_key
from content.as2 import id_of
from federation.delivery import has_waiting, inbox_host, retry_host_now
from federation.httpsig import ParsedSignature, SignatureError, parse_request_signature, verify_signature
from inbox.errors import Refused
from inbox.models import InboxItem
from inbox.rules import actor_uri, check_ownership, check_shape, host

MAX_BODY = 1_048_576
MAX_DEPTH = 64  # C.5; Mastodon's own parser stops at 100 (Ruby JSON max_nesting)


@dataclass(frozen=True)
class InboundRequest:
    method: str
    path: str
    query: str
    headers: Mapping[str, str]
    body: bytes
    target_uri: str


def parse_json(body: bytes) -> dict:
    try:
        doc = json.loads(body.decode("utf-8"))
    except UnicodeDecodeError:
        raise Refused(400, "the body is not UTF-8") from None
    except RecursionError:
        raise Refused(400, "the JSON is nested too deeply") from None
    except ValueError as exc:
        raise Refused(400, f"the body is not JSON: {exc}") from None
    # Python's parser takes ~1000 levels but json.dumps, storing the payload a few frames
    # deeper, overflows on fewer (a RecursionError, so a 500): bound the depth here, iteratively.
    stack = [(doc, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, (dict, list)):
            if depth > MAX_DEPTH:
                raise Refused(400, "the JSON is nested too deeply")
            stack.extend((child, depth + 1) for child in (value.values() if isinstance(value, dict) else value))
    return check_shape(doc)


async def _verified_signer(inst: Instance, req: InboundRequest, parsed: ParsedSignature) -> RemoteActor:
    try:
        signer = await actor_for_key(inst, parsed.key_id)
    except ActorFetchError as exc:
        raise Refused(503 if exc.temporary else 401, f"cannot use key {parsed.key_id}: {exc.reason}") from None
    try:
        verify_signature(parsed, signer.public_key_pem)
        return signer
    except SignatureError as exc:
        first_failure = exc
    # The key may have been rotated: refetch and try again, at most once per key every few
    # minutes, so bad signatures cannot make us fetch from a host at the sender's rate.
    if not inst.allow_once_per(inst.key_refetched_at, parsed.key_id, KEY_REFETCH_EVERY):
        raise Refused(401, f"signature does not verify: {first_failure.reason}")
    try:
        signer = await actor_for_key(inst, parsed.key_id, refresh=True)
        verify_signature(parsed, signer.public_key_pem)
    except ActorFetchError as exc:
        raise Refused(401, f"signature does not verify and the key could not be refreshed: {exc.reason}") from None
    except SignatureError as exc:
        raise Refused(401, f"signature does not verify: {exc.reason}") from None
    return signer


BACK_CHECK_EVERY = timedelta(seconds=2)
KEY_REFETCH_EVERY = timedelta(minutes=5)


async def _peer_is_back(inst: Instance, signer: RemoteActor) -> None:
    """A server that signs a request to us is up: what we owe it need not wait for its backoff.
    Only for its own host (an actor cannot vouch for another server's inbox), and looked at
    most every 2 s per host, so a busy peer does not cost a query per activity."""
    try:
        target = inbox_host(signer.delivery_inbox)
    except ValueError:
        return
    if host(signer.delivery_inbox) != host(signer.uri):
        return
    if not inst.allow_once_per(inst.peer_checked_at, target, BACK_CHECK_EVERY):
        return
    now = inst.now()
    if await has_waiting(target, now=now):
        await retry_host_now(target, now=now)
        inst.poke_delivery()


async def receive(inst: Instance, req: InboundRequest) -> tuple[int, str]:
    """Returns (status, reason); raises Refused for every refusal."""
    activity = parse_json(req.body)
    actor = actor_uri(activity)
    kind = activity["type"]
    # The flood of Deletes for accounts we never saw: nothing to do, so fetch nothing.
    if kind == "Delete" and id_of(activity.get("object")) == actor:
        if not await is_blocked(host(actor)) and not await RemoteActor.filter(uri=actor).exists():
            return 202, "unknown actor; nothing to delete"
    try:
        parsed = parse_request_signature(req.method, req.path, req.query, req.headers, req.body,
                                         expected_host=inst.urls.host, now=inst.now(), target_uri=req.target_uri)
    except SignatureError as exc:
        # A blocked domain is told so even when its signature is also bad.
        if await is_blocked(host(actor)):
            raise Refused(403, f"{host(actor)} is blocked here") from None
        raise Refused(401, exc.reason) from None
    if await is_blocked(host(actor)):
        raise Refused(403, f"{host(actor)} is blocked here")
    if host(parsed.key_id) != host(actor):
        raise Refused(401, "the signing key is not on the actor's host")
    signer = await _verified_signer(inst, req, parsed)
    if signer.uri != actor:
        raise Refused(401, "the signer is not the activity's actor")
    await _peer_is_back(inst, signer)
    if await InboxItem.filter(activity_id=activity["id"]).exists():
        return 202, "already received"
    await check_ownership(activity)
    try:
        await InboxItem.create(activity_id=activity["id"], type=kind[:32], actor_uri=actor, payload=activity,
                               received_at=inst.now())
    except IntegrityError:
        return 202, "already received"
    return 202, "accepted"
