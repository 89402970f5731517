"""Exams for the HTTP layer: what a taker sees, scoring a submission and exports. No HTTP
here; the routers call these (off the event loop: variants may need generating).

What an exam shows before submission is the questions without truth. A copy of a course
assessment also hides its seeds, and its answer key cannot be exported until submitted.
"""

from __future__ import annotations

from typing import Any

from .db import utcnow
from .questions import grade_record, public_question, variant
from .schemas import (
    AnswerSpecPublic,
    ExamPublic,
    ExamResult,
    QuestionPublic,
    QuestionResult,
    TopicScore,
)
from .store import Forbidden, Gone
from .store.exams import ExamRecord, Submission
from .store.questions import QuestionRecord

RETIRED = "This question's family was retired when the question families were reorganised."

__all__ = ["exam_public", "score_submission", "export_text", "EXPORT_TYPES", "KEYLESS"]


def _question(instance: QuestionRecord, hide_seed: bool) -> QuestionPublic:
    try:
        question = variant(instance.family, instance.seed, instance.difficulty)
    except Gone:  # an old exam's question of a family since retired: say so, show the rest
        return QuestionPublic(id=instance.id, family=instance.family, topic="", seed=None,
                              difficulty=instance.difficulty, prompt=RETIRED, params={},
                              answer=AnswerSpecPublic(kind="retired"), conventions=[])  # fmt: skip
    shown = public_question(instance, question)
    if hide_seed:
        shown["seed"] = None
    return QuestionPublic.model_validate(shown)


def exam_public(exam: ExamRecord, instances: list[QuestionRecord]) -> ExamPublic:
    """The exam as its taker sees it; the result (truth, solutions) once submitted."""
    req, hide = exam.request, exam.assessment_id is not None
    return ExamPublic(
        id=exam.id,
        assessment_id=exam.assessment_id,
        seed=None if hide else exam.seed,
        count=len(instances),
        topics=req.get("topics"),
        families=req.get("families"),
        difficulty=req.get("difficulty"),
        time_limit_min=exam.time_limit_min,
        created_at=exam.created_at,
        deadline=exam.deadline,
        submitted=exam.submitted_at is not None,
        hints_allowed=bool(exam.allow_hints) and exam.submitted_at is None,
        questions=[_question(i, hide) for i in instances],
        result=ExamResult.model_validate(exam.result) if exam.result else None,
    )


def score_submission(
    exam: ExamRecord, instances: list[QuestionRecord], answers: dict[str, str]
) -> tuple[ExamResult, Submission]:
    """Grade every answer into the result shown and the submission stored."""
    from grader.scoring import ExamItem, score_exam

    items = [
        ExamItem(i.id, i.position, variant(i.family, i.seed, i.difficulty), i.hints_used)
        for i in instances
    ]
    scored = score_exam(items, answers)
    now = utcnow()
    late = exam.deadline is not None and now > exam.deadline
    result = ExamResult(
        score=scored.score,
        max_score=scored.max_score,
        percent=scored.percent,
        late=late,
        submitted_at=now,
        by_topic={k: TopicScore(**v) for k, v in scored.by_topic().items()},
        per_question=[QuestionResult(**item.to_dict()) for item in scored.items],
    )
    grades = [
        (s.item.question_id, None if s.grade is None else grade_record(s.grade, s.answer or ""))
        for s in scored.items
    ]
    stored = Submission(now, late, result.score, result.max_score,
                        result.model_dump(mode="json"), grades)  # fmt: skip
    return result, stored


EXPORT_TYPES = {
    "moodle": ("application/xml", "xml"),
    "gift": ("text/plain; charset=utf-8", "gift.txt"),
    "markdown": ("text/markdown; charset=utf-8", "md"),
    "json": ("application/json", "json"),
}
KEYLESS = {"markdown", "json"}  # formats that can leave the answers out (part=exam)


def check_export(exam: ExamRecord, format: str, part: str) -> None:
    """Refuse what cannot be exported: a key for an unsubmitted copy of an assessment, or
    a keyless Moodle/GIFT file (those formats carry the answers by design)."""
    if part == "exam" and format not in KEYLESS:
        raise ValueError(f"{format} files always carry the answers; use part=key")
    if part == "key" and exam.assessment_id is not None and exam.submitted_at is None:
        raise Forbidden("the answer key of an assessment is available once you submit it")


def export_text(title: str, items: list[Any], format: str, key: bool, meta: dict) -> str:
    """The exam in an export format; ``items`` are ``grader.exports.ExportItem``s."""
    from grader.exports import to_gift, to_json, to_markdown, to_moodle_xml

    if format == "moodle":
        return to_moodle_xml(title, items)
    if format == "gift":
        return to_gift(title, items)
    if format == "markdown":
        return to_markdown(title, items, key=key)
    return to_json(title, items, meta, key=key)


def export_items(instances: list[QuestionRecord]) -> list[Any]:
    """The exam's questions as export items (variants generated here)."""
    from grader.exports import ExportItem

    return [
        ExportItem(i.id, i.position, variant(i.family, i.seed, i.difficulty)) for i in instances
    ]
