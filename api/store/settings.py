"""A user's study settings, their FSRS parameters and the state of their last FSRS fit.

A user without a ``user_settings`` row has the defaults; the row is created on first change
with ``INSERT … ON CONFLICT DO NOTHING`` and then changed by one ``UPDATE`` of only the
fields given, so two concurrent changes both land (field by field, the later one wins) and
neither fails.

The fit's state (``fsrs_fit``, JSON) is changed only under the row's lock (``SELECT … FOR
UPDATE`` on PostgreSQL; SQLite's single writer serialises the transaction): a fit starts only
when none is running (or the running one is stale: its process died), and a finished fit
writes its result only if it is still the job the row names, so a reset or a newer fit is
never overwritten by an older one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Table, select, update
from sqlmodel import Session

from ..db import insert_ignore, utcnow, writing
from ..services.scheduler import DEFAULT_RETENTION
from ..services.study_rules import DEFAULT_NEW_PER_DAY  # the rule's default, kept there
from ..tables import UserSettings
from . import Conflict

__all__ = [
    "SETTINGS",
    "DEFAULT_NEW_PER_DAY",
    "FIT_STALE_AFTER",
    "SettingsRecord",
    "settings_columns",
    "get_settings",
    "update_settings",
    "start_fit",
    "finish_fit",
    "reset_parameters",
]

SETTINGS: Table = UserSettings.__table__  # type: ignore[attr-defined]
# A fit still "running" after this long lost its process (a restart): another may start.
FIT_STALE_AFTER = timedelta(minutes=15)


@dataclass(frozen=True)
class SettingsRecord:
    """A user's settings (the defaults when they never changed any)."""

    user_id: int
    desired_retention: float
    new_per_day: int
    fsrs_parameters: list[float] | None
    fsrs_fit: dict[str, Any] | None
    updated_at: datetime | None


def settings_columns() -> tuple[Any, ...]:
    """The columns of a :class:`SettingsRecord`, by name."""
    return tuple(SETTINGS.c[f] for f in SettingsRecord.__dataclass_fields__)


def _defaults(user_id: int) -> SettingsRecord:
    return SettingsRecord(user_id, DEFAULT_RETENTION, DEFAULT_NEW_PER_DAY, None, None, None)


def _read(session: Session, user_id: int, lock: bool = False) -> SettingsRecord | None:
    query = select(*settings_columns()).where(SETTINGS.c.user_id == user_id)
    if lock:
        query = query.with_for_update()
    row = session.connection().execute(query).first()
    return None if row is None else SettingsRecord(**row._mapping)


def get_settings(session: Session, user_id: int) -> SettingsRecord:
    """The user's settings, or the defaults."""
    record = _read(session, user_id)
    session.commit()
    return record or _defaults(user_id)


def _ensure_row(session: Session, user_id: int, now: datetime) -> None:
    values = {
        "user_id": user_id,
        "desired_retention": DEFAULT_RETENTION,
        "new_per_day": DEFAULT_NEW_PER_DAY,
        "updated_at": now,
    }
    insert_ignore(session, SETTINGS, values, ["user_id"])


def update_settings(session: Session, user_id: int, changes: dict[str, Any]) -> SettingsRecord:
    """Change some settings (validated by the caller) and return them all as stored."""
    now = utcnow()
    with writing(session):
        _ensure_row(session, user_id, now)
        statement = update(SETTINGS).where(SETTINGS.c.user_id == user_id)
        session.connection().execute(statement.values(**changes, updated_at=now))
        record = _read(session, user_id)
        session.commit()
    assert record is not None
    return record


def _running(fit: dict[str, Any] | None, now: datetime) -> bool:
    if not fit or fit.get("status") != "running":
        return False
    started = datetime.fromisoformat(fit["started_at"])
    return now - started < FIT_STALE_AFTER


def start_fit(session: Session, user_id: int, job_id: str, reviews: int) -> dict[str, Any]:
    """Mark a fit as running for the user; Conflict when one already is."""
    now = utcnow()
    with writing(session):
        _ensure_row(session, user_id, now)
        current = _read(session, user_id, lock=True)
        assert current is not None
        if _running(current.fsrs_fit, now):
            raise Conflict("an FSRS optimisation is already running for you")
        fit = {"status": "running", "job_id": job_id, "started_at": now.isoformat(),
               "reviews_used": reviews}  # fmt: skip
        statement = update(SETTINGS).where(SETTINGS.c.user_id == user_id)
        session.connection().execute(statement.values(fsrs_fit=fit))
        session.commit()
    return fit


def finish_fit(
    session: Session, user_id: int, job_id: str, fit: dict[str, Any], parameters: list[float] | None
) -> bool:
    """Store a fit's outcome (and, when given, the parameters to use from now on), unless
    the row no longer names this job (reset or superseded): then nothing, and False."""
    with writing(session):
        current = _read(session, user_id, lock=True)
        if current is None or (current.fsrs_fit or {}).get("job_id") != job_id:
            return False
        values: dict[str, Any] = {"fsrs_fit": (current.fsrs_fit or {}) | fit}
        if parameters is not None:
            values |= {"fsrs_parameters": parameters, "updated_at": utcnow()}
        statement = update(SETTINGS).where(SETTINGS.c.user_id == user_id)
        session.connection().execute(statement.values(**values))
        session.commit()
    return True


def reset_parameters(session: Session, user_id: int) -> SettingsRecord:
    """Back to fsrs's default parameters; a fit still running will not apply its result."""
    now = utcnow()
    with writing(session):
        _ensure_row(session, user_id, now)
        fit = {"status": "reset", "reset_at": now.isoformat()}
        statement = update(SETTINGS).where(SETTINGS.c.user_id == user_id)
        session.connection().execute(
            statement.values(fsrs_parameters=None, fsrs_fit=fit, updated_at=now)
        )
        record = _read(session, user_id)
        session.commit()
    assert record is not None
    return record
