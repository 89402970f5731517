"""Importing a user's own notes: markdown in the project's format or a plain-text card list.

Imported cards belong to the importing user alone; their code examples are stored and shown,
never executed. Re-importing the same text updates the cards instead of duplicating them, and
cards dropped from the note are retired.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request
from pydantic import BaseModel
from sqlmodel import Session, col, select

from content import ParsedNote, parse_note
from content.plain import parse_plain

from ..db import utcnow, writing
from ..deps import CurrentUser, SessionDep
from ..errors import ERROR_RESPONSES
from ..sync import code_hash
from ..tables import CardExample, CardRow, TopicRow

router = APIRouter(prefix="/notes", tags=["notes"])

MAX_CARDS = 2000
_TOPIC_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
ACCEPTED = ("text/markdown", "text/plain", "text/x-markdown")


class ImportError_(BaseModel):
    """A problem in the imported note, with its line."""

    line: int
    message: str


class ImportResult(BaseModel):
    """What an import did."""

    topic: str
    cards_added: int
    cards_updated: int
    cards_unchanged: int
    cards_retired: int
    errors: list[ImportError_]


def owned_id(user_id: int, card_id: str) -> str:
    """The stored id of a user's imported card: ids never clash with public or others' cards."""
    return f"u{user_id}~{card_id}"


def _parse(text: str, topic: str | None, title: str | None) -> ParsedNote:
    if text.lstrip("\ufeff").startswith("---"):
        return parse_note(text.lstrip("\ufeff"))
    return parse_plain(text, topic or "imported", title)


@router.post(
    "/import",
    response_model=ImportResult,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {media: {"schema": {"type": "string"}} for media in ACCEPTED},
        }
    },
    responses={
        400: ERROR_RESPONSES[404] | {"description": "Body is not UTF-8 text"},
        401: ERROR_RESPONSES[401],
        413: ERROR_RESPONSES[413],
        415: ERROR_RESPONSES[404] | {"description": "Not text/markdown or text/plain"},
        422: ERROR_RESPONSES[404] | {"description": "Empty note, or nothing importable"},
    },
)
async def import_note(
    request: Request,
    user: CurrentUser,
    session: SessionDep,
    topic: Annotated[str | None, Query(max_length=64, description="Topic for plain text")] = None,
    title: Annotated[str | None, Query(max_length=200)] = None,
) -> ImportResult:
    """Import a note (the request body) as the user's own cards."""
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media not in ACCEPTED:
        raise HTTPException(415, "send the note as text/markdown or text/plain")
    if topic is not None and not _TOPIC_RE.match(topic):
        raise HTTPException(422, "topic must be lowercase letters, digits and dashes")
    try:
        text = (await request.body()).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise HTTPException(400, f"note is not valid UTF-8 (byte {exc.start})") from exc
    if not text.strip():
        raise HTTPException(422, "note is empty")
    if "\x00" in text:
        raise HTTPException(422, "note contains NUL characters")
    note = _parse(text, topic, title)
    if note.topic is None:
        raise HTTPException(422, [e.__dict__ for e in note.errors])
    if len(note.cards) > MAX_CARDS:
        raise HTTPException(422, f"{len(note.cards)} cards: at most {MAX_CARDS} per import")
    assert user.id is not None
    result = _store(session, user.id, note)
    return result


def _store(session: Session, user_id: int, note: ParsedNote) -> ImportResult:
    """Upsert the note's cards for the user in one transaction."""
    with writing(session):
        return _upsert(session, user_id, note)


def _upsert(session: Session, user_id: int, note: ParsedNote) -> ImportResult:
    assert note.topic is not None
    now = utcnow()
    existing = {
        c.id: c
        for c in session.exec(
            select(CardRow).where(CardRow.owner_id == user_id, CardRow.topic == note.topic)
        )
    }
    added = updated = unchanged = retired = 0
    wanted = set()
    for position, card in enumerate(note.cards):
        cid = owned_id(user_id, card.id)
        wanted.add(cid)
        fields: dict[str, Any] = {
            "front": card.front,
            "back": card.back,
            "tags": list(card.tags),
            "source": f"import:{card.line}",
            "position": position,
            "retired": False,
        }
        row = existing.get(cid)
        if row is None:
            if session.get(CardRow, cid) is not None:  # same id under another topic of theirs
                raise HTTPException(422, f"card id '{card.id}' is already used in another topic")
            row = CardRow(
                id=cid, topic=note.topic, owner_id=user_id, created_at=now, updated_at=now, **fields
            )
            added += 1
        elif any(getattr(row, k) != v for k, v in fields.items()):
            for k, v in fields.items():
                setattr(row, k, v)
            row.updated_at = now
            updated += 1
        else:
            unchanged += 1
        session.add(row)
        session.flush()
        for old in session.exec(select(CardExample).where(CardExample.card_id == cid)):
            session.delete(old)
        for i, ex in enumerate(card.examples):
            session.add(
                CardExample(
                    card_id=cid,
                    position=i,
                    code=ex.code,
                    expected_output=ex.expected_output,
                    code_hash=code_hash(ex.code),
                )
            )
    for cid, row in existing.items():
        if cid not in wanted and not row.retired:
            row.retired, row.updated_at = True, now
            session.add(row)
            retired += 1
    session.commit()
    return ImportResult(
        topic=note.topic,
        cards_added=added,
        cards_updated=updated,
        cards_unchanged=unchanged,
        cards_retired=retired,
        errors=[ImportError_(line=e.line, message=e.message) for e in note.errors],
    )


def user_topics(session: Session, user_id: int) -> set[str]:
    """Topics the user has live imported cards in."""
    return set(
        session.exec(
            select(CardRow.topic)
            .where(CardRow.owner_id == user_id, col(CardRow.retired).is_(False))
            .distinct()
        ).all()
    )


def topic_exists(session: Session, topic: str, user_id: int | None) -> bool:
    """True for a live public topic, or one of the user's own."""
    row = session.get(TopicRow, topic)
    if row is not None and not row.retired:
        return True
    return user_id is not None and topic in user_topics(session, user_id)
