"""Generated questions for the HTTP layer: families, variants, grading and its records.

``grader`` (and through it torch) is imported on first use, so start-up stays fast. Variants
are cached in memory by (family, seed, difficulty): they are immutable and deterministic.
"""

from __future__ import annotations

import secrets
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from fastapi import HTTPException
from sqlalchemy import Table, bindparam, insert, update
from sqlalchemy import select as core_select
from sqlalchemy.engine import CursorResult
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
    "cached_variant",
    "generation_is_warm",
    "mark_generation_warm",
    "public_question",
    "grade_and_record",
    "PendingQuestion",
    "pending_question",
    "still_pending",
    "add_question",
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


class _VariantCache:
    """Recently used variants by (family, seed, difficulty): they never change.

    Unlike ``functools.lru_cache`` it can be asked without computing, so async handlers
    take a cached variant on the event loop and send only real generation to a thread.
    """

    def __init__(self, size: int) -> None:
        self._items: OrderedDict[tuple[str, int, int], Question] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def get(self, key: tuple[str, int, int]) -> Question | None:
        """The cached variant, or None."""
        with self._lock:
            question = self._items.get(key)
            if question is not None:
                self._items.move_to_end(key)
            return question

    def put(self, key: tuple[str, int, int], question: Question) -> None:
        """Remember a variant, forgetting the least recently used beyond the size."""
        with self._lock:
            self._items[key] = question
            self._items.move_to_end(key)
            while len(self._items) > self._size:
                self._items.popitem(last=False)


_VARIANTS = _VariantCache(4096)


_WARM = threading.Event()


def mark_generation_warm() -> None:
    """Note that every family has paid its first-use cost (the background warm-up is done)."""
    _WARM.set()


def generation_is_warm() -> bool:
    """Whether a new variant now costs about a millisecond rather than torch's first use."""
    return _WARM.is_set()


def cached_variant(family_id: str, seed: int, difficulty: int) -> Question | None:
    """The variant if it is cached, without generating it."""
    return _VARIANTS.get((family_id, seed, difficulty))


def variant(family_id: str, seed: int, difficulty: int) -> Question:
    """The question for (family, seed, difficulty); cached, as it never changes."""
    key = (family_id, seed, difficulty)
    question = _VARIANTS.get(key)
    if question is None:
        question = families()[family_id].generate(seed, difficulty)
        _VARIANTS.put(key, question)
    return question


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


def public_question(
    instance: QuestionInstance | PendingQuestion, question: Question
) -> dict[str, Any]:
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


# Question instances are read and written through SQLAlchemy Core with statements built
# once, like the study hot path in api.study (a study session serves them between cards).
_QI: Table = QuestionInstance.__table__  # type: ignore[attr-defined]
_ATTEMPT: Table = QuestionAttempt.__table__  # type: ignore[attr-defined]
_PENDING = (
    core_select(_QI.c.id, _QI.c.user_id, _QI.c.family, _QI.c.seed, _QI.c.difficulty)
    .where(
        _QI.c.session_id == bindparam("session_id"),
        _QI.c.family == bindparam("family"),
        _QI.c.graded_at.is_(None),
    )
    .order_by(_QI.c.id.desc())
    .limit(1)
)
_STILL_PENDING = core_select(_QI.c.id).where(
    _QI.c.id == bindparam("question_id"), _QI.c.graded_at.is_(None)
)
_INSERT_QUESTION = insert(_QI)
_RECORD_GRADE = (
    update(_QI)
    .where(_QI.c.id == bindparam("question_id"))
    .values(
        attempts=_QI.c.attempts + 1,
        status=bindparam("status"),
        score=bindparam("score"),
        graded_at=bindparam("graded_at"),
    )
)
_INSERT_ATTEMPT = insert(_ATTEMPT)


@dataclass(frozen=True)
class PendingQuestion:
    """A question variant shown in a study session and not yet answered."""

    id: int
    user_id: int
    family: str
    seed: int
    difficulty: int


def pending_question(session: Session, session_id: int, family: str) -> PendingQuestion | None:
    """The newest unanswered variant of ``family`` in a study session, if any."""
    row = (
        session.connection().execute(_PENDING, {"session_id": session_id, "family": family}).first()
    )
    return None if row is None else PendingQuestion(*cast(Any, row))


def still_pending(session: Session, question_id: int) -> bool:
    """Whether the question is still unanswered (read again under the write lock)."""
    params = {"question_id": question_id}
    return session.connection().execute(_STILL_PENDING, params).first() is not None


def add_question(
    session: Session, *, user_id: int, session_id: int, family: str, seed: int, difficulty: int
) -> PendingQuestion:
    """Store a new variant shown in a study session; the caller commits."""
    values = {
        "user_id": user_id,
        "family": family,
        "seed": seed,
        "difficulty": difficulty,
        "session_id": session_id,
        "position": 0,
        "attempts": 0,
        "created_at": utcnow(),
    }
    result = cast(CursorResult, session.connection().execute(_INSERT_QUESTION, values))
    key = result.inserted_primary_key
    assert key is not None
    return PendingQuestion(int(key[0]), user_id, family, seed, difficulty)


def grade_and_record(
    session: Session, question_id: int, user_id: int, question: Question, answer: str
) -> Grade:
    """Grade ``answer``; unless unreadable, store the attempt and the instance's result.

    The caller commits (one transaction with whatever else the answer changes).
    """
    grade = question.grade(answer)
    if grade.status == "invalid":
        return grade
    now = utcnow()
    conn = session.connection()
    result = {"status": grade.status, "score": grade.score}
    conn.execute(_RECORD_GRADE, {"question_id": question_id, "graded_at": now, **result})
    attempt = {
        "question_id": question_id,
        "user_id": user_id,
        "answer": answer[:1000],
        "diagnosis": [d.code for d in grade.diagnosis],
        "created_at": now,
    }
    conn.execute(_INSERT_ATTEMPT, attempt | result)
    return grade
