"""Peers in a box: what Mastodon 4.5 and GoToSocial send, and what Mastodon checks.

Written from Mastodon's and GoToSocial's sources (app/lib/request.rb,
app/lib/http_signature_draft.rb, app/lib/signed_request.rb, app/lib/signature_parser.rb;
GtS docs/federation/http_signatures.md) and deliberately shares no code with
federation.httpsig: a bug copied into both sides would make every test pass.
"""
from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta, timezone
from email.utils import formatdate
from urllib.parse import urlsplit

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding

MASTODON_UA = "http.rb/5.2.0 (Mastodon/4.5.0; +https://mastodon.example/)"
GTS_UA = "gotosocial/0.20.0 (+https://gts.example)"
ACTIVITY_JSON = "application/activity+json"
MASTODON_ACCEPT = "application/activity+json, application/ld+json"


def _sign_bytes(private_key_pem: str, data: bytes) -> bytes:
    key = serialization.load_pem_private_key(private_key_pem.encode(), password=None)
    return key.sign(data, padding.PKCS1v15(), hashes.SHA256())  # type: ignore[union-attr]


def _httpdate(now: datetime) -> str:
    return formatdate(now.timestamp(), usegmt=True)


def _sha256_b64(body: bytes) -> str:
    return base64.b64encode(hashlib.sha256(body).digest()).decode()


def _full_path(url: str, include_query: bool = True) -> str:
    u = urlsplit(url)
    return (u.path or "/") + (f"?{u.query}" if u.query and include_query else "")


def cavage_signature(
    *, private_key_pem: str, key_id: str, covered: Sequence[str], values: Mapping[str, str],
    algorithm: str | None = "rsa-sha256", extra_params: Mapping[str, str] | None = None,
    headers_param: bool = True,
) -> str:
    """A draft-cavage Signature value over `covered` (lowercase names) taken from `values`.

    Building block for the peers below and for hand-made bad inputs in tests.
    """
    signed = "\n".join(f"{name}: {values[name]}" for name in covered)
    sig = base64.b64encode(_sign_bytes(private_key_pem, signed.encode())).decode()
    parts = [f'keyId="{key_id}"']
    if algorithm is not None:
        parts.append(f'algorithm="{algorithm}"')
    for name, value in (extra_params or {}).items():
        parts.append(f"{name}={value}")
    if headers_param:
        parts.append(f'headers="{" ".join(covered)}"')
    parts.append(f'signature="{sig}"')
    return ",".join(parts)


def mastodon_sign(
    method: str, url: str, *, private_key_pem: str, actor: str, body: bytes | None = None,
    now: datetime, include_query: bool = True,
) -> dict[str, str]:
    """Headers exactly as Mastodon 4.5's Request sends them (insertion order matters).

    Request#set_common_headers!: User-Agent, Host (url.host, no port), Date,
    Accept-Encoding; set_digest! when there is a body; then add_headers merges
    Content-Type (delivery) or Accept (fetch). HttpSignatureDraft#sign signs all but
    User-Agent and Accept-Encoding and appends (request-target) last.
    `include_query=False` is what Mastodon < 4.2.4 did.
    """
    method = method.lower()
    headers = {
        "User-Agent": MASTODON_UA,
        "Host": urlsplit(url).hostname or "",
        "Date": _httpdate(now),
        "Accept-Encoding": "gzip",
    }
    if body is not None:
        headers["Digest"] = f"SHA-256={_sha256_b64(body)}"
    if method == "post":
        headers["Content-Type"] = ACTIVITY_JSON
    else:
        headers["Accept"] = MASTODON_ACCEPT
    signed = {k.lower(): v for k, v in headers.items() if k not in ("User-Agent", "Accept-Encoding")}
    signed["(request-target)"] = f"{method} {_full_path(url, include_query)}"
    headers["Signature"] = cavage_signature(
        private_key_pem=private_key_pem, key_id=f"{actor}#main-key", covered=list(signed), values=signed
    )
    return headers


def gotosocial_sign(
    method: str, url: str, *, private_key_pem: str, key_id: str, body: bytes | None = None,
    now: datetime,
) -> dict[str, str]:
    """GoToSocial: hs2019, `(request-target) host date [digest]`, keyId .../main-key."""
    method = method.lower()
    headers = {"Host": urlsplit(url).netloc, "Date": _httpdate(now), "User-Agent": GTS_UA}
    values = {"(request-target)": f"{method} {_full_path(url)}", "host": headers["Host"], "date": headers["Date"]}
    covered = ["(request-target)", "host", "date"]
    if body is not None:
        headers["Digest"] = f"SHA-256={_sha256_b64(body)}"
        values["digest"] = headers["Digest"]
        covered.append("digest")
        headers["Content-Type"] = ACTIVITY_JSON
    else:
        headers["Accept"] = ACTIVITY_JSON
    headers["Signature"] = cavage_signature(
        private_key_pem=private_key_pem, key_id=key_id, covered=covered, values=values, algorithm="hs2019"
    )
    return headers


def mastodon_rfc9421_sign(
    method: str, url: str, *, private_key_pem: str, actor: str, body: bytes | None = None,
    now: datetime, label: str = "sig1", content_digest: str | None = None,
    cover_digest: bool = True, include_created: bool = True,
) -> dict[str, str]:
    """The second knock of Mastodon's double-knock: RFC 9421, rsa-v1_5-sha256.

    Covers ("@method" "@target-uri" "content-digest") on POST, ("@method" "@target-uri") on GET.
    `content_digest`, `cover_digest` and `include_created` make bad inputs for tests.
    """
    method = method.upper()
    headers = {"User-Agent": MASTODON_UA, "Host": urlsplit(url).hostname or "", "Date": _httpdate(now)}
    components = ['"@method"', '"@target-uri"']
    lines = [f'"@method": {method}', f'"@target-uri": {url}']
    if body is not None:
        headers["Content-Type"] = ACTIVITY_JSON
        headers["Content-Digest"] = content_digest or f"sha-256=:{_sha256_b64(body)}:"
        if cover_digest:
            components.append('"content-digest"')
            lines.append(f'"content-digest": {headers["Content-Digest"]}')
    else:
        headers["Accept"] = MASTODON_ACCEPT
    created = f";created={int(now.timestamp())}" if include_created else ""
    params = f'({" ".join(components)}){created};keyid="{actor}#main-key"'
    lines.append(f'"@signature-params": {params}')
    sig = base64.b64encode(_sign_bytes(private_key_pem, "\n".join(lines).encode())).decode()
    headers["Signature-Input"] = f"{label}={params}"
    headers["Signature"] = f"{label}=:{sig}:"
    return headers


# ------------------------------------------------------------- Mastodon's verifier


class MastodonRejected(Exception):
    """Mastodon would answer 401 with this message."""


_TOKEN = r"[0-9a-zA-Z!#$%&'*+.^_`|~-]+"
_QUOTED = r'"(?:[^\\"]|\\.)*"'
_PARAM = re.compile(rf"(?P<key>{_TOKEN})\s*=\s*(?:(?P<value>{_TOKEN})|(?P<quoted>{_QUOTED}))")


def _signature_parser(raw: str) -> dict[str, str]:
    # SignatureParser.parse, scanner for scanner.
    raw = raw.removeprefix("Signature ")
    params: dict[str, str] = {}
    pos = 0
    while m := _PARAM.match(raw, pos):
        if m["key"] in params:
            raise MastodonRejected("Error parsing signature parameters")
        params[m["key"]] = m["value"] if m["value"] is not None else m["quoted"][1:-1]
        pos = m.end()
        pos += len(re.match(r"\s*", raw[pos:]).group())  # type: ignore[union-attr]
        if pos == len(raw):
            return params
        sep = re.match(r"\s*,\s*", raw[pos:])
        if not sep:
            raise MastodonRejected("Error parsing signature parameters")
        pos += sep.end()
    raise MastodonRejected("Error parsing signature parameters")


def _ruby_httpdate(value: str) -> datetime:
    # Time.httpdate: RFC 1123, RFC 850 or asctime; anything else is ArgumentError.
    for fmt in ("%a, %d %b %Y %H:%M:%S GMT", "%A, %d-%b-%y %H:%M:%S GMT", "%a %b %d %H:%M:%S %Y"):
        try:
            return datetime.strptime(value, fmt).replace(tzinfo=timezone.utc)
        except ValueError:
            continue
    raise MastodonRejected(f"Invalid Date header: not RFC 2616 compliant date: {value!r}")


def mastodon_verify(
    method: str, path: str, headers: Mapping[str, str], body: bytes | None, public_key_pem: str,
    now: datetime,
) -> None:
    """SignedRequest#verified? for a draft-cavage request; raises MastodonRejected.

    `path` is Rails' original_fullpath (path plus ?query).
    """
    hdr = {k.lower(): v for k, v in headers.items()}
    method = method.upper()
    if "signature" not in hdr:
        raise MastodonRejected("Request not signed")
    params = _signature_parser(hdr["signature"])
    if not params.get("keyId") or not params.get("signature"):
        raise MastodonRejected("Incompatible request signature. keyId and signature are required")
    algorithm = params.get("algorithm", "hs2019")
    if algorithm not in ("rsa-sha256", "hs2019"):
        raise MastodonRejected("Unsupported signature algorithm (only rsa-sha256 and hs2019 are supported)")
    signed_headers = params.get("headers", "(created)" if algorithm == "hs2019" else "date").lower().split()

    # matches_time_window?
    if algorithm == "hs2019" and params.get("created"):
        created = datetime.fromtimestamp(int(params["created"]), timezone.utc)
    elif hdr.get("date"):
        created = _ruby_httpdate(hdr["date"])
    else:
        created = None
    if created is not None:
        expires = (
            datetime.fromtimestamp(int(params["expires"]), timezone.utc) if params.get("expires") else None
        )
        expires = min(expires or created + timedelta(minutes=5), created + timedelta(hours=12))
        if created > now + timedelta(hours=1) or now > expires + timedelta(hours=1):
            raise MastodonRejected("Signed request date outside acceptable time window")

    # verify_signature_strength!
    if "date" not in signed_headers and "(created)" not in signed_headers:
        raise MastodonRejected("Mastodon requires the Date header or (created) pseudo-header to be signed")
    if "(request-target)" not in signed_headers and "digest" not in signed_headers:
        raise MastodonRejected("Mastodon requires the Digest header or (request-target) pseudo-header to be signed")
    if method == "GET" and "host" not in signed_headers:
        raise MastodonRejected("Mastodon requires the Host header to be signed when doing a GET request")
    if method == "POST" and "digest" not in signed_headers:
        raise MastodonRejected("Mastodon requires the Digest header to be signed when doing a POST request")

    # verify_body_digest!
    if "digest" in signed_headers:
        if "digest" not in hdr:
            raise MastodonRejected("Digest header missing")
        digests = [d.split("=", 1) for d in hdr["digest"].split(",")]
        sha256 = next((d for d in digests if d[0].lower() == "sha-256" and len(d) == 2), None)
        if sha256 is None:
            raise MastodonRejected("Mastodon only supports SHA-256 in Digest header")
        if _sha256_b64(body or b"") != sha256[1]:
            raise MastodonRejected(f"Invalid Digest value. Computed SHA-256 digest: {_sha256_b64(body or b'')}")

    # verified?: with the query first, then without
    signature = base64.b64decode(params["signature"])
    key = serialization.load_pem_public_key(public_key_pem.encode())
    for full in (True, False):
        lines = []
        for name in signed_headers:
            if name == "(request-target)":
                lines.append(f"(request-target): {method.lower()} {path if full else path.split('?')[0]}")
            elif name in ("(created)", "(expires)"):
                if algorithm != "hs2019":
                    raise MastodonRejected(f"Invalid pseudo-header {name} for rsa-sha256")
                if not params.get(name[1:-1]):
                    raise MastodonRejected(f"Pseudo-header {name} used but corresponding argument missing")
                lines.append(f"{name}: {params[name[1:-1]]}")
            else:
                lines.append(f"{name}: {hdr.get(name, '')}")
        try:
            key.verify(signature, "\n".join(lines).encode(), padding.PKCS1v15(), hashes.SHA256())  # type: ignore[union-attr]
            return
        except InvalidSignature:
            continue
    raise MastodonRejected("Verification failed")
