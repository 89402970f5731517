"""Progress: what is due, the 7-day forecast, retention, per-topic counts, the streak, and
the whole review log as JSON or CSV. Days are UTC days.
"""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, time, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import Response
from pydantic import BaseModel

from ..db import utcnow
from ..deps import CurrentUser, DbDep
from ..errors import ERROR_RESPONSES
from ..scheduler import STATE_NAMES
from ..store.study import progress_facts, review_log

router = APIRouter(prefix="/progress", tags=["progress"], responses={401: ERROR_RESPONSES[401]})

UTC_MIDNIGHT = time(0, 0)


class ForecastDay(BaseModel):
    """Items falling due on one UTC day (overdue ones count on today)."""

    date: date
    due: int


class TopicCounts(BaseModel):
    """A topic's cards by learning stage for this user."""

    topic: str
    new: int
    learning: int
    review: int


class Progress(BaseModel):
    """The user's standing."""

    due_now: int
    forecast: list[ForecastDay]
    reviewed_today: int
    retention: float | None
    retention_reviews: int
    topics: list[TopicCounts]
    streak_days: int
    total_reviews: int


class ReviewLogPublic(BaseModel):
    """One logged answer."""

    id: int
    item_id: str
    kind: str
    rating: int
    rating_name: str
    elapsed_ms: int
    reviewed_at: datetime
    session_id: int | None
    state_before: str
    due_before: datetime | None
    state_after: str
    due_after: datetime


class ReviewLogList(BaseModel):
    """The whole review log, oldest first."""

    data: list[ReviewLogPublic]
    count: int


RATING_NAMES = {1: "again", 2: "hard", 3: "good", 4: "easy"}


def _start_of_day(d: date) -> datetime:
    return datetime.combine(d, UTC_MIDNIGHT, tzinfo=utcnow().tzinfo)


@router.get("", response_model=Progress)
async def progress(user: CurrentUser, db: DbDep) -> Progress:
    """Due counts, a 7-day forecast, today's reviews, retention, per-topic stages and streak."""
    assert user.id is not None
    now = utcnow()
    today = now.date()
    facts = await db.run(progress_facts, user.id, _start_of_day(today))
    forecast = {today + timedelta(days=i): 0 for i in range(7)}
    per_topic: dict[str, dict[str, int]] = {}
    for topic, state, due in facts.states:
        forecast_day = max(due.date(), today)
        if forecast_day in forecast:
            forecast[forecast_day] += 1
        stage = "review" if STATE_NAMES.get(state) == "review" else "learning"
        per_topic.setdefault(topic, {"new": 0, "learning": 0, "review": 0})[stage] += 1
    for topic, total in facts.topic_totals.items():
        counts = per_topic.setdefault(topic, {"new": 0, "learning": 0, "review": 0})
        counts["new"] = total - counts["learning"] - counts["review"]
    mature = facts.mature_ratings
    return Progress(
        due_now=sum(1 for _, _, due in facts.states if due <= now),
        forecast=[ForecastDay(date=d, due=n) for d, n in sorted(forecast.items())],
        reviewed_today=facts.reviewed_today,
        retention=round(sum(r != 1 for r in mature) / len(mature), 4) if mature else None,
        retention_reviews=len(mature),
        topics=[TopicCounts(topic=t, **c) for t, c in sorted(per_topic.items())],
        streak_days=_streak(facts.review_days, today),
        total_reviews=facts.total_reviews,
    )


def _streak(days: set[date], today: date) -> int:
    """Consecutive days with a review, ending today (or yesterday, if today is still open)."""
    day = today if today in days else today - timedelta(days=1)
    streak = 0
    while day in days:
        streak += 1
        day -= timedelta(days=1)
    return streak


@router.get(
    "/reviews",
    response_model=ReviewLogList,
    responses={200: {"content": {"text/csv": {}}, "description": "JSON, or CSV with format=csv"}},
)
async def reviews(
    user: CurrentUser,
    db: DbDep,
    format: Annotated[Literal["json", "csv"], Query(description="json or csv")] = "json",
) -> ReviewLogList | Response:
    """The user's whole review log, oldest first, as JSON or CSV."""
    assert user.id is not None
    rows = await db.offload(review_log, user.id)
    data = [
        ReviewLogPublic(
            id=r.id,
            item_id=r.item_id,
            kind=r.kind,
            rating=r.rating,
            rating_name=RATING_NAMES.get(r.rating, "?"),
            elapsed_ms=r.elapsed_ms,
            reviewed_at=r.reviewed_at,
            session_id=r.session_id,
            state_before="new" if r.state_before is None else STATE_NAMES.get(r.state_before, "?"),
            due_before=r.due_before,
            state_after=STATE_NAMES.get(r.state_after, "?"),
            due_after=r.due_after,
        )
        for r in rows
    ]
    if format == "json":
        return ReviewLogList(data=data, count=len(data))
    buf = io.StringIO()
    fields = list(ReviewLogPublic.model_fields)
    writer = csv.DictWriter(buf, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    for item in data:
        writer.writerow(item.model_dump(mode="json"))
    return Response(
        buf.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="reviews.csv"'},
    )
