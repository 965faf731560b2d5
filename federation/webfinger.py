"""WebFinger client, as Mastodon consumes it (interop notes 1.1): acct -> actor id,
with the host-meta LRDD fallback on 404 and one subject redirect at most."""
from __future__ import annotations

import re
from urllib.parse import quote

from federation.addresses import FetchError
from federation.http import SafeClient

AP_TYPES = ("application/activity+json", 'application/ld+json; profile="https://www.w3.org/ns/activitystreams"')
JRD_ACCEPT = "application/jrd+json, application/json"
_HANDLE = re.compile(r"^@?(?P<user>[^@\s/]+)@(?P<host>[^@\s/]+)$")


class WebFingerError(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def split_handle(handle: str) -> tuple[str, str]:
    """'@union@rail.example' / 'acct:union@rail.example' -> ('union', 'rail.example')."""
    value = handle.strip()
    if value.lower().startswith("acct:"):
        value = value[5:]
    match = _HANDLE.match(value)
    if not match:
        raise WebFingerError(f"not a handle of the form @name@host: {handle!r}")
    return match["user"], match["host"].lower().rstrip(".")


def scheme_for(host: str) -> str:
    """https everywhere; plain http only for loopback hosts (tests and the local demo)."""
    name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
    name = name.strip("[]").lower()
    return "http" if name in {"localhost", "::1"} or name.startswith("127.") else "https"


async def _query(client: SafeClient, host: str, resource: str, scheme: str) -> dict:
    url = f"{scheme}://{host}/.well-known/webfinger?resource={quote(resource, safe=':@')}"
    status, doc = await client.get_json(url, accept=JRD_ACCEPT)
    if status == 404:
        template = await _lrdd_template(client, host, scheme)
        if template:
            status, doc = await client.get_json(template.replace("{uri}", quote(resource, safe="")), accept=JRD_ACCEPT)
    if status == 410:
        raise WebFingerError(f"{resource} is gone (410)")
    if status != 200 or doc is None:
        raise WebFingerError(f"WebFinger for {resource} answered HTTP {status}")
    return doc


async def _lrdd_template(client: SafeClient, host: str, scheme: str) -> str | None:
    status, text = await client.get_text(f"{scheme}://{host}/.well-known/host-meta",
                                         accept="application/xrd+xml, application/xml, text/xml")
    if status != 200:
        return None
    match = re.search(r'<Link[^>]+rel="lrdd"[^>]+template="([^"]+)"', text) or re.search(
        r'<Link[^>]+template="([^"]+)"[^>]+rel="lrdd"', text)
    return match.group(1) if match else None


def _self_link(doc: dict) -> str | None:
    for link in doc.get("links") or []:
        if isinstance(link, dict) and link.get("rel") == "self" and link.get("type") in AP_TYPES:
            href = link.get("href")
            if isinstance(href, str):
                return href
    return None


async def resolve(client: SafeClient, handle: str) -> tuple[str, str]:
    """Return (canonical acct subject, actor id) for a handle."""
    user, host = split_handle(handle)
    scheme = scheme_for(host)
    wanted = f"acct:{user}@{host}"
    try:
        doc = await _query(client, host, wanted, scheme)
        subject = doc.get("subject")
        if not isinstance(subject, str) or "@" not in subject:
            raise WebFingerError("WebFinger response is missing its subject")
        if subject.lower() != wanted.lower():
            # One redirect through the subject, as Mastodon allows for split domains.
            s_user, s_host = split_handle(subject)
            doc = await _query(client, s_host, f"acct:{s_user}@{s_host}", scheme_for(s_host))
            if str(doc.get("subject", "")).lower() != subject.lower():
                raise WebFingerError("too many WebFinger redirects")
    except FetchError as exc:
        raise WebFingerError(f"WebFinger for {wanted} failed: {exc.reason}") from exc
    href = _self_link(doc)
    if not href:
        raise WebFingerError(f"WebFinger for {wanted} has no ActivityPub self link")
    return subject, href


SUBSCRIBE_REL = "http://ostatus.org/schema/1.0/subscribe"


async def subscribe_template(client: SafeClient, handle: str) -> str:
    """The "follow from your own server" URL template (`…{uri}`) a person's server offers."""
    user, host = split_handle(handle)
    try:
        doc = await _query(client, host, f"acct:{user}@{host}", scheme_for(host))
    except FetchError as exc:
        raise WebFingerError(f"could not reach {host}: {exc.reason}") from exc
    for link in doc.get("links") or []:
        if isinstance(link, dict) and link.get("rel") == SUBSCRIBE_REL:
            template = link.get("template")
            if isinstance(template, str) and "{uri}" in template and template.startswith(("https://", "http://")):
                return template
    raise WebFingerError(f"{host} does not offer remote follows")
