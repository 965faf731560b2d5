"""Mastodon API tests in-process: the `site` app, a staff login for the union, and tokens of
any scope, made by actors.oauth as the development settings page makes them."""
from __future__ import annotations

import pytest

from actors import oauth
from actors.local import create_login, get_by_username
from tests.web.conftest import admin, remote, site  # noqa: F401  (fixtures)


@pytest.fixture
async def staff(site):
    """The union's staff login (as `admin` in tests/web/conftest.py, without the web session)."""
    client, inst = site
    union = await get_by_username("sud_rail")
    return await create_login(username="staff", password="correct horse battery staple", actor=union, now=inst.now())


@pytest.fixture
def token(site, staff):
    """token("read write") -> the Authorization headers of a fresh token with those scopes."""

    async def make(scopes: str = "read write follow push") -> dict[str, str]:
        client, inst = site
        made = await oauth.register_app(name="tests", redirect_uris=oauth.OOB, scopes=scopes, owner=staff,
                                        now=inst.now())
        issued = await oauth.issue_for_owner(made.app, staff, inst.now())
        return {"Authorization": f"Bearer {issued.access_token}"}

    return make


@pytest.fixture
async def api(site, token):
    """(client, inst, headers) with a read write follow push token acting for the union."""
    client, inst = site
    return client, inst, await token()
