"""Card tags in ``card_tag`` (what filtering by tag reads), and editing one's own cards.

A card's tags are its note's (a public topic's, or the user's note row: ``api.store.imports``)
and its own (a card row's ``tags``). ``card_tag`` indexes the card row's own tags, one row
per tag; an imported note's tags stay once on its note row, never copied to each card (an
import of 2,000 cards under a note with 32 tags would otherwise write 64,000 rows), and a tag
filter asks the notes too (``store.imports.note_topics``). A public card's row carries its
topic's tags (the content sync copies them: operator content, bounded by the note limits).
``card_tag`` is rewritten for a card whenever its tags change: at the content sync (public
cards), after an import (the topic's cards) and on an edit.

Under concurrency the rows of a card are rewritten under the card row's lock (``SELECT …
FOR UPDATE``; SQLite's single writer serialises the same), cards taken in id order, so two
edits, or an edit and an import, never interleave their delete and insert (which would mix
two tag sets, or collide on the primary key).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import Table, cast, delete, func, insert, select, update
from sqlalchemy.types import LargeBinary
from sqlmodel import Session

from content import ParsedNote

from ..db import utcnow, writing
from ..refusals import TooLarge
from ..tables import CardExample, CardTag
from . import Forbidden, NotFound, from_row
from .cards import CARD, CardRecord, card_columns, readable_by
from .imports import ImportCounts, Quota, import_note

__all__ = [
    "MAX_CARD_TAGS",
    "MAX_TAG_CHARS",
    "retag",
    "retag_public",
    "retag_topic",
    "store_import",
    "card_tags",
    "edit_card",
    "OverQuota",
]

_EXAMPLE: Table = CardExample.__table__  # type: ignore[attr-defined]
TAG: Table = CardTag.__table__  # type: ignore[attr-defined]
MAX_CARD_TAGS = 32  # a card's own tags, as a note's
MAX_TAG_CHARS = 40
_CHUNK = 500


class OverQuota(TooLarge):
    """An edit that would take the user's imported text past their quota (413)."""

    meaning = "The edit would take your imported text past your quota"


@dataclass(frozen=True)
class _Tagged:
    id: str
    owner_id: int | None
    topic: str
    tags: list[str]


def _effective(session: Session, cards: list[_Tagged]) -> dict[str, list[str]]:
    """Each card's own tags, each once (``card_tag`` holds 64 characters)."""
    return {c.id: [t[:64] for t in dict.fromkeys(c.tags)] for c in cards}


def _rewrite(session: Session, wanted: dict[str, list[str]]) -> None:
    conn = session.connection()
    ids = list(wanted)
    for start in range(0, len(ids), _CHUNK):
        conn.execute(delete(TAG).where(TAG.c.card_id.in_(ids[start : start + _CHUNK])))
    rows = [{"card_id": cid, "tag": tag} for cid, tags in wanted.items() for tag in set(tags)]
    if rows:
        conn.execute(insert(TAG), rows)


def _cards(session: Session, where: Any, lock: bool) -> list[_Tagged]:
    columns = (CARD.c.id, CARD.c.owner_id, CARD.c.topic, CARD.c.tags)
    query = select(*columns).where(where).order_by(CARD.c.id)
    if lock:
        query = query.with_for_update()
    return [_Tagged(**r._mapping) for r in session.connection().execute(query)]


def retag(session: Session, card_ids: Iterable[str]) -> None:
    """Rewrite ``card_tag`` for these cards, in the caller's write transaction."""
    ids = sorted(set(card_ids))
    for start in range(0, len(ids), _CHUNK):
        cards = _cards(session, CARD.c.id.in_(ids[start : start + _CHUNK]), lock=True)
        _rewrite(session, _effective(session, cards))


def retag_public(session: Session) -> int:
    """Bring the public cards' tag rows in line (the content sync, in its transaction);
    the number of cards whose tags changed."""
    cards = _cards(session, CARD.c.owner_id.is_(None), lock=False)
    wanted = _effective(session, cards)
    stored: dict[str, set[str]] = {}
    query = select(TAG.c.card_id, TAG.c.tag).join(CARD, CARD.c.id == TAG.c.card_id)
    for row in session.connection().execute(query.where(CARD.c.owner_id.is_(None))):
        stored.setdefault(row.card_id, set()).add(row.tag)
    changed = {cid: tags for cid, tags in wanted.items() if set(tags) != stored.get(cid, set())}
    if changed:
        _rewrite(session, changed)
    return len(changed)


def store_import(session: Session, user_id: int, note: ParsedNote, quota: Quota) -> ImportCounts:
    """Store a user's imported note (``api.store.imports.import_note``), then its cards'
    ``card_tag`` rows (for ``GET /cards?tag=``); raises ``ImportRefused``."""
    assert note.topic is not None
    counts = import_note(session, user_id, note, quota)
    retag_topic(session, user_id, note.topic)
    return counts


def retag_topic(session: Session, user_id: int, topic: str) -> None:
    """Rewrite the tag rows of the user's imported cards of ``topic`` (after an import)."""
    with writing(session):
        where = (CARD.c.owner_id == user_id) & (CARD.c.topic == topic)
        cards = _cards(session, where, lock=True)
        _rewrite(session, _effective(session, cards))
        session.commit()


def card_tags(session: Session, card_ids: list[str]) -> dict[str, list[str]]:
    """The tags of these cards as ``card_tag`` holds them, sorted (in the caller's read)."""
    out: dict[str, list[str]] = {cid: [] for cid in card_ids}
    if card_ids:
        query = select(TAG.c.card_id, TAG.c.tag).where(TAG.c.card_id.in_(card_ids))
        for row in session.connection().execute(query.order_by(TAG.c.tag)):
            out[row.card_id].append(row.tag)
    return out


def _octets(session: Session, column: Any) -> Any:
    if session.get_bind().dialect.name == "postgresql":
        return func.octet_length(column)
    return func.length(cast(column, LargeBinary))


def _imported_bytes(session: Session, user_id: int) -> int:
    """UTF-8 bytes of the user's imported cards and their examples (the import quota's
    measure, ``api.store.imports``)."""
    cards = select(func.coalesce(func.sum(
        _octets(session, CARD.c.front) + _octets(session, CARD.c.back)), 0)
    ).where(CARD.c.owner_id == user_id)  # fmt: skip
    examples = (
        select(func.coalesce(func.sum(
            _octets(session, _EXAMPLE.c.code) + _octets(session, _EXAMPLE.c.expected_output)), 0))
        .select_from(_EXAMPLE.join(CARD, CARD.c.id == _EXAMPLE.c.card_id))
        .where(CARD.c.owner_id == user_id)
    )  # fmt: skip
    conn = session.connection()
    return int(conn.execute(cards).scalar_one()) + int(conn.execute(examples).scalar_one())


def _size(front: str, back: str, tags: Iterable[str]) -> int:
    return len(front.encode()) + len(back.encode()) + sum(len(t.encode()) for t in tags)


def edit_card(
    session: Session, user_id: int, card_id: str, changes: dict[str, Any], max_bytes: int
) -> CardRecord:
    """Change the front, back or own tags of one of the user's imported cards; it keeps its
    id and review history. Forbidden for a public card, NotFound for anyone else's, and
    OverQuota when it would take the user past their byte quota."""
    with writing(session):
        query = select(*card_columns()).where(CARD.c.id == card_id, readable_by(user_id))
        row = session.connection().execute(query.with_for_update()).first()
        if row is None:
            raise NotFound(f"no card '{card_id}'")
        card = from_row(CardRecord, row)
        if card.owner_id is None:
            raise Forbidden("public cards cannot be edited; import your own copy")
        new = replace(card, **changes)
        grows = _size(new.front, new.back, new.tags) - _size(card.front, card.back, card.tags)
        if grows > 0 and _imported_bytes(session, user_id) + grows > max_bytes:
            raise OverQuota(f"this edit would take your imported text past {max_bytes:,} bytes")
        values = changes | {"updated_at": utcnow()}
        session.connection().execute(update(CARD).where(CARD.c.id == card_id).values(**values))
        retag(session, [card_id])
        session.commit()
    return new
