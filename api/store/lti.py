"""LTI 1.3: registered platforms, the tool's keys, logins, launches, and the grade outbox.

Rules kept by the database:

- A login's state is used once: the launch deletes its row (``DELETE … WHERE state_hash = ?
  AND expires_at > now``, checked by its row count) in the transaction that records the
  launch; a nonce is used once per platform (unique key ``(platform_id, nonce)``). A refused
  launch rolls the whole transaction back: no user, course, membership or launch is created.
- A platform's user is one row per (issuer, sub) and a platform's course one row per
  (issuer, deployment, context id); two first launches racing make one of each (``INSERT …
  ON CONFLICT DO NOTHING``; the loser drops what it had made and reads the winner's).
- A one-time code is exchanged once (``UPDATE … WHERE used_at IS NULL``).
- The outbox holds one row per (platform, line item, student): the latest final score,
  written in the transaction that changed the score (:func:`enqueue_score`), so no score is
  lost and none is sent per attempt. Delivery leases a row with a conditional update, and
  marks it sent only if its ``version`` is still the one delivered: a score that changed
  meanwhile stays pending and goes next.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, and_, bindparam, delete, insert, or_, select, update
from sqlalchemy.engine import CursorResult
from sqlmodel import Session

from ..db import insert_ignore, is_postgres, writing
from ..security import hash_token, new_token
from ..services.lti import Launch, SigningKey, new_key_pair
from ..tables import (
    Assessment,
    Course,
    CourseMember,
    Exam,
    LtiCode,
    LtiContext,
    LtiDeployment,
    LtiGrade,
    LtiKey,
    LtiLaunch,
    LtiLogin,
    LtiNonce,
    LtiPlatform,
    LtiUser,
    User,
    UserToken,
)
from . import Conflict, NotFound, from_row
from .courses import INSTRUCTOR, STUDENT, _new_code, course_role

__all__ = [
    "PlatformRecord",
    "LaunchRecord",
    "SessionGrant",
    "GradeJob",
    "add_platform",
    "list_platforms",
    "platform_for_login",
    "platform_by_id",
    "ensure_key",
    "rotate_key",
    "published_keys",
    "start_login",
    "login_for",
    "record_launch",
    "redeem_code",
    "launch_for",
    "enqueue_score",
    "enqueue_change",
    "claim_due",
    "grade_sent",
    "grade_failed",
    "retry_refused",
    "passback_status",
    "roster_source",
    "sync_members",
]

_PLATFORM: Table = LtiPlatform.__table__  # type: ignore[attr-defined]
_DEPLOYMENT: Table = LtiDeployment.__table__  # type: ignore[attr-defined]
_KEY: Table = LtiKey.__table__  # type: ignore[attr-defined]
_LOGIN: Table = LtiLogin.__table__  # type: ignore[attr-defined]
_NONCE: Table = LtiNonce.__table__  # type: ignore[attr-defined]
_LTI_USER: Table = LtiUser.__table__  # type: ignore[attr-defined]
_CONTEXT: Table = LtiContext.__table__  # type: ignore[attr-defined]
_LAUNCH: Table = LtiLaunch.__table__  # type: ignore[attr-defined]
_CODE: Table = LtiCode.__table__  # type: ignore[attr-defined]
_TOKEN: Table = UserToken.__table__  # type: ignore[attr-defined]
_GRADE: Table = LtiGrade.__table__  # type: ignore[attr-defined]
_USER: Table = User.__table__  # type: ignore[attr-defined]
_COURSE: Table = Course.__table__  # type: ignore[attr-defined]
_MEMBER: Table = CourseMember.__table__  # type: ignore[attr-defined]
_ASSESSMENT: Table = Assessment.__table__  # type: ignore[attr-defined]
_EXAM: Table = Exam.__table__  # type: ignore[attr-defined]


def _rows(result: Any) -> int:
    return cast(CursorResult, result).rowcount


# --- platforms --------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlatformRecord:
    """A registered platform and its deployments."""

    id: int
    issuer: str
    client_id: str
    auth_login_url: str
    token_url: str
    keyset_url: str
    created_at: datetime
    deployments: tuple[str, ...] = ()


_PLATFORM_COLUMNS = tuple(
    _PLATFORM.c[f] for f in PlatformRecord.__dataclass_fields__ if f != "deployments"
)


def _platforms(session: Session, where: Any = None) -> list[PlatformRecord]:
    conn = session.connection()
    query = select(*_PLATFORM_COLUMNS).order_by(_PLATFORM.c.id)
    if where is not None:
        query = query.where(where)
    rows = list(conn.execute(query))
    if not rows:
        return []
    ids = [r.id for r in rows]
    deployments: dict[int, list[str]] = {i: [] for i in ids}
    query = (
        select(_DEPLOYMENT.c.platform_id, _DEPLOYMENT.c.deployment_id)
        .where(_DEPLOYMENT.c.platform_id.in_(ids))
        .order_by(_DEPLOYMENT.c.id)
    )
    for d in conn.execute(query):
        deployments[d.platform_id].append(d.deployment_id)
    return [PlatformRecord(**r._mapping, deployments=tuple(deployments[r.id])) for r in rows]


def add_platform(
    session: Session, fields: dict[str, str], deployment_ids: list[str], now: datetime
) -> tuple[PlatformRecord, bool]:
    """Register a platform, or add deployments to (and update the URLs of) the one with
    the same issuer and client id. Returns it and whether it is new."""
    with writing(session):
        key = {"issuer": fields["issuer"], "client_id": fields["client_id"]}
        platform_id = insert_ignore(
            session, _PLATFORM, fields | {"created_at": now}, ["issuer", "client_id"]
        )
        created = platform_id is not None
        if not created:
            where = and_(*(_PLATFORM.c[k] == v for k, v in key.items()))
            platform_id = session.connection().execute(select(_PLATFORM.c.id).where(where)).scalar()
            urls = {k: v for k, v in fields.items() if k not in key}
            session.connection().execute(update(_PLATFORM).where(where).values(**urls))
        for deployment_id in deployment_ids:
            values = {"platform_id": platform_id, "deployment_id": deployment_id, "created_at": now}
            insert_ignore(session, _DEPLOYMENT, values, ["platform_id", "deployment_id"])
        (record,) = _platforms(session, _PLATFORM.c.id == platform_id)
        session.commit()
    return record, created


def list_platforms(session: Session) -> list[PlatformRecord]:
    """Every registered platform, oldest first."""
    rows = _platforms(session)
    session.commit()
    return rows


def platform_for_login(session: Session, issuer: str, client_id: str | None) -> PlatformRecord:
    """The platform a login names: by issuer, and client id when the platform sends one."""
    where = _PLATFORM.c.issuer == issuer
    if client_id is not None:
        where = and_(where, _PLATFORM.c.client_id == client_id)
    rows = _platforms(session, where)
    session.commit()
    if not rows:
        raise NotFound(f"no platform registered with issuer {issuer!r}" + (
            f" and client id {client_id!r}" if client_id is not None else ""))  # fmt: skip
    if len(rows) > 1:
        raise Conflict(f"issuer {issuer!r} has several registrations: the login needs client_id")
    return rows[0]


def platform_by_id(session: Session, platform_id: int) -> PlatformRecord:
    """A registered platform by id."""
    rows = _platforms(session, _PLATFORM.c.id == platform_id)
    session.commit()
    if not rows:
        raise NotFound(f"no platform {platform_id}")
    return rows[0]


# --- the tool's keys --------------------------------------------------------------------------


def _current_key(session: Session) -> SigningKey | None:
    query = (
        select(_KEY.c.kid, _KEY.c.private_pem, _KEY.c.public_jwk)
        .where(_KEY.c.superseded_at.is_(None))
        .order_by(_KEY.c.id.desc())
        .limit(1)
    )
    row = session.connection().execute(query).first()
    return None if row is None else from_row(SigningKey, row)


# Two first uses at once on PostgreSQL wait for each other here (SQLite has one writer).
_KEY_LOCK = int.from_bytes(b"ltikey", "big")


def ensure_key(session: Session, now: datetime) -> SigningKey:
    """The tool's signing key, generated the first time it is needed: a second after the
    first start (``api.services.lti_services.GradeOutbox``), or by a first request before that.
    Generating takes a fraction of a second of CPU: callers run this in a worker thread."""
    key = _current_key(session)
    session.commit()
    if key is not None:
        return key
    fresh = new_key_pair()  # outside the transaction: no writer waits for the CPU work
    with writing(session):
        if is_postgres(session):
            session.connection().exec_driver_sql(f"SELECT pg_advisory_xact_lock({_KEY_LOCK})")
        key = _current_key(session)
        if key is None:
            key = fresh
            session.connection().execute(
                insert(_KEY).values(
                    kid=key.kid,
                    private_pem=key.private_pem,
                    public_jwk=key.public_jwk,
                    created_at=now,
                )  # fmt: skip
            )
        session.commit()
    return key


def rotate_key(session: Session, now: datetime) -> SigningKey:
    """Add a new signing key; the previous ones are superseded (still published for a while,
    until every token they signed has expired)."""
    key = new_key_pair()
    with writing(session):
        session.connection().execute(
            update(_KEY).where(_KEY.c.superseded_at.is_(None)).values(superseded_at=now)
        )
        session.connection().execute(
            insert(_KEY).values(
                kid=key.kid, private_pem=key.private_pem, public_jwk=key.public_jwk, created_at=now
            )
        )
        session.commit()
    return key


def published_keys(session: Session, since: datetime) -> list[dict[str, Any]]:
    """The public keys to publish: the current one, and those superseded after ``since``."""
    query = (
        select(_KEY.c.public_jwk)
        .where(_KEY.c.superseded_at.is_(None) | (_KEY.c.superseded_at > since))
        .order_by(_KEY.c.id.desc())
    )
    keys = [dict(r.public_jwk) for r in session.connection().execute(query)]
    session.commit()
    return keys


# --- login and launch -------------------------------------------------------------------------


@dataclass(frozen=True)
class LoginRecord:
    """A login in flight."""

    nonce: str
    platform_id: int
    target_link_uri: str
    expires_at: datetime


def start_login(
    session: Session,
    state_hash: str,
    nonce: str,
    platform_id: int,
    target_link_uri: str,
    now: datetime,
    expires_at: datetime,
) -> None:
    """Keep a login's state (hashed) and nonce until the launch; expired logins go."""
    with writing(session):
        conn = session.connection()
        conn.execute(delete(_LOGIN).where(_LOGIN.c.expires_at <= now))
        conn.execute(
            insert(_LOGIN).values(
                state_hash=state_hash,
                nonce=nonce,
                platform_id=platform_id,
                target_link_uri=target_link_uri,
                expires_at=expires_at,
            )  # fmt: skip
        )
        session.commit()


def login_for(session: Session, state_hash: str, now: datetime) -> LoginRecord:
    """The unexpired login of this state; NotFound otherwise."""
    query = select(
        _LOGIN.c.nonce, _LOGIN.c.platform_id, _LOGIN.c.target_link_uri, _LOGIN.c.expires_at
    ).where(_LOGIN.c.state_hash == state_hash, _LOGIN.c.expires_at > now)
    row = session.connection().execute(query).first()
    session.commit()
    if row is None:
        raise NotFound("the state is unknown, used or expired: start the launch again")
    return from_row(LoginRecord, row)


@dataclass(frozen=True)
class LaunchRecord:
    """A recorded launch."""

    id: int
    platform_id: int
    user_id: int
    course_id: int
    assessment_id: int | None
    message_type: str
    deployment_id: str
    sub: str
    role: str
    lineitem_url: str | None
    deep_linking: dict[str, Any] | None


_LAUNCH_COLUMNS = tuple(_LAUNCH.c[f] for f in LaunchRecord.__dataclass_fields__)


def _user_for(session: Session, issuer: str, sub: str, name: str, now: datetime) -> int:
    """The local user of (issuer, sub), created on first sight with the platform's name."""
    conn = session.connection()
    query = select(_LTI_USER.c.user_id).where(_LTI_USER.c.issuer == issuer, _LTI_USER.c.sub == sub)
    user_id = conn.execute(query).scalar()
    if user_id is not None:
        conn.execute(update(_USER).where(_USER.c.id == user_id).values(name=name))
        return int(user_id)
    # The account's own token is never shown: the user signs in through launches only.
    values = {"name": name, "token_hash": hash_token(new_token()), "created_at": now}
    result = conn.execute(insert(_USER).values(**values))
    assert result.inserted_primary_key is not None
    new_id = int(result.inserted_primary_key[0])
    link = {"issuer": issuer, "sub": sub, "user_id": new_id, "created_at": now}
    if insert_ignore(session, _LTI_USER, link, ["issuer", "sub"]) is None:
        conn.execute(delete(_USER).where(_USER.c.id == new_id))  # a concurrent first launch won
        return int(conn.execute(query).scalar_one())
    return new_id


def _course_for(
    session: Session, platform_id: int, issuer: str, launch: Launch, user_id: int, now: datetime
) -> int:
    """The course of the launch's context, created on the first instructor launch."""
    conn = session.connection()
    where = and_(
        _CONTEXT.c.issuer == issuer,
        _CONTEXT.c.deployment_id == launch.deployment_id,
        _CONTEXT.c.context_id == launch.context_id,
    )
    course_id = conn.execute(select(_CONTEXT.c.course_id).where(where)).scalar()
    if course_id is None:
        if launch.role != INSTRUCTOR:
            raise Conflict(
                "this LMS course is not set up in flopcards yet: an instructor opens the tool "
                "from it first"
            )
        code_values = {"title": launch.context_title, "created_by": user_id, "created_at": now}
        for _ in range(5):
            new_course = insert_ignore(
                session, _COURSE, code_values | {"join_code": _new_code()}, ["join_code"]
            )
            if new_course is not None:
                break
        else:
            raise RuntimeError("no free join code")
        values = {
            "issuer": issuer,
            "deployment_id": launch.deployment_id,
            "context_id": launch.context_id,
            "course_id": new_course,
            "platform_id": platform_id,
            "memberships_url": launch.memberships_url,
            "created_at": now,
        }
        key = ["issuer", "deployment_id", "context_id"]
        if insert_ignore(session, _CONTEXT, values, key) is None:
            conn.execute(delete(_COURSE).where(_COURSE.c.id == new_course))
            course_id = conn.execute(select(_CONTEXT.c.course_id).where(where)).scalar_one()
        else:
            course_id = new_course
    elif launch.memberships_url is not None:
        conn.execute(
            update(_CONTEXT)
            .where(where)
            .values(memberships_url=launch.memberships_url, platform_id=platform_id)
        )
    return int(course_id)


def _member(session: Session, course_id: int, user_id: int, role: str, now: datetime) -> None:
    """Make the user a member with the LMS's role (the LMS is the authority on roles)."""
    values = {"course_id": course_id, "user_id": user_id, "role": role, "created_at": now}
    if insert_ignore(session, _MEMBER, values, ["course_id", "user_id"]) is None:
        session.connection().execute(
            update(_MEMBER)
            .where(
                _MEMBER.c.course_id == course_id,
                _MEMBER.c.user_id == user_id,
                _MEMBER.c.role != role,
            )
            .values(role=role)
        )


@dataclass(frozen=True)
class LaunchResult:
    """A kept launch: the ids the browser's session will carry."""

    launch_id: int
    user_id: int
    course_id: int
    assessment_id: int | None


def record_launch(
    session: Session,
    platform_id: int,
    issuer: str,
    state_hash: str,
    launch: Launch,
    code_hash: str,
    code_expires_at: datetime,
    now: datetime,
) -> LaunchResult:
    """Keep a verified launch, all or nothing: use up its state and nonce, map its user and
    course, record it and its one-time code. Conflict or NotFound refuse it (rolled back)."""
    with writing(session):
        conn = session.connection()
        used = conn.execute(
            delete(_LOGIN).where(_LOGIN.c.state_hash == state_hash, _LOGIN.c.expires_at > now)
        )
        if _rows(used) != 1:
            raise Conflict("the state is unknown, used or expired: start the launch again")
        nonce = {"platform_id": platform_id, "nonce": launch.claims["nonce"], "used_at": now}
        if insert_ignore(session, _NONCE, nonce, ["platform_id", "nonce"]) is None:
            raise Conflict("the id_token's nonce was used before (a replayed launch)")
        user_id = _user_for(session, issuer, launch.sub, launch.name, now)
        course_id = _course_for(session, platform_id, issuer, launch, user_id, now)
        _member(session, course_id, user_id, launch.role, now)
        assessment_id = launch.assessment_id
        if assessment_id is not None:
            query = select(_ASSESSMENT.c.course_id).where(_ASSESSMENT.c.id == assessment_id)
            if conn.execute(query).scalar() != course_id:
                raise NotFound(f"assessment {assessment_id} is not one of this course's")
        elif launch.message_type == "LtiResourceLinkRequest" and "assessment_id" in launch.custom:
            raise NotFound("the link's assessment_id is not an assessment id")
        values = {
            "platform_id": platform_id,
            "user_id": user_id,
            "course_id": course_id,
            "assessment_id": assessment_id,
            "message_type": launch.message_type,
            "deployment_id": launch.deployment_id,
            "sub": launch.sub,
            "role": launch.role,
            "lineitem_url": launch.lineitem_url,
            "ags_scopes": launch.ags_scopes,
            "deep_linking": launch.deep_linking,
            "created_at": now,
        }
        result = conn.execute(insert(_LAUNCH).values(**values))
        assert result.inserted_primary_key is not None
        launch_id = int(result.inserted_primary_key[0])
        conn.execute(
            insert(_CODE).values(
                code_hash=code_hash, launch_id=launch_id, expires_at=code_expires_at
            )
        )
        if assessment_id is not None and launch.role == STUDENT and launch.lineitem_url:
            # A copy submitted before this launch (or before the link had a line item).
            copy = select(_EXAM.c.id).where(
                _EXAM.c.assessment_id == assessment_id,
                _EXAM.c.user_id == user_id,
                _EXAM.c.submitted_at.is_not(None),
            )
            exam_id = conn.execute(copy).scalar()
            if exam_id is not None:
                enqueue_score(session, int(exam_id), now)
        session.commit()
    return LaunchResult(launch_id, user_id, course_id, assessment_id)


@dataclass(frozen=True)
class SessionGrant:
    """What a redeemed code gives the browser."""

    token: str
    user_id: int
    name: str
    launch_id: int
    course_id: int
    assessment_id: int | None
    message_type: str
    role: str


def redeem_code(
    session: Session, code_hash: str, now: datetime, token_lifetime: timedelta
) -> SessionGrant:
    """Exchange a launch's one-time code (once, before it expires) for a bearer token."""
    with writing(session):
        conn = session.connection()
        used = conn.execute(
            update(_CODE)
            .where(
                _CODE.c.code_hash == code_hash,
                _CODE.c.used_at.is_(None),
                _CODE.c.expires_at > now,
            )
            .values(used_at=now)
        )
        if _rows(used) != 1:
            raise NotFound("the code is unknown, used or expired: launch again from the LMS")
        query = (
            select(*_LAUNCH_COLUMNS, _USER.c.name)
            .join(_CODE, _CODE.c.launch_id == _LAUNCH.c.id)
            .join(_USER, _USER.c.id == _LAUNCH.c.user_id)
            .where(_CODE.c.code_hash == code_hash)
        )
        row = conn.execute(query).one()
        token = new_token()
        conn.execute(
            insert(_TOKEN).values(
                token_hash=hash_token(token),
                user_id=row.user_id,
                created_at=now,
                expires_at=now + token_lifetime,
            )  # fmt: skip
        )
        conn.execute(delete(_TOKEN).where(_TOKEN.c.expires_at <= now))
        session.commit()
    return SessionGrant(
        token, row.user_id, row.name, row.id, row.course_id, row.assessment_id,
        row.message_type, row.role,
    )  # fmt: skip


def launch_for(session: Session, launch_id: int, user_id: int) -> LaunchRecord:
    """The caller's own launch; NotFound otherwise."""
    query = select(*_LAUNCH_COLUMNS).where(_LAUNCH.c.id == launch_id)
    row = session.connection().execute(query).first()
    session.commit()
    if row is None or row.user_id != user_id:
        raise NotFound(f"no launch {launch_id}")
    return from_row(LaunchRecord, row)


# --- the grade outbox -------------------------------------------------------------------------


def enqueue_score(session: Session, exam_id: int, now: datetime) -> bool:
    """Put the final score of a copy of an assessment in the outbox, when its student came
    through LTI with a line item: inside the caller's write transaction (not committed here),
    so the score and its delivery are kept together or not at all. One row per line item
    and student holds the latest score; True when one was written.

    Call it wherever a copy's final score is set or changes (submission, automatic
    submission at the deadline, regrade, override).
    """
    conn = session.connection()
    exam = conn.execute(
        select(
            _EXAM.c.user_id,
            _EXAM.c.assessment_id,
            _EXAM.c.score,
            _EXAM.c.max_score,
            _EXAM.c.submitted_at,
        ).where(_EXAM.c.id == exam_id)  # fmt: skip
    ).first()
    if exam is None or exam.assessment_id is None or exam.submitted_at is None:
        return False
    if exam.score is None:
        return False
    query = (
        select(_LAUNCH.c.platform_id, _LAUNCH.c.lineitem_url, _LAUNCH.c.sub)
        .where(
            _LAUNCH.c.user_id == exam.user_id,
            _LAUNCH.c.assessment_id == exam.assessment_id,
            _LAUNCH.c.lineitem_url.is_not(None),
        )
        .order_by(_LAUNCH.c.id.desc())
        .limit(1)
    )
    target = conn.execute(query).first()
    if target is None:
        return False
    score = {
        "user_id": exam.user_id,
        "exam_id": exam_id,
        "score_given": float(exam.score),
        "score_maximum": float(exam.max_score or 0.0),
        "scored_at": now,
        "state": "pending",
        "attempts": 0,
        "next_try_at": now,
        "last_error": None,
        "sent_at": None,
    }
    key = {"platform_id": target.platform_id, "lineitem_url": target.lineitem_url,
           "sub": target.sub}  # fmt: skip
    if insert_ignore(session, _GRADE, key | score | {"version": 1}, list(key)) is None:
        where = and_(*(_GRADE.c[k] == v for k, v in key.items()))
        # The same score of the same copy again (announced twice) is no new score.
        changed = or_(
            _GRADE.c.exam_id != exam_id,
            _GRADE.c.score_given != score["score_given"],
            _GRADE.c.score_maximum != score["score_maximum"],
        )
        result = conn.execute(
            update(_GRADE).where(where, changed).values(**score, version=_GRADE.c.version + 1)
        )
        return _rows(result) == 1
    return True


def enqueue_change(session: Session, exam_id: int, now: datetime) -> bool:
    """:func:`enqueue_score` in a transaction of its own (for a score change announced after
    its commit, ``api.services.grade_events``)."""
    with writing(session):
        written = enqueue_score(session, exam_id, now)
        session.commit()
    return written


@dataclass(frozen=True)
class GradeJob:
    """A score to deliver, with where to."""

    id: int
    version: int
    platform_id: int
    lineitem_url: str
    sub: str
    score_given: float
    score_maximum: float
    scored_at: datetime
    attempts: int


_JOB_COLUMNS = tuple(_GRADE.c[f] for f in GradeJob.__dataclass_fields__)


_DUE = (
    select(*_JOB_COLUMNS)
    .where(
        _GRADE.c.state == "pending",
        _GRADE.c.next_try_at <= bindparam("now"),
        _GRADE.c.leased_until.is_(None) | (_GRADE.c.leased_until <= bindparam("now")),
    )
    .order_by(_GRADE.c.next_try_at)
    .limit(bindparam("limit"))
)


def claim_due(session: Session, now: datetime, lease: timedelta, limit: int) -> list[GradeJob]:
    """Lease up to ``limit`` due scores for delivery; a row leased by another worker (or
    replica) is skipped until its lease runs out. An empty outbox costs one indexed read,
    no write."""
    params = {"now": now, "limit": limit}
    if session.connection().execute(_DUE, params).first() is None:
        session.commit()
        return []
    session.commit()
    with writing(session):
        conn = session.connection()
        jobs = []
        for row in conn.execute(_DUE, params).fetchall():
            leased = conn.execute(
                update(_GRADE)
                .where(
                    _GRADE.c.id == row.id,
                    _GRADE.c.version == row.version,
                    _GRADE.c.leased_until.is_(None) | (_GRADE.c.leased_until <= now),
                )
                .values(leased_until=now + lease)
            )
            if _rows(leased) == 1:
                jobs.append(from_row(GradeJob, row))
        session.commit()
    return jobs


def grade_sent(session: Session, job_id: int, version: int, now: datetime) -> bool:
    """The platform accepted ``version`` of the score: sent, unless it changed meanwhile
    (then the newer score stays pending). True when marked sent."""
    with writing(session):
        conn = session.connection()
        done = conn.execute(
            update(_GRADE)
            .where(_GRADE.c.id == job_id, _GRADE.c.version == version)
            .values(state="sent", sent_at=now, leased_until=None, last_error=None)
        )
        sent = _rows(done) == 1
        if not sent:
            conn.execute(update(_GRADE).where(_GRADE.c.id == job_id).values(leased_until=None))
        session.commit()
    return sent


def grade_failed(
    session: Session,
    job_id: int,
    version: int,
    error: str,
    next_try_at: datetime,
    refused: bool = False,
) -> None:
    """Delivery failed: try again at ``next_try_at`` (a newer score goes at once instead).
    ``refused``: the platform refused this score for good (its line item is gone, it holds
    a newer grade): the row is ``refused``, tried again only when the score changes or an
    instructor asks (:func:`retry_refused`)."""
    with writing(session):
        conn = session.connection()
        values: dict[str, Any] = {"attempts": _GRADE.c.attempts + 1, "last_error": error[:500],
                                  "next_try_at": next_try_at}  # fmt: skip
        if refused:
            values["state"] = "refused"
        conn.execute(
            update(_GRADE)
            .where(_GRADE.c.id == job_id, _GRADE.c.version == version)
            .values(**values)
        )
        conn.execute(update(_GRADE).where(_GRADE.c.id == job_id).values(leased_until=None))
        session.commit()


def retry_refused(session: Session, course_id: int, actor_id: int, now: datetime) -> int:
    """Send the course's refused grades again (instructors only: once the LMS's side is
    fixed). Returns how many went back to pending."""
    with writing(session):
        course_role(session, course_id, actor_id, instructor=True)
        exams = (
            select(_EXAM.c.id)
            .join(_ASSESSMENT, _ASSESSMENT.c.id == _EXAM.c.assessment_id)
            .where(_ASSESSMENT.c.course_id == course_id)
        )
        result = session.connection().execute(
            update(_GRADE)
            .where(_GRADE.c.state == "refused", _GRADE.c.exam_id.in_(exams))
            # Stamped now: the instructor's resend is the newest word on the grade (an LMS
            # refuses a score older than the one it holds).
            .values(
                state="pending",
                next_try_at=now,
                scored_at=now,
                attempts=0,
                version=_GRADE.c.version + 1,
            )  # fmt: skip
        )
        session.commit()
    return _rows(result)


@dataclass(frozen=True)
class Passback:
    """Where one student's grade for one assessment stands with the LMS."""

    state: str  # pending, sent, refused
    attempts: int
    last_error: str | None
    sent_at: datetime | None
    score_given: float


def passback_status(
    session: Session, course_id: int, actor_id: int | None = None
) -> dict[tuple[int, int], Passback]:
    """Each (student, assessment) of the course whose grade goes to an LMS (when
    ``actor_id`` is given, for the course's instructors only)."""
    if actor_id is not None:
        course_role(session, course_id, actor_id, instructor=True)
    query = (
        select(
            _GRADE.c.user_id,
            _EXAM.c.assessment_id,
            _GRADE.c.state,
            _GRADE.c.attempts,
            _GRADE.c.last_error,
            _GRADE.c.sent_at,
            _GRADE.c.score_given,
        )  # fmt: skip
        .join(_EXAM, _EXAM.c.id == _GRADE.c.exam_id)
        .join(_ASSESSMENT, _ASSESSMENT.c.id == _EXAM.c.assessment_id)
        .where(_ASSESSMENT.c.course_id == course_id)
    )
    out = {
        (r.user_id, r.assessment_id): Passback(
            r.state, r.attempts, r.last_error, r.sent_at, r.score_given
        )
        for r in session.connection().execute(query)
    }
    session.commit()
    return out


# --- roster -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class RosterSource:
    """Where a course's roster comes from: its LMS context's memberships URL."""

    platform_id: int
    issuer: str
    memberships_url: str


def roster_source(session: Session, course_id: int, actor_id: int) -> RosterSource:
    """The memberships URL of the course's LMS context (instructors only)."""
    course_role(session, course_id, actor_id, instructor=True)
    query = (
        select(_CONTEXT.c.platform_id, _CONTEXT.c.issuer, _CONTEXT.c.memberships_url)
        .where(_CONTEXT.c.course_id == course_id, _CONTEXT.c.memberships_url.is_not(None))
        .order_by(_CONTEXT.c.id.desc())
        .limit(1)
    )
    row = session.connection().execute(query).first()
    session.commit()
    if row is None:
        raise Conflict(
            "this course has no roster service: it is not linked to an LMS course, or no "
            "launch offered Names and Role Provisioning"
        )
    return from_row(RosterSource, row)


def sync_members(
    session: Session,
    course_id: int,
    actor_id: int,
    issuer: str,
    members: list[tuple[str, str, str]],
    now: datetime,
) -> dict[str, int]:
    """Make every (sub, name, role) of the LMS roster a member of the course: users by
    (issuer, sub), created when new. Returns how many were added and already members."""
    with writing(session):
        course_role(session, course_id, actor_id, instructor=True)
        conn = session.connection()
        query = select(_MEMBER.c.user_id).where(_MEMBER.c.course_id == course_id)
        before = set(conn.execute(query).scalars())
        added = 0
        for sub, name, role in members:
            user_id = _user_for(session, issuer, sub, name, now)
            _member(session, course_id, user_id, role, now)
            added += user_id not in before
        session.commit()
    return {"members": len(members), "added": added, "existing": len(members) - added}


def new_secret() -> tuple[str, str]:
    """A fresh random secret (state, code) and the SHA-256 it is stored as."""
    value = secrets.token_urlsafe(32)
    return value, hash_token(value)
