"""The outbox collection (Create and Announce of public content), newest first, paged by id."""
from __future__ import annotations

from actors.instance import Instance
from actors.models import LocalActor
from federation.vocab import ordered_collection, ordered_page
from outbox.models import Activity

PAGE_SIZE = 20


async def outbox_collection(inst: Instance, actor: LocalActor, *, max_id: int | None, page: bool) -> dict:
    cid = inst.urls.outbox(actor.username)
    query = Activity.filter(actor=actor, listed=True, public=True)
    total = await query.count()
    if not page:
        return ordered_collection(cid, total, first=f"{cid}?page=true")
    if max_id is not None:
        query = query.filter(id__lt=max_id)
    rows = await query.order_by("-id").limit(PAGE_SIZE)
    items = [{k: v for k, v in row.payload.items() if k != "@context"} for row in rows]
    next_ = f"{cid}?page=true&max_id={rows[-1].id}" if len(rows) == PAGE_SIZE else None
    this = f"{cid}?page=true" + (f"&max_id={max_id}" if max_id is not None else "")
    return {**ordered_page(this, cid, items, next_=next_, prev=None), "totalItems": total}


async def activity_document(ap_id: str) -> dict | None:
    row = await Activity.filter(ap_id=ap_id, public=True).first()
    return row.payload if row else None
