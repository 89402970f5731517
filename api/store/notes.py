"""One writer of card rows, for both sources of notes: the content directory (the start-up
sync, ``sync_public``) and users' imports (``api.store.imports``).

- New cards are added, changed ones updated in place (same id, so their review history
  stays), cards no longer in their note retired, never deleted.
- A card's examples are replaced only when its (code, expected output) list changed, and a
  stored run of the same code (by ``code_hash``) is carried over, so an edited note does not
  re-run the examples it did not touch. (Imported examples are never run, so there is
  nothing to carry for them.)
- Statements are SQLAlchemy Core, in bulk: one select per table, one ``executemany`` per
  kind of change (the ORM flushed row by row and took seconds for 2,000 cards).

The start-up sync (``api.store.sync``) and the example runner (``pending_examples``,
``record_example_run``) reach card rows only through here.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Table, bindparam, delete, insert, select, update
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session

from content.runner import outputs_match

from ..db import utcnow, writing
from ..tables import CardExample, CardRow, TopicRow

__all__ = [
    "CardCounts",
    "StoredCard",
    "StoredExample",
    "code_hash",
    "stored_cards",
    "write_cards",
    "pending_examples",
    "record_example_run",
]

CARD: Table = CardRow.__table__  # type: ignore[attr-defined]
EXAMPLE: Table = CardExample.__table__  # type: ignore[attr-defined]
TOPIC: Table = TopicRow.__table__  # type: ignore[attr-defined]
CARD_FIELDS = ("topic", "front", "back", "tags", "source", "position", "retired")


def code_hash(code: str) -> str:
    """Content hash of an example's code: its stored output is valid while this matches."""
    return hashlib.sha256(code.encode()).hexdigest()


@dataclass(frozen=True)
class StoredExample:
    """An example as stored, with its last run (``ran_at`` None: never run)."""

    code: str
    expected_output: str
    code_hash: str
    output: str | None
    duration_ms: int | None
    ran_at: datetime | None


@dataclass(frozen=True)
class StoredCard:
    """A stored card as far as the writer compares it: its fields and its examples."""

    fields: dict[str, Any]
    examples: list[StoredExample]


@dataclass(frozen=True)
class CardCounts:
    """What a write of cards changed."""

    added: int
    updated: int
    unchanged: int
    retired: int


def stored_cards(session: Session, where: ColumnElement[bool]) -> dict[str, StoredCard]:
    """The stored cards matching ``where``, with their examples in order, by id."""
    conn = session.connection()
    rows = conn.execute(select(CARD.c.id, *(CARD.c[k] for k in CARD_FIELDS)).where(where))
    cards = {r.id: {k: r._mapping[k] for k in CARD_FIELDS} for r in rows}
    examples: dict[str, list[StoredExample]] = {cid: [] for cid in cards}
    query = (
        select(EXAMPLE.c.card_id, *(EXAMPLE.c[f] for f in StoredExample.__dataclass_fields__))
        .select_from(EXAMPLE.join(CARD, CARD.c.id == EXAMPLE.c.card_id))
        .where(where)
        .order_by(EXAMPLE.c.card_id, EXAMPLE.c.position)
    )
    for ex in conn.execute(query):
        fields = {f: ex._mapping[f] for f in StoredExample.__dataclass_fields__}
        examples[ex.card_id].append(StoredExample(**fields))
    return {cid: StoredCard(fields, examples[cid]) for cid, fields in cards.items()}


def write_cards(
    session: Session,
    *,
    owner_id: int | None,
    wanted: dict[str, tuple[dict[str, Any], list[tuple[str, str]]]],
    existing: dict[str, StoredCard],
    retire: list[str],
    now: datetime,
) -> CardCounts:
    """Insert, update and retire card rows, and replace changed examples, in the caller's
    write transaction. ``wanted``: stored id → (the card's fields, all of ``CARD_FIELDS``;
    its examples as (code, expected output)); ``existing``: what ``stored_cards`` read of
    them; ``retire``: stored ids to retire (already retired ones are left alone)."""
    conn = session.connection()
    new, changed, same = [], [], 0
    for cid, (fields, _examples) in wanted.items():
        old = existing.get(cid)
        if old is None:
            new.append({"id": cid, "owner_id": owner_id, **fields,
                        "created_at": now, "updated_at": now})  # fmt: skip
        elif any(old.fields[k] != v for k, v in fields.items()):
            changed.append({"cid": cid, **fields, "updated_at": now})
        else:
            same += 1
    if new:
        conn.execute(insert(CARD), new)
    if changed:
        conn.execute(update(CARD).where(CARD.c.id == bindparam("cid")), changed)
    _replace_examples(session, wanted, existing)
    gone = [{"cid": cid, "updated_at": now} for cid in retire
            if cid in existing and not existing[cid].fields["retired"]]  # fmt: skip
    if gone:
        retired = update(CARD).where(CARD.c.id == bindparam("cid")).values(retired=True)
        conn.execute(retired, gone)
    return CardCounts(len(new), len(changed), same, len(gone))


def _replace_examples(
    session: Session,
    wanted: dict[str, tuple[dict[str, Any], list[tuple[str, str]]]],
    existing: dict[str, StoredCard],
) -> None:
    """Give each card the examples of its note, touching only the cards whose changed, and
    keep the stored run of every example whose code is unchanged."""
    stale, rows = [], []
    for cid, (_fields, examples) in wanted.items():
        old = existing[cid].examples if cid in existing else []
        if [(e.code, e.expected_output) for e in old] == examples:
            continue
        if old:
            stale.append(cid)
        ran = {e.code_hash: e for e in old if e.ran_at is not None}
        for i, (code, expected) in enumerate(examples):
            digest = code_hash(code)
            prev = ran.get(digest)
            output = prev.output if prev else None
            rows.append({
                "card_id": cid, "position": i, "code": code, "expected_output": expected,
                "code_hash": digest, "output": output,
                "ok": (output == expected) if output is not None else None,
                "duration_ms": prev.duration_ms if prev else None,
                "ran_at": prev.ran_at if prev else None,
            })  # fmt: skip
    conn = session.connection()
    if stale:
        conn.execute(delete(EXAMPLE).where(EXAMPLE.c.card_id.in_(stale)))
    if rows:
        conn.execute(insert(EXAMPLE), rows)


# --- the example runner ---------------------------------------------------------------------


def pending_examples(session: Session) -> list[tuple[int, str]]:
    """(example id, code) of public examples with no stored run of their current code."""
    query = (
        select(EXAMPLE.c.id, EXAMPLE.c.code)
        .select_from(EXAMPLE.join(CARD, CARD.c.id == EXAMPLE.c.card_id))
        .where(CARD.c.owner_id.is_(None), EXAMPLE.c.ran_at.is_(None))
        .order_by(EXAMPLE.c.id)
    )
    rows = [(r.id, r.code) for r in session.connection().execute(query)]
    session.commit()
    return rows


def record_example_run(
    session: Session, example_id: int, code: str, output: str, succeeded: bool, duration_ms: int
) -> tuple[str, bool] | None:
    """Store a run of an example whose code is still ``code``: (its card's id, whether the
    output matched the expected one), or None when it was re-synced meanwhile (the new code
    gets its own turn)."""
    with writing(session):
        where = (EXAMPLE.c.id == example_id) & (EXAMPLE.c.code == code)
        query = select(EXAMPLE.c.card_id, EXAMPLE.c.expected_output).where(where)
        row = session.connection().execute(query).first()
        if row is None:
            return None
        ok = succeeded and outputs_match(output, row.expected_output)
        values = {"output": output, "ok": ok, "duration_ms": duration_ms, "ran_at": utcnow()}
        session.connection().execute(update(EXAMPLE).where(where).values(**values))
        session.commit()
    return row.card_id, ok
