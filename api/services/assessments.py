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
from typing import TYPE_CHECKING, Any, cast

from ..db import Database, utcnow
from ..refusals import PracticePaused
from ..store import Conflict, Gone
from ..store.courses import (
    AccommodationRecord,
    AssessmentRecord,
    GradeRow,
    ItemRow,
    open_assessment_families,
)
from ..store.exams import PlannedQuestion
from .questions import families, family_of, public_question, variant

if TYPE_CHECKING:
    from grader.exports import ExportFormat

__all__ = [
    "class_positions",
    "student_questions",
    "export_questions",
    "export_file",
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


def export_file(assessment: AssessmentRecord, fmt: ExportFormat, key: bool = True) -> str:
    """The LMS copy (``export_questions``) written in an export format, with its key or
    (``key=False``, keyless formats only) as a paper. CPU work: off the loop."""
    from grader.exports import ExportItem, Paper

    items = [
        ExportItem(p.position + 1, p.position, variant(p.family, p.seed, p.difficulty))
        for p in export_questions(assessment)
    ]
    meta = {"assessment_id": assessment.id, "request": assessment.request}
    return fmt.write(Paper(assessment.title, items, key, meta))


def preview(assessment: AssessmentRecord) -> list[dict[str, Any]]:
    """The assessment as a student sees it, with its key, on variants no student is given
    (drawn for the label "preview", which is never a student id). CPU work: off the loop."""
    from grader.exports import jsonable as _jsonable

    from .exams import hints_of_copy

    plan = _variants(assessment, "preview")
    copy = [variant(p.family, p.seed, p.difficulty) for p in plan]
    hints = hints_of_copy(copy)  # as a copy shows them: none stating another position's answer
    out = []
    for p, q in zip(plan, copy, strict=True):
        expected, display = q.expected()
        shown = public_question(cast(Any, _Unstored(p.position)), q)
        out.append({
            "position": p.position, "family": q.family, "topic": q.topic,
            "difficulty": q.difficulty, "prompt": q.prompt, "rules": q.rules,
            "params": shown["params"],
            "answer": shown["answer"], "conventions": shown["conventions"],
            "hints": list(hints.of(q)), "expected": _jsonable(expected),
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
    "auto_submitted",
    "extra_minutes",
    "own_closes_at",
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
        "auto_submitted": s.auto_submitted if s.submitted_at is not None else None,
        "extra_minutes": row.extra_minutes,
        "own_closes_at": row.closes_at,
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


# Below this many students a correlation (discrimination) or a top-vs-bottom 27 % contrast
# swings on one student: 30 is the usual floor in item-analysis guides (Moodle's and
# PrairieLearn's statistics give none; the item is marked rather than hidden).
MIN_N_DISCRIMINATION = 30
MAX_LEVELS = 6  # a parameter broken down only when the class saw at most this many values
# Derived yes/no axes a family's parameters support: "with and without groups", etc.
DERIVED_AXES = {"groups": ("grouped", 1), "dilation": ("dilated", 1), "stride": ("strided", 1)}


def _by_parameter(rows: list[tuple[dict[str, Any], float]]) -> list[dict[str, Any]]:
    """Facility of one item broken down by the parameters of the variants students got
    (raw values, and derived yes/no axes such as grouped = groups > 1), for each parameter
    that took between 2 and ``MAX_LEVELS`` values in the class."""
    axes: dict[str, dict[Any, list[float]]] = {}
    for params, score in rows:
        values: dict[str, Any] = {}
        for key, value in params.items():
            if isinstance(value, list | tuple) and all(isinstance(v, int) for v in value):
                values[key] = tuple(value)  # e.g. a kernel of (3, 5)
            elif isinstance(value, bool | int | str):
                values[key] = value
                if key in DERIVED_AXES and isinstance(value, int) and not isinstance(value, bool):
                    name, base = DERIVED_AXES[key]
                    values[name] = value > base
        for key, value in values.items():
            axes.setdefault(key, {}).setdefault(value, []).append(score)
    out = []
    for key, levels in axes.items():
        if not 2 <= len(levels) <= MAX_LEVELS:
            continue
        out.append({
            "parameter": key,
            "levels": [
                {"value": list(v) if isinstance(v, tuple) else v, "n": len(xs),
                 "facility_percent": round(100 * sum(xs) / len(xs), 2)}  # fmt: skip
                for v, xs in sorted(levels.items(), key=lambda kv: str(kv[0]))
            ],
        })  # fmt: skip
    return out


def item_stats(assessment: AssessmentRecord, rows: list[ItemRow]) -> dict[str, Any]:
    """Item statistics of the submitted copies (instructors' overrides count), with the
    method named, each item marked when its n is too small for a discrimination to mean
    anything, and its facility broken down by the variants' parameters."""
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
    by_position: dict[int, list[tuple[dict[str, Any], float]]] = {}
    for r in rows:
        try:
            params = dict(variant(r.family, r.seed, r.difficulty).params)
        except Gone:  # a retired family's variant cannot be regenerated
            params = {}
        by_position.setdefault(r.position, []).append((params, r.score or 0.0))
    items = []
    for st in stats:
        small = st.n < MIN_N_DISCRIMINATION
        note = (
            f"n = {st.n}: below {MIN_N_DISCRIMINATION} students the discrimination and the "
            "upper–lower index swing on one student; read them as a hint, not a verdict"
            if small else None
        )  # fmt: skip
        items.append(
            asdict(st)
            | {"top_mistakes": [{"code": c, "count": n} for c, n in st.top_mistakes]}
            | {
                "sample_too_small": small,
                "sample_note": note,
                "by_parameter": _by_parameter(by_position.get(st.position, [])),
            }  # fmt: skip
        )
    return {
        "assessment_id": assessment.id,
        "submitted": len({r.user_id for r in rows}),
        "discrimination_method": DISCRIMINATION_METHOD,
        "upper_lower_method": "mean item score of the top 27 % by total minus the bottom 27 %",
        "min_n_for_discrimination": MIN_N_DISCRIMINATION,
        "facility_by_parameter_method": (
            "facility (mean item score, %) per value of each variant parameter that took 2 to "
            f"{MAX_LEVELS} values in the class, and derived yes/no axes (grouped: groups > 1, "
            "dilated: dilation > 1, strided: stride > 1)"
        ),
        "items": items,
    }


async def closed_families(db: Database, user_id: int) -> set[str]:
    """The families closed-book for the user now: the open-copy rule
    (``api.store.courses.open_assessment_families``), the one every route that returns
    truth-bearing data asks."""
    return await db.run(open_assessment_families, user_id, utcnow())


async def refuse_paused(db: Database, user_id: int, used: set[str]) -> None:
    """409 when a request would use a family of an assessment open for the user (started
    or not): its truth would stand in for theirs (see ``api.services.assessments``)."""
    paused = used & await closed_families(db, user_id)
    if paused:
        names = ", ".join(sorted(paused))
        raise PracticePaused(
            f"practice of {names} is paused until you submit the assessment using it"
        )
