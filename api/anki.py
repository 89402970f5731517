"""Anki packages built with genanki, optionally carrying a user's scheduling, and the review
history of an Anki collection read back for the cards it shares with this service.

Note GUIDs derive from card ids, so importing a newer package into Anki updates the notes
instead of duplicating them, and a collection that imported our package can be matched
back card by card.

Scheduling is written into the package's collection the way Anki stores it: each card's
type, queue, due, interval, repetitions, lapses and FSRS memory state (``data``: stability,
difficulty, desired retention), and one ``revlog`` row per logged answer; Anki's importer keeps
them when asked to import scheduling.

Reading a collection from a user: only a zip of bounded size, whose collection is a plain
SQLite file opened read-only with ``trusted_schema`` off (no function runs from the file's
schema), tables checked to be tables (not views), a step budget on every query, and nothing
but three tables read. Nothing in the file is executed.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import tempfile
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from io import BytesIO as _BytesIO

import genanki
from markdown_it import MarkdownIt

from .store.cards import CardRecord
from .store.study import CardSchedule, LoggedReview

__all__ = [
    "build_apkg",
    "MODEL_ID",
    "deck_id",
    "CardSchedule",
    "LoggedReview",
    "AnkiRefused",
    "read_review_history",
    "HISTORY_LIMITS",
]

# Fixed forever: Anki matches note types by id, so changing it would fork users' decks.
MODEL_ID = 1_734_069_001
_md = MarkdownIt("commonmark", {"html": False})  # raw HTML in notes is escaped, not rendered

MODEL = genanki.Model(
    MODEL_ID,
    "flopcards basic",
    fields=[{"name": "Front"}, {"name": "Back"}, {"name": "Source"}, {"name": "CardId"}],
    templates=[
        {
            "name": "Card 1",
            "qfmt": "{{Front}}",
            "afmt": '{{FrontSide}}<hr id="answer">{{Back}}<div class="source">{{Source}}</div>',
        }
    ],
    css=(
        ".card { font-family: sans-serif; font-size: 18px; }\n"
        ".source { color: #888; font-size: 12px; }"
    ),
)


def deck_id(topic: str) -> int:
    """A stable deck id per topic (Anki wants a positive 31-bit-ish integer)."""
    return int(hashlib.sha256(f"flopcards:{topic}".encode()).hexdigest()[:7], 16) + (1 << 30)


def _html(text: str) -> str:
    return _md.render(text).strip()


def build_apkg(
    topic: str,
    title: str,
    cards: Iterable[CardRecord],
    schedules: dict[str, CardSchedule] | None = None,
    desired_retention: float = 0.9,
) -> bytes:
    """An .apkg with one deck ``flopcards::<title>`` holding ``cards``, and, given
    ``schedules`` (by card id), the user's scheduling of them."""
    deck = genanki.Deck(deck_id(topic), f"flopcards::{title}")
    for card in cards:
        deck.add_note(
            genanki.Note(
                model=MODEL,
                fields=[_html(card.front), _html(card.back), _html(card.source), card.id],
                tags=[t.replace(" ", "_") for t in card.tags] + [f"topic::{topic}"],
                guid=genanki.guid_for(card.id),
            )
        )
    fd, path = tempfile.mkstemp(suffix=".apkg")
    os.close(fd)
    try:
        genanki.Package(deck).write_to_file(path)
        if schedules:
            _add_scheduling(path, schedules, desired_retention)
        with open(path, "rb") as fh:
            return fh.read()
    finally:
        os.unlink(path)


# --- scheduling into the package ----------------------------------------------------------

_TYPE = {1: 1, 2: 2, 3: 3}  # our FSRS state → Anki's card type (learn, review, relearn)
_REVLOG_TYPE = {None: 0, 1: 0, 2: 1, 3: 2}  # the state answered from → revlog type


def _add_scheduling(path: str, schedules: dict[str, CardSchedule], retention: float) -> None:
    """Rewrite the package's collection with each scheduled card's state and revlog."""
    with zipfile.ZipFile(path) as package:
        members = {name: package.read(name) for name in package.namelist()}
    fd, db_path = tempfile.mkstemp(suffix=".anki2")
    os.close(fd)
    try:
        with open(db_path, "wb") as fh:
            fh.write(members["collection.anki2"])
        conn = sqlite3.connect(db_path)
        try:
            _write_schedules(conn, schedules, retention)
            conn.commit()
        finally:
            conn.close()
        with open(db_path, "rb") as fh:
            members["collection.anki2"] = fh.read()
    finally:
        os.unlink(db_path)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as package:
        for name, data in members.items():
            package.writestr(name, data)


def _write_schedules(
    conn: sqlite3.Connection, schedules: dict[str, CardSchedule], retention: float
) -> None:
    crt, conf = conn.execute("SELECT crt, conf FROM col").fetchone()
    # Answers are logged on four buttons (Anki's v2 scheduler and later): without this, Anki
    # reads the collection as the old v1 scheduler's and renumbers learning answers.
    conn.execute("UPDATE col SET conf = ?", (json.dumps(json.loads(conf) | {"schedVer": 2}),))
    revlog_ids: set[int] = set()
    for card_id, sched in schedules.items():
        row = conn.execute(
            "SELECT c.id FROM cards c JOIN notes n ON n.id = c.nid WHERE n.guid = ?",
            (genanki.guid_for(card_id),),
        ).fetchone()
        if row is None:
            continue
        anki_id = row[0]
        conn.execute(
            "UPDATE cards SET type = ?, queue = ?, due = ?, ivl = ?, factor = ?, reps = ?, "
            "lapses = ?, left = ?, data = ? WHERE id = ?",
            (*_card_values(sched, crt, retention), anki_id),
        )
        for review in sched.reviews:
            conn.execute(
                "INSERT INTO revlog VALUES (?, ?, -1, ?, ?, 0, 2500, ?, ?)",
                _revlog_values(review, anki_id, revlog_ids),
            )


def _card_values(sched: CardSchedule, crt: int, retention: float) -> tuple:
    """type, queue, due, ivl, factor, reps, lapses, left and data of an Anki card."""
    ctype = _TYPE.get(sched.state, 1)
    due_ts = int(sched.due.timestamp())
    last = sched.last_review or sched.due
    if ctype == 2:
        queue, due = 2, (due_ts - crt) // 86400  # review: a day number from the collection's
        ivl = max(1, round((sched.due - last).total_seconds() / 86400))
    else:
        queue, due, ivl = 1, due_ts, 0  # (re)learning: a time in seconds
    if sched.suspended:
        queue = -1
    elif sched.buried:
        queue = -3
    data = {"dr": round(retention, 4)}
    if sched.stability is not None and sched.difficulty is not None:
        data |= {"s": round(sched.stability, 4), "d": round(sched.difficulty, 4)}
    return (ctype, queue, due, ivl, 2500, sched.reps, sched.lapses, 0, json.dumps(data))


def _revlog_values(review: LoggedReview, anki_id: int, used: set[int]) -> tuple:
    """id (ms, unique), cid, ease, ivl, lastIvl=0, factor, time, type of a revlog row."""
    rid = int(review.reviewed_at.timestamp() * 1000)
    while rid in used:
        rid += 1
    used.add(rid)
    seconds = (review.due_after - review.reviewed_at).total_seconds()
    ivl = round(seconds / 86400) if review.state_after == 2 else -int(seconds)
    return (rid, anki_id, review.rating, ivl, min(review.elapsed_ms, 60_000),
            _REVLOG_TYPE.get(review.state_before, 0))  # fmt: skip


# --- review history out of an Anki collection ---------------------------------------------


@dataclass(frozen=True)
class HistoryLimits:
    """What reading a user's collection may cost."""

    collection_bytes: int = 64 * 1024 * 1024  # the collection, uncompressed
    notes: int = 100_000
    reviews: int = 200_000
    query_steps: int = 50_000_000  # SQLite VM steps per query


HISTORY_LIMITS = HistoryLimits()
_COLLECTIONS = ("collection.anki21", "collection.anki2")  # newest readable first


class AnkiRefused(Exception):
    """A file that cannot be read as an Anki collection (a 4xx for the user)."""


def _collection_bytes(data: bytes, limits: HistoryLimits) -> bytes:
    """The SQLite collection inside an .apkg/.colpkg zip, or the file itself."""
    if data[:16] == b"SQLite format 3\x00":
        return data
    try:
        package = zipfile.ZipFile(_BytesIO(data))
    except zipfile.BadZipFile as exc:
        raise AnkiRefused("not an Anki package (.apkg, .colpkg) or collection") from exc
    with package:
        names = set(package.namelist())
        name = next((n for n in _COLLECTIONS if n in names), None)
        if name is None or ("collection.anki21b" in names and name == "collection.anki2"):
            raise AnkiRefused(
                "this package stores its collection in Anki's newer compressed format only: "
                "export it with 'Support older Anki versions' ticked"
            )
        info = package.getinfo(name)
        if info.file_size > limits.collection_bytes:
            raise AnkiRefused(f"the collection is over {limits.collection_bytes:,} bytes")
        with package.open(info) as fh:
            blob = fh.read(limits.collection_bytes + 1)
    if len(blob) > limits.collection_bytes:
        raise AnkiRefused(f"the collection is over {limits.collection_bytes:,} bytes")
    return blob


def _open_readonly(path: str, limits: HistoryLimits) -> sqlite3.Connection:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    conn.execute("PRAGMA trusted_schema = OFF")
    conn.execute("PRAGMA query_only = ON")
    steps = {"n": 0}

    def budget() -> int:
        steps["n"] += 1000
        return 1 if steps["n"] > limits.query_steps else 0

    conn.set_progress_handler(budget, 1000)
    try:
        kinds = dict(conn.execute("SELECT name, type FROM sqlite_master WHERE name IN "
                                  "('notes', 'cards', 'revlog')").fetchall())  # fmt: skip
    except sqlite3.Error:
        conn.close()
        raise
    if kinds != {"notes": "table", "cards": "table", "revlog": "table"}:
        conn.close()
        raise AnkiRefused("not an Anki collection: notes, cards and revlog tables expected")
    return conn


def read_review_history(
    data: bytes, guids: dict[str, str], limits: HistoryLimits = HISTORY_LIMITS
) -> dict[str, list[tuple[int, datetime, int]]]:
    """The review history of the collection's cards whose note GUID is in ``guids`` (GUID →
    our card id): per card id, (rating 1-4, when, milliseconds taken), oldest first. Only
    answers (revlog types learn, review, relearn) count; manual reschedules do not."""
    blob = _collection_bytes(data, limits)
    fd, path = tempfile.mkstemp(suffix=".anki2")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(blob)
        try:
            conn = _open_readonly(path, limits)
        except sqlite3.Error as exc:
            raise AnkiRefused(f"not an Anki collection ({exc})") from exc
        try:
            return _histories(conn, guids, limits)
        except sqlite3.Error as exc:
            raise AnkiRefused(f"the collection could not be read ({exc})") from exc
        finally:
            conn.close()
    finally:
        os.unlink(path)


def _histories(
    conn: sqlite3.Connection, guids: dict[str, str], limits: HistoryLimits
) -> dict[str, list[tuple[int, datetime, int]]]:
    notes = conn.execute("SELECT id, guid FROM notes LIMIT ?", (limits.notes + 1,)).fetchall()
    if len(notes) > limits.notes:
        raise AnkiRefused(f"more than {limits.notes:,} notes")
    ours = {nid: guids[guid] for nid, guid in notes if isinstance(guid, str) and guid in guids}
    cards = {cid: ours[nid] for cid, nid in conn.execute("SELECT id, nid FROM cards")
             if nid in ours}  # fmt: skip
    rows = conn.execute(
        "SELECT id, cid, ease, time FROM revlog WHERE type IN (0, 1, 2) AND ease BETWEEN 1 "
        "AND 4 ORDER BY id LIMIT ?", (limits.reviews + 1,)
    ).fetchall()  # fmt: skip
    if len(rows) > limits.reviews:
        raise AnkiRefused(f"more than {limits.reviews:,} reviews")
    out: dict[str, list[tuple[int, datetime, int]]] = {}
    for rid, cid, ease, taken in rows:
        if cid in cards and isinstance(rid, int) and 0 < rid < 2**53:
            when = datetime.fromtimestamp(rid / 1000, tz=UTC)
            out.setdefault(cards[cid], []).append((int(ease), when, max(0, int(taken or 0))))
    return out
