"""Our outgoing Note (mastodon_interop 4.2, multilingual per D.3) and text -> HTML."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from content.as2 import PUBLIC, parse_object
from content.compose import CONTEXT, note_json, text_to_html
from content.sanitize import sanitize_html

PUBLISHED = datetime(2026, 3, 8, 9, 0, 0, 123456, tzinfo=timezone.utc)
BASE = "https://union-a.example"


def build(**overrides) -> dict:
    args = dict(
        ap_id=f"{BASE}/statements/123", author_uri=f"{BASE}/actor", followers_url=f"{BASE}/actor/followers",
        url=f"{BASE}/statements/123",
        content_map={"en": "<p>Solidarity with the striking rail workers!</p>"},
        summary=None,
        tags=[{"name": "#RailStrike", "href": f"{BASE}/tags/railstrike"}],
        mentions=[{"href": "https://m.example/users/bob", "name": "@bob@m.example"}],
        in_reply_to=None, published=PUBLISHED, updated=None,
        attachments=[{"type": "Document", "mediaType": "image/jpeg", "url": f"{BASE}/media/1.jpg",
                      "name": "Picket line", "blurhash": "UBL_:rOpGG-oBUNG,qRj2so|=eE1w^n4S5NH",
                      "focalPoint": [0.0, 0.0], "width": 1200, "height": 800}],
        replies_url=f"{BASE}/statements/123/replies",
    )
    args.update(overrides)
    return note_json(**args)


def test_note_has_the_mastodon_shape_field_by_field():
    n = build()
    assert list(n) == [
        "@context", "id", "type", "summary", "inReplyTo", "published", "url", "attributedTo",
        "to", "cc", "sensitive", "content", "contentMap", "attachment", "tag", "replies",
    ]
    assert n["@context"] == CONTEXT
    assert n["id"] == f"{BASE}/statements/123" and n["type"] == "Note"
    assert n["summary"] is None and n["inReplyTo"] is None and n["sensitive"] is False
    assert n["published"] == "2026-03-08T09:00:00Z"
    assert n["url"] == f"{BASE}/statements/123" and n["attributedTo"] == f"{BASE}/actor"
    assert n["to"] == [PUBLIC]
    assert n["cc"] == [f"{BASE}/actor/followers", "https://m.example/users/bob"]
    assert n["content"] == "<p>Solidarity with the striking rail workers!</p>"
    assert n["contentMap"] == {"en": n["content"]}
    assert n["attachment"] == [{
        "type": "Document", "mediaType": "image/jpeg", "url": f"{BASE}/media/1.jpg", "name": "Picket line",
        "blurhash": "UBL_:rOpGG-oBUNG,qRj2so|=eE1w^n4S5NH", "focalPoint": [0.0, 0.0], "width": 1200, "height": 800,
    }]
    assert n["tag"] == [
        {"type": "Hashtag", "href": f"{BASE}/tags/railstrike", "name": "#RailStrike"},
        {"type": "Mention", "href": "https://m.example/users/bob", "name": "@bob@m.example"},
    ]
    assert n["replies"] == {
        "id": f"{BASE}/statements/123/replies", "type": "Collection",
        "first": {"type": "CollectionPage", "partOf": f"{BASE}/statements/123/replies", "items": []},
    }
    json.dumps(n)  # serialisable as it stands


def test_context_declares_the_terms_of_4_2():
    assert CONTEXT[0] == "https://www.w3.org/ns/activitystreams"
    terms = CONTEXT[1]
    assert terms["sensitive"] == "as:sensitive" and terms["Hashtag"] == "as:Hashtag"
    assert terms["toot"] == "http://joinmastodon.org/ns#" and terms["blurhash"] == "toot:blurhash"
    assert terms["focalPoint"] == {"@container": "@list", "@id": "toot:focalPoint"}
    n = build()
    n["@context"][1]["sensitive"] = "mutated"
    assert CONTEXT[1]["sensitive"] == "as:sensitive"  # each Note gets its own copy


def test_content_warning_makes_the_note_sensitive():
    n = build(summary="Police violence")
    assert n["summary"] == "Police violence" and n["sensitive"] is True
    assert build(summary="")["summary"] is None


def test_updated_and_reply_and_naive_times():
    n = build(updated=PUBLISHED + timedelta(hours=1), in_reply_to="https://m.example/users/bob/statuses/9",
              published=datetime(2026, 3, 8, 10, 0, tzinfo=timezone(timedelta(hours=1))))
    assert n["published"] == "2026-03-08T09:00:00Z"  # converted to UTC
    assert n["updated"] == "2026-03-08T10:00:00Z"
    assert n["inReplyTo"] == "https://m.example/users/bob/statuses/9"
    assert "updated" not in build()
    assert build(published=datetime(2026, 3, 8, 9, 0))["published"] == "2026-03-08T09:00:00Z"


def test_mentions_deduplicated_in_cc_and_tag():
    bob = {"href": "https://m.example/users/bob", "name": "@bob@m.example"}
    n = build(mentions=[bob, bob, {"href": f"{BASE}/actor/followers", "name": "x"}])
    assert n["cc"] == [f"{BASE}/actor/followers", "https://m.example/users/bob"]
    assert [t for t in n["tag"] if t["type"] == "Mention"] == [{"type": "Mention", **bob}]


def test_hashtag_names_get_one_leading_hash():
    n = build(tags=[{"name": "strike", "href": f"{BASE}/tags/strike"}, {"name": "##x", "href": f"{BASE}/tags/x"}])
    assert [t["name"] for t in n["tag"] if t["type"] == "Hashtag"] == ["#strike", "#x"]


def test_attachment_without_alt_text_or_type():
    n = build(attachments=[{"url": f"{BASE}/media/2.png", "mediaType": "image/png"}])
    assert n["attachment"] == [{"type": "Document", "mediaType": "image/png", "url": f"{BASE}/media/2.png", "name": None}]


# --- several languages (D.3) ----------------------------------------------------------

MULTI = {
    "en": "<p>Solidarity with the striking rail workers!</p>",
    "fra": "<p>Solidarité avec les cheminot·es en grève !</p>",
    "es-ES": "<p>¡Solidaridad con los ferroviarios en huelga!</p>",
}


def test_multilingual_note_primary_first_two_letter_keys_and_other_language_links():
    n = build(content_map=MULTI)
    assert list(n["contentMap"]) == ["en", "fr", "es"]
    assert n["contentMap"]["fr"] == MULTI["fra"] and n["contentMap"]["es"] == MULTI["es-ES"]
    assert n["content"] == (
        MULTI["en"] + '<p>Other languages: <a href="https://union-a.example/statements/123?lang=fr" lang="fr">français</a>'
        ' · <a href="https://union-a.example/statements/123?lang=es" lang="es">español</a></p>'
    )
    assert n["contentMap"]["en"] == MULTI["en"]  # the links are for Mastodon readers of `content` only


def test_primary_language_is_whatever_comes_first():
    n = build(content_map={"fr": MULTI["fra"], "en": MULTI["en"]})
    assert list(n["contentMap"]) == ["fr", "en"]
    assert n["content"].startswith(MULTI["fra"]) and "?lang=en" in n["content"]


def test_regions_kept_only_when_dropping_them_would_merge_two_texts():
    n = build(content_map={"pt-BR": "<p>Greve!</p>", "pt-PT": "<p>Greve.</p>", "de-AT": "<p>Streik!</p>"})
    assert list(n["contentMap"]) == ["pt-BR", "pt-PT", "de"]
    assert "?lang=pt-PT" in n["content"] and ">português</a>" in n["content"]


def test_language_links_keep_an_existing_query_and_escape_it():
    n = build(url=f"{BASE}/s?id=5&lang=xx", content_map={"en": "<p>a</p>", "fr": "<p>b</p>"})
    assert 'href="https://union-a.example/s?id=5&amp;lang=fr"' in n["content"]


@pytest.mark.parametrize("content_map", [{"en": "<p>a</p>", "EN": "<p>b</p>"}, {"not a language": "<p>a</p>"}])
def test_ambiguous_or_invalid_language_keys_are_a_programming_error(content_map):
    with pytest.raises(ValueError):
        build(content_map=content_map)


def test_our_note_reads_back_through_our_own_parser():
    n = build(content_map=MULTI, summary="CW")
    p = parse_object(n, now=PUBLISHED + timedelta(minutes=1))
    assert p.public and p.language == "en" and list(p.content_map) == ["en", "fr", "es"]
    assert p.content_map["fr"] == MULTI["fra"] and p.summary == "CW" and p.sensitive
    assert p.cc == n["cc"] and p.published == PUBLISHED.replace(microsecond=0)
    assert {t["type"] for t in p.tags} == {"Hashtag", "Mention"}
    assert p.attachments[0]["url"] == f"{BASE}/media/1.jpg"


# --- text_to_html ---------------------------------------------------------------------

def tag_url(name: str) -> str:
    return f"{BASE}/tags/{name.lower()}"


def render(text: str, mentions: dict[str, str] | None = None):
    return text_to_html(text, hashtag_url=tag_url, mentions=mentions or {})


def test_text_is_escaped_and_split_into_paragraphs_and_lines():
    html, tags, handles = render('Line one <script>alert("x")</script> & more\nline two\n\n\n  \nSecond paragraph\r\n')
    assert html == (
        '<p>Line one &lt;script&gt;alert("x")&lt;/script&gt; &amp; more<br>line two</p><p>Second paragraph</p>'
    )
    assert tags == [] and handles == []
    assert render("") == ("", [], [])


def test_urls_are_linkified_with_mastodon_display_markup():
    html, _, _ = render("Read https://news.example/2025/01/rail-strike-day-three-report?x=1&y=2.")
    assert html == (
        '<p>Read <a href="https://news.example/2025/01/rail-strike-day-three-report?x=1&amp;y=2" '
        'rel="nofollow noopener noreferrer" translate="no" target="_blank"><span class="invisible">https://</span>'
        '<span class="ellipsis">news.example/2025/01/rail-stri</span>'
        '<span class="invisible">ke-day-three-report?x=1&amp;y=2</span></a>.</p>'
    )


def test_url_punctuation_and_parentheses():
    html, _, _ = render("(see https://en.wikipedia.org/wiki/Strike_(action)), or http://www.short.example!")
    assert 'href="https://en.wikipedia.org/wiki/Strike_(action)"' in html
    assert "</a>), or " in html
    assert '<a href="http://www.short.example" ' in html
    assert '<span class="invisible">http://www.</span><span>short.example</span></a>!' in html


def test_only_http_urls_become_links():
    html, _, _ = render("javascript:alert(1) and ftp://files.example/x")
    assert "<a" not in html and "javascript:alert(1)" in html


def test_hashtags_become_mastodon_hashtag_links():
    html, tags, _ = render("#RailStrike today, #railstrike again, issue #12 and a#b and https://x.example/#frag #Grève_générale")
    assert html.startswith(
        f'<p><a href="{BASE}/tags/railstrike" class="mention hashtag" rel="tag">#<span>RailStrike</span></a> today, '
    )
    assert tags == ["RailStrike", "Grève_générale"]  # case kept, one per tag, digits-only skipped
    assert "issue #12" in html and "a#b" in html
    assert 'href="https://x.example/#frag"' in html


def test_mentions_become_h_cards_when_resolved():
    html, _, handles = render(
        "Hi @bob@m.example, @Carol@x.example and @dan@127.0.0.1:8002. Mail me: me@union.example",
        mentions={"@bob@m.example": "https://m.example/@bob", "dan@127.0.0.1:8002": "http://127.0.0.1:8002/@dan"},
    )
    assert (
        '<span class="h-card" translate="no"><a href="https://m.example/@bob" class="u-url mention">'
        "@<span>bob</span></a></span>, @Carol@x.example and "
    ) in html
    assert '<a href="http://127.0.0.1:8002/@dan" class="u-url mention">@<span>dan</span></a></span>.' in html
    assert handles == ["bob@m.example", "Carol@x.example", "dan@127.0.0.1:8002"]
    assert "me@union.example" in html and "union.example</a>" not in html


def test_mention_lookup_ignores_case():
    html, _, handles = render("@Bob@M.Example", mentions={"bob@m.example": "https://m.example/@bob"})
    assert 'href="https://m.example/@bob"' in html and handles == ["Bob@M.Example"]


def test_generated_html_survives_the_sanitiser_with_its_markup():
    html, _, _ = render("#Strike @bob@m.example https://news.example/a", mentions={"bob@m.example": "https://m.example/@bob"})
    clean = sanitize_html(html)
    assert 'class="mention hashtag" rel="tag nofollow noopener noreferrer"' in clean
    assert '<span class="h-card" translate="no"><a href="https://m.example/@bob" class="u-url mention"' in clean
    assert '<span class="invisible">https://</span><span>news.example/a</span>' in clean
    assert sanitize_html(clean) == clean
