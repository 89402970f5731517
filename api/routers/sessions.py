"""Study sessions: start one, get the next item with the interval each rating would give,
answer it. Due reviews come first, then new cards up to the session's new-card limit.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any, Literal

import anyio.to_thread
from fastapi import APIRouter, HTTPException, Path, Request, status
from pydantic import BaseModel, Field
from sqlmodel import Session

from ..db import end_read, run_db, utcnow, writing
from ..deps import CurrentUser, SessionDep, request_session
from ..errors import ERROR_RESPONSES
from ..questions import (
    PendingQuestion,
    add_question,
    cached_variant,
    families,
    generation_is_warm,
    grade_and_record,
    grade_dict,
    pending_question,
    public_question,
    random_seed,
    rating_for,
    still_pending,
    variant,
)
from ..scheduler import FSRS, format_interval
from ..study import (
    QUESTION_PREFIX,
    ItemState,
    StudyRow,
    apply_review,
    card_for_fsrs,
    card_with_state,
    count_new,
    due_items,
    interval_days,
    load_state,
    load_study,
    next_card,
    question_dues,
    state_name,
)
from ..tables import StudySession
from .cards import CardPublic
from .notes import topic_exists
from .questions import GradePublic, QuestionPublic

if TYPE_CHECKING:
    from grader.question import Question

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
    new_limit: int = Field(default=10, ge=0, le=500, description="New items at most.")
    include_questions: bool = Field(
        default=False, description="Also schedule generated questions, one item per family."
    )
    families: list[Annotated[str, Field(min_length=1, max_length=64)]] | None = Field(
        default=None,
        max_length=200,
        description="Question families; by default those of the session's topics.",
    )


class SessionPublic(BaseModel):
    """A study session and where it stands."""

    id: int
    topics: list[str]
    size: int
    new_limit: int
    include_questions: bool
    families: list[str]
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
    kind: Literal["card", "question"] | None = None
    state: str | None = None
    card: CardPublic | None = None
    question: QuestionPublic | None = None
    intervals: dict[str, Interval] | None = None


class AnswerIn(BaseModel):
    """Body of ``POST /sessions/{id}/answer``: a rating for a card, an answer for a question."""

    item_id: str = Field(min_length=1, max_length=160)
    rating: Literal["again", "hard", "good", "easy"] | None = None
    answer: str | None = Field(default=None, max_length=500)
    elapsed_ms: int = Field(default=0, ge=0, le=86_400_000)


class AnswerOut(BaseModel):
    """The schedule an answer produced (and, for a question, its grade)."""

    item_id: str
    kind: Literal["card", "question"]
    recorded: bool
    rating: str | None = None
    state: str | None = None
    due: datetime | None = None
    interval_days: float | None = None
    interval: str | None = None
    reviewed_at: datetime | None = None
    review_id: int | None = None
    grade: GradePublic | None = None


def _own_session(session: Session, session_id: int, user_id: int) -> StudyRow:
    study = load_study(session, session_id, user_id)
    if study is None:  # someone else's answers 404 too, so existence does not leak
        raise HTTPException(404, f"no study session {session_id}")
    return study


def _public(session: Session, study: StudyRow | StudySession, now: datetime) -> SessionPublic:
    assert study.id is not None
    topics = study.topics or None
    return SessionPublic(
        id=study.id,
        topics=study.topics,
        size=study.size,
        new_limit=study.new_limit,
        include_questions=study.include_questions,
        families=study.families,
        answered=study.answered,
        new_seen=study.new_seen,
        due_now=len(due_items(session, study.user_id, topics, now, limit=10_000)),
        new_available=count_new(session, study.user_id, topics),
        created_at=study.created_at,
    )


def _session_families(body: SessionCreate, topics: list[str]) -> list[str]:
    """The question families a session schedules: the requested ones, or its topics' ones."""
    if not body.include_questions:
        if body.families:
            raise HTTPException(422, "families are given only with include_questions")
        return []
    fams = families()
    if body.families:
        unknown = sorted(set(body.families) - set(fams))
        if unknown:
            raise HTTPException(422, f"unknown families: {', '.join(unknown)}")
        return sorted(set(body.families))
    return sorted(f.id for f in fams.values() if not topics or f.topic in topics)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=SessionPublic,
    responses={422: ERROR_RESPONSES[404] | {"description": "Unknown topic or family"}},
)
def start_session(body: SessionCreate, user: CurrentUser, session: SessionDep) -> SessionPublic:
    """Start a study session over some topics (all when none are given)."""
    topics = sorted(set(body.topics or []))
    assert user.id is not None
    unknown = [t for t in topics if not topic_exists(session, t, user.id)]
    if unknown:
        raise HTTPException(422, f"unknown topic(s): {', '.join(unknown)}")
    fams = _session_families(body, topics)
    with writing(session):
        study = StudySession(
            user_id=user.id,
            topics=topics,
            size=body.size,
            new_limit=body.new_limit,
            include_questions=body.include_questions,
            families=fams,
        )
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


def _intervals(fsrs: FSRS, state: ItemState | None, now: datetime) -> dict[str, Interval]:
    preview = fsrs.preview(card_for_fsrs(fsrs, state, now), now)
    return {
        k: Interval(seconds=int(v.total_seconds()), days=interval_days(v), label=format_interval(v))
        for k, v in preview.items()
    }


def _pick(session: Session, study: StudyRow, user_id: int, now: datetime):
    """The next item: the most overdue card or question, else a new one (every third new
    item is a question family when the session has some)."""
    topics = study.topics or None
    allow_new = study.new_seen < study.new_limit
    card, card_state = next_card(session, user_id, topics, now, allow_new) or (None, None)
    dues = question_dues(session, user_id, study.families, now)
    due_item = next((item_id for item_id, is_due in dues.items() if is_due), None)
    due_state = None if due_item is None else load_state(session, user_id, due_item)
    if card_state is not None and (due_state is None or card_state.due <= due_state.due):
        return "card", card, card_state
    if due_item is not None:
        return "question", due_item.removeprefix(QUESTION_PREFIX), due_state
    if not allow_new:
        return None
    fams = [f for f in study.families if QUESTION_PREFIX + f not in dues]
    if fams and (card is None or study.new_seen % 3 == 2):
        return "question", fams[0], None
    if card is not None:
        return "card", card, None
    return None


def _difficulty(state: ItemState | None) -> int:
    """Harder variants as a family matures: 1 while learning, 2 in review, 3 once stable."""
    if state is None or state.state != 2:
        return 1
    return 3 if (state.stability or 0) >= 21 else 2


def _next_pick(session: Session, session_id: int, user_id: int, now: datetime):
    """The session and its next item (see ``_pick``), or None when the session is done."""
    study = _own_session(session, session_id, user_id)
    picked = None if study.answered >= study.size else _pick(session, study, user_id, now)
    end_read(session)
    return None if picked is None else (study, *picked)


def _pending_read(session: Session, study: StudyRow, family: str) -> PendingQuestion | None:
    pending = pending_question(session, study.id, family)
    end_read(session)
    return pending


def _store_question(
    session: Session, user_id: int, study_id: int, family: str, seed: int, difficulty: int
) -> PendingQuestion:
    with writing(session):
        pending = add_question(
            session,
            user_id=user_id,
            session_id=study_id,
            family=family,
            seed=seed,
            difficulty=difficulty,
        )
        session.commit()
    return pending


async def _variant(family: str, seed: int, difficulty: int) -> Question:
    """A question variant: from the cache; else generated right here once the background
    warm-up is done (about half a millisecond, less than a hand-off to a thread costs);
    before that in a worker thread, as a family's first use imports and warms torch."""
    question = cached_variant(family, seed, difficulty)
    if question is None:
        if generation_is_warm():
            question = variant(family, seed, difficulty)
        else:
            question = await anyio.to_thread.run_sync(variant, family, seed, difficulty)
    return question


# The two study-loop handlers take the request and open their session themselves (see
# request_session): they are most of the traffic, and each dependency costs FastAPI time.
@router.get("/{session_id}/next", response_model=NextItem, response_model_exclude_none=True)
async def next_item(session_id: SessionId, user: CurrentUser, request: Request) -> NextItem:
    """The next item: a due review first, then a new card or question while the limit allows.

    A question item comes as a fresh variant of its family (the same one until answered).
    """
    assert user.id is not None
    async with request_session(request) as session:
        return await _next_item(session, request.app.state.fsrs, session_id, user.id)


async def _next_item(session: Session, fsrs: FSRS, session_id: int, user_id: int) -> NextItem:
    now, engine = utcnow(), session.get_bind().engine
    picked = await run_db(engine, _next_pick, session, session_id, user_id, now)
    if picked is None:
        return NextItem(done=True)
    study, kind, item, state = picked
    if kind == "card":
        return NextItem(
            item_id=item.id,
            kind="card",
            state=state_name(state.state if state else None),
            card=CardPublic.model_validate(item._mapping),
            intervals=_intervals(fsrs, state, now),
        )
    instance = await run_db(engine, _pending_read, session, study, item)
    if instance is None:
        seed, difficulty = random_seed(), _difficulty(state)
        question = await _variant(item, seed, difficulty)  # before taking the write lock
        instance = await run_db(
            engine, _store_question, session, user_id, study.id, item, seed, difficulty
        )
    else:
        question = await _variant(instance.family, instance.seed, instance.difficulty)
    return NextItem(
        item_id=QUESTION_PREFIX + item,
        kind="question",
        state=state_name(state.state if state else None),
        question=QuestionPublic.model_validate(public_question(instance, question)),
        intervals=_intervals(fsrs, state, now),
    )


@router.post(
    "/{session_id}/answer",
    response_model=AnswerOut,
    response_model_exclude_none=True,
    responses={409: ERROR_RESPONSES[404] | {"description": "Session complete or nothing pending"}},
)
async def answer(
    session_id: SessionId, body: AnswerIn, user: CurrentUser, request: Request
) -> AnswerOut:
    """Rate a card, or answer a question (graded; the grade sets the rating). The new FSRS
    state and the review log row are written together; an unreadable answer writes nothing."""
    assert user.id is not None
    async with request_session(request) as session:
        return await _answer(session, request.app.state.fsrs, session_id, body, user.id)


async def _answer(
    session: Session, fsrs: FSRS, session_id: int, body: AnswerIn, user_id: int
) -> AnswerOut:
    engine = session.get_bind().engine
    if body.item_id.startswith(QUESTION_PREFIX):
        if body.answer is None:
            raise HTTPException(422, "a question is answered with an answer text")
        family = body.item_id.removeprefix(QUESTION_PREFIX)
        instance = await run_db(engine, _pending_for, session, session_id, user_id, family)
        question = await _variant(instance.family, instance.seed, instance.difficulty)
        return await run_db(
            engine, _answer_question, session, session_id, body, user_id, instance, question, fsrs
        )
    if body.rating is None:
        raise HTTPException(422, "a card is answered with a rating: again, hard, good or easy")
    return await run_db(engine, _answer_card, session, session_id, body, user_id, fsrs)


def _answer_card(
    session: Session, session_id: int, body: AnswerIn, user_id: int, fsrs: FSRS
) -> AnswerOut:
    """Schedule a card by its rating: state, log row and session counters in one commit."""
    assert body.rating is not None
    with writing(session):
        study = _own_session(session, session_id, user_id)
        if study.answered >= study.size:
            raise HTTPException(409, f"session {session_id} is complete ({study.size} answers)")
        found = card_with_state(session, user_id, body.item_id)
        card = None if found is None else found[0]
        visible = card is not None and not card.retired and card.owner_id in (None, user_id)
        if card is None or not visible or (study.topics and card.topic not in study.topics):
            raise HTTPException(404, f"no item '{body.item_id}' in session {session_id}")
        assert found is not None
        now = utcnow()
        applied = apply_review(
            session,
            fsrs,
            user_id=user_id,
            item_id=card.id,
            kind="card",
            rating=body.rating,
            elapsed_ms=body.elapsed_ms,
            now=now,
            state=found[1],
            study_id=study.id,
        )
        session.commit()
    return _out(card.id, "card", body.rating, applied, now)


def _out(
    item_id: str, kind: Any, rating: str, applied: Any, now: datetime, grade=None
) -> AnswerOut:
    return AnswerOut(
        item_id=item_id,
        kind=kind,
        recorded=True,
        rating=rating,
        state=state_name(applied.state.state),
        due=applied.state.due,
        interval_days=interval_days(applied.outcome.interval),
        interval=format_interval(applied.outcome.interval),
        reviewed_at=now,
        review_id=applied.log_id,
        grade=grade,
    )


def _pending_for(session: Session, session_id: int, user_id: int, family: str) -> PendingQuestion:
    """The variant of ``family`` waiting for an answer in the session; 404 or 409 if none."""
    study = _own_session(session, session_id, user_id)
    if family not in study.families:
        raise HTTPException(404, f"no item '{QUESTION_PREFIX + family}' in session {session_id}")
    instance = pending_question(session, study.id, family)
    end_read(session)
    if instance is None:
        raise HTTPException(
            409, f"no pending question for '{QUESTION_PREFIX + family}': get it from next"
        )
    return instance


def _answer_question(
    session: Session,
    session_id: int,
    body: AnswerIn,
    user_id: int,
    instance: PendingQuestion,
    question: Question,
    fsrs: FSRS,
) -> AnswerOut:
    """Grade the pending variant of a question item and schedule the family by the grade."""
    assert body.answer is not None
    with writing(session):
        study = _own_session(session, session_id, user_id)  # re-read under the write lock
        if study.answered >= study.size:
            raise HTTPException(409, f"session {session_id} is complete ({study.size} answers)")
        if not still_pending(session, instance.id):
            raise HTTPException(409, f"question for '{body.item_id}' was already answered")
        grade = grade_and_record(session, instance.id, user_id, question, body.answer)
        public = GradePublic.model_validate(grade_dict(grade, question))
        rating = rating_for(grade, body.elapsed_ms, question.expected_seconds)
        if rating is None:  # unreadable: no attempt, no schedule change, nothing written
            session.rollback()
            return AnswerOut(item_id=body.item_id, kind="question", recorded=False, grade=public)
        now = utcnow()
        applied = apply_review(
            session,
            fsrs,
            user_id=user_id,
            item_id=body.item_id,
            kind="question",
            rating=rating,
            elapsed_ms=body.elapsed_ms,
            now=now,
            state=load_state(session, user_id, body.item_id),
            study_id=study.id,
        )
        session.commit()
    return _out(body.item_id, "question", rating, applied, now, public)
