"""Scoring a submitted exam: each answer graded, totals overall and per topic.

Pure: the caller (the service) supplies the questions and the answers, decides lateness and
stores the result. An empty or missing answer is ``unanswered`` (0 points); an unreadable
one is graded ``invalid`` (0 points) — on an exam there is no second try.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .hints import apply_hints
from .question import Question
from .types import Grade, _jsonable

__all__ = ["ExamItem", "ScoredItem", "ExamScore", "score_exam"]


@dataclass(frozen=True)
class ExamItem:
    """One question of an exam: its stored id, its position and the variant."""

    question_id: int
    position: int
    question: Question
    hints_used: int = 0


@dataclass(frozen=True)
class ScoredItem:
    """How one question went; ``grade`` is None when it was not answered."""

    item: ExamItem
    answer: str | None
    grade: Grade | None

    @property
    def status(self) -> str:
        return "unanswered" if self.grade is None else self.grade.status

    @property
    def score(self) -> float:
        return 0.0 if self.grade is None else self.grade.score

    def to_dict(self) -> dict[str, Any]:
        """The per-question result shown after submission (truth and solution included)."""
        question = self.item.question
        expected, display = question.expected()
        grade = self.grade
        return {
            "question_id": self.item.question_id,
            "position": self.item.position,
            "family": question.family,
            "topic": question.topic,
            "answer": self.answer,
            "status": self.status,
            "score": self.score,
            "feedback": grade.feedback if grade else "No answer was given.",
            "expected": _jsonable(expected),
            "expected_display": display,
            "diagnosis": [d.to_dict() for d in grade.diagnosis] if grade else [],
            "solution": question.solution,
            "hints_used": self.item.hints_used,
            "cards": list(question.cards),
        }


@dataclass(frozen=True)
class ExamScore:
    """The totals of a submission and every question's result, in exam order."""

    items: tuple[ScoredItem, ...]

    @property
    def score(self) -> float:
        return round(sum(i.score for i in self.items), 4)

    @property
    def max_score(self) -> float:
        return float(len(self.items))

    @property
    def percent(self) -> float:
        return round(100 * self.score / self.max_score, 2) if self.items else 0.0

    def by_topic(self) -> dict[str, dict[str, float]]:
        """Score, maximum and percent per topic, topics in name order."""
        sums: dict[str, list[float]] = {}
        for item in self.items:
            t = sums.setdefault(item.item.question.topic, [0.0, 0.0])
            t[0] += item.score
            t[1] += 1
        return {
            topic: {"score": round(s, 4), "max_score": m, "percent": round(100 * s / m, 2)}
            for topic, (s, m) in sorted(sums.items())
        }


def score_exam(items: Sequence[ExamItem], answers: Mapping[str, str]) -> ExamScore:
    """Grade every question, its score capped for the hints shown (``grader.hints``);
    ``answers`` maps a question id (as text) to the answer."""
    scored = []
    for item in items:
        text = answers.get(str(item.question_id))
        grade = None
        if text is not None and text.strip():
            # Final: a multi-part answer's readable parts count though another is unreadable.
            grade = apply_hints(item.question.grade(text, final=True), item.hints_used)
        scored.append(ScoredItem(item, text, grade))
    return ExamScore(tuple(scored))
