"""The union's profile facts (sector, country, links) as readers see them: on our profile page
and as Mastodon profile fields (`attachment` of `PropertyValue`, interop notes 2.2).

Values here are already validated when stored (outbox.profile); this module only shapes them,
so the page and the actor document can never disagree.
"""
from __future__ import annotations

import html
import re
from dataclasses import dataclass

import pycountry

# Mastodon's rel for a verified profile link; "me" is what makes rel-me verification work.
LINK_REL = "me nofollow noopener noreferrer"
_SCHEME = re.compile(r"^https?://(?:www\.)?", re.IGNORECASE)


@dataclass(frozen=True)
class Fact:
    name: str       # "Sector", "Country" or the link's label
    text: str       # what a reader sees (plain text)
    url: str = ""   # set for links only


def country_name(value: str) -> str:
    """A stored country (an ISO 3166 alpha-2 code, or a name kept as typed) in readable form."""
    if len(value) == 2 and value.isalpha():
        country = pycountry.countries.get(alpha_2=value.upper())
        if country is not None:
            # "Bolivia" reads better than "Bolivia, Plurinational State of".
            return getattr(country, "common_name", None) or country.name
    return value


def link_text(url: str) -> str:
    """How a link is shown: without scheme and "www.", as Mastodon shows profile links."""
    return _SCHEME.sub("", url).rstrip("/") or url


def facts(sector: str, country: str, links: list[dict]) -> list[Fact]:
    out: list[Fact] = []
    if sector:
        out.append(Fact("Sector", sector))
    if country:
        out.append(Fact("Country", country_name(country)))
    for link in links or []:
        if isinstance(link, dict) and link.get("url"):
            out.append(Fact(str(link.get("name") or link_text(link["url"])), link_text(link["url"]), link["url"]))
    return out


def link_html(url: str) -> str:
    """A profile field value for a link, in the markup Mastodon itself emits for one."""
    match = _SCHEME.match(url)
    prefix = match.group(0) if match else ""
    rest = url[len(prefix):]
    return (f'<a href="{html.escape(url)}" rel="{LINK_REL}" target="_blank" translate="no">'
            f'<span class="invisible">{html.escape(prefix)}</span><span>{html.escape(rest)}</span></a>')


def property_values(sector: str, country: str, links: list[dict]) -> list[dict]:
    """The profile fields of an actor document: `value` is HTML, as Mastodon reads it."""
    return [{"type": "PropertyValue", "name": fact.name,
             "value": link_html(fact.url) if fact.url else html.escape(fact.text, quote=False)}
            for fact in facts(sector, country, links)]
