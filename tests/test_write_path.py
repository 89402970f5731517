"""A write can never take the read path (api/db.py).

Where every commit waits for the disk (SQLite with ``synchronous=FULL``), a write run inline
would block every request while it syncs; so ``writing`` itself routes a unit of work that
begins to write into a worker thread, and a statement that changes rows outside ``writing``
is refused. These tests instrument commits: a write committed on the event loop's thread
fails them."""

from __future__ import annotations

import ast
import asyncio
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, insert, select, update
from sqlmodel import Session

from api.db import WRITE_OPTION, Database, WriteOutsideWriting, make_engine, utcnow, writing
from api.migrate import upgrade
from api.store.settings import start_fit
from api.tables import User

from .conftest import register

NOTE = """---
topic: my-notes
title: My notes
tags: [mine]
---

Q: What is 2 + 2? {#sum}
A: 4
"""


def _on_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def _record_write_commits(engine: Any) -> list[bool]:
    """For each committed write transaction: whether it committed on the event loop."""
    seen: list[bool] = []

    @event.listens_for(engine, "commit")
    def _commit(conn: Any) -> None:
        if conn.get_execution_options().get(WRITE_OPTION):
            seen.append(_on_loop())

    return seen


def test_every_write_of_the_api_commits_off_the_event_loop_when_commits_wait_for_the_disk(
    make_client,
) -> None:
    """With ``synchronous=FULL``, the writes named in issue 26 (flags, card edits, settings,
    FSRS fits and resets) and the study loop's commit in a worker thread, none of them
    marked: opening ``writing`` is what sends them there."""
    with make_client(sqlite_synchronous="FULL") as client:
        seen = _record_write_commits(client.app.state.engine)
        auth = register(client)
        assert client.patch("/users/me/settings", headers=auth,
                            json={"desired_retention": 0.85}).status_code == 200  # fmt: skip
        for action in ("suspend", "unsuspend", "bury", "unbury"):
            r = client.post(f"/cards/alpha-kib/{action}", headers=auth)
            assert r.status_code == 200, r.text
        r = client.post("/notes/import", content=NOTE,
                        headers=auth | {"content-type": "text/markdown"})  # fmt: skip
        assert r.status_code == 200, r.text
        r = client.patch("/cards/u1~sum", headers=auth, json={"front": "What is two plus two?"})
        assert r.status_code == 200, r.text
        assert client.post("/users/me/fsrs/reset", headers=auth).status_code == 200
        sid = client.post("/sessions", headers=auth, json={"size": 2}).json()["id"]
        item = client.get(f"/sessions/{sid}/next", headers=auth).json()["item_id"]
        r = client.post(f"/sessions/{sid}/answer", headers=auth,
                        json={"item_id": item, "rating": "good"})  # fmt: skip
        assert r.status_code == 200, r.text
        qid = client.post("/questions", headers=auth, json={"family": "conv_params"}).json()["id"]
        r = client.post(f"/questions/{qid}/grade", headers=auth, json={"answer": "12"})
        assert r.status_code == 200, r.text
        # A fit needs weeks of reviews over HTTP; its store function is run as the route does.
        db = client.app.state.db
        me = client.get("/users/me", headers=auth).json()["id"]
        fit = client.portal.call(db.run, start_fit, me, "job-1", 10)  # type: ignore[union-attr]
        assert fit["status"] == "running"
        # registration, settings, 4 flags, import, edit, reset, session, answer,
        # question, grade, fit: at least one write each
        assert len(seen) >= 15, seen
        assert not any(seen), f"{seen.count(True)} of {len(seen)} writes committed on the loop"


def _database(tmp_path: Path, synced: bool) -> Database:
    engine = make_engine(f"sqlite:///{tmp_path / 'w.db'}", synchronous="FULL")
    upgrade(engine)
    return Database(engine, synced_commits=synced)


def _add_user(session: Session, name: str, where: list[str]) -> int:
    """An unmarked store function that writes; it notes where each run started."""
    where.append("loop" if _on_loop() else "thread")
    with writing(session):
        row = session.connection().execute(
            insert(User.__table__).values(name=name, token_hash=name * 8, created_at=utcnow())  # type: ignore[attr-defined]
        )
        session.commit()
    return int(row.inserted_primary_key[0])


def _count_users(session: Session, where: list[str]) -> int:
    where.append("loop" if _on_loop() else "thread")
    count = len(session.connection().execute(select(User.__table__.c.id)).all())  # type: ignore[attr-defined]
    session.commit()
    return count


@pytest.mark.parametrize("synced", [True, False])
def test_opening_writing_routes_the_unit_of_work(tmp_path: Path, synced: bool) -> None:
    """Synced commits: the first call starts inline, is stopped where it opens ``writing``
    (before writing anything) and runs again in a worker thread; later calls go there
    directly. Reads stay inline. Unsynced, everything runs inline (the instrument sees
    those commits on the loop, so it can fail)."""
    db = _database(tmp_path, synced)
    seen = _record_write_commits(db.engine)
    where: list[str] = []

    async def scenario() -> tuple[int, int, int]:
        first = await db.run(_add_user, "ada", where)
        second = await db.run(_add_user, "bob", where)
        return first, second, await db.run(_count_users, where)

    first, second, count = asyncio.run(scenario())
    assert (first, second, count) == (1, 2, 2)  # each user written once
    if synced:
        assert where == ["loop", "thread", "thread", "loop"]
        assert seen == [False, False]
    else:
        assert where == ["loop", "loop", "loop"]
        assert seen == [True, True]


def _sneaky_write(session: Session) -> None:
    session.connection().execute(update(User.__table__).values(name="x"))  # type: ignore[attr-defined]
    session.commit()


def _sneaky_orm_write(session: Session) -> None:
    session.add(User(name="eve", token_hash="e" * 64))
    session.commit()


@pytest.mark.parametrize("fn", [_sneaky_write, _sneaky_orm_write])
def test_a_write_outside_writing_is_refused_and_writes_nothing(tmp_path: Path, fn: Any) -> None:
    db = _database(tmp_path, synced=False)
    asyncio.run(db.run(_add_user, "ada", []))
    with pytest.raises(WriteOutsideWriting):
        asyncio.run(db.run(fn))
    with pytest.raises(WriteOutsideWriting):
        db.call(fn)  # in a worker thread too
    names = db.call(lambda s: [r.name for r in s.connection().execute(select(User.__table__))])  # type: ignore[attr-defined]
    assert names == ["ada"]


# Every store function that writes takes the write path: read from the source, so a function
# no test happens to run is covered too. A write site is a statement that changes rows
# (``insert``/``update``/``delete``/``insert_ignore``, the ORM's ``session.add``/``delete``/
# ``merge``, or a module constant built from one); it must lie inside ``with writing(...)``,
# or in a function every call of which does (transitively). An entry point (a function the
# API hands to ``Database.run``/``call``/``offload``, or anything else, as an argument) never
# relies on its caller. Row locks (``FOR UPDATE``) are left to the run-time guard: only
# PostgreSQL emits them, and there every unit of work runs in a worker thread anyway.

STORE = Path(__file__).resolve().parents[1] / "api" / "store"
_BUILDERS = {"insert", "update", "delete", "insert_ignore"}
_SESSION_WRITES = {"add", "add_all", "delete", "merge"}


def _is_write(node: ast.AST, write_names: set[str]) -> bool:
    if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
        return node.id in write_names
    if not isinstance(node, ast.Call):
        return False
    func = node.func
    if isinstance(func, ast.Name):
        return func.id in _BUILDERS
    if isinstance(func, ast.Attribute):
        on_session = isinstance(func.value, ast.Name) and func.value.id == "session"
        return on_session and func.attr in _SESSION_WRITES
    return False


def _opens_writing(node: ast.With) -> bool:
    return any(
        isinstance(item.context_expr, ast.Call)
        and isinstance(item.context_expr.func, ast.Name)
        and item.context_expr.func.id == "writing"
        for item in node.items
    )


def _passed_as_arguments(trees: list[ast.Module]) -> set[str]:
    """The names (or attribute names: ``store.load_exam``) passed as an argument anywhere."""
    return {
        arg.id if isinstance(arg, ast.Name) else arg.attr
        for tree in trees
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        for arg in [*node.args, *(k.value for k in node.keywords)]
        if isinstance(arg, ast.Name | ast.Attribute)
    }


def _unguarded_writes(sources: dict[str, str], api: list[ast.Module]) -> dict[str, list[str]]:
    """The entry points (``module.name``) of the store modules ``sources`` that write outside
    ``writing``, each with the lines of its unguarded writes or calls; ``api``: the modules
    that may hand a store function on."""
    trees = {name: ast.parse(text) for name, text in sources.items()}
    entry_points = _passed_as_arguments([*trees.values(), *api])
    # Module constants that are statements changing or locking rows.
    write_names = {
        target.id
        for tree in trees.values()
        for stmt in tree.body
        if isinstance(stmt, ast.Assign) and any(_is_write(n, set()) for n in ast.walk(stmt.value))
        for target in stmt.targets
        if isinstance(target, ast.Name)
    }
    # Each function's unguarded sites: write sites, and calls by name (resolved below).
    sites: dict[str, tuple[str, list[tuple[int, str | None]]]] = {}

    def visit(node: ast.AST, module: str, owner: str | None, guarded: bool) -> None:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            key = f"{module}.{node.name}"
            sites.setdefault(key, (node.name, []))
            for child in node.body:
                visit(child, module, key, False)
            return
        if isinstance(node, ast.With) and _opens_writing(node):
            guarded = True
        if owner is not None and not guarded:
            if _is_write(node, write_names):
                sites[owner][1].append((node.lineno, None))  # type: ignore[attr-defined]
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                sites[owner][1].append((node.lineno, node.func.id))
        for child in ast.iter_child_nodes(node):
            visit(child, module, owner, guarded)

    for module, tree in trees.items():
        for stmt in tree.body:
            visit(stmt, module, None, False)
    # A function writes unguarded if it has an unguarded write site, or an unguarded call of
    # a function (by name) that does; repeated until nothing changes.
    writers: set[str] = set()
    changed = True
    while changed:
        changed = False
        names = {sites[key][0] for key in writers}
        for key, (_name, found) in sites.items():
            if key not in writers and any(c is None or c in names for _l, c in found):
                writers.add(key)
                changed = True
    names = {sites[key][0] for key in writers}
    return {
        key: [str(line) for line, c in sites[key][1] if c is None or c in names]
        for key in sorted(writers)
        if sites[key][0] in entry_points
    }


def test_every_store_function_that_writes_opens_writing() -> None:
    sources = {path.stem: path.read_text() for path in sorted(STORE.glob("*.py"))}
    api = [ast.parse(path.read_text()) for path in STORE.parent.rglob("*.py")]
    assert _unguarded_writes(sources, api) == {}
    # The check sees the store's writes: the functions that open writing, by module.
    opened = {m: s.count("with writing(") for m, s in sources.items() if "with writing(" in s}
    assert sum(opened.values()) >= 40 and len(opened) >= 12, opened


def test_the_write_path_check_finds_an_unguarded_write() -> None:
    """The check above can fail: an entry point writing outside ``writing``, directly,
    through a helper or through a statement kept in a constant, is found; the same inside
    ``writing`` is not, nor a helper only ever called inside it."""
    source = """
_CLEAR = delete(T)

def _bump(session):
    session.execute(update(T).values(n=1))

def good(session):
    with writing(session):
        _bump(session)
        session.execute(_CLEAR)
        session.commit()

def direct(session):
    session.execute(delete(T))

def through_helper(session):
    _bump(session)

def clears(session):
    session.execute(_CLEAR)

def adds(session):
    session.add(T())

def _helper_of_good(session):
    session.add(T())
"""
    api = ast.parse("db.run(m.good); db.run(direct); db.call(m.through_helper); "
                    "db.run(clears); db.offload(adds); db.run(_bump)")  # fmt: skip
    found = _unguarded_writes({"m": source}, [api])
    assert sorted(found) == ["m._bump", "m.adds", "m.clears", "m.direct", "m.through_helper"]
    assert found["m.direct"] == ["14"] and found["m.through_helper"] == ["17"]
