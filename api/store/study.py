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

- A card the user suspended or buried (``card_flag``) is never served by ``next``, and an
  answer to it is refused; a card the study rules call a leech (``is_leech_lapse``,
  ``api.services.study_rules``) is suspended and marked a leech in the answer's own
  transaction, under the state row's lock, so concurrent lapses count once each and mark it
  once.
- Every schedule uses the user's own desired retention and FSRS parameters: the session row
  is read joined with ``user_settings``, so the study loop spends no query on them.

Lock order is always session row, then state row, then flag row, so two answers never
deadlock.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, and_, bindparam, exists, func, insert, or_, select, update
from sqlalchemy.engine import CursorResult
from sqlmodel import Session

from ..db import insert_ignore, writing
from ..services.scheduler import FSRS, RATINGS, STATE_NAMES, Outcome, Schedulers
from ..services.study_rules import (
    DEFAULT_NEW_PER_DAY,
    Answer,
    ItemState,
    Reviewed,
    StudyContext,
    new_allowed,
    question_difficulty,
    review,
)
from ..tables import CardFlag, ReviewLog, ReviewState, StudySession, UserSettings
from . import Conflict, NotFound, from_row
from .cards import CARD, CardRecord, card_columns, studiable_by
from .courses import open_assessment_families, question_item
from .imports import note_topics, with_note_tags
from .questions import (
    GradeRecord,
    QuestionRecord,
    answered_once,
    session_question,
)
from .tags import TAG

__all__ = [
    "QUESTION_PREFIX",
    "FLAG",
    "TAG",
    "set_aside",
    "tagged",
    "StudyRow",
    "Applied",
    "SessionCounts",
    "create_study",
    "load_study",
    "session_counts",
    "next_card",
    "question_dues",
    "load_state",
    "apply_review",
    "answer_card",
    "answer_question",
    "Pick",
    "pick_next",
    "Judged",
    "Answered",
    "review_log",
    "LogEntry",
    "fit_history",
    "LoggedReview",
    "CardSchedule",
    "card_schedules",
    "HistoryImport",
    "import_histories",
    "state_name",
    "interval_days",
]

QUESTION_PREFIX = "q:"  # a question family as a study item: "q:<family id>"

_STATE: Table = ReviewState.__table__  # type: ignore[attr-defined]
_LOG: Table = ReviewLog.__table__  # type: ignore[attr-defined]
_STUDY: Table = StudySession.__table__  # type: ignore[attr-defined]
_SETTINGS: Table = UserSettings.__table__  # type: ignore[attr-defined]
FLAG: Table = CardFlag.__table__  # type: ignore[attr-defined]


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
    tags: list[str]
    item_ids: list[str]
    answered: int
    new_seen: int
    created_at: datetime
    # From the user's settings (None: the defaults) and, for ``next``, the review log.
    desired_retention: float | None = None
    fsrs_parameters: list[float] | None = None
    new_per_day: int | None = None
    new_today: int = 0


# Statements are built once, with bind parameters: building a select costs several times
# more than running it on SQLite (bench/load.py), and SQLAlchemy caches the compiled form.
_USER: Any = bindparam("user_id")
_NOW: Any = bindparam("now")
_CARD_JOIN = CARD.outerjoin(_STATE, and_(_STATE.c.item_id == CARD.c.id, _STATE.c.user_id == _USER))


def set_aside(user: Any, now: Any) -> Any:
    """Cards ``user`` suspended (leeches too) or buried past ``now``."""
    return exists().where(
        FLAG.c.user_id == user,
        FLAG.c.card_id == CARD.c.id,
        or_(FLAG.c.suspended.is_(True), FLAG.c.buried_until > now),
    )


def tagged(tags: Any, user: Any, note_topics: Any) -> Any:
    """Cards with any of ``tags``: their own (``card_tag``; a public card's are its topic's),
    or, for the user's imported cards, their note's, stored once on the note row
    (``note_topics``: the user's topics whose note has one of them, ``store.imports``)."""
    own = CARD.c.id.in_(select(TAG.c.card_id).where(TAG.c.tag.in_(tags)))
    return or_(own, and_(CARD.c.owner_id == user, CARD.c.topic.in_(note_topics)))


_STUDY_FIELDS = [f for f in StudyRow.__dataclass_fields__ if f in _STUDY.c]
_STUDY_SETTINGS = _STUDY.outerjoin(_SETTINGS, _SETTINGS.c.user_id == _STUDY.c.user_id)
_NEW_TODAY = (
    select(func.count())
    .where(
        _LOG.c.user_id == _USER,
        _LOG.c.reviewed_at >= bindparam("day_start"),
        _LOG.c.state_before.is_(None),
    )
    .scalar_subquery()
)
_STUDY_BY_ID = (
    select(
        *(_STUDY.c[f] for f in _STUDY_FIELDS),
        _SETTINGS.c.desired_retention,
        _SETTINGS.c.fsrs_parameters,
        _SETTINGS.c.new_per_day,
    )
    .select_from(_STUDY_SETTINGS)
    .where(_STUDY.c.id == bindparam("session_id"), _STUDY.c.user_id == _USER)
)
_STUDY_FOR_NEXT = _STUDY_BY_ID.add_columns(_NEW_TODAY.label("new_today"))
_STATE_BY_ITEM = select(*(_STATE.c[f] for f in _STATE_FIELDS)).where(
    _STATE.c.user_id == _USER, _STATE.c.item_id == bindparam("item_id")
)
_STATE_FOR_UPDATE = _STATE_BY_ITEM.with_for_update()
_CARD_BY_ID = (
    select(*card_columns(), FLAG.c.suspended, FLAG.c.buried_until)
    .select_from(CARD.outerjoin(FLAG, and_(FLAG.c.card_id == CARD.c.id, FLAG.c.user_id == _USER)))
    .where(CARD.c.id == bindparam("item_id"), studiable_by(_USER))
)
_UPDATE_STATE = update(_STATE).where(_STATE.c.id == bindparam("state_id"))
_INSERT_LOG = insert(_LOG)
# The slot and the session with the user's settings in one statement (an answer's first):
# RETURNING reads the settings through subqueries, as a user may have no settings row.
# ("owner": a bind named after a column of the updated table would be taken for a value.)
_SLOT_AND_STUDY = (
    update(_STUDY)
    .where(
        _STUDY.c.id == bindparam("session_id"),
        _STUDY.c.user_id == bindparam("owner"),
        _STUDY.c.answered < _STUDY.c.size,
    )
    .values(answered=_STUDY.c.answered + 1)
    .returning(
        *(_STUDY.c[f] for f in _STUDY_FIELDS),
        *(
            select(_SETTINGS.c[name])
            .where(_SETTINGS.c.user_id == _STUDY.c.user_id)
            .scalar_subquery()
            .label(name)
            for name in ("desired_retention", "fsrs_parameters", "new_per_day")
        ),
    )
)
_COUNT_NEW = (
    update(_STUDY)
    .where(_STUDY.c.id == bindparam("session_id"))
    .values(new_seen=_STUDY.c.new_seen + 1)
)
_QUESTION_DUES = (
    select(_STATE.c.item_id, (_STATE.c.due <= _NOW).label("is_due"), *_STATE_LABELLED)
    .where(_STATE.c.user_id == _USER, _STATE.c.kind == "question")
    .order_by(_STATE.c.due, _STATE.c.item_id)
)


def _next_card_statement(allow_new: bool, by_topic: bool, by_tag: bool) -> Any:
    due_or_new: Any = _STATE.c.due <= _NOW
    if allow_new:
        due_or_new = or_(due_or_new, _STATE.c.id.is_(None))
    where = [studiable_by(_USER), due_or_new, ~set_aside(_USER, _NOW)]
    if by_topic:
        where.append(CARD.c.topic.in_(bindparam("topics", expanding=True)))
    if by_tag:
        where.append(
            tagged(
                bindparam("tags", expanding=True), _USER, bindparam("note_topics", expanding=True)
            )
        )
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


_BOOLS = (False, True)
_NEXT_CARD = {
    (a, t, g): _next_card_statement(a, t, g) for a in _BOOLS for t in _BOOLS for g in _BOOLS
}
_ANSWERED_IN = select(_LOG.c.item_id).where(_LOG.c.session_id == bindparam("session_id")).distinct()
_CARDS_BY_IDS = (
    select(*card_columns(), *_STATE_LABELLED)
    .select_from(_CARD_JOIN)
    .where(
        CARD.c.id.in_(bindparam("ids", expanding=True)),
        studiable_by(_USER),
        ~set_aside(_USER, _NOW),
    )
)


# --- sessions ----------------------------------------------------------------------------


def create_study(session: Session, user_id: int, fields: dict[str, Any]) -> StudyRow:
    """Store a new study session (``fields``: topics, size, new_limit, include_questions,
    families, tags, item_ids)."""
    with writing(session):
        study = StudySession(user_id=user_id, **fields)
        session.add(study)
        session.commit()
    assert study.id is not None
    return load_study(session, study.id, user_id)


def load_study(
    session: Session, session_id: int, user_id: int, day_start: datetime | None = None
) -> StudyRow:
    """The user's study session ``session_id`` with the user's settings (and, given the
    day's start, how many new items they began today); NotFound when missing or someone
    else's (so existence does not leak)."""
    params: dict[str, Any] = {"session_id": session_id, "user_id": user_id}
    statement = _STUDY_BY_ID
    if day_start is not None:
        statement, params["day_start"] = _STUDY_FOR_NEXT, day_start
    row = session.connection().execute(statement, params).first()
    if row is None:
        raise NotFound(f"no study session {session_id}")
    return from_row(StudyRow, row)


def scheduler_of(schedulers: Schedulers, study: StudyRow) -> FSRS:
    """The scheduler of the session's user: their retention and parameters."""
    return schedulers.get(study.desired_retention, study.fsrs_parameters)


@dataclass(frozen=True)
class SessionCounts:
    """How many items of a session's topics are due now, and how many are new."""

    due_now: int
    new_available: int


def session_counts(session: Session, study: StudyRow, now: datetime) -> SessionCounts:
    """Due and new card counts over the session's topics, for the user."""
    where: list[Any] = [studiable_by(study.user_id), ~set_aside(study.user_id, now)]
    if study.topics:
        where.append(CARD.c.topic.in_(study.topics))
    if study.tags:
        topics = note_topics(session, study.user_id, study.tags)
        where.append(tagged(study.tags, study.user_id, topics))
    if study.item_ids:
        where.append(CARD.c.id.in_(study.item_ids))
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
    session: Session,
    user_id: int,
    topics: list[str] | None,
    now: datetime,
    allow_new: bool,
    tags: list[str] | None = None,
) -> tuple[CardRecord, ItemState | None] | None:
    """The next card in one query: the most overdue review, else (if allowed) the first new
    card in note order, with the user's state of it; never a suspended or buried card."""
    params: dict[str, Any] = {"user_id": user_id, "now": now}
    if topics:
        params["topics"] = topics
    if tags:
        params["tags"] = tags
        params["note_topics"] = note_topics(session, user_id, tags)
    statement = _NEXT_CARD[allow_new, bool(topics), bool(tags)]
    row = session.connection().execute(statement, params).first()
    return None if row is None else _card_and_state(row)


def _card_and_state(row: Any) -> tuple[CardRecord, ItemState | None]:
    card = CardRecord(**{f: row._mapping[f] for f in CardRecord.__dataclass_fields__})
    return card, _state_from(row, "st_")


def question_dues(
    session: Session, user_id: int, families: list[str], now: datetime
) -> dict[str, bool]:
    """Whether each of these question families is due for the user at ``now``, by item id
    ("q:<id>"), soonest due first; families never asked are absent. (The comparison is
    made by the database: reading every due time back would cost more than the query.)"""
    return {
        k: due for k, (due, _state) in _question_states(session, user_id, families, now).items()
    }


def _question_states(
    session: Session, user_id: int, families: list[str], now: datetime
) -> dict[str, tuple[bool, ItemState]]:
    """``question_dues`` with each family's state, read in the same statement."""
    if not families:
        return {}
    wanted = {QUESTION_PREFIX + f for f in families}
    # All the user's question items, filtered here: a 32-item IN list costs more to bind.
    rows = session.connection().execute(_QUESTION_DUES, {"user_id": user_id, "now": now})
    out = {}
    for r in rows:
        if r.item_id in wanted:
            state = _state_from(r, "st_")
            assert state is not None
            out[r.item_id] = (bool(r.is_due), state)
    return out


def load_state(session: Session, user_id: int, item_id: str) -> ItemState | None:
    """The user's stored state of one item, or None when never reviewed."""
    params = {"user_id": user_id, "item_id": item_id}
    row = session.connection().execute(_STATE_BY_ITEM, params).first()
    return None if row is None else _state_from(row)


# --- answering ---------------------------------------------------------------------------


def _study_with_slot(session: Session, session_id: int, user_id: int) -> StudyRow:
    """Count one answer in the user's session and read the session with the user's
    settings, in one statement; NotFound when it is not the user's, Conflict when it is
    complete. The conditional update is the rule; the row it changes stays locked until
    commit on PostgreSQL, so concurrent answers of one session queue here. The returned
    ``answered`` counts this answer."""
    params = {"session_id": session_id, "owner": user_id}
    row = session.connection().execute(_SLOT_AND_STUDY, params).first()
    if row is None:
        study = load_study(session, session_id, user_id)  # NotFound, or else it is complete
        raise Conflict(f"session {study.id} is complete ({study.size} answers)")
    return from_row(StudyRow, row)


@dataclass(frozen=True)
class Applied:
    """The result of one answer: the new state, its log row's id and the interval given
    (and whether this lapse made the card a leech, now suspended)."""

    state: ItemState
    log_id: int
    outcome: Outcome
    was_new: bool
    leech: bool = False


def _locked_state(session: Session, user_id: int, item_id: str) -> ItemState | None:
    params = {"user_id": user_id, "item_id": item_id}
    row = session.connection().execute(_STATE_FOR_UPDATE, params).first()
    return None if row is None else _state_from(row)


def _write_state(
    session: Session,
    fsrs: FSRS,
    user_id: int,
    item_id: str,
    answer: Answer,
    now: datetime,
) -> tuple[ItemState | None, ItemState, Reviewed]:
    """Apply the study rules (``api.services.study_rules.review``) to the locked current state and
    write the new one; (state before, state after, what the rules returned)."""
    context = StudyContext(fsrs=fsrs)
    before = _locked_state(session, user_id, item_id)
    if before is None:
        reviewed = review(None, answer, now, context)
        values = {"user_id": user_id, "item_id": item_id, "kind": answer.kind} | reviewed.state
        state_id = insert_ignore(session, _STATE, values, ["user_id", "item_id"])
        if state_id is not None:
            return None, ItemState(id=state_id, **reviewed.state), reviewed
        before = _locked_state(session, user_id, item_id)  # a concurrent first answer won
        assert before is not None
    reviewed = review(before, answer, now, context)
    session.connection().execute(_UPDATE_STATE, {"state_id": before.id, **reviewed.state})
    return before, ItemState(id=before.id, **reviewed.state), reviewed


def mark_leech(session: Session, user_id: int, card_id: str, now: datetime) -> None:
    """Suspend the card for the user and mark it a leech, in the caller's transaction."""
    values = {"user_id": user_id, "card_id": card_id, "suspended": True, "leech": True,
              "updated_at": now}  # fmt: skip
    if insert_ignore(session, FLAG, values, ["user_id", "card_id"]) is None:
        where = and_(FLAG.c.user_id == user_id, FLAG.c.card_id == card_id)
        session.connection().execute(
            update(FLAG).where(where).values(suspended=True, leech=True, updated_at=now)
        )


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
    answer = Answer(kind, rating, elapsed_ms)
    before, after, reviewed = _write_state(session, fsrs, user_id, item_id, answer, now)
    log = {"user_id": user_id, "session_id": study_id, "item_id": item_id} | reviewed.log
    result = cast(CursorResult, session.connection().execute(_INSERT_LOG, log))
    assert result.inserted_primary_key is not None
    if study_id is not None and before is None:
        session.connection().execute(_COUNT_NEW, {"session_id": study_id})
    if reviewed.leech:
        mark_leech(session, user_id, item_id, now)
    return Applied(
        after, int(result.inserted_primary_key[0]), reviewed.outcome, before is None,
        reviewed.leech,
    )  # fmt: skip


def _session_card(session: Session, study: StudyRow, card_id: str, now: datetime) -> CardRecord:
    """A card the session may rate: studiable by its user, in its topics, tags or items,
    and not set aside (409: suspended or buried since it was served)."""
    params = {"item_id": card_id, "user_id": study.user_id}
    row = session.connection().execute(_CARD_BY_ID, params).first()
    outside = row is not None and (
        (study.topics and row.topic not in study.topics)
        or (study.item_ids and row.id not in study.item_ids)
        or (study.tags and not _has_tag(session, row, study.tags))
    )
    if row is None or outside:
        raise NotFound(f"no item '{card_id}' in session {study.id}")
    if row.suspended or (row.buried_until is not None and row.buried_until > now):
        raise Conflict(f"card '{card_id}' is suspended or buried")
    return CardRecord(**{f: row._mapping[f] for f in CardRecord.__dataclass_fields__})


def _has_tag(session: Session, card: Any, tags: list[str]) -> bool:
    """Whether the card has one of ``tags``, its own or (imported) its note's."""
    query = select(TAG.c.tag).where(TAG.c.card_id == card.id, TAG.c.tag.in_(tags)).limit(1)
    if session.connection().execute(query).first() is not None:
        return True
    return card.owner_id is not None and card.topic in note_topics(session, card.owner_id, tags)


def answer_card(
    session: Session,
    schedulers: Schedulers,
    user_id: int,
    session_id: int,
    card_id: str,
    rating: str,
    elapsed_ms: int,
    now: datetime,
) -> Applied:
    """Rate a card in a study session: slot, state, log row and counters in one commit."""
    with writing(session):
        study = _study_with_slot(session, session_id, user_id)
        card = _session_card(session, study, card_id, now)
        applied = apply_review(
            session,
            scheduler_of(schedulers, study),
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


@dataclass(frozen=True)
class Judged:
    """A graded answer to a pending question: what is stored of it and the rating it earns
    (None: unreadable, nothing is written), with whatever the caller wants back (``shown``)."""

    record: GradeRecord
    rating: str | None
    shown: Any = None


@dataclass(frozen=True)
class Answered:
    """What answering a question did: the variant it answered, the grade (None when the
    judge could not grade it here and now) and the schedule (None when nothing was written)."""

    pending: QuestionRecord
    judged: Judged | None
    applied: Applied | None


def answer_question(
    session: Session,
    schedulers: Schedulers,
    user_id: int,
    session_id: int,
    family: str,
    judge: Callable[[QuestionRecord], Judged | None],
    elapsed_ms: int,
    now: datetime,
) -> Answered:
    """Answer the session's pending variant of ``family`` in one write transaction: the slot
    (with the session), the checks (the family is the session's, not paused by an open
    assessment, a variant is pending), the grade (``judge``: pure CPU, a fraction of a
    millisecond), then the attempt (once), the family's state and its log row, committed
    together; a refusal or an ungraded answer rolls it all back, the slot included.

    ``judge`` returns None when it cannot grade without generating the variant (not in this
    process's memory): nothing is written and the caller generates it off the loop and asks
    again. An unreadable answer (no rating) writes nothing either."""
    with writing(session):
        try:
            study = _study_with_slot(session, session_id, user_id)
        except Conflict:  # complete; a refusal that comes first says so instead
            _pending(session, load_study(session, session_id, user_id), family, now)
            raise
        pending = _pending(session, study, family, now, slot_taken=True)
        judged = judge(pending)
        if judged is None or judged.rating is None:
            return Answered(pending, judged, None)  # rolled back by writing: nothing written
        answered_once(session, pending.id, user_id, judged.record)
        applied = apply_review(
            session,
            scheduler_of(schedulers, study),
            user_id=user_id,
            item_id=QUESTION_PREFIX + family,
            kind="question",
            rating=judged.rating,
            elapsed_ms=elapsed_ms,
            now=now,
            study_id=study.id,
        )
        session.commit()
    return Answered(pending, judged, applied)


def _pending(
    session: Session, study: StudyRow, family: str, now: datetime, slot_taken: bool = False
) -> QuestionRecord:
    """The session's variant of ``family`` waiting for an answer; NotFound when the family is
    not the session's, Conflict when its practice is paused by an open assessment, when the
    session is complete (unless this answer's slot is taken) or when nothing is pending."""
    if family not in study.families:
        raise NotFound(f"no item '{QUESTION_PREFIX + family}' in session {study.id}")
    item = question_item(session, study.user_id, study.id, family, now)
    if item.any_open and family in open_assessment_families(session, study.user_id, now):
        raise Conflict(f"practice of {family} is paused until you submit the assessment using it")
    if not slot_taken and study.answered >= study.size:
        raise Conflict(f"session {study.id} is complete ({study.size} answers)")
    if item.pending is None:
        raise Conflict(f"no pending question for '{QUESTION_PREFIX + family}': get it from next")
    return item.pending


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
    last: tuple[int, int] | None = None  # (seed, difficulty) of the family's last variant


def _new_allowed(study: StudyRow) -> bool:
    """Room for a new item (``api.services.study_rules.new_allowed``) with the user's daily cap."""
    per_day = DEFAULT_NEW_PER_DAY if study.new_per_day is None else study.new_per_day
    return new_allowed(
        study.new_seen, study.new_limit, study.new_today, StudyContext(new_per_day=per_day)
    )


def _pick(session: Session, study: StudyRow, now: datetime) -> Pick | None:
    """The most overdue card or question, else a new one (every third new item is a
    question family when the session has some)."""
    if study.item_ids:
        return _pick_listed(session, study, now)
    topics, user_id = study.topics or None, study.user_id
    allow_new = _new_allowed(study)
    found = next_card(session, user_id, topics, now, allow_new, study.tags or None)
    card, card_state = found or (None, None)
    dues = _question_states(session, user_id, study.families, now)
    due_item = next((item_id for item_id, (is_due, _) in dues.items() if is_due), None)
    due_state = None if due_item is None else dues[due_item][1]
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


def _pick_listed(session: Session, study: StudyRow, now: datetime) -> Pick | None:
    """A session of exactly the given items (a readiness session): each once, in the given
    order, due or not, skipping cards set aside since."""
    conn = session.connection()
    done = set(conn.execute(_ANSWERED_IN, {"session_id": study.id}).scalars())
    todo = [i for i in study.item_ids if i not in done]
    card_ids = [i for i in todo if not i.startswith(QUESTION_PREFIX)]
    params = {"ids": card_ids, "user_id": study.user_id, "now": now}
    rows = conn.execute(_CARDS_BY_IDS, params).all() if card_ids else []
    cards = {row.id: _card_and_state(row) for row in rows}
    for item_id in todo:
        if item_id in cards:
            card, state = cards[item_id]
            return Pick(study, "card", state, card=card)
        family = item_id.removeprefix(QUESTION_PREFIX)
        if item_id.startswith(QUESTION_PREFIX) and family in study.families:
            return Pick(study, "question", load_state(session, study.user_id, item_id),
                        family=family)  # fmt: skip
    return None


# Draws a variant for a question item: (family, difficulty, the last variant's seed and
# difficulty) -> the seed of one other than the last, or None when it cannot answer now.
Draw = Callable[[str, int, "tuple[int, int] | None"], "int | None"]


def pick_next(
    session: Session, session_id: int, user_id: int, now: datetime, draw: Draw | None = None
) -> Pick | None:
    """The session's next item (see ``_pick``), or None when the session is done.

    A question item with no pending variant gets one here when ``draw`` (an in-memory pool,
    ``api.services.questions.pooled``) gives a seed: stored right after the read, in the same unit
    of work, so a question's ``next`` costs one more transaction than a card's and nothing
    more (on PostgreSQL, no second trip to a worker thread). Otherwise the pick comes back
    without one, and the caller draws off the loop and stores it (``session_question``)."""
    day_start = now.replace(hour=0, minute=0, second=0, microsecond=0)
    study = load_study(session, session_id, user_id, day_start)
    pick = None if study.answered >= study.size else _pick(session, study, now)
    item = None
    if pick is not None and pick.family is not None:
        # Practice of an open assessment's families is paused (api.services.assessments): checked in
        # the statement that reads the picked question, and the pick made again without the
        # paused families when it is one of them.
        item = question_item(session, user_id, study.id, pick.family, now)
        paused = open_assessment_families(session, user_id, now) if item.any_open else set()
        if pick.family in paused:
            study = replace(study, families=[f for f in study.families if f not in paused])
            pick = _pick(session, study, now)
            item = None
    if pick is not None and pick.family is not None:
        item = item or question_item(session, user_id, study.id, pick.family, now)
        # A new variant must differ from the one the student saw last (a review is fresh).
        last = None if item.pending is not None else item.last
        pick = Pick(study, "question", pick.state, family=pick.family, pending=item.pending,
                    last=last)  # fmt: skip
    if pick is not None and pick.card is not None and pick.card.owner_id is not None:
        # An imported card's note tags are stored once, on its note (api.store.imports).
        (card,) = with_note_tags(session, [pick.card])
        pick = replace(pick, card=card)
    session.commit()
    if draw is not None and pick is not None and pick.family is not None and pick.pending is None:
        difficulty = question_difficulty(pick.state)
        seed = draw(pick.family, difficulty, pick.last)
        if seed is not None:
            stored = session_question(session, user_id, study.id, pick.family, seed, difficulty)
            pick = replace(pick, pending=stored)
    return pick


def state_name(state: int | None) -> str:
    """Human name of a stored FSRS state; ``None`` is a new item."""
    return "new" if state is None else STATE_NAMES.get(state, "unknown")


def interval_days(delta: timedelta) -> float:
    """An interval in days, rounded to 4 places (minutes stay visible)."""
    return round(delta.total_seconds() / 86400, 4)


# --- the review log ---------------------------------------------------------------------


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


def fit_history(session: Session, user_id: int, max_rows: int) -> list[tuple]:
    """The user's answers as (item id, rating, when, elapsed ms), oldest first: at most
    ``max_rows`` of them, the most recent (what an FSRS fit reads)."""
    columns = (_LOG.c.item_id, _LOG.c.rating, _LOG.c.reviewed_at, _LOG.c.elapsed_ms)
    query = select(*columns).where(_LOG.c.user_id == user_id).order_by(_LOG.c.id.desc())
    rows = session.connection().execute(query.limit(max_rows)).all()
    session.commit()
    return [(r.item_id, r.rating, r.reviewed_at, r.elapsed_ms) for r in reversed(rows)]


# --- scheduling carried to and from Anki -------------------------------------------------


@dataclass(frozen=True)
class LoggedReview:
    """One logged answer, as an Anki revlog row needs it."""

    rating: int
    reviewed_at: datetime
    elapsed_ms: int
    state_before: int | None
    state_after: int
    due_after: datetime


@dataclass(frozen=True)
class CardSchedule:
    """A user's FSRS state of one card, their flags on it and its logged answers."""

    state: int  # 1 learning, 2 review, 3 relearning
    stability: float | None
    difficulty: float | None
    due: datetime
    last_review: datetime | None
    reps: int
    lapses: int
    suspended: bool
    buried: bool
    reviews: list[LoggedReview]


def card_schedules(
    session: Session, user_id: int, card_ids: list[str], now: datetime
) -> dict[str, CardSchedule]:
    """The user's scheduling of these cards (those they studied), for an Anki export."""
    conn = session.connection()
    states = conn.execute(
        select(*(_STATE.c[f] for f in _STATE_FIELDS), _STATE.c.item_id,
               FLAG.c.suspended, FLAG.c.buried_until)  # fmt: skip
        .select_from(_STATE.outerjoin(
            FLAG, and_(FLAG.c.card_id == _STATE.c.item_id, FLAG.c.user_id == user_id)))
        .where(_STATE.c.user_id == user_id, _STATE.c.item_id.in_(card_ids))
    ).all()  # fmt: skip
    logs: dict[str, list[LoggedReview]] = {}
    columns = [_LOG.c[f] for f in LoggedReview.__dataclass_fields__]
    query = select(_LOG.c.item_id, *columns).where(
        _LOG.c.user_id == user_id, _LOG.c.item_id.in_(card_ids)).order_by(_LOG.c.id)  # fmt: skip
    for row in conn.execute(query):
        fields = {f: row._mapping[f] for f in LoggedReview.__dataclass_fields__}
        logs.setdefault(row.item_id, []).append(LoggedReview(**fields))
    session.commit()
    return {
        r.item_id: CardSchedule(
            state=r.state, stability=r.stability, difficulty=r.difficulty, due=r.due,
            last_review=r.last_review, reps=r.reps, lapses=r.lapses,
            suspended=bool(r.suspended),
            buried=r.buried_until is not None and r.buried_until > now,
            reviews=logs.get(r.item_id, []),
        )
        for r in states
    }  # fmt: skip


@dataclass(frozen=True)
class HistoryImport:
    """What importing an Anki review history did."""

    cards_imported: int
    reviews_imported: int
    cards_already_studied: list[str]


def import_histories(
    session: Session,
    schedulers: Schedulers,
    user_id: int,
    histories: dict[str, list[tuple[int, datetime, int]]],
) -> HistoryImport:
    """Replay each card's Anki answers through the user's own scheduler, oldest first, in
    one transaction: the state and the log come out as if they had been given here. Cards
    the user already studied here are left alone (two histories cannot be merged in order);
    a card studied meanwhile by a concurrent answer is a Conflict and nothing is written."""
    names = {int(v): k for k, v in RATINGS.items()}
    with writing(session):
        fsrs = _user_scheduler(session, schedulers, user_id)
        studied = set(session.connection().execute(
            select(_STATE.c.item_id).where(_STATE.c.user_id == user_id,
                                           _STATE.c.item_id.in_(list(histories)))
        ).scalars())  # fmt: skip
        reviews = 0
        for card_id in sorted(set(histories) - studied):
            for n, (rating, when, taken) in enumerate(histories[card_id]):
                applied = apply_review(session, fsrs, user_id=user_id, item_id=card_id,
                                       kind="card", rating=names[rating],
                                       elapsed_ms=min(taken, 86_400_000), now=when)  # fmt: skip
                if n == 0 and not applied.was_new:
                    raise Conflict(f"card '{card_id}' was studied meanwhile; import again")
                reviews += 1
        session.commit()
    return HistoryImport(len(set(histories) - studied), reviews, sorted(studied))


def _user_scheduler(session: Session, schedulers: Schedulers, user_id: int) -> FSRS:
    query = select(_SETTINGS.c.desired_retention, _SETTINGS.c.fsrs_parameters).where(
        _SETTINGS.c.user_id == user_id
    )
    row = session.connection().execute(query).first()
    return schedulers.get(*(row if row is not None else (None, None)))
