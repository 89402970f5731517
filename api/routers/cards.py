"""Cards: list, search and read, with each card's source and executable examples."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel

from ..deps import DbDep, OptionalUser
from ..errors import ERROR_RESPONSES
from ..schemas import CardDetail, CardPublic, ExamplePublic
from ..store.cards import card_detail, list_cards

router = APIRouter(prefix="/cards", tags=["cards"])


class CardList(BaseModel):
    """A page of cards and the total matching."""

    data: list[CardPublic]
    count: int


@router.get("", response_model=CardList)
async def list_cards_(
    db: DbDep,
    user: OptionalUser,
    topic: Annotated[str | None, Query(max_length=64)] = None,
    q: Annotated[str | None, Query(max_length=200, description="Text to find")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> CardList:
    """Live public cards (and, with a token, your imported ones), filtered by topic and text."""
    user_id = None if user is None else user.id
    rows, count = await db.run(list_cards, user_id, topic, q, limit, offset)
    return CardList(
        data=[CardPublic.model_validate(r, from_attributes=True) for r in rows], count=count
    )


@router.get("/{card_id}", response_model=CardDetail, responses={404: ERROR_RESPONSES[404]})
async def get_card(
    card_id: Annotated[str, Path(max_length=160)], db: DbDep, user: OptionalUser
) -> CardDetail:
    """One card (public, or your own) with its source line and its examples' real output."""
    card, examples = await db.run(card_detail, card_id, None if user is None else user.id)
    return CardDetail(
        **CardPublic.model_validate(card, from_attributes=True).model_dump(),
        examples=[ExamplePublic.model_validate(e, from_attributes=True) for e in examples],
    )
