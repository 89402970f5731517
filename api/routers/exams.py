"""Exams: seeded sets of generated questions, graded only on submission, exportable to
Moodle XML, GIFT, printable markdown and JSON.

HTTP only: plans and scores come from ``grader`` (through ``api.services.exams``), rows and the
one-submission rule from ``api.store.exams``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query, status
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from pydantic import BaseModel, Field

from grader.exports import FORMATS, FormatName, Part

from ..db import utcnow
from ..deps import CurrentUser, DbDep, GradeEventsDep
from ..refusals import (
    AlreadySubmitted,
    AnswersWithheld,
    Conflict,
    Forbidden,
    Gone,
    KeyOnlyFormat,
    NotFound,
    NothingMatches,
    NotInExam,
    PracticePaused,
    Unauthorized,
    UnknownName,
    refusals,
)
from ..schemas import ExamPublic, ExamResult
from ..services.assessments import closed_families, refuse_paused
from ..services.course_networks import ensure_families
from ..services.exams import (
    GRACE,
    check_export,
    check_withheld,
    exam_public,
    export_items,
    export_text,
    score_change,
    score_submission,
    settle,
)
from ..services.questions import families, random_seed, variant
from ..store import exams as store
from ..store.exams import PlannedQuestion, load_exam
from .exports import (
    DOWNLOAD,
    PART_HELP,
    FormatOut,
    FormatQuery,
    download,
    export_format,
    formats_out,
)

router = APIRouter(
    prefix="/exams",
    tags=["exams"],
    responses=refusals(Unauthorized, NotFound),
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


class SubmitIn(BaseModel):
    """Body of ``POST /exams/{id}/submit``: answers by question id."""

    answers: dict[str, Annotated[str, Field(max_length=500)]] = Field(max_length=100)


class SaveIn(BaseModel):
    """Body of ``PUT /exams/{id}/answers``: the answers as typed, by question id. Only the
    questions given change; an empty text clears a saved answer."""

    answers: dict[str, Annotated[str, Field(max_length=500)]] = Field(max_length=100)


class SavedOut(BaseModel):
    """What is saved now, and until when saving works."""

    saved: dict[str, str]
    deadline: datetime | None
    server_time: datetime


def _plan(body: ExamCreate, seed: int) -> list[PlannedQuestion]:
    """The exam's variants, each generated (and cached) before anything is stored."""
    from grader.exam import ExamPlanError, plan_exam

    fams = families()
    unknown = sorted(set(body.families or ()) - set(fams))
    if unknown:
        raise UnknownName(f"unknown families: {', '.join(unknown)}")
    topics = {f.topic for f in fams.values()}
    unknown = sorted(set(body.topics or ()) - topics)
    if unknown:
        raise UnknownName(f"unknown topics: {', '.join(unknown)}; "
                          f"valid: {', '.join(sorted(topics))}")  # fmt: skip
    try:
        plan = plan_exam(fams, seed=seed, count=body.count, topics=body.topics,
                         family_ids=body.families, difficulty=body.difficulty)  # fmt: skip
    except ExamPlanError as exc:
        raise NothingMatches(str(exc)) from exc
    for p in plan:
        variant(p.family, p.seed, p.difficulty)
    return [PlannedQuestion(p.position, p.family, p.seed, p.difficulty) for p in plan]


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=ExamPublic,
    responses=refusals(PracticePaused, UnknownName, NothingMatches, Gone),
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


@router.get("/formats", response_model=list[FormatOut])
async def export_formats() -> list[FormatOut]:
    """The export formats (the registry, ``grader.exports``): name (the ``format`` of the
    export routes), label, description, media type, file extension, whether a paper
    without the answers can be written (``keyless``, ``part=exam``) and what a download
    that names no part gives (``default_part``). Read by the page."""
    return formats_out()


@router.get("/{exam_id}", response_model=ExamPublic, responses=refusals(AnswersWithheld, Gone))
async def get_exam(
    exam_id: ExamId, user: CurrentUser, db: DbDep, events: GradeEventsDep
) -> ExamPublic:
    """Your exam, with the answers you saved and the hints you were shown (resume from it
    after a reload or on another device) and the server's clock to count down from;
    expected answers and solutions appear only after submission. A copy of an assessment
    past its deadline is submitted with its saved answers first. 409 for a submitted exam
    on a family an assessment open for you asks about (its answers wait for your
    submission)."""
    assert user.id is not None
    loaded = await db.run(load_exam, exam_id, user.id)
    await ensure_families(db, [i.family for i in loaded[1]])
    exam, instances = await settle(db, events, loaded)
    closed = await closed_families(db, user.id)
    check_withheld(exam, instances, closed, truths=exam.submitted_at is not None)
    return await run_in_threadpool(exam_public, exam, instances)


def _question_ids(answers: dict[str, str], exam_id: int, ids: set[int]) -> dict[int, str]:
    stray = sorted(k for k in answers if not k.isdigit() or int(k) not in ids)
    if stray:
        raise NotInExam(f"not questions of exam {exam_id}: {', '.join(stray)}")
    return {int(k): v for k, v in answers.items()}


@router.put(
    "/{exam_id}/answers",
    response_model=SavedOut,
    responses=refusals(AlreadySubmitted, Conflict, NotInExam, Gone),
)
async def save_answers(
    exam_id: ExamId, body: SaveIn, user: CurrentUser, db: DbDep, events: GradeEventsDep
) -> SavedOut:
    """Save answers as you type them (only the questions given change; "" clears one).
    Nothing is graded until you submit; at the deadline a copy of an assessment is
    submitted with what is saved. 409 once submitted."""
    assert user.id is not None
    loaded = await db.run(load_exam, exam_id, user.id)
    exam, instances = await settle(db, events, loaded)
    answers = _question_ids(body.answers, exam_id, {i.id for i in instances})
    until = None
    if exam.assessment_id is not None and exam.deadline is not None:
        until = exam.deadline + GRACE
    now = utcnow()
    saved = await db.run(store.save_answers, exam_id, user.id, answers, now, until)
    return SavedOut(
        saved={str(k): v for k, v in saved.saved.items()}, deadline=saved.deadline, server_time=now
    )


@router.post(
    "/{exam_id}/submit",
    response_model=ExamResult,
    responses=refusals(AlreadySubmitted, PracticePaused, Conflict, NotInExam, Gone),
)
async def submit_exam(
    exam_id: ExamId, body: SubmitIn, user: CurrentUser, db: DbDep, events: GradeEventsDep
) -> ExamResult:
    """Grade the whole exam at once with the answers sent. A practice exam submitted late
    is scored and flagged; a copy of an assessment is accepted (flagged late) for a short
    grace after its deadline, then the server has submitted the saved answers (409)."""
    assert user.id is not None
    loaded = await db.run(load_exam, exam_id, user.id)
    await ensure_families(db, [i.family for i in loaded[1]])
    exam, instances = await settle(db, events, loaded)
    if exam.submitted_at is not None:  # a quick refusal; the store's update is the rule
        how = "automatically at its deadline" if exam.auto_submitted else "already"
        raise AlreadySubmitted(f"exam {exam_id} was submitted {how}")
    _question_ids(body.answers, exam_id, {i.id for i in instances})
    if exam.assessment_id is None:
        await refuse_paused(db, user.id, {i.family for i in instances})
    result, stored = await run_in_threadpool(score_submission, exam, instances, body.answers)
    await db.run(store.submit_exam, exam_id, user.id, stored)
    if exam.assessment_id is not None:
        exam, _ = await db.run(load_exam, exam_id, user.id)
        change = score_change(exam, "submitted")
        if change is not None:
            await events.publish(db, [change])
    return result


@router.get(
    "/{exam_id}/export",
    response_class=Response,
    responses=DOWNLOAD | refusals(AnswersWithheld, Forbidden, KeyOnlyFormat, Gone),
)
async def export_exam(
    exam_id: ExamId,
    user: CurrentUser,
    db: DbDep,
    format: FormatQuery = FormatName("json"),
    part: Annotated[
        Part | None,
        Query(
            description=PART_HELP
            + " Default: the format's `default_part` (the paper for a format people print)."
        ),
    ] = None,
) -> Response:
    """Export the exam (owner only) in a registered format (`GET /exams/formats`). A copy
    of a course assessment exports its answers only once submitted."""
    assert user.id is not None
    exam, instances = await db.run(load_exam, exam_id, user.id)
    part = part or FORMATS[format].default_part
    fmt = export_format(format, part)
    await ensure_families(db, [i.family for i in instances])
    check_export(exam, part)
    check_withheld(exam, instances, await closed_families(db, user.id), truths=part == "key")
    items = await run_in_threadpool(export_items, instances)
    title = f"flopcards exam {exam_id}" + ("" if exam.assessment_id else f" (seed {exam.seed})")
    meta = {
        "id": exam_id,
        "seed": None if exam.assessment_id else exam.seed,
        "request": exam.request,
    }
    text = await run_in_threadpool(export_text, fmt, title, items, part == "key", meta)
    return download(fmt, text, f"exam-{exam_id}", part == "key")
