"""CORS as Mastodon answers it: browser clients (Elk, Phanpy) on other origins call the API
with a bearer token, never cookies, so any origin may, and `Link` (pagination) is exposed."""
from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

EXPOSE = b"Link, X-RateLimit-Reset, X-RateLimit-Limit, X-RateLimit-Remaining, X-Request-Id"
_METHODS = {
    "/api/": b"GET, POST, PUT, PATCH, DELETE, OPTIONS",
    "/oauth/token": b"POST, OPTIONS",
    "/oauth/revoke": b"POST, OPTIONS",
    "/.well-known/": b"GET, HEAD, OPTIONS",
    "/nodeinfo/": b"GET, HEAD, OPTIONS",
}


def _methods(path: str) -> bytes | None:
    for prefix, methods in _METHODS.items():
        if path == prefix or path.startswith(prefix) or (prefix.endswith("/") and path == prefix[:-1]):
            return methods
    return None


class Cors:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        methods = _methods(scope["path"])
        if methods is None:
            return await self.app(scope, receive, send)
        headers = dict(scope["headers"])
        if scope["method"] == "OPTIONS" and b"access-control-request-method" in headers:
            allow = headers.get(b"access-control-request-headers", b"Authorization, Content-Type")
            await send({"type": "http.response.start", "status": 204, "headers": [
                (b"access-control-allow-origin", b"*"), (b"access-control-allow-methods", methods),
                (b"access-control-allow-headers", allow[:1000]), (b"access-control-max-age", b"86400"),
                (b"vary", b"Access-Control-Request-Headers")]})
            await send({"type": "http.response.body", "body": b""})
            return

        async def send_with_cors(message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {k.lower() for k, _ in headers}
                extra = [(k, v) for k, v in ((b"access-control-allow-origin", b"*"),
                                             (b"access-control-expose-headers", EXPOSE)) if k not in present]
                message = {**message, "headers": headers + extra}
            await send(message)

        await self.app(scope, receive, send_with_cors)
