"""Parsing received objects: real payload shapes, C.6 items 37-43, multilingual content."""
from __future__ import annotations

import copy
import json
from dataclasses import asdict, fields
from datetime import datetime, timezone
from pathlib import Path

import pytest

from content.as2 import (
    MAX_ATTACHMENTS, MAX_CONTENT_CHARS, MAX_RECIPIENTS, MAX_TAGS, PUBLIC, TRUNCATION_MARK,
    InvalidObject, ParsedObject, as_list, attributed_to, host_of, id_of, is_public_address,
    normalize_language, parse_object,
)
from content.models import Post

FIXTURES = Path(__file__).parent / "fixtures"
NOW = datetime(2025, 10, 1, 12, 0, tzinfo=timezone.utc)


def fixture(name: str) -> dict:
    return json.loads((FIXTURES / f"{name}.json").read_text())


def note(**overrides) -> dict:
    obj = {
        "id": "https://m.example/users/bob/statuses/1", "type": "Note",
        "attributedTo": "https://m.example/users/bob", "published": "2025-01-07T10:00:00Z",
        "to": [PUBLIC], "cc": ["https://m.example/users/bob/followers"], "content": "<p>hello</p>",
    }
    obj.update(overrides)
    return {k: v for k, v in obj.items() if v is not ...}


def parse(obj: dict) -> ParsedObject:
    return parse_object(obj, now=NOW)


def test_parsed_object_has_exactly_the_peer_supplied_post_columns():
    # Columns our own admin sets (appeal flags, hiding a declaration) or we number (the client API's
    # sid) are not a peer's to supply.
    post_columns = set(Post._meta.fields_map) - {"id", "local", "appeal", "appeal_until", "hidden", "media", "meeting",
                                                 "sid"}
    assert {f.name for f in fields(ParsedObject)} == post_columns


# --- a real Mastodon Note -------------------------------------------------------------

def test_mastodon_note_field_by_field():
    p = parse(fixture("mastodon_note"))
    assert p.ap_id == "https://mastodon.example/users/rosa/statuses/113792304587761234"
    assert p.type == "Note"
    assert p.author_uri == "https://mastodon.example/users/rosa"
    assert p.url == "https://mastodon.example/@rosa/113792304587761234"
    assert p.in_reply_to == "https://union-a.example/statements/41"
    assert p.published == datetime(2025, 1, 7, 10, 21, 44, tzinfo=timezone.utc)
    assert p.updated == datetime(2025, 1, 7, 10, 30, 2, tzinfo=timezone.utc)
    assert p.public is True
    assert p.to == [PUBLIC]
    assert p.cc == ["https://mastodon.example/users/rosa/followers", "https://union-a.example/actor"]
    assert p.language == "en" and list(p.content_map) == ["en"]
    assert p.content == p.content_map["en"]
    assert '<span class="h-card" translate="no"><a href="https://union-a.example/@union" class="u-url mention"' in p.content
    assert 'class="mention hashtag" rel="tag nofollow noopener noreferrer"' in p.content
    assert p.name == "" and p.summary == "" and p.sensitive is False
    assert p.tags == [
        {"type": "Mention", "name": "@union@union-a.example", "href": "https://union-a.example/actor"},
        {"type": "Hashtag", "name": "#RailStrike", "href": "https://mastodon.example/tags/railstrike"},
    ]
    assert p.attachments == [{
        "type": "Document", "mediaType": "image/jpeg",
        "url": "https://files.mastodon.example/media_attachments/files/113/792/304/539/925/original/6f1c2b7d9e0a4c11.jpg",
        "name": 'Picket line in front of the central station, banners reading "On strike"',
    }]
    assert p.extra == {}


def test_parsed_object_maps_onto_post():
    post = Post(**asdict(parse(fixture("mastodon_note"))), local=False)
    assert post.ap_id.endswith("/113792304587761234") and post.local is False


# --- Public, addressing and caps (C.6 items 42, 43) -----------------------------------

@pytest.mark.parametrize("form", [PUBLIC, "as:Public", "Public"])
def test_public_address_three_forms(form):
    assert is_public_address(form)
    assert parse(note(to=[form])).public is True
    assert parse(note(to=[], cc=form)).public is True  # unlisted is public too
    assert parse(note(to=[form])).to == [PUBLIC]  # stored in one canonical spelling


@pytest.mark.parametrize("near_miss", [
    "http://www.w3.org/ns/activitystreams#Public", "https://www.w3.org/ns/activitystreams",
    "public", "as:public", "#Public", "https://www.w3.org/ns/activitystreams#Public ",
    "https://evil.example/#Public", None, ["Public"], {"id": "Public "},
])
def test_nothing_else_is_public(near_miss):
    assert not is_public_address(near_miss)
    assert parse(note(to=[near_miss], cc=["https://m.example/users/bob/followers"])).public is False


def test_followers_only_post_is_not_public():
    p = parse(fixture("mastodon_question"))
    assert p.public is False and p.to == ["https://mastodon.example/users/rosa/followers"]


def test_recipients_capped_and_public_found_beyond_the_cap():
    many = [f"https://spam.example/users/u{i}" for i in range(100_000)]
    p = parse(note(to=many + ["as:Public"], cc=many[:10] + ["javascript:alert(1)", many[0]]))
    assert len(p.to) == MAX_RECIPIENTS + 1 and p.to[0] == PUBLIC and p.public
    assert p.to[1:] == many[:MAX_RECIPIENTS]
    assert p.cc == many[:10]  # unsafe and duplicate entries dropped


def test_ten_thousand_mentions_are_capped():
    mentions = [{"type": "Mention", "href": f"https://spam.example/u/{i}", "name": f"@u{i}@spam.example"} for i in range(10_000)]
    p = parse(note(tag=mentions))
    assert len(p.tags) == MAX_TAGS
    assert p.tags[0]["href"] == "https://spam.example/u/0"


def test_hundred_attachments_are_capped():
    media = [{"type": "Image", "mediaType": "image/png", "url": f"https://m.example/{i}.png"} for i in range(100)]
    p = parse(note(attachment=media))
    assert len(p.attachments) == MAX_ATTACHMENTS
    assert p.attachments[-1]["url"] == f"https://m.example/{MAX_ATTACHMENTS - 1}.png"


def test_single_values_are_accepted_where_arrays_are_usual():
    p = parse(note(
        type=["Note"], to=PUBLIC, cc="https://m.example/users/bob/followers",
        attributedTo=["https://m.example/users/bob"],
        tag={"type": "Hashtag", "name": "#solo", "href": "https://m.example/tags/solo"},
        attachment={"type": "Document", "mediaType": "image/png", "url": {"type": "Link", "href": "https://m.example/1.png"}},
    ))
    assert p.public and p.cc == ["https://m.example/users/bob/followers"]
    assert p.tags == [{"type": "Hashtag", "name": "#solo", "href": "https://m.example/tags/solo"}]
    assert p.attachments[0]["url"] == "https://m.example/1.png"


# --- tags, attachments, urls ----------------------------------------------------------

def test_bad_tags_and_attachments_are_dropped():
    p = parse(note(
        tag=["#string", {"type": "Mention", "href": "javascript:alert(1)", "name": "@x"},
             {"type": "Hashtag", "name": "#<b>bold</b>"}, {"type": "Hashtag", "name": "#two words"},
             {"type": "Hashtag", "name": "#Bold"}, {"type": "Emoji", "name": ":blobcat:", "icon": {"url": "https://m.example/e.png"}},
             {"type": "Emoji", "name": "<img>", "icon": {"url": "https://m.example/e.png"}}, {"type": "Place", "name": "x"}],
        attachment=[{"type": "Image", "url": "data:image/png;base64,AAAA"}, {"type": "PropertyValue", "name": "k", "value": "v"},
                    {"type": "Video", "mediaType": "<script>", "url": "https://m.example/v.mp4", "summary": "alt from summary"}],
    ))
    assert p.tags == [
        {"type": "Hashtag", "name": "#bold", "href": ""},
        {"type": "Emoji", "name": ":blobcat:", "href": "https://m.example/e.png"},
    ]
    assert p.attachments == [{"type": "Video", "mediaType": "", "url": "https://m.example/v.mp4", "name": "alt from summary"}]


@pytest.mark.parametrize("url, expected", [
    ("https://m.example/@bob/1", "https://m.example/@bob/1"),
    ([{"type": "Link", "mediaType": "application/x-mpegURL", "href": "https://m.example/1.m3u8"},
      {"type": "Link", "mediaType": "text/html", "href": "https://m.example/w/1"}], "https://m.example/w/1"),
    (["javascript:alert(1)", "https://m.example/ok"], "https://m.example/ok"),
    ("javascript:alert(1)", ""),
    ({"type": "Link", "href": "data:text/html,x"}, ""),
])
def test_url_shapes(url, expected):
    assert parse(note(url=url)).url == expected


def test_in_reply_to_may_be_an_embedded_object():
    assert parse(note(inReplyTo={"id": "https://a.example/n/1", "type": "Note"})).in_reply_to == "https://a.example/n/1"
    assert parse(note(inReplyTo="javascript:x")).in_reply_to is None


# --- rejections -----------------------------------------------------------------------

@pytest.mark.parametrize("overrides, reason", [
    ({"id": ...}, "id"),
    ({"id": "javascript:alert(1)"}, "id"),
    ({"id": "data:text/html,x"}, "id"),
    ({"id": "/statuses/1"}, "id"),
    ({"id": " https://m.example/users/bob/statuses/1"}, "id"),  # compared as sent, so not repaired
    ({"type": "ChatMessage"}, "type"),
    ({"type": "Tombstone"}, "type"),
    ({"type": ["Create"]}, "type"),
    ({"attributedTo": ...}, "attributedTo"),
    ({"attributedTo": 42}, "attributedTo"),
    ({"attributedTo": "javascript:x"}, "attributedTo"),
    ({"attributedTo": "https://m.example/users/bob\n"}, "attributedTo"),
    ({"attributedTo": [{"type": "Link", "href": "https://x.example"}]}, "attributedTo"),
    ({"published": "99999-01-01T00:00:00Z"}, "published"),
    ({"published": "0000-01-01T00:00:00Z"}, "published"),
    ({"published": "yesterday"}, "published"),
    ({"published": 1736244000}, "published"),
])
def test_invalid_objects_are_refused_with_a_reason(overrides, reason):
    with pytest.raises(InvalidObject) as err:
        parse(note(**overrides))
    assert reason in err.value.reason
    assert isinstance(err.value, ValueError)


def test_attributed_to_takes_the_first_actor():
    assert attributed_to({"attributedTo": [
        {"type": "Link", "href": "https://x.example/l"},
        {"type": "Person", "id": "https://peertube.example/accounts/ana"},
        {"type": "Group", "id": "https://peertube.example/video-channels/union"},
    ]}) == "https://peertube.example/accounts/ana"
    assert attributed_to({"attributedTo": ["https://a.example/u/1", "https://a.example/u/2"]}) == "https://a.example/u/1"
    assert attributed_to({}) is None


def test_missing_published_means_now_and_future_published_is_clamped():
    assert parse(note(published=...)).published == NOW
    assert parse(note(published="2099-01-01T00:00:00Z")).published == NOW
    assert parse(note(published="2025-01-07T10:00:00")).published.tzinfo is not None  # naive read as UTC
    assert parse(note(updated="not a date")).updated is None  # unreadable edit marker ignored


# --- @context tricks (C.6 item 41) ----------------------------------------------------

def test_context_redefinitions_and_ld_signatures_do_not_change_the_reading():
    obj = note(**{
        "@context": ["https://www.w3.org/ns/activitystreams",
                     {"id": "@type", "type": "@id", "attributedTo": "https://evil.example/ns#x", "Public": "as:Private"}],
        "signature": {"type": "RsaSignature2017", "creator": "https://evil.example/key", "signatureValue": "Zm9v"},
        "https://www.w3.org/ns/activitystreams#content": "<script>alert(1)</script>",
    })
    p = parse(obj)
    assert p.ap_id == obj["id"] and p.author_uri == obj["attributedTo"] and p.public
    assert p.content == "<p>hello</p>"
    assert "signature" not in p.extra


def test_graph_document_without_plain_id_is_refused():
    with pytest.raises(InvalidObject):
        parse({"@context": "https://www.w3.org/ns/activitystreams", "@graph": [note()]})


# --- HTML in content and names (C.6 items 37, 38) -------------------------------------

def test_content_is_sanitised_on_receipt():
    p = parse(note(content='<p>hi<script>alert(1)</script><a href="javascript:alert(2)">x</a><img src=x onerror=alert(3)></p>'))
    assert p.content == "<p>hix</p>"
    assert p.content_map == {}  # no language given: nothing to key it by


def test_note_summary_is_a_plain_text_content_warning():
    p = parse(note(summary="<b>CW:</b> police violence &amp; injuries", sensitive=True))
    assert p.summary == "CW: police violence & injuries" and p.sensitive is True


def test_article_summary_is_sanitised_html():
    p = parse(note(type="Article", name="<i>Title</i>", summary='<p>Intro <a href="javascript:x">bad</a></p><script>x</script>'))
    assert p.name == "Title" and p.summary == "<p>Intro bad</p>"


def test_oversized_content_is_truncated_not_refused():
    p = parse(note(content="<p>" + "<b>solidarity</b> " * 20_000 + "</p>"))
    assert len(p.content) <= MAX_CONTENT_CHARS
    assert p.content.endswith(TRUNCATION_MARK) and p.content.startswith("<p><b>solidarity</b>")


def test_huge_inline_image_in_event_summary_is_dropped():
    event = fixture("mobilizon_event")
    event["summary"] = '<p>Details</p><img src="data:image/png;base64,' + "A" * 500_000 + '">'
    assert parse(event).summary == "<p>Details</p>"


# --- multilingual (Part D) ------------------------------------------------------------

def test_content_map_only():
    p = parse(note(content=..., contentMap={"fr": "<p>Grève !</p>", "en": "<p>Strike!</p>"}))
    assert p.content == "<p>Grève !</p>" and p.language == "fr"
    assert list(p.content_map) == ["fr", "en"]


def test_content_and_content_map_keep_every_language_in_document_order():
    obj = note(content="<p>Strike!</p><p>FR: <a href=\"https://u.example/s/1?lang=fr\">français</a></p>",
               contentMap={"en": "<p>Strike!</p>", "fr": "<p>Grève !</p>", "es": "<p>¡Huelga!</p>", "de": "<p>Streik!</p>"})
    p = parse(obj)
    assert p.language == "en"
    assert list(p.content_map) == ["en", "fr", "es", "de"]
    assert p.content_map["es"] == "<p>¡Huelga!</p>"
    assert "français" in p.content


def test_language_keys_are_normalised_and_bad_keys_dropped():
    p = parse(note(content=..., contentMap={
        "PT_br": "<p>Greve!</p>", "fra": "<p>Grève</p>", "zh-hant-tw": "<p>罷工</p>",
        "<script>": "<p>x</p>", "english language": "<p>x</p>", "x" * 20: "<p>x</p>", "en": 42,
    }))
    assert list(p.content_map) == ["pt-BR", "fr", "zh-Hant-TW"]
    assert p.language == "pt-BR"


def test_language_falls_back_to_name_map_then_summary_map():
    p = parse(note(nameMap={"de": "Streik"}, summaryMap={"it": "sciopero"}))
    assert p.language == "de" and p.content_map == {"de": "<p>hello</p>"}
    assert p.extra["nameMap"] == {"de": "Streik"} and p.name == "Streik"
    assert parse(note(summaryMap={"it": "<b>sciopero</b>"})).summary == "sciopero"


@pytest.mark.parametrize("tag, expected", [
    ("en", "en"), ("EN-gb", "en-GB"), ("pt_BR", "pt-BR"), ("deu", "de"), ("es-419", "es-419"),
    ("fil", "fil"), ("und", "und"), ("", None), ("e", None), ("en--gb", None), ("1234", None), (None, None),
])
def test_normalize_language(tag, expected):
    assert normalize_language(tag) == expected


# --- events (C.6 items 38-40) ---------------------------------------------------------

def test_mobilizon_event_field_by_field():
    p = parse(fixture("mobilizon_event"))
    assert p.type == "Event"
    assert p.author_uri == "https://mobilizon.example/@health_group"  # the group, as Mobilizon means it
    assert p.name == "Réunion mensuelle du groupe santé"  # HTML in an Event name -> plain text
    assert p.summary.startswith("mardi 7 octobre 2025")
    assert "<img" not in p.content and "<li>Staffing in public hospitals</li>" in p.content
    assert p.language == "fr" and p.content_map == {"fr": p.content}  # from inLanguage
    assert p.public and p.tags == [{"type": "Hashtag", "name": "#santé", "href": "https://mobilizon.example/tags/sante"}]
    assert p.attachments == [
        {"type": "Document", "mediaType": "image/jpeg", "url": "https://mobilizon.example/media/4f0c0e1f2d7b8a9e.jpg", "name": "Banner"},
        {"type": "Link", "mediaType": "text/html", "url": "https://meet.example/health-wg-oct", "name": "Website"},
    ]
    assert p.extra == {
        "startTime": "2025-10-07T18:00:00+02:00", "endTime": "2025-10-07T20:00:00+02:00",
        "timezone": "Europe/Paris",
        "location": {
            "type": "Place", "name": "Bourse du Travail", "latitude": 48.8702, "longitude": 2.3601,
            "address": {"streetAddress": "3 rue du Château d'Eau", "postalCode": "75010", "addressLocality": "Paris",
                        "addressRegion": "Île-de-France", "addressCountry": "France"},
        },
        "joinMode": "restricted", "status": "CONFIRMED", "isOnline": True, "commentsEnabled": True,
        "anonymousParticipationEnabled": False, "maximumAttendeeCapacity": 40, "remainingAttendeeCapacity": 12,
        "participantCount": 28, "category": "MEETING", "onlineUrl": "https://meet.example/health-wg-oct",
        "uuid": "5e7c3b1a-0a4e-4d0e-9a55-4a0c8e1d2f3b",  # the calendar UID Mobilizon keeps on reschedule
        "actor": "https://mobilizon.example/@marie",  # the member organising the group's event
    }
    json.dumps(p.extra)  # stored in a JSONField


def test_gancio_event_with_address_string():
    p = parse(fixture("gancio_event"))
    assert p.author_uri == "https://gancio.example/federation/u/relay"
    assert p.extra["location"] == {"type": "Place", "name": "Circolo Arci", "address": "Via Roma 1, Bologna",
                                   "latitude": 44.4949, "longitude": 11.3426}
    assert p.extra["startTime"] == "2025-09-23T18:00:00+02:00" and p.extra["timezone"] is None


@pytest.mark.parametrize("change, reason", [
    ({"endTime": "2025-10-07T17:00:00+02:00"}, "before startTime"),
    ({"startTime": "99999-10-07T18:00:00+02:00"}, "startTime"),
    ({"endTime": "99999-10-07T18:00:00+02:00"}, "endTime"),
    ({"startTime": None}, "startTime"),
    ({"timezone": "Mars/Olympus_Mons"}, "timezone"),
    ({"timezone": "../../../etc/passwd"}, "timezone"),
    ({"timezone": {"id": "Europe/Paris"}}, "timezone"),
])
def test_bad_events_are_refused(change, reason):
    event = fixture("mobilizon_event")
    event.update(change)
    if change.get("startTime", "") is None:
        del event["startTime"]
    with pytest.raises(InvalidObject) as err:
        parse(event)
    assert reason in err.value.reason


def test_event_without_end_and_naive_times_use_the_event_timezone():
    event = fixture("mobilizon_event")
    del event["endTime"]
    event["startTime"] = "2025-10-07T18:00:00"
    p = parse(event)
    assert p.extra["startTime"] == "2025-10-07T18:00:00+02:00" and p.extra["endTime"] is None


@pytest.mark.parametrize("location, expected", [
    ([42, {"type": "Hotel"}, {"type": "VirtualLocation", "name": "Jitsi", "url": "https://meet.example/r"},
      {"type": "Place", "name": "Hall"}],
     {"type": "VirtualLocation", "name": "Jitsi", "url": "https://meet.example/r"}),
    ([{"type": "Place", "name": "Labour Exchange"}, "second"], {"type": "Place", "name": "Labour Exchange"}),
    ("Bourse du Travail, <b>Paris</b>", {"type": "Place", "name": "Bourse du Travail, Paris"}),
    ({"type": "Place", "name": "Hall", "latitude": "48.87", "longitude": True},
     {"type": "Place", "name": "Hall"}),
    ({"type": "Place", "name": "Hall", "latitude": 95.0, "longitude": 2}, {"type": "Place", "name": "Hall", "longitude": 2.0}),
    ({"type": "VirtualLocation", "url": "javascript:alert(1)"}, None),
    (None, None),
])
def test_location_shapes(location, expected):
    event = fixture("gancio_event")
    event["location"] = location
    assert parse(event).extra["location"] == expected


# --- Question -------------------------------------------------------------------------

def test_mastodon_poll():
    p = parse(fixture("mastodon_question"))
    assert p.type == "Question" and p.content == "<p>Should the branch join Friday's march?</p>"
    assert p.extra == {
        "oneOf": [{"name": "Yes, with the banner", "votes": 12}, {"name": "No", "votes": 5}],
        "endTime": "2025-01-09T09:00:00+00:00", "votersCount": 17,
    }


# --- small helpers --------------------------------------------------------------------

def test_as_list_and_id_of():
    assert as_list(None) == [] and as_list("a") == ["a"] and as_list(["a", "b"]) == ["a", "b"]
    assert as_list({"id": "x"}) == [{"id": "x"}]
    assert id_of("https://a.example/1") == "https://a.example/1"
    assert id_of({"id": "https://a.example/1", "type": "Note"}) == "https://a.example/1"
    assert id_of({"type": "Note"}) is None and id_of(42) is None and id_of("") is None


@pytest.mark.parametrize("url, host", [
    ("https://Union-A.Example/actor", "union-a.example"),
    ("https://union-a.example./actor", "union-a.example"),
    ("https://union-a.example:443/x", "union-a.example"),
    ("http://127.0.0.1:8001/actor", "127.0.0.1:8001"),
    ("https://Bücher.example/x", "xn--bcher-kva.example"),
    ("https://xn--bcher-kva.example/x", "xn--bcher-kva.example"),
    ("http://[::1]:8080/x", "[::1]:8080"),
    ("https://user@union-a.example/x", "union-a.example"),
])
def test_host_of_normalises(url, host):
    assert host_of(url) == host


@pytest.mark.parametrize("url", ["not a url", "https:///x", "https://evil%2eexample/", "https://a.example:99999/", None])
def test_host_of_refuses_urls_without_a_usable_host(url):
    with pytest.raises(InvalidObject):
        host_of(url)


def test_parse_does_not_mutate_its_input():
    obj = fixture("mobilizon_event")
    before = copy.deepcopy(obj)
    parse(obj)
    assert obj == before
