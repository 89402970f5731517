"""Importing an Anki collection's review history for the cards it shares with this service.

The body is an Anki package (.apkg or .colpkg, exported with "Support older Anki versions")
or a bare collection file, within the request body limit. A card matches when its note is
one of ours (its GUID is that of a card you may study: Anki keeps the GUIDs of the packages
this service exports). Each matched card you have not studied here gets its Anki answers
replayed through your own scheduler. Reading the file is ``api.services.anki``'s (nothing in it is
executed, and reading it is bounded in time and memory); storing the replay is
``api.store.study``'s. One upload at a time per user (a lease in the database, so across
server processes) and a few at once per process: 429 beyond.
"""

from __future__ import annotations

import anyio.to_thread
import genanki
from fastapi import APIRouter, Request
from pydantic import BaseModel

from ..deps import CurrentUser, DbDep
from ..limits import limiters, one_upload
from ..refusals import Conflict, TooMany, Unauthorized, WrongMediaType, refusals
from ..services.anki import AnkiRefused, read_review_history
from ..store.cards import studiable_ids
from ..store.study import import_histories
from ..store.uploads import Busy

router = APIRouter(prefix="/anki", tags=["anki"], responses=refusals(Unauthorized))

ACCEPTED = ("application/octet-stream", "application/zip", "application/apkg",
            "application/vnd.sqlite3")  # fmt: skip


class HistoryImported(BaseModel):
    """What an import of Anki review history did."""

    cards_matched: int
    cards_imported: int
    reviews_imported: int
    cards_already_studied: list[str]


@router.post(
    "/review-history",
    response_model=HistoryImported,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {m: {"schema": {"type": "string", "format": "binary"}} for m in ACCEPTED},
        }
    },
    responses=refusals(Conflict, WrongMediaType, AnkiRefused, TooMany, Busy),
)
async def import_review_history(request: Request, user: CurrentUser, db: DbDep) -> HistoryImported:
    """Replay an Anki collection's answers for the cards it shares with this service."""
    assert user.id is not None
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media not in ACCEPTED:
        raise WrongMediaType(f"send the file as one of: {', '.join(ACCEPTED)}")
    data = await request.body()
    lim = limiters(request)
    async with lim.anki_slots.hold(), one_upload(db, user.id, "anki"):
        ids = await db.run(studiable_ids, user.id)
        guids = {genanki.guid_for(card_id): card_id for card_id in ids}
        # AnkiRefused: 422
        histories = await anyio.to_thread.run_sync(read_review_history, data, guids)
        schedulers = request.app.state.schedulers
        done = await db.offload(import_histories, schedulers, user.id, histories)
    return HistoryImported(cards_matched=len(histories), **done.__dict__)
