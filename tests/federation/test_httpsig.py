"""federation.httpsig: our signer against Mastodon's rules, real peers' shapes against our verifier,
and one test per bad input of interop/events_groups_security.md C.6 items 1-9."""
from __future__ import annotations

import base64
import hashlib
from datetime import datetime, timedelta, timezone
from email.utils import formatdate
from urllib.parse import urlsplit

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
from starlette.datastructures import Headers

from federation.httpsig import (
    HttpSigAuth,
    ParsedSignature,
    SignatureError,
    SigningKey,
    digest_header,
    generate_private_key_pem,
    parse_request_signature,
    public_key_pem_from_private,
    sign_request,
    verify_signature,
)
from tests.support.mastodon_signer import (
    MastodonRejected,
    cavage_signature,
    gotosocial_sign,
    mastodon_rfc9421_sign,
    mastodon_sign,
    mastodon_verify,
)

NOW = datetime(2026, 9, 23, 9, 0, tzinfo=timezone.utc)
HOST = "union.example"
INBOX = f"https://{HOST}/inbox"
ACTOR = "https://mastodon.example/users/alice"
KEY_ID = "https://union-b.example/actors/union#main-key"
BODY = b'{"@context":"https://www.w3.org/ns/activitystreams","type":"Follow"}'
AP_JSON = "application/activity+json"


@pytest.fixture(scope="module")
def pem() -> str:
    return generate_private_key_pem()


@pytest.fixture(scope="module")
def pub(pem: str) -> str:
    return public_key_pem_from_private(pem)


@pytest.fixture(scope="module")
def other_pub() -> str:
    return public_key_pem_from_private(generate_private_key_pem())


@pytest.fixture(scope="module")
def key(pem: str) -> SigningKey:
    return SigningKey.from_pem(KEY_ID, pem)


def parse(
    method: str, url: str, headers, body: bytes | None, *, now: datetime = NOW, host: str = HOST,
    target_uri: str | None = None,
) -> ParsedSignature:
    u = urlsplit(url)
    return parse_request_signature(
        method, u.path, u.query, headers, body, expected_host=host, now=now, target_uri=target_uri
    )


def handmade(
    pem: str, covered: list[str], *, method: str = "POST", url: str = INBOX, body: bytes | None = BODY,
    when: datetime = NOW, algorithm: str | None = "rsa-sha256", digest: str | None = None,
    date: str | None = None, extra_params: dict[str, str] | None = None,
) -> dict[str, str]:
    """A correctly signed draft-cavage request over exactly `covered`, for bad-input tests."""
    u = urlsplit(url)
    headers = {
        "Host": u.netloc,
        "Date": date if date is not None else formatdate(when.timestamp(), usegmt=True),
        "Content-Type": AP_JSON,
    }
    if body is not None:
        headers["Digest"] = digest if digest is not None else digest_header(body)
    values = {k.lower(): v for k, v in headers.items()}
    values["(request-target)"] = f"{method.lower()} {u.path}" + (f"?{u.query}" if u.query else "")
    for name, value in (extra_params or {}).items():
        values[f"({name})"] = value
    headers["Signature"] = cavage_signature(
        private_key_pem=pem, key_id=KEY_ID, covered=covered, values=values, algorithm=algorithm,
        extra_params=extra_params,
    )
    return headers


def sig_params(signature_header: str) -> dict[str, str]:
    return dict(p.split("=", 1) for p in signature_header.split(","))


# ------------------------------------------------------------------ keys and digest


def test_generated_key_is_rsa_2048_pkcs8_with_spki_public(pem: str, pub: str) -> None:
    assert pem.startswith("-----BEGIN PRIVATE KEY-----")
    assert pub.startswith("-----BEGIN PUBLIC KEY-----")
    loaded = serialization.load_pem_private_key(pem.encode(), password=None)
    assert isinstance(loaded, rsa.RSAPrivateKey) and loaded.key_size == 2048
    assert SigningKey.from_pem("k", pem.encode()).private_key.public_key().public_numbers() == (
        loaded.public_key().public_numbers()
    )


def test_signing_key_refuses_non_rsa_keys() -> None:
    ed_pem = ed25519.Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    with pytest.raises(ValueError, match="RSA"):
        SigningKey.from_pem("k", ed_pem)


def test_digest_header_matches_known_vector() -> None:
    assert digest_header(b"") == "SHA-256=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
    assert digest_header(BODY) == "SHA-256=" + base64.b64encode(hashlib.sha256(BODY).digest()).decode()


# ------------------------------------------------------------------ our signer


def test_sign_request_post_shape(key: SigningKey) -> None:
    h = sign_request("POST", INBOX, key=key, body=BODY, headers={"Content-Type": AP_JSON}, now=NOW)
    assert list(h) == ["Host", "Date", "Digest", "Content-Type", "Signature"]
    assert h["Host"] == HOST
    assert h["Date"] == "Wed, 23 Sep 2026 09:00:00 GMT"
    assert h["Digest"] == digest_header(BODY)
    params = sig_params(h["Signature"])
    assert params["keyId"] == f'"{KEY_ID}"'
    assert params["algorithm"] == '"rsa-sha256"'
    assert params["headers"] == '"(request-target) host date digest content-type"'


def test_sign_request_get_signs_accept_and_query(key: SigningKey, pub: str) -> None:
    url = f"https://{HOST}/actors/union/outbox?page=2&min_id=7"
    h = sign_request("GET", url, key=key, headers={"Accept": AP_JSON}, now=NOW)
    assert "Digest" not in h
    assert sig_params(h["Signature"])["headers"] == '"(request-target) host date accept"'
    parsed = parse("GET", url, h, None)
    assert parsed.signing_bases[0].startswith(b"(request-target): get /actors/union/outbox?page=2&min_id=7\n")
    verify_signature(parsed, pub)


def test_sign_request_leaves_user_agent_unsigned_and_refuses_reserved_names(key: SigningKey) -> None:
    h = sign_request("POST", INBOX, key=key, body=BODY, headers={"User-Agent": "UnionHall/0.1", "Content-Type": AP_JSON}, now=NOW)
    assert h["User-Agent"] == "UnionHall/0.1"
    assert "user-agent" not in sig_params(h["Signature"])["headers"]
    with pytest.raises(ValueError):
        sign_request("POST", INBOX, key=key, body=BODY, headers={"date": "yesterday"}, now=NOW)


def test_round_trip_post(key: SigningKey, pub: str) -> None:
    h = sign_request("POST", INBOX, key=key, body=BODY, headers={"Content-Type": AP_JSON}, now=NOW)
    parsed = parse("POST", INBOX, h, BODY, now=NOW + timedelta(seconds=30))
    assert parsed.scheme == "cavage"
    assert parsed.key_id == KEY_ID
    assert parsed.algorithm == "rsa-sha256"
    assert parsed.covered == ("(request-target)", "host", "date", "digest", "content-type")
    assert parsed.created == NOW
    verify_signature(parsed, pub)


def test_our_post_passes_mastodon_rules(key: SigningKey, pub: str) -> None:
    h = sign_request("POST", INBOX, key=key, body=BODY, headers={"Content-Type": AP_JSON}, now=NOW)
    mastodon_verify("POST", "/inbox", h, BODY, pub, NOW + timedelta(minutes=1))


def test_our_get_with_query_passes_mastodon_rules(key: SigningKey, pub: str) -> None:
    url = f"https://{HOST}/actors/union/followers?page=1"
    h = sign_request("GET", url, key=key, headers={"Accept": AP_JSON}, now=NOW)
    mastodon_verify("GET", "/actors/union/followers?page=1", h, None, pub, NOW)


def test_mastodon_verifier_is_not_a_rubber_stamp(key: SigningKey, pub: str, other_pub: str) -> None:
    h = sign_request("POST", INBOX, key=key, body=BODY, headers={"Content-Type": AP_JSON}, now=NOW)
    with pytest.raises(MastodonRejected, match="Verification failed"):
        mastodon_verify("POST", "/inbox", h, BODY, other_pub, NOW)
    with pytest.raises(MastodonRejected, match="Digest"):
        mastodon_verify("POST", "/inbox", h, BODY + b" ", pub, NOW)
    with pytest.raises(MastodonRejected, match="time window"):
        mastodon_verify("POST", "/inbox", h, BODY, pub, NOW + timedelta(hours=2))


# ------------------------------------------------------------------ HttpSigAuth


async def test_httpsig_auth_signs_each_send_freshly(key: SigningKey, pub: str) -> None:
    seen: list[httpx.Request] = []
    clock = [NOW]

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(202)

    auth = HttpSigAuth(key, now=lambda: clock[0])
    async with httpx.AsyncClient(transport=httpx.MockTransport(handler), auth=auth) as client:
        await client.post(INBOX, content=BODY, headers={"Content-Type": AP_JSON})
        clock[0] = NOW + timedelta(minutes=10)
        await client.post(INBOX, content=BODY, headers={"Content-Type": AP_JSON})

    first, second = seen
    assert first.headers["Date"] == "Wed, 23 Sep 2026 09:00:00 GMT"
    assert second.headers["Date"] == "Wed, 23 Sep 2026 09:10:00 GMT"
    assert first.headers["Signature"] != second.headers["Signature"]
    for request, when in ((first, NOW), (second, clock[0])):
        assert sig_params(request.headers["Signature"])["headers"] == '"(request-target) host date digest content-type"'
        verify_signature(parse("POST", INBOX, request.headers, request.content, now=when), pub)
        mastodon_verify("POST", "/inbox", request.headers, request.content, pub, when)


def test_httpsig_auth_get_signs_wire_target_with_query(key: SigningKey, pub: str) -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200)

    with httpx.Client(transport=httpx.MockTransport(handler), auth=HttpSigAuth(key, now=lambda: NOW)) as client:
        client.get(f"https://{HOST}/search", params={"q": "strike fund"}, headers={"Accept": AP_JSON})

    (request,) = seen
    raw_target = request.url.raw_path.decode()
    assert raw_target == "/search?q=strike+fund"
    assert "Digest" not in request.headers
    assert sig_params(request.headers["Signature"])["headers"] == '"(request-target) host date accept"'
    mastodon_verify("GET", raw_target, request.headers, None, pub, NOW)
    parsed = parse_request_signature(
        "GET", "/search", "q=strike+fund", request.headers, None, expected_host=HOST, now=NOW
    )
    verify_signature(parsed, pub)


# ------------------------------------------------------------------ real peers' shapes


def test_mastodon_45_post_verifies(pem: str, pub: str) -> None:
    h = mastodon_sign("POST", INBOX, private_key_pem=pem, actor=ACTOR, body=BODY, now=NOW)
    assert sig_params(h["Signature"])["headers"] == '"host date digest content-type (request-target)"'
    parsed = parse("POST", INBOX, h, BODY)
    assert parsed.key_id == f"{ACTOR}#main-key"
    assert parsed.covered[-1] == "(request-target)"
    verify_signature(parsed, pub)


def test_mastodon_45_get_verifies(pem: str, pub: str) -> None:
    url = f"https://{HOST}/actors/union?x=1"
    h = mastodon_sign("GET", url, private_key_pem=pem, actor=ACTOR, now=NOW)
    assert sig_params(h["Signature"])["headers"] == '"host date accept (request-target)"'
    verify_signature(parse("GET", url, h, None), pub)


def test_mastodon_post_through_starlette_headers(pem: str, pub: str) -> None:
    h = mastodon_sign("POST", INBOX, private_key_pem=pem, actor=ACTOR, body=BODY, now=NOW)
    # What the ASGI server hands us: lowercase byte pairs, wrapped by starlette.
    starlette_headers = Headers(raw=[(k.lower().encode(), v.encode()) for k, v in h.items()])
    verify_signature(parse("POST", INBOX, starlette_headers, BODY), pub)


def test_gotosocial_post_and_get_verify(pem: str, pub: str) -> None:
    key_id = "https://gts.example/users/bob/main-key"
    post = gotosocial_sign("POST", INBOX, private_key_pem=pem, key_id=key_id, body=BODY, now=NOW)
    parsed = parse("POST", INBOX, post, BODY)
    assert (parsed.algorithm, parsed.key_id) == ("hs2019", key_id)
    assert parsed.covered == ("(request-target)", "host", "date", "digest")
    verify_signature(parsed, pub)
    url = f"https://{HOST}/actors/union"
    get = gotosocial_sign("GET", url, private_key_pem=pem, key_id=key_id, now=NOW)
    verify_signature(parse("GET", url, get, None), pub)


def test_hs2019_with_created_pseudo_header_verifies(pem: str, pub: str) -> None:
    created = str(int((NOW - timedelta(minutes=2)).timestamp()))
    h = handmade(
        pem, ["(request-target)", "(created)", "host", "digest"], algorithm="hs2019",
        extra_params={"created": created},
    )
    parsed = parse("POST", INBOX, h, BODY)
    assert parsed.created == NOW - timedelta(minutes=2)
    verify_signature(parsed, pub)


def test_signature_prefix_from_old_node_signers_is_tolerated(pem: str, pub: str) -> None:
    h = mastodon_sign("POST", INBOX, private_key_pem=pem, actor=ACTOR, body=BODY, now=NOW)
    h["Signature"] = "Signature " + h["Signature"]
    verify_signature(parse("POST", INBOX, h, BODY), pub)


# ------------------------------------------------------------------ RFC 9421


def test_rfc9421_mastodon_double_knock_post_verifies(pem: str, pub: str) -> None:
    h = mastodon_rfc9421_sign("POST", INBOX, private_key_pem=pem, actor=ACTOR, body=BODY, now=NOW)
    parsed = parse("POST", INBOX, h, BODY)
    assert parsed.scheme == "rfc9421"
    assert parsed.key_id == f"{ACTOR}#main-key"
    assert parsed.algorithm == "rsa-v1_5-sha256"
    assert parsed.covered == ("@method", "@target-uri", "content-digest")
    assert parsed.created == NOW
    verify_signature(parsed, pub)


def test_rfc9421_get_verifies_with_explicit_http_target_uri(pem: str, pub: str) -> None:
    url = "http://127.0.0.1:8001/actors/union?page=1"
    h = mastodon_rfc9421_sign("GET", url, private_key_pem=pem, actor=ACTOR, now=NOW)
    parsed = parse("GET", url, h, None, host="127.0.0.1:8001", target_uri=url)
    assert parsed.covered == ("@method", "@target-uri")
    verify_signature(parsed, pub)


def test_rfc9421_wrong_key_fails(pem: str, other_pub: str) -> None:
    h = mastodon_rfc9421_sign("POST", INBOX, private_key_pem=pem, actor=ACTOR, body=BODY, now=NOW)
    with pytest.raises(SignatureError, match="does not verify"):
        verify_signature(parse("POST", INBOX, h, BODY), other_pub)


def test_rfc9421_body_altered_is_refused(pem: str) -> None:
    h = mastodon_rfc9421_sign("POST", INBOX, private_key_pem=pem, actor=ACTOR, body=BODY, now=NOW)
    with pytest.raises(SignatureError, match="Content-Digest"):
        parse("POST", INBOX, h, BODY + b"\n")


@pytest.mark.parametrize(
    "content_digest",
    ["sha-256=not-a-byte-sequence", "sha-256=:AAAA:", "sha-256=:%%%:"],
    ids=["not-bytes", "short", "bad-base64"],
)
def test_rfc9421_malformed_content_digest_is_refused(pem: str, content_digest: str) -> None:
    h = mastodon_rfc9421_sign(
        "POST", INBOX, private_key_pem=pem, actor=ACTOR, body=BODY, now=NOW, content_digest=content_digest
    )
    with pytest.raises(SignatureError):
        parse("POST", INBOX, h, BODY)


def test_rfc9421_sha512_only_content_digest_is_refused(pem: str) -> None:
    sha512 = base64.b64encode(hashlib.sha512(BODY).digest()).decode()
    h = mastodon_rfc9421_sign(
        "POST", INBOX, private_key_pem=pem, actor=ACTOR, body=BODY, now=NOW, content_digest=f"sha-512=:{sha512}:"
    )
    with pytest.raises(SignatureError, match="sha-256"):
        parse("POST", INBOX, h, BODY)


def test_rfc9421_post_must_cover_content_digest(pem: str) -> None:
    h = mastodon_rfc9421_sign(
        "POST", INBOX, private_key_pem=pem, actor=ACTOR, body=BODY, now=NOW, cover_digest=False
    )
    with pytest.raises(SignatureError, match="content-digest"):
        parse("POST", INBOX, h, BODY)


def test_rfc9421_created_is_required(pem: str) -> None:
    h = mastodon_rfc9421_sign(
        "POST", INBOX, private_key_pem=pem, actor=ACTOR, body=BODY, now=NOW, include_created=False
    )
    with pytest.raises(SignatureError, match="created"):
        parse("POST", INBOX, h, BODY)


def test_rfc9421_two_signatures_are_refused(pem: str) -> None:
    one = mastodon_rfc9421_sign("POST", INBOX, private_key_pem=pem, actor=ACTOR, body=BODY, now=NOW)
    two = mastodon_rfc9421_sign("POST", INBOX, private_key_pem=pem, actor=ACTOR, body=BODY, now=NOW, label="sig2")
    h = dict(one)
    h["Signature-Input"] = f'{one["Signature-Input"]}, {two["Signature-Input"]}'
    h["Signature"] = f'{one["Signature"]}, {two["Signature"]}'
    with pytest.raises(SignatureError, match="[Mm]ultiple"):
        parse("POST", INBOX, h, BODY)


def test_rfc9421_other_algorithm_is_refused(pem: str) -> None:
    h = mastodon_rfc9421_sign("POST", INBOX, private_key_pem=pem, actor=ACTOR, body=BODY, now=NOW)
    h["Signature-Input"] += ';alg="hmac-sha256"'
    with pytest.raises(SignatureError, match="[Aa]lgorithm"):
        parse("POST", INBOX, h, BODY)


def test_rfc9421_outside_window_is_refused(pem: str) -> None:
    h = mastodon_rfc9421_sign("POST", INBOX, private_key_pem=pem, actor=ACTOR, body=BODY, now=NOW - timedelta(hours=2))
    with pytest.raises(SignatureError, match="too old"):
        parse("POST", INBOX, h, BODY)


def test_rfc9421_signed_for_another_host_does_not_verify(pem: str, pub: str) -> None:
    h = mastodon_rfc9421_sign(
        "POST", "https://other.example/inbox", private_key_pem=pem, actor=ACTOR, body=BODY, now=NOW
    )
    parsed = parse("POST", INBOX, h, BODY)  # @target-uri is rebuilt as https://union.example/inbox
    assert b'"@target-uri": https://union.example/inbox' in parsed.signing_bases[0]
    with pytest.raises(SignatureError, match="does not verify"):
        verify_signature(parsed, pub)


# ------------------------------------------------------------------ C.6 items 1-9


def test_c6_1_no_signature_header() -> None:
    with pytest.raises(SignatureError, match="not signed") as info:
        parse("POST", INBOX, {"Host": HOST, "Content-Type": AP_JSON}, BODY)
    assert info.value.reason == "request is not signed"


@pytest.mark.parametrize("algorithm", ["hmac-sha256", "rsa-sha512", "ed25519", "rsa-pss-sha512", "bogus"])
def test_c6_2_unsupported_algorithm(pem: str, algorithm: str) -> None:
    h = handmade(pem, ["(request-target)", "host", "date", "digest"], algorithm=algorithm)
    with pytest.raises(SignatureError, match="unsupported signature algorithm"):
        parse("POST", INBOX, h, BODY)


def test_c6_3_post_without_signed_digest(pem: str) -> None:
    h = handmade(pem, ["(request-target)", "host", "date"])
    with pytest.raises(SignatureError, match="POST must sign the Digest"):
        parse("POST", INBOX, h, BODY)


def test_c6_4_body_altered_after_signing(pem: str) -> None:
    h = mastodon_sign("POST", INBOX, private_key_pem=pem, actor=ACTOR, body=BODY, now=NOW)
    with pytest.raises(SignatureError, match="Digest does not match"):
        parse("POST", INBOX, h, BODY.replace(b"Follow", b"Delete"))


def test_c6_4_body_and_digest_altered_fails_the_signature(pem: str, pub: str) -> None:
    tampered = BODY.replace(b"Follow", b"Delete")
    h = mastodon_sign("POST", INBOX, private_key_pem=pem, actor=ACTOR, body=BODY, now=NOW)
    h["Digest"] = digest_header(tampered)
    parsed = parse("POST", INBOX, h, tampered)
    with pytest.raises(SignatureError, match="does not verify"):
        verify_signature(parsed, pub)


@pytest.mark.parametrize(
    ("digest", "reason"),
    [
        ("SHA-512=" + base64.b64encode(hashlib.sha512(BODY).digest()).decode(), "must include SHA-256"),
        ("SHA-256=not*base64!", "not valid base64"),
        ("SHA-256=" + base64.b64encode(hashlib.sha256(BODY).digest()[:16]).decode(), "not 32 bytes"),
    ],
    ids=["sha512-only", "malformed-base64", "wrong-length"],
)
def test_c6_5_bad_digest(pem: str, digest: str, reason: str) -> None:
    h = handmade(pem, ["(request-target)", "host", "date", "digest"], digest=digest)
    with pytest.raises(SignatureError, match=reason):
        parse("POST", INBOX, h, BODY)


def test_c6_6_date_two_hours_past(pem: str) -> None:
    h = mastodon_sign("POST", INBOX, private_key_pem=pem, actor=ACTOR, body=BODY, now=NOW - timedelta(hours=2))
    with pytest.raises(SignatureError, match="too old"):
        parse("POST", INBOX, h, BODY)


@pytest.mark.parametrize(
    ("age", "accepted"),
    [(timedelta(minutes=64), True), (timedelta(minutes=66), False),
     (-timedelta(minutes=59), True), (-timedelta(minutes=61), False)],
    ids=["64min-old", "66min-old", "59min-ahead", "61min-ahead"],
)
def test_time_window_edges_match_mastodon(pem: str, pub: str, age: timedelta, accepted: bool) -> None:
    h = mastodon_sign("POST", INBOX, private_key_pem=pem, actor=ACTOR, body=BODY, now=NOW - age)
    if accepted:
        verify_signature(parse("POST", INBOX, h, BODY), pub)
        mastodon_verify("POST", "/inbox", h, BODY, pub, NOW)
    else:
        with pytest.raises(SignatureError):
            parse("POST", INBOX, h, BODY)
        with pytest.raises(MastodonRejected):
            mastodon_verify("POST", "/inbox", h, BODY, pub, NOW)


def test_c6_7_date_two_hours_future(pem: str) -> None:
    h = mastodon_sign("POST", INBOX, private_key_pem=pem, actor=ACTOR, body=BODY, now=NOW + timedelta(hours=2))
    with pytest.raises(SignatureError, match="future"):
        parse("POST", INBOX, h, BODY)


@pytest.mark.parametrize("date", ["yesterday", "", "2026-09-23T09:00:00Z"])
def test_c6_7_invalid_http_date(pem: str, date: str) -> None:
    h = handmade(pem, ["(request-target)", "host", "date", "digest"], date=date)
    with pytest.raises(SignatureError, match="HTTP-date"):
        parse("POST", INBOX, h, BODY)


def test_c6_8_neither_date_nor_created_signed(pem: str) -> None:
    h = handmade(pem, ["(request-target)", "host", "digest"])
    with pytest.raises(SignatureError, match="Date header or \\(created\\)"):
        parse("POST", INBOX, h, BODY)


def test_c6_9_signature_for_another_host_replayed_to_us(pem: str) -> None:
    h = mastodon_sign("POST", "https://other.example/inbox", private_key_pem=pem, actor=ACTOR, body=BODY, now=NOW)
    with pytest.raises(SignatureError, match="other.example"):
        parse("POST", INBOX, h, BODY)


# ------------------------------------------------------------------ other strength and syntax rules


def test_handmade_control_request_is_accepted(pem: str, pub: str) -> None:
    # The bad-input tests above change one thing each from this request.
    h = handmade(pem, ["(request-target)", "host", "date", "digest"])
    verify_signature(parse("POST", INBOX, h, BODY), pub)


def test_get_must_sign_host(pem: str) -> None:
    h = handmade(pem, ["(request-target)", "date"], method="GET", body=None)
    with pytest.raises(SignatureError, match="GET must sign the Host"):
        parse("GET", INBOX, h, None)


def test_request_target_or_digest_must_be_signed(pem: str) -> None:
    h = handmade(pem, ["host", "date"], method="GET", body=None)
    with pytest.raises(SignatureError, match="\\(request-target\\) or the Digest"):
        parse("GET", INBOX, h, None)


def test_created_pseudo_header_refused_with_rsa_sha256(pem: str) -> None:
    created = str(int(NOW.timestamp()))
    h = handmade(pem, ["(request-target)", "(created)", "host", "digest"], extra_params={"created": created})
    with pytest.raises(SignatureError, match="only valid with hs2019"):
        parse("POST", INBOX, h, BODY)


def test_signed_created_without_parameter_is_refused(pem: str) -> None:
    h = handmade(pem, ["(request-target)", "host", "date", "digest"], algorithm="hs2019")
    h["Signature"] = h["Signature"].replace('headers="(request-target) host date digest"',
                                            'headers="(request-target) (created) host digest"')
    with pytest.raises(SignatureError, match="created parameter is missing"):
        parse("POST", INBOX, h, BODY)


def test_duplicate_signature_params_are_refused(pem: str) -> None:
    h = mastodon_sign("POST", INBOX, private_key_pem=pem, actor=ACTOR, body=BODY, now=NOW)
    h["Signature"] = 'keyId="https://evil.example/key",' + h["Signature"]
    with pytest.raises(SignatureError, match="duplicate Signature parameter keyId"):
        parse("POST", INBOX, h, BODY)
    with pytest.raises(MastodonRejected):  # and Mastodon 4.5.5+ agrees
        mastodon_verify("POST", "/inbox", h, BODY, "unused", NOW)


@pytest.mark.parametrize(
    "value",
    ['keyId="k" algorithm="rsa-sha256"', "not a signature", 'keyId="k",signature="c2ln",', ""],
    ids=["no-comma", "prose", "trailing-comma", "empty"],
)
def test_unparseable_signature_header(value: str) -> None:
    with pytest.raises(SignatureError, match="could not be parsed"):
        parse("POST", INBOX, {"Host": HOST, "Signature": value}, BODY)


def test_keyid_and_signature_are_required(pem: str) -> None:
    h = handmade(pem, ["(request-target)", "host", "date", "digest"])
    h["Signature"] = ",".join(p for p in h["Signature"].split(",") if not p.startswith("keyId="))
    with pytest.raises(SignatureError, match="keyId and signature"):
        parse("POST", INBOX, h, BODY)


def test_signed_header_missing_from_request(pem: str) -> None:
    h = handmade(pem, ["(request-target)", "host", "date", "digest", "content-type"])
    del h["Content-Type"]
    with pytest.raises(SignatureError, match="content-type is missing"):
        parse("POST", INBOX, h, BODY)


# ------------------------------------------------------------------ query string, both ways


def test_query_signed_by_modern_signer_verifies(pem: str, pub: str) -> None:
    url = f"https://{HOST}/actors/union/outbox?page=true"
    h = mastodon_sign("GET", url, private_key_pem=pem, actor=ACTOR, now=NOW)
    parsed = parse("GET", url, h, None)
    assert len(parsed.signing_bases) == 2  # with the query, then without
    verify_signature(parsed, pub)


def test_query_omitted_by_old_signer_still_verifies(pem: str, pub: str) -> None:
    url = f"https://{HOST}/actors/union/outbox?page=true"
    h = mastodon_sign("GET", url, private_key_pem=pem, actor=ACTOR, now=NOW, include_query=False)
    verify_signature(parse("GET", url, h, None), pub)


def test_query_changed_after_signing_fails(pem: str, pub: str) -> None:
    signed_url = f"https://{HOST}/actors/union/outbox?page=1"
    h = mastodon_sign("GET", signed_url, private_key_pem=pem, actor=ACTOR, now=NOW)
    with pytest.raises(SignatureError, match="does not verify"):
        verify_signature(parse("GET", f"https://{HOST}/actors/union/outbox?page=2", h, None), pub)


# ------------------------------------------------------------------ keys


def test_wrong_key_fails(pem: str, other_pub: str) -> None:
    h = mastodon_sign("POST", INBOX, private_key_pem=pem, actor=ACTOR, body=BODY, now=NOW)
    with pytest.raises(SignatureError, match="does not verify"):
        verify_signature(parse("POST", INBOX, h, BODY), other_pub)


@pytest.mark.parametrize("bad_pem", ["", "-----BEGIN PUBLIC KEY-----\nnope\n-----END PUBLIC KEY-----\n", "clé"])
def test_unreadable_public_key_is_a_signature_error(pem: str, bad_pem: str) -> None:
    h = mastodon_sign("POST", INBOX, private_key_pem=pem, actor=ACTOR, body=BODY, now=NOW)
    with pytest.raises(SignatureError, match="could not be read"):
        verify_signature(parse("POST", INBOX, h, BODY), bad_pem)


def test_non_rsa_public_key_is_refused(pem: str) -> None:
    ed_pub = ed25519.Ed25519PrivateKey.generate().public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()
    h = mastodon_sign("POST", INBOX, private_key_pem=pem, actor=ACTOR, body=BODY, now=NOW)
    with pytest.raises(SignatureError, match="not an RSA key"):
        verify_signature(parse("POST", INBOX, h, BODY), ed_pub)
