"""Admin: the union's public profile (display name, who we are, sector, country, links, manual
approval of followers). Checking, saving and federating the change is outbox.profile's job;
this module only turns the form into that call and shows the result."""
from __future__ import annotations

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from actors.profile import country_name
from outbox import profile as out_profile
from outbox.profile import LINKS_MAX, ProfileError, ProfileInput
from web.auth import render_form, require_login


def _page(request: Request, typed: ProfileInput, *, status: int = 200, errors: list[str] | None = None,
          message: str = "") -> HTMLResponse:
    login = request.state.login
    inst = request.app.state.inst
    # Always LINKS_MAX rows, so one more link can be added without JavaScript.
    rows = (typed.links + [("", "")] * LINKS_MAX)[:LINKS_MAX]
    return render_form(request, "admin_profile.html", status=status, union=login.actor, login=login, typed=typed,
                       link_rows=rows, errors=errors or [], message=message, forced=inst.approve_followers,
                       country_shown=country_name(typed.country.strip()) if not errors else "",
                       limits=out_profile)


async def _typed(request: Request) -> ProfileInput:
    form = await request.form()

    def text(name: str) -> str:
        value = form.get(name)
        return value if isinstance(value, str) else ""

    links = [(text(f"link_label{n}"), text(f"link_url{n}")) for n in range(LINKS_MAX)]
    while links and links[-1] == ("", ""):
        links.pop()
    return ProfileInput(name=text("name"), summary=text("summary"), sector=text("sector"), country=text("country"),
                        links=links, approve_followers=text("approve_followers") == "1")


@require_login
async def profile_page(request: Request) -> Response:
    inst = request.app.state.inst
    union = request.state.login.actor
    if request.method == "GET":
        saved = request.query_params.get("done") == "saved"
        return _page(request, out_profile.typed_from(union), message="Profile saved; followers are told." if saved else "")
    typed = await _typed(request)
    if inst.approve_followers:
        # The server setting holds every follower: the (disabled) box sends nothing, so keep
        # the union's own choice for the day the setting is lifted.
        typed.approve_followers = union.manually_approves_followers
    try:
        checked = out_profile.check(inst, typed)
    except ProfileError as exc:
        return _page(request, typed, status=400, errors=exc.reasons)
    await out_profile.update_profile(inst, union, checked)
    return RedirectResponse("/admin/profile?done=saved", status_code=303)


routes = [
    Route("/admin/profile", profile_page, methods=["GET", "POST"]),
]
