"""Importing a user's own notes: markdown in the project's format or a plain-text card list.

Imported cards belong to the importing user alone; their code examples are stored and shown,
never executed. Re-importing the same text updates the cards instead of duplicating them, and
cards dropped from the note are retired.

Every size is bounded (README, "Limits"): the note's bytes and cards, what the parser reads
(``content.NoteLimits``), the errors listed, the user's imported cards and bytes in all, and
how many imports run: one at a time per user, a few at once in all, at a rate per user.
Parsing and storing run in a worker thread, never on the event loop.
"""

from __future__ import annotations

import re
from typing import Annotated

import anyio.to_thread
from fastapi import APIRouter, Query, Request
from pydantic import BaseModel

from content import NOTE_LIMITS, ParsedNote, parse_note
from content.plain import parse_plain

from ..deps import CurrentUser
from ..limits import limiters, one_upload
from ..refusals import (
    Blank,
    Invalid,
    NoteTooLarge,
    NotUtf8,
    OutOfRange,
    TooMany,
    Unauthorized,
    WrongMediaType,
    refusals,
)
from ..settings import Settings
from ..store.imports import ImportInvalid, ImportRefused, ImportTooLarge, Quota
from ..store.tags import store_import
from ..store.uploads import Busy

router = APIRouter(prefix="/notes", tags=["notes"])

_TOPIC_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
ACCEPTED = ("text/markdown", "text/plain", "text/x-markdown")


class ImportError_(BaseModel):
    """A problem in the imported note, with its line."""

    line: int
    message: str


class ImportResult(BaseModel):
    """What an import did; ``errors`` lists the first problems, ``errors_total`` counts all."""

    topic: str
    cards_added: int
    cards_updated: int
    cards_unchanged: int
    cards_retired: int
    errors: list[ImportError_]
    errors_total: int


def _errors(note: ParsedNote, first: int) -> list[ImportError_]:
    return [ImportError_(line=e.line, message=e.message) for e in note.errors[:first]]


def _parse(text: str, topic: str | None, title: str | None) -> ParsedNote:
    if text.lstrip("\ufeff").startswith("---"):
        return parse_note(text.lstrip("\ufeff"), limits=NOTE_LIMITS)
    return parse_plain(text, topic or "imported", title, limits=NOTE_LIMITS)


async def _import(
    request: Request,
    settings: Settings,
    user_id: int,
    text: str,
    topic: str | None,
    title: str | None,
) -> ImportResult:
    """Parse the note in a worker thread, then store it (``api.store.tags.store_import``, a
    bulk unit of work: ``Database.offload``); refusals are raised here, on the event loop."""
    note = await anyio.to_thread.run_sync(_parse, text, topic, title)
    first = settings.max_import_errors
    if note.topic is None:
        raise ImportInvalid(_unimportable(note, first, "the note names no valid topic"))
    if len(note.cards) > settings.max_import_cards:
        limit = settings.max_import_cards
        raise OutOfRange(f"{len(note.cards)} cards: at most {limit} per import")
    quota = Quota(settings.user_max_cards, settings.user_max_bytes)
    try:
        counts = await request.app.state.db.offload(store_import, user_id, note, quota)
    except ImportRefused as exc:
        if note.cards:
            raise
        # Nothing was importable: say why, with the note's first errors.
        raise type(exc)(_unimportable(note, first, exc.message)) from exc
    return ImportResult(
        topic=note.topic,
        cards_added=counts.added,
        cards_updated=counts.updated,
        cards_unchanged=counts.unchanged,
        cards_retired=counts.retired,
        errors=_errors(note, first),
        errors_total=len(note.errors),
    )


def _unimportable(note: ParsedNote, first: int, message: str) -> dict[str, object]:
    """The 422 detail of a note with nothing to import: why, and its first errors."""
    errors = [e.model_dump() for e in _errors(note, first)]
    return {"message": message, "errors": errors, "errors_total": len(note.errors)}


@router.post(
    "/import",
    response_model=ImportResult,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {media: {"schema": {"type": "string"}} for media in ACCEPTED},
        }
    },
    responses=refusals(
        NotUtf8,
        Unauthorized,
        NoteTooLarge,
        ImportTooLarge,
        WrongMediaType,
        Invalid,
        Blank,
        OutOfRange,
        ImportInvalid,
        TooMany,
        Busy,
    ),
)
async def import_note_(
    request: Request,
    user: CurrentUser,
    topic: Annotated[str | None, Query(max_length=64, description="Topic for plain text")] = None,
    title: Annotated[str | None, Query(max_length=200)] = None,
) -> ImportResult:
    """Import a note (the request body) as the user's own cards."""
    settings: Settings = request.app.state.settings
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media not in ACCEPTED:
        raise WrongMediaType("send the note as text/markdown or text/plain")
    if topic is not None and not _TOPIC_RE.match(topic):
        raise Invalid("topic must be lowercase letters, digits and dashes")
    text = await _read_note(request, settings.max_note_bytes)
    assert user.id is not None
    lim = limiters(request)
    wait = lim.import_rate.wait_s(user.id)
    if wait:
        raise TooMany("too many imports", wait)
    # One at a time per user, whichever process gets it (a lease row in the database).
    async with one_upload(request.app.state.db, user.id, "notes"), lim.import_slots.hold():
        # parsing (a worker thread), then storing (Database.offload)
        return await _import(request, settings, user.id, text, topic, title)


async def _read_note(request: Request, max_bytes: int) -> str:
    """The body as text: at most ``max_bytes`` (413), UTF-8 (400), not blank, no NUL (422)."""
    raw = await request.body()
    if len(raw) > max_bytes:
        raise NoteTooLarge(f"note of {len(raw):,} bytes: at most {max_bytes:,}")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise NotUtf8(f"note is not valid UTF-8 (byte {exc.start})") from exc
    if not text.strip():
        raise Blank("note is empty")
    if "\x00" in text:
        raise Invalid("note contains NUL characters")
    return text
