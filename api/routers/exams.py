"""Exams: seeded sets of generated questions, graded only on submission, exportable to
Moodle XML, GIFT, printable markdown and JSON."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Path, Query, status
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from pydantic import BaseModel, Field
from sqlmodel import Session, col, select

from ..db import utcnow, writing
from ..deps import CurrentUser, SessionDep
from ..errors import ERROR_RESPONSES
from ..questions import families, public_question, random_seed, variant
from ..tables import Exam, QuestionInstance
from .questions import QuestionPublic

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


def _own(session: Session, exam_id: int, user_id: int | None) -> Exam:
    exam = session.get(Exam, exam_id)
    if exam is None or exam.user_id != user_id:
        raise HTTPException(404, f"no exam {exam_id}")
    return exam


def _instances(session: Session, exam_id: int) -> list[QuestionInstance]:
    return list(
        session.exec(
            select(QuestionInstance)
            .where(QuestionInstance.exam_id == exam_id)
            .order_by(col(QuestionInstance.position))
        )
    )


def _deadline(exam: Exam) -> datetime | None:
    return exam.created_at + timedelta(minutes=exam.time_limit_min) if exam.time_limit_min else None


def _public(exam: Exam, instances: list[QuestionInstance]) -> ExamPublic:
    assert exam.id is not None
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
        deadline=_deadline(exam),
        submitted=exam.submitted_at is not None,
        questions=[
            QuestionPublic.model_validate(
                public_question(i, variant(i.family, i.seed, i.difficulty))
            )
            for i in instances
        ],
        result=ExamResult.model_validate(exam.result) if exam.result else None,
    )


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=ExamPublic,
    responses={422: ERROR_RESPONSES[404] | {"description": "Nothing matches the request"}},
)
async def create_exam(body: ExamCreate, user: CurrentUser, session: SessionDep) -> ExamPublic:
    """Build a seeded exam (a seed is drawn and returned when none is given)."""
    from grader.exam import ExamPlanError, plan_exam

    fams = await run_in_threadpool(families)
    unknown = sorted(set(body.families or ()) - set(fams))
    if unknown:
        raise HTTPException(422, f"unknown families: {', '.join(unknown)}")
    seed = random_seed() if body.seed is None else body.seed
    try:
        plan = plan_exam(
            fams,
            seed=seed,
            count=body.count,
            topics=body.topics,
            family_ids=body.families,
            difficulty=body.difficulty,
        )
    except ExamPlanError as exc:
        raise HTTPException(422, str(exc)) from exc
    for p in plan:  # generate (and cache) every variant before taking the write lock
        await run_in_threadpool(variant, p.family, p.seed, p.difficulty)
    assert user.id is not None
    with writing(session):
        request = body.model_dump(exclude={"seed"})
        exam = Exam(user_id=user.id, seed=seed, request=request, time_limit_min=body.time_limit_min)
        session.add(exam)
        session.flush()
        instances = [
            QuestionInstance(
                user_id=user.id,
                family=p.family,
                seed=p.seed,
                difficulty=p.difficulty,
                exam_id=exam.id,
                position=p.position,
            )
            for p in plan
        ]
        session.add_all(instances)
        session.commit()
    return _public(exam, instances)


@router.get("/{exam_id}", response_model=ExamPublic)
def get_exam(exam_id: ExamId, user: CurrentUser, session: SessionDep) -> ExamPublic:
    """Your exam; expected answers and solutions appear only after submission."""
    exam = _own(session, exam_id, user.id)
    return _public(exam, _instances(session, exam_id))


@router.post(
    "/{exam_id}/submit",
    response_model=ExamResult,
    responses={
        409: ERROR_RESPONSES[404] | {"description": "Already submitted"},
        422: ERROR_RESPONSES[404] | {"description": "An answer to a question not in the exam"},
    },
)
def submit_exam(
    exam_id: ExamId, body: SubmitIn, user: CurrentUser, session: SessionDep
) -> ExamResult:
    """Grade the whole exam at once; late submissions are scored and flagged."""
    exam = _own(session, exam_id, user.id)
    if exam.submitted_at is not None:
        raise HTTPException(409, f"exam {exam_id} was already submitted")
    instances = _instances(session, exam_id)
    ids = {str(i.id): i for i in instances}
    stray = sorted(set(body.answers) - set(ids))
    if stray:
        raise HTTPException(422, f"not questions of exam {exam_id}: {', '.join(stray)}")
    now = utcnow()
    results: list[QuestionResult] = []
    changes: list[tuple[QuestionInstance, str, float, int]] = []
    by_topic: dict[str, list[float]] = {}
    for inst in instances:
        question = variant(inst.family, inst.seed, inst.difficulty)
        text = body.answers.get(str(inst.id))
        grade = question.grade(text) if text is not None and text.strip() else None
        status_ = "unanswered" if grade is None else grade.status
        score = 0.0 if grade is None else grade.score
        expected, display = question.expected()
        results.append(
            QuestionResult(
                question_id=inst.id or 0,
                position=inst.position,
                family=inst.family,
                topic=question.topic,
                answer=text,
                status=status_,
                score=score,
                feedback=grade.feedback if grade else "No answer was given.",
                expected=expected,
                expected_display=display,
                diagnosis=[d.to_dict() for d in grade.diagnosis] if grade else [],
                solution=question.solution,
            )
        )
        # Applied under the writer lock below: changing loaded rows now would have them
        # flushed by a transaction that does not hold it.
        tried = int(grade is not None and grade.status != "invalid")
        changes.append((inst, status_, score, tried))
        t = by_topic.setdefault(question.topic, [0.0, 0.0])
        t[0] += score
        t[1] += 1
    total, max_score = sum(r.score for r in results), float(len(results))
    deadline = _deadline(exam)
    result = ExamResult(
        score=round(total, 4),
        max_score=max_score,
        percent=round(100 * total / max_score, 2) if max_score else 0.0,
        late=deadline is not None and now > deadline,
        submitted_at=now,
        by_topic={
            k: TopicScore(score=round(s, 4), max_score=m, percent=round(100 * s / m, 2))
            for k, (s, m) in sorted(by_topic.items())
        },
        per_question=results,
    )
    with writing(session):
        session.refresh(exam)
        if exam.submitted_at is not None:  # a concurrent submission won the race
            raise HTTPException(409, f"exam {exam_id} was already submitted")
        exam.submitted_at, exam.late = now, result.late
        exam.score, exam.max_score = result.score, result.max_score
        exam.result = result.model_dump(mode="json")
        session.add(exam)
        for inst, graded_status, graded_score, tried in changes:
            inst.status, inst.score, inst.graded_at = graded_status, graded_score, now
            inst.attempts += tried
        session.add_all(instances)
        session.commit()
    return result


EXPORT_TYPES = {
    "moodle": ("application/xml", "xml"),
    "gift": ("text/plain; charset=utf-8", "gift.txt"),
    "markdown": ("text/markdown; charset=utf-8", "md"),
    "json": ("application/json", "json"),
}


@router.get(
    "/{exam_id}/export",
    response_class=Response,
    responses={200: {"content": {m: {} for m, _ in EXPORT_TYPES.values()}}},
)
def export_exam(
    exam_id: ExamId,
    user: CurrentUser,
    session: SessionDep,
    format: Annotated[Literal["moodle", "gift", "markdown", "json"], Query()] = "json",
    part: Annotated[Literal["exam", "key"], Query(description="markdown: exam or key")] = "exam",
) -> Response:
    """Export the exam with its answer key (owner only): moodle, gift, markdown or json."""
    from grader.exports import ExportItem, to_gift, to_json, to_markdown, to_moodle_xml

    exam = _own(session, exam_id, user.id)
    items = [
        ExportItem(i.id or 0, i.position, variant(i.family, i.seed, i.difficulty))
        for i in _instances(session, exam_id)
    ]
    title = f"flopcards exam {exam_id} (seed {exam.seed})"
    if format == "moodle":
        text = to_moodle_xml(title, items)
    elif format == "gift":
        text = to_gift(title, items)
    elif format == "markdown":
        text = to_markdown(title, items, key=part == "key")
    else:
        text = to_json(title, items, {"id": exam_id, "seed": exam.seed, "request": exam.request})
    media, ext = EXPORT_TYPES[format]
    suffix = "-key" if format == "markdown" and part == "key" else ""
    return Response(
        text,
        media_type=media,
        headers={"Content-Disposition": f'attachment; filename="exam-{exam_id}{suffix}.{ext}"'},
    )
