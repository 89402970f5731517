"""Health: liveness plus the number of live cards, answered from the first request on."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from .. import __version__
from ..deps import DbDep
from ..store.cards import count_public_cards

router = APIRouter(tags=["health"])


class Health(BaseModel):
    """Service status."""

    status: str
    cards: int
    version: str


@router.get("/health", response_model=Health)
async def health(db: DbDep) -> Health:
    """Liveness and the number of live public cards."""
    cards = await db.run(count_public_cards)
    return Health(status="ok", cards=cards, version=__version__)
