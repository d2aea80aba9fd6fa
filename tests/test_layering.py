"""The shape the team keeps, as the packages' docstrings state it: helpcenter/ (the core) never
imports telegram or handlers, so it runs and is tested without a bot; inside each floor a package
imports only the packages before it; a flow never imports another flow (they meet in
handlers/base/flow.py's registries). ruff's PLC0415 keeps handlers' imports at the top."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Each floor's layers, lowest first: a module may import its own layer and the ones before it.
CORE = ("knowledge", "understanding", "answers", "core", "storage", "desk", "reports")
ADAPTERS = ("base", "answers", "flows", "support", "runtime", "app", "offline")


def _imports(path: Path) -> set[str]:
    """The absolute modules a file imports (relative imports resolved against its package)."""
    package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{parent}.{base}" if base else parent
            names |= {f"{base}.{a.name}" for a in node.names} | {base}
    return names


def _layer(module: str, floor: str, layers: tuple[str, ...]) -> int | None:
    parts = module.split(".")
    if parts[0] != floor or len(parts) < 2 or parts[1] not in layers:
        return None
    return layers.index(parts[1])


def _modules(floor: str) -> list[Path]:
    return sorted(p for p in (ROOT / floor).rglob("*.py"))


def _upward(floor: str, layers: tuple[str, ...]) -> list[str]:
    bad = []
    for path in _modules(floor):
        own = _layer(".".join(path.relative_to(ROOT).with_suffix("").parts), floor, layers)
        if own is None:
            continue
        for module in _imports(path):
            other = _layer(module, floor, layers)
            if other is not None and other > own:
                bad.append(f"{path.relative_to(ROOT)} imports {module}")
    return sorted(set(bad))


def test_the_core_imports_neither_telegram_nor_handlers() -> None:
    found = {str(p.relative_to(ROOT)): {m.split(".")[0] for m in _imports(p)} & {"telegram", "handlers"}
             for p in _modules("helpcenter")}
    assert {name: sorted(bad) for name, bad in found.items() if bad} == {}


def test_every_module_sits_in_a_named_layer() -> None:
    for floor, layers in (("helpcenter", CORE), ("handlers", ADAPTERS)):
        loose = [p.name for p in (ROOT / floor).glob("*.py")
                 if p.stem != "__init__" and p.stem not in layers]
        assert loose == [], floor
        assert {p.name for p in (ROOT / floor).iterdir() if p.is_dir() and p.name != "__pycache__"} <= set(layers)


def test_core_packages_import_only_the_layers_before_them() -> None:
    assert _upward("helpcenter", CORE) == []


def test_handler_packages_import_only_the_layers_before_them() -> None:
    assert _upward("handlers", ADAPTERS) == []


def test_flows_do_not_import_one_another() -> None:
    bad = []
    for path in _modules("handlers/flows"):
        for module in _imports(path):
            if module.startswith("handlers.flows.") and module.split(".")[2] != path.stem:
                bad.append(f"{path.name} imports {module}")
    assert bad == []


def test_every_package_says_what_lives_there_and_what_it_may_import() -> None:
    for init in [*ROOT.glob("helpcenter/*/__init__.py"), *ROOT.glob("handlers/*/__init__.py")]:
        doc = ast.get_docstring(ast.parse(init.read_text(encoding="utf-8"))) or ""
        assert "May import" in doc and len(doc.splitlines()) <= 3, init


def test_the_web_adapter_imports_the_core_only() -> None:
    """web/ (the help center's pages and the Mini App's server) is an adapter like handlers/: it
    uses helpcenter/ and knows nothing of telegram or of the chat's handlers."""
    found = {p.name: {m.split(".")[0] for m in _imports(p)} & {"telegram", "handlers"}
             for p in sorted((ROOT / "web").glob("*.py"))}
    assert {name: sorted(bad) for name, bad in found.items() if bad} == {}
