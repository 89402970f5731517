"""Hints: the one unit of work that shows a question one more hint.

A hint is counted by a conditional update (``hints_used < available`` on an unanswered
question), so two requests at once take two hints, never more than there are. Whether a
question may show one is decided in the same transaction: a question of an exam only in an
open copy of an assessment that allows hints (the exam's row locked, ``exams``); a practice
or study question not while an assessment open for the user asks about its family (the
open-copy rule, ``courses``). Its own module because it reads all three aggregates: kept in
``questions``, it made that module and ``courses``/``exams`` import each other.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
from sqlmodel import Session

from ..db import writing
from ..refusals import HintsNotAllowed, PracticePaused
from . import Conflict, NotFound
from .courses import open_assessment_families
from .exams import exam_for_update
from .questions import QI
from .questions import _load as load_question

__all__ = ["take_hint"]


def take_hint(
    session: Session, question_id: int, user_id: int, available: int, now: datetime
) -> int:
    """Count one more hint shown for an unanswered question; the number shown so far.
    Conflict when it was answered or every hint was shown; PracticePaused when it is a
    practice or study question of a family an assessment open for the user asks about (a
    question drawn before the assessment opened is paused like a new one)."""
    with writing(session):
        question = load_question(session, question_id)
        if question is None or question.user_id != user_id:
            raise NotFound(f"no question {question_id}")
        if question.exam_id is not None:
            _check_exam_hints(session, question.exam_id, now)
        elif question.family in open_assessment_families(session, user_id, now):
            raise PracticePaused(
                f"practice of {question.family} is paused until you submit the assessment using it"
            )
        taken = (
            session.connection()
            .execute(
                update(QI)
                .where(
                    QI.c.id == question_id, QI.c.graded_at.is_(None), QI.c.hints_used < available
                )
                .values(hints_used=QI.c.hints_used + 1)
                .returning(QI.c.hints_used)
            )
            .scalar()
        )
        if taken is None:
            if question.graded_at is not None:
                raise Conflict(f"question {question_id} was already answered")
            raise Conflict(f"all {available} hints of question {question_id} were shown")
        session.commit()
    return int(taken)


def _check_exam_hints(session: Session, exam_id: int, now: datetime) -> None:
    """Hints in an exam only in an open copy of an assessment that allows them: none once
    it is submitted or its time has run out (the copy waits for its automatic submission
    then, and a hint could no longer change an answer that counts)."""
    exam = exam_for_update(session, exam_id)
    if exam is None:
        raise NotFound(f"no exam {exam_id}")
    if exam.submitted_at is not None:
        raise Conflict(f"exam {exam_id} was already submitted")
    if not exam.allow_hints:
        raise HintsNotAllowed("hints are not allowed in this exam")
    deadline = exam.deadline
    if deadline is not None and now > deadline:
        raise Conflict(f"exam {exam_id} is past its deadline")
