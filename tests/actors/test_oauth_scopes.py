"""Scopes as Mastodon reads them: a top-level scope covers its granular ones, the legacy
`follow` covers follow/block/mute writes and reads, and nothing covers more than it says."""
from __future__ import annotations

import pytest

from actors.oauth import OAuthError, allows, check_redirect_uris, parse_scopes, subset


def test_top_level_and_granular_scopes():
    assert allows(["read"], "read:statuses")
    assert allows(["write:statuses"], "write:statuses")
    assert not allows(["read"], "write:statuses")
    assert not allows(["write:media"], "write:statuses")
    assert not allows(["read:accounts"], "read:statuses")


def test_legacy_follow_scope():
    assert allows(["follow"], "write:follows") and allows(["follow"], "read:follows")
    assert not allows(["follow"], "write:statuses")
    assert allows(["write"], "write:follows")


def test_parse_scopes_accepts_what_clients_send_and_refuses_unknown_ones():
    assert parse_scopes("read write follow push") == ["read", "write", "follow", "push"]
    assert parse_scopes("read+write:statuses") == ["read", "write:statuses"]
    assert parse_scopes(None) == ["read"]
    assert parse_scopes(["read", "read"]) == ["read"]
    with pytest.raises(OAuthError) as caught:
        parse_scopes("read admin:write")
    assert caught.value.error == "invalid_scope" and "admin:write" in caught.value.description


def test_a_request_may_not_ask_for_more_than_the_app_registered():
    assert subset(["read:statuses", "write:media"], ["read", "write"])
    assert not subset(["write"], ["read", "write:statuses"])


def test_redirect_uris_allow_custom_schemes_and_oob_but_not_script_schemes():
    assert check_redirect_uris("oauth2redirect://com.keylesspalace.tusky/ urn:ietf:wg:oauth:2.0:oob") == [
        "oauth2redirect://com.keylesspalace.tusky/", "urn:ietf:wg:oauth:2.0:oob"]
    assert check_redirect_uris(["https://elk.zone/callback"]) == ["https://elk.zone/callback"]
    for bad in ("javascript:alert(1)", "data:text/html,x", "https://a.example/cb#frag", "relative/path", ""):
        with pytest.raises(OAuthError):
            check_redirect_uris(bad)
