"""Text direction for the HTML `dir` attribute of a text in a given language.

On its own, importing nothing of ours: public pages (web/appeal_view.py, imported by web/pages.py)
and admin pages (web/admin_common.py, which imports web.auth -> web.pages) both use it, and
neither may import the other without a cycle.
"""
from __future__ import annotations

# Languages written right to left (their BCP-47 primary subtag).
RTL = frozenset({"ar", "he", "fa", "ur"})


def direction(code: str) -> str:
    return "rtl" if code.split("-")[0].lower() in RTL else "ltr"
