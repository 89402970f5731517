"""Topics: one per note, with their live card counts."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from pydantic import BaseModel

from content import Card, Example
from content.writer import render_note

from ..db import utcnow
from ..deps import DbDep, OptionalUser
from ..refusals import NotFound, TokenRequired, Unauthorized, refusals
from ..services.anki import build_apkg
from ..store.cards import list_topics, topic_cards
from ..store.settings import get_settings
from ..store.study import card_schedules
from ..tables import User

TopicId = Annotated[str, Path(max_length=64, pattern=r"^[a-z0-9][a-z0-9-]*$")]

router = APIRouter(prefix="/topics", tags=["topics"])


class TopicPublic(BaseModel):
    """A topic and how many live cards it has; ``imported`` for one of your own notes."""

    id: str
    title: str
    tags: list[str]
    cards: int
    imported: bool = False


@router.get("", response_model=list[TopicPublic])
async def list_topics_(db: DbDep, user: OptionalUser) -> list[TopicPublic]:
    """Every live public topic with its number of cards, in title order; with a token, then
    your own imported topics (nobody else's)."""
    topics = await db.run(list_topics, _uid(user))
    return [TopicPublic.model_validate(t, from_attributes=True) for t in topics]


@router.get(
    "/{topic}/anki.apkg",
    response_class=Response,
    responses={
        200: {"content": {"application/apkg": {}}},
        **refusals(Unauthorized, TokenRequired, NotFound),
    },
)
async def export_anki(
    topic: TopicId,
    db: DbDep,
    user: OptionalUser,
    scheduling: Annotated[bool, Query(description="Carry your own scheduling (token)")] = False,
) -> Response:
    """The topic's cards as an Anki package; re-importing a newer one updates the notes.
    With ``scheduling=true``, each card you studied carries your FSRS state, flags and
    review log (import it in Anki with scheduling)."""
    title, _tags, cards, _examples = await db.run(topic_cards, topic, _uid(user))
    schedules, retention = None, 0.9
    if scheduling:
        if user is None or user.id is None:
            raise TokenRequired("scheduling is yours: send your token")
        ids = [c.id for c in cards]
        schedules = await db.offload(card_schedules, user.id, ids, utcnow())
        retention = (await db.run(get_settings, user.id)).desired_retention
    package = await run_in_threadpool(build_apkg, topic, title, cards, schedules, retention)
    return Response(
        package,
        media_type="application/apkg",
        headers={"Content-Disposition": f'attachment; filename="{topic}.apkg"'},
    )


@router.get(
    "/{topic}/cards.md",
    response_class=Response,
    responses={200: {"content": {"text/markdown": {}}}, **refusals(NotFound)},
)
async def export_markdown(topic: TopicId, db: DbDep, user: OptionalUser) -> Response:
    """The topic's cards in the note format; it parses back to the same cards."""
    title, tags, rows, example_rows = await db.run(topic_cards, topic, _uid(user))
    examples: dict[str, list[Example]] = {}
    for ex in example_rows:
        examples.setdefault(ex.card_id, []).append(Example(ex.code, ex.expected_output, 0))
    cards = [
        Card(
            _plain_id(c.id), topic, c.front, c.back, tuple(c.tags), 0, tuple(examples.get(c.id, []))
        )
        for c in rows
    ]
    return Response(
        render_note(topic, title, tags, cards),
        media_type="text/markdown; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{topic}.md"'},
    )


def _uid(user: User | None) -> int | None:
    return None if user is None else user.id


def _plain_id(card_id: str) -> str:
    """Imported cards are stored as ``u<id>~<card id>``; the note keeps the user's own id."""
    return card_id.split("~", 1)[-1]
