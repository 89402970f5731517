"""Study sessions: start one, get the next item with the interval each rating would give,
answer it. Due reviews come first, then new cards up to the session's new-card limit (and the
user's new items a day). A session may be narrowed to topics and tags, or be exactly a list
of items (the items a readiness forecast says are at risk). Every interval comes from the
user's own scheduler: their desired retention and FSRS parameters.

HTTP only: what is due, what an answer changes and the rules that hold under concurrency
are in ``api.store.study``.
"""

from __future__ import annotations

import functools
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Literal

import anyio.to_thread
from fastapi import APIRouter, Path, Request, status
from pydantic import BaseModel, Field

from ..db import Database, utcnow
from ..deps import CurrentUser, DbDep
from ..refusals import Conflict, Gone, Incomplete, NotFound, Unauthorized, UnknownName, refusals
from ..schemas import CardPublic, GradePublic, QuestionPublic
from ..services.questions import (
    cached_variant,
    families,
    fresh,
    grade_dict,
    grade_record,
    graded,
    pooled,
    public_question,
    variant,
)
from ..services.scheduler import FSRS, GRADE_RATINGS, RATINGS, Schedulers, format_interval
from ..services.study_rules import ItemState, card_for_fsrs, question_difficulty, rating_for
from ..store.cards import unknown_topics
from ..store.questions import QuestionRecord, session_question
from ..store.study import (
    QUESTION_PREFIX,
    Applied,
    Judged,
    Pick,
    StudyRow,
    answer_card,
    answer_question,
    create_study,
    interval_days,
    load_study,
    pick_next,
    scheduler_of,
    session_counts,
    state_name,
)

if TYPE_CHECKING:
    from grader.question import Question

router = APIRouter(
    prefix="/sessions",
    tags=["sessions"],
    responses=refusals(Unauthorized, NotFound),
)

SessionId = Annotated[int, Path(ge=1, le=2**62)]
MAX_SESSION_TAGS = 20
MAX_SESSION_ITEMS = 200
Tag = Annotated[str, Field(min_length=1, max_length=64)]


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
    tags: list[Tag] | None = Field(
        default=None,
        max_length=MAX_SESSION_TAGS,
        description="Only cards with one of these tags (their own or their note's).",
    )
    item_ids: list[Annotated[str, Field(min_length=1, max_length=160)]] | None = Field(
        default=None,
        max_length=MAX_SESSION_ITEMS,
        description="Exactly these items, each once, due or not (cards, or q:<family>).",
    )


class SessionPublic(BaseModel):
    """A study session and where it stands."""

    id: int
    topics: list[str]
    size: int
    new_limit: int
    include_questions: bool
    families: list[str]
    tags: list[str]
    item_ids: list[str]
    answered: int
    new_seen: int
    due_now: int
    new_available: int
    created_at: datetime
    hints_allowed: bool = Field(
        default=True,
        description="Study questions always allow hints (POST /questions/{id}/hint); each one "
        "caps the answer's score and a right answer after hints is rated hard.",
    )


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


async def _public(db: Database, study: StudyRow) -> SessionPublic:
    counts = await db.run(session_counts, study, utcnow())
    return SessionPublic(
        id=study.id,
        topics=study.topics,
        size=study.size,
        new_limit=study.new_limit,
        include_questions=study.include_questions,
        families=study.families,
        tags=study.tags,
        item_ids=study.item_ids,
        answered=study.answered,
        new_seen=study.new_seen,
        due_now=counts.due_now,
        new_available=counts.new_available,
        created_at=study.created_at,
    )


def _session_families(body: SessionCreate, topics: list[str]) -> list[str]:
    """The question families a session schedules: the requested ones, or its topics' ones
    (for a session of listed items, the families listed)."""
    listed = [i.removeprefix(QUESTION_PREFIX) for i in body.item_ids or []
              if i.startswith(QUESTION_PREFIX)]  # fmt: skip
    if listed:
        unknown = sorted(set(listed) - set(families()))
        if unknown:
            raise UnknownName(f"unknown families: {', '.join(unknown)}")
        return sorted(set(listed))
    if not body.include_questions:
        if body.families:
            raise Incomplete("families are given only with include_questions")
        return []
    fams = families()
    if body.families:
        unknown = sorted(set(body.families) - set(fams))
        if unknown:
            raise UnknownName(f"unknown families: {', '.join(unknown)}")
        return sorted(set(body.families))
    return sorted(f.id for f in fams.values() if not topics or f.topic in topics)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=SessionPublic,
    responses=refusals(UnknownName, Incomplete),
)
async def start_session(body: SessionCreate, user: CurrentUser, db: DbDep) -> SessionPublic:
    """Start a study session over some topics (all when none are given)."""
    assert user.id is not None
    topics = sorted(set(body.topics or []))
    unknown = await db.run(unknown_topics, topics, user.id)
    if unknown:
        raise UnknownName(f"unknown topic(s): {', '.join(unknown)}")
    fams = await anyio.to_thread.run_sync(_session_families, body, topics)
    fields = body.model_dump(include={"size", "new_limit", "include_questions"})
    fields |= {"topics": topics, "families": fams, "tags": sorted(set(body.tags or [])),
               "item_ids": list(dict.fromkeys(body.item_ids or []))}  # fmt: skip
    if fields["item_ids"]:
        fields |= {"size": min(body.size, len(fields["item_ids"])), "include_questions": bool(fams)}
    study = await db.run(create_study, user.id, fields)
    return await _public(db, study)


@router.get("/{session_id}", response_model=SessionPublic)
async def get_session_info(session_id: SessionId, user: CurrentUser, db: DbDep) -> SessionPublic:
    """A session's settings and progress."""
    assert user.id is not None
    return await _public(db, await db.run(load_study, session_id, user.id))


_CARD_RATINGS = tuple(RATINGS)


def _intervals(
    fsrs: FSRS, state: ItemState | None, now: datetime, ratings: tuple[str, ...] = _CARD_RATINGS
) -> dict[str, Interval]:
    """The interval each rating would give; a question shows only what a grade can earn."""
    preview = fsrs.preview(card_for_fsrs(fsrs, state, now), now, ratings)
    return {
        k: Interval(seconds=int(v.total_seconds()), days=interval_days(v), label=format_interval(v))
        for k, v in preview.items()
    }


async def _variant(family: str, seed: int, difficulty: int) -> Question:
    """A question variant: from the cache on the event loop; else generated in a worker
    thread (a family's first use imports torch, and some variants take 10-20 ms)."""
    question = cached_variant(family, seed, difficulty)
    if question is None:
        question = await anyio.to_thread.run_sync(variant, family, seed, difficulty)
    return question


# The two study-loop handlers read the database and the scheduler from the app state rather
# than through dependencies: they are most of the traffic, and each dependency costs time.
@router.get(
    "/{session_id}/next",
    response_model=NextItem,
    response_model_exclude_none=True,
    responses=refusals(Gone),
)
async def next_item(session_id: SessionId, user: CurrentUser, request: Request) -> NextItem:
    """The next item: a due review first, then a new card or question while the limit allows.

    A question item comes as a fresh variant of its family (the same one until answered).
    """
    assert user.id is not None
    db, now = request.app.state.db, utcnow()
    pick = await db.run(pick_next, session_id, user.id, now, _draw)
    if pick is None:
        return NextItem(done=True)
    fsrs = scheduler_of(request.app.state.schedulers, pick.study)
    state = state_name(pick.state.state if pick.state else None)
    if pick.card is not None:
        card = CardPublic.model_validate(pick.card, from_attributes=True)
        return NextItem(item_id=pick.card.id, kind="card", state=state, card=card,
                        intervals=_intervals(fsrs, pick.state, now))  # fmt: skip
    intervals = _intervals(fsrs, pick.state, now, GRADE_RATINGS)
    question = await _question_item(db, pick, user.id)
    return NextItem(item_id=QUESTION_PREFIX + str(pick.family), kind="question", state=state,
                    question=question, intervals=intervals)  # fmt: skip


def _draw(family: str, difficulty: int, last: tuple[int, int] | None) -> int | None:
    """A pooled variant's seed for ``pick_next`` to store, or None (see ``pooled``)."""
    drawn = pooled(family, difficulty, last)
    return None if drawn is None else drawn.seed


async def _question_item(db: Database, pick: Pick, user_id: int) -> QuestionPublic:
    """The pending variant of the picked family; when ``pick_next`` could not draw one from
    a pool, generated in a worker thread (other than the one the student saw last) and
    stored first."""
    assert pick.family is not None
    instance = pick.pending
    if instance is None:
        difficulty = question_difficulty(pick.state)
        drawn = await anyio.to_thread.run_sync(fresh, pick.family, difficulty, pick.last)
        instance = await db.run(
            session_question, user_id, pick.study.id, pick.family, drawn.seed, difficulty
        )
    question = await _variant(instance.family, instance.seed, instance.difficulty)
    return QuestionPublic.model_validate(public_question(instance, question))


@router.post(
    "/{session_id}/answer",
    response_model=AnswerOut,
    response_model_exclude_none=True,
    responses=refusals(Conflict, Incomplete, Gone),
)
async def answer(
    session_id: SessionId, body: AnswerIn, user: CurrentUser, request: Request
) -> AnswerOut:
    """Rate a card, or answer a question (graded; the grade sets the rating). The new FSRS
    state and the review log row are written together; an unreadable answer writes nothing."""
    assert user.id is not None
    db, fsrs = request.app.state.db, request.app.state.schedulers
    if body.item_id.startswith(QUESTION_PREFIX):
        return await _answer_question(db, fsrs, session_id, body, user.id)
    if body.rating is None:
        raise Incomplete("a card is answered with a rating: again, hard, good or easy")
    now = utcnow()
    applied = await db.run(answer_card, fsrs, user.id, session_id, body.item_id, body.rating,
                           body.elapsed_ms, now)  # fmt: skip
    return _out(body.item_id, "card", body.rating, applied, now)


async def _answer_question(
    db: Database, fsrs: Schedulers, session_id: int, body: AnswerIn, user_id: int
) -> AnswerOut:
    """Grade the pending variant of a question item and schedule the family by the grade,
    in one unit of work (``answer_question``); the variant is generated in a worker thread
    first only when this process does not hold it (another replica served it, a restart)."""
    answer_text = body.answer
    if answer_text is None:
        raise Incomplete("a question is answered with an answer text")
    family = body.item_id.removeprefix(QUESTION_PREFIX)

    def judge(pending: QuestionRecord, generate: bool = False) -> Judged | None:
        question = cached_variant(pending.family, pending.seed, pending.difficulty)
        if question is None:
            if not generate:
                return None
            question = variant(pending.family, pending.seed, pending.difficulty)
        grade = graded(question, answer_text, pending.hints_used)
        rating = rating_for(grade, body.elapsed_ms, question.expected_seconds)
        public = GradePublic.model_validate(grade_dict(grade, question))
        return Judged(grade_record(grade, answer_text), rating, public)

    now = utcnow()
    done = await db.run(answer_question, fsrs, user_id, session_id, family, judge,
                        body.elapsed_ms, now)  # fmt: skip
    if done.judged is None:  # not in memory: generate it off the loop, then answer again
        pending = done.pending
        await _variant(pending.family, pending.seed, pending.difficulty)
        # Cached now; should it be evicted meanwhile (a cache of thousands), made again.
        again = functools.partial(judge, generate=True)
        done = await db.run(answer_question, fsrs, user_id, session_id, family, again,
                            body.elapsed_ms, now)  # fmt: skip
    assert done.judged is not None
    public = done.judged.shown
    if done.applied is None:  # unreadable: no attempt, no schedule change, nothing written
        return AnswerOut(item_id=body.item_id, kind="question", recorded=False, grade=public)
    assert done.judged.rating is not None
    return _out(body.item_id, "question", done.judged.rating, done.applied, now, public)


def _out(
    item_id: str,
    kind: Literal["card", "question"],
    rating: str,
    applied: Applied,
    now: datetime,
    grade: GradePublic | None = None,
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
