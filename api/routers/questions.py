"""Generated numeric questions: list the families, draw a variant, grade an answer."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, status
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from ..db import writing
from ..deps import CurrentUser, SessionDep
from ..errors import ERROR_RESPONSES
from ..questions import (
    families,
    family_or_404,
    grade_and_record,
    grade_dict,
    public_question,
    random_seed,
    variant,
)
from ..tables import QuestionInstance

router = APIRouter(
    prefix="/questions",
    tags=["questions"],
    responses={401: ERROR_RESPONSES[401], 404: ERROR_RESPONSES[404]},
)

MAX_SEED = 2**31 - 1


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


class AnswerSpecPublic(BaseModel):
    """What form the answer takes (the truth is never included)."""

    kind: str
    unit: str | None = None
    dimension: str | None = None
    choices: list[str] | None = None
    batch: bool | None = None
    parts: dict[str, Any] | None = None


class QuestionPublic(BaseModel):
    """A stored question instance, without its truth."""

    id: int
    family: str
    topic: str
    seed: int
    difficulty: int
    prompt: str
    params: dict[str, Any]
    answer: AnswerSpecPublic
    conventions: list[str]


class GradeIn(BaseModel):
    """Body of ``POST /questions/{id}/grade``."""

    answer: str = Field(max_length=500)


class DiagnosisPublic(BaseModel):
    """A named mistake."""

    code: str
    message: str
    part: str | None = None


class GradePublic(BaseModel):
    """The grade of an answer, with the expected answer and the worked solution."""

    status: str
    score: float
    expected: Any
    expected_display: str
    feedback: str
    diagnosis: list[DiagnosisPublic]
    solution: str
    parts: dict[str, Any] | None = None


@router.get("/families", response_model=list[FamilyPublic])
async def list_families() -> list[FamilyPublic]:
    """Every question family with its topic, answer kind and difficulties."""
    fams = await run_in_threadpool(families)
    return [
        FamilyPublic(
            id=f.id,
            topic=f.topic,
            title=f.title,
            answer_kind=f.answer_kind,
            difficulties=list(f.difficulties),
            architecture_level=f.architecture_level,
        )
        for f in sorted(fams.values(), key=lambda f: (f.topic, f.id))
    ]


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=QuestionPublic,
    responses={422: ERROR_RESPONSES[404] | {"description": "Seed or difficulty out of range"}},
)
async def create_question(body: QuestionCreate, user: CurrentUser, session: SessionDep) -> Any:
    """Draw a variant of a family (a random one unless a seed is given) and store it."""
    family = await run_in_threadpool(family_or_404, body.family)
    if body.difficulty not in family.difficulties:
        raise HTTPException(422, f"difficulty must be one of {list(family.difficulties)}")
    seed = random_seed() if body.seed is None else body.seed
    question = await run_in_threadpool(variant, family.id, seed, body.difficulty)
    assert user.id is not None
    with writing(session):
        instance = QuestionInstance(
            user_id=user.id, family=family.id, seed=seed, difficulty=body.difficulty
        )
        session.add(instance)
        session.commit()
    return public_question(instance, question)


def _own(session: SessionDep, question_id: int, user_id: int | None) -> QuestionInstance:
    instance = session.get(QuestionInstance, question_id)
    if instance is None or instance.user_id != user_id or instance.exam_id is not None:
        raise HTTPException(404, f"no question {question_id}")
    return instance


QuestionId = Annotated[int, Path(ge=1, le=2**62)]


@router.get("/{question_id}", response_model=QuestionPublic)
async def get_question(question_id: QuestionId, user: CurrentUser, session: SessionDep) -> Any:
    """One of your questions, without its truth."""
    instance = _own(session, question_id, user.id)
    question = await run_in_threadpool(variant, instance.family, instance.seed, instance.difficulty)
    return public_question(instance, question)


@router.post("/{question_id}/grade", response_model=GradePublic)
async def grade_question(
    question_id: QuestionId, body: GradeIn, user: CurrentUser, session: SessionDep
) -> Any:
    """Grade an answer; unreadable answers come back ``invalid`` and cost no attempt."""
    instance = _own(session, question_id, user.id)
    question = await run_in_threadpool(variant, instance.family, instance.seed, instance.difficulty)
    with writing(session):  # only now: generating must not hold the write lock
        session.refresh(instance)
        assert instance.id is not None
        grade = grade_and_record(session, instance.id, instance.user_id, question, body.answer)
        session.commit()
    return grade_dict(grade, question)
