"""Our outgoing statements as Mastodon-shaped Notes, and plain text -> safe HTML.

The Note follows mastodon_interop 4.2 (what Mastodon itself emits) and the multilingual
recommendation of events_groups_security D.3: `content` is the primary language plus an
"Other languages:" line of links, because Mastodon shows `content` and keeps one language
only; `contentMap` carries every language, primary first, with two-letter keys where they
exist because Akkoma drops any other key.
"""
from __future__ import annotations

import copy
import html
import re
from collections.abc import Callable
from datetime import datetime
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from content.appeals import CONTEXT_TERMS as APPEAL_TERMS
from content.appeals import appeal_paragraph, appeal_properties
from content.as2 import PUBLIC, normalize_language
from content.sanitize import LINK_REL, safe_url
from federation.vocab import iso_datetime

# Only the terms a Note of ours uses: Mastodon needs none of them to read it (it reads
# compact keys), but JSON-LD processors (Friendica) need them to find `sensitive` et al.
CONTEXT: list = [
    "https://www.w3.org/ns/activitystreams",
    {
        "sensitive": "as:sensitive",
        "Hashtag": "as:Hashtag",
        "toot": "http://joinmastodon.org/ns#",
        "blurhash": "toot:blurhash",
        "focalPoint": {"@container": "@list", "@id": "toot:focalPoint"},
    },
]

# Autonyms for the "Other languages:" links: a reader looks for their language's own name.
AUTONYMS = dict(pair.split("=") for pair in (
    "en=English|fr=français|es=español|de=Deutsch|it=italiano|pt=português|nl=Nederlands|"
    "ca=català|eu=euskara|gl=galego|pl=polski|cs=čeština|sk=slovenčina|sl=slovenščina|"
    "hr=hrvatski|sr=српски|bs=bosanski|bg=български|ro=română|hu=magyar|el=Ελληνικά|"
    "tr=Türkçe|ru=русский|uk=українська|be=беларуская|lt=lietuvių|lv=latviešu|et=eesti|"
    "fi=suomi|sv=svenska|da=dansk|no=norsk|nb=norsk bokmål|nn=nynorsk|is=íslenska|ga=Gaeilge|"
    "cy=Cymraeg|mt=Malti|sq=shqip|mk=македонски|ar=العربية|he=עברית|fa=فارسی|ur=اردو|"
    "hi=हिन्दी|bn=বাংলা|ta=தமிழ்|zh=中文|ja=日本語|ko=한국어|vi=Tiếng Việt|th=ไทย|"
    "id=Bahasa Indonesia|ms=Bahasa Melayu|sw=Kiswahili|am=አማርኛ|ku=Kurdî|eo=Esperanto|"
    "tl=Tagalog|ka=ქართული|hy=Հայերեն|az=azərbaycan|kk=қазақ|uz=oʻzbek"
).split("|"))
_ATTACHMENT_EXTRAS = ("blurhash", "focalPoint", "width", "height")


def note_json(
    *,
    ap_id: str,
    author_uri: str,
    followers_url: str,
    url: str,
    content_map: dict[str, str],
    summary: str | None,
    tags: list[dict],
    mentions: list[dict],
    in_reply_to: str | None,
    published: datetime,
    updated: datetime | None,
    attachments: list[dict],
    replies_url: str,
    appeal: bool = False,
    appeal_until: datetime | None = None,
) -> dict:
    """A public Note as Mastodon emits one; `content_map` values must already be safe HTML.

    `tags` are hashtags ({"name": "#x" or "x", "href"}), `mentions` actors
    ({"href": actor uri, "name": "@u@host"}); mentioned actors are also put in `cc` so
    Mastodon notifies them (it notifies only tagged *and* addressed actors).

    An `appeal` gets our extension properties (content/appeals.py) and, in every language, a
    sentence saying what is asked: Mastodon readers see only the text.
    """
    languages = _emit_languages(content_map)
    if appeal:
        languages = {lang: text + appeal_paragraph(lang, appeal_until) for lang, text in languages.items()}
    primary_html = next(iter(languages.values()), "")
    content = primary_html + other_languages(url, list(languages)[1:])

    mention_tags: list[dict] = []
    cc = [followers_url]
    for mention in mentions:
        href = mention["href"]
        if href not in cc:
            cc.append(href)
            mention_tags.append({"type": "Mention", "href": href, "name": mention.get("name", "")})
    hashtag_tags = [
        {"type": "Hashtag", "href": tag["href"], "name": "#" + tag["name"].lstrip("#")} for tag in tags
    ]

    note: dict = {
        "@context": copy.deepcopy(CONTEXT),
        "id": ap_id,
        "type": "Note",
        "summary": summary or None,
        "inReplyTo": in_reply_to,
        "published": iso_datetime(published),
    }
    if updated is not None:
        note["updated"] = iso_datetime(updated)  # Mastodon shows "edited" when the key is present
    note.update({
        "url": url,
        "attributedTo": author_uri,
        "to": [PUBLIC],
        "cc": cc,
        "sensitive": bool(summary),
        "content": content,
        "contentMap": languages,
        "attachment": [_attachment(a) for a in attachments],
        "tag": hashtag_tags + mention_tags,
        "replies": {
            "id": replies_url,
            "type": "Collection",
            "first": {"type": "CollectionPage", "partOf": replies_url, "items": []},
        },
    })
    if appeal:
        note["@context"][1].update(copy.deepcopy(APPEAL_TERMS))
        note.update(appeal_properties(appeal, appeal_until))
    return note


def _emit_languages(content_map: dict[str, str]) -> dict[str, str]:
    # "pt-BR" is sent as "pt" unless another key also starts with "pt": then both keep their
    # region, since two texts under one key would lose one of them.
    normalised: list[tuple[str, str]] = []
    for key, text in content_map.items():
        tag = normalize_language(key)
        if tag is None or not isinstance(text, str):
            raise ValueError(f"content_map key {key!r} is not a language tag")
        normalised.append((tag, text))
    bases = [tag.split("-")[0] for tag, _ in normalised]
    out: dict[str, str] = {}
    for (tag, text), base in zip(normalised, bases):
        key = base if bases.count(base) == 1 else tag
        if key in out:
            raise ValueError(f"content_map has language {key!r} twice")
        out[key] = text
    return out


def other_languages(url: str, languages: list[str]) -> str:
    if not languages:
        return ""
    links = " · ".join(
        f'<a href="{html.escape(_with_lang(url, lang))}" lang="{html.escape(lang)}">'
        f"{html.escape(AUTONYMS.get(lang.split('-')[0], lang))}</a>"
        for lang in languages
    )
    return f"<p>Other languages: {links}</p>"


def _with_lang(url: str, lang: str) -> str:
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "lang"]
    return urlunsplit(parts._replace(query=urlencode(query + [("lang", lang)])))


def _attachment(item: dict) -> dict:
    out = {
        "type": item.get("type") or "Document",
        "mediaType": item.get("mediaType") or None,
        "url": item["url"],
        "name": item.get("name") or None,  # alt text; Mastodon sends null when there is none
    }
    out.update({k: item[k] for k in _ATTACHMENT_EXTRAS if item.get(k) is not None})
    return out


# One pass finds all three kinds, so a "#" inside a URL is never read as a hashtag.
_TOKEN = re.compile(
    r"(?P<url>https?://[^\s<>\"]+)"
    r"|(?<![\w/#&])#(?P<tag>\w+(?:[·\u200c]\w+)*)"
    r"|(?<![\w@/])@(?P<user>\w+(?:[.-]+\w+)*)@(?P<host>[\w-]+(?:\.[\w-]+)*(?::\d{1,5})?)"
)
_URL_TRAILING = ".,;:!?'\")]}»…"


def text_to_html(
    text: str, *, hashtag_url: Callable[[str], str], mentions: dict[str, str]
) -> tuple[str, list[str], list[str]]:
    """Plain text (CLI, admin form) -> (safe HTML, hashtags, handles).

    Everything is escaped; a blank line starts a new <p>, a newline is a <br>. http(s)
    URLs, #hashtags and @user@host become Mastodon's markup (4.2). Hashtags come back
    without "#", handles as "user@host", each once (case-insensitive), in text order; a
    handle missing from `mentions` (keys "user@host" or "@user@host") stays plain text,
    so the caller can resolve the handles returned and call again.
    """
    lookup = {k.lstrip("@").lower(): v for k, v in mentions.items()}
    hashtags: dict[str, str] = {}
    handles: dict[str, str] = {}

    def render(line: str) -> str:
        out: list[str] = []
        pos = 0
        for m in _TOKEN.finditer(line):
            out.append(html.escape(line[pos:m.start()], quote=False))
            pos = m.end()
            if m.group("url"):
                url, tail = _trim_url(m.group("url"))
                out.append(_link(url) + html.escape(tail, quote=False))
            elif m.group("tag"):
                name = m.group("tag")
                if name.isdigit():  # "#1" is an issue number, not a hashtag (Mastodon agrees)
                    out.append(html.escape(m.group(0), quote=False))
                    continue
                hashtags.setdefault(name.lower(), name)
                out.append(
                    f'<a href="{html.escape(hashtag_url(name))}" class="mention hashtag" rel="tag">'
                    f"#<span>{html.escape(name)}</span></a>"
                )
            else:
                user, host = m.group("user"), m.group("host")
                handle = f"{user}@{host}"
                handles.setdefault(handle.lower(), handle)
                profile = lookup.get(handle.lower())
                if profile is None:
                    out.append(html.escape(m.group(0), quote=False))
                else:
                    out.append(
                        f'<span class="h-card" translate="no"><a href="{html.escape(profile)}" '
                        f'class="u-url mention">@<span>{html.escape(user)}</span></a></span>'
                    )
        out.append(html.escape(line[pos:], quote=False))
        return "".join(out)

    normalised = text.replace("\r\n", "\n").replace("\r", "\n").strip()
    paragraphs = [p.strip("\n") for p in re.split(r"\n[ \t]*\n\s*", normalised) if p.strip()]
    body = "".join("<p>" + "<br>".join(render(line) for line in p.split("\n")) + "</p>" for p in paragraphs)
    return body, list(hashtags.values()), list(handles.values())


def _trim_url(url: str) -> tuple[str, str]:
    # Sentence punctuation after a URL is not part of it; a ")" is, when it closes a "(".
    end = len(url)
    while end and url[end - 1] in _URL_TRAILING:
        if url[end - 1] == ")" and url[:end].count("(") >= url[:end].count(")"):
            break
        end -= 1
    return url[:end], url[end:]


def _link(url: str) -> str:
    if not safe_url(url):
        return html.escape(url, quote=False)
    prefix = re.match(r"https?://(?:www\.)?", url).group(0)
    rest = url[len(prefix):]
    # Mastodon's display form: scheme hidden, long URLs cut at 30 characters with "…".
    shown = (
        f'<span class="ellipsis">{html.escape(rest[:30])}</span><span class="invisible">{html.escape(rest[30:])}</span>'
        if len(rest) > 30 else f"<span>{html.escape(rest)}</span>"
    )
    return (
        f'<a href="{html.escape(url)}" rel="{LINK_REL}" translate="no" target="_blank">'
        f'<span class="invisible">{html.escape(prefix)}</span>{shown}</a>'
    )
