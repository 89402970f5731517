"""FSRS scheduling: a thin wrapper over the ``fsrs`` package's Scheduler and Card.

The wrapper converts between our stored :class:`api.tables.ReviewState` rows and
``fsrs.Card`` objects and previews the interval each rating would give. Fuzzing is off so the
interval shown before an answer is exactly the one the answer produces.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from fsrs import Card, Rating, Scheduler, State

__all__ = ["RATINGS", "STATE_NAMES", "FSRS", "Outcome", "format_interval"]

RATINGS: dict[str, Rating] = {
    "again": Rating.Again,
    "hard": Rating.Hard,
    "good": Rating.Good,
    "easy": Rating.Easy,
}
STATE_NAMES: dict[int, str] = {
    int(State.Learning): "learning",
    int(State.Review): "review",
    int(State.Relearning): "relearning",
}


@dataclass(frozen=True)
class Outcome:
    """What one rating does to an item."""

    state: int
    step: int | None
    stability: float | None
    difficulty: float | None
    due: datetime
    last_review: datetime
    interval: timedelta


def format_interval(delta: timedelta) -> str:
    """Render an interval the way Anki's buttons do: 10m, 3h, 4d, 2.5mo, 1.1y."""
    seconds = max(0.0, delta.total_seconds())
    if seconds < 3600:
        return f"{max(1, round(seconds / 60))}m"
    if seconds < 86400:
        return f"{round(seconds / 3600)}h"
    days = seconds / 86400
    if days < 30:
        return f"{round(days)}d"
    if days < 365:
        return f"{days / 30:.1f}mo"
    return f"{days / 365:.1f}y"


class FSRS:
    """Schedules reviews with FSRS (default parameters, 90% desired retention)."""

    def __init__(self, desired_retention: float = 0.9) -> None:
        self.scheduler = Scheduler(desired_retention=desired_retention, enable_fuzzing=False)

    @staticmethod
    def to_card(
        state: int | None,
        step: int | None,
        stability: float | None,
        difficulty: float | None,
        due: datetime | None,
        last_review: datetime | None,
        now: datetime,
    ) -> Card:
        """Build an ``fsrs.Card``; ``state=None`` means the item was never reviewed."""
        if state is None:
            return Card(card_id=1, due=now)
        return Card(
            card_id=1,
            state=State(state),
            step=step,
            stability=stability,
            difficulty=difficulty,
            due=due,
            last_review=last_review,
        )

    def review(self, card: Card, rating: Rating, now: datetime) -> Outcome:
        """Apply ``rating`` at ``now`` and return the new memory state."""
        new, _log = self.scheduler.review_card(card, rating, review_datetime=now)
        return Outcome(
            state=int(new.state),
            step=new.step,
            stability=new.stability,
            difficulty=new.difficulty,
            due=new.due,
            last_review=now,
            interval=new.due - now,
        )

    def preview(self, card: Card, now: datetime) -> dict[str, timedelta]:
        """The interval each rating would give, without changing anything."""
        return {name: self.review(card, rating, now).interval for name, rating in RATINGS.items()}
