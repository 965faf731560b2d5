from __future__ import annotations

import pytest

from tests.e2e.harness import destroy, make_instance
from tests.support.fakepeer import FakePeer


@pytest.fixture
async def union(tmp_path):
    """One running union instance (a separate process), dropped afterwards."""
    inst = await make_instance(tmp_path, "u", "solidaires", "Union syndicale Solidaires")
    inst.start()
    try:
        yield inst
    finally:
        await destroy(inst)


@pytest.fixture
def mastodon():
    """A fake peer speaking Mastodon's wire format."""
    peer = FakePeer().start()
    try:
        yield peer
    finally:
        peer.stop()
