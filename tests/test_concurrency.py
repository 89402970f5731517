"""Writers under concurrency: the SQLite writer lock spans threads and processes, a write
block always lets go of it in its own thread, and the real server mixing event-loop writers
(next/answer) with worker-thread writers (register, start, exam submit) never deadlocks."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import httpx
import pytest
from sqlmodel import Session, select

from api.db import make_engine, writer_lock, writing
from api.migrate import upgrade
from api.tables import User

from .servers import free_port
from .test_crash_safety import _start


def test_writer_lock_waits_for_a_writer_in_another_process(tmp_path: Path) -> None:
    db = tmp_path / "lock.db"
    holder = textwrap.dedent(
        f"""
        import time
        from api.db import make_engine, writer_lock
        lock = writer_lock(make_engine("sqlite:///{db}"))
        lock.acquire()
        print("locked", flush=True)
        time.sleep(0.8)
        lock.release()
        """
    )
    proc = subprocess.Popen([sys.executable, "-c", holder], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "locked"
        lock = writer_lock(make_engine(f"sqlite:///{db}"))
        t0 = time.monotonic()
        lock.acquire()
        waited = time.monotonic() - t0
        lock.release()
    finally:
        proc.wait(timeout=10)
    # The other process held it for 0.8 s after saying so; we must have waited for most of it.
    assert waited >= 0.5, waited
    assert proc.returncode == 0


def _write_in_thread(engine, name: str) -> threading.Thread:
    def run() -> None:
        with Session(engine) as s, writing(s):
            s.add(User(name=name, token_hash=name * 8))
            s.commit()

    t = threading.Thread(target=run)
    t.start()
    return t


def test_a_failed_or_uncommitted_write_block_frees_the_lock_at_once(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'w.db'}")
    upgrade(engine)
    session = Session(engine)  # deliberately left open: only the block may free the lock
    with pytest.raises(ValueError), writing(session):
        session.add(User(name="failed", token_hash="f" * 64))
        session.flush()
        raise ValueError("handler error after writing began")
    other = _write_in_thread(engine, "after-error")
    other.join(timeout=5)
    assert not other.is_alive(), "the writer lock outlived a failed write block"

    with writing(session):
        session.add(User(name="uncommitted", token_hash="u" * 64))
        session.flush()
    other = _write_in_thread(engine, "after-uncommitted")
    other.join(timeout=5)
    assert not other.is_alive(), "the writer lock outlived an uncommitted write block"
    session.close()

    with Session(engine) as s:
        names = sorted(u.name for u in s.exec(select(User)))
    assert names == ["after-error", "after-uncommitted"]  # nothing of the two blocks landed


def _readable(spec: dict) -> str:
    """Some answer the grader can read (right or wrong) for a question's answer form."""
    kind = spec["kind"]
    if kind == "parts":
        return "; ".join(_readable(part) for part in spec["parts"].values())
    return {"number": f"1 {spec.get('unit') or ''}".strip(), "shape": "1x1x1"}.get(kind, "a")


def test_mixed_writers_on_the_real_server_never_deadlock(tmp_path: Path) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = _start(tmp_path / "mixed.db", port)
    statuses: dict[str, list[int]] = {}
    lock = threading.Lock()

    def note(what: str, r: httpx.Response) -> httpx.Response:
        with lock:
            statuses.setdefault(what, []).append(r.status_code)
        return r

    def student(n: int) -> None:
        with httpx.Client(base_url=base, timeout=30) as c:
            token = note("register", c.post("/users", json={"name": f"s{n}"})).json()["token"]
            c.headers["Authorization"] = f"Bearer {token}"
            body = {"size": 6, "new_limit": 6, "include_questions": True}
            sid = note("start", c.post("/sessions", json=body)).json()["id"]
            for _ in range(8):  # two more than the size: the last answers are refused
                item = note("next", c.get(f"/sessions/{sid}/next")).json()
                if item.get("done"):
                    break
                answer = {"item_id": item["item_id"], "rating": "good"}
                if item["kind"] == "question":
                    answer["answer"] = _readable(item["question"]["answer"])
                r = note("answer", c.post(f"/sessions/{sid}/answer", json=answer))
                assert r.status_code != 200 or r.json()["recorded"], r.text
            exam = note("exam", c.post("/exams", json={"count": 2, "seed": n})).json()
            for _ in range(2):  # the second submit fails inside its write block (409)
                note("submit", c.post(f"/exams/{exam['id']}/submit", json={"answers": {}}))

    threads = [threading.Thread(target=student, args=(n,)) for n in range(24)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=90)
        stuck = sum(t.is_alive() for t in threads)
        health = httpx.get(f"{base}/health", timeout=5).status_code
    finally:
        server.terminate()
        server.wait(timeout=10)
    assert stuck == 0, f"{stuck} students never finished: the server deadlocked"
    assert health == 200
    assert statuses["register"] == [201] * 24
    assert statuses["start"] == [201] * 24
    assert set(statuses["next"]) == {200}
    assert set(statuses["answer"]) <= {200}
    assert len(statuses["answer"]) == 24 * 6
    assert sorted(statuses["submit"]) == [200] * 24 + [409] * 24


def test_rows_changed_before_the_write_lock_are_refused(tmp_path: Path) -> None:
    # Ending the read transaction would flush them outside the lock, where SQLite may
    # answer "database is locked" (the exam submit did this under concurrent load).
    engine = make_engine(f"sqlite:///{tmp_path / 'g.db'}")
    upgrade(engine)
    with Session(engine) as s, writing(s):
        s.add(User(name="first", token_hash="a" * 64))
        s.commit()
    with Session(engine, expire_on_commit=False) as s:
        user = s.exec(select(User)).one()
        user.name = "renamed too early"
        with pytest.raises(RuntimeError, match="before begin_write"), writing(s):
            pass
    with Session(engine) as s:
        assert [u.name for u in s.exec(select(User))] == ["first"]
