"""Cards: list, search and read, with each card's source and executable examples; with a
token, the caller's flags on each card, suspending, burying and editing their own cards."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from content import NOTE_LIMITS

from ..db import utcnow
from ..deps import CurrentUser, DbDep, OptionalUser
from ..refusals import Forbidden, Incomplete, NotFound, NullField, Unauthorized, refusals
from ..schemas import CardDetail, CardFlagsPublic, CardPublic, ExamplePublic
from ..store.cards import CardRecord, card_detail, list_cards
from ..store.flags import FlagRecord, flagged, flags_for, next_midnight, set_flags
from ..store.tags import MAX_CARD_TAGS, MAX_TAG_CHARS, OverQuota, edit_card
from ..tables import User

router = APIRouter(prefix="/cards", tags=["cards"])

CardId = Annotated[str, Path(max_length=160)]
Flag = Literal["suspended", "leech", "buried"]


class CardList(BaseModel):
    """A page of cards and the total matching."""

    data: list[CardPublic]
    count: int


class CardEdit(BaseModel):
    """Body of ``PATCH /cards/{id}``: what to change in one of your imported cards."""

    model_config = ConfigDict(extra="forbid")

    front: str | None = Field(default=None, min_length=1, max_length=NOTE_LIMITS.front_chars)
    back: str | None = Field(default=None, min_length=1, max_length=NOTE_LIMITS.back_chars)
    tags: (
        list[Annotated[str, Field(min_length=1, max_length=MAX_TAG_CHARS, pattern=r"^\S+$")]] | None
    ) = Field(default=None, max_length=MAX_CARD_TAGS, description="The card's own tags.")


class FlagsOut(CardFlagsPublic):
    """The caller's flags on one card after the change."""

    card_id: str


def _public(card: CardRecord, user: User | None, flags: dict[str, FlagRecord]) -> CardPublic:
    out = CardPublic.model_validate(card, from_attributes=True)
    if user is None:
        return out
    flag = flags.get(card.id)
    fields = {} if flag is None else {k: getattr(flag, k) for k in CardFlagsPublic.model_fields}
    return out.model_copy(
        update={"own": card.owner_id == user.id, "flags": CardFlagsPublic(**fields)}
    )


@router.get("", response_model=CardList, responses=refusals(Incomplete))
async def list_cards_(
    db: DbDep,
    user: OptionalUser,
    topic: Annotated[str | None, Query(max_length=64)] = None,
    q: Annotated[str | None, Query(max_length=200, description="Text to find")] = None,
    tag: Annotated[str | None, Query(max_length=64, description="A tag (own or note's)")] = None,
    flag: Annotated[Flag | None, Query(description="Only cards you flagged so")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> CardList:
    """Live public cards (and, with a token, your imported ones and your flags on each),
    filtered by topic, text, tag and flag."""
    if flag is not None and user is None:
        raise Incomplete("flag filters your own flags: send your token")
    user_id = None if user is None else user.id
    condition = None if flag is None or user_id is None else flagged(user_id, flag, utcnow())
    rows, count = await db.run(list_cards, user_id, topic, q, limit, offset, tag, condition)
    flags = {} if user_id is None else await db.run(flags_for, user_id, [r.id for r in rows])
    return CardList(data=[_public(r, user, flags) for r in rows], count=count)


@router.get("/{card_id}", response_model=CardDetail, responses=refusals(NotFound))
async def get_card(card_id: CardId, db: DbDep, user: OptionalUser) -> CardDetail:
    """One card (public, or your own) with its source line and its examples' real output."""
    card, examples = await db.run(card_detail, card_id, None if user is None else user.id)
    flags = {} if user is None else await db.run(flags_for, user.id, [card.id])
    return CardDetail(
        **_public(card, user, flags).model_dump(),
        examples=[ExamplePublic.model_validate(e, from_attributes=True) for e in examples],
    )


@router.patch(
    "/{card_id}",
    response_model=CardDetail,
    responses=refusals(Unauthorized, Forbidden, NotFound, OverQuota, NullField),
)
async def edit(
    card_id: CardId, body: CardEdit, user: CurrentUser, db: DbDep, request: Request
) -> CardDetail:
    """Change the front, back or own tags of a card you imported; it keeps its id and its
    review history. Public cards answer 403."""
    assert user.id is not None
    changes = body.model_dump(exclude_unset=True)
    if any(v is None for v in changes.values()):
        raise NullField("a field cannot be null; leave it out to keep it")
    if "tags" in changes:
        changes["tags"] = list(dict.fromkeys(changes["tags"]))
    quota = request.app.state.settings.user_max_bytes
    await db.run(edit_card, user.id, card_id, changes, quota)  # OverQuota: 413
    return await get_card(card_id, db, user)


_FLAG_RESPONSES = refusals(Unauthorized, NotFound)


async def _flag(db: DbDep, user: User, card_id: str, changes: dict) -> FlagsOut:
    assert user.id is not None
    record = await db.run(set_flags, user.id, card_id, changes)
    return FlagsOut(card_id=record.card_id, suspended=record.suspended, leech=record.leech,
                    buried_until=record.buried_until)  # fmt: skip


@router.post("/{card_id}/suspend", response_model=FlagsOut, responses=_FLAG_RESPONSES)
async def suspend(card_id: CardId, user: CurrentUser, db: DbDep) -> FlagsOut:
    """Set the card aside until you unsuspend it: no session serves it."""
    return await _flag(db, user, card_id, {"suspended": True})


@router.post("/{card_id}/unsuspend", response_model=FlagsOut, responses=_FLAG_RESPONSES)
async def unsuspend(card_id: CardId, user: CurrentUser, db: DbDep) -> FlagsOut:
    """Back into your sessions (a leech stays marked one; 4 more lapses suspend it again)."""
    return await _flag(db, user, card_id, {"suspended": False, "buried_until": None})


@router.post("/{card_id}/bury", response_model=FlagsOut, responses=_FLAG_RESPONSES)
async def bury(card_id: CardId, user: CurrentUser, db: DbDep) -> FlagsOut:
    """Set the card aside until the start of the next UTC day."""
    buried_until: datetime = next_midnight(utcnow())
    return await _flag(db, user, card_id, {"buried_until": buried_until})


@router.post("/{card_id}/unbury", response_model=FlagsOut, responses=_FLAG_RESPONSES)
async def unbury(card_id: CardId, user: CurrentUser, db: DbDep) -> FlagsOut:
    """Back into today's sessions."""
    return await _flag(db, user, card_id, {"buried_until": None})
