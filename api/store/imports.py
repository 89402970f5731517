"""Users' imported notes in the database: one write per import, within the user's quota, with
note-level data stored once.

- An imported card is stored as ``u<user id>~<card id>`` (``owned_id``), so ids never clash
  with public cards or other users' cards.
- What belongs to the note, its title and tags, is stored once, on a topic row of the user's
  own (``owned_topic_id``), not copied into each card: a card row keeps only tags of its own
  (the note format has none yet, so an empty list). ``note_tags`` and ``with_note_tags`` put
  them back together when cards are read. The row is stored retired, so that every listing
  of public topics, which all skip retired rows, leaves it out; it is never served itself.
- The quota counts every card the user has imported, retired ones too (they stay in the
  database, with their review history), and their UTF-8 bytes: questions, answers, tags and
  examples. It is checked inside the write transaction, so two imports cannot both pass it.
- The card rows are written by ``api.store.notes.write_cards``, the writer the start-up
  sync uses too: SQLAlchemy Core, in bulk (2,000 cards are one select, one ``executemany``
  per kind of change, and one commit).

Functions here take a ``Session`` and run in a worker thread; they raise ``ImportRefused``
(a refusal of ``api.refusals``: 413 or 422), never an ``HTTPException``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import Table, cast, func, insert, select, update
from sqlalchemy.types import LargeBinary
from sqlmodel import Session

from content import Card, ParsedNote

from ..db import utcnow, writing
from ..refusals import TEXT, Invalid, Refusal, TooLarge, message_object
from ..tables import CardExample, CardRow, TopicRow
from .notes import StoredCard, stored_cards, write_cards

__all__ = [
    "ImportCounts",
    "ImportRefused",
    "Quota",
    "import_note",
    "owned_id",
    "owned_topic_id",
    "note_tags",
    "imported_note",
    "note_topics",
    "with_note_tags",
    "merge_tags",
]

CARD: Table = CardRow.__table__  # type: ignore[attr-defined]
EXAMPLE: Table = CardExample.__table__  # type: ignore[attr-defined]
TOPIC: Table = TopicRow.__table__  # type: ignore[attr-defined]
IMPORTED = "import"  # source_file of a user's note row


class ImportRefused(Refusal):
    """An import that cannot be stored: over the quota (``ImportTooLarge``, 413) or with
    nothing storable (``ImportInvalid``, 422). A note with no card at all is answered with
    its first parse errors (``routers/notes.py``): the detail is then an object."""

    detail_schema = {
        "anyOf": [
            TEXT,
            message_object(
                errors={"type": "array", "items": {"type": "object"}},
                errors_total={"type": "integer"},
            ),
        ]
    }


class ImportTooLarge(ImportRefused, TooLarge):
    """The import would take the user past their quota."""

    meaning = "The import would take your imported cards or text past your quota"


class ImportInvalid(ImportRefused, Invalid):
    """Nothing in the note can be stored (no card, or an id used in another topic)."""

    meaning = "Nothing in the note can be imported (no card, or an id of another topic)"


@dataclass(frozen=True)
class Quota:
    """How much a user may have imported in all."""

    cards: int
    bytes: int


@dataclass(frozen=True)
class ImportCounts:
    """What an import changed."""

    added: int
    updated: int
    unchanged: int
    retired: int


def owned_id(user_id: int, card_id: str) -> str:
    """The stored id of a user's imported card: ids never clash with public or others' cards."""
    return f"u{user_id}~{card_id}"


def owned_topic_id(user_id: int, topic: str) -> str:
    """The id of a user's note row for ``topic``: within the 64 characters of a topic id,
    and never a public topic's (those are lowercase letters, digits and dashes only)."""
    digest = hashlib.sha256(topic.encode()).hexdigest()[:24]
    return f"u{user_id}~{digest}"


def merge_tags(note: Iterable[str], own: Iterable[str]) -> list[str]:
    """A card's tags as served: its note's, then its own, each once, in order."""
    return list(dict.fromkeys([*note, *own]))


def card_bytes(front: str, back: str, tags: Sequence[str], examples: Iterable[Any]) -> int:
    """UTF-8 bytes of what a card stores (its examples' code and expected output too)."""
    size = len(front.encode()) + len(back.encode()) + sum(len(t.encode()) for t in tags)
    return size + sum(len(e.code.encode()) + len(e.expected_output.encode()) for e in examples)


def _octets(session: Session, column: Any) -> Any:
    """SQL for the UTF-8 byte length of a text column, on SQLite and PostgreSQL."""
    if session.get_bind().dialect.name == "postgresql":
        return func.octet_length(column)
    return func.length(cast(column, LargeBinary))


def _usage(session: Session, user_id: int) -> tuple[int, int]:
    """Cards the user has imported (retired ones too) and their UTF-8 bytes, examples included.

    Tags are not summed here (JSON in SQL differs between databases): a card row holds only
    its own, which the note format leaves empty, and the note's are bounded per note.
    """
    cards = select(
        func.count(),
        func.coalesce(func.sum(_octets(session, CARD.c.front) + _octets(session, CARD.c.back)), 0),
    ).where(CARD.c.owner_id == user_id)
    examples = (
        select(
            func.coalesce(
                func.sum(
                    _octets(session, EXAMPLE.c.code) + _octets(session, EXAMPLE.c.expected_output)
                ),
                0,
            )
        )
        .select_from(EXAMPLE.join(CARD, CARD.c.id == EXAMPLE.c.card_id))
        .where(CARD.c.owner_id == user_id)
    )
    conn = session.connection()
    count, text = conn.execute(cards).one()
    return int(count), int(text) + int(conn.execute(examples).scalar_one())


def _existing(session: Session, user_id: int, topic: str) -> dict[str, StoredCard]:
    """The user's stored cards of ``topic`` with their examples, by stored id."""
    return stored_cards(session, (CARD.c.owner_id == user_id) & (CARD.c.topic == topic))


def _bytes(card: StoredCard) -> int:
    fields = card.fields
    return card_bytes(fields["front"], fields["back"], fields["tags"], card.examples)


def _clashes(session: Session, user_id: int, topic: str, ids: list[str]) -> str | None:
    """The first wanted id the user already has under another topic, if any."""
    query = select(CARD.c.id).where(
        CARD.c.owner_id == user_id, CARD.c.topic != topic, CARD.c.id.in_(ids)
    )
    return session.connection().execute(query.limit(1)).scalar()


def _check_quota(
    session: Session, user_id: int, quota: Quota, replaced: list[StoredCard], cards: list[Card]
) -> None:
    """Refuse (413) an import that would take the user's cards or bytes past the quota."""
    count, size = _usage(session, user_id)
    count += len(cards) - len(replaced)
    size += sum(card_bytes(c.front, c.back, (), c.examples) for c in cards)
    size -= sum(_bytes(e) for e in replaced)
    if count > quota.cards:
        raise ImportTooLarge(
            f"this import would bring your imported cards to {count:,}, over your quota of "
            f"{quota.cards:,} (retired cards count too)",
        )
    if size > quota.bytes:
        raise ImportTooLarge(
            f"this import would bring your imported text to {size:,} bytes, over your quota "
            f"of {quota.bytes:,} bytes (retired cards count too)",
        )


def import_note(session: Session, user_id: int, note: ParsedNote, quota: Quota) -> ImportCounts:
    """Store the note's cards as the user's, in one write transaction.

    New cards are added, changed ones updated in place (keeping their reviews), cards no
    longer in the note retired; the note's title and tags are stored once. Raises
    ``ImportRefused`` and writes nothing when an id is taken or the quota would be passed.
    """
    assert note.topic is not None
    topic, now = note.topic, utcnow()
    wanted = {owned_id(user_id, c.id): c for c in note.cards}
    with writing(session):
        existing = _existing(session, user_id, topic)
        if not wanted and not existing:  # would only leave an empty note row behind
            raise ImportInvalid("the note has no card to import")
        clash = _clashes(session, user_id, topic, [cid for cid in wanted if cid not in existing])
        if clash is not None:
            card_id = clash.split("~", 1)[-1]
            raise ImportInvalid(f"card id '{card_id}' is already used in another topic")
        replaced = [existing[cid] for cid in wanted if cid in existing]
        _check_quota(session, user_id, quota, replaced, list(note.cards))
        cards = {cid: (_card_fields(card, topic, position), _examples(card))
                 for position, (cid, card) in enumerate(wanted.items())}  # fmt: skip
        retire = [cid for cid in existing if cid not in wanted]
        written = write_cards(session, owner_id=user_id, wanted=cards, existing=existing,
                              retire=retire, now=now)  # fmt: skip
        counts = ImportCounts(written.added, written.updated, written.unchanged, written.retired)
        _store_note(session, user_id, note)
        session.commit()
    return counts


def _card_fields(card: Card, topic: str, position: int) -> dict[str, Any]:
    return {
        "topic": topic,
        "front": card.front,
        "back": card.back,
        "tags": [],  # a card keeps only tags of its own; the note's are on its note row
        "source": f"import:{card.line}",
        "position": position,
        "retired": False,
    }


def _examples(card: Card) -> list[tuple[str, str]]:
    return [(e.code, e.expected_output) for e in card.examples]


def _store_note(session: Session, user_id: int, note: ParsedNote) -> None:
    """Write the note's title and tags, once, on the user's note row for its topic."""
    assert note.topic is not None
    tid = owned_topic_id(user_id, note.topic)
    values = {"title": note.title or note.topic, "tags": list(note.tags)}
    conn = session.connection()
    found = conn.execute(update(TOPIC).where(TOPIC.c.id == tid).values(**values)).rowcount
    if not found:
        conn.execute(insert(TOPIC).values(id=tid, source_file=IMPORTED, retired=True, **values))


def note_tags(session: Session, keys: Iterable[tuple[int | None, str]]) -> dict[Any, list[str]]:
    """The note-level tags of (owner id, topic) pairs: a public topic's for owner None, the
    user's note row's otherwise (an empty list when there is none)."""
    ids = {key: (key[1] if key[0] is None else owned_topic_id(key[0], key[1])) for key in keys}
    if not ids:
        return {}
    rows = session.connection().execute(
        select(TOPIC.c.id, TOPIC.c.tags).where(TOPIC.c.id.in_(set(ids.values())))
    )
    by_id = {r.id: list(r.tags) for r in rows}
    return {key: by_id.get(tid, []) for key, tid in ids.items()}


def with_note_tags(session: Session, cards: Sequence[Any]) -> list[Any]:
    """Cards (frozen dataclasses with ``owner_id``, ``topic`` and ``tags``) with their note's
    tags merged into their own, in one query for all of them."""
    tags = note_tags(session, {(c.owner_id, c.topic) for c in cards})
    return [replace(c, tags=merge_tags(tags[(c.owner_id, c.topic)], c.tags)) for c in cards]


def imported_note(session: Session, user_id: int, topic: str) -> tuple[str, list[str]]:
    """Title and tags of the user's imported note on ``topic`` (the topic itself and no tags
    for notes imported before these were stored)."""
    query = select(TOPIC.c.title, TOPIC.c.tags).where(TOPIC.c.id == owned_topic_id(user_id, topic))
    row = session.connection().execute(query).first()
    return (topic, []) if row is None else (row.title, list(row.tags))


def note_topics(session: Session, user_id: int | None, tags: Iterable[str]) -> list[str]:
    """The user's imported topics whose note carries one of ``tags`` (note-level tags are
    stored once, on the note row, so a tag filter asks the notes as well as ``card_tag``)."""
    if user_id is None:
        return []
    topics = (
        session.connection()
        .execute(select(CARD.c.topic).where(CARD.c.owner_id == user_id).distinct())
        .scalars()
    )
    wanted = set(tags)
    notes = note_tags(session, {(user_id, t) for t in topics})
    return sorted(t for (_, t), found in notes.items() if wanted & set(found))
