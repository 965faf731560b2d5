"""WebFinger, host-meta and NodeInfo, served as Mastodon serves them (interop notes 1.2-1.4)."""
from __future__ import annotations

import json
from urllib.parse import unquote

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from actors.instance import Instance
from actors.local import get_by_username
from actors.models import LocalActor
from content.models import Post
from web.negotiation import JRD, json_error

CORS = {"Access-Control-Allow-Origin": "*"}
JRD_CACHE = {"Cache-Control": "max-age=259200, public", **CORS}


def _inst(request: Request) -> Instance:
    return request.app.state.inst


async def _lookup(inst: Instance, resource: str) -> LocalActor | None:
    urls = inst.urls
    value = unquote(resource).strip()
    if value in (urls.base, urls.base + "/", urls.host, urls.domain, f"acct:{urls.host}@{urls.host}",
                 f"acct:{urls.domain}@{urls.domain}", urls.instance_actor):
        return await LocalActor.filter(kind="instance").first()
    if value.startswith(urls.base + "/actors/"):
        username = value.removeprefix(urls.base + "/actors/")
    elif value.startswith(urls.base + "/@"):
        username = value.removeprefix(urls.base + "/@")
    else:
        if value.lower().startswith("acct:"):
            value = value[5:]
        if "@" not in value:
            return None
        username, _, host = value.lstrip("@").rpartition("@")
        if host.lower() not in (urls.host.lower(), urls.domain.lower()):
            return None
    actor = await get_by_username(username.lower())
    return actor if actor and actor.kind == "union" else None


async def webfinger(request: Request) -> Response:
    inst = _inst(request)
    resource = request.query_params.get("resource", "")
    if not resource:
        return json_error(400, "the resource parameter is required")
    actor = await _lookup(inst, resource)
    if actor is None:
        return Response(status_code=404, headers={"Cache-Control": "max-age=180", **CORS})
    urls = inst.urls
    if actor.kind == "instance":
        return JRD({"subject": f"acct:{actor.username}@{urls.host}", "aliases": [urls.instance_actor],
                    "links": [{"rel": "self", "type": "application/activity+json", "href": urls.instance_actor}]},
                   headers=JRD_CACHE)
    uri, profile = urls.actor(actor.username), urls.profile(actor.username)
    return JRD({
        "subject": f"acct:{actor.username}@{urls.host}",
        "aliases": [profile, uri],
        "links": [
            {"rel": "http://webfinger.net/rel/profile-page", "type": "text/html", "href": profile},
            {"rel": "self", "type": "application/activity+json", "href": uri},
            {"rel": "http://ostatus.org/schema/1.0/subscribe", "template": f"{urls.base}/authorize_interaction?uri={{uri}}"},
        ],
    }, headers=JRD_CACHE)


async def host_meta(request: Request) -> Response:
    template = f"{_inst(request).urls.base}/.well-known/webfinger?resource={{uri}}"
    if request.url.path.endswith(".json") or "json" in request.headers.get("accept", ""):
        return JSONResponse({"links": [{"rel": "lrdd", "template": template}]}, headers=CORS)
    xml = ('<?xml version="1.0" encoding="UTF-8"?>\n<XRD xmlns="http://docs.oasis-open.org/ns/xri/xrd-1.0">\n'
           f'  <Link rel="lrdd" template="{template}"/>\n</XRD>\n')
    return Response(xml, media_type="application/xrd+xml", headers=CORS)


async def nodeinfo_links(request: Request) -> Response:
    base = _inst(request).urls.base
    return JSONResponse({"links": [
        {"rel": "http://nodeinfo.diaspora.software/ns/schema/2.0", "href": f"{base}/nodeinfo/2.0"},
        {"rel": "http://nodeinfo.diaspora.software/ns/schema/2.1", "href": f"{base}/nodeinfo/2.1"},
    ]}, headers=CORS)


async def nodeinfo(request: Request) -> Response:
    version = request.path_params["version"]
    if version not in ("2.0", "2.1"):
        return json_error(404, "NodeInfo 2.0 and 2.1 are served")
    users = await LocalActor.filter(kind="union").count()
    union = await LocalActor.filter(kind="union").first()
    software = {"name": "unionhall", "version": request.app.state.version}
    if version == "2.1":
        software["repository"] = "https://github.com/unionhall/unionhall"
    doc = {
        "version": version,
        "software": software,
        "protocols": ["activitypub"],
        "services": {"outbound": [], "inbound": []},
        "usage": {"users": {"total": users, "activeMonth": users, "activeHalfyear": users},
                  "localPosts": await Post.filter(local=True).count()},
        "openRegistrations": False,
        "metadata": {"nodeName": union.name if union else "Union Hall",
                     "nodeDescription": union.summary if union else ""},
    }
    profile = f"http://nodeinfo.diaspora.software/ns/schema/{version}#"
    return Response(json.dumps(doc), media_type=f'application/json; profile="{profile}"', headers=CORS)


routes = [
    Route("/.well-known/webfinger", webfinger),
    Route("/.well-known/host-meta", host_meta),
    Route("/.well-known/host-meta.json", host_meta),
    Route("/.well-known/nodeinfo", nodeinfo_links),
    Route("/nodeinfo/{version}", nodeinfo),
]
