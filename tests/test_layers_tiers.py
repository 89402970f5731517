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


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The import cycles of ``graph`` (its strongly connected parts of two or more)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in graph[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            part = []
            while not part or part[-1] != node:
                part.append(stack.pop())
            if len(part) > 1:
                found.append(sorted(part))

    for node in graph:
        if node not in index:
            visit(node)
    return found


def test_no_import_cycle_in_api_even_through_a_function_level_import() -> None:
    """A cycle hidden in a function-level import is still a cycle (issue 26: store/tags →
    store/study → store/imports → sync → store/tags; later store/questions ↔ courses and
    exams, through ``take_hint``, now ``store/hints``). Every import counts, wherever it is."""
    modules = {
        ".".join(("api", *p.relative_to(API).with_suffix("").parts)).removesuffix(".__init__"): p
        for p in API.rglob("*.py")
        if "migrations" not in p.parts
    }
    graph = {m: (_imports(p) & modules.keys()) - {m} for m, p in modules.items()}
    assert _cycles(graph) == []
    # The check finds one: two store modules importing each other inside functions.
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def _units_of_work(source: str) -> tuple[int, list[str]]:
    """How many units of work ``source`` hands to the database (``db.run``, ``db.offload``,
    ``db.call``), and those that are not a function of ``api/store`` (imported from it by
    name, or reached through an imported store module)."""
    tree = ast.parse(source)
    names: set[str] = set()
    modules: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and "store" in node.module.split("."):
            bound = {a.asname or a.name for a in node.names}
            (modules if node.module.split(".")[-1] == "store" else names).update(bound)
    count, foreign = 0, []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        receiver = ast.unparse(node.func.value)
        if node.func.attr not in ("run", "offload", "call") or not node.args:
            continue
        if not (
            receiver == "db" or receiver.endswith((".db", "_database()")) or "(create)" in receiver
        ):
            continue
        count += 1
        fn = node.args[0]
        if isinstance(fn, ast.Name) and fn.id in names:
            continue
        if isinstance(fn, ast.Attribute) and ast.unparse(fn.value) in modules:
            continue
        foreign.append(f"{node.lineno}: {ast.unparse(node)[:80]}")
    return count, foreign


def test_routers_and_services_hand_the_database_only_store_functions() -> None:
    """No database function is defined outside ``api/store`` (issue 26: routers defined
    their own): every unit of work a router, a service or the CLI runs is a store function."""
    total = 0
    for path in [*(API / "routers").glob("*.py"), *(API / "services").glob("*.py"),
                 API / "cli.py", API / "limits.py", API / "deps.py", API / "main.py"]:  # fmt: skip
        count, foreign = _units_of_work(path.read_text())
        assert foreign == [], f"{path.name}: {foreign}"
        total += count
    assert total > 100
    # The check can fail: a closure of the router's own, or a lambda, is found.
    source = "from ..store import exams as store\nfrom ..store.cards import get\n" + (
        "db.run(get, 1); db.run(store.load, 2); db.run(_mine, 3); db.offload(lambda s: s)"
    )
    assert _units_of_work(source) == (4, ["3: db.run(_mine, 3)", "3: db.offload(lambda s: s)"])


def test_tables_hold_rows_not_http_shapes() -> None:
    """A resource's request and response shapes live with its router (or in api/schemas.py
    when several routers send them), never in api/tables.py: every model there is a table,
    or the base a table shares its column constraints through."""
    import inspect

    from sqlmodel import SQLModel

    from api import tables

    models = [c for _, c in inspect.getmembers(tables, inspect.isclass)
              if issubclass(c, SQLModel) and c.__module__ == tables.__name__]  # fmt: skip
    table_models = [c for c in models if getattr(c, "__table__", None) is not None]
    shapes = [c.__name__ for c in models
              if c not in table_models and not any(issubclass(t, c) for t in table_models)]  # fmt: skip
    assert shapes == []
    assert len(table_models) >= 25
