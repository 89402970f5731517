"""Exams: a set of question instances, graded once, on submission.

One submission per exam is a conditional update (``UPDATE exam … WHERE submitted_at IS
NULL``) checked by its row count: of two submissions racing, exactly one changes the row
and the other gets :class:`Conflict`, on SQLite and PostgreSQL alike. Each question's grade
is recorded by ``api.store.questions.record_grade``, the same path as practice answers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, bindparam, insert, select, update
from sqlalchemy.engine import CursorResult
from sqlmodel import Session

from ..db import insert_ignore, writes, writing
from ..tables import Assessment, Exam
from . import Conflict, NotFound, from_row
from .questions import QI, QUESTION_COLUMNS, GradeRecord, QuestionRecord, record_grade

__all__ = ["ExamRecord", "PlannedQuestion", "create_exam", "load_exam", "submit_exam"]

_EXAM: Table = Exam.__table__  # type: ignore[attr-defined]
_ASSESSMENT: Table = Assessment.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class ExamRecord:
    """An exam as stored."""

    id: int
    user_id: int
    assessment_id: int | None
    seed: int
    request: dict[str, Any]
    time_limit_min: int | None
    created_at: datetime
    submitted_at: datetime | None
    late: bool
    score: float | None
    max_score: float | None
    result: dict[str, Any] | None
    closes_at: datetime | None  # the assessment's, for a copy of one
    allow_hints: bool | None  # the assessment's; practice exams allow none

    @property
    def deadline(self) -> datetime | None:
        """When the time runs out: the time limit from the start, or the assessment's
        closing time if sooner (None without either). Later submissions are flagged late."""
        ends = [self.closes_at] if self.closes_at else []
        if self.time_limit_min:
            ends.append(self.created_at + timedelta(minutes=self.time_limit_min))
        return min(ends) if ends else None


@dataclass(frozen=True)
class PlannedQuestion:
    """One question of a new exam: the variant at a position."""

    position: int
    family: str
    seed: int
    difficulty: int


_FROM_ASSESSMENT = ("closes_at", "allow_hints")
_EXAM_COLUMNS = (
    *(_EXAM.c[f] for f in ExamRecord.__dataclass_fields__ if f not in _FROM_ASSESSMENT),
    *(_ASSESSMENT.c[f] for f in _FROM_ASSESSMENT),
)
_SUBMIT = (
    update(_EXAM)
    .where(_EXAM.c.id == bindparam("exam_id"), _EXAM.c.submitted_at.is_(None))
    .values(
        submitted_at=bindparam("now"),
        late=bindparam("late"),
        score=bindparam("score"),
        max_score=bindparam("max_score"),
        result=bindparam("result"),
    )
)
# An unanswered or unreadable answer scores 0 and is no attempt (as in practice).
_NO_ATTEMPT = (
    update(QI)
    .where(QI.c.id == bindparam("question_id"), QI.c.graded_at.is_(None))
    .values(status=bindparam("status"), score=0.0, graded_at=bindparam("now"))
)


@writes
def create_exam(
    session: Session,
    user_id: int,
    seed: int,
    request: dict[str, Any],
    time_limit_min: int | None,
    plan: list[PlannedQuestion],
    now: datetime,
    assessment_id: int | None = None,
) -> tuple[ExamRecord, list[QuestionRecord]]:
    """Store an exam and its questions in one transaction. A student's copy of an
    assessment is created once: the unique (assessment, student) pair makes a second start
    (even a concurrent one) find the first copy instead."""
    values = {
        "user_id": user_id,
        "assessment_id": assessment_id,
        "seed": seed,
        "request": request,
        "time_limit_min": time_limit_min,
        "created_at": now,
        "late": False,
    }
    with writing(session):
        exam_id: int | None
        if assessment_id is None:
            result = cast(CursorResult, session.connection().execute(insert(_EXAM), values))
            assert result.inserted_primary_key is not None
            exam_id = int(result.inserted_primary_key[0])
        else:
            exam_id = insert_ignore(session, _EXAM, values, ["assessment_id", "user_id"])
        if exam_id is not None:
            _add_questions(session, user_id, int(exam_id), plan, now)
        else:
            exam_id = _copy_of(session, assessment_id, user_id)
        loaded = _load(session, int(exam_id))
        session.commit()
    assert loaded is not None
    return loaded


def _add_questions(
    session: Session, user_id: int, exam_id: int, plan: list[PlannedQuestion], now: datetime
) -> None:
    rows = [
        {
            "user_id": user_id,
            "exam_id": exam_id,
            "family": p.family,
            "seed": p.seed,
            "difficulty": p.difficulty,
            "position": p.position,
            "attempts": 0,
            "hints_used": 0,
            "created_at": now,
        }
        for p in plan
    ]
    if rows:
        session.connection().execute(insert(QI), rows)


def _copy_of(session: Session, assessment_id: int | None, user_id: int) -> int:
    query = select(_EXAM.c.id).where(
        _EXAM.c.assessment_id == assessment_id, _EXAM.c.user_id == user_id
    )
    return int(session.connection().execute(query).scalar_one())


def _load(session: Session, exam_id: int) -> tuple[ExamRecord, list[QuestionRecord]] | None:
    conn = session.connection()
    joined = _EXAM.outerjoin(_ASSESSMENT, _ASSESSMENT.c.id == _EXAM.c.assessment_id)
    query = select(*_EXAM_COLUMNS).select_from(joined).where(_EXAM.c.id == exam_id)
    row = conn.execute(query).first()
    if row is None:
        return None
    query = select(*QUESTION_COLUMNS).where(QI.c.exam_id == exam_id).order_by(QI.c.position)
    questions = [from_row(QuestionRecord, r) for r in conn.execute(query)]
    return from_row(ExamRecord, row), questions


def load_exam(
    session: Session, exam_id: int, user_id: int
) -> tuple[ExamRecord, list[QuestionRecord]]:
    """The user's exam and its questions in order; NotFound when missing or not theirs."""
    loaded = _load(session, exam_id)
    session.commit()
    if loaded is None or loaded[0].user_id != user_id:
        raise NotFound(f"no exam {exam_id}")
    return loaded


@dataclass(frozen=True)
class Submission:
    """A scored submission, ready to store: the exam's totals and each question's grade
    (None: unanswered)."""

    now: datetime
    late: bool
    score: float
    max_score: float
    result: dict[str, Any]
    grades: list[tuple[int, GradeRecord | None]]


@writes
def submit_exam(session: Session, exam_id: int, user_id: int, submission: Submission) -> None:
    """Store a submission once; Conflict when the exam was already submitted."""
    with writing(session):
        exam = _load(session, exam_id)
        if exam is None or exam[0].user_id != user_id:
            raise NotFound(f"no exam {exam_id}")
        params = {
            "exam_id": exam_id,
            "now": submission.now,
            "late": submission.late,
            "score": submission.score,
            "max_score": submission.max_score,
            "result": submission.result,
        }
        changed = cast(CursorResult, session.connection().execute(_SUBMIT, params))
        if changed.rowcount != 1:
            raise Conflict(f"exam {exam_id} was already submitted")
        for question_id, grade in submission.grades:
            if grade is None or grade.status == "invalid":
                status = "unanswered" if grade is None else "invalid"
                params = {"question_id": question_id, "now": submission.now, "status": status}
                session.connection().execute(_NO_ATTEMPT, params)
            else:
                record_grade(session, question_id, user_id, grade, once=True)
        session.commit()
