"""SQLModel tables and the public shapes of the resources built on them.

Families follow ``XBase`` / ``X(table=True)`` / ``XCreate`` / ``XPublic``. Datetimes are stored
as naive UTC by :class:`api.db.UTCDateTime` and come back timezone-aware.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import field_validator
from sqlalchemy import CheckConstraint, Column, Index, UniqueConstraint, text
from sqlalchemy.types import JSON
from sqlmodel import Field, SQLModel

from .db import UTCDateTime, utcnow

__all__ = [
    "User",
    "UserCreate",
    "UserPublic",
    "UserCreated",
    "TopicRow",
    "CardRow",
    "CardExample",
    "ReviewState",
    "ReviewLog",
    "StudySession",
    "QuestionInstance",
    "QuestionAttempt",
    "Exam",
    "Course",
    "CourseMember",
    "Assessment",
    "CourseArchitecture",
    "UserSettings",
    "CardFlag",
    "CardTag",
]


def _dt(nullable: bool = False, index: bool = False) -> Column:
    return Column(UTCDateTime(), nullable=nullable, index=index)


def _json_list() -> Column:
    """A JSON list column that rows written before it existed read as empty (migration 0005)."""
    return Column(JSON, nullable=False, server_default=text("'[]'"))


# --- users -------------------------------------------------------------------------------


class UserBase(SQLModel):
    name: str = Field(min_length=1, max_length=100, description="Display name.")

    @field_validator("name")
    @classmethod
    def _no_nul(cls, value: str) -> str:
        if "\x00" in value:
            raise ValueError("NUL characters are not allowed")
        return value


class User(UserBase, table=True):
    """A person studying; authenticated by a bearer token stored only as its SHA-256."""

    __tablename__ = "user"
    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True, index=True)
    created_at: datetime = Field(default_factory=utcnow, sa_column=_dt())


class UserCreate(UserBase):
    """Body of ``POST /users``."""


class UserPublic(UserBase):
    """A user as shown to others and to themself."""

    id: int
    created_at: datetime


class UserCreated(UserPublic):
    """Answer of ``POST /users``: the only time the token is shown."""

    token: str


# --- content -----------------------------------------------------------------------------


class TopicRow(SQLModel, table=True):
    """A topic: one note of the content directory (or one user's imported note)."""

    __tablename__ = "topic"
    id: str = Field(primary_key=True, max_length=64)
    title: str
    tags: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    source_file: str = ""
    retired: bool = False


class CardRow(SQLModel, table=True):
    """A flashcard. Cards are never deleted: a card removed from its note is retired."""

    __tablename__ = "card"
    id: str = Field(primary_key=True, max_length=160)
    topic: str = Field(index=True, max_length=64)
    front: str
    back: str
    tags: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    source: str = Field(description="file:line the card was read from")
    position: int = Field(default=0, description="order within its note")
    retired: bool = Field(default=False, index=True)
    owner_id: int | None = Field(
        default=None, foreign_key="user.id", index=True, description="set for imported cards"
    )
    created_at: datetime = Field(default_factory=utcnow, sa_column=_dt())
    updated_at: datetime = Field(default_factory=utcnow, sa_column=_dt())


class CardExample(SQLModel, table=True):
    """An executable example of a card, with the output it is expected to print."""

    __tablename__ = "card_example"
    id: int | None = Field(default=None, primary_key=True)
    card_id: str = Field(foreign_key="card.id", index=True, max_length=160)
    position: int = 0
    code: str
    expected_output: str
    code_hash: str = Field(default="", max_length=64)
    output: str | None = None
    ok: bool | None = None
    duration_ms: int | None = None
    ran_at: datetime | None = Field(default=None, sa_column=_dt(nullable=True))


# --- scheduling --------------------------------------------------------------------------


class ReviewState(SQLModel, table=True):
    """FSRS memory state of one item (card or question family) for one user."""

    __tablename__ = "review_state"
    __table_args__ = (UniqueConstraint("user_id", "item_id"),)
    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id", index=True)
    item_id: str = Field(max_length=160)
    kind: str = Field(default="card", max_length=16)
    state: int = Field(description="fsrs.State: 1 learning, 2 review, 3 relearning")
    step: int | None = None
    stability: float | None = None
    difficulty: float | None = None
    due: datetime = Field(sa_column=_dt(index=True))
    last_review: datetime | None = Field(default=None, sa_column=_dt(nullable=True))
    reps: int = 0
    lapses: int = 0


class ReviewLog(SQLModel, table=True):
    """One answer, appended and never changed: the history a state can be rebuilt from."""

    __tablename__ = "review_log"
    __table_args__ = (
        Index("ix_review_log_user_time", "user_id", "reviewed_at"),
        Index("ix_review_log_user_item", "user_id", "item_id"),
    )
    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id")
    session_id: int | None = Field(default=None, foreign_key="study_session.id", index=True)
    item_id: str = Field(max_length=160, index=True)
    kind: str = Field(default="card", max_length=16)
    rating: int = Field(description="fsrs.Rating: 1 again, 2 hard, 3 good, 4 easy")
    elapsed_ms: int
    reviewed_at: datetime = Field(sa_column=_dt())
    state_before: int | None = Field(default=None, description="None for a new item")
    due_before: datetime | None = Field(default=None, sa_column=_dt(nullable=True))
    state_after: int
    due_after: datetime = Field(sa_column=_dt())
    stability_after: float | None = None
    difficulty_after: float | None = None


class StudySession(SQLModel, table=True):
    """A study session: which topics, how many items, how many new ones at most."""

    __tablename__ = "study_session"
    __table_args__ = (CheckConstraint("answered <= size", name="ck_study_session_answered"),)
    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id", index=True)
    topics: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    size: int
    new_limit: int
    include_questions: bool = False
    families: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    tags: list[str] = Field(default_factory=list, sa_column=_json_list())
    item_ids: list[str] = Field(default_factory=list, sa_column=_json_list())
    answered: int = 0
    new_seen: int = 0
    created_at: datetime = Field(default_factory=utcnow, sa_column=_dt())


# --- generated questions -------------------------------------------------------------------

_PENDING = "graded_at IS NULL AND session_id IS NOT NULL"


class QuestionInstance(SQLModel, table=True):
    """A generated question shown to a user. The variant is fixed by (family, seed,
    difficulty), so the truth is regenerated when grading rather than stored."""

    __tablename__ = "question_instance"
    __table_args__ = (
        Index("ix_question_instance_session_family", "session_id", "family"),
        # One unanswered variant per family in a study session (api.store.questions).
        Index(
            "uq_question_pending",
            "session_id",
            "family",
            unique=True,
            sqlite_where=text(_PENDING),
            postgresql_where=text(_PENDING),
        ),
    )
    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id", index=True)
    family: str = Field(max_length=64)
    seed: int
    difficulty: int
    session_id: int | None = Field(default=None, foreign_key="study_session.id", index=True)
    exam_id: int | None = Field(default=None, foreign_key="exam.id", index=True)
    position: int = 0
    created_at: datetime = Field(default_factory=utcnow, sa_column=_dt())
    graded_at: datetime | None = Field(default=None, sa_column=_dt(nullable=True))
    status: str | None = Field(default=None, max_length=16)
    score: float | None = None
    attempts: int = 0
    hints_used: int = Field(
        default=0, sa_column_kwargs={"server_default": "0"}, description="hints shown first"
    )
    # An exam question's answer as the student typed it, kept until the exam is submitted
    # (PUT /exams/{id}/answers): a reload or another device resumes from it.
    saved_answer: str | None = Field(default=None, max_length=500)
    saved_at: datetime | None = Field(default=None, sa_column=_dt(nullable=True))
    # An instructor's override of a submitted copy's item: ``score`` stays the computed one.
    override_score: float | None = None
    override_comment: str | None = Field(default=None, max_length=2000)
    override_by: int | None = Field(default=None, foreign_key="user.id")
    override_at: datetime | None = Field(default=None, sa_column=_dt(nullable=True))


class QuestionAttempt(SQLModel, table=True):
    """One graded answer to a question (unreadable answers are not attempts and not stored)."""

    __tablename__ = "question_attempt"
    id: int | None = Field(default=None, primary_key=True)
    question_id: int = Field(foreign_key="question_instance.id", index=True)
    user_id: int = Field(foreign_key="user.id", index=True)
    answer: str = Field(max_length=1000)
    status: str = Field(max_length=16)
    score: float
    diagnosis: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=_dt())


# --- exams ---------------------------------------------------------------------------------


class Exam(SQLModel, table=True):
    """A seeded set of generated questions, graded only when submitted. An exam started from
    an assessment is that student's own copy of it: one per student and assessment."""

    __tablename__ = "exam"
    __table_args__ = (UniqueConstraint("assessment_id", "user_id", name="uq_exam_assessment_user"),)
    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id", index=True)
    assessment_id: int | None = Field(default=None, foreign_key="assessment.id", index=True)
    seed: int
    request: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    time_limit_min: int | None = None
    created_at: datetime = Field(default_factory=utcnow, sa_column=_dt())
    submitted_at: datetime | None = Field(default=None, sa_column=_dt(nullable=True))
    late: bool = False
    score: float | None = None
    max_score: float | None = None
    result: dict | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    auto_submitted: bool = Field(
        default=False,
        sa_column_kwargs={"server_default": text("false")},
        description="submitted by the server at the deadline, with the saved answers",
    )


class GradeHistory(SQLModel, table=True):
    """A grade of an exam question as it was before a regrade or an override replaced it."""

    __tablename__ = "grade_history"
    id: int | None = Field(default=None, primary_key=True)
    question_id: int = Field(foreign_key="question_instance.id", index=True)
    exam_id: int = Field(foreign_key="exam.id", index=True)
    reason: str = Field(max_length=16, description="regrade or override")
    status: str | None = Field(default=None, max_length=16)
    score: float | None = None
    override_score: float | None = None
    override_comment: str | None = Field(default=None, max_length=2000)
    diagnosis: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    replaced_by: int | None = Field(default=None, foreign_key="user.id")
    replaced_at: datetime = Field(default_factory=utcnow, sa_column=_dt())


# --- courses -------------------------------------------------------------------------------


class Course(SQLModel, table=True):
    """A class: its instructors set assessments, its students take them."""

    __tablename__ = "course"
    id: int | None = Field(default=None, primary_key=True)
    title: str = Field(max_length=200)
    join_code: str = Field(max_length=32, unique=True, index=True)
    created_by: int = Field(foreign_key="user.id")
    created_at: datetime = Field(default_factory=utcnow, sa_column=_dt())


class CourseMember(SQLModel, table=True):
    """A user's role in a course: ``instructor`` or ``student``."""

    __tablename__ = "course_member"
    __table_args__ = (UniqueConstraint("course_id", "user_id"),)
    id: int | None = Field(default=None, primary_key=True)
    course_id: int = Field(foreign_key="course.id", index=True)
    user_id: int = Field(foreign_key="user.id", index=True)
    role: str = Field(max_length=16)
    created_at: datetime = Field(default_factory=utcnow, sa_column=_dt())


class Assessment(SQLModel, table=True):
    """A quiz set for a course. Each student's variants are drawn from ``secret``, which
    never leaves the server."""

    __tablename__ = "assessment"
    id: int | None = Field(default=None, primary_key=True)
    course_id: int = Field(foreign_key="course.id", index=True)
    title: str = Field(max_length=200)
    request: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    opens_at: datetime | None = Field(default=None, sa_column=_dt(nullable=True))
    closes_at: datetime | None = Field(default=None, sa_column=_dt(nullable=True))
    time_limit_min: int | None = None
    allow_hints: bool = False
    secret: str = Field(max_length=64)
    created_by: int = Field(foreign_key="user.id")
    created_at: datetime = Field(default_factory=utcnow, sa_column=_dt())
    # Bumped by every edit; a start plans from one version and locks that version.
    version: int = Field(default=1, sa_column_kwargs={"server_default": "1"})
    # Set by the first student's start: from then on the assessment cannot be edited or
    # deleted (a conditional update on this row; api.store.courses).
    started_at: datetime | None = Field(default=None, sa_column=_dt(nullable=True))


class Accommodation(SQLModel, table=True):
    """One student's extra time or later deadline on one assessment."""

    __tablename__ = "assessment_accommodation"
    __table_args__ = (UniqueConstraint("assessment_id", "user_id"),)
    id: int | None = Field(default=None, primary_key=True)
    assessment_id: int = Field(foreign_key="assessment.id", index=True)
    user_id: int = Field(foreign_key="user.id")
    extra_minutes: int | None = None
    closes_at: datetime | None = Field(default=None, sa_column=_dt(nullable=True))
    updated_by: int = Field(foreign_key="user.id")
    updated_at: datetime = Field(default_factory=utcnow, sa_column=_dt())


class CourseArchitecture(SQLModel, table=True):
    """A network an instructor added to a course, as a layer spec (``POST /profile``)."""

    __tablename__ = "course_architecture"
    __table_args__ = (UniqueConstraint("course_id", "name"),)
    id: int | None = Field(default=None, primary_key=True)
    course_id: int = Field(foreign_key="course.id", index=True)
    name: str = Field(max_length=64)
    spec: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_by: int = Field(foreign_key="user.id")
    created_at: datetime = Field(default_factory=utcnow, sa_column=_dt())


# --- the learner's controls ------------------------------------------------------------------


class UserSettings(SQLModel, table=True):
    """A user's study settings and FSRS parameters (None: the defaults)."""

    __tablename__ = "user_settings"
    user_id: int = Field(foreign_key="user.id", primary_key=True)
    desired_retention: float = 0.9
    new_per_day: int = 20
    fsrs_parameters: list[float] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    fsrs_fit: dict | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=_dt())


class CardFlag(SQLModel, table=True):
    """A user's flags on one card: suspended, buried until a time, marked a leech."""

    __tablename__ = "card_flag"
    __table_args__ = (UniqueConstraint("user_id", "card_id"),)
    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id", index=True)
    card_id: str = Field(foreign_key="card.id", max_length=160)
    suspended: bool = False
    leech: bool = False
    buried_until: datetime | None = Field(default=None, sa_column=_dt(nullable=True))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=_dt())


class CardTag(SQLModel, table=True):
    """One tag of one card (its own and its note's), for filtering by tag in the database."""

    __tablename__ = "card_tag"
    card_id: str = Field(foreign_key="card.id", primary_key=True, max_length=160)
    tag: str = Field(primary_key=True, max_length=64, index=True)
