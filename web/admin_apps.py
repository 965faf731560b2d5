"""Development settings (behind `require_login`), as Mastodon has them: register an application
for a script or a bot and get its access token at once, without the OAuth dance. The secrets
are shown once, on the answer to the form; only their hashes are kept (actors/oauth.py)."""
from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from tortoise.transactions import in_transaction

from actors import oauth
from actors.models import OAuthApp, OAuthToken
from web.admin_common import page, see_other
from web.auth import require_login

# The scopes offered as checkboxes (granular ones can be asked for with the CLI or the API).
OFFERED = ("read", "write", "follow", "push")
DEFAULT_SCOPES = ("read", "write", "follow")


def _ours(request: Request):
    """Apps made on this page by any staff login of the same union (several logins act for it)."""
    return OAuthApp.filter(owner__actor__id=request.state.login.actor_id)


def _union_tokens(request: Request):
    """Live tokens acting for this union, whichever of its staff logins authorized them."""
    return OAuthToken.filter(revoked_at=None, login__actor__id=request.state.login.actor_id)


async def _with_access(request: Request) -> list[dict]:
    """Every app holding live tokens for the union, including those that registered themselves
    over OAuth (Elk, Phanpy, Tusky: no owner), with the last time any of their tokens was used."""
    by_app: dict[int, dict] = {}
    for row in await _union_tokens(request).select_related("app").order_by("id"):
        entry = by_app.setdefault(row.app_id, {"app": row.app, "last_used": None, "tokens": 0})
        entry["tokens"] += 1
        if row.last_used_at and (entry["last_used"] is None or row.last_used_at > entry["last_used"]):
            entry["last_used"] = row.last_used_at
    return sorted(by_app.values(), key=lambda e: (e["app"].name.lower(), e["app"].id))


async def _apps_page(request: Request, *, status: int = 200, error: str = "", message: str = "",
                     typed: dict | None = None, made: dict | None = None) -> Response:
    apps = await _ours(request).order_by("-created_at", "-id")
    active = {app.id: await OAuthToken.filter(app=app, revoked_at=None).count() for app in apps}
    with_access = await _with_access(request)
    typed = typed or {"name": "", "scopes": list(DEFAULT_SCOPES), "redirect_uri": oauth.OOB}
    response = page(request, "admin_apps.html", status=status, error=error, message=message, apps=apps,
                    active=active, with_access=with_access, typed=typed, offered=OFFERED, made=made)
    # The answer that shows the secrets must not stay in a cache.
    response.headers["Cache-Control"] = "no-store"
    return response


@require_login
async def apps_page(request: Request) -> Response:
    if request.method == "GET":
        done = {"deleted": "The application and all its tokens are gone.",
                "revoked": "The application's access is revoked."}.get(request.query_params.get("done", ""), "")
        return await _apps_page(request, message=done)
    form = await request.form()
    typed = {"name": str(form.get("name") or "").strip(),
             "scopes": [s for s in form.getlist("scopes") if s in OFFERED],
             "redirect_uri": str(form.get("redirect_uri") or "").strip() or oauth.OOB}
    if not typed["scopes"]:
        return await _apps_page(request, status=422, typed=typed, error="Choose at least one scope.")
    inst = request.app.state.inst
    login = request.state.login
    try:
        async with in_transaction():
            new = await oauth.register_app(name=typed["name"], redirect_uris=typed["redirect_uri"],
                                           scopes=typed["scopes"], owner=login, now=inst.now())
            issued = await oauth.issue_for_owner(new.app, login, inst.now())
    except oauth.OAuthError as exc:
        return await _apps_page(request, status=422, typed=typed, error=f"Nothing was saved: {exc.description}.")
    made = {"app": new.app, "client_secret": new.client_secret, "access_token": issued.access_token}
    return await _apps_page(request, message=f"Application “{new.app.name}” created.", made=made)


@require_login
async def app_delete(request: Request) -> Response:
    app = await _ours(request).filter(id=request.path_params["aid"]).first()
    if app is None:
        return await _apps_page(request, status=404, error="No such application.")
    async with in_transaction():
        # Revoked first, so a request already holding the token row is refused from now on.
        await OAuthToken.filter(app=app, revoked_at=None).update(revoked_at=request.app.state.inst.now())
        await app.delete()
    return see_other("/admin/apps?done=deleted")


@require_login
async def app_revoke(request: Request) -> Response:
    """Ends an app's access for this union; the app row stays (others may use it, and a
    third-party app registered itself: it is not ours to delete)."""
    ids = await _union_tokens(request).filter(app_id=request.path_params["aid"]).values_list("id", flat=True)
    if not ids:
        return await _apps_page(request, status=404, error="This application has no access to revoke.")
    await OAuthToken.filter(id__in=list(ids), revoked_at=None).update(revoked_at=request.app.state.inst.now())
    return see_other("/admin/apps?done=revoked")


routes = [
    Route("/admin/apps", apps_page, methods=["GET", "POST"]),
    Route("/admin/apps/{aid:int}/delete", app_delete, methods=["POST"]),
    Route("/admin/apps/{aid:int}/revoke", app_revoke, methods=["POST"]),
]
