"""A user's flags on cards: suspended, buried until a time, marked a leech.

One ``card_flag`` row per user and card, created on first use with ``INSERT … ON CONFLICT
DO NOTHING`` and then changed by one ``UPDATE``, so concurrent suspends, unsuspends and
leech marks never fail and never make two rows; the last one to commit wins. The study
queries skip flagged cards (``api.store.study.set_aside``), and an answer to a card
suspended since it was served is refused there.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, exists, select, update
from sqlmodel import Session

from ..db import insert_ignore, utcnow, writing
from . import NotFound
from .cards import CARD, studiable_by
from .study import FLAG

__all__ = ["FlagRecord", "set_flags", "card_flags", "flags_for", "flagged", "next_midnight"]


@dataclass(frozen=True)
class FlagRecord:
    """A user's flags on one card (all clear when they never flagged it)."""

    card_id: str
    suspended: bool
    leech: bool
    buried_until: datetime | None


def next_midnight(now: datetime) -> datetime:
    """The start of the next UTC day: a buried card comes back then (as in Anki)."""
    return now.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)


def _read(session: Session, user_id: int, card_id: str) -> FlagRecord:
    columns = (FLAG.c.card_id, FLAG.c.suspended, FLAG.c.leech, FLAG.c.buried_until)
    query = select(*columns).where(FLAG.c.user_id == user_id, FLAG.c.card_id == card_id)
    row = session.connection().execute(query).first()
    return FlagRecord(card_id, False, False, None) if row is None else FlagRecord(**row._mapping)


def _studiable(session: Session, user_id: int, card_id: str) -> None:
    query = select(CARD.c.id).where(CARD.c.id == card_id, studiable_by(user_id))
    if session.connection().execute(query).first() is None:
        raise NotFound(f"no card '{card_id}'")


def set_flags(session: Session, user_id: int, card_id: str, changes: dict[str, Any]) -> FlagRecord:
    """Change the user's flags on a card they may study (``changes``: suspended,
    buried_until); NotFound for a card they cannot see."""
    now = utcnow()
    with writing(session):
        _studiable(session, user_id, card_id)
        row = {"user_id": user_id, "card_id": card_id, "suspended": False, "leech": False,
               "updated_at": now}  # fmt: skip
        insert_ignore(session, FLAG, row, ["user_id", "card_id"])
        where = and_(FLAG.c.user_id == user_id, FLAG.c.card_id == card_id)
        session.connection().execute(update(FLAG).where(where).values(**changes, updated_at=now))
        record = _read(session, user_id, card_id)
        session.commit()
    return record


def card_flags(session: Session, user_id: int, card_id: str) -> FlagRecord:
    """The user's flags on a card they may read."""
    record = _read(session, user_id, card_id)
    session.commit()
    return record


def flags_for(session: Session, user_id: int, card_ids: list[str]) -> dict[str, FlagRecord]:
    """The user's flags on these cards (cards never flagged are absent)."""
    if not card_ids:
        return {}
    columns = (FLAG.c.card_id, FLAG.c.suspended, FLAG.c.leech, FLAG.c.buried_until)
    query = select(*columns).where(FLAG.c.user_id == user_id, FLAG.c.card_id.in_(card_ids))
    rows = {r.card_id: FlagRecord(**r._mapping) for r in session.connection().execute(query)}
    session.commit()
    return rows


def flagged(user_id: int, kind: str, now: datetime) -> Any:
    """Cards the user flagged ``kind`` (suspended, leech or buried now), for listings."""
    condition = {
        "suspended": FLAG.c.suspended.is_(True),
        "leech": FLAG.c.leech.is_(True),
        "buried": FLAG.c.buried_until > now,
    }[kind]
    return exists().where(FLAG.c.user_id == user_id, FLAG.c.card_id == CARD.c.id, condition)
