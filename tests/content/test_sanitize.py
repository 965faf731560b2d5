"""sanitize_html against the XSS vectors of C.6 item 37 and Mastodon's strict allowlist."""
from __future__ import annotations

from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest

from content.sanitize import LINK_SCHEMES, plain_text, safe_url, sanitize_html

ALLOWED_TAGS = {
    "p", "br", "span", "a", "abbr", "del", "s", "pre", "blockquote", "code", "b", "strong",
    "u", "sub", "sup", "i", "em", "ul", "ol", "li", "ruby", "rt", "rp",
}
ALLOWED_ATTRS = {
    "a": {"href", "rel", "class", "title", "translate", "target", "lang"},
    "span": {"class", "translate", "lang"},
    "blockquote": {"cite", "lang"},
    "ol": {"start", "reversed", "lang"},
    "li": {"value", "lang"},
}


class _Walker(HTMLParser):
    """Re-parses our output the way a browser tokenizer would and records every tag."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def assert_harmless(out: str) -> None:
    walker = _Walker()
    walker.feed(out)
    walker.close()
    for tag, attrs in walker.tags:
        assert tag in ALLOWED_TAGS, f"tag <{tag}> survived: {out}"
        assert set(attrs) <= ALLOWED_ATTRS.get(tag, {"lang"}), f"attrs {attrs} on <{tag}>: {out}"
        for name in ("href", "cite"):
            if attrs.get(name) is not None:
                assert urlsplit(attrs[name]).scheme.lower() in LINK_SCHEMES, out
        if tag == "a":
            assert attrs.get("target") == "_blank"
            assert {"nofollow", "noopener", "noreferrer"} <= set((attrs.get("rel") or "").split())
    lowered = out.lower()
    for needle in ("javascript:", "vbscript:", "data:text", "expression(", "<script", "<style", "<svg", "<iframe", "<embed", "<object"):
        assert needle not in lowered, f"{needle!r} in {out}"


XSS_VECTORS = {
    "script": ("<p>hi</p><script>alert(document.cookie)</script>", "hi"),
    "script uppercase": ("<SCRIPT SRC=https://evil.example/x.js></SCRIPT><p>ok</p>", "ok"),
    # The tokenizer reads "<scr<script>" as one unknown tag: what is left is escaped text.
    "nested script": ("<scr<script>ipt>alert(1)</script>text", "ipt&gt;alert(1)text"),
    "img onerror": ('<img src=x onerror="alert(1)">caption', "caption"),
    "onerror on allowed tag": ('<p onerror="alert(1)" onclick="alert(2)">para</p>', "para"),
    "onmouseover on link": ('<a href="https://ok.example" onmouseover="alert(1)">link</a>', "link"),
    "iframe": ('<iframe src="https://evil.example"></iframe>after', "after"),
    "iframe srcdoc": ('<iframe srcdoc="<script>alert(1)</script>">inner</iframe>after', "after"),
    "embed": ('<embed src="https://evil.example/x.swf">after', "after"),
    "object": ('<object data="javascript:alert(1)"><param name=x></object>after', "after"),
    "style tag": ("<style>body{background:url(javascript:alert(1))}</style>styled", "styled"),
    "style attr expression": ('<span style="width: expression(alert(1))">ie</span>', "ie"),
    "style attr url": ('<p style="background:url(javascript:alert(1))">bg</p>', "bg"),
    "svg onload": ('<svg onload="alert(1)"><circle r="4"/></svg>after', "after"),
    "svg script": ("<svg><script>alert(1)</script><text>svgtext</text></svg>after", "after"),
    "math": ('<math><mtext><a href="javascript:alert(1)">m</a></mtext></math>after', "after"),
    "javascript link": ('<a href="javascript:alert(1)">click me</a>', "click me"),
    "data link": ('<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">data</a>', "data"),
    "vbscript link": ('<a href="vbscript:msgbox(1)">vb</a>', "vb"),
    "mixed case scheme": ('<a href="JaVaScRiPt:alert(1)">mixed</a>', "mixed"),
    "tab in scheme": ('<a href="java\tscript:alert(1)">tab</a>', "tab"),
    "newline in scheme": ('<a href="java\nscript:alert(1)">nl</a>', "nl"),
    "entity encoded scheme": ('<a href="&#106;&#97;vascript&#58;alert(1)">ent</a>', "ent"),
    "leading space scheme": ('<a href="  javascript:alert(1)">space</a>', "space"),
    "null byte scheme": ('<a href="java\x00script:alert(1)">nul</a>', "nul"),
    "form action": ('<form action="javascript:alert(1)"><button>go</button></form>after', "after"),
    "meta refresh": ('<meta http-equiv="refresh" content="0;url=javascript:alert(1)">after', "after"),
    "base href": ('<base href="javascript:alert(1)//">after', "after"),
    "link stylesheet": ('<link rel="stylesheet" href="https://evil.example/x.css">after', "after"),
    "noscript mutation": ('<noscript><p title="</noscript><img src=x onerror=alert(1)>">', ""),
    "comment hiding script": ("<!--<script>alert(1)</script>-->visible", "visible"),
    "blockquote cite": ('<blockquote cite="javascript:alert(1)">quote</blockquote>', "quote"),
}


@pytest.mark.parametrize("name", list(XSS_VECTORS))
def test_xss_vectors_are_stored_harmless(name):
    html, kept_text = XSS_VECTORS[name]
    out = sanitize_html(html)
    assert_harmless(out)
    assert kept_text in out
    if name != "nested script":
        assert "alert" not in out  # the payload is gone, not merely defused


def test_script_and_style_contents_are_removed_not_shown_as_text():
    out = sanitize_html("<p>a</p><script>var stolen = document.cookie;</script><style>p{}</style>")
    assert out == "<p>a</p>"


def test_unsafe_link_keeps_its_text_but_loses_the_link():
    assert sanitize_html('<p>see <a href="javascript:alert(1)">this page</a>!</p>') == "<p>see this page!</p>"


def test_relative_link_becomes_text():
    # A relative URL means nothing outside its origin; Mastodon drops it too.
    assert sanitize_html('<a href="/users/x">x</a>') == "x"


@pytest.mark.parametrize("scheme", sorted(LINK_SCHEMES))
def test_allowed_link_schemes_keep_their_link(scheme):
    href = f"{scheme}://example.org/x" if scheme not in ("mailto", "magnet", "xmpp") else f"{scheme}:someone@example.org"
    out = sanitize_html(f'<a href="{href}">l</a>')
    assert f'href="{href}"' in out
    assert_harmless(out)


def test_mastodon_mention_and_hashtag_markup_survive_intact():
    mention = ('<span class="h-card" translate="no"><a href="https://m.example/@bob" '
               'class="u-url mention">@<span>bob</span></a></span>')
    hashtag = '<a href="https://social.example/tags/cats" class="mention hashtag" rel="tag">#<span>cats</span></a>'
    out = sanitize_html(f"<p>{mention} hi {hashtag}</p>")
    assert out == (
        '<p><span class="h-card" translate="no"><a href="https://m.example/@bob" class="u-url mention" '
        'rel="nofollow noopener noreferrer" target="_blank">@<span>bob</span></a></span> hi '
        '<a href="https://social.example/tags/cats" class="mention hashtag" '
        'rel="tag nofollow noopener noreferrer" target="_blank">#<span>cats</span></a></p>'
    )


def test_links_get_rel_and_target_whatever_the_peer_said():
    out = sanitize_html('<a href="https://x.example" rel="opener me" target="_self">x</a>')
    assert out == '<a href="https://x.example" rel="nofollow noopener noreferrer" target="_blank">x</a>'


@pytest.mark.parametrize("level", [1, 2, 3, 4, 5, 6])
def test_headings_become_strong_paragraphs(level):
    out = sanitize_html(f'<h{level} lang="fr">Grève générale</h{level}><p>texte</p>')
    assert out == '<p><strong lang="fr">Grève générale</strong></p><p>texte</p>'


def test_class_values_are_filtered_to_microformats_and_mastodon_names():
    out = sanitize_html(
        '<span class="h-card evil p-name big-red dt-published e-content u-photo mention hashtag '
        'ellipsis invisible h- hidden">x</span>'
    )
    assert out == '<span class="h-card p-name dt-published e-content u-photo mention hashtag ellipsis invisible">x</span>'


def test_class_attribute_dropped_when_nothing_allowed_remains_and_not_on_other_tags():
    assert sanitize_html('<span class="attack overlay">x</span>') == "<span>x</span>"
    assert sanitize_html('<p class="h-entry">x</p>') == "<p>x</p>"


def test_allowed_attributes_are_kept_and_others_dropped():
    html = (
        '<ol start="3" reversed><li value="5" lang="es">uno</li></ol>'
        '<blockquote cite="https://src.example/q" id="q" data-x="1">q</blockquote>'
        '<a href="https://x.example" title="t" translate="no" style="color:red">a</a>'
        '<abbr title="General strike">GS</abbr>'
    )
    out = sanitize_html(html)
    assert '<ol start="3" reversed="">' in out
    assert '<li value="5" lang="es">uno</li>' in out
    assert '<blockquote cite="https://src.example/q">q</blockquote>' in out
    assert 'title="t" translate="no"' in out and "style" not in out
    assert "<abbr>GS</abbr>" in out  # Mastodon allows no title on abbr
    assert "id=" not in out and "data-x" not in out


def test_images_and_unknown_elements_are_removed():
    out = sanitize_html('<div><p>a<img src="https://x.example/i.png" alt="pic">b</p><table><tr><td>c</td></tr></table></div>')
    assert out == "<p>ab</p>c"


def test_sanitising_is_idempotent_on_a_real_mastodon_post():
    html = (
        '<p><span class="h-card" translate="no"><a href="https://union-a.example/@union" class="u-url mention">'
        '@<span>union</span></a></span> Solidarity! <a href="https://m.example/tags/RailStrike" class="mention hashtag" '
        'rel="tag">#<span>RailStrike</span></a></p><h2>Report</h2><p><a href="https://news.example/a" target="_blank" '
        'rel="nofollow noopener noreferrer" translate="no"><span class="invisible">https://</span>'
        '<span class="ellipsis">news.example/a</span></a></p>'
    )
    once = sanitize_html(html)
    assert sanitize_html(once) == once
    assert "<p><strong>Report</strong></p>" in once


def test_non_string_or_empty_input_gives_empty_string():
    assert sanitize_html(None) == ""  # type: ignore[arg-type]
    assert sanitize_html("") == ""


def test_plain_text_strips_markup_and_decodes_entities():
    text = plain_text('<p>Assemblée   <b>générale</b></p>\n<p>@<span>bob</span> &amp; &lt;script&gt;alert(1)&lt;/script&gt;</p>')
    assert text == "Assemblée générale @bob & <script>alert(1)</script>"


def test_plain_text_drops_script_content_and_separates_blocks():
    assert plain_text("<h1>Title</h1><script>evil()</script><ul><li>a</li><li>b</li></ul>line<br>two") == "Title a b line two"


def test_plain_text_truncates_with_an_ellipsis_within_max_len():
    text = plain_text("word " * 100, max_len=20)
    assert len(text) <= 20 and text.endswith("…")
    assert plain_text("short", max_len=20) == "short"
    assert plain_text(None) == "" and plain_text(42) == ""  # type: ignore[arg-type]


@pytest.mark.parametrize("url", [
    "https://union-a.example/actor", "http://127.0.0.1:8001/actor", "https://xn--bcher-kva.example/x?y=1#z",
])
def test_safe_url_accepts_http_urls(url):
    assert safe_url(url) == url


def test_safe_url_strips_surrounding_whitespace():
    assert safe_url("  https://a.example/x \n") == "https://a.example/x"


@pytest.mark.parametrize("value", [
    "javascript:alert(1)", "JAVASCRIPT:alert(1)", "data:text/html,<script>alert(1)</script>", "vbscript:x",
    "/relative/path", "//evil.example/x", "ftp://files.example/x", "https://", "https:///path",
    "https://a.example\\@evil.example/", "https://a.example/x y", "https://a.example:99999/",
    "https://a.example/" + "x" * 3000, "", None, 42, ["https://a.example"], {"href": "https://a.example"},
])
def test_safe_url_rejects_everything_else(value):
    assert safe_url(value) is None
