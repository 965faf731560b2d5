"""RFC 9421 HTTP Message Signatures, the receiving half, as Mastodon 4.5+ accepts them.

Mastodon (4.4 behind a flag, 4.5+ by default) verifies RFC 9421 signatures and its main
branch sends them as the second knock of a double-knock, over `@method @target-uri
content-digest` with rsa-v1_5-sha256. This module extracts and checks such a signature
with the `http-message-signatures` library (>= 3.0) and returns the signature base, so
`federation.httpsig` can apply the policy (time window, host) and check the RSA
signature once the key has been fetched.

Why the library is driven through two small adapters instead of `verify(key)`:
the library wants the key before it builds the signature base, but an inbox must run
every cheap check *before* fetching a key from the network (an unsigned or replayed
request must not make us fetch anything). So `_DeferredRSA` is a library algorithm that
records the base it is asked to verify instead of verifying it, and the real
RSASSA-PKCS1-v1_5 check happens later in `httpsig.verify_signature`. The library's own
created/expires check uses the wall clock and a 5-second skew; Mastodon allows one hour
and we inject the clock, so `_PolicyFreeVerifier` turns that check off and the caller
applies Mastodon's window.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from http_message_signatures import (
    HTTPMessageSignaturesException,
    HTTPMessageVerifier,
    HTTPSignatureAlgorithm,
    HTTPSignatureKeyResolver,
)
from http_message_signatures.algorithms import RSA_V1_5_SHA256

ALGORITHM = RSA_V1_5_SHA256.algorithm_id  # "rsa-v1_5-sha256", the only one Mastodon verifies


class Rfc9421Error(Exception):
    """The RFC 9421 signature is unusable; the message says why."""


@dataclass(frozen=True)
class Rfc9421Signature:
    key_id: str
    created: int
    expires: int | None
    covered: tuple[str, ...]
    signature: bytes
    signature_base: bytes


@dataclass
class _Request:
    # The message shape the library reads: uppercase method, absolute URL, headers.items().
    method: str
    url: str
    headers: Mapping[str, str]


class _DeferredRSA(HTTPSignatureAlgorithm):
    """Records (signature, base) instead of verifying: the key is not known yet."""

    algorithm_id = ALGORITHM

    def __init__(self, public_key: Any = None, private_key: Any = None) -> None:
        self._sink: list[tuple[bytes, bytes]] = public_key

    def sign(self, message: bytes) -> bytes:
        raise NotImplementedError("verification only")

    def verify(self, signature: bytes, message: bytes) -> None:
        self._sink.append((signature, message))


class _SinkResolver(HTTPSignatureKeyResolver):
    # Hands _DeferredRSA the list it records into, in place of a key.
    def __init__(self) -> None:
        self.captured: list[tuple[bytes, bytes]] = []

    def resolve_public_key(self, key_id: str) -> Any:
        return self.captured

    def resolve_private_key(self, key_id: str) -> Any:
        raise NotImplementedError("verification only")


class _PolicyFreeVerifier(HTTPMessageVerifier):
    def validate_created_and_expires(self, sig_input: Any, max_age: Any = None) -> None:
        # The caller applies Mastodon's window with an injected clock (see module doc).
        return None


def _has_sha256_member(content_digest: str) -> bool:
    # The library has already parsed and checked every member (syntax, length, value);
    # Mastodon additionally insists on sha-256 being among them. Member keys of a
    # byte-sequence dictionary cannot contain commas, so a split is exact enough here.
    return any(m.strip().partition("=")[0].strip() == "sha-256" for m in content_digest.split(","))


def extract_rfc9421(
    method: str, target_uri: str, headers: Mapping[str, str], body: bytes | None
) -> Rfc9421Signature:
    """Parse and structurally check the one RFC 9421 signature of a request.

    Checks: exactly one signature, keyid and created present, alg (if given)
    rsa-v1_5-sha256, `@method` and `@target-uri` covered, a POST covers
    `content-digest` whose members all match the body and include sha-256.
    Returns the signature base for a later RSA check. Raises Rfc9421Error.
    """
    method = method.upper()
    is_post = method == "POST"
    required = ("@method", "@target-uri") + (("content-digest",) if is_post else ())
    resolver = _SinkResolver()
    verifier = _PolicyFreeVerifier(signature_algorithm=_DeferredRSA, key_resolver=resolver)
    try:
        results = verifier.verify(
            _Request(method, target_uri, headers),
            max_age=None,
            require_components=required,
            body=(body or b"") if is_post else None,
        )
    except (HTTPMessageSignaturesException, ValueError, TypeError) as exc:
        raise Rfc9421Error(f"RFC 9421 signature rejected: {exc}") from exc
    if len(results) != 1 or len(resolver.captured) != 1:
        raise Rfc9421Error("exactly one RFC 9421 signature is accepted")
    result = results[0]
    params = result.parameters
    created, expires, key_id = params.get("created"), params.get("expires"), params.get("keyid")
    if not isinstance(created, int):
        raise Rfc9421Error("RFC 9421 signature must carry a created parameter")
    if not isinstance(key_id, str) or not key_id:
        raise Rfc9421Error("RFC 9421 signature must carry a keyid parameter")
    if is_post and not _has_sha256_member(result.covered_components['"content-digest"']):
        raise Rfc9421Error("Content-Digest must include a sha-256 digest")
    covered = tuple(
        name.replace('"', "") for name in result.covered_components if name != '"@signature-params"'
    )
    signature, base = resolver.captured[0]
    return Rfc9421Signature(
        key_id=key_id,
        created=created,
        expires=expires if isinstance(expires, int) else None,
        covered=covered,
        signature=signature,
        signature_base=base,
    )
