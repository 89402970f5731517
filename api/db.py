"""Database engine: SQLite tuned for a web service (WAL, busy timeout, foreign keys)."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import anyio.to_thread
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.types import DateTime, TypeDecorator
from sqlmodel import Session, create_engine

try:
    import fcntl
except ImportError:  # not on Windows: writers of one process still queue on the thread lock
    fcntl = None  # type: ignore[assignment]

__all__ = [
    "UTCDateTime",
    "WriterLock",
    "begin_write",
    "end_read",
    "run_db",
    "writing",
    "writer_lock",
    "make_engine",
    "utcnow",
]

WRITE_OPTION = "flopcards_write"


def utcnow() -> datetime:
    """The current time as a timezone-aware UTC datetime."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """Store datetimes as naive UTC; hand them back timezone-aware.

    SQLite has no time zones, so a value must be normalised on the way in and tagged on the
    way out, or comparisons between stored and fresh datetimes fail.
    """

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use timezone-aware UTC")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC)


def make_engine(url: str, busy_timeout_ms: int = 5000) -> Engine:
    """Create the engine for ``url``; SQLite files get their parent folder and pragmas."""
    parsed = make_url(url)
    kwargs: dict[str, Any] = {}
    if parsed.get_backend_name() == "sqlite":
        kwargs["connect_args"] = {"check_same_thread": False, "timeout": busy_timeout_ms / 1000}
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
            # SQLite connections are cheap; never make a caller wait for one. The event loop
            # runs SQLite work inline (run_db) and must not block on a connection that only
            # a finished request, waiting for that same loop, would give back.
            kwargs |= {"pool_size": 10, "max_overflow": -1}
    else:
        kwargs["pool_pre_ping"] = True
    engine = create_engine(url, **kwargs)
    if parsed.get_backend_name() == "sqlite":
        _sqlite_pragmas(engine, busy_timeout_ms)
    return engine


def _sqlite_pragmas(engine: Engine, busy_timeout_ms: int) -> None:
    """Switch on WAL, a busy timeout and foreign keys on every new SQLite connection."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # pysqlite opens transactions lazily and never for SELECT; BEGIN IMMEDIATE is set
        # in _on_begin so writers queue on the busy timeout instead of failing mid-way.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # A read that later upgrades to a write can fail at once with "database is locked"
        # (SQLite skips the busy handler to avoid deadlock); writers take the lock up front.
        immediate = conn.get_execution_options().get(WRITE_OPTION)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


# SQLite lets one writer in at a time; the others wait in SQLite's busy handler, which sleeps
# in growing steps (up to 100 ms) and so turns contention into long tail latencies. Writers
# queue on a lock instead, held from begin_write to the transaction's end: a thread lock
# within the process, and an flock on a file next to the database between processes (the
# kernel wakes the next waiter as soon as the holder lets go). The busy handler is then only
# a fallback, e.g. for a second tool opening the same file.


class WriterLock:
    """One database file's writer lock, shared by the threads and processes that write it.

    Not reentrant and not owned by a thread: a transaction may begin in one worker thread
    and end (be rolled back on close) in another.
    """

    def __init__(self, lock_path: Path | None) -> None:
        self._thread_lock = threading.Lock()
        self._lock_path = lock_path
        self._fd: int | None = None

    def acquire(self) -> None:
        """Wait until no other writer of this file, in any process, holds the lock."""
        self._thread_lock.acquire()
        try:
            if self._lock_path is not None and fcntl is not None:
                if self._fd is None:
                    self._fd = os.open(self._lock_path, os.O_RDWR | os.O_CREAT, 0o600)
                fcntl.flock(self._fd, fcntl.LOCK_EX)
        except BaseException:
            self._thread_lock.release()
            raise

    def release(self) -> None:
        """Let the next writer in."""
        try:
            if self._fd is not None and fcntl is not None:
                fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            self._thread_lock.release()


_WRITER_LOCKS: dict[str, WriterLock] = {}
_WRITER_LOCKS_GUARD = threading.Lock()
_HOLDS_LOCK = "flopcards_writer_lock"


def writer_lock(engine: Engine) -> WriterLock:
    """The writer lock of an SQLite engine's database file (one per file per process)."""
    database = engine.url.database or ""
    lock = _WRITER_LOCKS.get(database)  # fast path: the name as given (resolving costs stats)
    if lock is not None:
        return lock
    in_memory = database in ("", ":memory:") or database.startswith("file::memory:")
    key = database if in_memory else str(Path(database).expanduser().resolve())
    with _WRITER_LOCKS_GUARD:
        lock = _WRITER_LOCKS.get(key)
        if lock is None:
            path = None if in_memory else Path(key + "-writer.lock")
            lock = _WRITER_LOCKS[key] = WriterLock(path)
        _WRITER_LOCKS[database] = lock
        return lock


def begin_write(session: Session) -> None:
    """Start the session's transaction as a writer (SQLite: BEGIN IMMEDIATE).

    Call it before the first query of a request that will write, so concurrent writers wait
    their turn instead of failing half-way.
    """
    if session.in_transaction():
        # Earlier reads (e.g. the auth lookup) opened a deferred transaction; end it so the
        # write transaction starts with the lock. Loaded objects stay usable (no expiry).
        if session.new or session.dirty or session.deleted:
            # Ending it would flush these changes outside the writer lock, where SQLite can
            # refuse them ("database is locked"): change rows only after begin_write.
            raise RuntimeError("objects were changed before begin_write; change them after")
        session.commit()
    bind = session.get_bind()
    if bind.dialect.name == "sqlite" and _HOLDS_LOCK not in session.info:
        lock = writer_lock(bind.engine if isinstance(bind, Connection) else bind)
        lock.acquire()
        session.info[_HOLDS_LOCK] = lock
    try:
        session.connection(execution_options={WRITE_OPTION: True})
    except BaseException:
        session.rollback()
        lock = session.info.pop(_HOLDS_LOCK, None)
        if lock is not None:  # no transaction began, so no transaction end will free it
            lock.release()
        raise


@event.listens_for(Session, "after_transaction_end")
def _release_writer(session: Session, transaction: Any) -> None:
    if transaction.parent is None:
        lock = session.info.pop(_HOLDS_LOCK, None)
        if lock is not None:
            lock.release()


@contextmanager
def writing(session: Session) -> Iterator[Session]:
    """A write transaction: begin it as a writer; the caller commits inside the block.

    On an error, or when the block ends without committing, the transaction is rolled back
    right here, in the thread that began it. So the writer lock never outlives the block,
    and a thread holding it never waits for anything else to let go: in particular not for
    the event loop, which may itself be waiting for the lock (``run_db``). Write through
    this rather than ``begin_write``.
    """
    begin_write(session)
    try:
        yield session
    except BaseException:
        session.rollback()
        raise
    if _HOLDS_LOCK in session.info:  # not committed: nothing is written
        session.rollback()


def end_read(session: Session) -> None:
    """End a read-only transaction, returning its connection to the pool.

    Async handlers call it before they next await: a connection held across an await is
    one fewer for the requests the event loop serves meanwhile. Loaded objects stay usable
    (sessions here do not expire them on commit).
    """
    if session.in_transaction():
        session.commit()


T = TypeVar("T")


async def run_db(engine: Engine, fn: Callable[..., T], *args: Any) -> T:
    """Run a short database function from async code: inline for SQLite, else in a thread.

    SQLite is in-process and its statements take microseconds, while handing them to a
    worker thread costs more than the work (the thread and the event loop trade the GIL at
    every call; bench/load.py measured about 1 ms per request). A networked database
    (PostgreSQL) is waited for in a worker thread, so the event loop stays free.

    ``fn`` must end its transaction (commit, or ``end_read``) before it returns. Waiting
    for the writer lock here blocks the event loop, which is safe because every holder
    lets go in its own thread without needing the loop (see ``writing``).
    """
    if engine.dialect.name == "sqlite":
        return fn(*args)
    return await anyio.to_thread.run_sync(fn, *args)
