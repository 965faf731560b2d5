"""What a remote actor document must be before we store it (and fan out to it)."""
from __future__ import annotations

import pytest

from actors.remote import ActorFetchError, validate_actor

URI = "https://peer.example/users/rosa"


def actor(**overrides) -> dict:
    doc = {
        "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
        "id": URI, "type": "Person", "preferredUsername": "rosa", "inbox": f"{URI}/inbox",
        "endpoints": {"sharedInbox": "https://peer.example/inbox"},
        "publicKey": {"id": f"{URI}#main-key", "owner": URI, "publicKeyPem": "-----BEGIN PUBLIC KEY-----\n..."},
    }
    doc.update(overrides)
    return doc


def test_a_mastodon_shaped_actor_is_kept_with_its_shared_inbox():
    fields = validate_actor(actor(), URI)
    assert fields["inbox"] == f"{URI}/inbox" and fields["shared_inbox"] == "https://peer.example/inbox"
    assert fields["domain"] == "peer.example" and fields["key_id"] == f"{URI}#main-key"


@pytest.mark.parametrize("shared", ["https://evil.example:99999/inbox", "https://[broken/inbox", "ftp://x/inbox",
                                    "https:///inbox", "https://peer.example/" + "x" * 3000, 42])
def test_an_unusable_shared_inbox_is_dropped_not_trusted(shared):
    fields = validate_actor(actor(endpoints={"sharedInbox": shared}), URI)
    assert fields["shared_inbox"] == ""  # their personal inbox is used instead


@pytest.mark.parametrize("inbox", ["https://evil.example:99999/inbox", "javascript:alert(1)", "", None,
                                   "https://peer.example/" + "x" * 3000])
def test_an_actor_without_a_usable_inbox_is_refused(inbox):
    with pytest.raises(ActorFetchError):
        validate_actor(actor(inbox=inbox), URI)


@pytest.mark.parametrize("key", [
    {"id": "https://other.example/users/rosa#main-key", "owner": URI, "publicKeyPem": "pem"},
    {"id": f"{URI}#main-key", "owner": "https://peer.example/users/someone-else", "publicKeyPem": "pem"},
    {"id": f"{URI}#" + "k" * 3000, "owner": URI, "publicKeyPem": "pem"},
    {"id": f"{URI}#main-key", "owner": URI, "publicKeyPem": "x" * 20_000},
])
def test_a_key_not_owned_or_oversized_is_refused(key):
    with pytest.raises(ActorFetchError):
        validate_actor(actor(publicKey=key), URI)


def test_overlong_username_and_non_actor_types_are_refused():
    with pytest.raises(ActorFetchError):
        validate_actor(actor(preferredUsername="r" * 300), URI)
    with pytest.raises(ActorFetchError):
        validate_actor(actor(type="Note"), URI)
