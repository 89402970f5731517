"""The start-up sync of the content directory's notes into the database.

New cards are added, edited cards are updated in place (keeping their review history),
removed cards are retired, never deleted: all through ``api.store.notes.write_cards``, the
writer imports use too. Cards of a note that failed to parse are left as they are: a typo
must not retire a whole topic.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert, select, update
from sqlmodel import Session

from content import LoadedContent

from ..db import utcnow, writing
from .notes import CARD, TOPIC, stored_cards, write_cards
from .tags import retag_public

__all__ = ["SyncReport", "sync_public"]


@dataclass(frozen=True)
class SyncReport:
    """What a sync changed."""

    added: int
    updated: int
    retired: int
    unchanged: int
    errors: tuple[str, ...]


def sync_public(session: Session, loaded: LoadedContent) -> SyncReport:
    """Bring the public cards and topics in line with ``loaded``, in one write transaction.
    A note that failed to parse (``loaded.skipped_files``) keeps its topic and cards."""
    now = utcnow()
    skipped = set(loaded.skipped_files)
    with writing(session):
        _sync_topics(session, loaded, skipped)
        existing = stored_cards(session, CARD.c.owner_id.is_(None))
        wanted: dict[str, tuple[dict[str, Any], list[tuple[str, str]]]] = {}
        positions: dict[str, int] = {}
        for card, file in loaded.cards:
            position = positions[file] = positions.get(file, -1) + 1
            fields = {"topic": card.topic, "front": card.front, "back": card.back,
                      "tags": list(card.tags), "source": f"{file}:{card.line}",
                      "position": position, "retired": False}  # fmt: skip
            wanted[card.id] = (fields, [(e.code, e.expected_output) for e in card.examples])
        retire = [
            cid for cid, old in existing.items()
            if cid not in wanted and old.fields["source"].rsplit(":", 1)[0] not in skipped
        ]  # fmt: skip
        counts = write_cards(session, owner_id=None, wanted=wanted, existing=existing,
                             retire=retire, now=now)  # fmt: skip
        retag_public(session)  # card_tag: each card's note tags (and own ones)
        session.commit()
    errors = tuple(str(e) for e in loaded.errors)
    return SyncReport(counts.added, counts.updated, counts.retired, counts.unchanged, errors)


def _sync_topics(session: Session, loaded: LoadedContent, skipped: set[str]) -> None:
    """Add or refresh the notes' topic rows; retire those whose file is gone."""
    conn = session.connection()
    stored = {r.id: r for r in conn.execute(select(TOPIC))}
    for topic in loaded.topics:
        values = {"title": topic.title, "tags": list(topic.tags), "source_file": topic.file,
                  "retired": False}  # fmt: skip
        if topic.id in stored:
            conn.execute(update(TOPIC).where(TOPIC.c.id == topic.id).values(**values))
        else:
            conn.execute(insert(TOPIC).values(id=topic.id, **values))
    live = {t.id for t in loaded.topics}
    gone = [
        r.id for r in stored.values()
        if r.id not in live and r.source_file and r.source_file not in skipped and not r.retired
    ]  # fmt: skip
    if gone:
        conn.execute(update(TOPIC).where(TOPIC.c.id.in_(gone)).values(retired=True))
