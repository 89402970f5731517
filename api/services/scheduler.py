"""FSRS scheduling: a thin wrapper over the ``fsrs`` package's Scheduler and Card.

The wrapper converts between our stored :class:`api.tables.ReviewState` rows and
``fsrs.Card`` objects and previews the interval each rating would give. Fuzzing is off so the
interval shown before an answer is exactly the one the answer produces.

Every user schedules with their own desired retention and, once fitted, their own FSRS
parameters (``user_settings``). Building a ``fsrs.Scheduler`` validates 21 parameters, so
:class:`Schedulers` keeps a small cache of them keyed by (retention, parameters): the study
loop asks it for the user's scheduler at every step.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from fsrs import Card, Rating, Scheduler, State
from fsrs.scheduler import DEFAULT_PARAMETERS

__all__ = [
    "RATINGS",
    "GRADE_RATINGS",
    "STATE_NAMES",
    "DEFAULT_RETENTION",
    "DEFAULT_PARAMETERS",
    "FSRS",
    "Outcome",
    "Schedulers",
    "format_interval",
]

DEFAULT_RETENTION = 0.9

RATINGS: dict[str, Rating] = {
    "again": Rating.Again,
    "hard": Rating.Hard,
    "good": Rating.Good,
    "easy": Rating.Easy,
}
# What a graded question can earn (api.services.questions.rating_for): never "easy".
GRADE_RATINGS = ("again", "hard", "good")
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
    """Schedules reviews with FSRS: a desired retention and 21 parameters (fsrs's defaults
    unless given, e.g. fitted to the user's own log)."""

    def __init__(
        self,
        desired_retention: float = DEFAULT_RETENTION,
        parameters: Sequence[float] | None = None,
    ) -> None:
        params = DEFAULT_PARAMETERS if parameters is None else tuple(parameters)
        self.scheduler = Scheduler(
            parameters=params, desired_retention=desired_retention, enable_fuzzing=False
        )
        self.desired_retention = desired_retention
        self.parameters: tuple[float, ...] = tuple(params)

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

    def preview(
        self, card: Card, now: datetime, ratings: Sequence[str] = tuple(RATINGS)
    ) -> dict[str, timedelta]:
        """The interval each of ``ratings`` would give, without changing anything."""
        return {name: self.review(card, RATINGS[name], now).interval for name in ratings}

    def retrievability(self, stability: float | None, last_review: datetime | None,
                       at: datetime) -> float:  # fmt: skip
        """The predicted probability of recall at ``at`` (fsrs's forgetting curve with these
        parameters); 0 for an item never reviewed."""
        if stability is None or last_review is None:
            return 0.0
        card = Card(card_id=1, stability=stability, last_review=last_review, state=State.Review)
        return float(self.scheduler.get_card_retrievability(card, current_datetime=at))


class Schedulers:
    """The schedulers in use, by (desired retention, parameters): a small LRU cache, safe
    to share between the event loop and worker threads."""

    def __init__(self, size: int = 256) -> None:
        self._items: OrderedDict[tuple[float, tuple[float, ...] | None], FSRS] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def get(
        self, desired_retention: float | None = None, parameters: Sequence[float] | None = None
    ) -> FSRS:
        """The scheduler for these settings (None: the defaults)."""
        retention = DEFAULT_RETENTION if desired_retention is None else float(desired_retention)
        key = (retention, None if parameters is None else tuple(float(p) for p in parameters))
        with self._lock:
            fsrs = self._items.get(key)
            if fsrs is not None:
                self._items.move_to_end(key)
                return fsrs
        fsrs = FSRS(retention, key[1])
        with self._lock:
            self._items[key] = fsrs
            while len(self._items) > self._size:
                self._items.popitem(last=False)
        return fsrs
