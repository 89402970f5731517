"""Exams for the HTTP layer: what a taker sees, scoring a submission and exports. No HTTP
here; the routers call these (off the event loop: variants may need generating).

What an exam shows before submission is the questions without truth. A copy of a course
assessment also hides its seeds, and its answer key cannot be exported until submitted.

A copy of an assessment is submitted by the server once its deadline (and a short grace for
a submission in flight) has passed, with the answers saved as typed and marked as submitted
automatically: lazily, by :func:`settle` on any access to it, and by the sweep
(:func:`sweep`) the app runs in the background, so it holds without the page. The one
submission rule (a conditional update) makes it happen once, whoever gets there first.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from fastapi.concurrency import run_in_threadpool

from ..db import Database, utcnow
from ..refusals import AnswersWithheld
from ..schemas import (
    AnswerSpecPublic,
    ExamPublic,
    ExamResult,
    QuestionPublic,
    QuestionResult,
    TopicScore,
)
from ..store import Conflict, Forbidden, Gone
from ..store import exams as store
from ..store.exams import ExamRecord, ItemOverride, Regraded, Submission
from ..store.questions import QuestionRecord
from .grade_events import GradeEvents, ScoreChange
from .questions import family_of, grade_record, public_question, variant

if TYPE_CHECKING:
    from grader.exports import ExportFormat, ExportItem
    from grader.question import Question

RETIRED = "This question's family was retired when the question families were reorganised."
# A submission sent just before the deadline may arrive just after it: it is accepted (and
# flagged late) for this long before the server submits the saved answers itself.
GRACE = timedelta(seconds=60)
SWEEP_BATCH = 200  # overdue copies settled per sweep round

log = logging.getLogger("flopcards.exams")

__all__ = [
    "exam_public",
    "copy_hints",
    "check_withheld",
    "score_submission",
    "export_text",
    "GRACE",
    "overdue",
    "settle",
    "sweep",
    "hints_of_copy",
    "with_overrides",
    "score_change",
]


def _variant(instance: QuestionRecord) -> Question | None:
    try:
        return variant(instance.family, instance.seed, instance.difficulty)
    except Gone:  # an old exam's question of a family since retired
        return None


# Variants of an architecture-level family sampled for the answers a classmate's copy may
# hold: every variant asks about the same network (a course network's totals are the same for
# the whole class), so a hint must state none of them either.
CLASS_SEEDS = 12


def copy_hints(instances: list[QuestionRecord]) -> Any:
    """The check of an exam's hints against every truth of the exam (``grader.leaks``): a
    hint never states the answer of any position of the same copy, nor, for a family asking
    about one fixed network, of another variant of that position (a classmate's)."""
    return hints_of_copy([q for q in map(_variant, instances) if q is not None])


def hints_of_copy(copy: list[Question]) -> Any:
    """``copy_hints`` for a copy's questions as generated (an assessment's preview too)."""
    from grader.leaks import CopyHints

    fixed = {(q.family, q.difficulty) for q in copy if family_of(q.family).architecture_level}
    also = [variant(f, s, d) for f, d in sorted(fixed) for s in range(CLASS_SEEDS)]
    return CopyHints(copy, also)


def _question(
    instance: QuestionRecord, hide: bool, hints: Any, saved: str | None = None
) -> QuestionPublic:
    question = _variant(instance)
    if question is None:  # a family since retired: say so, show the rest
        return QuestionPublic(id=instance.id, family=instance.family, topic="", seed=None,
                              difficulty=instance.difficulty, prompt=RETIRED, params={},
                              answer=AnswerSpecPublic(kind="retired"), conventions=[])  # fmt: skip
    safe = hints.of(question)  # the hints the copy may show (see ``copy_hints``)
    shown = public_question(instance, question, safe)
    if hide:
        shown["seed"] = None
    shown["shown_hints"] = list(safe[: instance.hints_used])
    shown["saved_answer"] = saved
    return QuestionPublic.model_validate(shown)


def exam_public(exam: ExamRecord, instances: list[QuestionRecord]) -> ExamPublic:
    """The exam as its taker sees it, with the answers saved and the hints shown so far;
    the result (truth, solutions) once submitted."""
    req, hide = exam.request, exam.assessment_id is not None
    open_ = exam.submitted_at is None
    hints = copy_hints(instances)
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
        server_time=utcnow(),
        extra_minutes=exam.extra_minutes,
        submitted=not open_,
        auto_submitted=exam.auto_submitted,
        hints_allowed=bool(exam.allow_hints) and open_,
        questions=[
            _question(i, hide, hints, exam.saved.get(i.id) if open_ else None) for i in instances
        ],  # fmt: skip
        result=final_result(exam),
    )


def final_result(exam: ExamRecord) -> ExamResult | None:
    """The copy's result as its student sees it: overrides applied, with their comments."""
    if not exam.result:
        return None
    return ExamResult.model_validate(with_overrides(exam.result, exam.overrides))


def with_overrides(
    result: dict[str, Any], overrides: dict[int, ItemOverride], topics: dict[int, str] | None = None
) -> dict[str, Any]:
    """A stored (computed) result with instructors' overrides applied: each overridden item
    shows the override as its score, the grader's beside it and the comment; the totals
    follow. ``topics`` maps question ids to topics (default: each item's own)."""
    topics = topics or {}
    per_question = []
    for q in result["per_question"]:
        q = dict(q)
        computed = q["computed_score"] if q.get("computed_score") is not None else q["score"]
        o = overrides.get(q["question_id"])
        q["score"], q["computed_score"] = (computed, None) if o is None else (o.score, computed)
        q["comment"] = None if o is None else o.comment
        per_question.append(q)
    score = round(sum(q["score"] for q in per_question), 4)
    max_score = float(len(per_question))
    sums: dict[str, list[float]] = {}
    for q in per_question:
        t = sums.setdefault(topics.get(q["question_id"]) or q["topic"], [0.0, 0.0])
        t[0] += q["score"]
        t[1] += 1
    by_topic = {
        topic: {"score": round(s, 4), "max_score": m, "percent": round(100 * s / m, 2)}
        for topic, (s, m) in sorted(sums.items())
    }
    percent = round(100 * score / max_score, 2) if per_question else 0.0
    return result | {"score": score, "max_score": max_score, "percent": percent,
                     "by_topic": by_topic, "per_question": per_question}  # fmt: skip


def score_submission(
    exam: ExamRecord,
    instances: list[QuestionRecord],
    answers: dict[str, str],
    auto: bool = False,
    now: datetime | None = None,
) -> tuple[ExamResult, Submission]:
    """Grade every answer into the result shown and the submission stored. ``auto``: the
    server submits the saved answers at the deadline (not late: the student did not choose
    the time; unless an answer was saved after the deadline, in the grace)."""
    from grader.scoring import ExamItem, score_exam

    items = [
        ExamItem(i.id, i.position, variant(i.family, i.seed, i.difficulty), i.hints_used)
        for i in instances
    ]
    scored = score_exam(items, answers)
    now = now or utcnow()
    deadline = exam.deadline
    # Submitted by the student after the deadline, or by the server with an answer saved
    # after it (in the grace, which is there for a save in flight, not for more answering).
    changed = now if not auto else exam.last_saved_at
    late = deadline is not None and changed is not None and changed > deadline
    result = ExamResult(
        score=scored.score,
        max_score=scored.max_score,
        percent=scored.percent,
        late=late,
        submitted_at=now,
        by_topic={k: TopicScore(**v) for k, v in scored.by_topic().items()},
        per_question=[QuestionResult(**item.to_dict()) for item in scored.items],
        auto_submitted=auto,
    )
    grades = [
        (s.item.question_id, None if s.grade is None else grade_record(s.grade, s.answer or ""))
        for s in scored.items
    ]
    expect = dict(exam.saved) if auto else None
    stored = Submission(now, late, result.score, result.max_score,
                        result.model_dump(mode="json"), grades, auto, expect)  # fmt: skip
    return result, stored


def regrade_copy(
    exam: ExamRecord, instances: list[QuestionRecord], diagnoses: dict[int, list[str]]
) -> tuple[list[dict[str, Any]], list[Regraded], dict[str, Any]]:
    """A submitted copy graded again from scratch: each question's truth regenerated from
    its family, seed and level by the current code, each answer as submitted graded under
    the current rules (hints still cap it). The changes (old and new status, score and
    named mistakes), what the store applies, and the new computed result (submission time,
    late and automatic flags kept). CPU work: off the loop."""
    from grader.scoring import ExamItem, score_exam

    assert exam.result is not None and exam.submitted_at is not None
    answers = {str(q["question_id"]): q["answer"] for q in exam.result["per_question"]
               if q.get("answer") is not None}  # fmt: skip
    items = [
        ExamItem(i.id, i.position, variant(i.family, i.seed, i.difficulty), i.hints_used)
        for i in instances
    ]
    scored = score_exam(items, answers)
    result = ExamResult(
        score=scored.score,
        max_score=scored.max_score,
        percent=scored.percent,
        late=exam.late,
        submitted_at=exam.submitted_at,
        by_topic={k: TopicScore(**v) for k, v in scored.by_topic().items()},
        per_question=[QuestionResult(**item.to_dict()) for item in scored.items],
        auto_submitted=exam.auto_submitted,
    ).model_dump(mode="json")
    changes, regraded = [], []
    for item, inst in zip(scored.items, instances, strict=True):
        new = None if item.grade is None else grade_record(item.grade, item.answer or "")
        old_diagnosis = diagnoses.get(inst.id, [])
        new_diagnosis = [] if new is None else list(new.diagnosis)
        if (
            inst.status == item.status
            and abs((inst.score or 0.0) - item.score) < 1e-9
            and old_diagnosis == new_diagnosis
        ):
            continue
        regraded.append(Regraded(inst.id, inst.status, inst.score, old_diagnosis, new))
        override = exam.overrides.get(inst.id)
        changes.append({
            "question_id": inst.id, "position": inst.position, "family": inst.family,
            "answer": item.answer, "old_status": inst.status, "old_score": inst.score,
            "new_status": item.status, "new_score": item.score,
            "old_mistakes": old_diagnosis, "new_mistakes": new_diagnosis,
            "override_score": None if override is None else override.score,
        })  # fmt: skip
    return changes, regraded, result


def review(exam: ExamRecord, instances: list[QuestionRecord], history: list[Any]) -> dict[str, Any]:
    """A student's copy as its instructor reviews it: each item's prompt, the final (or,
    while open, saved) answer, its grade, named mistakes, hints used with their text,
    overrides beside the computed score, and the replaced grades."""
    final = final_result(exam)
    per = {q.question_id: q for q in final.per_question} if final else {}
    items = []
    for i in instances:
        try:
            question = variant(i.family, i.seed, i.difficulty)
            prompt, params, hints = question.prompt, dict(question.params), question.hints
            topic = question.topic
        except Gone:
            prompt, params, hints, topic = RETIRED, {}, (), ""
        done = per.get(i.id)
        o = exam.overrides.get(i.id)
        items.append({
            "position": i.position, "question_id": i.id, "family": i.family,
            "topic": topic,
            "difficulty": i.difficulty, "prompt": prompt, "params": params,
            "answer": done.answer if done else exam.saved.get(i.id),
            "status": done.status if done else None,
            "score": done.score if done else None,
            "computed_score": i.score,
            "override": None if o is None else {"score": o.score, "comment": o.comment,
                                                 "by": o.by, "at": o.at},
            "feedback": done.feedback if done else None,
            "mistakes": done.diagnosis if done else [],
            "expected_display": done.expected_display if done else None,
            "solution": done.solution if done else None,
            "hints_used": i.hints_used, "shown_hints": list(hints[: i.hints_used]),
        })  # fmt: skip
    return {
        "exam_id": exam.id,
        "student_id": exam.user_id,
        "status": "submitted" if exam.submitted_at else "in_progress",
        "started_at": exam.created_at,
        "submitted_at": exam.submitted_at,
        "auto_submitted": exam.auto_submitted,
        "late": exam.late if exam.submitted_at else None,
        "deadline": exam.deadline,
        "extra_minutes": exam.extra_minutes,
        "score": exam.score,
        "max_score": exam.max_score,
        "items": items,
        "history": [
            {
                "position": next((i.position for i in instances if i.id == h.question_id), None),
                "reason": h.reason,
                "status": h.status,
                "score": h.score,
                "override_score": h.override_score,
                "override_comment": h.override_comment,
                "mistakes": h.diagnosis,
                "replaced_by": h.replaced_by,
                "replaced_at": h.replaced_at,
            }
            for h in history
        ],  # fmt: skip
    }


def overdue(exam: ExamRecord, now: datetime) -> bool:
    """Whether the server submits this copy now: an open copy of an assessment past its
    deadline and the grace."""
    return (
        exam.assessment_id is not None
        and exam.submitted_at is None
        and exam.deadline is not None
        and now > exam.deadline + GRACE
    )


def score_change(exam: ExamRecord, reason: Any) -> ScoreChange | None:
    """The final-score announcement of a submitted copy of an assessment."""
    if exam.assessment_id is None or exam.submitted_at is None or exam.score is None:
        return None
    return ScoreChange(exam.id, exam.assessment_id, exam.user_id, exam.score,
                       exam.max_score or 0.0, exam.submitted_at, reason)  # fmt: skip


Loaded = tuple[ExamRecord, list[QuestionRecord]]


async def settle(db: Database, events: GradeEvents, loaded: Loaded) -> Loaded:
    """The copy as it stands now: submitted by the server first if it is overdue (with the
    saved answers; an answer saved meanwhile makes it grade again)."""
    from .course_networks import ensure_families

    exam, instances = loaded
    for _ in range(5):
        if not overdue(exam, utcnow()):
            return exam, instances
        await ensure_families(db, [i.family for i in instances])
        answers = {str(q): a for q, a in exam.saved.items()}
        _result, stored = await run_in_threadpool(score_submission, exam, instances, answers,
                                                  True)  # fmt: skip
        try:
            await db.run(store.submit_exam, exam.id, exam.user_id, stored)
            submitted = True
        except Conflict:  # submitted meanwhile by someone else, or answers saved meanwhile
            submitted = False
        exam, instances = await db.run(store.load_exam_by_id, exam.id)
        change = score_change(exam, "auto_submitted") if submitted else None
        if change is not None:
            await events.publish(db, [change])
    return exam, instances


async def sweep(
    db: Database,
    events: GradeEvents,
    assessment_id: int | None = None,
    course_id: int | None = None,
) -> int:
    """Submit every overdue copy (of one assessment, one course's, or all); how many."""
    done, now, last = 0, utcnow(), 0
    while True:
        ids = await db.run(store.open_copies, SWEEP_BATCH, assessment_id, last, course_id)
        for exam_id in ids:
            loaded = await db.run(store.load_exam_by_id, exam_id)
            if overdue(loaded[0], now):
                exam, _ = await settle(db, events, loaded)
                done += exam.submitted_at is not None
        if len(ids) < SWEEP_BATCH:
            return done
        last = ids[-1]


async def sweep_forever(db: Database, events: GradeEvents, every_s: float) -> None:
    """The app's background sweep: overdue copies are submitted without anyone asking."""
    while True:
        await asyncio.sleep(every_s)
        try:
            await sweep(db, events)
        except Exception:  # a database hiccup: the next round tries again
            log.exception("deadline sweep failed")


def check_export(exam: ExamRecord, part: str) -> None:
    """Refuse a key of an unsubmitted copy of an assessment (the student's own copy: the
    answers wait for the submission). Whether the format can leave the key out is the
    registry's (``api.exports.export_format``)."""
    if part == "key" and exam.assessment_id is not None and exam.submitted_at is None:
        raise Forbidden("the answer key of an assessment is available once you submit it")


def check_withheld(
    exam: ExamRecord, instances: list[QuestionRecord], closed: set[str], truths: bool
) -> None:
    """The open-copy rule on an exam's truths: Conflict when a response that carries them
    (``truths``: a submitted exam's result, an answer key) would state the truth of a family
    an assessment open for the student asks about (``closed``,
    ``api.services.assessments.closed_families``). A response without truths is never refused."""
    paused = closed & {i.family for i in instances} if truths else set()
    if paused:
        raise AnswersWithheld(
            f"exam {exam.id} asks about {', '.join(sorted(paused))}: its answers are withheld "
            "until you submit the assessment open for you that uses it"
        )


def export_text(
    fmt: ExportFormat, title: str, items: list[ExportItem], key: bool, meta: dict[str, Any]
) -> str:
    """The exam written in a registered export format (``grader.exports.FORMATS``), with
    its answer key or (``key=False``, keyless formats only) without. CPU work: off the loop."""
    from grader.exports import Paper

    return fmt.write(Paper(title, items, key, meta))


def export_items(instances: list[QuestionRecord]) -> list[ExportItem]:
    """The exam's questions as export items (variants generated here)."""
    from grader.exports import ExportItem

    return [
        ExportItem(i.id, i.position, variant(i.family, i.seed, i.difficulty)) for i in instances
    ]
