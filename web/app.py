"""The Starlette application: routes of every face, security headers, no protocol logic."""
from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.types import ASGIApp, Receive, Scope, Send

from actors.instance import Instance
from web import (activitypub, admin, admin_appeals, admin_profile, auth, compose_form, feeds, interact, library,
                 media, pages, timeline, wellknown)
from web import admin_apps, admin_meetings, admin_registrations, calendars, meetings
from web.api import cors
from web.api import routes as api

CSP = "default-src 'none'; style-src 'self' 'unsafe-inline'; img-src 'self' https: data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"


class SecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def send_with_headers(message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {k.lower() for k, _ in headers}
                extra = {b"content-security-policy": CSP.encode(), b"x-content-type-options": b"nosniff",
                         b"referrer-policy": b"same-origin"}
                headers += [(k, v) for k, v in extra.items() if k not in names]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def create_app(inst: Instance, *, version: str, wake_inbox: Callable[[], None] = lambda: None,
               lifespan: Callable[[Starlette], AbstractAsyncContextManager] | None = None) -> Starlette:
    # calendars first: "/meetings/{mid}.ics" must win over the Event's "/meetings/{mid}".
    app = Starlette(routes=calendars.routes + wellknown.routes + activitypub.routes + pages.routes + feeds.routes + interact.routes + auth.routes + admin.routes + admin_appeals.routes + admin_profile.routes
                    + compose_form.routes + media.routes + library.routes + timeline.routes
                    + meetings.routes + admin_meetings.routes + admin_registrations.routes + admin_apps.routes + api.routes,
                    middleware=[Middleware(SecurityHeaders), Middleware(cors.Cors),
                                Middleware(auth.Sessions, https_only=inst.urls.base.startswith("https:"))],
                    lifespan=lifespan)
    app.state.inst = inst
    app.state.version = version
    app.state.pages = pages
    app.state.wake_inbox = wake_inbox
    return app
