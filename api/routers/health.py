"""Health: liveness plus the number of live cards, answered from the first request on."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel
from sqlalchemy import func
from sqlmodel import col, select

from .. import __version__
from ..deps import SessionDep
from ..tables import CardRow

router = APIRouter(tags=["health"])


class Health(BaseModel):
    """Service status."""

    status: str
    cards: int
    version: str


@router.get("/health", response_model=Health)
def health(session: SessionDep) -> Health:
    """Liveness and the number of live public cards."""
    cards = session.exec(
        select(func.count())
        .select_from(CardRow)
        .where(col(CardRow.retired).is_(False), col(CardRow.owner_id).is_(None))
    ).one()
    return Health(status="ok", cards=cards, version=__version__)
