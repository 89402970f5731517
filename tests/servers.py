"""Real server processes for the concurrency tests: `flopcards serve` on 127.0.0.1 over a
given database URL, and throwaway databases on SQLite or the test PostgreSQL server."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine

from .conftest import FIXTURE_NOTES, pg_database

__all__ = [
    "free_port",
    "spawn",
    "wait_healthy",
    "serve",
    "fresh_database",
    "Cluster",
    "cluster",
    "statuses",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def spawn(db_url: str, port: int, **env: str) -> subprocess.Popen:
    """Start a server process (not waiting for it); ``env`` adds FLOPCARDS_* settings."""
    environ = os.environ | {
        "FLOPCARDS_DATABASE_URL": db_url,
        "FLOPCARDS_CONTENT_DIR": str(FIXTURE_NOTES),
        "FLOPCARDS_HOST": "127.0.0.1",
        "FLOPCARDS_PORT": str(port),
        "FLOPCARDS_RUN_EXAMPLES": "false",
        "FLOPCARDS_WARM_UP": "false",
    }
    environ |= {f"FLOPCARDS_{k.upper()}": v for k, v in env.items()}
    exe = Path(sys.executable).with_name("flopcards")
    # The log goes to a temporary file: a pipe nobody reads would fill up and stall the server.
    log = tempfile.TemporaryFile()
    proc = subprocess.Popen([str(exe), "serve"], env=environ, stdout=subprocess.DEVNULL, stderr=log)
    proc.stderr = log  # read back by wait_healthy when the server dies
    return proc


def wait_healthy(proc: subprocess.Popen, port: int, timeout: float = 60) -> dict:
    """Wait for the server's /health to answer 200; its body. Fails if the process dies."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            err = ""
            if proc.stderr is not None:
                proc.stderr.seek(0)
                err = proc.stderr.read().decode(errors="replace")
            raise AssertionError(f"server exited with {proc.returncode}:\n{err[-3000:]}")
        try:
            r = httpx.get(f"http://127.0.0.1:{port}/health", timeout=1)
            if r.status_code == 200:
                return r.json()
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    proc.kill()
    raise AssertionError("server did not start")


@contextmanager
def serve(db_url: str, processes: int = 1, **env: str) -> Iterator[list[str]]:
    """Run ``processes`` servers on one database; yields their base URLs."""
    ports = [free_port() for _ in range(processes)]
    procs = [spawn(db_url, port, **env) for port in ports]
    try:
        for proc, port in zip(procs, ports, strict=True):
            wait_healthy(proc, port)
        yield [f"http://127.0.0.1:{port}" for port in ports]
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()


@contextmanager
def fresh_database(engine: str, tmp_path: Path) -> Iterator[str]:
    """An empty database: a new SQLite file, or a new database on the test PostgreSQL."""
    if engine == "sqlite":
        yield f"sqlite:///{tmp_path / f'{uuid.uuid4().hex[:8]}.db'}"
        return
    with pg_database("flopcards_r") as url:
        yield url


class Cluster:
    """Two servers on one database, and a direct connection to check the rows."""

    def __init__(self, urls: list[str], engine: Engine) -> None:
        self.urls, self.engine = urls, engine
        self._n = 0

    def user(self) -> tuple[dict[str, str], int]:
        """A new user's Authorization header and id."""
        self._n += 1
        r = httpx.post(f"{self.urls[0]}/users", json={"name": f"racer{self._n}"}, timeout=30)
        assert r.status_code == 201, r.text
        return {"Authorization": f"Bearer {r.json()['token']}"}, r.json()["id"]

    def race(
        self,
        n: int,
        method: str,
        path: str | Callable[[int], str],
        bodies: list[Any] | None = None,
        **kwargs: Any,
    ) -> list[httpx.Response]:
        """Send ``n`` requests released together, spread over the servers (``path`` may
        depend on the request's number; ``bodies``, one JSON body per request)."""
        barrier = threading.Barrier(n)
        out: list[httpx.Response | None] = [None] * n

        def run(i: int) -> None:
            with httpx.Client(base_url=self.urls[i % len(self.urls)], timeout=60) as client:
                client.get("/health")  # connect first, so the barrier releases requests
                barrier.wait()
                url = path(i) if callable(path) else path
                body = {"json": bodies[i]} if bodies is not None else {}
                out[i] = client.request(method, url, **kwargs, **body)

        threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
        assert all(r is not None for r in out), "a request never finished"
        return [r for r in out if r is not None]

    def scalar(self, sql: str, **params: object) -> int:
        with self.engine.connect() as conn:
            return conn.execute(text(sql), params).scalar_one()


@contextmanager
def cluster(engine: str, tmp_path: Path) -> Iterator[Cluster]:
    """Two servers on one fresh database (SQLite with its writer lock off: only the
    database orders the writers) and a direct connection to check the rows."""
    with fresh_database(engine, tmp_path) as url, serve(url, 2, sqlite_writer_lock="false") as urls:
        db = create_engine(url)
        try:
            yield Cluster(urls, db)
        finally:
            db.dispose()


def statuses(responses: list[httpx.Response]) -> list[int]:
    codes = sorted(r.status_code for r in responses)
    assert all(c < 500 for c in codes), [r.text for r in responses if r.status_code >= 500]
    return codes
