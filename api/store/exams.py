"""Exams: a set of question instances, graded once, on submission.

One submission per exam is a conditional update (``UPDATE exam … WHERE submitted_at IS
NULL``) checked by its row count: of two submissions racing, exactly one changes the row
and the other gets :class:`Conflict`, on SQLite and PostgreSQL alike. Each question's grade
is recorded by ``api.store.questions.record_grade``, the same path as practice answers.

Answers are saved as typed (``save_answers``) until the exam is submitted. A save and a
submission both take the exam's row lock first (``SELECT … FOR UPDATE``; SQLite's single
writer does the same), so a save is either in the submission or refused, and an automatic
submission grades exactly the answers that were saved (``expect_saved``).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, bindparam, func, insert, select, update
from sqlalchemy.engine import CursorResult
from sqlmodel import Session

from ..db import insert_ignore, writing
from ..tables import Accommodation, Assessment, Exam, GradeHistory
from . import Conflict, NotFound, from_row
from .lti import enqueue_score
from .questions import (
    ATTEMPT,
    QI,
    QUESTION_COLUMNS,
    GradeRecord,
    QuestionRecord,
    record_grade,
)

__all__ = [
    "ExamRecord",
    "ItemOverride",
    "PlannedQuestion",
    "create_exam",
    "load_exam",
    "load_copy",
    "save_answers",
    "submit_exam",
    "open_copies",
    "override_item",
    "Regraded",
    "apply_regrade",
    "diagnoses",
    "HistoryRecord",
    "grade_history",
]

_EXAM: Table = Exam.__table__  # type: ignore[attr-defined]
_ASSESSMENT: Table = Assessment.__table__  # type: ignore[attr-defined]
_ACC: Table = Accommodation.__table__  # type: ignore[attr-defined]
_HISTORY: Table = GradeHistory.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class ItemOverride:
    """An instructor's score for one item of a submitted copy, beside the computed one."""

    score: float
    comment: str | None
    by: int | None
    at: datetime | None


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
    auto_submitted: bool
    closes_at: datetime | None  # the assessment's (or the student's accommodation's)
    allow_hints: bool | None  # the assessment's; practice exams allow none
    extra_minutes: int | None  # the student's accommodation on a timed assessment
    saved: dict[int, str] = field(default_factory=dict)  # question id → answer as typed
    overrides: dict[int, ItemOverride] = field(default_factory=dict)  # by question id
    last_saved_at: datetime | None = None  # when an answer was last saved (or cleared)

    @property
    def deadline(self) -> datetime | None:
        """When the time runs out: the time limit (and any extra minutes) from the start,
        or the closing time if sooner (None without either). Later submissions are flagged
        late; a copy of an assessment is submitted automatically soon after."""
        ends = [self.closes_at] if self.closes_at else []
        if self.time_limit_min:
            minutes = self.time_limit_min + (self.extra_minutes or 0)
            ends.append(self.created_at + timedelta(minutes=minutes))
        return min(ends) if ends else None


class Changed(Conflict):
    """The assessment was edited (or deleted) between planning a copy and storing it."""


@dataclass(frozen=True)
class PlannedQuestion:
    """One question of a new exam: the variant at a position."""

    position: int
    family: str
    seed: int
    difficulty: int


_JOINED = ("closes_at", "allow_hints", "extra_minutes", "saved", "overrides", "last_saved_at")
_EXAM_COLUMNS = (
    *(_EXAM.c[f] for f in ExamRecord.__dataclass_fields__ if f not in _JOINED),
    func.coalesce(_ACC.c.closes_at, _ASSESSMENT.c.closes_at).label("closes_at"),
    _ASSESSMENT.c.allow_hints,
    _ACC.c.extra_minutes,
)
# A copy of an assessment with its student's accommodation, if any.
_EXAM_JOINED = _EXAM.outerjoin(_ASSESSMENT, _ASSESSMENT.c.id == _EXAM.c.assessment_id).outerjoin(
    _ACC, (_ACC.c.assessment_id == _EXAM.c.assessment_id) & (_ACC.c.user_id == _EXAM.c.user_id)
)
_ITEM_STATE = (
    QI.c.id,
    QI.c.saved_answer,
    QI.c.saved_at,
    QI.c.override_score,
    QI.c.override_comment,
    QI.c.override_by,
    QI.c.override_at,
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
        auto_submitted=bindparam("auto"),
    )
)
# An unanswered or unreadable answer scores 0 and is no attempt (as in practice).
_NO_ATTEMPT = (
    update(QI)
    .where(QI.c.id == bindparam("question_id"), QI.c.graded_at.is_(None))
    .values(status=bindparam("status"), score=0.0, graded_at=bindparam("now"))
)


def create_exam(
    session: Session,
    user_id: int,
    seed: int,
    request: dict[str, Any],
    time_limit_min: int | None,
    plan: list[PlannedQuestion],
    now: datetime,
    assessment_id: int | None = None,
    version: int | None = None,
) -> tuple[ExamRecord, list[QuestionRecord]]:
    """Store an exam and its questions in one transaction. A student's copy of an
    assessment is created once: the unique (assessment, student) pair makes a second start
    (even a concurrent one) find the first copy instead. The copy is planned from the
    assessment at ``version``: the start marks the assessment started only while it is
    still at that version (a conditional update on its row, which an edit also updates), so
    no copy is planned from an assessment changed meanwhile (:class:`Changed`), and no
    edit follows a start (``api.store.courses.edit_assessment``). ``version`` None: the
    assessment was already started, so it can no longer change."""
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
        if assessment_id is not None and version is not None:
            locked = cast(CursorResult, session.connection().execute(
                update(_ASSESSMENT)
                .where(_ASSESSMENT.c.id == assessment_id, _ASSESSMENT.c.version == version)
                .values(started_at=func.coalesce(_ASSESSMENT.c.started_at, now))
            ))  # fmt: skip
            if locked.rowcount != 1:
                raise Changed(f"assessment {assessment_id} changed while starting; start again")
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


def _load(
    session: Session, exam_id: int, lock: bool = False
) -> tuple[ExamRecord, list[QuestionRecord]] | None:
    """The exam and its questions; with ``lock``, the exam's row is locked until the
    transaction ends (PostgreSQL; SQLite's writer already holds the database)."""
    conn = session.connection()
    if lock:
        conn.execute(select(_EXAM.c.id).where(_EXAM.c.id == exam_id).with_for_update())
    query = select(*_EXAM_COLUMNS).select_from(_EXAM_JOINED).where(_EXAM.c.id == exam_id)
    row = conn.execute(query).first()
    if row is None:
        return None
    query = (
        select(*QUESTION_COLUMNS, *_ITEM_STATE[1:])
        .where(QI.c.exam_id == exam_id)
        .order_by(QI.c.position)
    )
    questions, saved, overrides = [], {}, {}
    last_saved: datetime | None = None
    for r in conn.execute(query):
        m = r._mapping
        questions.append(QuestionRecord(**{f: m[f] for f in QuestionRecord.__dataclass_fields__}))
        if m["saved_answer"] is not None:
            saved[m["id"]] = m["saved_answer"]
        if m["saved_at"] is not None and (last_saved is None or m["saved_at"] > last_saved):
            last_saved = m["saved_at"]
        if m["override_score"] is not None:
            overrides[m["id"]] = ItemOverride(
                m["override_score"], m["override_comment"], m["override_by"], m["override_at"]
            )
    exam = from_row(_ExamRow, row).record(saved, overrides, last_saved)
    return exam, questions


@dataclass(frozen=True)
class _ExamRow:
    """An exam row as selected: :class:`ExamRecord` without the per-question state."""

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
    auto_submitted: bool
    closes_at: datetime | None
    allow_hints: bool | None
    extra_minutes: int | None

    def record(
        self,
        saved: dict[int, str],
        overrides: dict[int, ItemOverride],
        last_saved_at: datetime | None = None,
    ) -> ExamRecord:
        fields = {f: getattr(self, f) for f in self.__dataclass_fields__}
        return ExamRecord(**fields, saved=saved, overrides=overrides, last_saved_at=last_saved_at)


def load_exam(
    session: Session, exam_id: int, user_id: int
) -> tuple[ExamRecord, list[QuestionRecord]]:
    """The user's exam and its questions in order; NotFound when missing or not theirs."""
    loaded = _load(session, exam_id)
    session.commit()
    if loaded is None or loaded[0].user_id != user_id:
        raise NotFound(f"no exam {exam_id}")
    return loaded


def load_copy(
    session: Session, assessment_id: int, user_id: int
) -> tuple[ExamRecord, list[QuestionRecord]] | None:
    """A student's copy of an assessment, or None when they have not started it (no access
    check: the caller has checked the instructor's)."""
    query = select(_EXAM.c.id).where(
        _EXAM.c.assessment_id == assessment_id, _EXAM.c.user_id == user_id
    )
    exam_id = session.connection().execute(query).scalar()
    loaded = None if exam_id is None else _load(session, int(exam_id))
    session.commit()
    return loaded


def exam_for_update(session: Session, exam_id: int) -> ExamRecord | None:
    """The exam's own row (with its deadline), read inside the caller's write transaction
    and locked on PostgreSQL; no commit (the caller's unit of work goes on)."""
    loaded = _load(session, exam_id, lock=True)
    return None if loaded is None else loaded[0]


def load_exam_by_id(session: Session, exam_id: int) -> tuple[ExamRecord, list[QuestionRecord]]:
    """An exam by id, whoever owns it (for the server's own work: the deadline sweep)."""
    loaded = _load(session, exam_id)
    session.commit()
    if loaded is None:
        raise NotFound(f"no exam {exam_id}")
    return loaded


_SAVE = (
    update(QI)
    .where(QI.c.id == bindparam("question_id"), QI.c.exam_id == bindparam("of_exam"))
    .values(saved_answer=bindparam("answer"), saved_at=bindparam("now"))
)


def save_answers(
    session: Session,
    exam_id: int,
    user_id: int,
    answers: dict[int, str],
    now: datetime,
    until: datetime | None,
) -> ExamRecord:
    """Save answers as typed (only those given; an empty text clears one) while the exam
    is open: Conflict once it is submitted or after ``until`` (its deadline and grace)."""
    with writing(session):
        loaded = _load(session, exam_id, lock=True)
        if loaded is None or loaded[0].user_id != user_id:
            raise NotFound(f"no exam {exam_id}")
        exam, questions = loaded
        if exam.submitted_at is not None:
            how = "automatically at its deadline" if exam.auto_submitted else "already"
            raise Conflict(f"exam {exam_id} was submitted {how}")
        if until is not None and now > until:
            raise Conflict(f"exam {exam_id} is past its deadline")
        ids = {q.id for q in questions}
        stray = sorted(set(answers) - ids)
        if stray:
            raise ValueError(f"not questions of exam {exam_id}: {', '.join(map(str, stray))}")
        rows = [
            {"question_id": q, "of_exam": exam_id, "answer": a or None, "now": now}
            for q, a in answers.items()
        ]
        if rows:
            session.connection().execute(_SAVE, rows)
        saved = dict(exam.saved)
        for q, a in answers.items():
            if a:
                saved[q] = a
            else:
                saved.pop(q, None)
        session.commit()
    return replace(exam, saved=saved)


def open_copies(
    session: Session,
    limit: int,
    assessment_id: int | None = None,
    after_id: int = 0,
    course_id: int | None = None,
) -> list[int]:
    """Ids of unsubmitted copies of assessments that have a deadline (closing time, time
    limit or an accommodation's closing time), oldest first: the deadline sweep's
    candidates (``api.services.exams.settle``)."""
    timed = (
        _ASSESSMENT.c.closes_at.is_not(None)
        | _ASSESSMENT.c.time_limit_min.is_not(None)
        | _ACC.c.closes_at.is_not(None)
    )
    query = (
        select(_EXAM.c.id)
        .select_from(_EXAM_JOINED)
        .where(_EXAM.c.assessment_id.is_not(None), _EXAM.c.submitted_at.is_(None), timed)
        .where(_EXAM.c.id > after_id)
        .order_by(_EXAM.c.id)
        .limit(limit)
    )
    if assessment_id is not None:
        query = query.where(_EXAM.c.assessment_id == assessment_id)
    if course_id is not None:
        query = query.where(_ASSESSMENT.c.course_id == course_id)
    ids = [int(i) for i in session.connection().execute(query).scalars()]
    session.commit()
    return ids


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
    auto: bool = False  # submitted by the server at the deadline
    expect_saved: dict[int, str] | None = None  # the saved answers it graded (auto only)


class SavedChanged(Conflict):
    """An answer was saved after an automatic submission was graded: grade again."""


def submit_exam(session: Session, exam_id: int, user_id: int, submission: Submission) -> None:
    """Store a submission once; Conflict when the exam was already submitted, SavedChanged
    when an automatic submission no longer matches the saved answers."""
    with writing(session):
        exam = _load(session, exam_id, lock=True)
        if exam is None or exam[0].user_id != user_id:
            raise NotFound(f"no exam {exam_id}")
        if exam[0].submitted_at is not None:
            raise Conflict(f"exam {exam_id} was already submitted")
        if submission.expect_saved is not None and submission.expect_saved != exam[0].saved:
            raise SavedChanged(f"exam {exam_id}: answers were saved meanwhile")
        params = {
            "exam_id": exam_id,
            "now": submission.now,
            "late": submission.late,
            "score": submission.score,
            "max_score": submission.max_score,
            "result": submission.result,
            "auto": submission.auto,
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
        enqueue_score(session, exam_id, submission.now)  # to the LMS, if it came from one
        session.commit()


# --- after submission: overrides, regrades and their history --------------------------------


def _refresh_score(session: Session, exam_id: int) -> None:
    """The copy's final score: each item's override where an instructor gave one, else
    its computed score (in the caller's transaction, under the exam's row lock)."""
    conn = session.connection()
    query = select(func.coalesce(QI.c.override_score, QI.c.score, 0.0)).where(
        QI.c.exam_id == exam_id
    )
    total = round(sum(float(x) for x in conn.execute(query).scalars()), 4)
    conn.execute(update(_EXAM).where(_EXAM.c.id == exam_id).values(score=total))


def diagnoses(session: Session, question_ids: list[int]) -> dict[int, list[str]]:
    """The named mistakes of each question's latest graded answer."""
    if not question_ids:
        return {}
    query = (
        select(ATTEMPT.c.question_id, ATTEMPT.c.diagnosis)
        .where(ATTEMPT.c.question_id.in_(question_ids))
        .order_by(ATTEMPT.c.id)
    )
    out = {int(r.question_id): list(r.diagnosis or ()) for r in session.connection().execute(query)}
    session.commit()
    return out


def override_item(
    session: Session,
    exam_id: int,
    position: int,
    score: float | None,
    comment: str | None,
    actor_id: int,
    now: datetime,
) -> ExamRecord:
    """Set (or, with ``score`` None, remove) an instructor's score for one item of a
    submitted copy; the computed score stays beside it, the replaced override goes to the
    history, and the copy's final score follows. Under the exam's row lock, so two
    overrides at once both count. Conflict before submission; NotFound for no such item."""
    with writing(session):
        loaded = _load(session, exam_id, lock=True)
        if loaded is None:
            raise NotFound(f"no exam {exam_id}")
        exam, questions = loaded
        if exam.submitted_at is None:
            raise Conflict(f"exam {exam_id} is not submitted yet: override its items after")
        item = next((q for q in questions if q.position == position), None)
        if item is None:
            raise NotFound(f"exam {exam_id} has no item at position {position}")
        conn = session.connection()
        old = exam.overrides.get(item.id)
        conn.execute(insert(_HISTORY).values(
            question_id=item.id, exam_id=exam_id, reason="override", status=item.status,
            score=item.score, override_score=None if old is None else old.score,
            override_comment=None if old is None else old.comment, diagnosis=[],
            replaced_by=actor_id, replaced_at=now,
        ))  # fmt: skip
        values: dict[str, Any] = {"override_score": score, "override_comment": comment,
                                  "override_by": actor_id, "override_at": now}  # fmt: skip
        if score is None:
            values = dict.fromkeys(values)
        conn.execute(update(QI).where(QI.c.id == item.id).values(**values))
        _refresh_score(session, exam_id)
        enqueue_score(session, exam_id, now)  # the new final score to the LMS, same commit
        reloaded = _load(session, exam_id)
        session.commit()
    assert reloaded is not None
    return reloaded[0]


@dataclass(frozen=True)
class Regraded:
    """One item whose grade a regrade changes: what it was (as read) and what it becomes
    (None: unanswered)."""

    question_id: int
    old_status: str | None
    old_score: float | None
    old_diagnosis: list[str]
    new: GradeRecord | None


def _same(column: Any, value: Any) -> Any:
    return column.is_(None) if value is None else column == value


def apply_regrade(
    session: Session,
    copies: list[tuple[int, list[Regraded], dict[str, Any]]],
    actor_id: int,
    now: datetime,
) -> list[ExamRecord]:
    """Store a regrade of several copies in one transaction: per copy (exam id, changed
    items, new computed result). Each item changes only if it still holds the grade the
    regrade read (a conditional update checked by its row count; Conflict otherwise, and
    nothing is written); the grade replaced goes to the history; the item's answer row, the
    copy's result and final score (overrides kept) follow."""
    out = []
    with writing(session):
        conn = session.connection()
        for exam_id, items, result in copies:
            _load(session, exam_id, lock=True)
            for it in items:
                status = "unanswered" if it.new is None else it.new.status
                score = 0.0 if it.new is None else it.new.score
                changed = cast(CursorResult, conn.execute(
                    update(QI)
                    .where(QI.c.id == it.question_id, _same(QI.c.status, it.old_status),
                           _same(QI.c.score, it.old_score))
                    .values(status=status, score=score)
                ))  # fmt: skip
                if changed.rowcount != 1:
                    raise Conflict("grades changed while regrading; run the regrade again")
                conn.execute(insert(_HISTORY).values(
                    question_id=it.question_id, exam_id=exam_id, reason="regrade",
                    status=it.old_status, score=it.old_score, diagnosis=it.old_diagnosis,
                    replaced_by=actor_id, replaced_at=now,
                ))  # fmt: skip
                _regrade_attempt(session, it, status, score, now)
            conn.execute(update(_EXAM).where(_EXAM.c.id == exam_id).values(result=result))
            _refresh_score(session, exam_id)
            enqueue_score(session, exam_id, now)  # to the LMS in the same commit
            reloaded = _load(session, exam_id)
            assert reloaded is not None
            out.append(reloaded[0])
        session.commit()
    return out


def _regrade_attempt(
    session: Session, it: Regraded, status: str, score: float, now: datetime
) -> None:
    """The item's answer row (what attempts history and statistics read) takes the new
    grade; an answer that was unreadable before and is read now gets its first row."""
    conn = session.connection()
    last = conn.execute(
        select(func.max(ATTEMPT.c.id)).where(ATTEMPT.c.question_id == it.question_id)
    ).scalar()
    diagnosis = [] if it.new is None else list(it.new.diagnosis)
    if last is not None:
        conn.execute(update(ATTEMPT).where(ATTEMPT.c.id == last)
                     .values(status=status, score=score, diagnosis=diagnosis))  # fmt: skip
    elif it.new is not None and status != "invalid":
        user_id = conn.execute(select(QI.c.user_id).where(QI.c.id == it.question_id)).scalar()
        conn.execute(insert(ATTEMPT).values(
            question_id=it.question_id, user_id=user_id, answer=it.new.answer[:1000],
            status=status, score=score, diagnosis=diagnosis, created_at=now,
        ))  # fmt: skip


@dataclass(frozen=True)
class HistoryRecord:
    """A grade as it was before an override or a regrade replaced it."""

    question_id: int
    reason: str
    status: str | None
    score: float | None
    override_score: float | None
    override_comment: str | None
    diagnosis: list[str]
    replaced_by: int | None
    replaced_at: datetime


def grade_history(session: Session, exam_id: int) -> list[HistoryRecord]:
    """The copy's replaced grades, oldest first."""
    columns = tuple(_HISTORY.c[f] for f in HistoryRecord.__dataclass_fields__)
    query = select(*columns).where(_HISTORY.c.exam_id == exam_id).order_by(_HISTORY.c.id)
    rows = [from_row(HistoryRecord, r) for r in session.connection().execute(query)]
    session.commit()
    return rows
