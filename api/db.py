"""Database engine: SQLite tuned for a web service (WAL, busy timeout, foreign keys)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.types import DateTime, TypeDecorator
from sqlmodel import Session, create_engine

__all__ = [
    "UTCDateTime",
    "begin_write",
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
# of this process queue on a lock instead, held from begin_write to the transaction's end;
# the busy handler is then only needed between processes.
_SQLITE_WRITERS = threading.RLock()
_HOLDS_LOCK = "flopcards_holds_write_lock"


def begin_write(session: Session) -> None:
    """Start the session's transaction as a writer (SQLite: BEGIN IMMEDIATE).

    Call it before the first query of a request that will write, so concurrent writers wait
    their turn instead of failing half-way.
    """
    if session.in_transaction():
        # Earlier reads (e.g. the auth lookup) opened a deferred transaction; end it so the
        # write transaction starts with the lock. Loaded objects stay usable (no expiry).
        session.commit()
    bind = session.get_bind()
    if bind.dialect.name == "sqlite" and not session.info.get(_HOLDS_LOCK):
        _SQLITE_WRITERS.acquire()
        session.info[_HOLDS_LOCK] = True
    try:
        session.connection(execution_options={WRITE_OPTION: True})
    except BaseException:
        session.rollback()
        raise


@event.listens_for(Session, "after_transaction_end")
def _release_writer(session: Session, transaction: Any) -> None:
    if transaction.parent is None and session.info.pop(_HOLDS_LOCK, False):
        _SQLITE_WRITERS.release()
