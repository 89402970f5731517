"""Cards and topics, and the one rule of who sees which card.

A public card (``owner_id`` NULL) is readable by everyone; an imported card only by its
owner. A card is *studiable* when it is readable and live (not retired). Every query of
cards here, and the study queries in ``api.store.study``, take their conditions from
``readable_by`` / ``studiable_by``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Table, and_, func, or_, select
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session

from ..tables import CardExample, CardRow, CardTag, TopicRow
from . import NotFound, from_row
from .imports import imported_note, note_topics, with_note_tags

__all__ = [
    "CARD",
    "CardRecord",
    "ExampleRecord",
    "TopicRecord",
    "readable_by",
    "studiable_by",
    "card_columns",
    "count_public_cards",
    "list_cards",
    "card_detail",
    "list_topics",
    "topic_cards",
    "topic_exists",
    "unknown_topics",
    "user_topics",
    "studiable_ids",
]

CARD: Table = CardRow.__table__  # type: ignore[attr-defined]
_EXAMPLE: Table = CardExample.__table__  # type: ignore[attr-defined]
_TOPIC: Table = TopicRow.__table__  # type: ignore[attr-defined]
_TAG: Table = CardTag.__table__  # type: ignore[attr-defined]


def readable_by(user: Any) -> ColumnElement[bool]:
    """Cards ``user`` may read: public ones and their own. ``user`` is a user id, a bind
    parameter (prebuilt statements) or None (anonymous: public cards only)."""
    if user is None:
        return CARD.c.owner_id.is_(None)
    return or_(CARD.c.owner_id.is_(None), CARD.c.owner_id == user)


def studiable_by(user: Any) -> ColumnElement[bool]:
    """Cards ``user`` may study: readable and live."""
    return and_(CARD.c.retired.is_(False), readable_by(user))


def card_columns() -> tuple[Any, ...]:
    """The columns of a :class:`CardRecord`, by name."""
    return tuple(CARD.c[name] for name in CardRecord.__dataclass_fields__)


@dataclass(frozen=True)
class CardRecord:
    """A card as stored."""

    id: str
    topic: str
    front: str
    back: str
    tags: list[str]
    source: str
    retired: bool
    owner_id: int | None
    position: int


@dataclass(frozen=True)
class ExampleRecord:
    """An example of a card with its last run."""

    card_id: str
    code: str
    expected_output: str
    output: str | None
    ok: bool | None
    duration_ms: int | None
    ran_at: datetime | None


@dataclass(frozen=True)
class TopicRecord:
    """A topic and its number of live cards: public, or one of the user's imported notes."""

    id: str
    title: str
    tags: list[str]
    cards: int
    imported: bool = False


def count_public_cards(session: Session) -> int:
    """Live public cards (the health check's figure)."""
    query = select(func.count()).select_from(CARD).where(studiable_by(None))
    return int(session.connection().execute(query).scalar_one())


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def list_cards(
    session: Session,
    user_id: int | None,
    topic: str | None,
    text: str | None,
    limit: int,
    offset: int,
    tag: str | None = None,
    flagged: Any = None,
) -> tuple[list[CardRecord], int]:
    """A page of the live cards ``user_id`` may read, by topic, text, tag (their own or
    their note's) and the user's flags (``flagged``: a condition from ``api.store.flags``),
    and the total."""
    where: list[Any] = [studiable_by(user_id)]
    if topic:
        where.append(CARD.c.topic == topic)
    if tag:  # its own tags (card_tag), or its imported note's (stored once, on the note)
        own = CARD.c.id.in_(select(_TAG.c.card_id).where(_TAG.c.tag == tag))
        notes = note_topics(session, user_id, [tag])
        where.append(or_(own, and_(CARD.c.owner_id == user_id, CARD.c.topic.in_(notes))))
    if flagged is not None:
        where.append(flagged)
    if text:
        pattern = f"%{_escape_like(text)}%"
        where.append(
            or_(CARD.c.front.ilike(pattern, escape="\\"), CARD.c.back.ilike(pattern, escape="\\"))
        )
    conn = session.connection()
    count = conn.execute(select(func.count()).select_from(CARD).where(*where)).scalar_one()
    order = (CARD.c.owner_id.is_not(None), CARD.c.topic, CARD.c.position, CARD.c.id)
    page = select(*card_columns()).where(*where).order_by(*order).offset(offset).limit(limit)
    rows = with_note_tags(session, [from_row(CardRecord, r) for r in conn.execute(page)])
    session.commit()
    return rows, int(count)


def _examples(session: Session, card_ids: list[str]) -> list[ExampleRecord]:
    columns = [_EXAMPLE.c[name] for name in ExampleRecord.__dataclass_fields__]
    query = (
        select(*columns)
        .where(_EXAMPLE.c.card_id.in_(card_ids))
        .order_by(_EXAMPLE.c.card_id, _EXAMPLE.c.position)
    )
    return [from_row(ExampleRecord, r) for r in session.connection().execute(query)]


def card_detail(
    session: Session, card_id: str, user_id: int | None
) -> tuple[CardRecord, list[ExampleRecord]]:
    """One readable card (retired ones too: old links keep working) and its examples."""
    query = select(*card_columns()).where(CARD.c.id == card_id, readable_by(user_id))
    row = session.connection().execute(query).first()
    if row is None:
        raise NotFound(f"no card '{card_id}'")
    examples = _examples(session, [card_id])
    (card,) = with_note_tags(session, [from_row(CardRecord, row)])
    session.commit()
    return card, examples


def list_topics(session: Session, user_id: int | None = None) -> list[TopicRecord]:
    """Every live public topic with its number of live public cards, then (with a user) the
    user's own imported topics with their note's title and tags, each in title order."""
    counts = (
        select(CARD.c.topic, func.count().label("cards"))
        .where(studiable_by(None))
        .group_by(CARD.c.topic)
        .subquery()
    )
    query = (
        select(_TOPIC.c.id, _TOPIC.c.title, _TOPIC.c.tags, func.coalesce(counts.c.cards, 0))
        .outerjoin(counts, counts.c.topic == _TOPIC.c.id)
        .where(_TOPIC.c.retired.is_(False))
        .order_by(_TOPIC.c.title)
    )
    rows = session.connection().execute(query).all()
    topics = [TopicRecord(t, title, tags, int(n)) for t, title, tags, n in rows]
    if user_id is not None:
        topics += _imported_topics(session, user_id)
    session.commit()
    return topics


def _imported_topics(session: Session, user_id: int) -> list[TopicRecord]:
    query = (
        select(CARD.c.topic, func.count().label("cards"))
        .where(CARD.c.owner_id == user_id, CARD.c.retired.is_(False))
        .group_by(CARD.c.topic)
    )
    counts = {r.topic: int(r.cards) for r in session.connection().execute(query)}
    notes = {t: imported_note(session, user_id, t) for t in counts}
    topics = [TopicRecord(t, notes[t][0], notes[t][1], n, True) for t, n in counts.items()]
    return sorted(topics, key=lambda t: (t.title, t.id))


def _public_topic(session: Session, topic: str) -> tuple[str, list[str]] | None:
    query = select(_TOPIC.c.title, _TOPIC.c.tags).where(
        _TOPIC.c.id == topic, _TOPIC.c.retired.is_(False)
    )
    row = session.connection().execute(query).first()
    return None if row is None else (row.title, row.tags)


def topic_cards(
    session: Session, topic: str, user_id: int | None
) -> tuple[str, list[str], list[CardRecord], list[ExampleRecord]]:
    """Title, tags, live cards and examples of a public topic, or of the user's own
    imported topic of that name; NotFound when there is neither."""
    public = _public_topic(session, topic)
    owner: ColumnElement[bool]
    if public is not None:
        (title, tags), owner = public, CARD.c.owner_id.is_(None)
    elif user_id is not None:
        (title, tags), owner = imported_note(session, user_id, topic), CARD.c.owner_id == user_id
    else:
        raise NotFound(f"no topic '{topic}'")
    query = (
        select(*card_columns())
        .where(CARD.c.topic == topic, owner, CARD.c.retired.is_(False))
        .order_by(CARD.c.position, CARD.c.id)
    )
    cards = [from_row(CardRecord, r) for r in session.connection().execute(query)]
    if not cards:
        raise NotFound(f"no topic '{topic}'")
    cards = with_note_tags(session, cards)
    examples = _examples(session, [c.id for c in cards])
    session.commit()
    return title, tags, cards, examples


def user_topics(session: Session, user_id: int) -> set[str]:
    """Topics the user has live imported cards in."""
    query = (
        select(CARD.c.topic).where(CARD.c.owner_id == user_id, CARD.c.retired.is_(False)).distinct()
    )
    return set(session.connection().execute(query).scalars())


def topic_exists(session: Session, topic: str, user_id: int | None) -> bool:
    """True for a live public topic, or one of the user's own."""
    if _public_topic(session, topic) is not None:
        return True
    return user_id is not None and topic in user_topics(session, user_id)


def unknown_topics(session: Session, topics: list[str], user_id: int) -> list[str]:
    """Those of ``topics`` that are neither a live public topic nor one of the user's."""
    unknown = [t for t in topics if not topic_exists(session, t, user_id)]
    session.commit()
    return unknown


def studiable_ids(session: Session, user_id: int) -> list[str]:
    """The ids of every card the user may study (to match an Anki collection's notes)."""
    query = select(CARD.c.id).where(studiable_by(user_id))
    ids = list(session.connection().execute(query).scalars())
    session.commit()
    return ids
