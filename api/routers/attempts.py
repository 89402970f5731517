"""The history of a user's graded answers, so they can go back over their mistakes.

Each attempt comes with the prompt it answered (the variant is regenerated from its family,
seed and difficulty, never stored) and the named mistakes. Answers to an exam's questions
appear once the exam is submitted, never before. Registered before the questions router so
``/questions/attempts`` is not read as a question id.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import anyio.to_thread
from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from ..deps import CurrentUser, DbDep
from ..refusals import Unauthorized, refusals
from ..schemas import DiagnosisPublic
from ..services.assessments import closed_families
from ..services.course_networks import ensure_families
from ..services.questions import family_of, variant
from ..store import Gone
from ..store.questions import AttemptRecord, list_attempts

router = APIRouter(prefix="/questions", tags=["questions"], responses=refusals(Unauthorized))

MAX_ATTEMPTS_PAGE = 100
Status = Literal["correct", "partial", "incorrect"]


class AttemptPublic(BaseModel):
    """One graded answer: the question it answered, the answer, the grade and the mistakes
    named (the expected answer and the worked solution, to learn from)."""

    id: int
    question_id: int
    family: str
    family_title: str
    topic: str
    difficulty: int
    source: Literal["practice", "session", "exam"]
    prompt: str
    answer: str
    status: str
    score: float
    diagnosis: list[DiagnosisPublic]
    expected_display: str
    solution: str
    created_at: datetime


class AttemptList(BaseModel):
    """A page of attempts, newest first, and how many match."""

    data: list[AttemptPublic]
    count: int
    withheld: bool = Field(
        default=False,
        description="Whether attempts were left out: those of the families an assessment "
        "open for you asks about wait until you submit it (a past answer states its truth).",
    )


def _public(attempt: AttemptRecord) -> AttemptPublic:
    """The attempt with its regenerated prompt, re-graded for the mistakes' messages
    (grading is deterministic, so they are the ones shown when it was answered)."""
    question = variant(attempt.family, attempt.seed, attempt.difficulty)
    grade = question.grade(attempt.answer)
    family = family_of(attempt.family)
    source: Literal["practice", "session", "exam"] = (
        "exam" if attempt.exam_id else "session" if attempt.session_id else "practice"
    )
    return AttemptPublic(
        id=attempt.id,
        question_id=attempt.question_id,
        family=attempt.family,
        family_title=family.title,
        topic=family.topic,
        difficulty=attempt.difficulty,
        source=source,
        prompt=question.prompt,
        answer=attempt.answer,
        status=attempt.status,
        score=attempt.score,
        diagnosis=[
            DiagnosisPublic(code=d.code, message=d.message, part=d.part) for d in grade.diagnosis
        ],  # fmt: skip
        expected_display=grade.expected_display,
        solution=question.solution,
        created_at=attempt.created_at,
    )


@router.get("/attempts", response_model=AttemptList, responses=refusals(Gone))
async def attempts(
    user: CurrentUser,
    db: DbDep,
    status: Annotated[Status | None, Query(description="Only this grade")] = None,
    family: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_ATTEMPTS_PAGE)] = 20,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> AttemptList:
    """Your graded answers, newest first, filtered by grade and family."""
    assert user.id is not None
    closed = await closed_families(db, user.id)
    rows, count = await db.run(list_attempts, user.id, status, family, limit, offset, closed)
    await ensure_families(db, {r.family for r in rows})  # a course network's, if any
    data = await anyio.to_thread.run_sync(lambda: [_public(r) for r in rows if _known(r)])
    return AttemptList(data=data, count=count, withheld=bool(closed))


def _known(attempt: AttemptRecord) -> bool:
    """Families can be retired from the registry; their old attempts are left out."""
    try:
        family_of(attempt.family)
    except Gone:
        return False
    return True
