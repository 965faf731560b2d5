"""`unionhall app create` as an operator uses it for a bot: the printed token works against the
running instance, only hashes are stored, and bad input exits 2 and stores nothing."""
from __future__ import annotations

import hashlib

import httpx
import pytest

from tests.e2e.harness import destroy, make_instance


@pytest.fixture
async def inst(tmp_path):
    instance = await make_instance(tmp_path, "x", "sud_rail", "SUD-Rail")
    try:
        yield instance
    finally:
        await destroy(instance)


def printed(stdout: str) -> dict[str, str]:
    return dict(line.split(": ", 1) for line in stdout.splitlines() if ": " in line)


async def test_create_prints_credentials_that_work(inst):
    out = printed(inst.cli("app", "create", "Press bot", "--scopes", "read write follow").stdout)
    assert out["scopes"] == "read write follow"
    [(name, scopes, uris, secret_hash, owner)] = await inst.sql(
        "SELECT a.name, a.scopes, a.redirect_uris, a.secret_hash, l.username FROM actors_oauth_app a "
        "JOIN actors_login l ON l.id = a.owner_id WHERE a.client_id = $1", out["client_id"])
    assert (name, scopes, owner) == ("Press bot", "read write follow", "admin")
    assert "urn:ietf:wg:oauth:2.0:oob" in str(uris)
    assert secret_hash == hashlib.sha256(out["client_secret"].encode()).hexdigest()
    [(token_hash, token_scopes)] = await inst.sql("SELECT token_hash, scopes FROM actors_oauth_token")
    assert token_hash == hashlib.sha256(out["access_token"].encode()).hexdigest() and token_scopes == scopes

    inst.start()
    response = httpx.get(f"{inst.url}/api/v1/apps/verify_credentials",
                         headers={"Authorization": f"Bearer {out['access_token']}"}, timeout=10)
    assert response.status_code == 200 and response.json()["name"] == "Press bot"
    assert response.json()["scopes"] == ["read", "write", "follow"]


@pytest.mark.parametrize("args, reason", [
    (("app", "create", "Bot", "--scopes", "read admin"), "unknown scope: admin"),
    (("app", "create", "Bot", "--login", "nobody"), "no login 'nobody'"),
    (("app", "create", "  "), "client_name is required"),
    (("app", "create", "Bot", "--redirect-uri", "javascript:alert(1)"), "not allowed"),
])
async def test_bad_input_exits_2_and_stores_nothing(inst, args, reason):
    result = inst.cli(*args, check=False)
    assert result.returncode == 2 and reason in result.stderr
    assert await inst.sql("SELECT count(*) FROM actors_oauth_app") == [(0,)]
    assert await inst.sql("SELECT count(*) FROM actors_oauth_token") == [(0,)]
