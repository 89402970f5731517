"""Courses, their members and assessments, and what instructors read back from them.

Rules: everything of a course is invisible to non-members (NotFound, so existence does not
leak); what only instructors may do raises Forbidden for students. Membership is one row
per user and course (a unique constraint, filled with ``ON CONFLICT DO NOTHING``), so two
joins at once make one membership. A student's copy of an assessment is created once
(``api.store.exams.create_exam``).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    Table,
    and_,
    bindparam,
    delete,
    func,
    insert,
    literal,
    or_,
    select,
    true,
    update,
)
from sqlalchemy.engine import CursorResult
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from ..db import insert_ignore, writing
from ..refusals import Invalid
from ..tables import (
    Accommodation,
    Assessment,
    Course,
    CourseArchitecture,
    CourseInvite,
    CourseMember,
    Exam,
    User,
)
from . import Conflict, Forbidden, NotFound, from_row
from .questions import ATTEMPT, QI, QUESTION_COLUMNS, QuestionRecord

__all__ = [
    "CourseRecord",
    "AssessmentRecord",
    "ExamStatus",
    "create_course",
    "join_course",
    "my_courses",
    "course_role",
    "add_instructor",
    "InviteRecord",
    "create_invite",
    "accept_invite",
    "rotate_join_code",
    "members",
    "create_assessment",
    "edit_assessment",
    "delete_assessment",
    "AccommodationRecord",
    "accommodation",
    "accommodations",
    "set_accommodation",
    "course_assessments",
    "assessment_for",
    "gradebook_rows",
    "assessment_results",
    "open_assessment_families",
    "planned_families",
    "StudentCopy",
    "student_copy",
    "submitted_copies",
    "ArchitectureRecord",
    "add_architecture",
    "course_architectures",
    "architectures_by_id",
]

_COURSE: Table = Course.__table__  # type: ignore[attr-defined]
_MEMBER: Table = CourseMember.__table__  # type: ignore[attr-defined]
_ASSESSMENT: Table = Assessment.__table__  # type: ignore[attr-defined]
_EXAM: Table = Exam.__table__  # type: ignore[attr-defined]
_USER: Table = User.__table__  # type: ignore[attr-defined]
_INVITE: Table = CourseInvite.__table__  # type: ignore[attr-defined]
_ACC: Table = Accommodation.__table__  # type: ignore[attr-defined]

INSTRUCTOR, STUDENT = "instructor", "student"
_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud in class


@dataclass(frozen=True)
class CourseRecord:
    """A course, with the caller's role in it."""

    id: int
    title: str
    join_code: str
    created_at: datetime
    role: str


@dataclass(frozen=True)
class AssessmentRecord:
    """An assessment as stored (``secret`` never leaves the server)."""

    id: int
    course_id: int
    title: str
    request: dict[str, Any]
    opens_at: datetime | None
    closes_at: datetime | None
    time_limit_min: int | None
    allow_hints: bool
    secret: str
    created_at: datetime
    version: int  # bumped by every edit; a start plans from one version (create_exam)
    started_at: datetime | None  # the first start: no edit or deletion from then on


_COURSE_COLUMNS = (_COURSE.c.id, _COURSE.c.title, _COURSE.c.join_code, _COURSE.c.created_at)
_ASSESSMENT_COLUMNS = tuple(_ASSESSMENT.c[f] for f in AssessmentRecord.__dataclass_fields__)


def _new_code() -> str:
    return "".join(secrets.choice(_CODE_ALPHABET) for _ in range(8))


def create_course(session: Session, user_id: int, title: str, now: datetime) -> CourseRecord:
    """A new course with the caller as its instructor."""
    with writing(session):
        for _ in range(5):  # 32^8 codes: a collision is a curiosity, but never a 500
            code = _new_code()
            values = {"title": title, "join_code": code, "created_by": user_id, "created_at": now}
            course_id = insert_ignore(session, _COURSE, values, ["join_code"])
            if course_id is not None:
                break
        else:
            raise RuntimeError("no free join code")
        member = {"course_id": course_id, "user_id": user_id, "role": INSTRUCTOR, "created_at": now}
        session.connection().execute(insert(_MEMBER), member)
        session.commit()
    return CourseRecord(int(course_id), title, code, now, INSTRUCTOR)


def join_course(session: Session, user_id: int, code: str, now: datetime) -> CourseRecord:
    """Join the course of ``code`` as a student (a member keeps the role they have)."""
    with writing(session):
        query = select(*_COURSE_COLUMNS).where(_COURSE.c.join_code == code)
        row = session.connection().execute(query).first()
        if row is None:
            raise NotFound("no course with this join code")
        member = {"course_id": row.id, "user_id": user_id, "role": STUDENT, "created_at": now}
        insert_ignore(session, _MEMBER, member, ["course_id", "user_id"])
        role = _role(session, row.id, user_id)
        session.commit()
    assert role is not None
    return CourseRecord(**row._mapping, role=role)


def my_courses(session: Session, user_id: int) -> list[CourseRecord]:
    """The caller's courses with their role, newest first."""
    query = (
        select(*_COURSE_COLUMNS, _MEMBER.c.role)
        .join(_MEMBER, _MEMBER.c.course_id == _COURSE.c.id)
        .where(_MEMBER.c.user_id == user_id)
        .order_by(_COURSE.c.id.desc())
    )
    rows = [from_row(CourseRecord, r) for r in session.connection().execute(query)]
    session.commit()
    return rows


def _role(session: Session, course_id: int, user_id: int) -> str | None:
    query = select(_MEMBER.c.role).where(
        _MEMBER.c.course_id == course_id, _MEMBER.c.user_id == user_id
    )
    return session.connection().execute(query).scalar()


def course_role(session: Session, course_id: int, user_id: int, instructor: bool = False) -> str:
    """The caller's role in the course; NotFound for non-members, Forbidden for a student
    when ``instructor`` is required."""
    role = _role(session, course_id, user_id)
    if role is None:
        raise NotFound(f"no course {course_id}")
    if instructor and role != INSTRUCTOR:
        raise Forbidden("only the course's instructors may do this")
    return role


def course(session: Session, course_id: int, user_id: int) -> CourseRecord:
    """A course the caller belongs to, with their role."""
    role = course_role(session, course_id, user_id)
    query = select(*_COURSE_COLUMNS).where(_COURSE.c.id == course_id)
    row = session.connection().execute(query).one()
    session.commit()
    return CourseRecord(**row._mapping, role=role)


def add_instructor(
    session: Session, course_id: int, actor_id: int, user_id: int, now: datetime
) -> None:
    """Make a member of the course an instructor (instructors only). Nobody is added to a
    course without their consent: a user who is not a member (or no user at all) is
    NotFound, with the same answer either way, so no id can be probed; strangers are
    invited with :func:`create_invite` and join by accepting it."""
    with writing(session):
        course_role(session, course_id, actor_id, instructor=True)
        promote = update(_MEMBER).where(
            _MEMBER.c.course_id == course_id, _MEMBER.c.user_id == user_id
        )
        if session.connection().execute(promote.values(role=INSTRUCTOR)).rowcount != 1:
            raise NotFound(f"course {course_id} has no member {user_id}")
        session.commit()


@dataclass(frozen=True)
class InviteRecord:
    """An invitation as its creator sees it (the code itself is shown once, by the router)."""

    id: int
    course_id: int
    role: str
    expires_at: datetime


def create_invite(
    session: Session, course_id: int, actor_id: int, code_hash: str, now: datetime,
    expires_at: datetime,
) -> InviteRecord:  # fmt: skip
    """An invitation to the course as a co-instructor (instructors only), stored by the
    SHA-256 of its code."""
    with writing(session):
        course_role(session, course_id, actor_id, instructor=True)
        values = {"course_id": course_id, "code_hash": code_hash, "role": INSTRUCTOR,
                  "created_by": actor_id, "created_at": now, "expires_at": expires_at}  # fmt: skip
        result = session.connection().execute(insert(_INVITE).values(**values))
        assert result.inserted_primary_key is not None
        session.commit()
    return InviteRecord(int(result.inserted_primary_key[0]), course_id, INSTRUCTOR, expires_at)


def accept_invite(session: Session, user_id: int, code_hash: str, now: datetime) -> CourseRecord:
    """Accept an invitation: the caller joins its course as an instructor (a student of it
    is promoted). Each invitation is accepted once, before it expires: a conditional update
    claims it (its row count decides between two at once); NotFound otherwise, the same for
    a wrong, used or expired code."""
    with writing(session):
        conn = session.connection()
        claim = (
            update(_INVITE)
            .where(_INVITE.c.code_hash == code_hash, _INVITE.c.accepted_by.is_(None),
                   _INVITE.c.expires_at > now)
            .values(accepted_by=user_id, accepted_at=now)
        )  # fmt: skip
        if conn.execute(claim).rowcount != 1:
            raise NotFound("no open invitation with this code")
        found = conn.execute(select(_INVITE.c.course_id, _INVITE.c.role)
                             .where(_INVITE.c.code_hash == code_hash)).one()  # fmt: skip
        member = {"course_id": found.course_id, "user_id": user_id, "role": found.role,
                  "created_at": now}  # fmt: skip
        if insert_ignore(session, _MEMBER, member, ["course_id", "user_id"]) is None:
            promote = update(_MEMBER).where(
                _MEMBER.c.course_id == found.course_id, _MEMBER.c.user_id == user_id
            )
            conn.execute(promote.values(role=found.role))
        row = conn.execute(select(*_COURSE_COLUMNS).where(_COURSE.c.id == found.course_id)).one()
        session.commit()
    return CourseRecord(**row._mapping, role=found.role)


def rotate_join_code(session: Session, course_id: int, actor_id: int) -> CourseRecord:
    """A new join code for the course (instructors only): the old one stops working at
    once. Codes are unique (the index decides); a collision, one in 32^8, draws again."""
    with writing(session):
        course_role(session, course_id, actor_id, instructor=True)
        conn = session.connection()
        for _ in range(5):
            code = _new_code()
            taken = conn.execute(select(_COURSE.c.id).where(_COURSE.c.join_code == code))
            if taken.first() is not None:
                continue
            try:
                with session.begin_nested():
                    change = update(_COURSE).where(_COURSE.c.id == course_id)
                    conn.execute(change.values(join_code=code))
                break
            except IntegrityError:  # drawn by another course meanwhile
                continue
        else:
            raise Conflict("no free join code; try again")
        row = conn.execute(select(*_COURSE_COLUMNS).where(_COURSE.c.id == course_id)).one()
        session.commit()
    return CourseRecord(**row._mapping, role=INSTRUCTOR)


@dataclass(frozen=True)
class MemberRecord:
    """A member of a course."""

    user_id: int
    name: str
    role: str
    joined_at: datetime


def members(session: Session, course_id: int, actor_id: int) -> list[MemberRecord]:
    """The course's members (instructors only): those who joined it with its code or
    accepted an invitation, and nobody else."""
    course_role(session, course_id, actor_id, instructor=True)
    query = (
        select(
            _MEMBER.c.user_id,
            _USER.c.name,
            _MEMBER.c.role,
            _MEMBER.c.created_at.label("joined_at"),
        )
        .join(_USER, _USER.c.id == _MEMBER.c.user_id)
        .where(_MEMBER.c.course_id == course_id)
        .order_by(_MEMBER.c.role, _USER.c.name, _MEMBER.c.user_id)
    )
    rows = [from_row(MemberRecord, r) for r in session.connection().execute(query)]
    session.commit()
    return rows


# --- assessments ---------------------------------------------------------------------------


def create_assessment(
    session: Session, course_id: int, actor_id: int, fields: dict[str, Any], now: datetime
) -> AssessmentRecord:
    """A new assessment of the course (instructors only); ``fields`` are its columns (a
    ``secret`` drawn here unless given: ``api.services.assessments.new_secret``)."""
    with writing(session):
        course_role(session, course_id, actor_id, instructor=True)
        values = (
            {"secret": secrets.token_hex(32)}
            | fields
            | {
                "course_id": course_id,
                "created_by": actor_id,
                "created_at": now,
            }
        )
        result = session.connection().execute(insert(_ASSESSMENT).values(**values))
        assert result.inserted_primary_key is not None
        record = _assessment(session, int(result.inserted_primary_key[0]))
        session.commit()
    assert record is not None
    return record


_LOCKED = "a student has started assessment {}: it can no longer be changed or deleted"


def edit_assessment(
    session: Session, assessment_id: int, actor_id: int, fields: dict[str, Any], version: int
) -> AssessmentRecord:
    """Change an assessment (instructors only) while no student has started it: a
    conditional update (``… WHERE started_at IS NULL AND version = :version``) on the row a
    start also updates, so of an edit and a first start racing exactly one wins, on both
    engines; Conflict after a start, or when another edit came first (``version``: the one
    the new values were checked against)."""
    with writing(session):
        _assessment_for(session, assessment_id, actor_id, instructor=True)
        changed = cast(
            CursorResult,
            session.connection().execute(
                update(_ASSESSMENT)
                .where(
                    _ASSESSMENT.c.id == assessment_id,
                    _ASSESSMENT.c.started_at.is_(None),
                    _ASSESSMENT.c.version == version,
                )
                .values(**fields, version=_ASSESSMENT.c.version + 1)
            ),
        )
        record = _assessment(session, assessment_id)
        assert record is not None
        if changed.rowcount != 1:
            if record.started_at is not None:
                raise Conflict(_LOCKED.format(assessment_id))
            raise Conflict(f"assessment {assessment_id} was changed meanwhile; load it again")
        session.commit()
    return record


def delete_assessment(session: Session, assessment_id: int, actor_id: int) -> None:
    """Delete an assessment (instructors only) while no student has started it (the same
    conditional rule as :func:`edit_assessment`)."""
    with writing(session):
        _assessment_for(session, assessment_id, actor_id, instructor=True)
        conn = session.connection()
        gone = cast(
            CursorResult,
            conn.execute(
                delete(_ASSESSMENT).where(
                    _ASSESSMENT.c.id == assessment_id, _ASSESSMENT.c.started_at.is_(None)
                )
            ),
        )
        if gone.rowcount != 1:
            raise Conflict(_LOCKED.format(assessment_id))
        conn.execute(delete(_ACC).where(_ACC.c.assessment_id == assessment_id))
        session.commit()


@dataclass(frozen=True)
class AccommodationRecord:
    """One student's extra time or later deadline on one assessment."""

    user_id: int
    extra_minutes: int | None
    closes_at: datetime | None
    updated_by: int
    updated_at: datetime


_ACC_COLUMNS = tuple(_ACC.c[f] for f in AccommodationRecord.__dataclass_fields__)


def accommodation(session: Session, assessment_id: int, user_id: int) -> AccommodationRecord | None:
    """The student's accommodation on the assessment, if any (no access check)."""
    query = select(*_ACC_COLUMNS).where(
        _ACC.c.assessment_id == assessment_id, _ACC.c.user_id == user_id
    )
    row = session.connection().execute(query).first()
    session.commit()
    return None if row is None else from_row(AccommodationRecord, row)


def accommodations(
    session: Session, assessment_id: int, actor_id: int
) -> list[AccommodationRecord]:
    """The assessment's accommodations (instructors only)."""
    assessment_for(session, assessment_id, actor_id, instructor=True)
    query = (
        select(*_ACC_COLUMNS).where(_ACC.c.assessment_id == assessment_id).order_by(_ACC.c.user_id)
    )
    rows = [from_row(AccommodationRecord, r) for r in session.connection().execute(query)]
    session.commit()
    return rows


def set_accommodation(
    session: Session,
    assessment_id: int,
    actor_id: int,
    user_id: int,
    extra_minutes: int | None,
    closes_at: datetime | None,
    now: datetime,
) -> AccommodationRecord | None:
    """Give a student of the course extra minutes and/or a later closing time (instructors
    only; both None removes it). One row per student and assessment (a unique pair: the
    insert is ``ON CONFLICT DO NOTHING``, then the row is updated). Invalid for extra
    minutes on an assessment without a time limit (they would extend nothing) and for a
    closing time before the assessment opens."""
    with writing(session):
        record, _ = _assessment_for(session, assessment_id, actor_id, instructor=True)
        if _role(session, record.course_id, user_id) != STUDENT:
            raise NotFound(f"user {user_id} is not a student of this course")
        if extra_minutes is not None and record.time_limit_min is None:
            raise Invalid(
                f"assessment {assessment_id} has no time limit for extra minutes to extend: "
                "give the student a later closes_at instead"
            )
        if closes_at is not None and record.opens_at is not None and closes_at <= record.opens_at:
            raise Invalid("the student's closes_at must be after the assessment's opens_at")
        conn = session.connection()
        where = (_ACC.c.assessment_id == assessment_id) & (_ACC.c.user_id == user_id)
        if extra_minutes is None and closes_at is None:
            conn.execute(delete(_ACC).where(where))
            session.commit()
            return None
        values = {"extra_minutes": extra_minutes, "closes_at": closes_at,
                  "updated_by": actor_id, "updated_at": now}  # fmt: skip
        key = {"assessment_id": assessment_id, "user_id": user_id}
        if insert_ignore(session, _ACC, key | values, ["assessment_id", "user_id"]) is None:
            conn.execute(update(_ACC).where(where).values(**values))
        session.commit()
    return AccommodationRecord(user_id, extra_minutes, closes_at, actor_id, now)


def _assessment(session: Session, assessment_id: int) -> AssessmentRecord | None:
    query = select(*_ASSESSMENT_COLUMNS).where(_ASSESSMENT.c.id == assessment_id)
    row = session.connection().execute(query).first()
    return None if row is None else from_row(AssessmentRecord, row)


def assessment_for(
    session: Session, assessment_id: int, user_id: int, instructor: bool = False
) -> tuple[AssessmentRecord, str]:
    """An assessment of a course the caller belongs to, and their role there."""
    found = _assessment_for(session, assessment_id, user_id, instructor)
    session.commit()
    return found


def _assessment_for(
    session: Session, assessment_id: int, user_id: int, instructor: bool = False
) -> tuple[AssessmentRecord, str]:
    """:func:`assessment_for` inside the caller's transaction (a write keeps it open)."""
    record = _assessment(session, assessment_id)
    if record is None:
        raise NotFound(f"no assessment {assessment_id}")
    try:
        role = course_role(session, record.course_id, user_id, instructor)
    except NotFound:
        raise NotFound(f"no assessment {assessment_id}") from None
    return record, role


@dataclass(frozen=True)
class ExamStatus:
    """Where one student stands on one assessment."""

    exam_id: int | None
    started_at: datetime | None
    submitted_at: datetime | None
    score: float | None
    max_score: float | None
    late: bool
    auto_submitted: bool = False

    @property
    def status(self) -> str:
        if self.exam_id is None:
            return "not_started"
        return "submitted" if self.submitted_at is not None else "in_progress"


_NO_EXAM = ExamStatus(None, None, None, None, None, False, False)
_EXAM_STATUS = (
    _EXAM.c.id.label("exam_id"),
    _EXAM.c.created_at.label("started_at"),
    _EXAM.c.submitted_at,
    _EXAM.c.score,
    _EXAM.c.max_score,
    _EXAM.c.late,
    _EXAM.c.auto_submitted,
)


def course_assessments(
    session: Session, course_id: int, user_id: int
) -> tuple[str, list[tuple[AssessmentRecord, ExamStatus, dict[str, int]]]]:
    """The course's assessments, each with the caller's own status and, for instructors,
    how many students started and submitted it."""
    role = course_role(session, course_id, user_id)
    conn = session.connection()
    query = (
        select(*(c.label(f"a_{c.name}") for c in _ASSESSMENT_COLUMNS), *_EXAM_STATUS)
        .outerjoin(
            _EXAM, and_(_EXAM.c.assessment_id == _ASSESSMENT.c.id, _EXAM.c.user_id == user_id)
        )
        .where(_ASSESSMENT.c.course_id == course_id)
        .order_by(_ASSESSMENT.c.id)
    )
    counts = (
        select(
            _EXAM.c.assessment_id,
            func.count().label("started"),
            func.count(_EXAM.c.submitted_at).label("submitted"),
        )
        .join(_ASSESSMENT, _ASSESSMENT.c.id == _EXAM.c.assessment_id)
        .where(_ASSESSMENT.c.course_id == course_id)
        .group_by(_EXAM.c.assessment_id)
    )
    tally = {
        r.assessment_id: {"started": r.started, "submitted": r.submitted}
        for r in conn.execute(counts)
    }
    out = []
    for row in conn.execute(query):
        m = row._mapping
        record = AssessmentRecord(**{f: m[f"a_{f}"] for f in AssessmentRecord.__dataclass_fields__})
        status = ExamStatus(**{f: m[f] for f in ExamStatus.__dataclass_fields__})
        if status.exam_id is None:
            status = _NO_EXAM
        numbers = tally.get(record.id, {"started": 0, "submitted": 0}) if role == INSTRUCTOR else {}
        out.append((record, status, numbers))
    session.commit()
    return role, out


@dataclass(frozen=True)
class GradeRow:
    """One student's standing on one assessment."""

    student_id: int
    name: str
    assessment_id: int
    assessment: str
    status: ExamStatus
    extra_minutes: int | None = None  # the student's accommodation, if any
    closes_at: datetime | None = None  # their own closing time, if any


def gradebook_rows(session: Session, course_id: int, actor_id: int) -> list[GradeRow]:
    """Every student × assessment of the course, with their exam if they started it."""
    course_role(session, course_id, actor_id, instructor=True)
    students = (
        select(_USER.c.id.label("student_id"), _USER.c.name)
        .join(_MEMBER, _MEMBER.c.user_id == _USER.c.id)
        .where(_MEMBER.c.course_id == course_id, _MEMBER.c.role == STUDENT)
        .subquery()
    )
    query = (
        select(
            students.c.student_id,
            students.c.name,
            _ASSESSMENT.c.id.label("assessment_id"),
            _ASSESSMENT.c.title.label("assessment"),
            *_EXAM_STATUS,
            _ACC.c.extra_minutes,
            _ACC.c.closes_at.label("own_closes_at"),
        )
        .select_from(students.join(_ASSESSMENT, _ASSESSMENT.c.course_id == course_id))
        .outerjoin(
            _ACC,
            and_(
                _ACC.c.assessment_id == _ASSESSMENT.c.id,
                _ACC.c.user_id == students.c.student_id,
            ),
        )
        .outerjoin(
            _EXAM,
            and_(
                _EXAM.c.assessment_id == _ASSESSMENT.c.id,
                _EXAM.c.user_id == students.c.student_id,
            ),
        )
        .order_by(students.c.name, students.c.student_id, _ASSESSMENT.c.id)
    )
    rows = []
    for row in session.connection().execute(query):
        m = row._mapping
        status = ExamStatus(**{f: m[f] for f in ExamStatus.__dataclass_fields__})
        rows.append(GradeRow(m["student_id"], m["name"], m["assessment_id"], m["assessment"],
                             status if status.exam_id is not None else _NO_EXAM,
                             m["extra_minutes"], m["own_closes_at"]))  # fmt: skip
    session.commit()
    return rows


@dataclass(frozen=True)
class ItemRow:
    """One graded question of a submitted copy of an assessment."""

    user_id: int
    position: int
    family: str
    status: str | None
    score: float | None  # an instructor's override where there is one
    diagnosis: list[str] | None
    seed: int = 0
    difficulty: int = 1


def assessment_results(session: Session, assessment_id: int, actor_id: int) -> list[ItemRow]:
    """Every question of every submitted copy of the assessment (instructors only)."""
    assessment_for(session, assessment_id, actor_id, instructor=True)
    query = (
        select(
            QI.c.user_id,
            QI.c.position,
            QI.c.family,
            QI.c.status,
            func.coalesce(QI.c.override_score, QI.c.score).label("score"),
            ATTEMPT.c.diagnosis,
            QI.c.seed,
            QI.c.difficulty,
        )  # fmt: skip
        .join(_EXAM, _EXAM.c.id == QI.c.exam_id)
        .outerjoin(ATTEMPT, ATTEMPT.c.question_id == QI.c.id)
        .where(_EXAM.c.assessment_id == assessment_id, _EXAM.c.submitted_at.is_not(None))
        .order_by(QI.c.user_id, QI.c.position)
    )
    rows = [from_row(ItemRow, r) for r in session.connection().execute(query)]
    session.commit()
    return rows


@dataclass(frozen=True)
class StudentCopy:
    """A student of the course and their copy of the assessment (None: not started)."""

    user_id: int
    name: str
    exam_id: int | None


def student_copy(
    session: Session, assessment_id: int, actor_id: int, student_id: int
) -> tuple[AssessmentRecord, StudentCopy]:
    """A student's copy of the assessment, for its instructors (NotFound when the user is
    not a student of the course)."""
    record, _ = assessment_for(session, assessment_id, actor_id, instructor=True)
    query = (
        select(_USER.c.id.label("user_id"), _USER.c.name, _EXAM.c.id.label("exam_id"))
        .join(_MEMBER, _MEMBER.c.user_id == _USER.c.id)
        .outerjoin(
            _EXAM, and_(_EXAM.c.user_id == _USER.c.id, _EXAM.c.assessment_id == assessment_id)
        )  # fmt: skip
        .where(
            _USER.c.id == student_id,
            _MEMBER.c.course_id == record.course_id,
            _MEMBER.c.role == STUDENT,
        )
    )
    row = session.connection().execute(query).first()
    session.commit()
    if row is None:
        raise NotFound(f"user {student_id} is not a student of this course")
    return record, from_row(StudentCopy, row)


def submitted_copies(session: Session, assessment_id: int) -> list[StudentCopy]:
    """Every submitted copy of the assessment with its student (no access check)."""
    query = (
        select(_USER.c.id.label("user_id"), _USER.c.name, _EXAM.c.id.label("exam_id"))
        .join(_EXAM, _EXAM.c.user_id == _USER.c.id)
        .where(_EXAM.c.assessment_id == assessment_id, _EXAM.c.submitted_at.is_not(None))
        .order_by(_USER.c.name, _USER.c.id)
    )
    rows = [from_row(StudentCopy, r) for r in session.connection().execute(query)]
    session.commit()
    return rows


# --- the open-copy rule ------------------------------------------------------------------
#
# Nothing a student can call reveals the truth of an assessment that is open for them: from
# the moment it opens (``opens_at`` passed, or none) until they submit it or it closes for
# them (``closes_at``, or their accommodation's later one), started or not. Every route that
# returns truth-bearing data (new practice questions, grades, hints, a course network's
# profile and spec, the attempts history, other exams' results and answer keys) asks this one
# query which families are closed-book for the caller
# (``api.services.assessments.closed_families``).
#
# On the study loop's path (every question picked or answered): built once, with bind
# parameters, like the study statements (building a select costs more than running it).
_MINE = and_(_EXAM.c.assessment_id == _ASSESSMENT.c.id, _EXAM.c.user_id == bindparam("user_id"))
_OPEN_FOR_STUDENT = (
    select(_ASSESSMENT.c.request, _EXAM.c.id)
    .join(
        _MEMBER,
        and_(
            _MEMBER.c.course_id == _ASSESSMENT.c.course_id,
            _MEMBER.c.user_id == bindparam("user_id"),
            _MEMBER.c.role == STUDENT,
        ),
    )
    .outerjoin(_EXAM, _MINE)
    .outerjoin(
        _ACC,
        and_(_ACC.c.assessment_id == _ASSESSMENT.c.id, _ACC.c.user_id == bindparam("user_id")),
    )
    .where(
        _EXAM.c.submitted_at.is_(None),
        (_ASSESSMENT.c.opens_at.is_(None)) | (_ASSESSMENT.c.opens_at <= bindparam("now")),
        func.coalesce(_ACC.c.closes_at, _ASSESSMENT.c.closes_at).is_(None)
        | (func.coalesce(_ACC.c.closes_at, _ASSESSMENT.c.closes_at) > bindparam("now")),
    )
)
# A started copy whose student has since left the course stays closed-book until it closes.
_OPEN_COPIES = (
    select(_EXAM.c.id)
    .join(_ASSESSMENT, _ASSESSMENT.c.id == _EXAM.c.assessment_id)
    .outerjoin(
        _ACC,
        and_(_ACC.c.assessment_id == _ASSESSMENT.c.id, _ACC.c.user_id == _EXAM.c.user_id),
    )
    .where(
        _EXAM.c.user_id == bindparam("user_id"),
        _EXAM.c.submitted_at.is_(None),
        func.coalesce(_ACC.c.closes_at, _ASSESSMENT.c.closes_at).is_(None)
        | (func.coalesce(_ACC.c.closes_at, _ASSESSMENT.c.closes_at) > bindparam("now")),
    )
)
_COPY_FAMILIES = (
    select(QI.c.family).where(QI.c.exam_id.in_(bindparam("exam_ids", expanding=True))).distinct()
)


def planned_families(request: dict[str, Any]) -> set[str]:
    """The families an assessment asks about, from its stored request: the positions planned
    when it was set (``planned_families``), or, for an assessment stored without them, every
    family and course network it names."""
    planned = request.get("planned_families")
    if planned is None:
        planned = [*(request.get("families") or ()), *(request.get("course_families") or ())]
    return set(planned)


# Whether any assessment is closed-book for the user now (the two statements above, as
# EXISTS): almost always false, and then no family is paused.
_ANY_OPEN = or_(_OPEN_COPIES.exists(), _OPEN_FOR_STUDENT.exists())
_PENDING_Q = (
    select(*(c.label(f"p_{c.name}") for c in QUESTION_COLUMNS))
    .where(
        QI.c.session_id == bindparam("session_id"),
        QI.c.family == bindparam("family"),
        QI.c.graded_at.is_(None),
    )
    .order_by(QI.c.id.desc())
    .limit(1)
    .subquery("pending")
)
_LAST_Q = (
    select(QI.c.seed.label("last_seed"), QI.c.difficulty.label("last_difficulty"))
    .where(QI.c.user_id == bindparam("user_id"), QI.c.family == bindparam("family"))
    .order_by(QI.c.id.desc())
    .limit(1)
    .subquery("last")
)
_ONE = select(literal(1).label("one")).subquery("one")
# One round trip for a question item: may it be paused, its pending variant, the last one.
_QUESTION_ITEM = select(_ANY_OPEN.label("any_open"), *_PENDING_Q.c, *_LAST_Q.c).select_from(
    _ONE.outerjoin(_PENDING_Q, true()).outerjoin(_LAST_Q, true())
)


@dataclass(frozen=True)
class QuestionItem:
    """What the study loop needs of a picked or answered question family, read at once."""

    any_open: bool  # some assessment is closed-book for the user: see open_assessment_families
    pending: QuestionRecord | None  # the session's unanswered variant of the family
    last: tuple[int, int] | None  # (seed, difficulty) of the variant the user saw last


def question_item(
    session: Session, user_id: int, session_id: int, family: str, now: datetime
) -> QuestionItem:
    """The open-assessment check, the pending variant and the last variant of ``family``, in
    one statement: the check folded into the query that reads the item. When ``any_open``,
    whether ``family`` is paused is ``open_assessment_families``' to say."""
    params = {"user_id": user_id, "session_id": session_id, "family": family, "now": now}
    row = session.connection().execute(_QUESTION_ITEM, params).one()._mapping
    pending = None
    if row["p_id"] is not None:
        pending = QuestionRecord(**{f: row[f"p_{f}"] for f in QuestionRecord.__dataclass_fields__})
    last = None if row["last_seed"] is None else (row["last_seed"], row["last_difficulty"])
    return QuestionItem(bool(row["any_open"]), pending, last)


def open_assessment_families(session: Session, user_id: int, now: datetime) -> set[str]:
    """The families that are closed-book for the user now: those of every assessment open
    for them (see the open-copy rule above), started or not. Practice of these is paused and
    their truths are withheld.

    Two steps, each on an index: the assessments open for the user (almost always none),
    then the families of their started copies.
    """
    conn = session.connection()
    params = {"user_id": user_id, "now": now}
    families: set[str] = set()
    exam_ids: set[int] = set(conn.execute(_OPEN_COPIES, params).scalars())
    for request, exam_id in conn.execute(_OPEN_FOR_STUDENT, params):
        families |= planned_families(request or {})
        if exam_id is not None:
            exam_ids.add(exam_id)
    if exam_ids:
        families |= set(conn.execute(_COPY_FAMILIES, {"exam_ids": sorted(exam_ids)}).scalars())
    return families


# --- course architectures ------------------------------------------------------------------

_ARCH: Table = CourseArchitecture.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class ArchitectureRecord:
    """A network an instructor added to a course: its layer spec (``POST /profile``)."""

    id: int
    course_id: int
    name: str
    spec: dict[str, Any]
    created_at: datetime


_ARCH_COLUMNS = tuple(_ARCH.c[f] for f in ArchitectureRecord.__dataclass_fields__)


def add_architecture(
    session: Session, course_id: int, actor_id: int, name: str, spec: dict[str, Any],
    now: datetime,
) -> ArchitectureRecord:  # fmt: skip
    """Add a validated network to the course (instructors only); Conflict when the course
    has one of that name (the unique (course, name) pair decides, even for two at once)."""
    with writing(session):
        course_role(session, course_id, actor_id, instructor=True)
        values = {"course_id": course_id, "name": name, "spec": spec, "created_by": actor_id,
                  "created_at": now}  # fmt: skip
        arch_id = insert_ignore(session, _ARCH, values, ["course_id", "name"])
        if arch_id is None:
            raise Conflict(f"course {course_id} already has an architecture named '{name}'")
        session.commit()
    return ArchitectureRecord(int(arch_id), course_id, name, spec, now)


def course_architectures(
    session: Session, course_id: int, user_id: int, name: str | None = None
) -> list[ArchitectureRecord]:
    """The course's networks (members only), or the one of that name (NotFound if none)."""
    course_role(session, course_id, user_id)
    query = select(*_ARCH_COLUMNS).where(_ARCH.c.course_id == course_id).order_by(_ARCH.c.name)
    if name is not None:
        query = query.where(_ARCH.c.name == name)
    rows = [from_row(ArchitectureRecord, r) for r in session.connection().execute(query)]
    session.commit()
    if name is not None and not rows:
        raise NotFound(f"course {course_id} has no architecture '{name}'")
    return rows


def architectures_by_id(session: Session, ids: list[int]) -> list[ArchitectureRecord]:
    """Course networks by id (to rebuild their question families; no access check)."""
    query = select(*_ARCH_COLUMNS).where(_ARCH.c.id.in_(ids))
    rows = [from_row(ArchitectureRecord, r) for r in session.connection().execute(query)]
    session.commit()
    return rows
