"""Exams: seeded sets of generated questions, graded only on submission, exportable to
Moodle XML, GIFT, printable markdown and JSON.

HTTP only: plans and scores come from ``grader`` (through ``api.exams``), rows and the
one-submission rule from ``api.store.exams``.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Path, Query, status
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from pydantic import BaseModel, Field

from ..assessments import refuse_paused
from ..course_networks import ensure_families
from ..db import utcnow
from ..deps import CurrentUser, DbDep
from ..errors import ERROR_RESPONSES
from ..exams import (
    EXPORT_TYPES,
    check_export,
    exam_public,
    export_items,
    export_text,
    score_submission,
)
from ..questions import families, random_seed, variant
from ..schemas import ExamPublic, ExamResult
from ..store import exams as store
from ..store.exams import PlannedQuestion, load_exam

router = APIRouter(
    prefix="/exams",
    tags=["exams"],
    responses={401: ERROR_RESPONSES[401], 404: ERROR_RESPONSES[404]},
)

MAX_SEED = 2**31 - 1
ExamId = Annotated[int, Path(ge=1, le=2**62)]
PAUSED: dict[int | str, dict[str, Any]] = {
    409: ERROR_RESPONSES[404] | {"description": "Already submitted, or practice paused"}
}


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


class SubmitIn(BaseModel):
    """Body of ``POST /exams/{id}/submit``: answers by question id."""

    answers: dict[str, Annotated[str, Field(max_length=500)]] = Field(max_length=100)


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
    responses=PAUSED | {422: ERROR_RESPONSES[404] | {"description": "Nothing matches"}},
)
async def create_exam(body: ExamCreate, user: CurrentUser, db: DbDep) -> ExamPublic:
    """Build a seeded practice exam (a seed is drawn and returned when none is given)."""
    assert user.id is not None
    seed = random_seed() if body.seed is None else body.seed
    plan = await run_in_threadpool(_plan, body, seed)
    await refuse_paused(db, user.id, {p.family for p in plan})
    request = body.model_dump(exclude={"seed"})
    exam = await db.run(store.create_exam, user.id, seed, request, body.time_limit_min, plan,
                        utcnow())  # fmt: skip
    return await run_in_threadpool(exam_public, *exam)


@router.get("/{exam_id}", response_model=ExamPublic)
async def get_exam(exam_id: ExamId, user: CurrentUser, db: DbDep) -> ExamPublic:
    """Your exam; expected answers and solutions appear only after submission."""
    assert user.id is not None
    exam, instances = await db.run(load_exam, exam_id, user.id)
    await ensure_families(db, [i.family for i in instances])
    return await run_in_threadpool(exam_public, exam, instances)


@router.post(
    "/{exam_id}/submit",
    response_model=ExamResult,
    responses=PAUSED | {422: ERROR_RESPONSES[404] | {"description": "Not a question of it"}},
)
async def submit_exam(exam_id: ExamId, body: SubmitIn, user: CurrentUser, db: DbDep) -> ExamResult:
    """Grade the whole exam at once; late submissions are scored and flagged."""
    assert user.id is not None
    exam, instances = await db.run(load_exam, exam_id, user.id)
    await ensure_families(db, [i.family for i in instances])
    if exam.submitted_at is not None:  # a quick refusal; the store's update is the rule
        raise HTTPException(409, f"exam {exam_id} was already submitted")
    stray = sorted(set(body.answers) - {str(i.id) for i in instances})
    if stray:
        raise HTTPException(422, f"not questions of exam {exam_id}: {', '.join(stray)}")
    if exam.assessment_id is None:
        await refuse_paused(db, user.id, {i.family for i in instances})
    result, stored = await run_in_threadpool(score_submission, exam, instances, body.answers)
    await db.run(store.submit_exam, exam_id, user.id, stored)
    return result


@router.get(
    "/{exam_id}/export",
    response_class=Response,
    responses={
        200: {"content": {m: {} for m, _ in EXPORT_TYPES.values()}},
        403: ERROR_RESPONSES[404],
    },
)
async def export_exam(
    exam_id: ExamId,
    user: CurrentUser,
    db: DbDep,
    format: Annotated[Literal["moodle", "gift", "markdown", "json"], Query()] = "json",
    part: Annotated[
        Literal["exam", "key"] | None,
        Query(
            description="key: with the answers; exam: the questions only (markdown and "
            "json). Default: exam for markdown (a printable paper), key for the others."
        ),
    ] = None,
) -> Response:
    """Export the exam (owner only): moodle, gift, markdown or json. A copy of a course
    assessment exports its answers only once submitted."""
    assert user.id is not None
    part = part or ("exam" if format == "markdown" else "key")
    exam, instances = await db.run(load_exam, exam_id, user.id)
    await ensure_families(db, [i.family for i in instances])
    try:
        check_export(exam, format, part)
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from exc
    items = await run_in_threadpool(export_items, instances)
    title = f"flopcards exam {exam_id}" + ("" if exam.assessment_id else f" (seed {exam.seed})")
    meta = {
        "id": exam_id,
        "seed": None if exam.assessment_id else exam.seed,
        "request": exam.request,
    }
    text = await run_in_threadpool(export_text, title, items, format, part == "key", meta)
    media, ext = EXPORT_TYPES[format]
    suffix = "-key" if format == "markdown" and part == "key" else ""
    return Response(
        text,
        media_type=media,
        headers={"Content-Disposition": f'attachment; filename="exam-{exam_id}{suffix}.{ext}"'},
    )
