"""What progress and readiness are computed from: the user's item states (cards and question
families), the cards they may study, their flags and summaries of their review log, read in
one transaction. The computations themselves are in ``api.services.progress``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Table, and_, func, or_, select
from sqlmodel import Session

from ..tables import ReviewLog, ReviewState
from .cards import CARD, studiable_by
from .study import FLAG, QUESTION_PREFIX

__all__ = [
    "ItemFact",
    "LeechRecord",
    "ProgressFacts",
    "progress_facts",
    "readiness_facts",
    "card_fronts",
    "MAX_READINESS_ITEMS",
]

_STATE: Table = ReviewState.__table__  # type: ignore[attr-defined]
_LOG: Table = ReviewLog.__table__  # type: ignore[attr-defined]
# Readiness reads every studied item's state; a user's log is bounded by their reviews, but
# the forecast is bounded too, so one request never reads more than this many states.
MAX_READINESS_ITEMS = 50_000


@dataclass(frozen=True)
class ItemFact:
    """A studied item: a card (with its topic) or a question family (topic None: the HTTP
    layer knows the family's topic)."""

    item_id: str
    kind: str
    topic: str | None
    state: int
    due: datetime
    stability: float | None
    last_review: datetime | None
    set_aside: bool  # suspended or buried now (cards only)


@dataclass(frozen=True)
class LeechRecord:
    """A card the user lapsed on so often that it was suspended."""

    card_id: str
    topic: str
    front: str
    lapses: int
    suspended: bool


@dataclass(frozen=True)
class ProgressFacts:
    """What the progress page is computed from, read in one transaction."""

    items: list[ItemFact]
    topic_totals: dict[str, int]  # live cards per topic the user may study
    leeches: list[LeechRecord]
    suspended: int  # cards the user suspended (leeches included)
    reviewed_today: int
    retention_kept: int  # reviews of items in the review state not rated "again"
    retention_reviews: int  # reviews of items in the review state
    review_days: set[date]  # UTC dates with a review
    total_reviews: int


_ITEM_COLUMNS = (
    _STATE.c.item_id,
    _STATE.c.kind,
    _STATE.c.state,
    _STATE.c.due,
    _STATE.c.stability,
    _STATE.c.last_review,
)


def _flag_join(user_id: int) -> Any:
    return and_(FLAG.c.card_id == CARD.c.id, FLAG.c.user_id == user_id)


def _items(session: Session, user_id: int, now: datetime, limit: int | None = None) -> list[Any]:
    """The user's studied items: live cards they may study, and question families."""
    card_on = and_(CARD.c.id == _STATE.c.item_id, studiable_by(user_id))
    aside = or_(FLAG.c.suspended.is_(True), FLAG.c.buried_until > now)
    query = (
        select(*_ITEM_COLUMNS, CARD.c.topic, func.coalesce(aside, False).label("set_aside"))
        .select_from(_STATE.outerjoin(CARD, card_on).outerjoin(FLAG, _flag_join(user_id)))
        .where(
            _STATE.c.user_id == user_id,
            or_(CARD.c.id.is_not(None), _STATE.c.item_id.startswith(QUESTION_PREFIX)),
        )
        .order_by(_STATE.c.id)
    )
    if limit is not None:
        query = query.limit(limit)
    return list(session.connection().execute(query))


def _item(row: Any) -> ItemFact:
    kind = "question" if row.item_id.startswith(QUESTION_PREFIX) else "card"
    return ItemFact(row.item_id, kind, row.topic, row.state, row.due, row.stability,
                    row.last_review, bool(row.set_aside))  # fmt: skip


def _leeches(session: Session, user_id: int) -> list[LeechRecord]:
    query = (
        select(
            CARD.c.id.label("card_id"),
            CARD.c.topic,
            CARD.c.front,
            FLAG.c.suspended,
            func.coalesce(_STATE.c.lapses, 0).label("lapses"),
        )  # fmt: skip
        .select_from(
            FLAG.join(CARD, CARD.c.id == FLAG.c.card_id).outerjoin(
                _STATE, and_(_STATE.c.item_id == CARD.c.id, _STATE.c.user_id == user_id)
            )
        )
        .where(FLAG.c.user_id == user_id, FLAG.c.leech.is_(True), studiable_by(user_id))
        .order_by(CARD.c.topic, CARD.c.id)
    )
    return [LeechRecord(**r._mapping) for r in session.connection().execute(query)]


def progress_facts(
    session: Session, user_id: int, now: datetime, day_start: datetime
) -> ProgressFacts:
    """The user's item states, topic sizes, flags and review-log summaries."""
    conn = session.connection()
    live = select(CARD.c.topic).where(studiable_by(user_id)).subquery()
    totals = conn.execute(select(live.c.topic, func.count()).group_by(live.c.topic)).all()
    mine = _LOG.c.user_id == user_id
    in_review = and_(mine, _LOG.c.state_before == 2)
    kept, mature = conn.execute(
        select(func.count().filter(_LOG.c.rating != 1), func.count()).where(in_review)
    ).one()
    suspended = select(func.count()).where(FLAG.c.user_id == user_id, FLAG.c.suspended.is_(True))
    days = select(_LOG.c.reviewed_at).where(mine)
    facts = ProgressFacts(
        items=[_item(r) for r in _items(session, user_id, now)],
        topic_totals={topic: int(n) for topic, n in totals},
        leeches=_leeches(session, user_id),
        suspended=int(conn.execute(suspended).scalar_one()),
        reviewed_today=conn.execute(
            select(func.count()).where(mine, _LOG.c.reviewed_at >= day_start)
        ).scalar_one(),
        retention_kept=int(kept),
        retention_reviews=int(mature),
        review_days={d.date() for d in conn.execute(days).scalars()},
        total_reviews=conn.execute(select(func.count()).where(mine)).scalar_one(),
    )
    session.commit()
    return facts


def readiness_facts(session: Session, user_id: int, now: datetime) -> list[ItemFact]:
    """The user's studied items, at most ``MAX_READINESS_ITEMS``."""
    items = [_item(r) for r in _items(session, user_id, now, MAX_READINESS_ITEMS)]
    session.commit()
    return items


def card_fronts(session: Session, card_ids: list[str]) -> dict[str, str]:
    """The fronts of a few cards (the items a forecast names), by id."""
    rows = session.connection().execute(
        select(CARD.c.id, CARD.c.front).where(CARD.c.id.in_(card_ids))
    )
    fronts = {r.id: r.front for r in rows}
    session.commit()
    return fronts
