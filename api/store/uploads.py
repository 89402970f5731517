"""Uploads that run one at a time per user, whichever server process receives them.

Rule: at most one live lease per (user, kind): the primary key decides, so two uploads at
once, to two processes, insert one row between them (``INSERT … ON CONFLICT DO NOTHING``).
A lease past its expiry lost its process (a crash mid-upload) and is taken over by a
conditional ``UPDATE … WHERE expires_at < now``, checked by its row count; a finished
upload deletes its own lease only (by its token), never a successor's.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Table, delete, select, update
from sqlmodel import Session

from ..db import insert_ignore, writing
from ..refusals import TooMany
from ..tables import UploadLease

__all__ = ["Busy", "take_lease", "end_lease"]

_LEASE: Table = UploadLease.__table__  # type: ignore[attr-defined]


class Busy(TooMany):
    """The user's upload of this kind is still running (429, with Retry-After)."""

    meaning = "Another upload of yours is still running"


def take_lease(
    session: Session, user_id: int, kind: str, token: str, now: datetime, expires_at: datetime
) -> None:
    """Hold the user's lease of ``kind`` until ``expires_at``; Busy while another holds it."""
    with writing(session):
        values = {"user_id": user_id, "kind": kind, "token": token, "expires_at": expires_at}
        if insert_ignore(session, _LEASE, values, ["user_id", "kind"]) is None:
            mine = (_LEASE.c.user_id == user_id) & (_LEASE.c.kind == kind)
            stale = update(_LEASE).where(mine, _LEASE.c.expires_at < now)
            taken = session.connection().execute(stale.values(token=token, expires_at=expires_at))
            if taken.rowcount != 1:
                held = session.connection().execute(select(_LEASE.c.expires_at).where(mine))
                until = held.scalar()
                session.rollback()
                wait = (until - now).total_seconds() if until is not None else 1.0
                raise Busy(f"an upload of yours ({kind}) is still running", min(wait, 5.0))
        session.commit()


def end_lease(session: Session, user_id: int, kind: str, token: str) -> None:
    """Let go of the lease taken with ``token`` (a successor's is left alone)."""
    with writing(session):
        session.connection().execute(
            delete(_LEASE).where(
                _LEASE.c.user_id == user_id, _LEASE.c.kind == kind, _LEASE.c.token == token
            )
        )
        session.commit()
