"""The one place where a copy's final score is announced after it changes.

A copy of an assessment gets a final score when it is submitted (by the student, or by the
server at the deadline), and that score changes when an instructor overrides an item or
regrades the assessment. Each of these calls :meth:`GradeEvents.publish` once the change is
committed, with one :class:`ScoreChange` per copy. Whatever must follow a grade elsewhere
(an LMS's gradebook through LTI grade passback, a notification) subscribes here instead of
hooking each path: ``app.state.grade_events.subscribe(listener)`` in ``create_app``.

A listener failing is logged and never undoes the grade (it is already committed) nor
fails the request; a listener that must not lose a change keeps its own outbox.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from ..db import Database

__all__ = ["ScoreChange", "GradeEvents", "Listener"]

log = logging.getLogger("flopcards.grades")

Reason = Literal["submitted", "auto_submitted", "overridden", "regraded"]


@dataclass(frozen=True)
class ScoreChange:
    """A copy's final score as committed (overrides included), and why it changed."""

    exam_id: int
    assessment_id: int
    user_id: int
    score: float
    max_score: float
    submitted_at: datetime
    reason: Reason


Listener = Callable[[Database, ScoreChange], Awaitable[None]]


class GradeEvents:
    """The app's listeners for final-score changes, called in subscription order."""

    def __init__(self) -> None:
        self._listeners: list[Listener] = []

    def subscribe(self, listener: Listener) -> None:
        """Call ``listener(db, change)`` after every committed final-score change."""
        self._listeners.append(listener)

    async def publish(self, db: Database, changes: Iterable[ScoreChange]) -> None:
        """Tell every listener about each change (after commit)."""
        for change in changes:
            for listener in self._listeners:
                try:
                    await listener(db, change)
                except Exception:  # the grade stands; the listener reports its own failure
                    log.exception("grade listener failed for exam %d", change.exam_id)
