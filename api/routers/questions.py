"""Generated numeric questions: list the families, draw a variant, grade an answer."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Path, status
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from ..db import Database, utcnow
from ..deps import CurrentUser, DbDep
from ..refusals import (
    Conflict,
    Forbidden,
    Gone,
    HintsNotAllowed,
    Incomplete,
    NoHints,
    NotFound,
    OutOfRange,
    PracticePaused,
    Unauthorized,
    refusals,
)
from ..schemas import GradePublic, QuestionPublic
from ..services.assessments import refuse_paused
from ..services.course_networks import COURSE_FAMILY, ensure_families, register
from ..services.exams import copy_hints
from ..services.questions import (
    families,
    family_or_404,
    grade_dict,
    grade_record,
    graded,
    public_question,
    random_seed,
    variant,
)
from ..store.courses import course_architectures
from ..store.exams import load_exam
from ..store.hints import take_hint
from ..store.questions import (
    QuestionRecord,
    add_question,
    grade_practice,
    hintable_question,
    own_question,
)

if TYPE_CHECKING:
    from grader.question import Family

router = APIRouter(
    prefix="/questions",
    tags=["questions"],
    responses=refusals(Unauthorized, NotFound),
)

MAX_SEED = 2**31 - 1
QuestionId = Annotated[int, Path(ge=1, le=2**62)]


class FamilyPublic(BaseModel):
    """A question family."""

    id: str
    topic: str
    title: str
    answer_kind: str
    difficulties: list[int]
    architecture_level: bool


class QuestionCreate(BaseModel):
    """Body of ``POST /questions``; a seed fixes the variant, so classes can share one."""

    family: str = Field(min_length=1, max_length=64)
    seed: int | None = Field(default=None, ge=0, le=MAX_SEED)
    difficulty: int = Field(default=1, ge=1, le=3)
    course_id: int | None = Field(default=None, ge=1, le=2**62)
    architecture: str | None = Field(
        default=None,
        max_length=64,
        description='A network of the course (with course_id and family "course_network").',
    )


class GradeIn(BaseModel):
    """Body of ``POST /questions/{id}/grade``."""

    answer: str = Field(max_length=500)


def _family_list() -> list[FamilyPublic]:
    return [
        FamilyPublic(
            id=f.id,
            topic=f.topic,
            title=f.title,
            answer_kind=f.answer_kind,
            difficulties=list(f.difficulties),
            architecture_level=f.architecture_level,
        )
        for f in sorted(families().values(), key=lambda f: (f.topic, f.id))
    ]


@router.get("/families", response_model=list[FamilyPublic])
async def list_families() -> list[FamilyPublic]:
    """Every question family with its topic, answer kind and difficulties."""
    return await run_in_threadpool(_family_list)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=QuestionPublic,
    responses=refusals(PracticePaused, Conflict, OutOfRange, Incomplete, Gone),
)
async def create_question(body: QuestionCreate, user: CurrentUser, db: DbDep) -> Any:
    """Draw a variant of a family (a random one unless a seed is given) and store it."""
    assert user.id is not None
    family = await _family(body, user.id, db)
    if body.difficulty not in family.difficulties:
        raise OutOfRange(f"difficulty must be one of {list(family.difficulties)}")
    await refuse_paused(db, user.id, {family.id})
    seed = random_seed() if body.seed is None else body.seed
    question = await run_in_threadpool(variant, family.id, seed, body.difficulty)
    instance = await db.run(add_question, user.id, family.id, seed, body.difficulty)
    return public_question(instance, question)


async def _family(body: QuestionCreate, user_id: int, db: Database) -> Family:
    """The requested family: a registry one, or the family of a course's own network."""
    if body.architecture is None and body.course_id is None:
        return await run_in_threadpool(family_or_404, body.family)
    if body.architecture is None or body.course_id is None or body.family != COURSE_FAMILY:
        raise Incomplete(f'a course network is asked about with family "{COURSE_FAMILY}"'
                               ", course_id and architecture together")  # fmt: skip
    (record,) = await db.run(course_architectures, body.course_id, user_id, body.architecture)
    return await run_in_threadpool(register, record)


@router.get("/{question_id}", response_model=QuestionPublic, responses=refusals(Gone))
async def get_question(question_id: QuestionId, user: CurrentUser, db: DbDep) -> Any:
    """One of your questions, without its truth."""
    assert user.id is not None
    instance = await db.run(own_question, question_id, user.id)
    await ensure_families(db, [instance.family])
    question = await run_in_threadpool(variant, instance.family, instance.seed, instance.difficulty)
    return public_question(instance, question)


@router.post(
    "/{question_id}/grade", response_model=GradePublic, responses=refusals(PracticePaused, Gone)
)
async def grade_question(
    question_id: QuestionId, body: GradeIn, user: CurrentUser, db: DbDep
) -> Any:
    """Grade an answer; unreadable answers come back ``invalid`` and cost no attempt."""
    assert user.id is not None
    instance = await db.run(own_question, question_id, user.id)
    await ensure_families(db, [instance.family])
    await refuse_paused(db, user.id, {instance.family})
    question = await run_in_threadpool(variant, instance.family, instance.seed, instance.difficulty)
    grade = graded(question, body.answer, instance.hints_used)
    if grade.status != "invalid":
        await db.run(grade_practice, question_id, user.id, grade_record(grade, body.answer))
    return grade_dict(grade, question)


class HintOut(BaseModel):
    """One more hint, and what hints now cost."""

    hint: str
    number: int = Field(description="This hint's number (1 for the first).")
    total: int = Field(description="How many hints the question has.")
    max_score: float = Field(description="The most an answer can now score.")


@router.post(
    "/{question_id}/hint",
    response_model=HintOut,
    responses=refusals(Forbidden, HintsNotAllowed, Conflict, PracticePaused, NoHints, Gone),
)
async def hint(question_id: QuestionId, user: CurrentUser, db: DbDep) -> HintOut:
    """The next hint of one of your unanswered questions (practice, study session, or an
    assessment that allows hints). Each hint shown caps the score: 1 − 0.25 per hint, at
    least 0.25 (docs/conventions.md)."""
    from grader.hints import max_score

    assert user.id is not None
    instance = await db.run(hintable_question, question_id, user.id)
    copy = [instance]
    if instance.exam_id is not None:  # checked against every truth of the exam
        _exam, copy = await db.run(load_exam, instance.exam_id, user.id)
    await ensure_families(db, [i.family for i in copy])
    hints = await run_in_threadpool(_hints, instance, copy)
    if not hints:
        raise NoHints(f"question {question_id} has no hints")
    used = await db.run(take_hint, question_id, user.id, len(hints), utcnow())
    return HintOut(hint=hints[used - 1], number=used, total=len(hints),
                   max_score=max_score(used))  # fmt: skip


def _hints(instance: QuestionRecord, copy: list[QuestionRecord]) -> tuple[str, ...]:
    """The hints the question may show: none states an answer of its copy."""
    question = variant(instance.family, instance.seed, instance.difficulty)
    return copy_hints(copy).of(question)
