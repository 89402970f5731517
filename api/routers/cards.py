"""Cards: list, search and read, with each card's source and executable examples."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query
from pydantic import BaseModel
from sqlalchemy import func, or_
from sqlmodel import col, select

from ..deps import OptionalUser, SessionDep
from ..errors import ERROR_RESPONSES
from ..tables import CardExample, CardRow

router = APIRouter(prefix="/cards", tags=["cards"])


class ExamplePublic(BaseModel):
    """An executable example: its code, the expected and the real output of its last run."""

    code: str
    expected_output: str
    output: str | None
    ok: bool | None
    duration_ms: int | None
    ran_at: datetime | None


class CardPublic(BaseModel):
    """A flashcard as listed."""

    id: str
    topic: str
    front: str
    back: str
    tags: list[str]
    source: str
    retired: bool


class CardDetail(CardPublic):
    """A flashcard with its examples."""

    examples: list[ExamplePublic]


class CardList(BaseModel):
    """A page of cards and the total matching."""

    data: list[CardPublic]
    count: int


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


@router.get("", response_model=CardList)
def list_cards(
    session: SessionDep,
    user: OptionalUser,
    topic: Annotated[str | None, Query(max_length=64)] = None,
    q: Annotated[str | None, Query(max_length=200, description="Text to find")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> CardList:
    """Live public cards (and, with a token, your imported ones), filtered by topic and text."""
    owners: Any = col(CardRow.owner_id).is_(None)
    if user is not None:
        owners = or_(owners, col(CardRow.owner_id) == user.id)
    where: list[Any] = [col(CardRow.retired).is_(False), owners]
    if topic:
        where.append(CardRow.topic == topic)
    if q:
        pattern = f"%{_escape_like(q)}%"
        where.append(
            or_(
                col(CardRow.front).ilike(pattern, escape="\\"),
                col(CardRow.back).ilike(pattern, escape="\\"),
            )
        )
    count = session.exec(select(func.count()).select_from(CardRow).where(*where)).one()
    rows = session.exec(
        select(CardRow)
        .where(*where)
        .order_by(
            col(CardRow.owner_id).is_not(None),
            col(CardRow.topic),
            col(CardRow.position),
            col(CardRow.id),
        )
        .offset(offset)
        .limit(limit)
    ).all()
    return CardList(
        data=[CardPublic.model_validate(r, from_attributes=True) for r in rows], count=count
    )


@router.get("/{card_id}", response_model=CardDetail, responses={404: ERROR_RESPONSES[404]})
def get_card(
    card_id: Annotated[str, Path(max_length=160)], session: SessionDep, user: OptionalUser
) -> CardDetail:
    """One card (public, or your own) with its source line and its examples' real output."""
    card = session.get(CardRow, card_id)
    if card is None or (card.owner_id is not None and (user is None or card.owner_id != user.id)):
        raise HTTPException(404, f"no card '{card_id}'")
    examples = session.exec(
        select(CardExample)
        .where(CardExample.card_id == card_id)
        .order_by(col(CardExample.position))
    ).all()
    return CardDetail(
        **CardPublic.model_validate(card, from_attributes=True).model_dump(),
        examples=[ExamplePublic.model_validate(e, from_attributes=True) for e in examples],
    )
