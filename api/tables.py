"""SQLModel tables: the database's rows, nothing an HTTP client sends or reads.

A request body bound by a table's own constraints takes them from its ``XBase`` (``UserBase``:
the name's length); the request and response shapes themselves live with their router, or in
``api/schemas.py`` when several routers send them. Datetimes are stored as naive UTC by
:class:`api.db.UTCDateTime` and come back timezone-aware.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import field_validator
from sqlalchemy import CheckConstraint, Column, Index, UniqueConstraint, text
from sqlalchemy.types import JSON
from sqlmodel import Field, SQLModel

from .db import UTCDateTime, utcnow

__all__ = [
    "UserBase",
    "User",
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
    "LtiPlatform",
    "LtiDeployment",
    "LtiKey",
    "LtiLogin",
    "LtiNonce",
    "LtiUser",
    "LtiContext",
    "LtiLaunch",
    "LtiCode",
    "UserToken",
    "LtiGrade",
    "UploadLease",
    "CourseInvite",
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


# --- LTI 1.3 (api.services.lti: platforms launch the tool, grades go back through an outbox) ---


class LtiPlatform(SQLModel, table=True):
    """An LMS registered by the server's admin: one (issuer, client id) pair."""

    __tablename__ = "lti_platform"
    __table_args__ = (UniqueConstraint("issuer", "client_id", name="uq_lti_platform_client"),)
    id: int | None = Field(default=None, primary_key=True)
    issuer: str = Field(max_length=255, index=True)
    client_id: str = Field(max_length=255)
    auth_login_url: str = Field(max_length=1000)
    token_url: str = Field(max_length=1000)
    keyset_url: str = Field(max_length=1000)
    created_at: datetime = Field(default_factory=utcnow, sa_column=_dt())


class LtiDeployment(SQLModel, table=True):
    """A deployment of the tool on a platform; launches from any other are refused."""

    __tablename__ = "lti_deployment"
    __table_args__ = (UniqueConstraint("platform_id", "deployment_id"),)
    id: int | None = Field(default=None, primary_key=True)
    platform_id: int = Field(foreign_key="lti_platform.id")
    deployment_id: str = Field(max_length=255)
    created_at: datetime = Field(default_factory=utcnow, sa_column=_dt())


class LtiKey(SQLModel, table=True):
    """The tool's RSA key pairs: the newest signs; a superseded one stays published a while."""

    __tablename__ = "lti_key"
    id: int | None = Field(default=None, primary_key=True)
    kid: str = Field(max_length=64, unique=True)
    private_pem: str
    public_jwk: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=_dt())
    superseded_at: datetime | None = Field(default=None, sa_column=_dt(nullable=True))


class LtiLogin(SQLModel, table=True):
    """An OIDC login in flight: the state (as SHA-256) and its nonce, used once."""

    __tablename__ = "lti_login"
    state_hash: str = Field(primary_key=True, max_length=64)
    nonce: str = Field(max_length=64)
    platform_id: int = Field(foreign_key="lti_platform.id")
    target_link_uri: str = Field(max_length=1000)
    expires_at: datetime = Field(sa_column=_dt(index=True))


class LtiNonce(SQLModel, table=True):
    """Every nonce a platform's launch used: a replayed id_token breaks the key."""

    __tablename__ = "lti_nonce"
    __table_args__ = (UniqueConstraint("platform_id", "nonce"),)
    id: int | None = Field(default=None, primary_key=True)
    platform_id: int = Field(foreign_key="lti_platform.id")
    nonce: str = Field(max_length=255)
    used_at: datetime = Field(sa_column=_dt())


class LtiUser(SQLModel, table=True):
    """A user of a platform, by (issuer, sub); never matched to a local account by email."""

    __tablename__ = "lti_user"
    __table_args__ = (UniqueConstraint("issuer", "sub"),)
    id: int | None = Field(default=None, primary_key=True)
    issuer: str = Field(max_length=255)
    sub: str = Field(max_length=255)
    user_id: int = Field(foreign_key="user.id", unique=True)
    created_at: datetime = Field(default_factory=utcnow, sa_column=_dt())


class LtiContext(SQLModel, table=True):
    """The course an LMS course (issuer, deployment, context id) maps to."""

    __tablename__ = "lti_context"
    __table_args__ = (UniqueConstraint("issuer", "deployment_id", "context_id"),)
    id: int | None = Field(default=None, primary_key=True)
    issuer: str = Field(max_length=255)
    deployment_id: str = Field(max_length=255)
    context_id: str = Field(max_length=255)
    course_id: int = Field(foreign_key="course.id", index=True)
    platform_id: int = Field(foreign_key="lti_platform.id")
    memberships_url: str | None = Field(default=None, max_length=1000)
    created_at: datetime = Field(default_factory=utcnow, sa_column=_dt())


class LtiLaunch(SQLModel, table=True):
    """One verified launch: who, where, and the services it offered (AGS, NRPS, deep
    linking)."""

    __tablename__ = "lti_launch"
    id: int | None = Field(default=None, primary_key=True)
    platform_id: int = Field(foreign_key="lti_platform.id")
    user_id: int = Field(foreign_key="user.id", index=True)
    course_id: int = Field(foreign_key="course.id")
    assessment_id: int | None = Field(default=None, foreign_key="assessment.id")
    message_type: str = Field(max_length=32)
    deployment_id: str = Field(max_length=255)
    sub: str = Field(max_length=255)
    role: str = Field(max_length=16)
    lineitem_url: str | None = Field(default=None, max_length=1000)
    ags_scopes: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    deep_linking: dict | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    created_at: datetime = Field(default_factory=utcnow, sa_column=_dt())


class LtiCode(SQLModel, table=True):
    """A one-time code the launch hands the browser, exchanged once for a bearer token."""

    __tablename__ = "lti_code"
    code_hash: str = Field(primary_key=True, max_length=64)
    launch_id: int = Field(foreign_key="lti_launch.id")
    expires_at: datetime = Field(sa_column=_dt())
    used_at: datetime | None = Field(default=None, sa_column=_dt(nullable=True))


class UserToken(SQLModel, table=True):
    """A further bearer token of a user (an LTI session), stored as SHA-256, expiring."""

    __tablename__ = "user_token"
    token_hash: str = Field(primary_key=True, max_length=64)
    user_id: int = Field(foreign_key="user.id", index=True)
    created_at: datetime = Field(sa_column=_dt())
    expires_at: datetime = Field(sa_column=_dt())


class LtiGrade(SQLModel, table=True):
    """The grade outbox: one row per line item and student holding the latest final score,
    written in the transaction that changed it and delivered until the platform accepts."""

    __tablename__ = "lti_grade"
    __table_args__ = (
        UniqueConstraint("platform_id", "lineitem_url", "sub", name="uq_lti_grade_target"),
        Index("ix_lti_grade_due", "state", "next_try_at"),
    )
    id: int | None = Field(default=None, primary_key=True)
    platform_id: int = Field(foreign_key="lti_platform.id")
    lineitem_url: str = Field(max_length=1000)
    sub: str = Field(max_length=255)
    user_id: int = Field(foreign_key="user.id", index=True)
    exam_id: int = Field(foreign_key="exam.id", index=True)
    score_given: float
    score_maximum: float
    scored_at: datetime = Field(sa_column=_dt())
    version: int = 1
    state: str = Field(max_length=16, description="pending, sent")
    attempts: int = 0
    next_try_at: datetime = Field(sa_column=_dt())
    leased_until: datetime | None = Field(default=None, sa_column=_dt(nullable=True))
    last_error: str | None = Field(default=None, max_length=500)
    sent_at: datetime | None = Field(default=None, sa_column=_dt(nullable=True))


# --- hostile users: uploads one at a time, invitations ---------------------------------------


class UploadLease(SQLModel, table=True):
    """An upload of one kind running for a user: one row per (user, kind) at most, so a
    second upload of the same user, to any server process, is refused while it runs. A row
    past ``expires_at`` lost its process (a crash) and may be taken over."""

    __tablename__ = "upload_lease"
    user_id: int = Field(foreign_key="user.id", primary_key=True)
    kind: str = Field(primary_key=True, max_length=16)
    token: str = Field(max_length=32)
    expires_at: datetime = Field(sa_column=_dt())


class CourseInvite(SQLModel, table=True):
    """An invitation to a course as a co-instructor: a secret code (stored as its SHA-256)
    that the invitee accepts, once, before it expires."""

    __tablename__ = "course_invite"
    id: int | None = Field(default=None, primary_key=True)
    course_id: int = Field(foreign_key="course.id", index=True)
    code_hash: str = Field(max_length=64, unique=True, index=True)
    role: str = Field(max_length=16)
    created_by: int = Field(foreign_key="user.id")
    created_at: datetime = Field(default_factory=utcnow, sa_column=_dt())
    expires_at: datetime = Field(sa_column=_dt())
    accepted_by: int | None = Field(default=None, foreign_key="user.id")
    accepted_at: datetime | None = Field(default=None, sa_column=_dt(nullable=True))
