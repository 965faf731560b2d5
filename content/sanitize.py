"""Make peer-supplied HTML and URLs safe to store and show.

`sanitize_html` reproduces Mastodon's MASTODON_STRICT sanitizer (app/lib/sanitize_config.rb)
with nh3/Ammonia, so what we store renders the same way in every Mastodon-compatible client.
Ammonia cannot express three of Mastodon's transformers (headings -> <strong>, a link whose
scheme is refused -> its text, rel="tag" kept next to our rel values), so a small pass over
Ammonia's *output* does them. That pass is safe because Ammonia's serialiser escapes `<`, `>`
and `"` everywhere except in real markup: every `<` it sees starts a real tag, and it only
renames or deletes whole tags or appends a constant attribute.
"""
from __future__ import annotations

import html as _html
import re
from urllib.parse import urlsplit

import nh3

# Mastodon's LINK_PROTOCOLS plus mailto (C.5 keeps mailto for contact links).
LINK_SCHEMES = frozenset({
    "http", "https", "dat", "dweb", "ipfs", "ipns", "ssb", "gopher", "xmpp", "magnet",
    "gemini", "mailto",
})
LINK_REL = "nofollow noopener noreferrer"

_HEADINGS = {"h1", "h2", "h3", "h4", "h5", "h6"}
_ALLOWED_TAGS = {
    "p", "br", "span", "a", "abbr", "del", "s", "pre", "blockquote", "code", "b", "strong",
    "u", "sub", "sup", "i", "em", "ul", "ol", "li", "ruby", "rt", "rp",
} | _HEADINGS
# Elements whose *text* must not survive either: code, styles, and foreign content whose
# text would otherwise leak in as stray words. Sanitize's default remove_contents list plus
# the plug-in elements (embed, object, applet) and form controls.
_DROP_WITH_CONTENT = {
    "script", "style", "iframe", "frame", "frameset", "embed", "object", "applet", "svg",
    "math", "noscript", "noembed", "noframes", "template", "xmp", "plaintext", "title",
    "textarea", "select", "button", "canvas", "audio", "video",
}
_ATTRIBUTES = {
    "*": {"lang"},
    "a": {"href", "rel", "class", "title", "translate"},
    "span": {"class", "translate"},
    "blockquote": {"cite"},
    "ol": {"start", "reversed"},
    "li": {"value"},
}
_KEPT_CLASSES = {"mention", "hashtag", "ellipsis", "invisible"}
_MICROFORMAT = re.compile(r"^(?:h|p|u|dt|e)-[a-z0-9-]+$")


def _filter_attribute(element: str, attribute: str, value: str) -> str | None:
    if attribute == "class":
        kept = [c for c in value.split() if c in _KEPT_CLASSES or _MICROFORMAT.match(c)]
        return " ".join(kept) or None
    if attribute == "rel":
        # Only rel="tag" carries meaning from a peer (hashtag links); ours are added always.
        return f"tag {LINK_REL}" if "tag" in value.lower().split() else LINK_REL
    if attribute == "cite":
        # Ammonia checks schemes on href/src only; a cite URL is still a URL.
        return value if _scheme_allowed(value) else None
    return value


def _scheme_allowed(value: str) -> bool:
    try:
        scheme = urlsplit(value.strip()).scheme.lower()
    except ValueError:
        return False
    return scheme in LINK_SCHEMES


_CLEANER = nh3.Cleaner(
    tags=_ALLOWED_TAGS,
    clean_content_tags=_DROP_WITH_CONTENT,
    attributes=_ATTRIBUTES,
    attribute_filter=_filter_attribute,
    link_rel=None,  # rel is an allowed attribute (for rel="tag"); the post-pass adds ours
    url_schemes=set(LINK_SCHEMES),
    url_relative="deny",  # a relative link means nothing outside its origin: Mastodon drops it
    set_tag_attribute_values={"a": {"target": "_blank"}},
    strip_comments=True,
)

# Ammonia's output is normalised: lowercase names, double-quoted values, `<`/`>`/`"` escaped
# inside values and text. So this regex sees exactly the real tags.
_TAG = re.compile(r"<(/?)([a-z][a-z0-9]*)([^>]*)>")


def _post_pass(cleaned: str) -> str:
    out: list[str] = []
    pos = 0
    dropping_link = False  # an <a> never contains another <a> after HTML5 parsing
    for m in _TAG.finditer(cleaned):
        out.append(cleaned[pos:m.start()])
        pos = m.end()
        closing, name, attrs = m.group(1), m.group(2), m.group(3)
        if name in _HEADINGS:
            out.append("</strong></p>" if closing else f"<p><strong{attrs}>")
        elif name == "a" and not closing:
            dropping_link = ' href="' not in attrs
            if not dropping_link:
                if ' rel="' not in attrs:
                    # Before the target Ammonia appends, where a second pass would keep it:
                    # sanitising stored HTML again must not change it.
                    attrs = attrs.replace(' target="_blank"', "") + f' rel="{LINK_REL}" target="_blank"'
                out.append(f"<a{attrs}>")
        elif name == "a":
            if not dropping_link:
                out.append(m.group(0))
            dropping_link = False
        else:
            out.append(m.group(0))
    out.append(cleaned[pos:])
    return "".join(out)


def sanitize_html(html: str) -> str:
    """Peer HTML -> HTML safe to embed in our pages (Mastodon's strict allowlist)."""
    if not isinstance(html, str) or not html:
        return ""
    return _post_pass(_CLEANER.clean(html))


_BLOCK_TAGS = {"p", "br", "div", "li", "blockquote", "pre", "tr", "td", "th", "dd", "dt"} | _HEADINGS
_TEXT_CLEANER = nh3.Cleaner(
    tags=_BLOCK_TAGS, clean_content_tags=_DROP_WITH_CONTENT, attributes={}, link_rel=None,
)
_ANY_TAG = re.compile(r"<[^>]*>")
_SPACE = re.compile(r"\s+")


def plain_text(html_or_text: str, max_len: int = 500) -> str:
    """Text for names and titles: no markup at all, entities decoded, one line, <= max_len.

    The result is *text*: templates must escape it like any other string.
    """
    if not isinstance(html_or_text, str) or not html_or_text:
        return ""
    # Block boundaries become spaces so "<p>a</p><p>b</p>" reads "a b", while inline markup
    # such as Mastodon's "@<span>bob</span>" joins up without one.
    text = _ANY_TAG.sub(" ", _TEXT_CLEANER.clean(html_or_text))
    text = _SPACE.sub(" ", _html.unescape(text)).strip()
    if len(text) > max_len:
        text = text[: max(max_len - 1, 0)].rstrip() + "…" if max_len > 0 else ""
    return text


_URL_FORBIDDEN = re.compile(r"[\s\\\x00-\x1f\x7f]")
MAX_URL_CHARS = 2048  # the width of every URL column in our models


def safe_url(value: object) -> str | None:
    """An absolute http(s) URL with a host, or None. For href/src fields we will link to."""
    if not isinstance(value, str):
        return None
    value = value.strip()
    # Backslashes and control characters are read differently by browsers and by urllib
    # (`https://a.example\@b.example`), so a URL containing them is refused, not repaired.
    if not value or len(value) > MAX_URL_CHARS or _URL_FORBIDDEN.search(value):
        return None
    try:
        parts = urlsplit(value)
        parts.port  # raises ValueError on a malformed port
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    return value
