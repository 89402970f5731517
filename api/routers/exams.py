"""Exams: seeded sets of generated questions, graded only on submission, exportable to
Moodle XML, GIFT, printable markdown and JSON.

HTTP only: plans and scores come from ``grader``, rows and the one-submission rule from
``api.store.exams``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Path, Query, status
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from pydantic import BaseModel, Field

from ..db import utcnow
from ..deps import CurrentUser, DbDep
from ..errors import ERROR_RESPONSES
from ..questions import families, grade_record, public_question, random_seed, variant
from ..schemas import QuestionPublic
from ..store import exams as store
from ..store.exams import ExamRecord, PlannedQuestion, Submission, load_exam
from ..store.questions import QuestionRecord

router = APIRouter(
    prefix="/exams",
    tags=["exams"],
    responses={401: ERROR_RESPONSES[401], 404: ERROR_RESPONSES[404]},
)

MAX_SEED = 2**31 - 1
ExamId = Annotated[int, Path(ge=1, le=2**62)]


class ExamCreate(BaseModel):
    """Body of ``POST /exams``. The same body with the same seed gives the same questions."""

    topics: list[Annotated[str, Field(min_length=1, max_length=64)]] | None = Field(
        default=None, max_length=50
    )
    families: list[Annotated[str, Field(min_length=1, max_length=64)]] | None = Field(
        default=None, max_length=200
    )
    count: int = Field(ge=1, le=100)
    difficulty: int | None = Field(default=None, ge=1, le=3)
    seed: int | None = Field(default=None, ge=0, le=MAX_SEED)
    time_limit_min: int | None = Field(default=None, ge=1, le=1440)


class QuestionResult(BaseModel):
    """How one question of a submitted exam went."""

    question_id: int
    position: int
    family: str
    topic: str
    answer: str | None
    status: Literal["correct", "partial", "incorrect", "invalid", "unanswered"]
    score: float
    feedback: str
    expected: Any
    expected_display: str
    diagnosis: list[dict[str, Any]]
    solution: str


class TopicScore(BaseModel):
    """Score per topic."""

    score: float
    max_score: float
    percent: float


class ExamResult(BaseModel):
    """The result of a submission."""

    score: float
    max_score: float
    percent: float
    late: bool
    submitted_at: datetime
    by_topic: dict[str, TopicScore]
    per_question: list[QuestionResult]


class ExamPublic(BaseModel):
    """An exam; the result (with expected answers and solutions) only after submission."""

    id: int
    seed: int
    count: int
    topics: list[str] | None
    families: list[str] | None
    difficulty: int | None
    time_limit_min: int | None
    created_at: datetime
    deadline: datetime | None
    submitted: bool
    questions: list[QuestionPublic]
    result: ExamResult | None = None


class SubmitIn(BaseModel):
    """Body of ``POST /exams/{id}/submit``: answers by question id."""

    answers: dict[str, Annotated[str, Field(max_length=500)]] = Field(max_length=100)


def _public(exam: ExamRecord, instances: list[QuestionRecord]) -> ExamPublic:
    """The exam as its taker sees it (variants generated here: call it off the loop)."""
    req = exam.request
    return ExamPublic(
        id=exam.id,
        seed=exam.seed,
        count=len(instances),
        topics=req.get("topics"),
        families=req.get("families"),
        difficulty=req.get("difficulty"),
        time_limit_min=exam.time_limit_min,
        created_at=exam.created_at,
        deadline=exam.deadline,
        submitted=exam.submitted_at is not None,
        questions=[
            QuestionPublic.model_validate(
                public_question(i, variant(i.family, i.seed, i.difficulty))
            )
            for i in instances
        ],
        result=ExamResult.model_validate(exam.result) if exam.result else None,
    )


def _plan(body: ExamCreate, seed: int) -> list[PlannedQuestion]:
    """The exam's variants, each generated (and cached) before anything is stored."""
    from grader.exam import ExamPlanError, plan_exam

    fams = families()
    unknown = sorted(set(body.families or ()) - set(fams))
    if unknown:
        raise HTTPException(422, f"unknown families: {', '.join(unknown)}")
    try:
        plan = plan_exam(fams, seed=seed, count=body.count, topics=body.topics,
                         family_ids=body.families, difficulty=body.difficulty)  # fmt: skip
    except ExamPlanError as exc:
        raise HTTPException(422, str(exc)) from exc
    for p in plan:
        variant(p.family, p.seed, p.difficulty)
    return [PlannedQuestion(p.position, p.family, p.seed, p.difficulty) for p in plan]


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=ExamPublic,
    responses={422: ERROR_RESPONSES[404] | {"description": "Nothing matches the request"}},
)
async def create_exam(body: ExamCreate, user: CurrentUser, db: DbDep) -> ExamPublic:
    """Build a seeded exam (a seed is drawn and returned when none is given)."""
    assert user.id is not None
    seed = random_seed() if body.seed is None else body.seed
    plan = await run_in_threadpool(_plan, body, seed)
    request = body.model_dump(exclude={"seed"})
    exam, instances = await db.run(
        store.create_exam, user.id, seed, request, body.time_limit_min, plan, utcnow()
    )
    return await run_in_threadpool(_public, exam, instances)


@router.get("/{exam_id}", response_model=ExamPublic)
async def get_exam(exam_id: ExamId, user: CurrentUser, db: DbDep) -> ExamPublic:
    """Your exam; expected answers and solutions appear only after submission."""
    assert user.id is not None
    exam, instances = await db.run(load_exam, exam_id, user.id)
    return await run_in_threadpool(_public, exam, instances)


def _score(exam: ExamRecord, instances: list[QuestionRecord], answers: dict[str, str]):
    """Grade every answer (CPU work: call it off the loop) into a submission to store."""
    from grader.scoring import ExamItem, score_exam

    items = [ExamItem(i.id, i.position, variant(i.family, i.seed, i.difficulty)) for i in instances]
    scored = score_exam(items, answers)
    now = utcnow()
    late = exam.deadline is not None and now > exam.deadline
    result = ExamResult(
        score=scored.score,
        max_score=scored.max_score,
        percent=scored.percent,
        late=late,
        submitted_at=now,
        by_topic={k: TopicScore(**v) for k, v in scored.by_topic().items()},
        per_question=[QuestionResult(**item.to_dict()) for item in scored.items],
    )
    grades = [
        (s.item.question_id, None if s.grade is None else grade_record(s.grade, s.answer or ""))
        for s in scored.items
    ]
    stored = Submission(now, late, result.score, result.max_score,
                        result.model_dump(mode="json"), grades)  # fmt: skip
    return result, stored


@router.post(
    "/{exam_id}/submit",
    response_model=ExamResult,
    responses={
        409: ERROR_RESPONSES[404] | {"description": "Already submitted"},
        422: ERROR_RESPONSES[404] | {"description": "An answer to a question not in the exam"},
    },
)
async def submit_exam(exam_id: ExamId, body: SubmitIn, user: CurrentUser, db: DbDep) -> ExamResult:
    """Grade the whole exam at once; late submissions are scored and flagged."""
    assert user.id is not None
    exam, instances = await db.run(load_exam, exam_id, user.id)
    if exam.submitted_at is not None:  # a quick refusal; the store's update is the rule
        raise HTTPException(409, f"exam {exam_id} was already submitted")
    stray = sorted(set(body.answers) - {str(i.id) for i in instances})
    if stray:
        raise HTTPException(422, f"not questions of exam {exam_id}: {', '.join(stray)}")
    result, stored = await run_in_threadpool(_score, exam, instances, body.answers)
    await db.run(store.submit_exam, exam_id, user.id, stored)
    return result


EXPORT_TYPES = {
    "moodle": ("application/xml", "xml"),
    "gift": ("text/plain; charset=utf-8", "gift.txt"),
    "markdown": ("text/markdown; charset=utf-8", "md"),
    "json": ("application/json", "json"),
}


def _export_text(exam: ExamRecord, instances: list[QuestionRecord], format: str, key: bool) -> str:
    from grader.exports import ExportItem, to_gift, to_json, to_markdown, to_moodle_xml

    items = [
        ExportItem(i.id, i.position, variant(i.family, i.seed, i.difficulty)) for i in instances
    ]
    title = f"flopcards exam {exam.id} (seed {exam.seed})"
    if format == "moodle":
        return to_moodle_xml(title, items)
    if format == "gift":
        return to_gift(title, items)
    if format == "markdown":
        return to_markdown(title, items, key=key)
    return to_json(title, items, {"id": exam.id, "seed": exam.seed, "request": exam.request})


@router.get(
    "/{exam_id}/export",
    response_class=Response,
    responses={200: {"content": {m: {} for m, _ in EXPORT_TYPES.values()}}},
)
async def export_exam(
    exam_id: ExamId,
    user: CurrentUser,
    db: DbDep,
    format: Annotated[Literal["moodle", "gift", "markdown", "json"], Query()] = "json",
    part: Annotated[Literal["exam", "key"], Query(description="markdown: exam or key")] = "exam",
) -> Response:
    """Export the exam with its answer key (owner only): moodle, gift, markdown or json."""
    assert user.id is not None
    exam, instances = await db.run(load_exam, exam_id, user.id)
    text = await run_in_threadpool(_export_text, exam, instances, format, part == "key")
    media, ext = EXPORT_TYPES[format]
    suffix = "-key" if format == "markdown" and part == "key" else ""
    return Response(
        text,
        media_type=media,
        headers={"Content-Disposition": f'attachment; filename="exam-{exam_id}{suffix}.{ext}"'},
    )
