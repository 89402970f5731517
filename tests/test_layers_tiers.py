"""The tiers inside ``api`` point one way: routers → services → store → db (docs/architecture.md).

Read from the source (imports as written), so a new module is covered the day it is added.
"""

from __future__ import annotations

import ast
from pathlib import Path

API = Path(__file__).resolve().parent.parent / "api"


def _imports(path: Path) -> set[str]:
    """The absolute ``api.…`` modules ``path`` imports."""
    package = ["api", *path.relative_to(API).parent.parts]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("api.")}
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join(base + ([node.module] if node.module else []))
            found.add(module)
            found |= {f"{module}.{a.name}" for a in node.names}
    return {m for m in found if m.startswith("api.")}


def _tier(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 2 and parts[1] in {"routers", "services", "store"} else None


def test_services_and_store_never_import_a_router() -> None:
    for tier in ("services", "store"):
        for path in (API / tier).glob("*.py"):
            bad = {m for m in _imports(path) if _tier(m) == "routers"}
            assert not bad, f"{path.name} imports {bad}"


def _pure(service: str) -> bool:
    """A service with no database in it (rules, token checks): the store may apply it."""
    imported = _imports(API / "services" / f"{service}.py")
    return not any(_tier(m) in {"store", "routers"} or m.startswith("api.db") for m in imported)


def test_the_store_imports_only_pure_services() -> None:
    """The store applies pure rules (the scheduler, the study rules, LTI's key handling) inside
    its transactions; a service that itself queries would make a cycle."""
    for path in (API / "store").glob("*.py"):
        services = {m.split(".")[2] for m in _imports(path) if _tier(m) == "services"}
        impure = {s for s in services if not _pure(s)}
        assert not impure, f"store/{path.name} imports services that query: {impure}"
    assert _pure("study_rules") and _pure("scheduler")  # the rules stay pure
