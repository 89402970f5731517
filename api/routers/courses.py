"""Courses and assessments: an instructor sets a quiz for a class, each student takes their
own variants, the instructor reads the gradebook and the item statistics.

Everything of a course is 404 to non-members; what only instructors may do is 403 to
students. Students take an assessment through the exam endpoints (``/exams/{id}``).

Nobody is put in a course without consent: students join with the course's code, a
co-instructor accepts an invitation (or is a member promoted by an instructor), and no route
takes the id of a user outside the course. Wrong codes are counted per user and per client
address (429 past the limits); an instructor can replace the join code.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Hashable
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request, status
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from pydantic import BaseModel, Field, model_validator

from grader.exports import FormatName, Part

from ..db import utcnow
from ..deps import CurrentUser, DbDep, GradeEventsDep
from ..limits import RateLimit, client_key, limiters, run_profile
from ..refusals import (
    AssessmentStarted,
    Conflict,
    Forbidden,
    InstructorsDoNotTake,
    InvalidSpec,
    KeepsChanging,
    KeyOnlyFormat,
    NotFound,
    NothingMatches,
    NotStarted,
    OutOfRange,
    TooMany,
    Unauthorized,
    UnknownName,
    Unprofilable,
    refusals,
)
from ..schemas import AnswerSpecPublic, ExamPublic
from ..security import hash_token
from ..services import assessments as logic
from ..services.assessments import refuse_paused
from ..services.course_networks import course_family_id, ensure_families, profile_of
from ..services.exams import (
    exam_public,
    regrade_copy,
    score_change,
    settle,
    sweep,
)
from ..services.exams import review as exam_review
from ..services.profiles import ProfilePublic, profile_layers, profile_public
from ..store import Gone
from ..store import courses as store
from ..store import lti as lti_store
from ..store.exams import (
    Changed,
    apply_regrade,
    create_exam,
    grade_history,
    load_exam_by_id,
)
from ..store.exams import diagnoses as exam_diagnoses
from ..store.exams import override_item as override_exam_item
from .exports import DOWNLOAD, PART_HELP, FormatQuery, download, export_format

router = APIRouter(
    tags=["courses"],
    responses=refusals(Unauthorized, NotFound),
)

Id = Annotated[int, Path(ge=1, le=2**62)]
Topic = Annotated[str, Field(min_length=1, max_length=64)]


class CourseCreate(BaseModel):
    """Body of ``POST /courses``."""

    title: str = Field(min_length=1, max_length=200)


class JoinIn(BaseModel):
    """Body of ``POST /courses/join``: the code an instructor shared."""

    join_code: str = Field(min_length=4, max_length=32)


class CoursePublic(BaseModel):
    """A course and the caller's role; the join code only for instructors."""

    id: int
    title: str
    role: Literal["instructor", "student"]
    join_code: str | None = None
    created_at: datetime


class InstructorIn(BaseModel):
    """Body of ``POST /courses/{id}/instructors``: a member of the course (their
    ``user_id`` from ``GET /courses/{id}/members``)."""

    user_id: int = Field(ge=1, le=2**62)


class InviteCreated(BaseModel):
    """An invitation to co-teach: give ``code`` to the invitee, who accepts it with
    ``POST /courses/invites/accept``. Shown this once (stored hashed); used once."""

    code: str
    role: Literal["instructor"]
    course_id: int
    expires_at: datetime


class InviteIn(BaseModel):
    """Body of ``POST /courses/invites/accept``."""

    code: str = Field(min_length=8, max_length=64)


class MemberPublic(BaseModel):
    """A member of a course."""

    user_id: int
    name: str
    role: str
    joined_at: datetime


class AssessmentCreate(BaseModel):
    """Body of ``POST /courses/{id}/assessments``."""

    title: str = Field(min_length=1, max_length=200)
    topics: list[Topic] | None = Field(default=None, max_length=50)
    families: list[Topic] | None = Field(default=None, max_length=200)
    count: int = Field(ge=1, le=100)
    difficulty: int | None = Field(default=None, ge=1, le=3)
    opens_at: datetime | None = None
    closes_at: datetime | None = None
    time_limit_min: int | None = Field(default=None, ge=1, le=1440)
    allow_hints: bool = False
    architectures: list[Annotated[str, Field(min_length=1, max_length=64)]] | None = Field(
        default=None, max_length=20, description="The course's own networks to ask about."
    )

    @model_validator(mode="after")
    def _window(self) -> AssessmentCreate:
        for name in ("opens_at", "closes_at"):
            value = getattr(self, name)
            if value is not None and value.tzinfo is None:
                raise ValueError(f"{name} needs a time zone (e.g. 2026-12-01T09:00:00Z)")
        if self.opens_at and self.closes_at and self.closes_at <= self.opens_at:
            raise ValueError("closes_at must be after opens_at")
        return self


class AssessmentEdit(BaseModel):
    """Body of ``PATCH /assessments/{id}``: the fields to change (null clears an optional
    one). Allowed while no student has started the assessment."""

    title: str | None = Field(default=None, min_length=1, max_length=200)
    topics: list[Topic] | None = Field(default=None, max_length=50)
    families: list[Topic] | None = Field(default=None, max_length=200)
    count: int | None = Field(default=None, ge=1, le=100)
    difficulty: int | None = Field(default=None, ge=1, le=3)
    opens_at: datetime | None = None
    closes_at: datetime | None = None
    time_limit_min: int | None = Field(default=None, ge=1, le=1440)
    allow_hints: bool | None = None
    architectures: list[Annotated[str, Field(min_length=1, max_length=64)]] | None = Field(
        default=None, max_length=20
    )

    @model_validator(mode="after")
    def _required(self) -> AssessmentEdit:
        for name in ("title", "count", "allow_hints"):
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name} cannot be null")
        for name in ("opens_at", "closes_at"):
            value = getattr(self, name)
            if value is not None and value.tzinfo is None:
                raise ValueError(f"{name} needs a time zone (e.g. 2026-12-01T09:00:00Z)")
        return self


class AccommodationIn(BaseModel):
    """Body of ``PUT /assessments/{id}/accommodations/{user_id}``: extra minutes on the
    time limit and/or a closing time of the student's own (both null: none)."""

    extra_minutes: int | None = Field(default=None, ge=1, le=10080)
    closes_at: datetime | None = None

    @model_validator(mode="after")
    def _zone(self) -> AccommodationIn:
        if self.closes_at is not None and self.closes_at.tzinfo is None:
            raise ValueError("closes_at needs a time zone (e.g. 2026-12-01T09:00:00Z)")
        return self


class AccommodationPublic(BaseModel):
    """A student's accommodation on an assessment, and the deadline it gives them."""

    user_id: int
    extra_minutes: int | None
    closes_at: datetime | None
    updated_by: int | None = None
    updated_at: datetime | None = None


class PreviewItem(BaseModel):
    """One position of an assessment as a student sees it, with its key."""

    position: int
    family: str
    topic: str
    difficulty: int
    prompt: str
    rules: str = ""
    params: dict[str, Any]
    answer: AnswerSpecPublic
    conventions: list[str]
    hints: list[str]
    expected: Any
    expected_display: str
    solution: str


class AssessmentPublic(BaseModel):
    """An assessment, with the caller's standing on it (and, for instructors, counts)."""

    id: int
    course_id: int
    title: str
    topics: list[str] | None
    families: list[str] | None
    count: int
    difficulty: int | None
    opens_at: datetime | None
    closes_at: datetime | None
    time_limit_min: int | None
    allow_hints: bool
    created_at: datetime
    status: Literal["not_started", "in_progress", "submitted"] | None = None
    exam_id: int | None = None
    score: float | None = None
    max_score: float | None = None
    started: int | None = None
    submitted: int | None = None
    architectures: list[str] | None = None
    locked: bool = Field(
        default=False, description="A student has started it: no more edits or deletion."
    )


def _course_public(c: store.CourseRecord) -> CoursePublic:
    code = c.join_code if c.role == store.INSTRUCTOR else None
    return CoursePublic(id=c.id, title=c.title, role=c.role, join_code=code,  # type: ignore[arg-type]
                        created_at=c.created_at)  # fmt: skip


def _assessment_public(
    a: store.AssessmentRecord, mine: store.ExamStatus | None = None, counts: dict | None = None
) -> AssessmentPublic:
    req = a.request
    out = AssessmentPublic(
        id=a.id, course_id=a.course_id, title=a.title, topics=req.get("topics"),
        families=req.get("families"), count=req["count"], difficulty=req.get("difficulty"),
        opens_at=a.opens_at, closes_at=a.closes_at, time_limit_min=a.time_limit_min,
        allow_hints=a.allow_hints, created_at=a.created_at, **(counts or {}),
        architectures=req.get("architectures"), locked=a.started_at is not None,
    )  # fmt: skip
    if mine is not None:
        out.status, out.exam_id = mine.status, mine.exam_id  # type: ignore[assignment]
        out.score, out.max_score = mine.score, mine.max_score
    return out


@router.post("/courses", status_code=status.HTTP_201_CREATED, response_model=CoursePublic)
async def create_course(body: CourseCreate, user: CurrentUser, db: DbDep) -> CoursePublic:
    """Create a course; you are its instructor. Share its join code with the class."""
    assert user.id is not None
    return _course_public(await db.run(store.create_course, user.id, body.title.strip(), utcnow()))


@asynccontextmanager
async def _guessing_guarded(request: Request, user_id: int) -> AsyncIterator[None]:
    """Count a code tried by the user and their address: 429 once either has tried too
    many wrong ones; a code that works gives its token back, so only wrong codes count
    (a class joining from one address is not held up)."""
    lim = limiters(request)
    keys = [(lim.join_user, user_id), (lim.join_address, client_key(request))]
    taken: list[tuple[RateLimit, Hashable]] = []
    for limit, key in keys:
        wait = limit.wait_s(key)
        if wait:
            for back, back_key in taken:
                back.refund(back_key)
            raise TooMany("too many wrong codes", wait)
        taken.append((limit, key))
    try:
        yield
    except NotFound:
        raise  # a wrong code: its tokens stay taken
    for limit, key in taken:
        limit.refund(key)


@router.post("/courses/join", response_model=CoursePublic, responses=refusals(TooMany))
async def join_course(body: JoinIn, user: CurrentUser, db: DbDep, request: Request) -> CoursePublic:
    """Join a course as a student (404 for a wrong code; 429 after too many wrong ones)."""
    assert user.id is not None
    code = body.join_code.strip().upper()
    async with _guessing_guarded(request, user.id):
        return _course_public(await db.run(store.join_course, user.id, code, utcnow()))


@router.post(
    "/courses/{course_id:int}/join-code", response_model=CoursePublic, responses=refusals(Forbidden)
)
async def rotate_join_code(course_id: Id, user: CurrentUser, db: DbDep) -> CoursePublic:
    """A new join code for the course (instructors only): the old one stops working. Who
    joined stays a member."""
    assert user.id is not None
    return _course_public(await db.run(store.rotate_join_code, course_id, user.id))


@router.get("/courses", response_model=list[CoursePublic])
async def list_courses(user: CurrentUser, db: DbDep) -> list[CoursePublic]:
    """Your courses, with your role in each."""
    assert user.id is not None
    return [_course_public(c) for c in await db.run(store.my_courses, user.id)]


@router.get("/courses/{course_id:int}", response_model=CoursePublic)
async def get_course(course_id: Id, user: CurrentUser, db: DbDep) -> CoursePublic:
    """One of your courses."""
    assert user.id is not None
    return _course_public(await db.run(store.course, course_id, user.id))


@router.get(
    "/courses/{course_id:int}/members",
    response_model=list[MemberPublic],
    responses=refusals(Forbidden),
)
async def list_members(course_id: Id, user: CurrentUser, db: DbDep) -> list[MemberPublic]:
    """The course's members and their roles (instructors only)."""
    assert user.id is not None
    rows = await db.run(store.members, course_id, user.id)
    return [MemberPublic.model_validate(r, from_attributes=True) for r in rows]


@router.post(
    "/courses/{course_id:int}/instructors",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=refusals(Forbidden),
)
async def add_instructor(
    course_id: Id, body: InstructorIn, user: CurrentUser, db: DbDep
) -> Response:
    """Make a member of the course a co-instructor (instructors only). Anyone else is a 404,
    whether the id exists or not: invite them instead (``POST /courses/{id}/invites``)."""
    assert user.id is not None
    await db.run(store.add_instructor, course_id, user.id, body.user_id, utcnow())
    return Response(status_code=204)


INVITE_TTL = timedelta(days=7)


@router.post(
    "/courses/{course_id:int}/invites",
    status_code=status.HTTP_201_CREATED,
    response_model=InviteCreated,
    responses=refusals(Forbidden),
)
async def create_invite(course_id: Id, user: CurrentUser, db: DbDep) -> InviteCreated:
    """Invite a co-instructor (instructors only): a code, valid for 7 days and one
    acceptance, that the invitee accepts. Nobody joins a course without accepting."""
    assert user.id is not None
    code = secrets.token_urlsafe(18)
    now = utcnow()
    record = await db.run(store.create_invite, course_id, user.id, hash_token(code), now,
                          now + INVITE_TTL)  # fmt: skip
    return InviteCreated(code=code, role="instructor", course_id=record.course_id,
                         expires_at=record.expires_at)  # fmt: skip


@router.post("/courses/invites/accept", response_model=CoursePublic, responses=refusals(TooMany))
async def accept_invite(
    body: InviteIn, user: CurrentUser, db: DbDep, request: Request
) -> CoursePublic:
    """Accept an invitation: you join its course as an instructor (404 for a wrong, used
    or expired code; 429 after too many wrong codes)."""
    assert user.id is not None
    async with _guessing_guarded(request, user.id):
        code_hash = hash_token(body.code.strip())
        return _course_public(await db.run(store.accept_invite, user.id, code_hash, utcnow()))


@router.post(
    "/courses/{course_id:int}/assessments",
    status_code=status.HTTP_201_CREATED,
    response_model=AssessmentPublic,
    responses=refusals(Forbidden, UnknownName, NothingMatches, Gone),
)
async def create_assessment(
    course_id: Id, body: AssessmentCreate, user: CurrentUser, db: DbDep
) -> AssessmentPublic:
    """Set an assessment for the course (instructors only)."""
    assert user.id is not None
    await db.run(store.course_role, course_id, user.id, True)
    secret = logic.new_secret()
    request = await _request(db, course_id, user.id, body.model_dump(), secret)
    fields = body.model_dump(include={"title", "opens_at", "closes_at", "time_limit_min",
                                      "allow_hints"})  # fmt: skip
    fields |= {"request": request, "secret": secret}
    return _assessment_public(
        await db.run(store.create_assessment, course_id, user.id, fields, utcnow())
    )


async def _request(
    db: DbDep, course_id: int, user_id: int, body: dict[str, Any], secret: str
) -> dict[str, Any]:
    """What an assessment asks (topics, families, count, difficulty, the course networks),
    checked: an unknown topic, family or architecture is a 422 naming it and the valid
    choices; so is a request nothing can fill. With the families its positions ask about,
    planned from ``secret`` (the open-copy rule needs them before anyone starts)."""
    request = {k: body.get(k) for k in ("topics", "families", "count", "difficulty")}
    names = list(dict.fromkeys(body.get("architectures") or ()))
    if names:
        nets = {n.name: n for n in await db.run(store.course_architectures, course_id, user_id)}
        unknown = [n for n in names if n not in nets]
        if unknown:
            valid = ", ".join(sorted(nets)) or "none yet (POST /courses/{id}/architectures)"
            raise UnknownName(f"unknown architectures: {', '.join(unknown)}; "
                              f"this course has: {valid}")  # fmt: skip
        request["architectures"] = names
        course_families = [course_family_id(nets[n].id) for n in names]
        request["course_families"] = course_families
        await ensure_families(db, course_families)
    await run_in_threadpool(_check_plan, request)
    return await run_in_threadpool(logic.with_planned_families, request, secret)


def _check_plan(request: dict[str, Any]) -> None:
    """422 unless the request's topics and families exist and can fill the assessment."""
    from grader.exam import ExamPlanError

    fams = logic.families()
    unknown = sorted(set(request.get("families") or ()) - set(fams))
    if unknown:
        raise UnknownName(f"unknown families: {', '.join(unknown)}; "
                          "valid: GET /questions/families")  # fmt: skip
    topics = {f.topic for f in fams.values()}
    unknown = sorted(set(request.get("topics") or ()) - topics)
    if unknown:
        raise UnknownName(f"unknown topics: {', '.join(unknown)}; "
                          f"valid: {', '.join(sorted(topics))}")  # fmt: skip
    try:
        logic.class_positions(request, "probe")
    except ExamPlanError as exc:
        raise NothingMatches(str(exc)) from exc


@router.patch(
    "/assessments/{assessment_id}",
    response_model=AssessmentPublic,
    responses=refusals(Forbidden, AssessmentStarted, UnknownName, NothingMatches, OutOfRange, Gone),
)
async def edit_assessment(
    assessment_id: Id, body: AssessmentEdit, user: CurrentUser, db: DbDep
) -> AssessmentPublic:
    """Change an assessment (instructors only) while no student has started it: title,
    window, time limit, count, topics, families, architectures, difficulty and hints. 409
    once a student has started (give one student more time with an accommodation)."""
    assert user.id is not None
    record, _ = await db.run(store.assessment_for, assessment_id, user.id, True)
    if record.started_at is not None:
        raise AssessmentStarted(store._LOCKED.format(assessment_id))
    given = body.model_fields_set
    merged: dict[str, Any] = {
        "title": record.title, "opens_at": record.opens_at, "closes_at": record.closes_at,
        "time_limit_min": record.time_limit_min, "allow_hints": record.allow_hints,
        **{k: record.request.get(k) for k in ("topics", "families", "count", "difficulty",
                                              "architectures")},
    } | body.model_dump(include=given)  # fmt: skip
    if merged["opens_at"] and merged["closes_at"] and merged["closes_at"] <= merged["opens_at"]:
        raise OutOfRange("closes_at must be after opens_at")
    fields: dict[str, Any] = {k: merged[k] for k in ("title", "opens_at", "closes_at",
                              "time_limit_min", "allow_hints") if k in given}  # fmt: skip
    if given & {"topics", "families", "count", "difficulty", "architectures"}:
        fields["request"] = await _request(db, record.course_id, user.id, merged, record.secret)
    if not fields:
        return _assessment_public(record)
    changed = await db.run(store.edit_assessment, assessment_id, user.id, fields, record.version)
    return _assessment_public(changed)


@router.delete(
    "/assessments/{assessment_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=refusals(Forbidden, AssessmentStarted),
)
async def delete_assessment(assessment_id: Id, user: CurrentUser, db: DbDep) -> Response:
    """Delete an assessment (instructors only) while no student has started it (409 after)."""
    assert user.id is not None
    await db.run(store.delete_assessment, assessment_id, user.id)
    return Response(status_code=204)


@router.get(
    "/assessments/{assessment_id}/preview",
    response_model=list[PreviewItem],
    responses=refusals(Forbidden, Gone),
)
async def preview_assessment(assessment_id: Id, user: CurrentUser, db: DbDep) -> list[PreviewItem]:
    """The assessment as a student sees it, with the key (instructors only): every
    position's prompt, answer form, conventions and hints, on variants no student is given,
    with the expected answer and the worked solution."""
    assert user.id is not None
    record, _ = await db.run(store.assessment_for, assessment_id, user.id, True)
    await ensure_families(db, record.request.get("course_families") or [])
    items = await run_in_threadpool(logic.preview, record)
    return [PreviewItem.model_validate(i) for i in items]


@router.get(
    "/assessments/{assessment_id}/accommodations",
    response_model=list[AccommodationPublic],
    responses=refusals(Forbidden),
)
async def list_accommodations(
    assessment_id: Id, user: CurrentUser, db: DbDep
) -> list[AccommodationPublic]:
    """The assessment's accommodations (instructors only)."""
    assert user.id is not None
    rows = await db.run(store.accommodations, assessment_id, user.id)
    return [AccommodationPublic.model_validate(r, from_attributes=True) for r in rows]


@router.put(
    "/assessments/{assessment_id}/accommodations/{user_id}",
    response_model=AccommodationPublic,
    responses=refusals(Forbidden),
)
async def set_accommodation(
    assessment_id: Id, user_id: Id, body: AccommodationIn, user: CurrentUser, db: DbDep
) -> AccommodationPublic:
    """Give one student more time (``extra_minutes`` on the time limit) and/or a closing
    time of their own (instructors only; both null removes it). Their start window,
    copy's deadline, countdown, automatic submission, late flag and gradebook row use it,
    also on a copy already started."""
    assert user.id is not None
    saved = await db.run(store.set_accommodation, assessment_id, user.id, user_id,
                         body.extra_minutes, body.closes_at, utcnow())  # fmt: skip
    if saved is None:
        return AccommodationPublic(user_id=user_id, extra_minutes=None, closes_at=None)
    return AccommodationPublic.model_validate(saved, from_attributes=True)


@router.get("/courses/{course_id:int}/assessments", response_model=list[AssessmentPublic])
async def list_assessments(course_id: Id, user: CurrentUser, db: DbDep) -> list[AssessmentPublic]:
    """The course's assessments with your status on each (instructors: started/submitted)."""
    assert user.id is not None
    _role, rows = await db.run(store.course_assessments, course_id, user.id)
    return [_assessment_public(a, mine, counts) for a, mine, counts in rows]


@router.get("/assessments/{assessment_id}", response_model=AssessmentPublic)
async def get_assessment(assessment_id: Id, user: CurrentUser, db: DbDep) -> AssessmentPublic:
    """One assessment of your course."""
    assert user.id is not None
    record, _role = await db.run(store.assessment_for, assessment_id, user.id)
    return _assessment_public(record)


@router.post(
    "/assessments/{assessment_id}/start",
    response_model=ExamPublic,
    responses=refusals(InstructorsDoNotTake, Conflict, KeepsChanging, Gone),
)
async def start_assessment(assessment_id: Id, user: CurrentUser, db: DbDep) -> ExamPublic:
    """Start the assessment: your own exam (starting again returns the same one). Take it
    with ``GET /exams/{id}`` and ``POST /exams/{id}/submit``."""
    assert user.id is not None
    record, role = await db.run(store.assessment_for, assessment_id, user.id)
    if role != store.STUDENT:
        raise InstructorsDoNotTake("instructors do not take their assessments; export one instead")
    for _ in range(3):
        now = utcnow()
        acc = await db.run(store.accommodation, assessment_id, user.id)
        logic.check_window(record, now, acc)
        await ensure_families(db, record.request.get("course_families") or [])
        plan = await run_in_threadpool(logic.student_questions, record, user.id)
        version = None if record.started_at is not None else record.version
        try:
            exam = await db.run(create_exam, user.id, 0, record.request, record.time_limit_min,
                                plan, now, record.id, version)  # fmt: skip
        except Changed:  # edited (or deleted) while planning: plan from what it is now
            record, role = await db.run(store.assessment_for, assessment_id, user.id)
            continue
        return await run_in_threadpool(exam_public, *exam)
    raise KeepsChanging(f"assessment {assessment_id} keeps changing; start again")


@router.get(
    "/courses/{course_id:int}/gradebook",
    responses={
        200: {"content": {"application/json": {}, "text/csv": {}}},
        **refusals(Forbidden, Gone),
    },
)
async def gradebook(
    course_id: Id,
    user: CurrentUser,
    db: DbDep,
    events: GradeEventsDep,
    format: Annotated[Literal["json", "csv"], Query()] = "json",
) -> Any:
    """One row per student and assessment: name, score, max score, percent, submitted at,
    late (instructors only). CSV opens in a spreadsheet as is."""
    assert user.id is not None
    await db.run(store.course_role, course_id, user.id, True)
    await sweep(db, events, course_id=course_id)  # overdue copies count as submitted
    rows = [logic.gradebook_row(r) for r in await db.run(store.gradebook_rows, course_id, user.id)]
    passback = await db.run(lti_store.passback_status, course_id)
    for row in rows:
        sent = passback.get((row["student_id"], row["assessment_id"]))
        row["lms"] = sent.state if sent is not None else None
    if format == "json":
        return {"fields": logic.GRADEBOOK_FIELDS, "rows": rows}
    return Response(
        logic.gradebook_csv(rows),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="course-{course_id}-grades.csv"'},
    )


@router.get("/assessments/{assessment_id}/stats", responses=refusals(Forbidden, Gone))
async def assessment_stats(
    assessment_id: Id, user: CurrentUser, db: DbDep, events: GradeEventsDep
) -> dict[str, Any]:
    """Per item: n, mean score, facility, discrimination (named), upper–lower index, the
    most frequent named mistakes, whether n is too small for the discrimination to mean
    anything, and facility by the variants' parameters (instructors only; overrides
    count)."""
    assert user.id is not None
    record, _role = await db.run(store.assessment_for, assessment_id, user.id, True)
    await ensure_families(db, record.request.get("course_families") or [])
    await sweep(db, events, assessment_id)
    rows = await db.run(store.assessment_results, assessment_id, user.id)
    return await run_in_threadpool(logic.item_stats, record, rows)


@router.get(
    "/assessments/{assessment_id}/export",
    response_class=Response,
    responses=DOWNLOAD | refusals(Forbidden, KeyOnlyFormat, Gone),
)
async def export_assessment(
    assessment_id: Id,
    user: CurrentUser,
    db: DbDep,
    format: FormatQuery = FormatName("moodle"),
    part: Annotated[Part, Query(description=PART_HELP)] = "key",
) -> Response:
    """The assessment for an LMS, with its answer key (instructors only): the class's
    families and positions, with variants no student of the course is given. ``part=exam``
    gives a paper without the answers (the formats that can leave them out)."""
    assert user.id is not None
    record, _role = await db.run(store.assessment_for, assessment_id, user.id, True)
    await ensure_families(db, record.request.get("course_families") or [])
    fmt = export_format(format, part)
    text = await run_in_threadpool(logic.export_file, record, fmt, part == "key")
    return download(fmt, text, f"assessment-{assessment_id}", part == "key")


# --- review, overrides and regrades ---------------------------------------------------------


class OverrideIn(BaseModel):
    """Body of ``PATCH /assessments/{id}/attempts/{user_id}/items/{position}``: the item's
    score in [0, 1] (null removes the override) and a comment the student sees."""

    score: float | None = Field(ge=0, le=1)
    comment: str | None = Field(default=None, max_length=2000)


class RegradeIn(BaseModel):
    """Body of ``POST /assessments/{id}/regrade``."""

    dry_run: bool = Field(default=True, description="List the changes without applying them.")


@router.get("/assessments/{assessment_id}/attempts/{user_id}", responses=refusals(Forbidden, Gone))
async def review_attempt(
    assessment_id: Id, user_id: Id, user: CurrentUser, db: DbDep, events: GradeEventsDep
) -> dict[str, Any]:
    """A student's copy (instructors only): each item's prompt, final answer (saved
    answer while open), grade, named mistakes, hints used with their text, overrides beside
    the computed score, start and submission times, and the grades replaced so far."""
    assert user.id is not None
    record, copy = await db.run(store.student_copy, assessment_id, user.id, user_id)
    out: dict[str, Any] = {"assessment_id": record.id, "student_id": copy.user_id,
                           "name": copy.name, "status": "not_started"}  # fmt: skip
    if copy.exam_id is None:
        return out
    await ensure_families(db, record.request.get("course_families") or [])
    exam, instances = await settle(db, events, await db.run(load_exam_by_id, copy.exam_id))
    history = await db.run(grade_history, exam.id)
    return out | await run_in_threadpool(exam_review, exam, instances, history)


@router.patch(
    "/assessments/{assessment_id}/attempts/{user_id}/items/{position}",
    responses=refusals(Forbidden, NotStarted, Conflict, Gone),
)
async def override_item(
    assessment_id: Id,
    user_id: Id,
    position: Annotated[int, Path(ge=0, le=1000)],
    body: OverrideIn,
    user: CurrentUser,
    db: DbDep,
    events: GradeEventsDep,
) -> dict[str, Any]:
    """Override one item's score of a submitted copy (instructors only; ``position`` from
    0). Who and when are recorded, the computed score is kept beside it, the gradebook and
    item statistics use the override, and the student sees the comment."""
    assert user.id is not None
    record, copy = await db.run(store.student_copy, assessment_id, user.id, user_id)
    if copy.exam_id is None:
        raise NotStarted(f"user {user_id} has not started assessment {assessment_id}")
    await ensure_families(db, record.request.get("course_families") or [])
    await settle(db, events, await db.run(load_exam_by_id, copy.exam_id))
    exam = await db.run(override_exam_item, copy.exam_id, position, body.score, body.comment,
                        user.id, utcnow())  # fmt: skip
    change = score_change(exam, "overridden")
    if change is not None:
        await events.publish(db, [change])
    return await review_attempt(assessment_id, user_id, user, db, events)


@router.post(
    "/assessments/{assessment_id}/regrade",
    responses=refusals(Forbidden, Conflict, Gone),
)
async def regrade(
    assessment_id: Id, body: RegradeIn, user: CurrentUser, db: DbDep, events: GradeEventsDep
) -> dict[str, Any]:
    """Regrade every submitted copy by recomputation (instructors only): each question's
    truth regenerated from its family, seed and level by the current code, each answer
    graded under the current rules. ``dry_run`` (the default) lists each change (student,
    position, old and new status, score and named mistakes); applying stores them, keeps
    the replaced grades in the history, and keeps instructors' overrides in force."""
    assert user.id is not None
    record, _ = await db.run(store.assessment_for, assessment_id, user.id, True)
    await ensure_families(db, record.request.get("course_families") or [])
    await sweep(db, events, assessment_id)
    copies = await db.run(store.submitted_copies, assessment_id)
    changes: list[dict[str, Any]] = []
    to_apply = []
    skipped = []
    for copy in copies:
        assert copy.exam_id is not None
        exam, instances = await db.run(load_exam_by_id, copy.exam_id)
        diagnoses = await db.run(exam_diagnoses, [i.id for i in instances])
        try:
            found, regraded, result = await run_in_threadpool(regrade_copy, exam, instances,
                                                              diagnoses)  # fmt: skip
        except Gone as exc:
            skipped.append({"student_id": copy.user_id, "name": copy.name, "reason": str(exc)})
            continue
        changes += [{"student_id": copy.user_id, "name": copy.name} | c for c in found]
        if regraded:
            to_apply.append((exam.id, regraded, result))
    applied = not body.dry_run and bool(to_apply)
    if applied:
        exams = await db.run(apply_regrade, to_apply, user.id, utcnow())
        await events.publish(db, [c for e in exams if (c := score_change(e, "regraded"))])
    return {
        "assessment_id": assessment_id,
        "dry_run": body.dry_run,
        "copies": len(copies),
        "changed_copies": len(to_apply),
        "applied": applied,
        "changes": changes,
        "skipped": skipped,
    }


# --- course architectures --------------------------------------------------------------------


class ArchitectureCreate(BaseModel):
    """Body of ``POST /courses/{id}/architectures``: a name and a layer stack in the format
    of ``POST /profile`` (batch 1, float32)."""

    name: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    input_shape: list[Any] = Field(min_length=3, max_length=3)
    layers: list[dict[str, Any]] = Field(min_length=1)


class CourseArchitecturePublic(BaseModel):
    """A course's own network: its name, spec and totals (the full profile is one GET away).
    While the caller has an open assessment that asks about it, only its name is shown."""

    name: str
    input_shape: list[int] | None
    layers: list[dict[str, Any]] | None
    params: int | None
    macs: int | None
    family: str = Field(description="The question family on it (POST /questions).")
    created_at: datetime
    paused: bool = Field(
        default=False, description="Hidden until you submit the open assessment that uses it."
    )


def _architecture_public(record: store.ArchitectureRecord) -> CourseArchitecturePublic:
    prof = profile_of(record)  # profiled once per process, as its questions use it
    return CourseArchitecturePublic(
        name=record.name, input_shape=record.spec["input_shape"], layers=record.spec["layers"],
        params=prof.params, macs=prof.macs, family=course_family_id(record.id),
        created_at=record.created_at,
    )  # fmt: skip


def _validated(body: ArchitectureCreate) -> dict[str, Any]:
    """The spec, once it builds and profiles (a 422 names the layer otherwise) and has
    something to ask about."""
    prof = profile_layers(body.input_shape, body.layers, 1, "float32")
    if not (prof.params or prof.macs):
        raise Unprofilable("the network has neither parameters nor MACs to ask about")
    return {"input_shape": list(body.input_shape), "layers": body.layers}


@router.post(
    "/courses/{course_id:int}/architectures",
    status_code=status.HTTP_201_CREATED,
    response_model=CourseArchitecturePublic,
    responses=refusals(Forbidden, Conflict, InvalidSpec, Unprofilable, TooMany),
)
async def add_architecture(
    course_id: Id, body: ArchitectureCreate, user: CurrentUser, db: DbDep, request: Request
) -> CourseArchitecturePublic:
    """Add a network to the course from a layer spec (instructors only): validated and
    profiled on the meta device; members see it and can be asked about it."""
    assert user.id is not None
    await db.run(store.course_role, course_id, user.id, True)
    spec = await run_profile(request, _validated, body)
    record = await db.run(store.add_architecture, course_id, user.id, body.name, spec, utcnow())
    return await run_in_threadpool(_architecture_public, record)


@router.get("/courses/{course_id:int}/architectures", response_model=list[CourseArchitecturePublic])
async def list_architectures(
    course_id: Id, user: CurrentUser, db: DbDep
) -> list[CourseArchitecturePublic]:
    """The course's own networks (members only)."""
    assert user.id is not None
    records = await db.run(store.course_architectures, course_id, user.id)
    paused = await logic.closed_families(db, user.id)
    return [
        _hidden(r) if course_family_id(r.id) in paused
        else await run_in_threadpool(_architecture_public, r)
        for r in records
    ]  # fmt: skip


def _hidden(record: store.ArchitectureRecord) -> CourseArchitecturePublic:
    """A network an open assessment of the caller's asks about: its numbers (and the spec
    that gives them) wait for the submission."""
    return CourseArchitecturePublic(
        name=record.name, input_shape=None, layers=None, params=None, macs=None,
        family=course_family_id(record.id), created_at=record.created_at, paused=True,
    )  # fmt: skip


@router.get("/courses/{course_id:int}/architectures/{name}/profile", response_model=ProfilePublic)
async def architecture_profile(
    course_id: Id, name: Annotated[str, Path(max_length=64)], user: CurrentUser, db: DbDep
) -> ProfilePublic:
    """The per-layer profile of a course network, with its totals and shares, as for the
    reference architectures (members only)."""
    assert user.id is not None
    (record,) = await db.run(store.course_architectures, course_id, user.id, name)
    await refuse_paused(db, user.id, {course_family_id(record.id)})
    prof = await run_in_threadpool(profile_of, record)
    return profile_public(record.name, prof)
