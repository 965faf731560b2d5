"""Appeals: the Note's extension properties and human line, strict parsing on receipt, and the
queries for declarations and co-signatures."""
from __future__ import annotations

import copy
from datetime import datetime, timedelta, timezone

from actors.models import RemoteActor
from content import appeals
from content.as2 import parse_object
from content.compose import CONTEXT, note_json
from content.models import Interaction, Post

BASE = "https://union-a.example"
PUBLISHED = datetime(2026, 3, 8, 9, 0, tzinfo=timezone.utc)
UNTIL = datetime(2026, 3, 31, 23, 59, 59, tzinfo=timezone.utc)


def appeal_note(**overrides) -> dict:
    args = dict(
        ap_id=f"{BASE}/statements/1", author_uri=f"{BASE}/actors/a", followers_url=f"{BASE}/actors/a/followers",
        url=f"{BASE}/statements/1", content_map={"en": "<p>Support the cleaners!</p>", "fr": "<p>Soutien !</p>"},
        summary=None, tags=[], mentions=[], in_reply_to=None, published=PUBLISHED, updated=None, attachments=[],
        replies_url=f"{BASE}/statements/1/replies", appeal=True, appeal_until=UNTIL,
    )
    args.update(overrides)
    return note_json(**args)


def test_appeal_note_carries_our_namespace_and_properties():
    n = appeal_note()
    terms = n["@context"][1]
    assert terms["unionhall"] == appeals.NS == "https://unionhall.org/ns#"
    assert terms["appeal"]["@id"] == "unionhall:appeal"
    assert terms["appealUntil"] == {"@id": "unionhall:appealUntil",
                                    "@type": "http://www.w3.org/2001/XMLSchema#dateTime"}
    assert n["appeal"] is True and n["appealUntil"] == "2026-03-31T23:59:59Z"
    assert "appeal" not in CONTEXT[1], "the shared context is not mutated"


def test_every_language_says_it_is_an_appeal_with_the_deadline():
    n = appeal_note()
    en, fr = n["contentMap"]["en"], n["contentMap"]["fr"]
    assert en.startswith("<p>Support the cleaners!</p>")
    assert "appeal for declarations of solidarity: reply to this post" in en and "Deadline: 2026-03-31." in en
    assert "appel à déclarations de solidarité" in fr and "Date limite : 2026-03-31." in fr
    # Mastodon shows `content`: the primary text, the appeal line, then the other-language links.
    assert n["content"].startswith(en) and "Other languages:" in n["content"]
    untranslated = appeal_note(content_map={"el": "<p>Αλληλεγγύη</p>"}, appeal_until=None)
    assert "appeal for declarations of solidarity" in untranslated["contentMap"]["el"]
    assert "Deadline" not in untranslated["content"] and "appealUntil" not in untranslated


def test_a_deadline_with_a_time_is_shown_with_it():
    n = appeal_note(appeal_until=datetime(2026, 3, 31, 17, 30, tzinfo=timezone.utc))
    assert "Deadline: 2026-03-31 17:30 UTC." in n["content"]


def test_an_ordinary_note_has_no_appeal_anything():
    n = appeal_note(appeal=False, appeal_until=None)
    assert "appeal" not in n and "appealUntil" not in n and n["@context"] == CONTEXT
    assert "solidarity" not in n["content"]


def test_received_appeal_is_kept_in_extra_only():
    p = parse_object(appeal_note(), now=PUBLISHED + timedelta(minutes=1))
    assert p.extra["appeal"] is True and p.extra["appeal_until"] == "2026-03-31T23:59:59Z"
    assert not hasattr(p, "appeal") and not hasattr(p, "appeal_until")


def test_parsing_is_strict():
    base = appeal_note()
    now = PUBLISHED + timedelta(minutes=1)

    def extra(**changes) -> dict:
        doc = copy.deepcopy(base)
        for key, value in changes.items():
            if value is None:
                doc.pop(key, None)
            else:
                doc[key] = value
        return parse_object(doc, now=now).extra

    assert "appeal" not in extra(appeal="true") and "appeal" not in extra(appeal=1)
    # "appeal" means something only where the sender maps it to our namespace.
    assert "appeal" not in extra(**{"@context": "https://www.w3.org/ns/activitystreams"})
    assert "appeal" not in extra(**{"@context": ["https://www.w3.org/ns/activitystreams", {"appeal": "ex:appeal"}]})
    bad_dates = ["tomorrow", "2026-13-45T00:00:00Z", "9999-01-01T00:00:00Z", "1900-01-01T00:00:00Z", 12, ["x"]]
    for bad in bad_dates:
        kept = extra(appealUntil=bad)
        assert kept["appeal"] is True and "appeal_until" not in kept, bad
    assert extra(appealUntil="2026-04-01T12:00:00+02:00")["appeal_until"] == "2026-04-01T10:00:00Z"
    assert "appeal_until" not in extra(appealUntil=None)


# --- queries ---------------------------------------------------------------------------------

async def actor(name: str, kind: str) -> RemoteActor:
    domain = f"{name}.example"
    return await RemoteActor.create(uri=f"https://{domain}/actors/{name}", domain=domain, username=name, type=kind,
                                    name=name.upper(), inbox=f"https://{domain}/inbox", fetched_at=PUBLISHED)


async def reply(author: RemoteActor, to: str, n: int, **kw) -> Post:
    return await Post.create(ap_id=f"{author.uri}/posts/{n}", author_uri=author.uri, in_reply_to=to,
                             content=f"<p>solidarity {n}</p>", content_map={"en": f"<p>solidarity {n}</p>"},
                             language="en", public=kw.pop("public", True), published=PUBLISHED + timedelta(minutes=n),
                             **kw)


async def test_declarations_are_visible_public_remote_replies_oldest_first(db):
    appeal = await Post.create(ap_id=f"{BASE}/statements/1", local=True, author_uri=f"{BASE}/actors/a",
                               published=PUBLISHED, appeal=True)
    other = f"{BASE}/statements/2"
    rail, dock, bob = await actor("rail", "Organization"), await actor("dock", "Group"), await actor("bob", "Person")
    second = await reply(rail, appeal.ap_id, 2)
    first = await reply(dock, appeal.ap_id, 1)
    hidden = await reply(bob, appeal.ap_id, 3, hidden=True)
    await reply(bob, appeal.ap_id, 4, public=False)
    await reply(rail, other, 5)
    await Post.create(ap_id=f"{BASE}/statements/3", local=True, author_uri=f"{BASE}/actors/a",
                      in_reply_to=appeal.ap_id, published=PUBLISHED)
    shown = await appeals.declarations(appeal)
    assert [p.id for p in shown] == [first.id, second.id]
    assert [p.author_uri for p in shown] == [dock.uri, rail.uri]
    assert await appeals.declaration_count(appeal) == 2
    every = await appeals.declarations(appeal, with_hidden=True)
    assert [p.id for p in every] == [first.id, second.id, hidden.id]
    assert [p.id for p in await appeals.declarations(appeal, limit=1)] == [first.id]
    assert [p.id for p in await appeals.declarations(appeal, limit=5, offset=1)] == [second.id]


async def test_signers_are_remote_boosters_and_likers_once_each_and_unions_are_told_apart(db):
    appeal = await Post.create(ap_id=f"{BASE}/statements/1", local=True, author_uri=f"{BASE}/actors/a",
                               published=PUBLISHED, appeal=True)
    rail, dock = await actor("rail", "Organization"), await actor("dock", "Group")
    bob, bot = await actor("bob", "Person"), await actor("bot", "Service")
    n = 0
    for who, kind in [(rail, "announce"), (rail, "like"), (dock, "like"), (bob, "announce"), (bot, "like")]:
        n += 1
        await Interaction.create(kind=kind, activity_id=f"{who.uri}/act/{n}", actor_uri=who.uri,
                                 object_uri=appeal.ap_id, created_at=PUBLISHED + timedelta(minutes=n))
    await Interaction.create(kind="announce", activity_id=f"{BASE}/activities/ours", actor_uri=f"{BASE}/actors/a",
                             object_uri=appeal.ap_id, local=True, created_at=PUBLISHED)
    await Interaction.create(kind="announce", activity_id="https://x.example/a/1", actor_uri=dock.uri,
                             object_uri=f"{BASE}/statements/2", created_at=PUBLISHED)
    assert await appeals.signer_uris(appeal) == [rail.uri, dock.uri, bob.uri, bot.uri], "each once, in order"
    assert [appeals.is_union(a.type) for a in (rail, dock, bob, bot)] == [True, True, False, False]


async def test_is_appeal_reads_the_column_for_ours_and_extra_for_theirs(db):
    ours = Post(ap_id="x", local=True, appeal=True, appeal_until=UNTIL, extra={})
    theirs = Post(ap_id="y", local=False, appeal=False, extra={"appeal": True, "appeal_until": "2026-03-31T23:59:59Z"})
    spoofed = Post(ap_id="z", local=False, appeal=True, extra={})
    assert appeals.is_appeal(ours) and appeals.appeal_deadline(ours) == UNTIL
    assert appeals.is_appeal(theirs) and appeals.appeal_deadline(theirs) == UNTIL
    assert not appeals.is_appeal(spoofed) and appeals.appeal_deadline(Post(local=False, extra={})) is None
