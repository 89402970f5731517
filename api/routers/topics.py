"""Topics: one per note, with their live card counts."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel
from sqlalchemy import func
from sqlmodel import col, select

from ..deps import SessionDep
from ..tables import CardRow, TopicRow

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
