"""Database engine and the one way to reach it.

- ``make_engine``: SQLite tuned for a web service (WAL, busy timeout, foreign keys, the
  ``synchronous`` setting chosen), or any other SQLAlchemy URL (PostgreSQL in practice).
- ``Database.run``: how async handlers reach the database. It opens a session, runs one
  function of the store (``api.store``) with it and closes it: inline on SQLite, whose
  statements take microseconds, and in a worker thread on PostgreSQL, so the event loop
  never waits on the network.
- ``writing``: a write transaction, and the only way to write: inside ``Database`` a
  statement that changes rows outside one is refused (``WriteOutsideWriting``). Opening it
  is also what routes a unit of work: where commits wait for the disk (SQLite with
  ``synchronous=FULL``), a store function that begins writing on the event loop is sent to a
  worker thread, so no mark on the function decides where a write runs. Correctness rests
  on the database itself: every rule that must hold under concurrency is a constraint, a
  conditional update checked by its row count, an ``INSERT … ON CONFLICT`` or a row lock
  (see ``api.store``). On SQLite a writer lock on top makes writers queue in the kernel
  instead of SQLite's sleeping busy handler; it is a performance measure, and the race
  tests pass with it switched off.
- ``startup_lock``: migrations and the content sync run once at a time across replicas (a
  PostgreSQL advisory lock; an ``flock`` beside an SQLite file).
"""

from __future__ import annotations

import os
import threading
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
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
    "Database",
    "UTCDateTime",
    "WriteOutsideWriting",
    "WriterLock",
    "begin_write",
    "end_read",
    "insert_ignore",
    "is_postgres",
    "startup_lock",
    "writing",
    "writer_lock",
    "make_engine",
    "utcnow",
]

WRITE_OPTION = "flopcards_write"
# PostgreSQL's default level, named: a write transaction's (reads outside ``writing`` run in
# autocommit, see ``Database``).
WRITE_ISOLATION = "READ COMMITTED"


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


def make_engine(
    url: str,
    busy_timeout_ms: int = 5000,
    writer_lock: bool = True,
    synchronous: str = "NORMAL",
) -> Engine:
    """Create the engine for ``url``; SQLite files get their parent folder and pragmas.

    ``writer_lock=False`` leaves SQLite writers to SQLite's own locking (``BEGIN IMMEDIATE``
    and the busy timeout): slower under contention, and exactly as correct, which the
    race tests check. ``synchronous`` is SQLite's durability setting: in WAL mode ``FULL``
    syncs the log at every commit, so an acknowledged answer survives a power loss;
    ``NORMAL`` survives a killed process but may lose the last commits on power loss.
    """
    if synchronous not in ("FULL", "NORMAL"):
        raise ValueError("synchronous must be FULL or NORMAL")
    parsed = make_url(url)
    kwargs: dict[str, Any] = {}
    if parsed.get_backend_name() == "sqlite":
        kwargs["connect_args"] = {"check_same_thread": False, "timeout": busy_timeout_ms / 1000}
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
            # SQLite connections are cheap; never make a caller wait for one. The event loop
            # runs SQLite work inline (Database.run) and must not block on a connection that only
            # a finished request, waiting for that same loop, would give back.
            kwargs |= {"pool_size": 10, "max_overflow": -1}
    else:
        # No ping before each checkout: it cost a round trip per unit of work, about a fifth
        # of the study loop's capacity (bench/load.py --replicas). A connection the server
        # dropped (a restart) fails its request once with a 503, and the pool then replaces
        # every connection opened before the failure (SQLAlchemy's disconnect handling).
        # Worker threads (AnyIO's 40) get a connection without waiting for one.
        kwargs |= {"pool_size": 20, "max_overflow": 20, "pool_recycle": 3600}
    engine = create_engine(url, **kwargs)
    if parsed.get_backend_name() == "sqlite":
        _sqlite_pragmas(engine, busy_timeout_ms, synchronous)
        if not writer_lock:
            _UNLOCKED.add(engine)
    return engine


def is_postgres(bind: Engine | Connection | Session) -> bool:
    """Whether the bind talks to PostgreSQL (row locks, advisory locks, RETURNING)."""
    if isinstance(bind, Session):
        bind = bind.get_bind()
    return bind.dialect.name == "postgresql"


def _sqlite_pragmas(engine: Engine, busy_timeout_ms: int, synchronous: str) -> None:
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
        cur.execute(f"PRAGMA synchronous={synchronous}")
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
_UNLOCKED: weakref.WeakSet[Engine] = weakref.WeakSet()  # engines made with writer_lock=False
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


class WriteOutsideWriting(RuntimeError):
    """A store function changed rows outside ``writing``: on SQLite its transaction would
    take the write lock half-way (and may fail with "database is locked"), and where commits
    wait for the disk it would commit on the event loop. A programming error, found by any
    test that runs the function."""


class _WriteOffTheLoop(BaseException):  # noqa: N818 (not an error: a change of route)
    """Raised by ``begin_write`` in a unit of work run inline on the event loop where a
    commit waits for the disk: ``Database.run`` rolls back and runs it again in a worker
    thread. A BaseException, so that a store function's ``except Exception`` lets it pass."""


# The session of the store function that ``Database.call`` is running in this thread (or
# task), and whether it runs on the event loop where commits must not (see Database.run).
_UNIT: ContextVar[Session | None] = ContextVar("flopcards_unit", default=None)
_ON_LOOP = "flopcards_on_loop_no_writes"


def begin_write(session: Session) -> None:
    """Start the session's transaction as a writer (SQLite: BEGIN IMMEDIATE).

    Call it before the first query of a request that will write, so concurrent writers wait
    their turn instead of failing half-way. In a unit of work that ``Database.run`` started
    on the event loop where commits wait for the disk, it routes the unit to a worker
    thread instead (``_WriteOffTheLoop``): nothing has been written yet, so running it again
    there is safe.
    """
    if session.info.get(_ON_LOOP):
        raise _WriteOffTheLoop
    if session.in_transaction():
        # Earlier reads (e.g. the auth lookup) opened a deferred transaction; end it so the
        # write transaction starts with the lock. Loaded objects stay usable (no expiry).
        if session.new or session.dirty or session.deleted:
            # Ending it would flush these changes outside the writer lock, where SQLite can
            # refuse them ("database is locked"): change rows only after begin_write.
            raise RuntimeError("objects were changed before begin_write; change them after")
        session.commit()
    bind = session.get_bind()
    engine = bind.engine if isinstance(bind, Connection) else bind
    if bind.dialect.name == "sqlite" and _HOLDS_LOCK not in session.info:
        if engine not in _UNLOCKED:
            lock = writer_lock(engine)
            lock.acquire()
            session.info[_HOLDS_LOCK] = lock
    options: dict[str, Any] = {WRITE_OPTION: True}
    if bind.dialect.name == "postgresql":
        options["isolation_level"] = WRITE_ISOLATION  # a transaction (reads autocommit)
    try:
        session.connection(execution_options=options)
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
    the event loop, which may itself be waiting for the lock (``Database.run``). Write through
    this rather than ``begin_write``.
    """
    begin_write(session)
    try:
        yield session
    except BaseException:
        session.rollback()
        raise
    if session.in_transaction():  # not committed: nothing is written
        session.rollback()


def end_read(session: Session) -> None:
    """End a read-only transaction, returning its connection to the pool.

    Async handlers call it before they next await: a connection held across an await is
    one fewer for the requests the event loop serves meanwhile. Loaded objects stay usable
    (sessions here do not expire them on commit).
    """
    if session.in_transaction():
        session.commit()


_DML = ("INSERT", "UPDATE", "DELETE", "REPLACE", "MERGE")


def _refuse_writes_outside_writing(
    conn: Connection, cursor: Any, statement: str, parameters: Any, context: Any, many: bool
) -> None:
    """Within a store function run by ``Database``, a statement that changes rows (or locks
    them, ``FOR UPDATE``) must run in a transaction begun by ``writing``."""
    if _UNIT.get() is None or conn.get_execution_options().get(WRITE_OPTION):
        return
    head = statement.lstrip()[:8].upper()
    if head.startswith(_DML) or "FOR UPDATE" in statement.upper():
        raise WriteOutsideWriting(
            f"a store function changed rows outside writing(session): {statement[:120]!r}"
        )


_GUARDED: weakref.WeakSet[Engine] = weakref.WeakSet()


T = TypeVar("T")


def _key(fn: Callable[..., Any]) -> Any:
    """What identifies a store function across calls: its code (a closure made per request
    shares its code with the others), else the object itself."""
    target = getattr(fn, "func", fn)  # functools.partial
    return getattr(target, "__code__", target)


class Database:
    """The app's one way to the database: ``await db.run(fn, *args)``.

    ``fn(session, *args)`` is a function of the store (``api.store``): it does one unit of
    work in a session of its own and ends its transaction before it returns. The session is
    opened and closed here, in the thread that runs ``fn``:

    - SQLite: inline on the event loop, where a statement takes microseconds and a hand-off
      to a thread would cost more than the work; except a write when every commit is synced
      to disk (``synchronous=FULL``): its commit waits milliseconds on the disk, so it runs
      in a worker thread and the loop serves others meanwhile (SQLite lets go of the GIL
      while it waits). No mark decides that: a function run inline that opens ``writing``
      is stopped there, before it writes, and run again in a worker thread; from then on
      it goes there directly.
    - PostgreSQL: always in a worker thread, so the loop never waits on the network.

    Every statement that changes rows must run inside ``writing`` (``WriteOutsideWriting``
    otherwise), so a write can never take the read path.
    """

    def __init__(self, engine: Engine, synced_commits: bool = False) -> None:
        self.engine = engine
        # PostgreSQL: a unit's reads run in autocommit, a write in a transaction (begun by
        # ``writing``). Under READ COMMITTED each statement sees what was committed when it
        # began whether or not a transaction surrounds it, so the reads see exactly what
        # they saw before, without a BEGIN and a COMMIT: two round trips of every read
        # unit (a study step's ``next``, every request's token lookup).
        self._bind: Engine = engine
        if engine.dialect.name == "postgresql":
            self._bind = engine.execution_options(isolation_level="AUTOCOMMIT")
        self.inline = engine.dialect.name == "sqlite"
        self.inline_writes = self.inline and not synced_commits
        self._writers: set[Any] = set()  # store functions seen to write (see run)
        if engine not in _GUARDED:
            event.listen(engine, "before_cursor_execute", _refuse_writes_outside_writing)
            _GUARDED.add(engine)

    def call(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn`` in a fresh session, here and now (CLI, start-up, worker threads)."""
        return self._call(fn, args, on_loop=False)

    def _call(self, fn: Callable[..., T], args: tuple, on_loop: bool) -> T:
        with Session(self._bind, expire_on_commit=False) as session:
            if on_loop:
                session.info[_ON_LOOP] = True
            token = _UNIT.set(session)
            try:
                return fn(session, *args)
            finally:
                _UNIT.reset(token)

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn`` from async code: inline or in a worker thread (see the class)."""
        if self.inline_writes:
            return self.call(fn, *args)
        if self.inline and _key(fn) not in self._writers:
            try:
                return self._call(fn, args, on_loop=True)
            except _WriteOffTheLoop:
                self._writers.add(_key(fn))
        return await anyio.to_thread.run_sync(self.call, fn, *args)

    async def offload(self, fn: Callable[..., T], *args: Any) -> T:
        """Run a bulk unit of work (an import, a long report) in a worker thread, always."""
        return await anyio.to_thread.run_sync(self.call, fn, *args)


def insert_ignore(
    session: Session, table: Any, values: dict[str, Any], key: list[str], where: Any = None
) -> Any | None:
    """``INSERT … ON CONFLICT (key) DO NOTHING RETURNING <primary key>``: the new row's
    primary key, or None when a row with that key already existed.

    Rows created on first use (a review state, a membership) go through this, so two
    requests creating the same row at once both succeed and exactly one inserts. ``where``
    names the predicate of a partial unique index. (The row count is no use here: drivers
    report -1 for an INSERT with RETURNING.) The statement is built once per (dialect,
    table, columns, key, predicate) and the values bound: building it cost more than
    running it (a study step's first answer to an item takes this path).
    """
    dialect = session.get_bind().dialect.name
    # ``where`` by identity (an expression's ``==`` builds SQL): pass a module constant.
    cache_key = (dialect, table.name, tuple(values), tuple(key), id(where))
    cached = _INSERT_IGNORE.get(cache_key)
    if cached is not None:
        statement = cached[1]
    else:
        from sqlalchemy.dialects import postgresql, sqlite

        dialect_insert: Any = postgresql.insert if dialect == "postgresql" else sqlite.insert
        statement = (
            dialect_insert(table)
            .on_conflict_do_nothing(index_elements=key, index_where=where)
            .returning(*table.primary_key.columns)
        )
        with _WRITER_LOCKS_GUARD:
            _INSERT_IGNORE[cache_key] = (where, statement)  # keeps ``where`` (its id) alive
    return session.connection().execute(statement, values).scalar()


# Built insert-or-ignore statements (a handful: one per call site and dialect).
_INSERT_IGNORE: dict[tuple[Any, ...], tuple[Any, Any]] = {}


# Start-up (migrations, content sync) runs once at a time per database, whichever replica
# gets there first; the others wait, then find the work done. The key is an arbitrary
# constant of this application ("flopcards" as a 63-bit number).
ADVISORY_KEY = int.from_bytes(b"flopcard", "big") >> 1


@contextmanager
def startup_lock(engine: Engine) -> Iterator[None]:
    """Hold the database's start-up lock: a PostgreSQL advisory lock on a connection of its
    own, or an ``flock`` on ``<database>-startup.lock`` beside an SQLite file."""
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            conn.exec_driver_sql(f"SELECT pg_advisory_lock({ADVISORY_KEY})")
            conn.commit()
            try:
                yield
            finally:
                conn.exec_driver_sql(f"SELECT pg_advisory_unlock({ADVISORY_KEY})")
                conn.commit()
        return
    database = engine.url.database or ""
    if fcntl is None or database in ("", ":memory:") or database.startswith("file:"):
        yield
        return
    path = Path(database).expanduser().resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(f"{path}-startup.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the flock
