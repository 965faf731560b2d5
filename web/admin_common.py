"""Small pieces shared by the admin pages (web/admin.py, web/compose_form.py, web/timeline.py…):
the admin page renderer, redirects, and looking up one of our own statements.
"""
from __future__ import annotations

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse

from content.models import Post
from web.auth import render_form
from web.bidi import direction  # noqa: F401 (one definition for public and admin pages: web/bidi.py)

# Offered in the language field (any other BCP-47 code can be typed).
LANGUAGES = [("en", "English"), ("fr", "Français"), ("es", "Español"), ("de", "Deutsch"), ("it", "Italiano"),
             ("pt", "Português"), ("nl", "Nederlands"), ("ca", "Català"), ("eu", "Euskara"), ("pl", "Polski"),
             ("sv", "Svenska"), ("el", "Ελληνικά"), ("tr", "Türkçe"), ("ar", "العربية")]


def page(request: Request, name: str, status: int = 200, **context) -> HTMLResponse:
    """An admin page: the logged-in union and the language list are always in the context."""
    login = request.state.login
    return render_form(request, name, status=status, union=login.actor, login=login, languages=LANGUAGES,
                       **context)


def see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def sid(inst, ap_id: str) -> str:
    """The statement id in our statement URL (what the admin routes take)."""
    return ap_id[len(inst.urls.statement("")):]


def languages(post: Post) -> list[tuple[str, str]]:
    """The texts in the author's order, primary language first."""
    return list(post.content_in_order().items())


async def own(request: Request) -> Post | None:
    """The statement named by the `sid` path parameter, if the logged-in union wrote it."""
    inst = request.app.state.inst
    return await Post.filter(ap_id=inst.urls.statement(request.path_params["sid"]), local=True,
                             author_uri=inst.uri_of(request.state.login.actor)).first()


def not_found() -> HTMLResponse:
    return HTMLResponse("<!doctype html><title>Not found</title><p>No such statement.</p>", status_code=404)
