"""Meetings as the pages and calendars show them: ours and peers' (Meeting rows), and peers'
Events stored before a Meeting row existed for them (read from Post.extra), in one shape.

Reading only: what a meeting *is* and how it changes is content.meetings / outbox.meetings.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from tortoise.expressions import Q

from actors.models import LocalActor, RemoteActor
from content.meetings import ordered_names
from content.models import Meeting, Post
from content import terms
from content.remote_meetings import fields_of, uid_for
from content.sanitize import plain_text, safe_url
from content.terms import MeetingError
from federation.hosts import host_or_empty

_KIND_WORDS = {"thematic": "Thematic meeting", "sector": "Sector group", "plenary": "Plenary",
               "international": "International meeting", "other": "Meeting"}
KINDS = {kind: _KIND_WORDS[kind] for kind in terms.KINDS}  # the kinds are content.terms'; the words ours
STATUS_WORDS = {"scheduled": "Scheduled", "postponed": "Postponed", "rescheduled": "Rescheduled",
                "cancelled": "Cancelled"}
MAX_ITEMS = 500


@dataclass
class Item:
    ap_id: str
    page_url: str           # where a browser reads it (ours: our page; a peer's: its url)
    uid: str
    sequence: int
    titles: dict[str, str]  # primary language first
    descriptions: dict[str, str]  # sanitised HTML per language
    language: str
    start: datetime
    end: datetime | None
    timezone: str
    status: str
    kind: str
    theme: str
    place_name: str
    address: dict | str
    online_url: str
    organizer_uri: str
    organizer_name: str
    local: bool
    published: datetime
    updated: datetime | None
    tags: list[str] = field(default_factory=list)
    meeting: Meeting | None = None
    post: Post | None = None

    def title(self, lang: str) -> str:
        return self.titles.get(lang) or next(iter(self.titles.values()), "") or "Meeting"

    @property
    def zone(self) -> ZoneInfo | None:
        return zone(self.timezone)

    @property
    def address_text(self) -> str:
        if isinstance(self.address, str):
            return self.address
        parts = [self.address.get(k, "") for k in ("streetAddress", "postalCode", "addressLocality",
                                                   "addressRegion", "addressCountry")]
        return ", ".join(p for p in parts if isinstance(p, str) and p.strip())

    @property
    def location_text(self) -> str:
        return ", ".join(p for p in (self.place_name, self.address_text) if p)

    @property
    def mid(self) -> str:
        return self.ap_id.rsplit("/", 1)[-1]


def zone(name: str) -> ZoneInfo | None:
    """The IANA zone (content.terms.zone), or None when unknown: pages then fall back to UTC."""
    try:
        return terms.zone(name) if name else None
    except MeetingError:
        return None


_BREAK = re.compile(r"<br\s*/?>|</p>|</li>|</h[1-6]>|</blockquote>", re.I)


def html_to_text(html: str) -> str:
    """Paragraphs kept (blank line between), everything else plain: for DESCRIPTION and the like."""
    paragraphs = [plain_text(chunk, 10_000) for chunk in _BREAK.split(html or "")]
    return "\n\n".join(p for p in paragraphs if p)  # plain_text decoded the entities already


def _hashtags(tags: Any) -> list[str]:
    return [str(t.get("name", "")).lstrip("#") for t in tags or []
            if isinstance(t, dict) and t.get("type") == "Hashtag" and t.get("name")]


def _ordered(post: Post, mapping: dict) -> dict[str, str]:
    # PostgreSQL's jsonb does not keep key order: the author's order is in extra["languages"].
    languages = post.extra.get("languages") if isinstance(post.extra, dict) else None
    order = [post.language, *(languages if isinstance(languages, list) else []), *mapping]
    return {k: mapping[k] for k in dict.fromkeys(order) if isinstance(mapping.get(k), str) and mapping[k]}


def from_meeting(m: Meeting, names: dict[str, str]) -> Item:
    post: Post = m.post
    titles = ordered_names(post, m) or {post.language or "und": post.name or "Meeting"}
    organizer = post.author_uri
    return Item(ap_id=post.ap_id, page_url=post.ap_id if m.local else (safe_url(post.url) or safe_url(post.ap_id) or ""),
                uid=m.uid, sequence=m.sequence, titles=titles,
                descriptions=post.content_in_order() or ({post.language: post.content} if post.content else {}),
                language=post.language or next(iter(titles)), start=m.start, end=m.end, timezone=m.timezone or "",
                status=m.status if m.status in STATUS_WORDS else "scheduled",
                kind=m.kind if m.kind in KINDS else "other", theme=m.theme or "", place_name=m.place_name or "",
                address=m.address or {}, online_url=safe_url(m.online_url) or "", organizer_uri=organizer,
                organizer_name=names.get(organizer, organizer), local=m.local, published=post.published,
                updated=post.updated, tags=_hashtags(post.tags), meeting=m, post=post)


def from_event_post(post: Post, names: dict[str, str]) -> Item | None:
    """A peer's Event stored without a Meeting row: read as the row would be (content.remote_meetings)."""
    values = fields_of(post)
    if values is None:
        return None
    titles = _ordered(post, values["name_map"]) or {post.language or "und": post.name or "Event"}
    host = host_or_empty(post.ap_id)
    return Item(ap_id=post.ap_id, page_url=safe_url(post.url) or safe_url(post.ap_id) or "", uid=uid_for(post.ap_id),
                sequence=0, titles=titles,
                descriptions=_ordered(post, post.content_map or {}) or (
                    {post.language or "und": post.content} if post.content else {}),
                language=post.language or next(iter(titles)), start=values["start"], end=values["end"],
                timezone=values["timezone"], status=values["status"], kind=values["kind"], theme=values["theme"],
                place_name=values["place_name"], address=values["address"],
                online_url=safe_url(values["online_url"]) or "", organizer_uri=post.author_uri,
                organizer_name=names.get(post.author_uri, host or post.author_uri),
                local=False, published=post.published, updated=post.updated, tags=_hashtags(post.tags), post=post)


async def actor_names(uris: set[str]) -> dict[str, str]:
    names: dict[str, str] = {}
    for actor in await RemoteActor.filter(uri__in=list(uris)[:1000]):
        names[actor.uri] = actor.name or actor.username
    return names


async def _items(meetings: list[Meeting], extra_posts: list[Post], local: LocalActor | None, inst) -> list[Item]:
    uris = {m.post.author_uri for m in meetings} | {p.author_uri for p in extra_posts}
    names = await actor_names(uris)
    if local is not None:
        names[inst.uri_of(local)] = local.name
    items = [from_meeting(m, names) for m in meetings]
    items += [i for i in (from_event_post(p, names) for p in extra_posts) if i is not None]
    items.sort(key=lambda i: (i.start, i.ap_id))
    return items


def _visible() -> Q:
    return Q(post__public=True, post__hidden=False)


async def union_items(inst, union: LocalActor) -> list[Item]:
    """Our union's public meetings, oldest first."""
    meetings = await (Meeting.filter(_visible(), local=True, post__author_uri=inst.uri_of(union))
                      .order_by("start").limit(MAX_ITEMS).prefetch_related("post"))
    return await _items(meetings, [], union, inst)


async def network_items(inst, union: LocalActor | None) -> list[Item]:
    """Ours, and every public peer's meeting that reached us (the inbox stores an Event only when
    someone here follows its author or it addresses us; a lookup or registration stores it too)."""
    meetings = await Meeting.filter(_visible()).order_by("-start").limit(MAX_ITEMS).prefetch_related("post")
    with_row = await Meeting.filter(local=False).values_list("post_id", flat=True)
    posts = await (Post.filter(local=False, type="Event", public=True, hidden=False).exclude(id__in=list(with_row))
                   .order_by("-published").limit(MAX_ITEMS))
    return await _items(meetings, posts, union, inst)


async def one_item(inst, meeting: Meeting, union: LocalActor | None) -> Item:
    if not isinstance(meeting.post, Post):
        await meeting.fetch_related("post")
    return (await _items([meeting], [], union, inst))[0]
