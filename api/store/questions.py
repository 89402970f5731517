"""Generated question instances and their graded attempts.

An instance stores which variant was shown (family, seed, difficulty); the truth is
regenerated from it when grading, never stored. Every graded answer, in practice, in a
study session or in a submitted exam, is recorded by :func:`record_grade`: an attempt row
and the instance's latest result, in the caller's transaction.

Rules under concurrency: a study session's pending variant of a family is unique (a partial
unique index on ``(session_id, family) WHERE graded_at IS NULL``, filled with ``ON CONFLICT
DO NOTHING``), and it is answered once (``UPDATE … WHERE graded_at IS NULL``, checked by its
row count).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, insert, select, update
from sqlalchemy.engine import CursorResult
from sqlmodel import Session

from ..db import insert_ignore, utcnow, writing
from ..tables import QuestionAttempt, QuestionInstance
from . import Conflict, NotFound, from_row

__all__ = [
    "QuestionRecord",
    "GradeRecord",
    "add_question",
    "own_question",
    "pending_question",
    "session_question",
    "record_grade",
    "grade_practice",
    "AttemptRecord",
    "list_attempts",
]

QI: Table = QuestionInstance.__table__  # type: ignore[attr-defined]
ATTEMPT: Table = QuestionAttempt.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class QuestionRecord:
    """A question instance as stored."""

    id: int
    user_id: int
    family: str
    seed: int
    difficulty: int
    session_id: int | None
    exam_id: int | None
    position: int
    graded_at: datetime | None
    status: str | None
    score: float | None
    attempts: int
    hints_used: int


@dataclass(frozen=True)
class GradeRecord:
    """What is stored of a grade: its status, score, named mistakes and the answer."""

    status: str
    score: float
    answer: str
    diagnosis: list[str] = field(default_factory=list)


QUESTION_COLUMNS = tuple(QI.c[f] for f in QuestionRecord.__dataclass_fields__)
_BY_ID = select(*QUESTION_COLUMNS).where(QI.c.id == bindparam("question_id"))
_PENDING = (
    select(*QUESTION_COLUMNS)
    .where(
        QI.c.session_id == bindparam("session_id"),
        QI.c.family == bindparam("family"),
        QI.c.graded_at.is_(None),
    )
    .order_by(QI.c.id.desc())
    .limit(1)
)
_INSERT_QUESTION = insert(QI)
_LAST_VARIANT = (
    select(QI.c.seed, QI.c.difficulty)
    .where(QI.c.user_id == bindparam("user_id"), QI.c.family == bindparam("family"))
    .order_by(QI.c.id.desc())
    .limit(1)
)
_INSERT_ATTEMPT = insert(ATTEMPT)
# The predicate of the partial unique index on a session's pending variant of a family.
_PENDING_INDEX = QI.c.graded_at.is_(None) & QI.c.session_id.is_not(None)


def _record_statement(once: bool) -> Any:
    where = [QI.c.id == bindparam("question_id")]
    if once:
        where.append(QI.c.graded_at.is_(None))
    return (
        update(QI)
        .where(*where)
        .values(
            attempts=QI.c.attempts + 1,
            status=bindparam("status"),
            score=bindparam("score"),
            graded_at=bindparam("graded_at"),
        )
    )


_RECORD = {once: _record_statement(once) for once in (False, True)}


def add_question(
    session: Session, user_id: int, family: str, seed: int, difficulty: int
) -> QuestionRecord:
    """Store a practice question drawn by the user."""
    values = {
        "user_id": user_id,
        "family": family,
        "seed": seed,
        "difficulty": difficulty,
        "position": 0,
        "attempts": 0,
        "created_at": utcnow(),
    }
    with writing(session):
        result = cast(CursorResult, session.connection().execute(_INSERT_QUESTION, values))
        assert result.inserted_primary_key is not None
        question_id = int(result.inserted_primary_key[0])
        record = _load(session, question_id)
        session.commit()
    assert record is not None
    return record


def _load(session: Session, question_id: int) -> QuestionRecord | None:
    row = session.connection().execute(_BY_ID, {"question_id": question_id}).first()
    return None if row is None else from_row(QuestionRecord, row)


def own_question(session: Session, question_id: int, user_id: int) -> QuestionRecord:
    """One of the user's practice or study questions (exam questions are reached through
    their exam); NotFound otherwise."""
    record = _load(session, question_id)
    session.commit()
    if record is None or record.user_id != user_id or record.exam_id is not None:
        raise NotFound(f"no question {question_id}")
    return record


def pending_question(session: Session, session_id: int, family: str) -> QuestionRecord | None:
    """The unanswered variant of ``family`` in a study session, if any."""
    params = {"session_id": session_id, "family": family}
    row = session.connection().execute(_PENDING, params).first()
    return None if row is None else from_row(QuestionRecord, row)


def session_question(
    session: Session, user_id: int, session_id: int, family: str, seed: int, difficulty: int
) -> QuestionRecord:
    """The session's pending variant of ``family``: this one, unless a concurrent request
    stored one first (then that one, so both requests show the same variant)."""
    values = {
        "user_id": user_id,
        "family": family,
        "seed": seed,
        "difficulty": difficulty,
        "session_id": session_id,
        "position": 0,
        "attempts": 0,
        "created_at": utcnow(),
    }
    with writing(session):
        new_id = insert_ignore(
            session,
            QI,
            values,
            ["session_id", "family"],
            where=_PENDING_INDEX,
        )
        if new_id is not None:  # ours: the row is what was just written (no read back)
            record: QuestionRecord | None = QuestionRecord(
                id=new_id, user_id=user_id, family=family, seed=seed, difficulty=difficulty,
                session_id=session_id, exam_id=None, position=0, graded_at=None, status=None,
                score=None, attempts=0, hints_used=0,
            )  # fmt: skip
        else:
            record = pending_question(session, session_id, family)
        session.commit()
    assert record is not None
    return record


def record_grade(
    session: Session, question_id: int, user_id: int, grade: GradeRecord, once: bool
) -> bool:
    """Store a graded answer: an attempt row and the instance's result, in the caller's
    write transaction. With ``once``, only if the instance is still ungraded; False (and
    nothing written) when another answer got there first."""
    now = utcnow()
    result = {"status": grade.status, "score": grade.score}
    params = {"question_id": question_id, "graded_at": now, **result}
    changed = cast(CursorResult, session.connection().execute(_RECORD[once], params))
    if changed.rowcount != 1:
        return False
    attempt = {
        "question_id": question_id,
        "user_id": user_id,
        "answer": grade.answer[:1000],
        "diagnosis": list(grade.diagnosis),
        "created_at": now,
    }
    session.connection().execute(_INSERT_ATTEMPT, attempt | result)
    return True


def grade_practice(session: Session, question_id: int, user_id: int, grade: GradeRecord) -> None:
    """Record one more attempt at a practice question (practice allows several)."""
    with writing(session):
        own = _load(session, question_id)
        if own is None or own.user_id != user_id or own.exam_id is not None:
            raise NotFound(f"no question {question_id}")
        record_grade(session, question_id, user_id, grade, once=False)
        session.commit()


def answered_once(session: Session, question_id: int, user_id: int, grade: GradeRecord) -> None:
    """Record the one answer a pending question takes, or raise Conflict."""
    if not record_grade(session, question_id, user_id, grade, once=True):
        raise Conflict(f"question {question_id} was already answered")


# --- the history of attempts ---------------------------------------------------------------


@dataclass(frozen=True)
class AttemptRecord:
    """One graded answer with the variant it answered (family, seed, difficulty)."""

    id: int
    question_id: int
    family: str
    seed: int
    difficulty: int
    exam_id: int | None
    session_id: int | None
    answer: str
    status: str
    score: float
    diagnosis: list[str]
    created_at: datetime


def list_attempts(
    session: Session,
    user_id: int,
    status: str | None,
    family: str | None,
    limit: int,
    offset: int,
    withheld: frozenset[str] | set[str] = frozenset(),
) -> tuple[list[AttemptRecord], int]:
    """A page of the user's graded answers, newest first, and how many match. Answers to an
    exam's questions appear only once the exam is submitted (an attempt row is written only
    then, and the filter says so again); answers to the families in ``withheld`` (the
    open-copy rule's, ``api.services.assessments.closed_families``) not at all: a past answer marked
    correct states the truth."""
    from sqlalchemy import exists, func, or_

    from ..tables import Exam

    exam: Table = Exam.__table__  # type: ignore[attr-defined]
    submitted = exists().where(exam.c.id == QI.c.exam_id, exam.c.submitted_at.is_not(None))
    where: list[Any] = [ATTEMPT.c.user_id == user_id, or_(QI.c.exam_id.is_(None), submitted)]
    if status:
        where.append(ATTEMPT.c.status == status)
    if family:
        where.append(QI.c.family == family)
    if withheld:
        where.append(QI.c.family.not_in(sorted(withheld)))
    joined = ATTEMPT.join(QI, QI.c.id == ATTEMPT.c.question_id)
    columns = [
        ATTEMPT.c.id, ATTEMPT.c.question_id, QI.c.family, QI.c.seed, QI.c.difficulty,
        QI.c.exam_id, QI.c.session_id, ATTEMPT.c.answer, ATTEMPT.c.status,
        ATTEMPT.c.score, ATTEMPT.c.diagnosis, ATTEMPT.c.created_at,
    ]  # fmt: skip
    conn = session.connection()
    total = conn.execute(select(func.count()).select_from(joined).where(*where)).scalar_one()
    page = (
        select(*columns).select_from(joined).where(*where)
        .order_by(ATTEMPT.c.id.desc()).offset(offset).limit(limit)
    )  # fmt: skip
    rows = [from_row(AttemptRecord, r) for r in conn.execute(page)]
    session.commit()
    return rows, int(total)


def last_variant(session: Session, user_id: int, family: str) -> tuple[int, int] | None:
    """(seed, difficulty) of the variant of ``family`` the user saw last, if any."""
    params = {"user_id": user_id, "family": family}
    row = session.connection().execute(_LAST_VARIANT, params).first()
    return None if row is None else (row.seed, row.difficulty)


def hintable_question(session: Session, question_id: int, user_id: int) -> QuestionRecord:
    """One of the user's questions, exam questions included (their exam decides whether
    hints are allowed, in ``take_hint``); NotFound otherwise."""
    record = _load(session, question_id)
    session.commit()
    if record is None or record.user_id != user_id:
        raise NotFound(f"no question {question_id}")
    return record
