"""Accounts: the union's own (verify and update credentials), any known account by id or
handle, its statuses, followers and following, and relationships.

Profile changes go through outbox.profile (the admin profile form's path): the same checks,
and followers get the Update. Only known accounts are looked up (Mastodon's lookup does no
WebFinger either, interop notes 6.4); resolving new ones is search's work."""
from __future__ import annotations

import re

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from actors.instance import Instance
from actors.models import Follower, Following, FollowState, LocalActor, RemoteActor
from content.models import Interaction, Post
from outbox.profile import ProfileError, check, summary_text, typed_from, update_profile
from web.api.common import (INT_MAX, ApiError, Params, actor_of, api, grant_of, newest_first, not_found, page_of,
                            paged, params, parse_account_id)
from web.api.entities import local_account, relationship, remote_account
from web.api.timelines import hashtags, has_media, merged_page, render, scanned_page

RELATIONSHIPS_MAX = 100
# Field indexes in form keys (fields_attributes[0][name]) and JSON objects ({"0": {...}}).
_FIELD_KEY = re.compile(r"fields_attributes\[(\d{0,3})\](?:\[(name|value)\])?")
ROLE = {"id": "-99", "name": "", "permissions": "0", "color": "", "highlighted": False}


async def _actor(request: Request) -> LocalActor | RemoteActor:
    where, number = parse_account_id(str(request.path_params["id"]))
    if where == "local":
        actor = await LocalActor.filter(id=number).first()
    else:
        actor = await RemoteActor.filter(id=number, deleted_at=None).first()
    if actor is None:
        raise not_found()
    return actor


async def account_of(inst: Instance, actor: LocalActor | RemoteActor) -> dict:
    return await local_account(inst, actor) if isinstance(actor, LocalActor) else remote_account(inst, actor)


async def credential_account(inst: Instance, union: LocalActor) -> dict:
    account = await local_account(inst, union)
    fields = [{"name": str(link.get("name", "")), "value": str(link.get("url", "")), "verified_at": None}
              for link in union.links or [] if isinstance(link, dict)]
    requests = await Follower.filter(local=union, state=FollowState.PENDING).count()
    account["source"] = {"privacy": "public", "sensitive": False, "language": "", "note": summary_text(union.summary),
                         "fields": fields, "follow_requests_count": requests, "hide_collections": False,
                         "discoverable": True, "indexable": False}
    account["role"] = dict(ROLE)
    return account


@api(None)
async def verify_credentials(request: Request) -> Response:
    grant = grant_of(request)
    # Mastodon also lets a `profile`-only token (sign-in with Mastodon) read this one account.
    if not (grant.allows("read:accounts") or "profile" in grant.scopes):
        raise ApiError(403, "This action is outside the authorized scopes")
    return JSONResponse(await credential_account(request.app.state.inst, actor_of(request)))


def _text(value: object, name: str) -> str:
    if isinstance(value, (dict, list, UploadFile)) or value is None:
        raise ApiError(422, f"{name} must be a string")
    return str(value)


def _fields(p: Params) -> list[tuple[str, str]] | None:
    """fields_attributes as forms (fields_attributes[0][name]=…) and JSON (a list of objects, or an
    object keyed by index) send them; None when absent (the links are then left as they are)."""
    entries: dict[int, dict[str, str]] = {}
    present = False
    for key, values in p.values.items():
        if key == "fields_attributes":
            present = True
            for n, item in enumerate(values):
                if not isinstance(item, dict):
                    raise ApiError(422, "fields_attributes must be a list of {name, value}")
                entries[n] = {k: _text(item.get(k, ""), f"fields_attributes[{n}][{k}]") for k in ("name", "value")}
            continue
        match = _FIELD_KEY.fullmatch(key)
        if match is None:
            continue
        present = True
        index, part = match.groups()
        for position, value in enumerate(values):
            slot = int(index) if index else position
            entry = entries.setdefault(slot, {"name": "", "value": ""})
            if part:
                entry[part] = _text(value, key)
            elif isinstance(value, dict):
                entry.update({k: _text(value.get(k, ""), f"{key}[{k}]") for k in ("name", "value")})
            else:
                raise ApiError(422, f"{key} must be an object with name and value")
    if not present:
        return None
    return [(entries[slot]["name"], entries[slot]["value"]) for slot in sorted(entries)]


@api("write:accounts")
async def update_credentials(request: Request) -> Response:
    inst: Instance = request.app.state.inst
    union = actor_of(request)
    p = await params(request)
    if p.file("avatar") or p.file("header"):
        raise ApiError(422, "the union's avatar and header cannot be changed from an app")
    typed = typed_from(union)
    if p.get("display_name") is not None:
        typed.name = _text(p.get("display_name"), "display_name")
    if p.get("note") is not None:
        typed.summary = _text(p.get("note"), "note")
    fields = _fields(p)
    if fields is not None:
        typed.links = fields
    typed.approve_followers = p.flag("locked", typed.approve_followers)
    try:
        profile = check(inst, typed)
    except ProfileError as exc:
        raise ApiError(422, "Validation failed: " + "; ".join(exc.reasons))
    await update_profile(inst, union, profile)
    return JSONResponse(await credential_account(inst, union))


@api("read:accounts", user=False)
async def lookup(request: Request) -> Response:
    inst: Instance = request.app.state.inst
    acct = (await params(request)).text("acct").strip().lstrip("@")
    if not acct:
        raise ApiError(422, "acct is required (user or user@domain)")
    username, _, domain = acct.partition("@")
    if not username or len(acct) > 512 or not acct.isprintable():
        raise not_found()
    if not domain or domain.lower() in (inst.urls.host.lower(), inst.urls.domain.lower()):
        actor = await LocalActor.filter(username=username.lower()).first()
        if actor is None:
            raise not_found()
        return JSONResponse(await local_account(inst, actor))
    remote = await RemoteActor.filter(username__iexact=username, domain__iexact=domain, deleted_at=None).first()
    if remote is None:
        raise not_found()
    return JSONResponse(remote_account(inst, remote))


@api("read:follows")
async def relationships(request: Request) -> Response:
    union = actor_of(request)
    ids = [str(v) for v in (await params(request)).getlist("id")]
    if len(ids) > RELATIONSHIPS_MAX:
        raise ApiError(422, f"at most {RELATIONSHIPS_MAX} ids")
    out = []
    for value in dict.fromkeys(ids):
        try:
            where, number = parse_account_id(value)
        except ApiError:
            continue  # unknown ids are left out, as Mastodon does
        if where == "local":
            if await LocalActor.filter(id=number).exists():
                out.append(await relationship(union, None, value))
        else:
            remote = await RemoteActor.filter(id=number, deleted_at=None).first()
            if remote is not None:
                out.append(await relationship(union, remote, value))
    return JSONResponse(out)


@api("read:accounts", user=False)
async def show(request: Request) -> Response:
    return JSONResponse(await account_of(request.app.state.inst, await _actor(request)))


@api("read:statuses", user=False)
async def account_statuses(request: Request) -> Response:
    inst: Instance = request.app.state.inst
    actor = await _actor(request)
    p = await params(request)
    page = page_of(p)
    if p.flag("pinned"):
        return JSONResponse([])  # nothing is pinned
    local = isinstance(actor, LocalActor)
    uri = inst.uri_of(actor) if local else actor.uri
    posts = Post.filter(author_uri=uri, local=local, hidden=False)
    originals = Post.filter(hidden=False)
    if request.state.actor is None:  # anonymous readers see public posts only
        posts, originals = posts.filter(public=True), originals.filter(public=True)
    if p.flag("exclude_replies"):
        posts = posts.filter(in_reply_to__isnull=True)
    tagged = p.text("tagged").lstrip("#").strip().lower()
    only_media = p.flag("only_media")
    if only_media or tagged:  # the account's own posts only, as Mastodon's media and tag tabs
        def keep(post: Post) -> bool:
            return (not only_media or has_media(post)) and (not tagged or tagged in hashtags(post))
        found, cursors = await scanned_page(posts, page, keep)
        return await render(request, found, cursors)
    boosts = None if p.flag("exclude_reblogs") else Interaction.filter(actor_uri=uri, local=local)
    return await render(request, await merged_page(posts, boosts, page, originals))


async def _relations(request: Request, model: type[Follower] | type[Following]) -> Response:
    inst: Instance = request.app.state.inst
    actor = await _actor(request)
    page = page_of(await params(request), maximum=80)
    if not isinstance(actor, LocalActor):
        return JSONResponse([])  # a remote account's collections are on its own server
    query = model.filter(local=actor, state=FollowState.ACCEPTED, remote__deleted_at=None)
    rows = await newest_first(query.prefetch_related("remote"), page, "id", INT_MAX)
    return paged(request, [remote_account(inst, row.remote) for row in rows], [row.id for row in rows])


@api("read:accounts", user=False)
async def followers(request: Request) -> Response:
    return await _relations(request, Follower)


@api("read:accounts", user=False)
async def following(request: Request) -> Response:
    return await _relations(request, Following)


@api("read:accounts", user=False)
async def empty_of_account(request: Request) -> Response:
    await _actor(request)
    return JSONResponse([])


@api("read:follows")
async def familiar_followers(request: Request) -> Response:
    ids = [str(v) for v in (await params(request)).getlist("id")]
    return JSONResponse([{"id": value, "accounts": []} for value in dict.fromkeys(ids)][:RELATIONSHIPS_MAX])


routes = [
    Route("/api/v1/accounts/verify_credentials", verify_credentials),
    Route("/api/v1/accounts/update_credentials", update_credentials, methods=["PATCH"]),
    Route("/api/v1/accounts/lookup", lookup),
    Route("/api/v1/accounts/relationships", relationships),
    Route("/api/v1/accounts/familiar_followers", familiar_followers),
    Route("/api/v1/accounts/{id:int}", show),
    Route("/api/v1/accounts/{id:int}/statuses", account_statuses),
    Route("/api/v1/accounts/{id:int}/followers", followers),
    Route("/api/v1/accounts/{id:int}/following", following),
    Route("/api/v1/accounts/{id:int}/featured_tags", empty_of_account),
    Route("/api/v1/accounts/{id:int}/lists", empty_of_account),
]
