"""The shape the team keeps: helpcenter/ (the core) never imports telegram or handlers, so it
runs and is tested without a bot; ruff's PLC0415 keeps handlers' imports at the top."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_the_core_imports_neither_telegram_nor_handlers() -> None:
    found = {p.name: _imports(p) & {"telegram", "handlers"} for p in sorted((ROOT / "helpcenter").glob("*.py"))}
    assert {name: sorted(bad) for name, bad in found.items() if bad} == {}


def test_the_web_adapter_imports_the_core_only() -> None:
    """web/ (the help center's pages and the Mini App's server) is an adapter like handlers/: it
    uses helpcenter/ and knows nothing of telegram or of the chat's handlers."""
    found = {p.name: _imports(p) & {"telegram", "handlers"} for p in sorted((ROOT / "web").glob("*.py"))}
    assert {name: sorted(bad) for name, bad in found.items() if bad} == {}
