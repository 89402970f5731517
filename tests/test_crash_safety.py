"""Crash safety: the real server is killed with SIGKILL while 8 clients answer cards. After a
restart, every answer that got a 2xx is in the review log, and every item's stored state is the
one its last logged review produced."""

from __future__ import annotations

import signal
import subprocess
import threading
import time
from pathlib import Path

import httpx
from sqlmodel import Session, create_engine, select

from api.tables import ReviewLog, ReviewState

from .servers import free_port, spawn, wait_healthy

CLIENTS = 8


def _start(db: Path, port: int) -> subprocess.Popen:
    """A server over the SQLite file ``db``, answering /health."""
    proc = spawn(f"sqlite:///{db}", port)
    wait_healthy(proc, port)
    return proc


def test_sigkill_mid_stream_loses_no_acknowledged_answer(tmp_path) -> None:
    db = tmp_path / "crash.db"
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = _start(db, port)
    acked: list[tuple[str, int]] = []  # (token, review_id) of every 2xx answer
    lock = threading.Lock()
    stop = threading.Event()
    tokens = [
        httpx.post(f"{base}/users", json={"name": f"c{i}"}).json()["token"] for i in range(CLIENTS)
    ]

    def client(token: str) -> None:
        h = {"Authorization": f"Bearer {token}"}
        ratings = ["again", "hard", "good", "easy"]
        with httpx.Client(base_url=base, timeout=5, headers=h) as c:
            try:
                sid = c.post("/sessions", json={"size": 500, "new_limit": 500}).json()["id"]
            except httpx.HTTPError:
                return
            n = 0
            while not stop.is_set():
                try:
                    item = c.get(f"/sessions/{sid}/next").json()
                    if item.get("done"):
                        time.sleep(0.01)
                        sid = c.post("/sessions", json={"size": 500}).json()["id"]
                        continue
                    r = c.post(
                        f"/sessions/{sid}/answer",
                        json={
                            "item_id": item["item_id"],
                            "rating": ratings[n % 4],
                            "elapsed_ms": n,
                        },
                    )
                    n += 1
                    if r.status_code == 200:
                        with lock:
                            acked.append((token, r.json()["review_id"]))
                except (httpx.HTTPError, ValueError):
                    if stop.is_set() or server.poll() is not None:
                        return

    threads = [threading.Thread(target=client, args=(t,)) for t in tokens]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 30
    while len(acked) < 40 and time.monotonic() < deadline:
        time.sleep(0.05)
    server.send_signal(signal.SIGKILL)  # mid-stream: clients are still sending
    server.wait(timeout=10)
    stop.set()
    for t in threads:
        t.join(timeout=10)
    assert len(acked) >= 20, "the clients got too few answers through before the kill"

    server = _start(db, port)  # restart on the same file (recovers the WAL)
    try:
        for token in tokens:
            r = httpx.get(f"{base}/progress/reviews", headers={"Authorization": f"Bearer {token}"})
            logged = {row["id"] for row in r.json()["data"]}
            mine = {rid for tok, rid in acked if tok == token}
            assert mine <= logged, f"acknowledged answers lost: {sorted(mine - logged)}"
    finally:
        server.terminate()
        server.wait(timeout=10)

    engine = create_engine(f"sqlite:///{db}")
    with Session(engine) as s:
        states = s.exec(select(ReviewState)).all()
        assert states
        for state in states:
            last = s.exec(
                select(ReviewLog)
                .where(ReviewLog.user_id == state.user_id, ReviewLog.item_id == state.item_id)
                .order_by(ReviewLog.id.desc())
            ).first()
            assert last is not None
            assert (state.state, state.due, state.stability) == (
                last.state_after,
                last.due_after,
                last.stability_after,
            )
            count = len(
                s.exec(
                    select(ReviewLog.id).where(
                        ReviewLog.user_id == state.user_id, ReviewLog.item_id == state.item_id
                    )
                ).all()
            )
            assert state.reps == count
    engine.dispose()
