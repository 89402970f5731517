"""Study logic shared by the session and progress routers: which items a user sees, what is
due, and how an answer updates an item's FSRS state and the review log in one transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_
from sqlmodel import Session, col, select

from .scheduler import FSRS, RATINGS, STATE_NAMES, Outcome
from .tables import CardRow, ReviewLog, ReviewState, StudySession

QUESTION_PREFIX = "q:"  # a question family as a study item: "q:<family id>"

__all__ = [
    "visible_cards",
    "visible_where",
    "due_items",
    "get_state",
    "card_for_fsrs",
    "apply_review",
    "Applied",
    "due_questions",
    "new_families",
    "QUESTION_PREFIX",
]


def visible_where(user_id: int, topics: list[str] | None = None) -> list[Any]:
    """Conditions on CardRow for the cards ``user_id`` may study: live public ones and theirs."""
    where: list[Any] = [
        col(CardRow.retired).is_(False),
        or_(col(CardRow.owner_id).is_(None), col(CardRow.owner_id) == user_id),
    ]
    if topics:
        where.append(col(CardRow.topic).in_(topics))
    return where


def visible_cards(user_id: int, topics: list[str] | None = None):
    """A select of the cards ``user_id`` may study."""
    return select(CardRow).where(*visible_where(user_id, topics))


def due_items(
    session: Session, user_id: int, topics: list[str] | None, now: datetime, limit: int
) -> list[tuple[CardRow, ReviewState]]:
    """Cards whose review is due at ``now``, most overdue first."""
    q = (
        select(CardRow, ReviewState)
        .where(*visible_where(user_id, topics))
        .join(
            ReviewState,
            and_(col(ReviewState.item_id) == col(CardRow.id), col(ReviewState.user_id) == user_id),
        )
        .where(ReviewState.due <= now)
        .order_by(col(ReviewState.due), col(CardRow.id))
        .limit(limit)
    )
    return [(card, state) for card, state in session.exec(q)]


def count_new(session: Session, user_id: int, topics: list[str] | None) -> int:
    """How many visible cards the user has never reviewed."""
    sub = (
        visible_cards(user_id, topics)
        .outerjoin(
            ReviewState,
            and_(col(ReviewState.item_id) == col(CardRow.id), col(ReviewState.user_id) == user_id),
        )
        .where(col(ReviewState.id).is_(None))
        .subquery()
    )
    return session.exec(select(func.count()).select_from(sub)).one()


def get_state(session: Session, user_id: int, item_id: str) -> ReviewState | None:
    """The user's stored state of one item, or None when never reviewed."""
    return session.exec(
        select(ReviewState).where(ReviewState.user_id == user_id, ReviewState.item_id == item_id)
    ).first()


def card_for_fsrs(fsrs: FSRS, state: ReviewState | None, now: datetime):
    """Our stored state as an ``fsrs.Card`` (a fresh one for a never-reviewed item)."""
    if state is None:
        return fsrs.to_card(None, None, None, None, None, None, now)
    return fsrs.to_card(
        state.state,
        state.step,
        state.stability,
        state.difficulty,
        state.due,
        state.last_review,
        now,
    )


@dataclass(frozen=True)
class Applied:
    """The result of one answer: the new state, its log row and the interval given."""

    state: ReviewState
    log: ReviewLog
    outcome: Outcome


def apply_review(
    session: Session,
    fsrs: FSRS,
    *,
    user_id: int,
    item_id: str,
    kind: str,
    rating: str,
    elapsed_ms: int,
    now: datetime,
    study: StudySession | None = None,
) -> Applied:
    """Schedule one answer and stage the new state, the log row and the session counters.

    The caller commits, so the state and its log row land together or not at all.
    """
    state = get_state(session, user_id, item_id)
    was_new = state is None
    before_state = None if state is None else state.state
    before_due = None if state is None else state.due
    outcome = fsrs.review(card_for_fsrs(fsrs, state, now), RATINGS[rating], now)
    if state is None:
        state = ReviewState(
            user_id=user_id, item_id=item_id, kind=kind, state=outcome.state, due=outcome.due
        )
    state.state = outcome.state
    state.step = outcome.step
    state.stability = outcome.stability
    state.difficulty = outcome.difficulty
    state.due = outcome.due
    state.last_review = now
    state.reps += 1
    if rating == "again" and before_state == 2:
        state.lapses += 1
    session.add(state)
    log = ReviewLog(
        user_id=user_id,
        session_id=study.id if study else None,
        item_id=item_id,
        kind=kind,
        rating=int(RATINGS[rating]),
        elapsed_ms=elapsed_ms,
        reviewed_at=now,
        state_before=before_state,
        due_before=before_due,
        state_after=outcome.state,
        due_after=outcome.due,
        stability_after=outcome.stability,
        difficulty_after=outcome.difficulty,
    )
    session.add(log)
    if study is not None:
        study.answered += 1
        study.new_seen += int(was_new)
        session.add(study)
    return Applied(state, log, outcome)


def state_name(state: int | None) -> str:
    """Human name of a stored FSRS state; ``None`` is a new item."""
    return "new" if state is None else STATE_NAMES.get(state, "unknown")


def interval_days(delta: timedelta) -> float:
    """An interval in days, rounded to 4 places (minutes stay visible)."""
    return round(delta.total_seconds() / 86400, 4)


def due_questions(
    session: Session, user_id: int, families: list[str], now: datetime, limit: int
) -> list[ReviewState]:
    """Question items (one per family) whose review is due at ``now``."""
    if not families:
        return []
    q = (
        select(ReviewState)
        .where(
            col(ReviewState.user_id) == user_id,
            col(ReviewState.item_id).in_([QUESTION_PREFIX + f for f in families]),
            col(ReviewState.due) <= now,
        )
        .order_by(col(ReviewState.due), col(ReviewState.item_id))
        .limit(limit)
    )
    return list(session.exec(q))


def new_families(session: Session, user_id: int, families: list[str]) -> list[str]:
    """The session's families the user has never been asked, in the given order."""
    if not families:
        return []
    seen = set(
        session.exec(
            select(ReviewState.item_id).where(
                col(ReviewState.user_id) == user_id,
                col(ReviewState.item_id).in_([QUESTION_PREFIX + f for f in families]),
            )
        ).all()
    )
    return [f for f in families if QUESTION_PREFIX + f not in seen]


def next_card(
    session: Session, user_id: int, topics: list[str] | None, now: datetime, allow_new: bool
) -> tuple[CardRow, ReviewState | None] | None:
    """The next card in one query: the most overdue review, else (if allowed) the first new
    card in note order."""
    due_or_new = col(ReviewState.due) <= now
    if allow_new:
        due_or_new = or_(due_or_new, col(ReviewState.id).is_(None))
    q = (
        select(CardRow, ReviewState)
        .where(*visible_where(user_id, topics))
        .outerjoin(
            ReviewState,
            and_(col(ReviewState.item_id) == col(CardRow.id), col(ReviewState.user_id) == user_id),
        )
        .where(due_or_new)
        .order_by(
            col(ReviewState.id).is_(None),  # reviews before new cards
            col(ReviewState.due),
            col(CardRow.owner_id).is_not(None),
            col(CardRow.topic),
            col(CardRow.position),
            col(CardRow.id),
        )
        .limit(1)
    )
    row = session.exec(q).first()
    return None if row is None else (row[0], row[1])
