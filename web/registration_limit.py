"""A per-address limit on the public registration form, which needs no account: counted in the
login throttle's table (actors.models.LoginAttempt, web/auth.py `throttled_for`) under its own key
and window. The address is the client's as uvicorn reports it, which is the forwarded one only
from the proxies trusted by UNIONHALL_TRUSTED_PROXIES (unionhall/commands.py `serve`)."""
from __future__ import annotations

import math
from datetime import datetime, timedelta

from starlette.requests import Request

from actors.models import LoginAttempt
from web.auth import throttled_for

LIMIT = 10
WINDOW = timedelta(hours=1)
PREFIX = "register:"
REFUSED = ("Too many registrations from your address: at most {limit} an hour. Try again in {minutes} minute(s), "
           "or write to the organisers.")


def _key(request: Request) -> str | None:
    host = request.client.host if request.client else ""
    return f"{PREFIX}{host[:200]}" if host else None


async def wait_seconds(request: Request, now: datetime) -> int:
    """Seconds until this address may register again (0: now)."""
    key = _key(request)
    return await throttled_for([key], now, limit=LIMIT, window=WINDOW) if key else 0


def refusal(wait: int) -> str:
    return REFUSED.format(limit=LIMIT, minutes=max(1, math.ceil(wait / 60)))


async def count(request: Request, now: datetime) -> None:
    """One more registration from this address (old ones are dropped: the window is all we need)."""
    key = _key(request)
    if key is None:
        return
    await LoginAttempt.filter(key__startswith=PREFIX, at__lte=now - WINDOW).delete()
    await LoginAttempt.create(key=key, at=now)
