"""Hints and what they cost: one rule, a pure function the web layer calls.

Every question carries an ordered list of hints (``Question.hints``): the first step of the
solution without its result, then the formula, then the numbers to put in it. None contains
the answer. Each hint shown lowers the most the answer can score:

    max_score(n) = max(MIN_SCORE, 1 − HINT_PENALTY · n)        HINT_PENALTY = 1/4, MIN_SCORE = 1/4

so one hint caps the score at 0.75, two at 0.5, three or more at 0.25: a right answer is
always worth something, and Moodle's interactive mode charges about as much (a third per
try). The cap applies to the whole answer (a multi-part answer's mean), after grading; the
status still says whether the answer was right. An unreadable answer (``invalid``) scores 0
whatever the hints.
"""

from __future__ import annotations

from dataclasses import replace

from .types import Grade

__all__ = ["HINT_PENALTY", "MIN_SCORE", "max_score", "apply_hints"]

HINT_PENALTY = 0.25
MIN_SCORE = 0.25


def max_score(hints_used: int) -> float:
    """The most an answer can score after ``hints_used`` hints (1.0 with none)."""
    if hints_used < 0:
        raise ValueError("hints_used cannot be negative")
    return max(MIN_SCORE, 1.0 - HINT_PENALTY * hints_used)


def apply_hints(grade: Grade, hints_used: int) -> Grade:
    """``grade`` with its score capped for ``hints_used`` hints, and a note in the feedback."""
    if hints_used == 0:
        return grade
    cap = max_score(hints_used)
    note = f" ({hints_used} hint{'s' if hints_used != 1 else ''} used: at most {cap:g}.)"
    capped = grade.status != "invalid" and grade.score > cap
    return replace(
        grade,
        score=min(grade.score, cap),
        hints_used=hints_used,
        max_score=cap,
        feedback=grade.feedback + note if capped else grade.feedback,
    )
