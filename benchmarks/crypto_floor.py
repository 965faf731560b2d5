"""(c) The floor: what the RSA-2048 work behind (a) and (b) costs alone, on one core, with
federation.httpsig — no network, no database.

- fan-out: one signature per inbox over one body (`sign_request`, key parsed once);
- ingest, sender side: one signature per activity (distinct bodies);
- ingest, receiver side: `parse_request_signature` + `verify_signature(parsed, pem)` as
  inbox/receive.py calls them (the public key PEM is parsed on every call), and, for
  comparison, the bare RSA verification with a key parsed once.
"""
from __future__ import annotations

import json
import time
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlsplit

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding

from federation.httpsig import (
    SigningKey, generate_private_key_pem, parse_request_signature, public_key_pem_from_private, sign_request,
    verify_signature,
)

HOST = "127.0.0.1:8000"


def _body(i: int) -> bytes:
    note = {"id": f"http://127.0.0.20/users/a{i % 100}/statuses/{i}", "type": "Note",
            "attributedTo": f"http://127.0.0.20/users/a{i % 100}", "content": f"<p>message {i}</p>" + "x" * 900,
            "to": ["https://www.w3.org/ns/activitystreams#Public"], "cc": [f"http://{HOST}/actors/union"]}
    return json.dumps({"@context": "https://www.w3.org/ns/activitystreams", "id": note["id"] + "/activity",
                       "type": "Create", "actor": note["attributedTo"], "object": note}).encode()


def _rate(n: int, seconds: float) -> dict[str, float]:
    return {"count": n, "seconds": round(seconds, 4), "per_s": round(n / seconds, 1),
            "us_each": round(seconds / n * 1e6, 1)}


def run_crypto_floor(*, fanout_signs: int, ingest_activities: int) -> dict[str, Any]:
    """Run benchmark (c); returns a JSON-able result."""
    pem = generate_private_key_pem()
    public_pem = public_key_pem_from_private(pem)
    key_id = "http://127.0.0.20/users/a0#main-key"

    t = time.perf_counter()
    key = SigningKey.from_pem(key_id, pem)
    parse_private_s = time.perf_counter() - t

    body = _body(0)
    t = time.perf_counter()
    for i in range(fanout_signs):
        sign_request("POST", f"http://127.0.0.{2 + i % 10}:9000/s/srv{i}/inbox", key=key, body=body,
                     headers={"Content-Type": "application/activity+json"})
    fanout = _rate(fanout_signs, time.perf_counter() - t)

    bodies = [_body(i) for i in range(ingest_activities)]
    url = f"http://{HOST}/inbox"
    now = datetime.now(timezone.utc)
    t = time.perf_counter()
    signed = [sign_request("POST", url, key=key, body=b, now=now, headers={"Content-Type": "application/activity+json"})
              for b in bodies]
    sender = _rate(ingest_activities, time.perf_counter() - t)

    path = urlsplit(url).path
    t = time.perf_counter()
    for headers, b in zip(signed, bodies):
        parsed = parse_request_signature("POST", path, "", headers, b, expected_host=HOST, now=now)
        verify_signature(parsed, public_pem)
    server_verify = _rate(ingest_activities, time.perf_counter() - t)

    parsed_all = [parse_request_signature("POST", path, "", h, b, expected_host=HOST, now=now)
                  for h, b in zip(signed, bodies)]
    public_key: Any = serialization.load_pem_public_key(public_pem.encode())
    t = time.perf_counter()
    for p in parsed_all:
        public_key.verify(p.signature, p.signing_bases[0], padding.PKCS1v15(), hashes.SHA256())
    bare_verify = _rate(ingest_activities, time.perf_counter() - t)

    t = time.perf_counter()
    for _ in range(ingest_activities):
        serialization.load_pem_public_key(public_pem.encode())
    pem_parse = _rate(ingest_activities, time.perf_counter() - t)

    return {
        "private_key_parse_once_ms": round(parse_private_s * 1000, 1),
        "fanout_signs": fanout,
        "ingest_sender_signs": sender,
        "ingest_verify_as_server_does": server_verify,
        "ingest_verify_bare_rsa": bare_verify,
        "public_pem_parse": pem_parse,
        "ingest_total_sign_plus_verify_s": round(sender["seconds"] + server_verify["seconds"], 3),
    }
