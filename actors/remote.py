"""Remote actors: resolved by URI, key id or handle; cached; refreshed when stale or when
a signature fails with the cached key (key rotation)."""
from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit

from actors.blocks import is_blocked
from actors.instance import Instance
from actors.models import RemoteActor
from federation import webfinger
from federation.addresses import FetchError
from federation.hosts import host_or_empty as _host
from federation.http import is_temporary
from federation.vocab import ACTOR_TYPES

STALE_AFTER = timedelta(days=1)


class ActorFetchError(Exception):
    def __init__(self, reason: str, *, blocked: bool = False, temporary: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.blocked = blocked
        self.temporary = temporary


def _endpoint(value) -> str:
    """An inbox or collection URL we can use: http(s), a real host, a sane length; else ""."""
    if not isinstance(value, str) or len(value) > 2048 or not value.startswith(("https://", "http://")):
        return ""
    try:
        urlsplit(value).port  # noqa: B018 - raises on a bad port
    except ValueError:
        return ""
    return value if _host(value) else ""


def _str(value, limit: int = 2048) -> str:
    return value[:limit] if isinstance(value, str) else ""


def _http_url(value) -> str:
    if isinstance(value, dict):
        value = value.get("url") or value.get("href")
    if isinstance(value, list) and value:
        return _http_url(value[0])
    if isinstance(value, str) and value.startswith(("https://", "http://")):
        return value[:2048]
    return ""


def _types(doc: dict) -> set[str]:
    t = doc.get("type")
    return set(t) if isinstance(t, list) else {t}


def _public_key(doc: dict) -> dict | None:
    key = doc.get("publicKey")
    if isinstance(key, list):
        key = key[0] if key else None
    return key if isinstance(key, dict) else None


def validate_actor(doc: dict, uri: str) -> dict:
    """The checks Mastodon applies (interop notes 2.1). Returns the fields to store."""
    if doc.get("id") != uri:
        raise ActorFetchError("actor document id differs from its URL")
    if not (_types(doc) & ACTOR_TYPES):
        raise ActorFetchError(f"not an actor type: {doc.get('type')!r}")
    username = doc.get("preferredUsername")
    if not isinstance(username, str) or not username or len(username) > 255:
        raise ActorFetchError("actor has no usable preferredUsername")
    if len(uri) > 2048 or not _host(uri):
        raise ActorFetchError("actor id is not a usable URL")
    inbox = _endpoint(doc.get("inbox"))
    if not inbox:
        raise ActorFetchError("actor has no usable inbox")
    key = _public_key(doc) or {}
    key_id, pem = key.get("id"), key.get("publicKeyPem")
    if key and (not isinstance(key_id, str) or len(key_id) > 2048 or _host(key_id) != _host(uri)
                or key.get("owner") not in (None, uri)):
        raise ActorFetchError("actor key is not owned by the actor")
    if pem is not None and (not isinstance(pem, str) or len(pem) > 16_384):
        raise ActorFetchError("actor key is not a usable PEM")
    endpoints = doc.get("endpoints") if isinstance(doc.get("endpoints"), dict) else {}
    # A bad shared inbox is dropped (we use the personal one) rather than breaking every publication.
    shared = _endpoint(endpoints.get("sharedInbox") or doc.get("sharedInbox"))
    url = _http_url(doc.get("url"))
    t = next(iter(_types(doc) & ACTOR_TYPES))
    return dict(
        domain=_host(uri), username=username, type=t,
        name=_str(doc.get("name")), summary=_str(doc.get("summary"), 20_000),
        url=url if url and _host(url) == _host(uri) else uri,
        inbox=inbox, shared_inbox=shared, followers_url=_endpoint(doc.get("followers")),
        key_id=key_id if isinstance(key_id, str) else "", public_key_pem=pem if isinstance(pem, str) else "",
        icon_url=_http_url(doc.get("icon")),
        locked=doc.get("manuallyApprovesFollowers") is True,
    )


async def _fetch(inst: Instance, url: str, *, check_id: bool = True) -> dict:
    if await is_blocked(_host(url)):
        raise ActorFetchError(f"{_host(url)} is blocked", blocked=True)
    try:
        return await inst.client.get_ap(url, sign_with=await inst.instance_key(), check_id=check_id)
    except FetchError as exc:
        raise ActorFetchError(f"could not fetch {url}: {exc.reason}", temporary=is_temporary(exc)) from exc


async def store_actor(inst: Instance, uri: str, doc: dict) -> RemoteActor:
    fields = validate_actor(doc, uri)
    actor, _ = await RemoteActor.update_or_create(uri=uri, defaults={**fields, "fetched_at": inst.now(), "deleted_at": None})
    return actor


async def fetch_actor(inst: Instance, uri: str, *, refresh: bool = False) -> RemoteActor:
    if inst.urls.is_local(uri):
        raise ActorFetchError("that is one of our own actors")
    cached = await RemoteActor.filter(uri=uri).first()
    if cached and not refresh and inst.now() - cached.fetched_at < STALE_AFTER:
        return cached
    return await store_actor(inst, uri, await _fetch(inst, uri))


async def actor_for_key(inst: Instance, key_id: str, *, refresh: bool = False) -> RemoteActor:
    """Resolve a signature keyId to its actor; the actor must name that very key (no key confusion)."""
    if not refresh:
        cached = await RemoteActor.filter(key_id=key_id, deleted_at=None).limit(2)
        # Two actors claiming one key id (a same-host squatter): let the key document decide.
        if len(cached) == 1:
            return cached[0]
    doc_url = key_id.split("#", 1)[0]
    # The key URL may serve the actor (Mastodon: …/actor#main-key), a key object naming its
    # owner, or a stub whose id is the actor (GoToSocial: …/main-key). Whatever it says is
    # only a pointer: the actor is fetched again at its own id and must publish this key.
    doc = await _fetch(inst, doc_url, check_id=False)
    if doc.get("id") == doc_url and "inbox" in doc:
        actor = await store_actor(inst, doc_url, doc)
    else:
        owner = doc.get("owner") if doc.get("id") == doc_url else doc.get("id")
        if not isinstance(owner, str) or _host(owner) != _host(key_id):
            raise ActorFetchError("the key document names no owner on its own host")
        actor = await store_actor(inst, owner, await _fetch(inst, owner))
    if actor.key_id != key_id:
        raise ActorFetchError("the key's owner does not publish that key")
    return actor


async def resolve_handle(inst: Instance, handle: str, *, cached_ok: bool = False) -> RemoteActor:
    """`cached_ok`: a fresh cached actor with that handle is used as is (mentions in a post)."""
    if cached_ok:
        try:
            user, host = webfinger.split_handle(handle)
        except webfinger.WebFingerError as exc:
            raise ActorFetchError(exc.reason) from exc
        cached = await RemoteActor.filter(username__iexact=user, domain=host, deleted_at=None).first()
        if cached and inst.now() - cached.fetched_at < STALE_AFTER:
            return cached
    try:
        _, href = await webfinger.resolve(inst.client, handle)
    except webfinger.WebFingerError as exc:
        raise ActorFetchError(exc.reason) from exc
    actor = await fetch_actor(inst, href, refresh=True)
    await check_webfinger_loopback(inst, actor)
    return actor


async def check_webfinger_loopback(inst: Instance, actor: RemoteActor) -> None:
    """Mastodon's check_webfinger!: acct:{preferredUsername}@{id host} must point back at the id."""
    try:
        _, href = await webfinger.resolve(inst.client, f"{actor.username}@{actor.domain}")
    except webfinger.WebFingerError as exc:
        raise ActorFetchError(f"WebFinger does not loop back: {exc.reason}") from exc
    if href != actor.uri:
        raise ActorFetchError("WebFinger does not loop back to the actor id")
