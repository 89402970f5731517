"""Study sessions: start one, get the next item with the interval each rating would give,
answer it. Due reviews come first, then new cards up to the session's new-card limit.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Path, status
from pydantic import BaseModel, Field
from sqlmodel import Session

from ..db import begin_write, utcnow
from ..deps import CurrentUser, SchedulerDep, SessionDep
from ..errors import ERROR_RESPONSES
from ..scheduler import format_interval
from ..study import (
    apply_review,
    card_for_fsrs,
    count_new,
    due_items,
    interval_days,
    new_cards,
    state_name,
)
from ..tables import CardRow, StudySession
from .cards import CardPublic
from .notes import topic_exists

router = APIRouter(
    prefix="/sessions",
    tags=["sessions"],
    responses={401: ERROR_RESPONSES[401], 404: ERROR_RESPONSES[404]},
)

SessionId = Annotated[int, Path(ge=1, le=2**62)]


class SessionCreate(BaseModel):
    """Body of ``POST /sessions``."""

    topics: list[Annotated[str, Field(min_length=1, max_length=64)]] | None = Field(
        default=None, max_length=100, description="Topic ids; all topics when omitted."
    )
    size: int = Field(default=20, ge=1, le=500, description="Answers after which it is done.")
    new_limit: int = Field(default=10, ge=0, le=500, description="New cards at most.")


class SessionPublic(BaseModel):
    """A study session and where it stands."""

    id: int
    topics: list[str]
    size: int
    new_limit: int
    answered: int
    new_seen: int
    due_now: int
    new_available: int
    created_at: datetime


class Interval(BaseModel):
    """The wait a rating would give before the item is due again."""

    seconds: int
    days: float
    label: str


class NextItem(BaseModel):
    """The next item to study, or ``done``."""

    done: bool = False
    item_id: str | None = None
    kind: Literal["card"] | None = None
    state: str | None = None
    card: CardPublic | None = None
    intervals: dict[str, Interval] | None = None


class AnswerIn(BaseModel):
    """Body of ``POST /sessions/{id}/answer``."""

    item_id: str = Field(min_length=1, max_length=160)
    rating: Literal["again", "hard", "good", "easy"]
    elapsed_ms: int = Field(default=0, ge=0, le=86_400_000)


class AnswerOut(BaseModel):
    """The schedule an answer produced."""

    item_id: str
    rating: str
    state: str
    due: datetime
    interval_days: float
    interval: str
    reviewed_at: datetime
    review_id: int


def _own_session(session: Session, session_id: int, user_id: int) -> StudySession:
    study = session.get(StudySession, session_id)
    if study is None or study.user_id != user_id:
        raise HTTPException(404, f"no study session {session_id}")
    return study


def _public(session: Session, study: StudySession, now: datetime) -> SessionPublic:
    assert study.id is not None
    topics = study.topics or None
    return SessionPublic(
        id=study.id,
        topics=study.topics,
        size=study.size,
        new_limit=study.new_limit,
        answered=study.answered,
        new_seen=study.new_seen,
        due_now=len(due_items(session, study.user_id, topics, now, limit=10_000)),
        new_available=count_new(session, study.user_id, topics),
        created_at=study.created_at,
    )


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=SessionPublic,
    responses={422: ERROR_RESPONSES[404] | {"description": "Unknown topic"}},
)
def start_session(body: SessionCreate, user: CurrentUser, session: SessionDep) -> SessionPublic:
    """Start a study session over some topics (all when none are given)."""
    topics = sorted(set(body.topics or []))
    assert user.id is not None
    if topics:
        unknown = [t for t in topics if not topic_exists(session, t, user.id)]
        if unknown:
            raise HTTPException(422, f"unknown topic(s): {', '.join(unknown)}")
    assert user.id is not None
    begin_write(session)
    study = StudySession(user_id=user.id, topics=topics, size=body.size, new_limit=body.new_limit)
    session.add(study)
    session.commit()
    return _public(session, study, utcnow())


@router.get("/{session_id}", response_model=SessionPublic)
def get_session_info(
    session_id: SessionId, user: CurrentUser, session: SessionDep
) -> SessionPublic:
    """A session's settings and progress."""
    assert user.id is not None
    return _public(session, _own_session(session, session_id, user.id), utcnow())


@router.get("/{session_id}/next", response_model=NextItem, response_model_exclude_none=True)
def next_item(
    session_id: SessionId, user: CurrentUser, session: SessionDep, fsrs: SchedulerDep
) -> NextItem:
    """The next item: a due review first, then a new card while the new limit allows."""
    assert user.id is not None
    study = _own_session(session, session_id, user.id)
    if study.answered >= study.size:
        return NextItem(done=True)
    now = utcnow()
    topics = study.topics or None
    due = due_items(session, user.id, topics, now, limit=1)
    card: CardRow | None = None
    state = None
    if due:
        card, state = due[0]
    elif study.new_seen < study.new_limit:
        fresh = new_cards(session, user.id, topics, limit=1)
        card = fresh[0] if fresh else None
    if card is None:
        return NextItem(done=True)
    preview = fsrs.preview(card_for_fsrs(fsrs, state, now), now)
    return NextItem(
        item_id=card.id,
        kind="card",
        state=state_name(state.state if state else None),
        card=CardPublic.model_validate(card, from_attributes=True),
        intervals={
            k: Interval(
                seconds=int(v.total_seconds()), days=interval_days(v), label=format_interval(v)
            )
            for k, v in preview.items()
        },
    )


@router.post(
    "/{session_id}/answer",
    response_model=AnswerOut,
    responses={409: ERROR_RESPONSES[404] | {"description": "Session is complete"}},
)
def answer(
    session_id: SessionId,
    body: AnswerIn,
    user: CurrentUser,
    session: SessionDep,
    fsrs: SchedulerDep,
) -> AnswerOut:
    """Rate an item; its new FSRS state and the review log row are written together."""
    assert user.id is not None
    begin_write(session)
    study = _own_session(session, session_id, user.id)
    if study.answered >= study.size:
        raise HTTPException(409, f"session {session_id} is complete ({study.size} answers)")
    card = session.get(CardRow, body.item_id)
    visible = card is not None and not card.retired and card.owner_id in (None, user.id)
    if card is None or not visible or (study.topics and card.topic not in study.topics):
        raise HTTPException(404, f"no item '{body.item_id}' in session {session_id}")
    now = utcnow()
    applied = apply_review(
        session,
        fsrs,
        user_id=user.id,
        item_id=card.id,
        kind="card",
        rating=body.rating,
        elapsed_ms=body.elapsed_ms,
        now=now,
        study=study,
    )
    session.commit()
    assert applied.log.id is not None
    return AnswerOut(
        item_id=card.id,
        rating=body.rating,
        state=state_name(applied.state.state),
        due=applied.state.due,
        interval_days=interval_days(applied.outcome.interval),
        interval=format_interval(applied.outcome.interval),
        reviewed_at=now,
        review_id=applied.log.id,
    )
