"""Study sessions, review states and the review log.

The rules kept here under concurrency, on SQLite and PostgreSQL alike:

- A session never records more answers than its size: each answer first takes a slot with
  ``UPDATE study_session SET answered = answered + 1 WHERE id = :id AND answered < size``
  and is refused (:class:`Conflict`) when no row changed. The same row update serialises
  the answers of one session on PostgreSQL (the row stays locked until commit), and a
  CHECK constraint (``answered <= size``) stands behind it.
- An item's review state and its log row change together and never lose an update: the
  state row is read ``FOR UPDATE`` (PostgreSQL; on SQLite the write transaction holds the
  database's single write lock), and a first review inserts it with ``ON CONFLICT DO
  NOTHING``, falling back to the locked update when another answer created it first. So
  ``reps`` always equals the item's log rows.

Lock order is always session row, then state row, so two answers never deadlock.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, and_, bindparam, func, insert, or_, select, update
from sqlalchemy.engine import CursorResult
from sqlmodel import Session

from ..db import insert_ignore, utcnow, writing
from ..imports import with_note_tags
from ..scheduler import FSRS, RATINGS, STATE_NAMES, Outcome
from ..tables import ReviewLog, ReviewState, StudySession
from . import Conflict, NotFound, from_row
from .cards import CARD, CardRecord, card_columns, studiable_by
from .courses import open_assessment_families
from .questions import GradeRecord, QuestionRecord, answered_once, pending_question

__all__ = [
    "QUESTION_PREFIX",
    "ItemState",
    "StudyRow",
    "Applied",
    "SessionCounts",
    "create_study",
    "load_study",
    "session_counts",
    "next_card",
    "question_dues",
    "load_state",
    "card_for_fsrs",
    "take_slot",
    "apply_review",
    "answer_card",
    "answer_question",
    "Pick",
    "pick_next",
    "pending_for",
    "progress_facts",
    "ProgressFacts",
    "review_log",
    "LogEntry",
    "state_name",
    "interval_days",
]

QUESTION_PREFIX = "q:"  # a question family as a study item: "q:<family id>"

_STATE: Table = ReviewState.__table__  # type: ignore[attr-defined]
_LOG: Table = ReviewLog.__table__  # type: ignore[attr-defined]
_STUDY: Table = StudySession.__table__  # type: ignore[attr-defined]


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


_STATE_FIELDS = tuple(ItemState.__dataclass_fields__)
# Beside a card's columns the state's are labelled "st_<name>" (both tables have an id).
_STATE_LABELLED = tuple(_STATE.c[f].label(f"st_{f}") for f in _STATE_FIELDS)


def _state_from(row: Any, prefix: str = "") -> ItemState | None:
    """The state in a row's columns named ``prefix + field``; None when the item is new."""
    mapping = row._mapping
    if mapping[prefix + "id"] is None:
        return None
    return ItemState(**{f: mapping[prefix + f] for f in _STATE_FIELDS})


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


# Statements are built once, with bind parameters: building a select costs several times
# more than running it on SQLite (bench/load.py), and SQLAlchemy caches the compiled form.
_USER: Any = bindparam("user_id")
_NOW: Any = bindparam("now")
_CARD_JOIN = CARD.outerjoin(_STATE, and_(_STATE.c.item_id == CARD.c.id, _STATE.c.user_id == _USER))
_STUDY_BY_ID = select(*(_STUDY.c[f] for f in StudyRow.__dataclass_fields__)).where(
    _STUDY.c.id == bindparam("session_id"), _STUDY.c.user_id == _USER
)
_STATE_BY_ITEM = select(*(_STATE.c[f] for f in _STATE_FIELDS)).where(
    _STATE.c.user_id == _USER, _STATE.c.item_id == bindparam("item_id")
)
_STATE_FOR_UPDATE = _STATE_BY_ITEM.with_for_update()
_CARD_BY_ID = select(*card_columns()).where(CARD.c.id == bindparam("item_id"), studiable_by(_USER))
_UPDATE_STATE = update(_STATE).where(_STATE.c.id == bindparam("state_id"))
_INSERT_LOG = insert(_LOG)
_TAKE_SLOT = (
    update(_STUDY)
    .where(_STUDY.c.id == bindparam("session_id"), _STUDY.c.answered < _STUDY.c.size)
    .values(answered=_STUDY.c.answered + 1)
)
_COUNT_NEW = (
    update(_STUDY)
    .where(_STUDY.c.id == bindparam("session_id"))
    .values(new_seen=_STUDY.c.new_seen + 1)
)
_QUESTION_DUES = (
    select(_STATE.c.item_id, (_STATE.c.due <= _NOW).label("is_due"))
    .where(_STATE.c.user_id == _USER, _STATE.c.kind == "question")
    .order_by(_STATE.c.due, _STATE.c.item_id)
)


def _next_card_statement(allow_new: bool, by_topic: bool) -> Any:
    due_or_new: Any = _STATE.c.due <= _NOW
    if allow_new:
        due_or_new = or_(due_or_new, _STATE.c.id.is_(None))
    where = [studiable_by(_USER), due_or_new]
    if by_topic:
        where.append(CARD.c.topic.in_(bindparam("topics", expanding=True)))
    return (
        select(*card_columns(), *_STATE_LABELLED)
        .select_from(_CARD_JOIN)
        .where(*where)
        .order_by(
            _STATE.c.id.is_(None),  # reviews before new cards
            _STATE.c.due,
            CARD.c.owner_id.is_not(None),
            CARD.c.topic,
            CARD.c.position,
            CARD.c.id,
        )
        .limit(1)
    )


_NEXT_CARD = {(a, t): _next_card_statement(a, t) for a in (False, True) for t in (False, True)}


# --- sessions ----------------------------------------------------------------------------


def create_study(session: Session, user_id: int, fields: dict[str, Any]) -> StudyRow:
    """Store a new study session (``fields``: topics, size, new_limit, include_questions,
    families)."""
    with writing(session):
        study = StudySession(user_id=user_id, **fields)
        session.add(study)
        session.commit()
    return StudyRow(**{f: getattr(study, f) for f in StudyRow.__dataclass_fields__})


def load_study(session: Session, session_id: int, user_id: int) -> StudyRow:
    """The user's study session ``session_id``; NotFound when missing or someone else's
    (so existence does not leak)."""
    params = {"session_id": session_id, "user_id": user_id}
    row = session.connection().execute(_STUDY_BY_ID, params).first()
    if row is None:
        raise NotFound(f"no study session {session_id}")
    return from_row(StudyRow, row)


@dataclass(frozen=True)
class SessionCounts:
    """How many items of a session's topics are due now, and how many are new."""

    due_now: int
    new_available: int


def session_counts(session: Session, study: StudyRow, now: datetime) -> SessionCounts:
    """Due and new card counts over the session's topics, for the user."""
    where: list[Any] = [studiable_by(study.user_id)]
    if study.topics:
        where.append(CARD.c.topic.in_(study.topics))
    joined = CARD.outerjoin(
        _STATE, and_(_STATE.c.item_id == CARD.c.id, _STATE.c.user_id == study.user_id)
    )
    query = select(
        func.count(_STATE.c.id).filter(_STATE.c.due <= now).label("due_now"),
        func.count().filter(_STATE.c.id.is_(None)).label("new_available"),
    ).select_from(joined)
    row = session.connection().execute(query.where(*where)).one()
    session.commit()
    return SessionCounts(int(row.due_now), int(row.new_available))


def next_card(
    session: Session, user_id: int, topics: list[str] | None, now: datetime, allow_new: bool
) -> tuple[CardRecord, ItemState | None] | None:
    """The next card in one query: the most overdue review, else (if allowed) the first new
    card in note order, with the user's state of it."""
    params: dict[str, Any] = {"user_id": user_id, "now": now}
    if topics:
        params["topics"] = topics
    row = session.connection().execute(_NEXT_CARD[allow_new, bool(topics)], params).first()
    if row is None:
        return None
    card = CardRecord(**{f: row._mapping[f] for f in CardRecord.__dataclass_fields__})
    return card, _state_from(row, "st_")


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
    return {r.item_id: bool(r.is_due) for r in rows if r.item_id in wanted}


def load_state(session: Session, user_id: int, item_id: str) -> ItemState | None:
    """The user's stored state of one item, or None when never reviewed."""
    params = {"user_id": user_id, "item_id": item_id}
    row = session.connection().execute(_STATE_BY_ITEM, params).first()
    return None if row is None else _state_from(row)


# --- answering ---------------------------------------------------------------------------


def card_for_fsrs(fsrs: FSRS, state: ItemState | None, now: datetime):
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


def take_slot(session: Session, study: StudyRow) -> None:
    """Count one answer in the session, or raise Conflict when it is complete.

    The conditional update is the rule; the row it changes stays locked until commit on
    PostgreSQL, so concurrent answers of one session queue here.
    """
    params = {"session_id": study.id}
    result = cast(CursorResult, session.connection().execute(_TAKE_SLOT, params))
    if result.rowcount != 1:
        raise Conflict(f"session {study.id} is complete ({study.size} answers)")


@dataclass(frozen=True)
class Applied:
    """The result of one answer: the new state, its log row's id and the interval given."""

    state: ItemState
    log_id: int
    outcome: Outcome
    was_new: bool


def _locked_state(session: Session, user_id: int, item_id: str) -> ItemState | None:
    params = {"user_id": user_id, "item_id": item_id}
    row = session.connection().execute(_STATE_FOR_UPDATE, params).first()
    return None if row is None else _state_from(row)


def _state_values(outcome: Outcome, now: datetime) -> dict[str, Any]:
    return {
        "state": outcome.state,
        "step": outcome.step,
        "stability": outcome.stability,
        "difficulty": outcome.difficulty,
        "due": outcome.due,
        "last_review": now,
    }


def _write_state(
    session: Session,
    fsrs: FSRS,
    user_id: int,
    item_id: str,
    kind: str,
    rating: str,
    now: datetime,
) -> tuple[ItemState | None, ItemState, Outcome]:
    """Schedule the answer on the locked current state; (state before, after, outcome)."""
    before = _locked_state(session, user_id, item_id)
    if before is None:
        outcome = fsrs.review(card_for_fsrs(fsrs, None, now), RATINGS[rating], now)
        first = {"user_id": user_id, "item_id": item_id, "kind": kind, "reps": 1, "lapses": 0}
        values = first | _state_values(outcome, now)
        state_id = insert_ignore(session, _STATE, values, ["user_id", "item_id"])
        if state_id is not None:
            fields: dict[str, Any] = {f: values.get(f) for f in _STATE_FIELDS if f != "id"}
            return None, ItemState(id=state_id, **fields), outcome
        before = _locked_state(session, user_id, item_id)  # a concurrent first answer won
        assert before is not None
    outcome = fsrs.review(card_for_fsrs(fsrs, before, now), RATINGS[rating], now)
    lapsed = rating == "again" and before.state == 2
    values = _state_values(outcome, now) | {
        "reps": before.reps + 1,
        "lapses": before.lapses + int(lapsed),
    }
    session.connection().execute(_UPDATE_STATE, {"state_id": before.id, **values})
    after = ItemState(**{f: getattr(before, f) for f in _STATE_FIELDS} | values)
    return before, after, outcome


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
    study_id: int | None = None,
) -> Applied:
    """Schedule one answer: the new state and its log row (and, in a session, the count of
    new items seen). The caller has begun a write transaction and commits it, so the state
    and its log row land together or not at all."""
    before, after, outcome = _write_state(session, fsrs, user_id, item_id, kind, rating, now)
    log = {
        "user_id": user_id,
        "session_id": study_id,
        "item_id": item_id,
        "kind": kind,
        "rating": int(RATINGS[rating]),
        "elapsed_ms": elapsed_ms,
        "reviewed_at": now,
        "state_before": None if before is None else before.state,
        "due_before": None if before is None else before.due,
        "state_after": outcome.state,
        "due_after": outcome.due,
        "stability_after": outcome.stability,
        "difficulty_after": outcome.difficulty,
    }
    result = cast(CursorResult, session.connection().execute(_INSERT_LOG, log))
    assert result.inserted_primary_key is not None
    if study_id is not None and before is None:
        session.connection().execute(_COUNT_NEW, {"session_id": study_id})
    return Applied(after, int(result.inserted_primary_key[0]), outcome, before is None)


def _session_card(session: Session, study: StudyRow, card_id: str) -> CardRecord:
    """A card the session may rate: studiable by its user and in its topics."""
    params = {"item_id": card_id, "user_id": study.user_id}
    row = session.connection().execute(_CARD_BY_ID, params).first()
    if row is None or (study.topics and row.topic not in study.topics):
        raise NotFound(f"no item '{card_id}' in session {study.id}")
    return from_row(CardRecord, row)


def answer_card(
    session: Session,
    fsrs: FSRS,
    user_id: int,
    session_id: int,
    card_id: str,
    rating: str,
    elapsed_ms: int,
    now: datetime,
) -> Applied:
    """Rate a card in a study session: slot, state, log row and counters in one commit."""
    with writing(session):
        study = load_study(session, session_id, user_id)
        take_slot(session, study)
        card = _session_card(session, study, card_id)
        applied = apply_review(
            session,
            fsrs,
            user_id=user_id,
            item_id=card.id,
            kind="card",
            rating=rating,
            elapsed_ms=elapsed_ms,
            now=now,
            study_id=study.id,
        )
        session.commit()
    return applied


def answer_question(
    session: Session,
    fsrs: FSRS,
    user_id: int,
    session_id: int,
    question: QuestionRecord,
    grade: GradeRecord,
    rating: str,
    elapsed_ms: int,
    now: datetime,
) -> Applied:
    """Answer a session's pending question: slot, the attempt (once), the family's state and
    its log row in one commit."""
    with writing(session):
        study = load_study(session, session_id, user_id)
        take_slot(session, study)
        answered_once(session, question.id, user_id, grade)
        applied = apply_review(
            session,
            fsrs,
            user_id=user_id,
            item_id=QUESTION_PREFIX + question.family,
            kind="question",
            rating=rating,
            elapsed_ms=elapsed_ms,
            now=now,
            study_id=study.id,
        )
        session.commit()
    return applied


@dataclass(frozen=True)
class Pick:
    """The next item of a session: a card, or a question family (with its pending
    variant when one is waiting), and the user's state of it."""

    study: StudyRow
    kind: str  # "card" or "question"
    state: ItemState | None
    card: CardRecord | None = None
    family: str | None = None
    pending: QuestionRecord | None = None


def _pick(session: Session, study: StudyRow, now: datetime) -> Pick | None:
    """The most overdue card or question, else a new one (every third new item is a
    question family when the session has some)."""
    topics, user_id = study.topics or None, study.user_id
    allow_new = study.new_seen < study.new_limit
    card, card_state = next_card(session, user_id, topics, now, allow_new) or (None, None)
    dues = question_dues(session, user_id, study.families, now)
    due_item = next((item_id for item_id, is_due in dues.items() if is_due), None)
    due_state = None if due_item is None else load_state(session, user_id, due_item)
    if card_state is not None and (due_state is None or card_state.due <= due_state.due):
        return Pick(study, "card", card_state, card=card)
    if due_item is not None:
        return Pick(study, "question", due_state, family=due_item.removeprefix(QUESTION_PREFIX))
    if not allow_new:
        return None
    fams = [f for f in study.families if QUESTION_PREFIX + f not in dues]
    if fams and (card is None or study.new_seen % 3 == 2):
        return Pick(study, "question", None, family=fams[0])
    return None if card is None else Pick(study, "card", None, card=card)


def pick_next(session: Session, session_id: int, user_id: int, now: datetime) -> Pick | None:
    """The session's next item (see ``_pick``), or None when the session is done."""
    study = load_study(session, session_id, user_id)
    if study.families:  # practice of an open assessment's families is paused (api.assessments)
        paused = open_assessment_families(session, user_id, now)
        if paused:
            study = replace(study, families=[f for f in study.families if f not in paused])
    pick = None if study.answered >= study.size else _pick(session, study, now)
    if pick is not None and pick.family is not None:
        pending = pending_question(session, study.id, pick.family)
        pick = Pick(study, "question", pick.state, family=pick.family, pending=pending)
    if pick is not None and pick.card is not None and pick.card.owner_id is not None:
        # An imported card's note tags are stored once, on its note (api.imports).
        (card,) = with_note_tags(session, [pick.card])
        pick = replace(pick, card=card)
    session.commit()
    return pick


def pending_for(session: Session, session_id: int, user_id: int, family: str) -> QuestionRecord:
    """The variant of ``family`` waiting for an answer in the session; NotFound or Conflict
    when there is none."""
    study = load_study(session, session_id, user_id)
    if family not in study.families:
        raise NotFound(f"no item '{QUESTION_PREFIX + family}' in session {session_id}")
    if family in open_assessment_families(session, user_id, utcnow()):
        raise Conflict(f"practice of {family} is paused until you submit the assessment using it")
    if study.answered >= study.size:  # a quick refusal; take_slot is the rule
        raise Conflict(f"session {study.id} is complete ({study.size} answers)")
    pending = pending_question(session, study.id, family)
    session.commit()
    if pending is None:
        raise Conflict(f"no pending question for '{QUESTION_PREFIX + family}': get it from next")
    return pending


def state_name(state: int | None) -> str:
    """Human name of a stored FSRS state; ``None`` is a new item."""
    return "new" if state is None else STATE_NAMES.get(state, "unknown")


def interval_days(delta: timedelta) -> float:
    """An interval in days, rounded to 4 places (minutes stay visible)."""
    return round(delta.total_seconds() / 86400, 4)


# --- progress ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ProgressFacts:
    """What the progress page is computed from, read in one transaction."""

    states: list[tuple[str, int, datetime]]  # (topic, FSRS state, due) of studied cards
    topic_totals: dict[str, int]  # live cards per topic the user may study
    reviewed_today: int
    mature_ratings: list[int]  # ratings of reviews of items in the review state
    review_days: set[Any]  # UTC dates with a review
    total_reviews: int


def progress_facts(session: Session, user_id: int, day_start: datetime) -> ProgressFacts:
    """The user's card states, topic sizes and review-log summaries."""
    conn = session.connection()
    live = select(CARD.c.id, CARD.c.topic).where(studiable_by(user_id)).subquery()
    states = conn.execute(
        select(live.c.topic, _STATE.c.state, _STATE.c.due).join(
            _STATE, and_(_STATE.c.item_id == live.c.id, _STATE.c.user_id == user_id)
        )
    ).all()
    totals = conn.execute(select(live.c.topic, func.count()).group_by(live.c.topic)).all()
    mine = _LOG.c.user_id == user_id
    facts = ProgressFacts(
        states=[(r.topic, r.state, r.due) for r in states],
        topic_totals={topic: int(n) for topic, n in totals},
        reviewed_today=conn.execute(
            select(func.count()).where(mine, _LOG.c.reviewed_at >= day_start)
        ).scalar_one(),
        mature_ratings=list(
            conn.execute(select(_LOG.c.rating).where(mine, _LOG.c.state_before == 2)).scalars()
        ),
        review_days={
            d.date() for d in conn.execute(select(_LOG.c.reviewed_at).where(mine)).scalars()
        },
        total_reviews=conn.execute(select(func.count()).where(mine)).scalar_one(),
    )
    session.commit()
    return facts


@dataclass(frozen=True)
class LogEntry:
    """One row of the review log."""

    id: int
    item_id: str
    kind: str
    rating: int
    elapsed_ms: int
    reviewed_at: datetime
    session_id: int | None
    state_before: int | None
    due_before: datetime | None
    state_after: int
    due_after: datetime


def review_log(session: Session, user_id: int) -> list[LogEntry]:
    """The user's whole review log, oldest first."""
    columns = [_LOG.c[f] for f in LogEntry.__dataclass_fields__]
    query = select(*columns).where(_LOG.c.user_id == user_id).order_by(_LOG.c.id)
    rows = [from_row(LogEntry, r) for r in session.connection().execute(query)]
    session.commit()
    return rows
