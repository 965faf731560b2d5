"""Following Link headers as masto.js and Tusky do: the only way they page."""
from __future__ import annotations

import re

import httpx

_LINK = re.compile(r'<([^>]+)>;\s*rel="(\w+)"')


def links(response: httpx.Response) -> dict[str, str]:
    """rel -> URL of the response's Link header ({} when there is none)."""
    return {rel: url for url, rel in _LINK.findall(response.headers.get("link", ""))}


async def walk(client: httpx.AsyncClient, url: str, headers: dict | None = None, *, rel: str = "next",
               pages: int = 100, through_empty: bool = False) -> list[list[dict]]:
    """Every non-empty page reached from `url` by following `rel` until no Link, or an empty page
    (unless `through_empty`: a page cut short by a scan bound may be empty and still link on)."""
    out: list[list[dict]] = []
    for _ in range(pages):
        response = await client.get(url, headers=headers or {})
        assert response.status_code == 200, response.text
        page = response.json()
        if not page and not through_empty:
            break
        if page:
            out.append(page)
        url = links(response).get(rel)
        if url is None:
            break
    else:
        raise AssertionError("paging did not end")
    return out
