"""The one way anything leaves this instance: the activity row and one delivery per
distinct inbox are written in the caller's transaction, then the worker takes over."""
from __future__ import annotations

import json
import secrets
import time
from collections.abc import Iterable


from actors.instance import Instance
from actors.models import LocalActor
from federation import delivery
from outbox.models import Activity


def new_id() -> str:
    """Short, unique, roughly time-ordered ids for our objects and activities."""
    return f"{int(time.time() * 1000):x}{secrets.token_hex(4)}"


def serialise(doc: dict) -> bytes:
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode()


async def emit(inst: Instance, actor: LocalActor, activity: dict, *, inboxes: Iterable[str],
               listed: bool = False, public: bool = True) -> Activity:
    """Store `activity` (served at its id) and queue it for `inboxes`. Call inside a transaction
    together with the domain change it announces; poke the worker after commit."""
    obj = activity.get("object")
    object_uri = obj if isinstance(obj, str) else (obj or {}).get("id", "") if isinstance(obj, dict) else ""
    row = await Activity.create(
        ap_id=activity["id"], type=activity["type"], actor=actor, object_uri=object_uri or "",
        payload=activity, public=public, listed=listed, created_at=inst.now(),
    )
    targets = [i for i in dict.fromkeys(inboxes) if i and not inst.urls.is_local(i)]
    if targets:
        await delivery.enqueue(activity["id"], serialise(activity), inst.key_id_of(actor), targets, now=inst.now())
    return row
