"""Mastodon API entities (Account, Status, Relationship, MediaAttachment, Notification) shaped as
Mastodon's serializers shape them: every field present, ids as strings, dates in UTC with `Z`,
empty arrays rather than missing ones, and URLs (never null) for avatar and header, since
clients such as Tusky fail to parse an entity that lacks a field they require.

Statuses are rendered in batches: one query per kind of fact (authors, counts, the viewer's
own boosts and likes, parents, meetings) for a whole page, never one per status."""
from __future__ import annotations

import hashlib
import html
from dataclasses import dataclass, field
from datetime import datetime, timezone

from tortoise.functions import Count

from actors.follows import followers_count
from actors.instance import Instance
from actors.models import DomainBlock, Follower, Following, FollowState, LocalActor, RemoteActor
from actors.profile import property_values
from content.meetings import summary_html
from content.compose import other_languages
from content.models import Interaction, Media, Meeting, Notification, Post
from content.sanitize import safe_url, sanitize_html
from federation.vocab import PUBLIC
from web.api.common import local_account_id, remote_account_id

DEFAULT_AVATAR = "/api/avatar.png"
PLACEHOLDER_BASE = 9 * 10**18  # below 2**63, far above any row id
DEFAULT_HEADER = "/api/header.png"
# Our notification kinds, as Mastodon names them; registrations for meetings have no Mastodon
# type and stay on the admin pages.
NOTIFICATION_TYPES = {"follow": "follow", "follow_request": "follow_request", "mention": "mention",
                      "reply": "mention", "reblog": "reblog", "favourite": "favourite", "status": "status",
                      "update": "update"}


def iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _day(moment: datetime | None) -> str | None:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%d") if moment else None


def _text_html(text: str) -> str:
    return "".join(f"<p>{html.escape(line)}</p>" for line in text.splitlines() if line.strip())


# --- accounts ---------------------------------------------------------------------------

def _account(inst: Instance, *, id: str, username: str, acct: str, name: str, note: str, url: str, uri: str,
             avatar: str, locked: bool, bot: bool, group: bool, created_at: datetime | None,
             counts: tuple[int, int, int], last_status_at: datetime | None, fields: list[dict]) -> dict:
    avatar = avatar or inst.urls.base + DEFAULT_AVATAR
    header = inst.urls.base + DEFAULT_HEADER
    return {
        "id": id, "username": username, "acct": acct, "display_name": name or username,
        "locked": locked, "bot": bot, "discoverable": True, "indexable": False, "group": group,
        "created_at": iso(created_at or datetime(2020, 1, 1, tzinfo=timezone.utc)),
        "note": note, "url": url, "uri": uri, "avatar": avatar, "avatar_static": avatar,
        "header": header, "header_static": header,
        "followers_count": counts[0], "following_count": counts[1], "statuses_count": counts[2],
        "last_status_at": _day(last_status_at), "hide_collections": False, "noindex": False,
        "emojis": [], "roles": [], "fields": fields,
    }


async def local_account(inst: Instance, actor: LocalActor) -> dict:
    uri = inst.uri_of(actor)
    followers = await followers_count(actor)
    following = await Following.filter(local=actor, state=FollowState.ACCEPTED).count()
    own = Post.filter(local=True, author_uri=uri, public=True, hidden=False)
    statuses = await own.count()
    last = next(iter(await own.order_by("-published").limit(1).values_list("published", flat=True)), None)
    # What peers see in the actor document: sector, country and links.
    fields = [{"name": f["name"], "value": f["value"], "verified_at": None}
              for f in property_values(actor.sector, actor.country, actor.links or [])]
    return _account(inst, id=local_account_id(actor), username=actor.username, acct=actor.username,
                    name=actor.name, note=sanitize_html(actor.summary or ""), url=inst.urls.profile(actor.username),
                    uri=uri, avatar="", locked=actor.manually_approves_followers or inst.approve_followers,
                    bot=actor.kind == "instance",
                    group=False, created_at=actor.created_at, counts=(followers, following, statuses),
                    last_status_at=last, fields=fields)


def remote_account(inst: Instance, actor: RemoteActor) -> dict:
    return _account(inst, id=remote_account_id(actor.id), username=actor.username or actor.domain,
                    acct=f"{actor.username}@{actor.domain}" if actor.username else actor.domain,
                    name=actor.name, note=sanitize_html(actor.summary or ""),
                    url=safe_url(actor.url or actor.uri) or actor.uri, uri=actor.uri,
                    avatar=safe_url(actor.icon_url) or "", locked=actor.locked,
                    bot=actor.type in ("Service", "Application"),
                    group=actor.type == "Group", created_at=actor.fetched_at, counts=(0, 0, 0),
                    last_status_at=None, fields=[])


async def accounts_by_uri(inst: Instance, uris: set[str]) -> dict[str, dict]:
    """Account entities of every actor uri that we know (ours or cached); unknown ones are absent."""
    out: dict[str, dict] = {}
    for actor in await LocalActor.all():
        uri = inst.uri_of(actor)
        if uri in uris:
            out[uri] = await local_account(inst, actor)
    rest = [u for u in uris if u not in out]
    if rest:
        for actor in await RemoteActor.filter(uri__in=rest):
            out[actor.uri] = remote_account(inst, actor)
    return out


def placeholder_account(inst: Instance, uri: str) -> dict:
    """An author we never resolved (a post fetched by URL whose actor fetch failed). Its id is
    stable and its own (clients cache accounts by id), in a range no stored actor has: looking it
    up gives 404."""
    host = uri.split("://", 1)[-1].split("/", 1)[0]
    name = uri.rstrip("/").rsplit("/", 1)[-1] or host
    unresolved = PLACEHOLDER_BASE + int(hashlib.sha256(uri.encode()).hexdigest()[:15], 16) % 10**17
    return _account(inst, id=str(unresolved), username=name, acct=f"{name}@{host}", name=name, note="", url=uri, uri=uri,
                    avatar="", locked=False, bot=False, group=False, created_at=None, counts=(0, 0, 0),
                    last_status_at=None, fields=[])


# --- relationships ----------------------------------------------------------------------

async def relationship(local: LocalActor, remote: RemoteActor | None, account_id: str) -> dict:
    following = await Following.filter(local=local, remote=remote).first() if remote else None
    follower = await Follower.filter(local=local, remote=remote).first() if remote else None
    blocked = remote is not None and await DomainBlock.filter(domain=remote.domain).exists()
    return {
        "id": account_id,
        "following": following is not None and following.state == FollowState.ACCEPTED,
        "showing_reblogs": True, "notifying": bool(following and following.notify), "languages": None,
        "followed_by": follower is not None and follower.state == FollowState.ACCEPTED,
        "blocking": False, "blocked_by": False, "muting": False, "muting_notifications": False,
        "requested": following is not None and following.state != FollowState.ACCEPTED,
        "requested_by": follower is not None and follower.state != FollowState.ACCEPTED,
        "domain_blocking": blocked, "endorsed": False, "note": "",
    }


# --- media ------------------------------------------------------------------------------

def media_attachment(item: dict, fallback_id: str, *, media_id: int | None = None) -> dict:
    """A MediaAttachment from an AS2 attachment (ours carry `preview`, `width`, `height`)."""
    kind = str(item.get("mediaType") or "")
    mtype = ("image" if kind.startswith("image/") or item.get("type") == "Image" else
             "video" if kind.startswith("video/") else "audio" if kind.startswith("audio/") else "unknown")
    url = safe_url(item.get("url")) or ""
    preview = safe_url(item.get("preview")) or (url if mtype == "image" else None)
    meta: dict = {}
    if isinstance(item.get("width"), int) and isinstance(item.get("height"), int) and item["height"]:
        w, h = item["width"], item["height"]
        meta = {"original": {"width": w, "height": h, "size": f"{w}x{h}", "aspect": w / h}}
    name = item.get("name")
    return {"id": str(media_id) if media_id is not None else fallback_id, "type": mtype, "url": url,
            "preview_url": preview, "remote_url": None, "preview_remote_url": None, "text_url": None, "meta": meta,
            "description": name if isinstance(name, str) and name else None,
            "blurhash": item.get("blurhash") if isinstance(item.get("blurhash"), str) else None}


# --- statuses ---------------------------------------------------------------------------

def visibility(post: Post) -> str:
    to, cc = post.to or [], post.cc or []
    if post.public or PUBLIC in to:
        return "public"
    if PUBLIC in cc:
        return "unlisted"
    if any(str(a).endswith("/followers") for a in [*to, *cc]):
        return "private"
    return "direct"


@dataclass
class Batch:
    """Facts about a page of posts, each gathered in one query."""
    accounts: dict[str, dict] = field(default_factory=dict)
    replies: dict[str, int] = field(default_factory=dict)
    reblogs: dict[str, int] = field(default_factory=dict)
    favourites: dict[str, int] = field(default_factory=dict)
    mine: set[tuple[str, str]] = field(default_factory=set)
    parents: dict[str, tuple[int | None, str]] = field(default_factory=dict)
    meetings: dict[int, Meeting] = field(default_factory=dict)
    media_ids: dict[str, int] = field(default_factory=dict)


async def _counts(kind: str, uris: list[str]) -> dict[str, int]:
    rows = await (Interaction.filter(kind=kind, object_uri__in=uris).annotate(n=Count("id"))
                  .group_by("object_uri").values_list("object_uri", "n"))
    return dict(rows)


async def gather(inst: Instance, viewer: LocalActor | None, posts: list[Post], boosters: set[str] = frozenset()) -> Batch:
    uris = [p.ap_id for p in posts]
    batch = Batch()
    parent_uris = {p.in_reply_to for p in posts if p.in_reply_to}
    parents = {p.ap_id: p for p in await Post.filter(ap_id__in=list(parent_uris))} if parent_uris else {}
    batch.parents = {uri: (p.sid, p.author_uri) for uri, p in parents.items()}
    mentioned = {t["href"] for p in posts for t in p.tags or []
                 if isinstance(t, dict) and t.get("type") == "Mention" and isinstance(t.get("href"), str)}
    batch.accounts = await accounts_by_uri(inst, {p.author_uri for p in posts} | set(boosters) | mentioned
                                           | {p.author_uri for p in parents.values()})
    replies = await (Post.filter(in_reply_to__in=uris, hidden=False).annotate(n=Count("id"))
                     .group_by("in_reply_to").values_list("in_reply_to", "n"))
    batch.replies = dict(replies)
    batch.reblogs = await _counts("announce", uris)
    batch.favourites = await _counts("like", uris)
    if viewer is not None:
        rows = await Interaction.filter(actor_uri=inst.uri_of(viewer), object_uri__in=uris).values_list("kind", "object_uri")
        batch.mine = set(rows)
    events = [p.id for p in posts if p.type == "Event"]
    if events:
        batch.meetings = {m.post_id: m for m in await Meeting.filter(post_id__in=events)}
    local_ids = [p.id for p in posts if p.local]
    if local_ids:
        batch.media_ids = {inst.urls.media(m.file_name): m.id
                           for m in await Media.filter(post_id__in=local_ids)}
    return batch


def _content(inst: Instance, post: Post, batch: Batch) -> str:
    body = sanitize_html(post.content or "")
    languages = list(post.content_in_order())
    if post.local and len(languages) > 1:
        body += other_languages(post.url or post.ap_id, languages[1:])
    if post.type == "Event":
        meeting = batch.meetings.get(post.id)
        head = f"<p><strong>{html.escape(post.name)}</strong></p>" if post.name else ""
        when = summary_html(post.summary) if post.summary and meeting else ""
        link = safe_url(post.url or post.ap_id) or ""
        tail = f'<p><a href="{html.escape(link)}">{html.escape(link)}</a></p>' if link else ""
        return head + when + body + tail
    if post.type in ("Article", "Page") and post.name:
        return f"<p><strong>{html.escape(post.name)}</strong></p>" + body
    return body


def status(inst: Instance, post: Post, batch: Batch) -> dict:
    account = batch.accounts.get(post.author_uri) or placeholder_account(inst, post.author_uri)
    parent = batch.parents.get(post.in_reply_to or "")
    parent_account = batch.accounts.get(parent[1]) if parent else None
    attachments = [media_attachment(a, f"{post.sid}{i:02d}", media_id=batch.media_ids.get(str(a.get("url"))))
                   for i, a in enumerate(post.attachments or []) if isinstance(a, dict) and safe_url(a.get("url"))]
    mentions, tags = [], []
    for tag in post.tags or []:
        if not isinstance(tag, dict):
            continue
        if tag.get("type") == "Mention" and tag.get("href") in batch.accounts:
            acc = batch.accounts[tag["href"]]
            mentions.append({"id": acc["id"], "username": acc["username"], "url": acc["url"], "acct": acc["acct"]})
        elif tag.get("type") == "Hashtag" and tag.get("name"):
            name = str(tag["name"]).lstrip("#")
            tags.append({"name": name, "url": safe_url(tag.get("href")) or inst.urls.tag(name)})
    event = post.type == "Event"
    return {
        "id": str(post.sid), "created_at": iso(post.published), "edited_at": iso(post.updated),
        "in_reply_to_id": str(parent[0]) if parent and parent[0] else None,
        "in_reply_to_account_id": parent_account["id"] if parent_account else None,
        "sensitive": bool(post.sensitive or (post.summary and not event)),
        "spoiler_text": "" if event else (post.summary or ""),
        "visibility": visibility(post), "language": post.language or None,
        "uri": post.ap_id, "url": safe_url(post.url) or post.ap_id,
        "replies_count": batch.replies.get(post.ap_id, 0), "reblogs_count": batch.reblogs.get(post.ap_id, 0),
        "favourites_count": batch.favourites.get(post.ap_id, 0), "quotes_count": 0,
        "favourited": ("like", post.ap_id) in batch.mine, "reblogged": ("announce", post.ap_id) in batch.mine,
        "muted": False, "bookmarked": False, "pinned": False,
        "content": _content(inst, post, batch), "reblog": None,
        "application": {"name": "Union Hall", "website": None} if post.local else None,
        "account": account, "media_attachments": attachments, "mentions": mentions, "tags": tags,
        "emojis": [], "card": None, "poll": None, "quote": None, "filtered": [],
    }


def reblog(inst: Instance, boost: Interaction, post: Post, batch: Batch) -> dict:
    """The wrapper status of a boost: its own id, the booster as account, the original inside."""
    original = status(inst, post, batch)
    account = batch.accounts.get(boost.actor_uri) or placeholder_account(inst, boost.actor_uri)
    return {**original, "id": str(boost.sid), "created_at": iso(boost.created_at), "edited_at": None,
            "in_reply_to_id": None, "in_reply_to_account_id": None, "sensitive": False, "spoiler_text": "",
            "uri": boost.activity_id, "url": boost.activity_id, "replies_count": 0, "reblogs_count": 0,
            "favourites_count": 0, "content": "", "application": None, "account": account,
            "media_attachments": [], "mentions": [], "tags": [], "language": None,
            "favourited": original["favourited"], "reblogged": original["reblogged"], "reblog": original}


async def statuses(inst: Instance, viewer: LocalActor | None, items: list[Post | tuple[Interaction, Post]]) -> list[dict]:
    """Posts and (boost, post) pairs, in the given order, as Status entities."""
    posts = [i if isinstance(i, Post) else i[1] for i in items]
    boosters = {i[0].actor_uri for i in items if not isinstance(i, Post)}
    batch = await gather(inst, viewer, posts, boosters)
    return [status(inst, i, batch) if isinstance(i, Post) else reblog(inst, i[0], i[1], batch) for i in items]


async def one_status(inst: Instance, viewer: LocalActor | None, post: Post) -> dict:
    return (await statuses(inst, viewer, [post]))[0]


# --- notifications ----------------------------------------------------------------------

async def notifications(inst: Instance, viewer: LocalActor, rows: list[Notification]) -> list[dict]:
    """Notification entities; a row whose actor or status is gone is left out rather than half-shown."""
    accounts = await accounts_by_uri(inst, {n.actor_uri for n in rows})
    object_uris = [n.object_uri for n in rows if n.object_uri]
    posts = {p.ap_id: p for p in await Post.filter(ap_id__in=object_uris)} if object_uris else {}
    rendered = dict(zip(posts, await statuses(inst, viewer, list(posts.values()))))
    out = []
    for n in rows:
        kind = NOTIFICATION_TYPES.get(n.kind)
        account = accounts.get(n.actor_uri)
        if kind is None or account is None:
            continue
        entry = {"id": str(n.id), "type": kind, "created_at": iso(n.created_at), "account": account,
                 "group_key": f"ungrouped-{n.id}"}
        if n.object_uri:
            if n.object_uri not in rendered:
                continue
            entry["status"] = rendered[n.object_uri]
        out.append(entry)
    return out
