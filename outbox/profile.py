"""The union's public profile: check what the admin typed, save it, and tell followers.

A change is saved and announced in ONE transaction: an `Update` carrying the whole actor
document, addressed to the public and delivered to every follower inbox (Mastodon refreshes
its cached copy of an actor only on such an Update or after a day; interop notes 2.1, 4.5).
"""
from __future__ import annotations

import html
import re
from dataclasses import dataclass, field

import pycountry
from tortoise.transactions import in_transaction

from actors import follows
from actors.documents import actor_document
from actors.instance import Instance
from actors.models import Follower, FollowState, LocalActor
from actors.profile import link_text
from content import compose
from content.sanitize import safe_url
from federation.vocab import PUBLIC
from outbox.emit import emit, new_id
from outbox.follows import answer_follow
from outbox.models import Activity

NAME_MAX = 200
SUMMARY_MAX = 5000
SECTOR_MAX = 100
COUNTRY_MAX = 64
LINKS_MAX = 4
LABEL_MAX = 60
URL_MAX = 500

# Codes people use that ISO 3166 spells otherwise (the EU writes EL for Greece).
COUNTRY_ALIASES = {"UK": "GB", "EL": "GR"}
# A country name kept as typed (Euskal Herria, Kurdistan…): letters with spaces and the
# punctuation names use, nothing that could be mistaken for markup or a URL.
_COUNTRY_NAME = re.compile(r"^[^\W\d_]+(?:[ '’.,()-]+[^\W\d_]*)*$")
# A scheme is letters then ":" not followed by a digit ("union.org:8080" is a host and port).
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*):(?!\d)")
# Control characters other than line breaks and tabs; NUL would even be refused by PostgreSQL.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class ProfileError(ValueError):
    """Every reason the input was refused, for the admin to read at once."""

    def __init__(self, reasons: list[str]) -> None:
        super().__init__("; ".join(reasons))
        self.reasons = reasons


@dataclass
class ProfileInput:
    """What the admin typed, kept as typed so a refused form can be shown again unchanged."""
    name: str = ""
    summary: str = ""  # plain text; a blank line starts a new paragraph
    sector: str = ""
    country: str = ""
    links: list[tuple[str, str]] = field(default_factory=list)  # (label, URL)
    approve_followers: bool = False


@dataclass(frozen=True)
class Profile:
    """Checked, in the form it is stored in (LocalActor fields)."""
    name: str
    summary: str  # safe HTML
    sector: str
    country: str  # ISO 3166 alpha-2 code, or a name
    links: list[dict]  # [{"name": label, "url": http(s) URL}]
    manually_approves_followers: bool


def _one_line(value: str, what: str, limit: int) -> str:
    if _CONTROL.search(value):
        raise ProfileError([f"the {what} contains control characters"])
    value = " ".join(value.split())
    if len(value) > limit:
        raise ProfileError([f"the {what} is too long ({len(value)} characters; at most {limit})"])
    return value


def check_sector(value: str) -> str:
    return _one_line(value, "sector", SECTOR_MAX)


def check_country(value: str) -> str:
    """A two-letter ISO 3166 code or a name; a recognised name or alpha-3 code is stored as its
    alpha-2 code (shown in readable form everywhere), any other name is kept as typed."""
    value = _one_line(value, "country", COUNTRY_MAX)
    if not value:
        return ""
    if len(value) == 2:
        code = COUNTRY_ALIASES.get(value.upper(), value.upper())
        if not code.isascii() or pycountry.countries.get(alpha_2=code) is None:
            raise ProfileError([f"{value!r} is not a country code: use the two-letter ISO 3166 code "
                                "(such as FR, BR, ES) or write the country's name"])
        return code
    try:
        return pycountry.countries.lookup(value).alpha_2
    except LookupError:
        pass
    if not _COUNTRY_NAME.match(value):
        raise ProfileError([f"{value!r} is not a country: write its name in letters (such as France) "
                            "or its two-letter code (such as FR)"])
    return value


def check_link(n: int, label: str, url: str) -> dict | None:
    """Link number `n` (from 1) -> {"name", "url"}, or None when both fields are empty."""
    label = _one_line(label, f"label of link {n}", LABEL_MAX)
    url = url.strip()
    if not label and not url:
        return None
    if not url:
        raise ProfileError([f"link {n} ({label}) has no address: give one (https://…) or clear its label"])
    scheme = _SCHEME.match(url)
    if scheme is None:
        url = f"https://{url}"  # "www.union.org", as people type it
    elif scheme.group(1).lower() not in ("http", "https"):
        raise ProfileError([f"link {n}: only web addresses (http:// or https://) can be linked, "
                            f"not {scheme.group(1).lower()}:"])
    if len(url) > URL_MAX:
        raise ProfileError([f"the address of link {n} is too long ({len(url)} characters; at most {URL_MAX})"])
    if safe_url(url) is None:
        raise ProfileError([f"link {n}: {url!r} is not a web address (such as https://union.example/)"])
    return {"name": label or link_text(url), "url": url}


def check(inst: Instance, typed: ProfileInput) -> Profile:
    """The profile as it will be stored; ProfileError lists every reason it cannot be."""
    reasons: list[str] = []

    def attempt(fn, *args):
        try:
            return fn(*args)
        except ProfileError as exc:
            reasons.extend(exc.reasons)
            return None

    name = attempt(_one_line, typed.name, "display name", NAME_MAX)
    if name == "":
        reasons.append("the display name is empty")
    summary = ""
    if _CONTROL.search(typed.summary):
        reasons.append("the description contains control characters")
    elif len(typed.summary.strip()) > SUMMARY_MAX:
        reasons.append(f"the description is too long ({len(typed.summary.strip())} characters; at most {SUMMARY_MAX})")
    else:
        summary, _, _ = compose.text_to_html(typed.summary, hashtag_url=inst.urls.tag, mentions={})
    sector = attempt(check_sector, typed.sector)
    country = attempt(check_country, typed.country)
    if len(typed.links) > LINKS_MAX:
        reasons.append(f"at most {LINKS_MAX} links")
    links = [attempt(check_link, n, label, url) for n, (label, url) in enumerate(typed.links[:LINKS_MAX], 1)]
    if reasons:
        raise ProfileError(reasons)
    return Profile(name=name, summary=summary, sector=sector, country=country,
                   links=[link for link in links if link], manually_approves_followers=typed.approve_followers)


def summary_text(summary_html: str) -> str:
    """Stored HTML back to the plain text the form takes (links and hashtags come back as typed:
    they are shown in full, split over spans, which stripping the tags joins up again)."""
    text = re.sub(r"</p>\s*<p[^>]*>", "\n\n", summary_html)
    text = re.sub(r"<br\s*/?>", "\n", text)
    return html.unescape(re.sub(r"<[^>]*>", "", text)).strip()


def typed_from(actor: LocalActor) -> ProfileInput:
    """The form as it is before any change."""
    return ProfileInput(name=actor.name, summary=summary_text(actor.summary), sector=actor.sector,
                        country=actor.country,
                        links=[(str(link.get("name", "")), str(link.get("url", ""))) for link in actor.links or []
                               if isinstance(link, dict)],
                        approve_followers=actor.manually_approves_followers)


def actor_update_json(inst: Instance, actor: LocalActor) -> dict:
    doc = actor_document(inst, actor)
    return {"@context": doc.pop("@context"), "id": inst.urls.activity(new_id()), "type": "Update",
            "actor": doc["id"], "to": [PUBLIC], "object": doc}


async def update_profile(inst: Instance, local: LocalActor, profile: Profile) -> Activity | None:
    """Save `profile` and send the Update to every follower inbox; None if nothing changed.
    When manual approval is switched off, the requests waiting for it are accepted (as Mastodon
    does when an account is unlocked): nobody would be left to answer them."""
    held_before = local.manually_approves_followers or inst.approve_followers
    wanted = {"name": profile.name, "summary": profile.summary, "sector": profile.sector,
              "country": profile.country, "links": profile.links,
              "manually_approves_followers": profile.manually_approves_followers}
    changed = {key: value for key, value in wanted.items() if getattr(local, key) != value}
    if not changed:
        return None
    async with in_transaction():
        for key, value in changed.items():
            setattr(local, key, value)
        local.updated_at = inst.now()
        await local.save(update_fields=[*changed, "updated_at"])
        row = await emit(inst, local, actor_update_json(inst, local), inboxes=await follows.follower_inboxes(local))
    inst.poke_delivery()
    if held_before and not (local.manually_approves_followers or inst.approve_followers):
        for request in await Follower.filter(local=local, state=FollowState.PENDING).prefetch_related("local", "remote"):
            await answer_follow(inst, request, accept=True)
    return row
