"""A write can never take the read path (api/db.py).

Where every commit waits for the disk (SQLite with ``synchronous=FULL``), a write run inline
would block every request while it syncs; so ``writing`` itself routes a unit of work that
begins to write into a worker thread, and a statement that changes rows outside ``writing``
is refused. These tests instrument commits: a write committed on the event loop's thread
fails them."""

from __future__ import annotations

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
