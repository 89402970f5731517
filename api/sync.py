"""Sync the content directory into the database at start-up.

New cards are added, edited cards are updated in place (keeping their review history),
removed cards are retired, never deleted. Cards of a note that failed to parse are left as
they are: a typo must not retire a whole topic.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from content import LoadedContent

from .db import begin_write, utcnow
from .tables import CardExample, CardRow, TopicRow

__all__ = ["SyncReport", "sync_content", "code_hash"]

log = logging.getLogger("flopcards")


@dataclass(frozen=True)
class SyncReport:
    """What a sync changed."""

    added: int
    updated: int
    retired: int
    unchanged: int
    errors: tuple[str, ...]


def code_hash(code: str) -> str:
    """Content hash of an example's code: its cached output is valid while this matches."""
    return hashlib.sha256(code.encode()).hexdigest()


def sync_content(engine: Engine, loaded: LoadedContent) -> SyncReport:
    """Bring the public cards and topics in the database in line with ``loaded``."""
    added = updated = unchanged = retired = 0
    now = utcnow()
    with Session(engine, expire_on_commit=False) as session:
        begin_write(session)
        existing = {
            c.id: c for c in session.exec(select(CardRow).where(col(CardRow.owner_id).is_(None)))
        }
        topics = {t.id: t for t in session.exec(select(TopicRow))}
        for topic in loaded.topics:
            trow = topics.get(topic.id)
            if trow is None:
                session.add(
                    TopicRow(
                        id=topic.id,
                        title=topic.title,
                        tags=list(topic.tags),
                        source_file=topic.file,
                    )
                )
            else:
                trow.title, trow.tags = topic.title, list(topic.tags)
                trow.source_file, trow.retired = topic.file, False
                session.add(trow)
        live_topics = {t.id for t in loaded.topics}
        for trow in topics.values():
            gone = trow.id not in live_topics and trow.source_file not in loaded.skipped_files
            if gone and not trow.retired and trow.source_file:
                trow.retired = True
                session.add(trow)

        seen: set[str] = set()
        positions: dict[str, int] = {}
        for card, file in loaded.cards:
            seen.add(card.id)
            position = positions[file] = positions.get(file, -1) + 1
            fields: dict[str, Any] = {
                "topic": card.topic,
                "front": card.front,
                "back": card.back,
                "tags": list(card.tags),
                "source": f"{file}:{card.line}",
                "position": position,
                "retired": False,
            }
            row = existing.get(card.id)
            if row is None:
                row = CardRow(id=card.id, created_at=now, updated_at=now, **fields)
                session.add(row)
                added += 1
            elif any(getattr(row, k) != v for k, v in fields.items()):
                for k, v in fields.items():
                    setattr(row, k, v)
                row.updated_at = now
                session.add(row)
                updated += 1
            else:
                unchanged += 1
            session.flush()
            _sync_examples(session, card.id, card.examples)

        skipped = set(loaded.skipped_files)
        for row in existing.values():
            if row.id in seen or row.retired:
                continue
            if row.source.rsplit(":", 1)[0] in skipped:
                continue
            row.retired = True
            row.updated_at = now
            session.add(row)
            retired += 1
        session.flush()
        # Imported here: api.store.imports (through the tag store) imports this module.
        from .store.tags import retag_public

        retag_public(session)  # card_tag: each card's note tags (and own ones)
        session.commit()
    report = SyncReport(added, updated, retired, unchanged, tuple(str(e) for e in loaded.errors))
    for err in report.errors:
        log.warning("note skipped: %s", err)
    return report


def _sync_examples(session: Session, card_id: str, examples: tuple) -> None:
    """Replace a card's examples when they changed, keeping cached runs of unchanged code."""
    rows = list(
        session.exec(
            select(CardExample)
            .where(CardExample.card_id == card_id)
            .order_by(col(CardExample.position))
        )
    )
    wanted = [(e.code, e.expected_output) for e in examples]
    if [(r.code, r.expected_output) for r in rows] == wanted:
        return
    cached = {r.code_hash: r for r in rows if r.ran_at is not None}
    for r in rows:
        session.delete(r)
    session.flush()
    for i, (code, expected) in enumerate(wanted):
        h = code_hash(code)
        prev = cached.get(h)
        session.add(
            CardExample(
                card_id=card_id,
                position=i,
                code=code,
                expected_output=expected,
                code_hash=h,
                output=prev.output if prev else None,
                ok=(prev.output == expected) if prev and prev.output is not None else None,
                duration_ms=prev.duration_ms if prev else None,
                ran_at=prev.ran_at if prev else None,
            )
        )
