"""HTTP Signatures: draft-cavage-12 as Mastodon sends and checks it, plus RFC 9421 receiving.

Outbound we sign draft-cavage only (every fediverse server verifies it). Inbound we
accept draft-cavage (Mastodon, GoToSocial, Misskey, ...) and RFC 9421 (Mastodon's
double-knock). Verification is split in two so an inbox can reject cheaply before any
network traffic: `parse_request_signature` does every check that needs no key, then the
caller fetches the key named by `ParsedSignature.key_id` and calls `verify_signature`.
Pure: no network, no database, time is passed in.
"""
from __future__ import annotations

import base64
import binascii
import email.utils
import hashlib
import hmac
import re
from collections.abc import Callable, Generator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from urllib.parse import urlsplit

import httpx
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

from federation.httpsig_rfc9421 import ALGORITHM as RFC9421_ALGORITHM
from federation.httpsig_rfc9421 import Rfc9421Error, extract_rfc9421

# Mastodon's window (SignedRequest#matches_time_window?): a signature is valid for
# 5 minutes (or its `expires`, capped at 12 h) and both ends get 1 hour of clock skew.
CLOCK_SKEW = timedelta(hours=1)
DEFAULT_VALIDITY = timedelta(minutes=5)
MAX_VALIDITY = timedelta(hours=12)

ACCEPTED_ALGORITHMS = frozenset({"rsa-sha256", "hs2019"})
# Headers Mastodon leaves out of the signature: proxies and clients rewrite them.
_UNSIGNED = frozenset({"user-agent", "accept-encoding", "content-length"})
_RESERVED = frozenset({"host", "date", "digest", "signature", "(request-target)"})

_TOKEN = r"[0-9A-Za-z!#$%&'*+.^_`|~-]+"
_PARAM = re.compile(rf'\s*({_TOKEN})\s*=\s*(?:"((?:[^"\\]|\\.)*)"|({_TOKEN}))\s*')
_TIMESTAMP = re.compile(r"-?\d{1,11}(?:\.\d+)?")


class SignatureError(Exception):
    """A request signature is missing, malformed, too weak, stale or wrong."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class SigningKey:
    key_id: str
    private_key: RSAPrivateKey

    @classmethod
    def from_pem(cls, key_id: str, pem: str | bytes) -> SigningKey:
        data = pem.encode("ascii") if isinstance(pem, str) else pem
        key = serialization.load_pem_private_key(data, password=None)
        if not isinstance(key, rsa.RSAPrivateKey):
            # Mastodon only verifies RSA-SHA256; any other key type would be refused everywhere.
            raise ValueError("signing key must be an RSA private key")
        return cls(key_id=key_id, private_key=key)


@dataclass(frozen=True)
class ParsedSignature:
    scheme: str  # "cavage" or "rfc9421"
    key_id: str
    algorithm: str
    covered: tuple[str, ...]
    signature: bytes
    created: datetime | None
    expires: datetime | None
    # What the signer must have signed; several candidates because old signers left
    # the query out of (request-target). Any one verifying is enough.
    signing_bases: tuple[bytes, ...]


def generate_private_key_pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode("ascii")


def public_key_pem_from_private(pem: str) -> str:
    key = serialization.load_pem_private_key(pem.encode("ascii"), password=None)
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode("ascii")


def digest_header(body: bytes) -> str:
    return "SHA-256=" + base64.b64encode(hashlib.sha256(body).digest()).decode("ascii")


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


def _aware(when: datetime) -> datetime:
    # A naive datetime would be read as local time by .timestamp(); we mean UTC.
    return when if when.tzinfo else when.replace(tzinfo=timezone.utc)


def _sign(
    method: str, host: str, target: str, key: SigningKey, body: bytes | None,
    headers: Mapping[str, str] | None, now: datetime,
) -> dict[str, str]:
    out = {"Host": host, "Date": email.utils.formatdate(now.timestamp(), usegmt=True)}
    if body is not None:
        out["Digest"] = digest_header(body)
    for name, value in (headers or {}).items():
        if name.lower() in _RESERVED:
            raise ValueError(f"{name} is set by the signer")
        out[name] = value
    # (request-target) first, like GoToSocial and Mastodon <= 4.3: every verifier is generic.
    names = ["(request-target)"] + [n.lower() for n in out if n.lower() not in _UNSIGNED]
    lines = [f"(request-target): {method.lower()} {target}"]
    lines += [f"{n.lower()}: {v}" for n, v in out.items() if n.lower() not in _UNSIGNED]
    signature = key.private_key.sign("\n".join(lines).encode("utf-8"), padding.PKCS1v15(), hashes.SHA256())
    out["Signature"] = (
        f'keyId="{key.key_id}",algorithm="rsa-sha256",headers="{" ".join(names)}",'
        f'signature="{base64.b64encode(signature).decode("ascii")}"'
    )
    return out


def sign_request(
    method: str, url: str, *, key: SigningKey, body: bytes | None = None,
    headers: Mapping[str, str] | None = None, now: datetime | None = None,
) -> dict[str, str]:
    """Headers to send for a draft-cavage signed request (Host, Date, [Digest], given, Signature).

    Send `body` byte for byte as hashed. User-Agent, Accept-Encoding and Content-Length
    given in `headers` are returned but not signed, as Mastodon does.
    """
    parts = urlsplit(url)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return _sign(method, parts.netloc, target, key, body, headers, _aware(now or _utcnow()))


class HttpSigAuth(httpx.Auth):
    """Signs each request as it is sent, so every retry carries a fresh Date.

    Use with follow_redirects=False (the safe client follows redirects by hand): httpx
    replays auth-set headers on redirect hops, which would carry a stale Host signature.
    """

    requires_request_body = True

    def __init__(self, key: SigningKey, now: Callable[[], datetime] | None = None) -> None:
        self._key = key
        self._now = now or _utcnow

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        content = request.content
        has_body = bool(content) or request.method not in ("GET", "HEAD")
        # Sign exactly what goes on the wire: httpx's Host header and percent-encoded target.
        extra = "content-type" if has_body else "accept"
        given = {extra.title(): request.headers[extra]} if extra in request.headers else {}
        signed = _sign(
            request.method, request.headers["Host"], request.url.raw_path.decode("ascii"),
            self._key, content if has_body else None, given, _aware(self._now()),
        )
        for name, value in signed.items():
            request.headers[name] = value
        yield request


# ---------------------------------------------------------------- receiving


def _normalise_headers(headers: Mapping[str, str]) -> dict[str, str]:
    # starlette's Headers.items() yields repeated fields separately; HTTP joins them with ", ".
    out: dict[str, str] = {}
    for name, value in headers.items():
        key = name.lower()
        out[key] = f"{out[key]}, {value.strip()}" if key in out else value.strip()
    return out


def _parse_params(raw: str) -> dict[str, str]:
    raw = raw.strip()
    if raw.startswith("Signature "):  # old node-http-signature prefix; Mastodon tolerates it
        raw = raw[len("Signature "):]
    params: dict[str, str] = {}
    pos = 0
    while True:
        m = _PARAM.match(raw, pos)
        if not m:
            raise SignatureError("Signature header could not be parsed")
        name = m.group(1)
        if name in params:  # Mastodon 4.5.5+: a second keyId could smuggle a different key
            raise SignatureError(f"duplicate Signature parameter {name}")
        quoted = m.group(2)
        params[name] = re.sub(r"\\(.)", r"\1", quoted) if quoted is not None else m.group(3)
        pos = m.end()
        if pos == len(raw):
            return params
        if raw[pos] != ",":
            raise SignatureError("Signature header could not be parsed")
        pos += 1


def _from_unix(seconds: int) -> datetime:
    try:
        return datetime.fromtimestamp(seconds, timezone.utc)
    except (OverflowError, ValueError, OSError):
        raise SignatureError(f"{seconds} is not a usable Unix time") from None


def _timestamp(params: dict[str, str], name: str) -> datetime | None:
    value = params.get(name)
    if value is None:
        return None
    if not _TIMESTAMP.fullmatch(value):
        raise SignatureError(f"Signature parameter {name} is not a Unix time")
    return _from_unix(int(float(value)))


def _http_date(value: str) -> datetime:
    try:
        parsed = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        raise SignatureError(f"Date header is not an HTTP-date: {value!r}") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def _check_window(created: datetime, expires: datetime | None, now: datetime) -> None:
    if created > now + CLOCK_SKEW:
        raise SignatureError("signed request date is more than 1 hour in the future")
    expiry = min(expires or created + DEFAULT_VALIDITY, created + MAX_VALIDITY)
    if now > expiry + CLOCK_SKEW:
        raise SignatureError("signed request date is too old (signature expired)")


def _check_digest(value: str | None, body: bytes) -> None:
    if value is None:
        raise SignatureError("Digest header is signed but missing")
    entries = [part.strip().partition("=") for part in value.split(",")]
    offered = {name.strip().lower(): b64.strip() for name, _, b64 in entries}
    if "sha-256" not in offered:
        raise SignatureError(f"Digest must include SHA-256; offered: {', '.join(offered)}")
    try:
        given = base64.b64decode(offered["sha-256"], validate=True)
    except (binascii.Error, ValueError):
        raise SignatureError("Digest SHA-256 value is not valid base64") from None
    if len(given) != 32:
        raise SignatureError("Digest SHA-256 value is not 32 bytes long")
    computed = hashlib.sha256(body).digest()
    if not hmac.compare_digest(given, computed):
        raise SignatureError(
            f"Digest does not match the body: computed SHA-256={base64.b64encode(computed).decode()}"
        )


def _host_matches(signed: str, expected: str) -> bool:
    signed, expected = signed.strip().lower(), expected.strip().lower()
    # Mastodon signs the URL's host without its port, so a portless host is accepted too.
    return signed == expected or signed == (urlsplit(f"//{expected}").hostname or expected)


def _parse_cavage(
    method: str, path: str, query: str, h: dict[str, str], body: bytes, expected_host: str, now: datetime,
) -> ParsedSignature:
    params = _parse_params(h["signature"])
    key_id, sig_b64 = params.get("keyId"), params.get("signature")
    if not key_id or not sig_b64:
        raise SignatureError("Signature must carry keyId and signature")
    algorithm = params.get("algorithm", "hs2019").lower()
    if algorithm not in ACCEPTED_ALGORITHMS:
        raise SignatureError(f"unsupported signature algorithm {algorithm!r} (use rsa-sha256 or hs2019)")
    try:
        signature = base64.b64decode(sig_b64, validate=True)
    except (binascii.Error, ValueError):
        raise SignatureError("signature is not valid base64") from None
    default = "(created)" if algorithm == "hs2019" else "date"
    covered = tuple(params.get("headers", default).lower().split())

    if "date" not in covered and "(created)" not in covered:
        raise SignatureError("the Date header or (created) must be signed")
    if "(request-target)" not in covered and "digest" not in covered:
        raise SignatureError("(request-target) or the Digest header must be signed")
    if method == "GET" and "host" not in covered:
        raise SignatureError("a GET must sign the Host header")
    if method == "POST" and "digest" not in covered:
        raise SignatureError("a POST must sign the Digest header")
    if "digest" in covered:
        _check_digest(h.get("digest"), body)

    created = _timestamp(params, "created")
    expires = _timestamp(params, "expires")
    if "(created)" in covered or "(expires)" in covered:
        if algorithm != "hs2019":
            raise SignatureError("(created) and (expires) are only valid with hs2019")
    if "(created)" in covered and created is None:
        raise SignatureError("(created) is signed but the created parameter is missing")
    if "(expires)" in covered and expires is None:
        raise SignatureError("(expires) is signed but the expires parameter is missing")
    signed_times = [created] if "(created)" in covered else []
    if "date" in covered:
        if "date" not in h:
            raise SignatureError("the Date header is signed but missing")
        signed_times.append(_http_date(h["date"]))
    for when in signed_times:  # only signed times count: an unsigned one could be forged
        _check_window(when, expires if "(expires)" in covered else None, now)
    if "host" in covered and not _host_matches(h.get("host", ""), expected_host):
        raise SignatureError(f"signature is for host {h.get('host')!r}, not {expected_host!r}")

    targets = [f"{method.lower()} {path}?{query}", f"{method.lower()} {path}"] if query else [
        f"{method.lower()} {path}"
    ]
    bases = []
    for target in targets:
        lines = []
        for name in covered:
            if name == "(request-target)":
                value = target
            elif name in ("(created)", "(expires)"):
                value = params[name[1:-1]]
            elif name in h:
                value = h[name]
            else:
                raise SignatureError(f"signed header {name} is missing from the request")
            lines.append(f"{name}: {value}")
        bases.append("\n".join(lines).encode("utf-8"))
    return ParsedSignature(
        scheme="cavage", key_id=key_id, algorithm=algorithm, covered=covered, signature=signature,
        created=signed_times[0], expires=expires, signing_bases=tuple(dict.fromkeys(bases)),
    )


def _parse_rfc9421(
    method: str, target_uri: str, h: dict[str, str], body: bytes, now: datetime
) -> ParsedSignature:
    try:
        sig = extract_rfc9421(method, target_uri, h, body)
    except Rfc9421Error as exc:
        raise SignatureError(str(exc)) from None
    created = _from_unix(sig.created)
    expires = _from_unix(sig.expires) if sig.expires is not None else None
    _check_window(created, expires, now)
    return ParsedSignature(
        scheme="rfc9421", key_id=sig.key_id, algorithm=RFC9421_ALGORITHM, covered=sig.covered,
        signature=sig.signature, created=created, expires=expires, signing_bases=(sig.signature_base,),
    )


def parse_request_signature(
    method: str, path: str, query: str, headers: Mapping[str, str], body: bytes | None, *,
    expected_host: str, now: datetime, target_uri: str | None = None,
) -> ParsedSignature:
    """Every check that needs no key; raises SignatureError.

    `path` and `query` are the raw (still percent-encoded) request target parts.
    `target_uri` is the full URL the request was sent to, for RFC 9421 `@target-uri`;
    by default https://{expected_host}{path}[?query] (pass it when serving plain http).
    The Host value is compared with `expected_host` when it is signed; like Mastodon we
    only demand it be signed on GET, so an unsigned Host cannot be checked.
    """
    method = method.upper()
    now = _aware(now)
    h = _normalise_headers(headers)
    payload = body or b""
    if "signature-input" in h:
        uri = target_uri or f"https://{expected_host}{path}" + (f"?{query}" if query else "")
        return _parse_rfc9421(method, uri, h, payload, now)
    if "signature" not in h:
        raise SignatureError("request is not signed")
    return _parse_cavage(method, path, query, h, payload, expected_host, now)


def verify_signature(parsed: ParsedSignature, public_key_pem: str) -> None:
    """Check the RSASSA-PKCS1-v1_5 SHA-256 signature with the signer's public key."""
    try:
        key = serialization.load_pem_public_key(public_key_pem.encode("ascii"))
    except (ValueError, UnsupportedAlgorithm, UnicodeEncodeError):
        raise SignatureError("the signer's public key could not be read") from None
    if not isinstance(key, rsa.RSAPublicKey):
        raise SignatureError("the signer's key is not an RSA key")
    for base in parsed.signing_bases:
        try:
            key.verify(parsed.signature, base, padding.PKCS1v15(), hashes.SHA256())
            return
        except InvalidSignature:
            continue
    raise SignatureError("signature does not verify with the signer's key")
