"""Streaming against a running instance: server-sent events (what Mastodon.py uses) and the
WebSocket (what Elk and Phanpy use) carry new statuses and notifications as they happen."""
from __future__ import annotations

import asyncio
import json

import httpx
import pytest
import websockets

from tests.e2e.harness import eventually

pytestmark = pytest.mark.timeout(120)


def token_of(union) -> str:
    out = union.cli("app", "create", "streaming test", "--scopes", "read write").stdout
    return next(line.split(": ", 1)[1] for line in out.splitlines() if line.startswith("access_token: "))


async def test_user_stream_over_server_sent_events(union, mastodon):
    token = token_of(union)
    headers = {"Authorization": f"Bearer {token}"}
    events: list[tuple[str, dict]] = []

    async def listen(client: httpx.AsyncClient) -> None:
        async with client.stream("GET", "/api/v1/streaming/user", headers=headers) as response:
            assert response.status_code == 200 and response.headers["content-type"].startswith("text/event-stream")
            kind = ""
            async for line in response.aiter_lines():
                if line.startswith("event: "):
                    kind = line[7:]
                elif line.startswith("data: "):
                    events.append((kind, json.loads(line[6:])))

    async with httpx.AsyncClient(base_url=union.url, timeout=60) as client:
        task = asyncio.create_task(listen(client))
        try:
            await asyncio.sleep(0.5)
            posted = await client.post("/api/v1/statuses", headers=headers,
                                       json={"status": "Strike fund: thank you all", "language": "en"})
            assert posted.status_code == 200, posted.text
            bob = mastodon.add_actor("bob")
            follow = {"@context": "https://www.w3.org/ns/activitystreams", "id": f"{mastodon.url}/follows/1",
                      "type": "Follow", "actor": bob.uri, "object": union.actor_uri}
            assert (await mastodon.deliver(bob, f"{union.actor_uri}/inbox", follow)).status_code == 202

            async def both():
                kinds = {(k, p.get("id") if k == "update" else p.get("type")) for k, p in events}
                return {("update", posted.json()["id"]), ("notification", "follow")} <= kinds
            await eventually(both, timeout=30, what="the update and the follow notification on the stream")
        finally:
            task.cancel()
    notification = next(p for k, p in events if k == "notification")
    assert notification["account"]["acct"] == f"bob@{mastodon.host}"


async def test_websocket_streams_and_subscribe_messages(union):
    token = token_of(union)
    url = union.url.replace("http://", "ws://") + f"/api/v1/streaming?stream=public:local&access_token={token}"
    async with websockets.connect(url, open_timeout=10) as ws:
        await ws.send(json.dumps({"type": "subscribe", "stream": "hashtag", "tag": "RailStrike"}))
        await ws.send("not json")
        assert json.loads(await asyncio.wait_for(ws.recv(), 10)) == {"error": "messages are JSON objects",
                                                                     "status": 400}
        await asyncio.sleep(0.5)
        async with httpx.AsyncClient(base_url=union.url, timeout=30) as client:
            posted = await client.post("/api/v1/statuses", headers={"Authorization": f"Bearer {token}"},
                                       data={"status": "All out for the #RailStrike", "language": "en"})
        assert posted.status_code == 200, posted.text
        seen = set()
        async with asyncio.timeout(30):
            while len(seen) < 2:
                message = json.loads(await ws.recv())
                assert message["event"] == "update"
                assert json.loads(message["payload"])["id"] == posted.json()["id"]
                seen.add(tuple(message["stream"]))
        assert seen == {("public:local",), ("hashtag", "railstrike")}

        await ws.send(json.dumps({"type": "unsubscribe", "stream": "hashtag", "tag": "RailStrike"}))
        await asyncio.sleep(0.5)
        async with httpx.AsyncClient(base_url=union.url, timeout=30) as client:
            again = await client.post("/api/v1/statuses", headers={"Authorization": f"Bearer {token}"},
                                      data={"status": "Still out for the #RailStrike", "language": "en"})
        message = json.loads(await asyncio.wait_for(ws.recv(), 30))
        assert message["stream"] == ["public:local"] and json.loads(message["payload"])["id"] == again.json()["id"]
        with pytest.raises(TimeoutError):  # nothing more: the hashtag stream was left
            await asyncio.wait_for(ws.recv(), 5)

    with pytest.raises(websockets.exceptions.InvalidStatus):
        async with websockets.connect(union.url.replace("http://", "ws://") + "/api/v1/streaming?stream=user",
                                      open_timeout=10):
            pass
