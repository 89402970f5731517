"""Study logic shared by the session and progress routers: which items a user sees, what is
due, and how an answer updates an item's FSRS state and the review log in one transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, and_, bindparam, func, insert, or_, update
from sqlalchemy import select as core_select
from sqlalchemy.engine import CursorResult
from sqlmodel import Session, col, select

from .scheduler import FSRS, RATINGS, STATE_NAMES, Outcome
from .tables import CardRow, ReviewLog, ReviewState, StudySession

QUESTION_PREFIX = "q:"  # a question family as a study item: "q:<family id>"

__all__ = [
    "visible_cards",
    "visible_where",
    "due_items",
    "ItemState",
    "StudyRow",
    "load_study",
    "load_state",
    "card_with_state",
    "card_for_fsrs",
    "apply_review",
    "Applied",
    "question_dues",
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


# The study hot path (next, answer) reads and writes through SQLAlchemy Core on these
# tables: plain rows, no ORM identity map or unit of work, a few statements per answer.
_CARD: Table = CardRow.__table__  # type: ignore[attr-defined]
_STATE: Table = ReviewState.__table__  # type: ignore[attr-defined]
_LOG: Table = ReviewLog.__table__  # type: ignore[attr-defined]
_STUDY: Table = StudySession.__table__  # type: ignore[attr-defined]
_STATE_COLUMNS = (
    _STATE.c.id,
    _STATE.c.state,
    _STATE.c.step,
    _STATE.c.stability,
    _STATE.c.difficulty,
    _STATE.c.due,
    _STATE.c.last_review,
    _STATE.c.reps,
    _STATE.c.lapses,
)
CARD_COLUMNS = (
    _CARD.c.id,
    _CARD.c.topic,
    _CARD.c.front,
    _CARD.c.back,
    _CARD.c.tags,
    _CARD.c.source,
    _CARD.c.retired,
    _CARD.c.owner_id,
)


# Statements are built once, with bind parameters: building a select costs several times
# more than running it on SQLite (bench/load.py), and SQLAlchemy caches the compiled form.
_USER: Any = bindparam("user_id")
_NOW: Any = bindparam("now")
_CARD_JOIN = _CARD.outerjoin(
    _STATE, and_(_STATE.c.item_id == _CARD.c.id, _STATE.c.user_id == _USER)
)
_STUDY_BY_ID = core_select(
    _STUDY.c.id,
    _STUDY.c.user_id,
    _STUDY.c.topics,
    _STUDY.c.size,
    _STUDY.c.new_limit,
    _STUDY.c.include_questions,
    _STUDY.c.families,
    _STUDY.c.answered,
    _STUDY.c.new_seen,
    _STUDY.c.created_at,
).where(_STUDY.c.id == bindparam("session_id"), _STUDY.c.user_id == _USER)
_STATE_BY_ITEM = core_select(*_STATE_COLUMNS).where(
    _STATE.c.user_id == _USER, _STATE.c.item_id == bindparam("item_id")
)
_CARD_WITH_STATE = (
    core_select(*CARD_COLUMNS, *_STATE_COLUMNS)
    .select_from(_CARD_JOIN)
    .where(_CARD.c.id == bindparam("item_id"))
)
_INSERT_STATE = insert(_STATE)
_UPDATE_STATE = update(_STATE).where(_STATE.c.id == bindparam("state_id"))
_INSERT_LOG = insert(_LOG)
_COUNT_ANSWER = (
    update(_STUDY)
    .where(_STUDY.c.id == bindparam("session_id"))
    .values(
        answered=_STUDY.c.answered + 1,
        new_seen=_STUDY.c.new_seen + bindparam("was_new"),
    )
)
_QUESTION_DUES = (
    core_select(_STATE.c.item_id, _STATE.c.due <= _NOW)
    .where(_STATE.c.user_id == _USER, _STATE.c.kind == "question")
    .order_by(_STATE.c.due, _STATE.c.item_id)
)


def _next_card_statement(allow_new: bool, by_topic: bool) -> Any:
    due_or_new: Any = _STATE.c.due <= _NOW
    if allow_new:
        due_or_new = or_(due_or_new, _STATE.c.id.is_(None))
    where = [
        _CARD.c.retired.is_(False),
        or_(_CARD.c.owner_id.is_(None), _CARD.c.owner_id == _USER),
        due_or_new,
    ]
    if by_topic:
        where.append(_CARD.c.topic.in_(bindparam("topics", expanding=True)))
    return (
        core_select(*CARD_COLUMNS, *_STATE_COLUMNS)
        .select_from(_CARD_JOIN)
        .where(*where)
        .order_by(
            _STATE.c.id.is_(None),  # reviews before new cards
            _STATE.c.due,
            _CARD.c.owner_id.is_not(None),
            _CARD.c.topic,
            _CARD.c.position,
            _CARD.c.id,
        )
        .limit(1)
    )


_NEXT_CARD = {(a, t): _next_card_statement(a, t) for a in (False, True) for t in (False, True)}


@dataclass(frozen=True)
class ItemState:
    """A user's stored FSRS state of one item (a copy of its ``review_state`` row)."""

    id: int
    state: int
    step: int | None
    stability: float | None
    difficulty: float | None
    due: datetime
    last_review: datetime | None
    reps: int
    lapses: int

    @classmethod
    def from_row(cls, row: Any, offset: int = 0) -> ItemState | None:
        """Read the state columns starting at ``offset``; None when the item has no state."""
        values = tuple(row[offset : offset + len(_STATE_COLUMNS)])
        return None if values[0] is None else cls(*values)


@dataclass(frozen=True)
class StudyRow:
    """A study session as stored (a copy of its ``study_session`` row)."""

    id: int
    user_id: int
    topics: list[str]
    size: int
    new_limit: int
    include_questions: bool
    families: list[str]
    answered: int
    new_seen: int
    created_at: datetime


def load_study(session: Session, session_id: int, user_id: int) -> StudyRow | None:
    """The user's study session ``session_id``; None when missing or someone else's."""
    row = (
        session.connection()
        .execute(_STUDY_BY_ID, {"session_id": session_id, "user_id": user_id})
        .first()
    )
    return None if row is None else StudyRow(*cast(Any, row))


def load_state(session: Session, user_id: int, item_id: str) -> ItemState | None:
    """The user's stored state of one item, or None when never reviewed."""
    row = (
        session.connection()
        .execute(_STATE_BY_ITEM, {"user_id": user_id, "item_id": item_id})
        .first()
    )
    return None if row is None else ItemState.from_row(row)


def card_with_state(
    session: Session, user_id: int, card_id: str
) -> tuple[Any, ItemState | None] | None:
    """A card's row and the user's state of it, in one query; None when no such card."""
    row = (
        session.connection()
        .execute(_CARD_WITH_STATE, {"user_id": user_id, "item_id": card_id})
        .first()
    )
    if row is None:
        return None
    return row, ItemState.from_row(row, len(CARD_COLUMNS))


def card_for_fsrs(fsrs: FSRS, state: ItemState | ReviewState | None, now: datetime):
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


class _Unread:
    """Marks a state the caller has not read."""


UNREAD = _Unread()


def _insert(session: Session, statement: Any, values: dict[str, Any]) -> int:
    """Run an INSERT of one row and return its new primary key."""
    result = cast(CursorResult, session.connection().execute(statement, values))
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0])


@dataclass(frozen=True)
class Applied:
    """The result of one answer: the new state, its log row's id and the interval given."""

    state: ItemState
    log_id: int
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
    state: ItemState | None | _Unread = UNREAD,
    study_id: int | None = None,
) -> Applied:
    """Schedule one answer; write the new state, the log row and the session counters.

    ``state`` is the item's current state when the caller has already read it in this
    write transaction (None: never reviewed); otherwise it is read here. The caller
    commits, so the state and its log row land together or not at all.
    """
    if isinstance(state, _Unread):
        state = load_state(session, user_id, item_id)
    outcome = fsrs.review(card_for_fsrs(fsrs, state, now), RATINGS[rating], now)
    lapsed = rating == "again" and state is not None and state.state == 2
    values: dict[str, Any] = {
        "state": outcome.state,
        "step": outcome.step,
        "stability": outcome.stability,
        "difficulty": outcome.difficulty,
        "due": outcome.due,
        "last_review": now,
    }
    if state is None:
        state_id = _insert(
            session,
            _INSERT_STATE,
            dict(user_id=user_id, item_id=item_id, kind=kind, reps=1, lapses=0, **values),
        )
        reps, lapses = 1, 0
    else:
        state_id, reps, lapses = state.id, state.reps + 1, state.lapses + int(lapsed)
        session.connection().execute(
            _UPDATE_STATE, dict(state_id=state.id, reps=reps, lapses=lapses, **values)
        )
    log_id = _insert(
        session,
        _INSERT_LOG,
        {
            "user_id": user_id,
            "session_id": study_id,
            "item_id": item_id,
            "kind": kind,
            "rating": int(RATINGS[rating]),
            "elapsed_ms": elapsed_ms,
            "reviewed_at": now,
            "state_before": None if state is None else state.state,
            "due_before": None if state is None else state.due,
            "state_after": outcome.state,
            "due_after": outcome.due,
            "stability_after": outcome.stability,
            "difficulty_after": outcome.difficulty,
        },
    )
    if study_id is not None:
        session.connection().execute(
            _COUNT_ANSWER, {"session_id": study_id, "was_new": int(state is None)}
        )
    new_state = ItemState(
        state_id,
        outcome.state,
        outcome.step,
        outcome.stability,
        outcome.difficulty,
        outcome.due,
        now,
        reps,
        lapses,
    )
    return Applied(new_state, log_id, outcome)


def state_name(state: int | None) -> str:
    """Human name of a stored FSRS state; ``None`` is a new item."""
    return "new" if state is None else STATE_NAMES.get(state, "unknown")


def interval_days(delta: timedelta) -> float:
    """An interval in days, rounded to 4 places (minutes stay visible)."""
    return round(delta.total_seconds() / 86400, 4)


def question_dues(
    session: Session, user_id: int, families: list[str], now: datetime
) -> dict[str, bool]:
    """Whether each of these question families is due for the user at ``now``, by item id
    ("q:<id>"), soonest due first; families never asked are absent. (The comparison is
    made by the database: reading every due time back would cost more than the query.)"""
    if not families:
        return {}
    wanted = {QUESTION_PREFIX + f for f in families}
    # All the user's question items, filtered here: a 32-item IN list costs more to bind.
    rows = session.connection().execute(_QUESTION_DUES, {"user_id": user_id, "now": now})
    return {item_id: bool(is_due) for item_id, is_due in rows if item_id in wanted}


def next_card(
    session: Session, user_id: int, topics: list[str] | None, now: datetime, allow_new: bool
) -> tuple[Any, ItemState | None] | None:
    """The next card in one query: the most overdue review, else (if allowed) the first new
    card in note order. Returns the card's row (``CARD_COLUMNS``) and the user's state."""
    params: dict[str, Any] = {"user_id": user_id, "now": now}
    if topics:
        params["topics"] = topics
    row = session.connection().execute(_NEXT_CARD[allow_new, bool(topics)], params).first()
    return None if row is None else (row, ItemState.from_row(row, len(CARD_COLUMNS)))
