"""Appeals for declarations of solidarity: their vocabulary on the wire, and the queries that
gather their declarations (replies) and co-signatures (boosts and likes by unions).

On the wire an appeal is an ordinary Note with two extension properties in our own JSON-LD
namespace (FEDERATION.md, "Appeals"), plus one human sentence per language so that readers on
Mastodon, which ignores unknown properties, understand what is asked of them.

Pure data and database reads: no HTTP here.
"""
from __future__ import annotations

import html
from datetime import datetime, timezone
from typing import Any

from content.models import Interaction, Post
from content.terms import NS, declares_namespace
from content.values import InvalidObject, read_datetime
from federation.vocab import iso_datetime

CONTEXT_TERMS: dict[str, Any] = {
    "unionhall": NS,
    "appeal": {"@id": "unionhall:appeal", "@type": "http://www.w3.org/2001/XMLSchema#boolean"},
    "appealUntil": {"@id": "unionhall:appealUntil", "@type": "http://www.w3.org/2001/XMLSchema#dateTime"},
}
# A union speaks as an Organization (Union Hall) or a Group; a Person or a bot (Service,
# Application) is an individual supporter, not a co-signature of a union.
UNION_TYPES = frozenset({"Organization", "Group"})
MAX_DECLARATIONS = 500
MAX_COSIGNERS = 1000
# Deadlines outside these years are a peer's bug, not a date to show.
_SANE_YEARS = range(2000, 2200)

_ASK = {
    "en": ("This is an appeal for declarations of solidarity: reply to this post to declare your "
           "union's solidarity.", "Deadline: {}."),
    "fr": ("Ceci est un appel à déclarations de solidarité : répondez à ce message pour déclarer la "
           "solidarité de votre syndicat.", "Date limite : {}."),
    "es": ("Este es un llamamiento a declaraciones de solidaridad: responded a esta publicación para "
           "declarar la solidaridad de vuestro sindicato.", "Fecha límite: {}."),
    "de": ("Dies ist ein Aufruf zu Solidaritätserklärungen: Antwortet auf diesen Beitrag, um die "
           "Solidarität eurer Gewerkschaft zu erklären.", "Frist: {}."),
    "it": ("Questo è un appello per dichiarazioni di solidarietà: rispondete a questo messaggio per "
           "dichiarare la solidarietà del vostro sindacato.", "Scadenza: {}."),
    "pt": ("Este é um apelo a declarações de solidariedade: respondam a esta publicação para declarar "
           "a solidariedade do vosso sindicato.", "Prazo: {}."),
    "nl": ("Dit is een oproep tot solidariteitsverklaringen: reageer op dit bericht om de solidariteit "
           "van je vakbond te verklaren.", "Deadline: {}."),
    "ca": ("Aquesta és una crida a declaracions de solidaritat: responeu a aquesta publicació per "
           "declarar la solidaritat del vostre sindicat.", "Data límit: {}."),
}


def deadline_text(until: datetime) -> str:
    """A form gives a date (stored as the end of that day, or its start): show the date alone then."""
    until = until if until.tzinfo else until.replace(tzinfo=timezone.utc)
    until = until.astimezone(timezone.utc)
    if (until.hour, until.minute) in ((0, 0), (23, 59)):
        return until.strftime("%Y-%m-%d")
    return until.strftime("%Y-%m-%d %H:%M UTC")


def appeal_paragraph(lang: str, until: datetime | None) -> str:
    """The human sentence appended to each language's HTML; English where we have no translation."""
    ask, deadline = _ASK.get(lang.split("-")[0].lower(), _ASK["en"])
    text = ask + (" " + deadline.format(deadline_text(until)) if until else "")
    return f"<p>{html.escape(text, quote=False)}</p>"


def appeal_properties(appeal: bool, until: datetime | None) -> dict[str, Any]:
    """The Note's extension properties (nothing at all when it is not an appeal)."""
    if not appeal:
        return {}
    out: dict[str, Any] = {"appeal": True}
    if until is not None:
        out["appealUntil"] = iso_datetime(until)
    return out


def appeal_extra(obj: dict) -> dict[str, Any]:
    """Received Note -> {"appeal": True, "appeal_until": ISO string or absent}, or {}.

    Strict: `appeal` must be the JSON boolean true, `appealUntil` a date-time in a sane year,
    else it is left out (a bad deadline does not make the appeal itself unusable)."""
    if obj.get("appeal") is not True or not declares_namespace(obj.get("@context"), "unionhall:appeal"):
        return {}
    out: dict[str, Any] = {"appeal": True}
    try:
        until = read_datetime(obj.get("appealUntil"), "appealUntil")
    except InvalidObject:
        return out
    if until.year in _SANE_YEARS:
        out["appeal_until"] = iso_datetime(until)
    return out


def is_appeal(post: Post) -> bool:
    """Ours by the column, a peer's by what it said (kept in `extra`)."""
    if post.local:
        return bool(post.appeal)
    return isinstance(post.extra, dict) and post.extra.get("appeal") is True


def appeal_deadline(post: Post) -> datetime | None:
    if post.local:
        return post.appeal_until
    raw = post.extra.get("appeal_until") if isinstance(post.extra, dict) else None
    try:
        return read_datetime(raw, "appeal_until") if raw else None
    except InvalidObject:
        return None


# --- declarations and co-signatures --------------------------------------------------------
# Content knows posts and interactions, not actors (DESIGN.md): these return posts and actor URIs;
# the web layer joins them with the actors it shows, and tells `signatures` which types are unions.

def _declarations_query(appeal: Post, *, with_hidden: bool):
    query = Post.filter(in_reply_to=appeal.ap_id, local=False, public=True)
    return query if with_hidden else query.filter(hidden=False)


async def declarations(appeal: Post, *, with_hidden: bool = False, limit: int = MAX_DECLARATIONS,
                       offset: int = 0) -> list[Post]:
    """Replies from other instances, oldest first (the order they came in); the admin sees hidden ones too."""
    query = _declarations_query(appeal, with_hidden=with_hidden).order_by("published", "id")
    return await query.offset(offset).limit(limit)


async def declaration_count(appeal: Post) -> int:
    return await _declarations_query(appeal, with_hidden=False).count()


async def signer_uris(appeal: Post) -> list[str]:
    """Everyone who boosted or liked the appeal from another instance, each once, in the order they signed."""
    uris = await (Interaction.filter(object_uri=appeal.ap_id, local=False)
                  .order_by("created_at", "id").limit(MAX_COSIGNERS * 2).values_list("actor_uri", flat=True))
    return list(dict.fromkeys(uris))


def is_union(actor_type: str) -> bool:
    """A boost or like co-signs the appeal only when it comes from a union's account."""
    return actor_type in UNION_TYPES
