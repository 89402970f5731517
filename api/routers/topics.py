"""Topics: one per note, with their live card counts."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path
from fastapi.responses import Response
from pydantic import BaseModel
from sqlalchemy import func
from sqlmodel import col, select

from content import Card, Example
from content.writer import render_note

from ..anki import build_apkg
from ..deps import OptionalUser, SessionDep
from ..errors import ERROR_RESPONSES
from ..tables import CardExample, CardRow, TopicRow

TopicId = Annotated[str, Path(max_length=64, pattern=r"^[a-z0-9][a-z0-9-]*$")]

router = APIRouter(prefix="/topics", tags=["topics"])


class TopicPublic(BaseModel):
    """A topic and how many live public cards it has."""

    id: str
    title: str
    tags: list[str]
    cards: int


@router.get("", response_model=list[TopicPublic])
def list_topics(session: SessionDep) -> list[TopicPublic]:
    """Every live topic with its number of cards, in title order."""
    counts = dict(
        session.exec(
            select(CardRow.topic, func.count())
            .where(col(CardRow.retired).is_(False), col(CardRow.owner_id).is_(None))
            .group_by(CardRow.topic)
        ).all()
    )
    topics = session.exec(
        select(TopicRow).where(col(TopicRow.retired).is_(False)).order_by(col(TopicRow.title))
    )
    return [
        TopicPublic(id=t.id, title=t.title, tags=t.tags, cards=counts.get(t.id, 0)) for t in topics
    ]


def _topic_cards(session, topic: str, user) -> tuple[str, list[str], list[CardRow]]:
    """Title, tags and live cards of a public topic, or of the user's imported one; else 404."""
    row = session.get(TopicRow, topic)
    if row is not None and not row.retired:
        owner = col(CardRow.owner_id).is_(None)
        title, tags = row.title, row.tags
    elif user is not None:
        owner = col(CardRow.owner_id) == user.id
        title, tags = topic, []
    else:
        raise HTTPException(404, f"no topic '{topic}'")
    cards = session.exec(
        select(CardRow)
        .where(CardRow.topic == topic, owner, col(CardRow.retired).is_(False))
        .order_by(col(CardRow.position), col(CardRow.id))
    ).all()
    if not cards:
        raise HTTPException(404, f"no topic '{topic}'")
    return title, tags, list(cards)


@router.get(
    "/{topic}/anki.apkg",
    response_class=Response,
    responses={200: {"content": {"application/apkg": {}}}, 404: ERROR_RESPONSES[404]},
)
def export_anki(topic: TopicId, session: SessionDep, user: OptionalUser) -> Response:
    """The topic's cards as an Anki package; re-importing a newer one updates the notes."""
    title, _tags, cards = _topic_cards(session, topic, user)
    return Response(
        build_apkg(topic, title, cards),
        media_type="application/apkg",
        headers={"Content-Disposition": f'attachment; filename="{topic}.apkg"'},
    )


@router.get(
    "/{topic}/cards.md",
    response_class=Response,
    responses={200: {"content": {"text/markdown": {}}}, 404: ERROR_RESPONSES[404]},
)
def export_markdown(topic: TopicId, session: SessionDep, user: OptionalUser) -> Response:
    """The topic's cards in the note format; it parses back to the same cards."""
    title, tags, rows = _topic_cards(session, topic, user)
    examples: dict[str, list[Example]] = {}
    for ex in session.exec(
        select(CardExample)
        .where(col(CardExample.card_id).in_([c.id for c in rows]))
        .order_by(col(CardExample.position))
    ):
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


def _plain_id(card_id: str) -> str:
    """Imported cards are stored as ``u<id>~<card id>``; the note keeps the user's own id."""
    return card_id.split("~", 1)[-1]
