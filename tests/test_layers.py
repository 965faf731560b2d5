"""DESIGN.md's one import direction, checked on the source: web -> outbox, inbox -> content,
actors -> federation. Only the lower layers are checked here (content and actors are peers,
federation imports nothing of ours); an import against the arrow fails with file and line."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
OURS = {"unionhall", "web", "outbox", "inbox", "content", "actors", "federation"}
FORBIDDEN = {
    "content": {"unionhall", "web", "outbox", "inbox", "actors"},
    "actors": {"unionhall", "web", "outbox", "inbox", "content"},
    "federation": OURS - {"federation"},
}


def imported_packages(path: Path) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name.split(".")[0]) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module.split(".")[0]))
    return found


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_lower_layers_do_not_import_against_the_arrow(package):
    wrong = [f"{path.relative_to(ROOT)}:{line} imports {name}"
             for path in sorted((ROOT / package).rglob("*.py"))
             for line, name in imported_packages(path) if name in FORBIDDEN[package]]
    assert not wrong, "\n".join(wrong)
