"""Content negotiation that honours q-values: AP JSON whenever an AP type is acceptable."""
from __future__ import annotations

import json

from starlette.responses import Response

AP_TYPE = "application/activity+json"


def _ranges(accept: str) -> list[tuple[str, dict[str, str], float]]:
    out = []
    for part in accept.split(","):
        pieces = [p.strip() for p in part.split(";")]
        if not pieces[0]:
            continue
        params, q = {}, 1.0
        for p in pieces[1:]:
            if "=" in p:
                k, v = p.split("=", 1)
                k, v = k.strip().lower(), v.strip().strip('"')
                if k == "q":
                    try:
                        q = float(v)
                    except ValueError:
                        q = 0.0
                else:
                    params[k] = v
        out.append((pieces[0].lower(), params, q))
    return out


def wants_activity_json(accept: str | None) -> bool:
    """True when an AP media type is acceptable with q > 0 (a bare */* does not count)."""
    for media, params, q in _ranges(accept or ""):
        if q <= 0:
            continue
        if media == AP_TYPE or media == "application/ld+json":
            return True
    return False


class ActivityJSON(Response):
    media_type = AP_TYPE

    def render(self, content) -> bytes:
        return json.dumps(content, ensure_ascii=False, separators=(",", ":")).encode()


def ap_response(doc: dict, status: int = 200, *, cache: str = "max-age=60, public") -> ActivityJSON:
    return ActivityJSON(doc, status_code=status, headers={"Cache-Control": cache, "Vary": "Accept"})


class JRD(ActivityJSON):
    media_type = "application/jrd+json"


def json_error(status: int, reason: str) -> Response:
    return Response(json.dumps({"error": reason}), status_code=status, media_type="application/json")
