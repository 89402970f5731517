"""Generated questions for the HTTP layer: families, variants, grading and its records.

``grader`` (and through it torch) is imported on first use, so start-up stays fast. Variants
are cached in memory by (family, seed, difficulty): they are immutable and deterministic.
"""

from __future__ import annotations

import secrets
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from fastapi import HTTPException
from sqlmodel import Session

from .db import utcnow
from .study import QUESTION_PREFIX
from .tables import QuestionAttempt, QuestionInstance

if TYPE_CHECKING:
    from grader.question import Family, Question
    from grader.types import Grade

__all__ = [
    "families",
    "family_or_404",
    "variant",
    "public_question",
    "grade_and_record",
    "random_seed",
    "grade_dict",
    "rating_for",
    "QUESTION_PREFIX",
]


def families() -> dict[str, Family]:
    """Every registered question family by id."""
    from grader.registry import FAMILIES

    return FAMILIES


def family_or_404(family_id: str) -> Family:
    """The family, or a 404 that lists the valid ids."""
    fams = families()
    if family_id not in fams:
        raise HTTPException(404, f"unknown family '{family_id}'; valid: {', '.join(sorted(fams))}")
    return fams[family_id]


@lru_cache(maxsize=4096)
def variant(family_id: str, seed: int, difficulty: int) -> Question:
    """The question for (family, seed, difficulty); cached, as it never changes."""
    return families()[family_id].generate(seed, difficulty)


def random_seed() -> int:
    """A fresh seed for a new variant."""
    return secrets.randbelow(2**31)


def _spec_public(spec: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"kind": spec.kind}
    if spec.kind == "number":
        out |= {"unit": spec.unit, "dimension": spec.dimension}
    if spec.choices is not None:
        out["choices"] = list(spec.choices)
    if spec.parts is not None:
        out["parts"] = {name: _spec_public(s) for name, s in spec.parts}
    if spec.kind == "shape":
        out["batch"] = spec.batch
    return out


def public_question(instance: QuestionInstance, question: Question) -> dict[str, Any]:
    """A question as shown before grading: everything but the truth and the solution."""
    return {
        "id": instance.id,
        "family": question.family,
        "topic": question.topic,
        "seed": question.seed,
        "difficulty": question.difficulty,
        "prompt": question.prompt,
        "params": dict(question.params),
        "answer": _spec_public(question.answer),
        "conventions": list(question.conventions),
    }


def grade_dict(grade: Grade, question: Question) -> dict[str, Any]:
    """A grade as returned over HTTP, with the worked solution."""
    d = grade.to_dict()
    d["solution"] = question.solution
    return d


def rating_for(grade: Grade, elapsed_ms: int, expected_seconds: float) -> str | None:
    """The FSRS rating an answer earns: invalid → none, incorrect → again, partial → hard,
    correct → good, or hard when slower than the family's expected time."""
    if grade.status == "invalid":
        return None
    if grade.status == "incorrect":
        return "again"
    if grade.status == "partial" or elapsed_ms > expected_seconds * 1000:
        return "hard"
    return "good"


def grade_and_record(
    session: Session, instance: QuestionInstance, question: Question, answer: str
) -> Grade:
    """Grade ``answer``; unless unreadable, store the attempt and the instance's result.

    The caller commits (one transaction with whatever else the answer changes).
    """
    grade = question.grade(answer)
    if grade.status == "invalid":
        return grade
    assert instance.id is not None
    instance.attempts += 1
    instance.status, instance.score, instance.graded_at = grade.status, grade.score, utcnow()
    session.add(instance)
    session.add(
        QuestionAttempt(
            question_id=instance.id,
            user_id=instance.user_id,
            answer=answer[:1000],
            status=grade.status,
            score=grade.score,
            diagnosis=[d.code for d in grade.diagnosis],
        )
    )
    return grade
