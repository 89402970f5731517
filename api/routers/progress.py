"""Progress: what is due (cards and questions), the 7-day forecast, retention, per-topic
stages, the streak, leeches, exam readiness, and the whole review log as JSON or CSV. Days
are UTC days.

HTTP only: the figures are computed by ``api.services.progress`` from what ``api.store.progress``
reads.
"""

from __future__ import annotations

import csv
import functools
import io
from datetime import date, datetime, timedelta
from typing import Annotated, Literal

import anyio.to_thread
from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel

from ..db import utcnow
from ..deps import CurrentUser, DbDep
from ..refusals import OutOfRange, Unauthorized, refusals
from ..services.progress import readiness as compute_readiness
from ..services.progress import start_of_day, summarize
from ..services.questions import families
from ..services.scheduler import STATE_NAMES
from ..store.progress import ItemFact, card_fronts, progress_facts, readiness_facts
from ..store.settings import get_settings
from ..store.study import review_log

router = APIRouter(prefix="/progress", tags=["progress"], responses=refusals(Unauthorized))

MAX_READINESS_DAYS = 3650
MAX_READINESS_TOPICS = 100
MAX_AT_RISK = 200


class ForecastDay(BaseModel):
    """Items falling due on one UTC day (overdue ones count on today)."""

    date: date
    due: int


class TopicCounts(BaseModel):
    """A topic's items (cards and question families) by learning stage for this user."""

    topic: str
    new: int
    learning: int
    review: int


class Leech(BaseModel):
    """A card lapsed so often (8 times, then every 4 more) that it was suspended."""

    card_id: str
    topic: str
    front: str
    lapses: int
    suspended: bool


class Progress(BaseModel):
    """The user's standing."""

    due_now: int
    due_by_kind: dict[str, int]
    forecast: list[ForecastDay]
    reviewed_today: int
    retention: float | None
    retention_reviews: int
    topics: list[TopicCounts]
    streak_days: int
    total_reviews: int
    suspended: int
    leeches: list[Leech]


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


@functools.cache
def family_topics() -> dict[str, str]:
    """Each question family's topic (the registry imports torch: call it off the loop)."""
    return {f.id: f.topic for f in families().values()}


@router.get("", response_model=Progress)
async def progress(user: CurrentUser, db: DbDep) -> Progress:
    """Due counts (cards and questions), a 7-day forecast, today's reviews, retention,
    per-topic stages, streak, suspended cards and leeches."""
    assert user.id is not None
    now = utcnow()
    facts = await db.run(progress_facts, user.id, now, start_of_day(now.date()))
    topics = await anyio.to_thread.run_sync(family_topics)
    s = summarize(facts, now, topics)
    return Progress(
        **{k: v for k, v in s.__dict__.items() if k not in ("forecast", "topics", "leeches")},
        forecast=[ForecastDay(date=d, due=n) for d, n in s.forecast],
        topics=[TopicCounts(**t.__dict__) for t in s.topics],
        leeches=[Leech(**leech.__dict__) for leech in s.leeches],
    )


class TopicReadinessOut(BaseModel):
    """Predicted recall over one topic's studied items on the day."""

    topic: str
    items: int
    recall: float
    at_risk: int


class AtRiskItem(BaseModel):
    """A studied item likely to be forgotten by the day: a card (its front) or a question
    family (its title)."""

    item_id: str
    kind: str
    topic: str
    label: str
    recall: float
    stability: float | None
    last_review: datetime | None


class ReadinessOut(BaseModel):
    """How much of what you studied you are predicted to recall at the start of ``date``."""

    date: date
    at: datetime
    desired_retention: float
    parameters: Literal["default", "fitted"]
    items: int
    recall: float | None
    topics: list[TopicReadinessOut]
    at_risk: list[AtRiskItem]


def _readiness_date(day: date, today: date) -> date:
    if day < today:
        raise OutOfRange(f"date must be today ({today}) or later")
    if day > today + timedelta(days=MAX_READINESS_DAYS):
        raise OutOfRange(f"date must be within {MAX_READINESS_DAYS} days from today")
    return day


def _topic_set(raw: list[str] | None) -> set[str] | None:
    """Topics given as repeated parameters or comma-separated; None means all."""
    if not raw:
        return None
    topics = {t.strip() for value in raw for t in value.split(",") if t.strip()}
    if len(topics) > MAX_READINESS_TOPICS or any(len(t) > 64 for t in topics):
        raise OutOfRange(f"at most {MAX_READINESS_TOPICS} topics of 64 characters")
    return topics or None


@router.get("/readiness", response_model=ReadinessOut, responses=refusals(OutOfRange))
async def readiness(
    user: CurrentUser,
    db: DbDep,
    request: Request,
    date: Annotated[date, Query(description="The exam day, YYYY-MM-DD (UTC), today or later")],
    topics: Annotated[list[str] | None, Query(max_length=MAX_READINESS_TOPICS)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_AT_RISK, description="At-risk items")] = 20,
) -> ReadinessOut:
    """Predicted recall on ``date`` per topic and overall, from each studied item's FSRS
    state and your own parameters, and the items most likely forgotten by then."""
    assert user.id is not None
    now = utcnow()
    day, wanted = _readiness_date(date, now.date()), _topic_set(topics)
    settings = await db.run(get_settings, user.id)
    fsrs = request.app.state.schedulers.get(settings.desired_retention, settings.fsrs_parameters)
    items = await db.offload(readiness_facts, user.id, now)
    fams = await anyio.to_thread.run_sync(family_topics)

    def topic_of(item: ItemFact) -> str | None:
        return item.topic if item.kind == "card" else fams.get(item.item_id[2:])

    r = await anyio.to_thread.run_sync(compute_readiness, items, fsrs, day, topic_of, wanted, limit)
    labels = await _labels(db, [a.item_id for a in r.at_risk])
    return ReadinessOut(
        **{k: v for k, v in r.__dict__.items() if k not in ("topics", "at_risk")},
        parameters="default" if settings.fsrs_parameters is None else "fitted",
        topics=[TopicReadinessOut(**t.__dict__) for t in r.topics],
        at_risk=[
            AtRiskItem(**a.__dict__, label=labels.get(a.item_id, a.item_id)) for a in r.at_risk
        ],
    )


async def _labels(db, item_ids: list[str]) -> dict[str, str]:
    """Cards by their front, question families by their title."""
    cards = [i for i in item_ids if not i.startswith("q:")]
    labels = await db.run(card_fronts, cards) if cards else {}
    fams = families()
    for i in item_ids:
        if i.startswith("q:") and i[2:] in fams:
            labels[i] = fams[i[2:]].title
    return labels


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
