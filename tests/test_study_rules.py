"""The study rules (api/services/study_rules.py), without a database: the new state and log of an
answer, lapses and leeches, the new-item allowance, a family's difficulty by maturity and
the rating a grade earns."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from fsrs import Card, Rating, Scheduler

from api.services.scheduler import FSRS
from api.services.study_rules import (
    Answer,
    ItemState,
    StudyContext,
    is_leech_lapse,
    new_allowed,
    question_difficulty,
    rating_for,
    review,
)
from grader.types import Grade

NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
CONTEXT = StudyContext()
REVIEW, LEARNING, RELEARNING = 2, 1, 3


def _state(**fields: object) -> ItemState:
    base = ItemState(id=7, state=REVIEW, step=None, stability=30.0, difficulty=5.0,
                     due=NOW, last_review=NOW - timedelta(days=30), reps=10, lapses=0)  # fmt: skip
    return replace(base, **fields)  # type: ignore[arg-type]


def test_a_first_answer_is_fsrs_own_first_review_and_its_log() -> None:
    reviewed = review(None, Answer("card", "good", 4200), NOW, CONTEXT)
    card, _ = Scheduler(enable_fuzzing=False).review_card(
        Card(card_id=1, due=NOW), Rating.Good, review_datetime=NOW
    )
    assert reviewed.state == {
        "state": int(card.state), "step": card.step, "stability": card.stability,
        "difficulty": card.difficulty, "due": card.due, "last_review": NOW,
        "reps": 1, "lapses": 0,
    }  # fmt: skip
    assert reviewed.log == {
        "kind": "card", "rating": 3, "elapsed_ms": 4200, "reviewed_at": NOW,
        "state_before": None, "due_before": None, "state_after": int(card.state),
        "due_after": card.due, "stability_after": card.stability,
        "difficulty_after": card.difficulty,
    }  # fmt: skip
    assert reviewed.outcome.interval == timedelta(minutes=10)
    assert (reviewed.lapsed, reviewed.leech) == (False, False)


def test_again_in_review_is_a_lapse_and_the_eighth_makes_a_leech_then_every_fourth() -> None:
    leeches = []
    for before in range(0, 16):
        reviewed = review(_state(lapses=before), Answer("card", "again"), NOW, CONTEXT)
        assert reviewed.lapsed and reviewed.state["lapses"] == before + 1
        assert reviewed.state["reps"] == 11 and reviewed.log["state_before"] == REVIEW
        if reviewed.leech:
            leeches.append(before + 1)
    assert leeches == [8, 12, 16]
    assert [n for n in range(1, 30) if is_leech_lapse(n)] == [8, 12, 16, 20, 24, 28]


def test_only_a_card_in_review_lapses_and_only_cards_become_leeches() -> None:
    for state in (LEARNING, RELEARNING):
        reviewed = review(
            _state(state=state, step=0, lapses=7), Answer("card", "again"), NOW, CONTEXT
        )
        assert not reviewed.lapsed and reviewed.state["lapses"] == 7
    hard = review(_state(lapses=7), Answer("card", "hard"), NOW, CONTEXT)
    assert not hard.lapsed and not hard.leech
    question = review(_state(lapses=7), Answer("question", "again"), NOW, CONTEXT)
    assert question.lapsed and question.state["lapses"] == 8 and not question.leech


def test_the_thresholds_live_in_the_context() -> None:
    strict = StudyContext(leech_lapses=3, leech_again_every=2, new_per_day=20,
                          mature_stability_days=10)  # fmt: skip
    leeches = [n for n in range(1, 10) if is_leech_lapse(n, strict)]
    assert leeches == [3, 5, 7, 9]
    assert review(_state(lapses=2), Answer("card", "again"), NOW, strict).leech
    assert not review(_state(lapses=2), Answer("card", "again"), NOW, CONTEXT).leech
    assert new_allowed(0, 10, 19, strict) and not new_allowed(0, 10, 20, strict)
    assert question_difficulty(_state(stability=12.0), strict) == 3
    assert question_difficulty(_state(stability=12.0), CONTEXT) == 2


def test_the_users_scheduler_sets_the_interval() -> None:
    """A lower desired retention gives a longer interval to the same answer."""
    state = _state()
    usual = review(state, Answer("card", "good"), NOW, CONTEXT)
    relaxed = review(state, Answer("card", "good"), NOW, StudyContext(fsrs=FSRS(0.8)))
    assert relaxed.outcome.interval > usual.outcome.interval > timedelta(days=30)
    assert relaxed.log["due_after"] == NOW + relaxed.outcome.interval


def test_new_items_stop_at_the_session_limit_and_at_the_days_cap() -> None:
    assert new_allowed(new_seen=4, new_limit=5, new_today=0, context=CONTEXT)
    assert not new_allowed(new_seen=5, new_limit=5, new_today=0, context=CONTEXT)
    assert new_allowed(0, 5, 999, CONTEXT) and not new_allowed(0, 5, 1000, CONTEXT)


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        (None, 1),
        (_state(state=LEARNING), 1),
        (_state(state=RELEARNING, stability=40.0), 1),
        (_state(stability=20.9), 2),
        (_state(stability=None), 2),
        (_state(stability=21.0), 3),
    ],
)
def test_a_family_gets_harder_variants_as_it_matures(
    state: ItemState | None, expected: int
) -> None:
    assert question_difficulty(state) == expected


def _grade(status: str, hints_used: int = 0) -> Grade:
    return Grade(status=status, score=1.0 if status == "correct" else 0.0, expected=1,  # type: ignore[arg-type]
                 expected_display="1", feedback="", hints_used=hints_used)  # fmt: skip


def test_a_grade_earns_a_rating() -> None:
    assert rating_for(_grade("invalid"), 1000, 30) is None
    assert rating_for(_grade("incorrect"), 1000, 30) == "again"
    assert rating_for(_grade("partial"), 1000, 30) == "hard"
    assert rating_for(_grade("correct"), 30_000, 30) == "good"
    assert rating_for(_grade("correct"), 30_001, 30) == "hard"  # slower than expected
    assert rating_for(_grade("correct", hints_used=1), 1000, 30) == "hard"
