"""Assessments for the HTTP layer: planning a class's copy, starting a student's, the
gradebook as CSV and item statistics. No HTTP here; the routers call these.

The truth of an open assessment must not reach a student: a student's variants come from
the assessment's secret (``grader.assessment``), their exam view carries no seed, a
key-bearing export of it is refused until they submit, and while it is open for them
(from ``opens_at``, started or not) the open-copy rule (``closed_families``) pauses practice
of its families and withholds every truth of them: hints, a course network's profile, past
attempts, other exams' results and keys.
"""

from __future__ import annotations

import csv
import io
import secrets
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any, cast

from .db import Database, utcnow
from .questions import families, family_of, public_question, variant
from .store import Conflict
from .store.courses import (
    AccommodationRecord,
    AssessmentRecord,
    GradeRow,
    ItemRow,
    open_assessment_families,
)
from .store.exams import PlannedQuestion

__all__ = [
    "class_positions",
    "student_questions",
    "export_questions",
    "check_window",
    "gradebook_csv",
    "GRADEBOOK_FIELDS",
    "item_stats",
    "refuse_paused",
    "closed_families",
    "new_secret",
    "with_planned_families",
]


def class_positions(request: dict[str, Any], secret: str):
    """The assessment's positions (family, difficulty) planned from its secret; raises
    ``grader.exam.ExamPlanError`` when nothing matches the request. The course's own
    networks (``course_families``, built first by ``ensure_families``) join the pool."""
    from grader.assessment import class_plan

    pool = dict(families())
    extra = list(request.get("course_families") or [])
    pool |= {f: family_of(f) for f in extra}
    family_ids, topics = request.get("families"), request.get("topics")
    if extra and family_ids is not None:
        family_ids = [*family_ids, *extra]
    if extra and topics:
        topics = [*topics, *{pool[f].topic for f in extra}]
    return class_plan(pool, secret, count=request["count"], topics=topics,
                      family_ids=family_ids, difficulty=request.get("difficulty"))  # fmt: skip


def new_secret() -> str:
    """A fresh assessment secret (the seeds of every copy derive from it)."""
    return secrets.token_hex(32)


def with_planned_families(request: dict[str, Any], secret: str) -> dict[str, Any]:
    """``request`` with the families its positions ask about (``planned_families``), stored
    with the assessment so the open-copy rule (``api.store.courses``) knows them before any
    student starts. Call it again whenever the request or the secret changes."""
    positions = class_positions(request, secret)
    return request | {"planned_families": sorted({p.family for p in positions})}


def _variants(assessment: AssessmentRecord, who: object) -> list[PlannedQuestion]:
    from grader.assessment import student_plan

    plan = student_plan(
        class_positions(assessment.request, assessment.secret), assessment.secret, who
    )
    for p in plan:  # generate (and cache) each variant before anything is stored
        variant(p.family, p.seed, p.difficulty)
    return [PlannedQuestion(p.position, p.family, p.seed, p.difficulty) for p in plan]


def student_questions(assessment: AssessmentRecord, user_id: int) -> list[PlannedQuestion]:
    """The student's own variants of the assessment (CPU work: call it off the loop)."""
    return _variants(assessment, user_id)


def export_questions(assessment: AssessmentRecord) -> list[PlannedQuestion]:
    """A copy of the assessment for an LMS: the class's families, with variants no student
    is given (drawn for the label "export", which is never a student id)."""
    return _variants(assessment, "export")


def preview(assessment: AssessmentRecord) -> list[dict[str, Any]]:
    """The assessment as a student sees it, with its key, on variants no student is given
    (drawn for the label "preview", which is never a student id). CPU work: off the loop."""
    from grader.exports import _jsonable

    out = []
    for p in _variants(assessment, "preview"):
        q = variant(p.family, p.seed, p.difficulty)
        expected, display = q.expected()
        shown = public_question(cast(Any, _Unstored(p.position)), q)
        out.append({
            "position": p.position, "family": q.family, "topic": q.topic,
            "difficulty": q.difficulty, "prompt": q.prompt, "params": shown["params"],
            "answer": shown["answer"], "conventions": shown["conventions"],
            "hints": list(q.hints), "expected": _jsonable(expected),
            "expected_display": display, "solution": q.solution,
        })  # fmt: skip
    return out


@dataclass(frozen=True)
class _Unstored:
    """A preview's question: shown like a stored one, never stored."""

    position: int
    id: int = 0
    hints_used: int = 0


def check_window(
    assessment: AssessmentRecord, now: datetime, acc: AccommodationRecord | None = None
) -> None:
    """Refuse a start before the assessment opens or after it closes (for this student:
    an accommodation's closing time replaces the assessment's)."""
    closes = acc.closes_at if acc is not None and acc.closes_at is not None else None
    closes = closes or assessment.closes_at
    if assessment.opens_at is not None and now < assessment.opens_at:
        raise Conflict(f"assessment {assessment.id} opens at {assessment.opens_at.isoformat()}")
    if closes is not None and now >= closes:
        raise Conflict(f"assessment {assessment.id} closed at {closes.isoformat()}")


GRADEBOOK_FIELDS = [
    "student_id",
    "name",
    "assessment_id",
    "assessment",
    "status",
    "score",
    "max_score",
    "percent",
    "started_at",
    "submitted_at",
    "late",
    "lms",  # the grade's passback to the LMS (LTI): pending, sent, or empty
]


def gradebook_row(row: GradeRow) -> dict[str, Any]:
    """One row of the gradebook (one student, one assessment)."""
    s = row.status
    percent = None
    if s.score is not None and s.max_score:
        percent = round(100 * s.score / s.max_score, 2)
    return {
        "student_id": row.student_id,
        "name": row.name,
        "assessment_id": row.assessment_id,
        "assessment": row.assessment,
        "status": s.status,
        "score": s.score,
        "max_score": s.max_score,
        "percent": percent,
        "started_at": s.started_at,
        "submitted_at": s.submitted_at,
        "late": s.late if s.submitted_at is not None else None,
        "lms": None,  # filled in by the gradebook for students who came through an LMS
    }


def _cell(value: Any) -> str:
    """A CSV cell a spreadsheet shows as written: no formula from a name starting with
    ``=``, ``+``, ``-`` or ``@`` (OWASP's CSV-injection advice), times in ISO 8601."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat(timespec="seconds")
    text = str(value)
    if text[:1] in ("=", "+", "-", "@", "\t", "\r") and not isinstance(value, int | float):
        return "'" + text
    return text


def gradebook_csv(rows: list[dict[str, Any]]) -> str:
    """The gradebook as CSV with a header; a byte-order mark so spreadsheets read UTF-8."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(GRADEBOOK_FIELDS)
    for row in rows:
        writer.writerow([_cell(row[f]) for f in GRADEBOOK_FIELDS])
    return "\ufeff" + buf.getvalue()


def item_stats(assessment: AssessmentRecord, rows: list[ItemRow]) -> dict[str, Any]:
    """Item statistics of the submitted copies, with the method named."""
    from grader.assessment import DISCRIMINATION_METHOD, ItemResult, item_statistics

    positions = {
        p.position: p.family for p in class_positions(assessment.request, assessment.secret)
    }
    results = [
        ItemResult(
            r.user_id,
            r.position,
            r.score or 0.0,
            r.status or "unanswered",
            tuple(r.diagnosis or ()),
        )  # fmt: skip
        for r in rows
    ]
    stats = item_statistics(positions, results)
    return {
        "assessment_id": assessment.id,
        "submitted": len({r.user_id for r in rows}),
        "discrimination_method": DISCRIMINATION_METHOD,
        "upper_lower_method": "mean item score of the top 27 % by total minus the bottom 27 %",
        "items": [
            asdict(s) | {"top_mistakes": [{"code": c, "count": n} for c, n in s.top_mistakes]}
            for s in stats
        ],
    }


async def closed_families(db: Database, user_id: int) -> set[str]:
    """The families closed-book for the user now: the open-copy rule
    (``api.store.courses.open_assessment_families``), the one every route that returns
    truth-bearing data asks."""
    return await db.run(open_assessment_families, user_id, utcnow())


async def refuse_paused(db: Database, user_id: int, used: set[str]) -> None:
    """409 when a request would use a family of an assessment open for the user (started
    or not): its truth would stand in for theirs (see ``api.assessments``)."""
    paused = used & await closed_families(db, user_id)
    if paused:
        names = ", ".join(sorted(paused))
        raise Conflict(f"practice of {names} is paused until you submit the assessment using it")
