"""The Instance entity (v1 and v2) and the small public endpoints clients read at startup.

Version and `api_versions` follow the interop notes (6.1, 6.3): a Mastodon-compatible version
string, and `{"mastodon": 1}` because grouped notifications are not served. The streaming URL is
advertised only when the app serves the WebSocket: Elk and Phanpy open one whenever it is."""
from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute

from actors.instance import Instance
from actors.local import get_union
from actors.models import LocalActor, RemoteActor
from content import media
from content.models import Post
from outbox.profile import summary_text
from outbox.statements import MAX_ATTACHMENTS
from web.api.common import api
from web.api.entities import DEFAULT_HEADER, local_account
from web.api.statuses import MAX_CHARACTERS  # what POST /api/v1/statuses accepts

CHARACTERS_PER_URL = 23  # Mastodon counts every link as this many characters
STREAMING_PATH = "/api/v1/streaming"
IMAGE_TYPES = [mime for mime, _ in media.IMAGE_FORMATS.values()]
SUPPORTED_TYPES = IMAGE_TYPES + sorted(media.DOCUMENT_TYPES)


def _configuration() -> dict:
    return {
        "accounts": {"max_featured_tags": 0, "max_pinned_statuses": 0},
        "statuses": {"max_characters": MAX_CHARACTERS, "max_media_attachments": MAX_ATTACHMENTS,
                     "characters_reserved_per_url": CHARACTERS_PER_URL},
        "media_attachments": {"supported_mime_types": SUPPORTED_TYPES,
                              "description_limit": media.MAX_DESCRIPTION,
                              "image_size_limit": media.MAX_IMAGE_BYTES, "image_matrix_limit": media.MAX_PIXELS,
                              # No video: the limits say so to clients that read them.
                              "video_size_limit": 0, "video_frame_rate_limit": 0, "video_matrix_limit": 0},
        "polls": {"max_options": 0, "max_characters_per_option": 0, "min_expiration": 300,
                  "max_expiration": 2629746},
    }


def streaming_url(request: Request) -> str | None:
    """wss://host (clients add /api/v1/streaming), or None when this app has no WebSocket there."""
    served = any(isinstance(r, WebSocketRoute) and r.path == STREAMING_PATH for r in request.app.routes)
    if not served:
        return None
    scheme, _, rest = request.app.state.inst.urls.base.partition("://")
    return f"{'wss' if scheme == 'https' else 'ws'}://{rest}"


async def _languages() -> list[str]:
    """The languages the union writes in, from its latest statements (English until it wrote any)."""
    recent = await Post.filter(local=True).order_by("-published").limit(200).values_list("language", flat=True)
    found = list(dict.fromkeys(lang for lang in recent if lang))
    return found or ["en"]


async def _facts(request: Request) -> dict:
    inst: Instance = request.app.state.inst
    union = await get_union()
    return {
        "inst": inst,
        "version": f"4.3.0 (compatible; Union Hall {request.app.state.version})",
        "title": union.name if union else "Union Hall",
        "description": summary_text(union.summary) if union else "",
        "account": await local_account(inst, union) if union else None,
        "languages": await _languages(),
        "users": await LocalActor.filter(kind="union").count(),
    }


@api(None, user=False)
async def instance_v2(request: Request) -> Response:
    f = await _facts(request)
    inst: Instance = f["inst"]
    configuration = _configuration()
    stream = streaming_url(request)
    configuration["urls"] = {"streaming": stream} if stream else {}
    configuration["vapid"] = {"public_key": ""}
    configuration["translation"] = {"enabled": False}
    return JSONResponse({
        "domain": inst.urls.host, "title": f["title"], "version": f["version"],
        "source_url": "https://github.com/unionhall/unionhall", "description": f["description"],
        "usage": {"users": {"active_month": f["users"]}},
        "thumbnail": {"url": inst.urls.base + DEFAULT_HEADER, "blurhash": None, "versions": {}},
        "icon": [], "languages": f["languages"], "configuration": configuration,
        "registrations": {"enabled": False, "approval_required": False, "message": None, "url": None},
        "api_versions": {"mastodon": 1},
        "contact": {"email": "", "account": f["account"]},
        "rules": [],
    })


@api(None, user=False)
async def instance_v1(request: Request) -> Response:
    f = await _facts(request)
    inst: Instance = f["inst"]
    domains = await RemoteActor.filter(deleted_at=None).distinct().values_list("domain", flat=True)
    short = f["description"].split("\n\n", 1)[0]
    stream = streaming_url(request)
    return JSONResponse({
        "uri": inst.urls.host, "title": f["title"], "short_description": short,
        "description": f["description"], "email": "", "version": f["version"],
        "urls": {"streaming_api": stream} if stream else {}, "thumbnail": inst.urls.base + DEFAULT_HEADER,
        "languages": f["languages"],
        "stats": {"user_count": f["users"], "status_count": await Post.filter(local=True).count(),
                  "domain_count": len(domains)},
        "registrations": False, "approval_required": False, "invites_enabled": False,
        "configuration": _configuration(), "contact_account": f["account"], "rules": [],
    })


@api(None, user=False)
async def peers(request: Request) -> Response:
    """The domains we know actors of (Mastodon lists the domains it has seen)."""
    domains = await RemoteActor.filter(deleted_at=None).distinct().order_by("domain").values_list("domain", flat=True)
    return JSONResponse(list(domains))


@api(None, user=False)
async def empty_list(request: Request) -> Response:
    return JSONResponse([])


routes = [
    Route("/api/v2/instance", instance_v2),
    Route("/api/v1/instance", instance_v1),
    Route("/api/v1/instance/peers", peers),
    Route("/api/v1/instance/activity", empty_list),
    Route("/api/v1/instance/rules", empty_list),
    Route("/api/v1/instance/domain_blocks", empty_list),
    Route("/api/v1/custom_emojis", empty_list),
]
