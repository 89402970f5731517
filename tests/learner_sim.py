"""A simulated learner for the tests: reviews placed at known times, rated by a memory that
follows FSRS with *known* parameters, while the service schedules them with the user's own.

So a fit of the resulting log has something real to find (the true parameters differ from
fsrs's defaults), and readiness has states whose recall probabilities can be recomputed.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import datetime, timedelta

from fsrs import Card, Rating, Scheduler
from fsrs.scheduler import DEFAULT_PARAMETERS
from sqlalchemy.engine import Engine
from sqlmodel import Session

from api.db import begin_write
from api.services.scheduler import FSRS, RATINGS
from api.store.study import apply_review

__all__ = ["TRUE_PARAMETERS", "simulate"]

# A learner who remembers new items better than fsrs's defaults assume (larger initial
# stabilities) and gains less stability per successful review.
TRUE_PARAMETERS: tuple[float, ...] = (0.6, 2.0, 5.0, 15.0, *DEFAULT_PARAMETERS[4:8], 1.2,
                                      *DEFAULT_PARAMETERS[9:])  # fmt: skip
_NAMES = {v: k for k, v in RATINGS.items()}


def _rating(rng: random.Random, recall: float | None) -> Rating:
    if recall is None:  # first sight
        return rng.choices(list(Rating), [0.2, 0.1, 0.6, 0.1])[0]
    if rng.random() > recall:
        return Rating.Again
    return rng.choices([Rating.Hard, Rating.Good, Rating.Easy], [0.15, 0.75, 0.1])[0]


def simulate(
    engine: Engine,
    user_id: int,
    item_ids: Sequence[str],
    start: datetime,
    days: int,
    new_per_day: int,
    kind: str = "question",
    seed: int = 7,
    app: FSRS | None = None,
) -> int:
    """Study ``item_ids`` for ``days`` days from ``start``: each day ``new_per_day`` new
    items, then every item the service says is due that day, until its next due falls on a
    later day. Returns the number of reviews logged."""
    rng = random.Random(seed)
    truth = Scheduler(parameters=TRUE_PARAMETERS, enable_fuzzing=False)
    app = app or FSRS()
    memory: dict[str, Card] = {}
    due: dict[str, datetime] = {}
    reviews = 0
    with Session(engine) as session:
        for day in range(days):
            # One write transaction a day, begun as a writer: a deferred one that upgrades
            # fails at once if a background writer (the example runner) committed meanwhile.
            begin_write(session)
            begin = start + timedelta(days=day)
            for item in item_ids[day * new_per_day : (day + 1) * new_per_day]:
                memory[item], due[item] = Card(), begin
            end = begin + timedelta(hours=12)
            for n, item in enumerate(list(memory)):
                at = begin + timedelta(seconds=30 * n)
                while due[item] <= end:
                    at = max(at, due[item])
                    card = memory[item]
                    recall = truth.get_card_retrievability(card, at) if card.last_review else None
                    rating = _rating(rng, recall)
                    memory[item], _ = truth.review_card(card, rating, at)
                    applied = apply_review(session, app, user_id=user_id, item_id=item,
                                           kind=kind, rating=_NAMES[rating],
                                           elapsed_ms=rng.randint(2000, 9000), now=at)  # fmt: skip
                    due[item] = applied.state.due
                    at += timedelta(minutes=1)
                    reviews += 1
            session.commit()
    return reviews
