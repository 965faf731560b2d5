"""Admin pages (behind `require_login`). For now the home page; the composer and the rest follow."""
from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from web.auth import render_form, require_login


@require_login
async def home(request: Request) -> Response:
    login = request.state.login
    return render_form(request, "admin_home.html", union=login.actor, login=login)


routes = [
    Route("/admin", home),
]
