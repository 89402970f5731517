"""The study rules, in one place and free of the database.

"Why did this card become hard?" is answered here: one function, :func:`review`, takes an
item's state, the answer given, the time and a :class:`StudyContext` (the user's scheduler
and every threshold) and returns the new state and the review's log row, like py-fsrs's
``review_card(card, rating, now) -> (card, log)``. Around it sit the other rules of a
study session: which rating a graded question earns (:func:`rating_for`), whether a new
item may be shown (:func:`new_allowed`), how hard a family's next variant is
(:func:`question_difficulty`) and when a card becomes a leech (:func:`is_leech_lapse`).

The store (``api.store.study``) keeps what needs the database: it reads and locks the
state row, calls these functions, and writes what they return in the answer's transaction.
Everything here is tested without a database (tests/test_study_rules.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from .scheduler import FSRS, RATINGS, Outcome

if TYPE_CHECKING:
    from fsrs import Card

    from grader.types import Grade

__all__ = [
    "DEFAULT_NEW_PER_DAY",
    "LEECH_LAPSES",
    "LEECH_AGAIN_EVERY",
    "MATURE_STABILITY_DAYS",
    "REVIEW",
    "StudyContext",
    "ItemState",
    "Answer",
    "Reviewed",
    "review",
    "card_for_fsrs",
    "is_leech_lapse",
    "new_allowed",
    "question_difficulty",
    "rating_for",
]

# The thresholds, each once; a StudyContext carries them (tests and a future per-user
# setting change them there, not in the code that applies them).
# New items a UTC day: by default no cap beyond each session's own new_limit (as before
# settings existed); a learner who wants Anki's habit sets e.g. 20.
DEFAULT_NEW_PER_DAY = 1000
# Anki's default leech threshold: at 8 lapses a card is suspended and marked a leech, and
# again every 4 lapses after that (half the threshold) once the learner unsuspends it.
LEECH_LAPSES = 8
LEECH_AGAIN_EVERY = 4
# Anki calls a card mature once its interval reaches 21 days; a question family whose
# stability reaches it gets the hardest variants.
MATURE_STABILITY_DAYS = 21.0
REVIEW = 2  # fsrs's State.Review: a lapse is an "again" from this state
_DEFAULT_FSRS = FSRS()  # fsrs's default parameters and a desired retention of 0.9


@dataclass(frozen=True)
class StudyContext:
    """Everything a rule needs besides the item: the user's scheduler (their desired
    retention and FSRS parameters) and the thresholds."""

    fsrs: FSRS = _DEFAULT_FSRS
    new_per_day: int = DEFAULT_NEW_PER_DAY
    leech_lapses: int = LEECH_LAPSES
    leech_again_every: int = LEECH_AGAIN_EVERY
    mature_stability_days: float = MATURE_STABILITY_DAYS


@dataclass(frozen=True)
class ItemState:
    """A user's stored FSRS state of one item (a copy of its ``review_state`` row)."""

    id: int
    state: int
    step: int | None
    stability: float | None
    difficulty: float | None
    due: datetime
    last_review: datetime | None
    reps: int
    lapses: int


@dataclass(frozen=True)
class Answer:
    """What the learner did: a rating of a card, or the rating a question's grade earned."""

    kind: str  # "card" or "question"
    rating: str  # again | hard | good | easy
    elapsed_ms: int = 0


@dataclass(frozen=True)
class Reviewed:
    """The result of :func:`review`: the item's new state (the ``review_state`` columns),
    its log row (the ``review_log`` columns that do not name the user or session), the
    interval given, and whether this answer was a lapse that makes the card a leech."""

    state: dict[str, Any]
    log: dict[str, Any]
    outcome: Outcome
    lapsed: bool
    leech: bool


def card_for_fsrs(fsrs: FSRS, state: ItemState | None, now: datetime) -> Card:
    """Our stored state as an ``fsrs.Card`` (a fresh one for a never-reviewed item)."""
    if state is None:
        return fsrs.to_card(None, None, None, None, None, None, now)
    return fsrs.to_card(
        state.state, state.step, state.stability, state.difficulty, state.due,
        state.last_review, now,
    )  # fmt: skip


def is_leech_lapse(lapses: int, context: StudyContext | None = None) -> bool:
    """Whether reaching ``lapses`` lapses makes a card a leech (8, then every 4 more)."""
    ctx = context or _DEFAULT
    return lapses >= ctx.leech_lapses and (lapses - ctx.leech_lapses) % ctx.leech_again_every == 0


def review(
    state: ItemState | None, answer: Answer, now: datetime, context: StudyContext
) -> Reviewed:
    """Schedule one answer on the item's current state (None: never reviewed).

    A lapse is an "again" from the review state; it counts towards the leech threshold,
    which only cards have (a question's variants change at every review)."""
    fsrs = context.fsrs
    outcome = fsrs.review(card_for_fsrs(fsrs, state, now), RATINGS[answer.rating], now)
    lapsed = state is not None and answer.rating == "again" and state.state == REVIEW
    reps = 1 if state is None else state.reps + 1
    lapses = (0 if state is None else state.lapses) + int(lapsed)
    new_state = {
        "state": outcome.state,
        "step": outcome.step,
        "stability": outcome.stability,
        "difficulty": outcome.difficulty,
        "due": outcome.due,
        "last_review": now,
        "reps": reps,
        "lapses": lapses,
    }
    log = {
        "kind": answer.kind,
        "rating": int(RATINGS[answer.rating]),
        "elapsed_ms": answer.elapsed_ms,
        "reviewed_at": now,
        "state_before": None if state is None else state.state,
        "due_before": None if state is None else state.due,
        "state_after": outcome.state,
        "due_after": outcome.due,
        "stability_after": outcome.stability,
        "difficulty_after": outcome.difficulty,
    }
    leech = answer.kind == "card" and lapsed and is_leech_lapse(lapses, context)
    return Reviewed(new_state, log, outcome, lapsed, leech)


def new_allowed(new_seen: int, new_limit: int, new_today: int, context: StudyContext) -> bool:
    """Room for a new item: within the session's new limit and the user's new items a day
    (counted over every session of the UTC day)."""
    return new_seen < new_limit and new_today < context.new_per_day


def question_difficulty(state: ItemState | None, context: StudyContext | None = None) -> int:
    """Harder variants as a family matures: 1 while learning, 2 in review, 3 once its
    stability reaches the mature threshold (21 days)."""
    ctx = context or _DEFAULT
    if state is None or state.state != REVIEW:
        return 1
    return 3 if (state.stability or 0) >= ctx.mature_stability_days else 2


def rating_for(grade: Grade, elapsed_ms: int, expected_seconds: float) -> str | None:
    """The FSRS rating an answer earns: invalid → none, incorrect → again, partial → hard,
    correct → good, or hard when slower than the family's expected time or helped by hints."""
    if grade.status == "invalid":
        return None
    if grade.status == "incorrect":
        return "again"
    slow = elapsed_ms > expected_seconds * 1000
    if grade.status == "partial" or slow or grade.hints_used > 0:
        return "hard"
    return "good"


_DEFAULT = StudyContext()
