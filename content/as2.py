"""Received ActivityStreams objects -> the fields of a `content.models.Post`.

Payloads are read as plain JSON with compact term names, as Mastodon, Mobilizon and Gancio
do (mastodon_interop 5.4): `@context` is never interpreted, so a context that redefines
`id` or `type`, an `@graph`, or an LD `signature` block changes nothing here.

Everything a peer sends is untrusted: HTML is sanitised, names become plain text, URLs must
be http(s), lists are capped. Oversized HTML is *truncated* (at a tag boundary, with a
"[…]" marker) rather than refused, so a long Article still shows its beginning and its link;
every other malformed field that matters raises `InvalidObject`, which the inbox turns
into a 4xx that stores nothing.
"""
from __future__ import annotations

import html
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from content.appeals import appeal_extra
from content.events import MAX_POLL_OPTIONS, event_extra, question_extra  # noqa: F401 (re-exported)
from content.sanitize import plain_text, safe_url, sanitize_html
from federation.hosts import InvalidHost
from federation.hosts import host_of as _host_of
from federation.vocab import ACTOR_TYPES, PUBLIC  # noqa: F401 (re-exported)
from content.values import InvalidObject, as_list, read_datetime

_PUBLIC_FORMS = frozenset({PUBLIC, "as:Public", "Public"})
SUPPORTED_TYPES = {"Note", "Article", "Page", "Event", "Question"}
MAX_RECIPIENTS = 500
MAX_TAGS = 50
MAX_ATTACHMENTS = 8
MAX_CONTENT_CHARS = 100_000  # per language, measured after sanitising
MAX_SUMMARY_CHARS = 10_000
MAX_NAME_CHARS = 500
MAX_ALT_CHARS = 1_500
TRUNCATION_MARK = "<p>[…]</p>"
# Peers with a slightly fast clock are tolerated; a post "from 2099" would pin itself to
# the top of every timeline sorted by date, so it is dated now instead.
FUTURE_SKEW = timedelta(minutes=5)


def is_public_address(value: object) -> bool:
    """True for the three spellings Mastodon accepts for the Public collection, only those."""
    return isinstance(value, str) and value in _PUBLIC_FORMS


def id_of(value: Any) -> str | None:
    """The id of a reference that may be a bare string or an embedded object."""
    if isinstance(value, dict):
        value = value.get("id")
    return value if isinstance(value, str) and value else None


def host_of(url: str) -> str:
    """federation.hosts.host_of, raising InvalidObject for objects that carry a bad URL."""
    try:
        return _host_of(url)
    except InvalidHost as exc:
        raise InvalidObject(exc.reason) from None


# ISO 639-2/3 -> 639-1 for the languages unions write in, so "fra" and "fr" file together.
_THREE_TO_TWO = dict(pair.split(":") for pair in (
    "eng:en fra:fr fre:fr spa:es deu:de ger:de ita:it por:pt nld:nl dut:nl cat:ca eus:eu "
    "baq:eu glg:gl pol:pl ces:cs cze:cs slk:sk slo:sk slv:sl hrv:hr srp:sr bos:bs bul:bg "
    "ron:ro rum:ro hun:hu ell:el gre:el tur:tr rus:ru ukr:uk bel:be lit:lt lav:lv est:et "
    "fin:fi swe:sv dan:da nor:no nob:nb nno:nn isl:is ice:is gle:ga cym:cy wel:cy mlt:mt "
    "sqi:sq alb:sq mkd:mk mac:mk ara:ar heb:he fas:fa per:fa urd:ur hin:hi ben:bn tam:ta "
    "zho:zh chi:zh jpn:ja kor:ko vie:vi tha:th ind:id msa:ms may:ms swa:sw amh:am kur:ku "
    "epo:eo tgl:tl kat:ka geo:ka hye:hy arm:hy aze:az kaz:kk uzb:uz"
).split())
_LANG_TAG = re.compile(r"^[a-z]{2,3}(?:-[a-z0-9]{1,8})*$")


def normalize_language(tag: object) -> str | None:
    """A BCP-47-ish tag in canonical case ("pt-BR", "zh-Hant-TW"), or None if it is not one.

    At most 16 characters, the width of `Post.language`. "_" is read as "-" (some servers
    send "pt_BR"); known three-letter codes become their two-letter form.
    """
    if not isinstance(tag, str) or len(tag) > 16:
        return None
    tag = tag.strip().replace("_", "-").lower()
    if not _LANG_TAG.match(tag):
        return None
    primary, *rest = tag.split("-")
    subtags = [_THREE_TO_TWO.get(primary, primary)]
    for sub in rest:
        if len(sub) == 4 and sub.isalpha():
            subtags.append(sub.title())  # script
        elif (len(sub) == 2 and sub.isalpha()) or (len(sub) == 3 and sub.isdigit()):
            subtags.append(sub.upper())  # region
        else:
            subtags.append(sub)
    return "-".join(subtags)


@dataclass
class ParsedObject:
    """Exactly the peer-supplied columns of `Post`; `Post(**asdict(p), local=False)` works."""

    ap_id: str
    type: str
    author_uri: str
    published: datetime
    url: str = ""
    name: str = ""
    summary: str = ""
    content: str = ""
    content_map: dict[str, str] = field(default_factory=dict)
    language: str = ""
    in_reply_to: str | None = None
    public: bool = False
    to: list[str] = field(default_factory=list)
    cc: list[str] = field(default_factory=list)
    tags: list[dict] = field(default_factory=list)
    attachments: list[dict] = field(default_factory=list)
    sensitive: bool = False
    updated: datetime | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def attributed_to(obj: dict) -> str | None:
    """The author: the first actor in `attributedTo` (PeerTube sends [Person, Group])."""
    for item in as_list(obj.get("attributedTo")):
        if isinstance(item, dict):
            kinds = {k for k in as_list(item.get("type")) if isinstance(k, str)}
            if kinds and not kinds & ACTOR_TYPES:
                continue  # e.g. a Link or a Collection in the list, not an actor
        elif not isinstance(item, str):
            continue
        author = id_of(item)
        if author and safe_url(author) == author:  # exact: it is compared with the signer
            return author
    return None


def parse_object(obj: dict, *, now: datetime) -> ParsedObject:
    """Validate and normalise one received Note/Article/Page/Event/Question."""
    if not isinstance(obj, dict):
        raise InvalidObject("object is not a JSON object")
    ap_id = safe_url(obj.get("id"))
    # Exact, not repaired: the inbox compares and tombstones the id as sent.
    if not ap_id or ap_id != obj.get("id"):
        raise InvalidObject("id missing or not an http(s) URL")
    kind = next((t for t in as_list(obj.get("type")) if isinstance(t, str) and t in SUPPORTED_TYPES), None)
    if kind is None:
        raise InvalidObject("unsupported object type")
    author = attributed_to(obj)
    if not author:
        raise InvalidObject("attributedTo missing or not an actor id")
    now = now if now.tzinfo else now.replace(tzinfo=timezone.utc)
    published = read_datetime(obj.get("published"), "published") if obj.get("published") is not None else now
    if published > now + FUTURE_SKEW:
        published = now
    try:
        updated = read_datetime(obj.get("updated"), "updated") if obj.get("updated") is not None else None
    except InvalidObject:
        updated = None  # Mastodon ignores an unreadable `updated`; it only marks an edit
    if updated is not None and updated > now + FUTURE_SKEW:
        updated = now

    # Only Note-like posts use `summary` as a content warning (Mastodon 4.3); elsewhere it
    # is the description shown under the title.
    is_cw = kind in ("Note", "Question")
    clean_summary: Callable[[str], str] = (
        (lambda s: plain_text(s, MAX_SUMMARY_CHARS)) if is_cw else (lambda s: _clean_html(s, MAX_SUMMARY_CHARS))
    )
    content_map = _language_map(obj.get("contentMap"), lambda s: _clean_html(s, MAX_CONTENT_CHARS))
    name_map = _language_map(obj.get("nameMap"), lambda s: plain_text(s, MAX_NAME_CHARS))
    summary_map = _language_map(obj.get("summaryMap"), clean_summary)
    language = next(iter(content_map or name_map or summary_map), None) or normalize_language(obj.get("inLanguage"))
    language = "" if language in (None, "und") else language

    raw_content = obj.get("content")
    if isinstance(raw_content, str):
        content = _clean_html(raw_content, MAX_CONTENT_CHARS)
        if not content_map and language and content:
            content_map = {language: content}
    else:
        content = next(iter(content_map.values()), "")
    name = plain_text(obj["name"], MAX_NAME_CHARS) if isinstance(obj.get("name"), str) else next(iter(name_map.values()), "")
    summary = clean_summary(obj["summary"]) if isinstance(obj.get("summary"), str) else next(iter(summary_map.values()), "")

    to, public_to = _recipients(obj.get("to"))
    cc, public_cc = _recipients(obj.get("cc"))
    extra: dict[str, Any] = {}
    if name_map:
        extra["nameMap"] = name_map
    if summary_map:
        extra["summaryMap"] = summary_map
    if kind == "Event":
        extra.update(event_extra(obj))
    elif kind == "Question":
        extra.update(question_extra(obj))
    # A peer's appeal flag lives in `extra`: the appeal columns of Post are our admin's only.
    extra.update(appeal_extra(obj))

    return ParsedObject(
        ap_id=ap_id, type=kind, author_uri=author, published=published, updated=updated,
        url=_pick_url(obj.get("url")) or "", name=name, summary=summary, content=content,
        content_map=content_map, language=language,
        in_reply_to=safe_url(id_of(next(iter(as_list(obj.get("inReplyTo"))), None))),
        public=public_to or public_cc, to=to, cc=cc, tags=_tags(obj.get("tag")),
        attachments=_attachments(obj.get("attachment")), sensitive=obj.get("sensitive") is True,
        extra=extra,
    )


def _clean_html(markup: Any, limit: int) -> str:
    if not isinstance(markup, str):
        return ""
    cleaned = sanitize_html(markup)
    if len(cleaned) <= limit:
        return cleaned
    # Cut, re-sanitise (which closes what the cut left open), and shrink the cut by the
    # overshoot until it fits: closing tags can make the repaired text longer than the cut.
    budget = limit - len(TRUNCATION_MARK)
    cut = budget
    for _ in range(8):
        short = sanitize_html(cleaned[:cut])
        if len(short) <= budget:
            return short + TRUNCATION_MARK
        cut -= max(len(short) - budget, 64)
    # Pathologically deep nesting: keep the words, drop the markup.
    return html.escape(plain_text(cleaned, budget // 5), quote=False) + TRUNCATION_MARK


def _language_map(value: Any, clean: Callable[[str], str]) -> dict[str, str]:
    # Document order is kept: the first key is the primary language (Mastodon reads it so).
    out: dict[str, str] = {}
    if not isinstance(value, dict):
        return out
    for key, text in value.items():
        lang = normalize_language(key)
        if lang and lang not in out and isinstance(text, str):
            out[lang] = clean(text)
    return out


def _recipients(value: Any) -> tuple[list[str], bool]:
    # Public is looked for in the whole list, but only MAX_RECIPIENTS others are kept: a
    # 100 000-entry `to` must not turn into 100 000 notifications or deliveries.
    kept: list[str] = []
    seen: set[str] = set()
    public = False
    for item in as_list(value):
        ident = id_of(item)
        if is_public_address(ident):
            public = True
        elif len(kept) < MAX_RECIPIENTS:
            url = safe_url(ident)
            if url and url not in seen:
                seen.add(url)
                kept.append(url)
    return ([PUBLIC] + kept if public else kept), public


def _pick_url(value: Any, prefer: str = "text/html") -> str | None:
    # Mastodon's url_to_href: strings, Link objects or arrays of both; the HTML page wins.
    first = None
    for item in as_list(value):
        if isinstance(item, str):
            url, media = safe_url(item), None
        elif isinstance(item, dict):
            url = safe_url(item.get("href")) or safe_url(item.get("url"))
            media = item.get("mediaType") or item.get("mimeType")
        else:
            continue
        if url and media == prefer:
            return url
        first = first or url
    return first


_EMOJI_NAME = re.compile(r"^:[\w-]{1,64}:$")


def _tags(value: Any) -> list[dict]:
    out: list[dict] = []
    seen: set[tuple[str, str]] = set()
    for item in as_list(value):
        if len(out) >= MAX_TAGS:
            break
        tag = _tag(item) if isinstance(item, dict) else None
        # Mentions are deduplicated by actor, hashtags by name: one notification, one tag.
        key = (tag["type"], tag["href"] if tag["type"] == "Mention" else tag["name"].lower()) if tag else None
        if tag and key not in seen:
            seen.add(key)
            out.append(tag)
    return out


def _tag(item: dict) -> dict | None:
    kinds = as_list(item.get("type"))
    if "Mention" in kinds:
        href = safe_url(item.get("href"))  # the actor to notify: without it, nothing to do
        return {"type": "Mention", "name": plain_text(item.get("name"), 300), "href": href} if href else None
    if "Hashtag" in kinds:
        label = plain_text(item.get("name"), 100).lstrip("#")
        if not label or " " in label:
            return None
        return {"type": "Hashtag", "name": f"#{label}", "href": safe_url(item.get("href")) or ""}
    if "Emoji" in kinds:
        # The custom emoji's image goes in href: it is what a renderer needs.
        label = item.get("name")
        href = _pick_url(item.get("icon"), prefer="image/png")
        if isinstance(label, str) and _EMOJI_NAME.match(label) and href:
            return {"type": "Emoji", "name": label, "href": href}
    return None


_ATTACHMENT_TYPES = ("Document", "Image", "Video", "Audio", "Link")
_MEDIA_TYPE = re.compile(r"^[a-z0-9.+-]+/[a-z0-9.+-]+$")


def _attachments(value: Any) -> list[dict]:
    out: list[dict] = []
    for item in as_list(value):
        if len(out) >= MAX_ATTACHMENTS:
            break
        if not isinstance(item, dict):
            continue
        kinds = as_list(item.get("type"))
        kind = next((k for k in _ATTACHMENT_TYPES if k in kinds), None)
        url = _pick_url(item.get("href") if kind == "Link" else item.get("url") or item.get("href"), prefer="")
        if kind is None or url is None:
            continue  # PropertyValue metadata, or media we could not link to safely
        media = item.get("mediaType")
        media = media.lower() if isinstance(media, str) and _MEDIA_TYPE.match(media.lower()) else ""
        alt = item.get("name") if isinstance(item.get("name"), str) else item.get("summary")
        out.append({"type": kind, "mediaType": media, "url": url, "name": plain_text(alt, MAX_ALT_CHARS)})
    return out
