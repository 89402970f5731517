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
SQLite file opened read-only; its schema is read first and any code in it (a view, trigger,
virtual table, generated column or computed default) refuses the file before a row is read;
the reading has a step budget, a deadline, a length limit per value and row caps; every
value used is checked. Nothing in the file is executed.
"""

from __future__ import annotations

import hashlib
import json
import lzma
import os
import re
import sqlite3
import tempfile
import time
import zipfile
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from io import BytesIO as _BytesIO

import genanki
from markdown_it import MarkdownIt

from ..refusals import Invalid
from ..store.cards import CardRecord
from ..store.study import CardSchedule, LoggedReview

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
#
# The file comes from a user, so it is data and nothing else. A SQLite file carries code in
# its schema: a generated column, a column default, a view or a trigger is an expression the
# file's author wrote, and SQLite evaluates it while reading (``trusted_schema=OFF`` keeps
# out only application functions: built-ins such as ``printf('%.*c', 10**8, x)`` still run,
# and one such call is one VM step, so a step budget alone does not see it). So the schema
# is read first, from ``sqlite_master`` and ``PRAGMA table_xinfo`` (neither evaluates an
# expression of the file), and a file with anything but plain tables, plain columns and
# literal defaults is refused before any row of its tables is read. The reading itself has
# a step budget and a deadline (the progress handler, which also interrupts the parsing of
# a schema of a million objects), SQLite's length limit on any one value, a small page
# cache, and row caps; every value used is checked, and an odd one refused by name.


@dataclass(frozen=True)
class HistoryLimits:
    """What reading a user's collection may cost."""

    collection_bytes: int = 64 * 1024 * 1024  # the collection, uncompressed
    notes: int = 100_000
    cards: int = 200_000
    reviews: int = 200_000
    schema_objects: int = 1000  # Anki's collections have a few dozen tables and indexes
    query_steps: int = 50_000_000  # SQLite VM steps, all queries of one file together
    seconds: float = 10.0  # wall clock for reading one file
    value_bytes: int = 1_000_000  # the longest string or blob SQLite may read or build
    cache_kib: int = 8192  # SQLite's page cache for the file


HISTORY_LIMITS = HistoryLimits()
_COLLECTIONS = ("collection.anki21", "collection.anki2")  # newest readable first
# Review-log ids are the answer's time in milliseconds: none before Anki existed (2006) or
# after now (a day's slack for clocks); the time taken is at most a day.
_FIRST_REVIEW_MS = 1_136_073_600_000  # 2006-01-01T00:00:00Z
_DAY_MS = 86_400_000
_NEEDED = {"notes": ("id", "guid"), "cards": ("id", "nid"),
           "revlog": ("id", "cid", "ease", "time", "type")}  # fmt: skip
# A column default SQLite may use for a short row: NULL, a number or a quoted string only.
_LITERAL = re.compile(r"(?is)\s*(null|[-+]?\s*(\d+(\.\d*)?|\.\d+)(e[-+]?\d+)?|'([^']|'')*'"
                      r"|x'[0-9a-f]*'|true|false|current_(time|date|timestamp))\s*")  # fmt: skip
# What reading a damaged or crafted zip can raise (beyond BadZipFile): all are the file's.
_ZIP_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, lzma.LZMAError,
               NotImplementedError, RuntimeError, EOFError, OSError, ValueError,
               KeyError)  # fmt: skip


class AnkiRefused(Invalid):
    """A file that cannot be read as an Anki collection (422)."""

    meaning = "Not a readable Anki collection, or a review history that cannot be replayed"


def _collection_bytes(data: bytes, limits: HistoryLimits) -> bytes:
    """The SQLite collection inside an .apkg/.colpkg zip, or the file itself."""
    if data[:16] == b"SQLite format 3\x00":
        if len(data) > limits.collection_bytes:
            raise AnkiRefused(f"the collection is over {limits.collection_bytes:,} bytes")
        return data
    try:
        return _unzipped(data, limits)
    except _ZIP_ERRORS as exc:  # a central directory that lies, a bad CRC, an odd method
        raise AnkiRefused(f"the package is not a readable zip ({_short(exc)})") from exc


def _unzipped(data: bytes, limits: HistoryLimits) -> bytes:
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
        # Never more than the limit, whatever the header declares (the CRC check at the end
        # of the declared size refuses a member whose content is longer or different).
        with package.open(info) as fh:
            blob = fh.read(limits.collection_bytes + 1)
    if len(blob) > limits.collection_bytes:
        raise AnkiRefused(f"the collection is over {limits.collection_bytes:,} bytes")
    return blob


def _short(value: object, width: int = 60) -> str:
    """A value for a message: its repr (a name or an error: its text), cut to ``width``
    characters."""
    if isinstance(value, BaseException):
        text = str(value) or type(value).__name__
    else:
        text = repr(value)
    return text if len(text) <= width else text[: width - 1] + "…"


def _name(value: object) -> str:
    """A name from the file's schema, for a message (cut to 60 characters)."""
    text = str(value)
    return text if len(text) <= 60 else text[:59] + "…"


class _Budget:
    """The progress handler: stops SQLite (an "interrupted" error) past the step budget or
    the deadline, whichever comes first, and remembers which."""

    def __init__(self, limits: HistoryLimits, every: int = 1000) -> None:
        self.limits, self.every = limits, every
        self.steps = 0
        self.deadline = time.monotonic() + limits.seconds
        self.exceeded: str | None = None

    def __call__(self) -> int:
        self.steps += self.every
        if self.steps > self.limits.query_steps:
            self.exceeded = f"more than {self.limits.query_steps:,} steps"
        elif time.monotonic() > self.deadline:
            self.exceeded = f"more than {self.limits.seconds:g} s"
        return 1 if self.exceeded else 0


def _open_readonly(path: str, limits: HistoryLimits, budget: _Budget) -> sqlite3.Connection:
    """The file, read-only and immutable, with its limits set before SQLite reads its schema."""
    conn = sqlite3.connect(f"file:{path}?mode=ro&immutable=1", uri=True)
    conn.set_progress_handler(budget, budget.every)
    conn.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, limits.value_bytes)
    conn.setlimit(sqlite3.SQLITE_LIMIT_EXPR_DEPTH, 100)
    conn.execute("PRAGMA trusted_schema = OFF")
    conn.execute("PRAGMA query_only = ON")
    conn.execute(f"PRAGMA cache_size = -{int(limits.cache_kib)}")
    return conn


def _check_schema(conn: sqlite3.Connection, limits: HistoryLimits) -> None:
    """Refuse a file whose schema holds code (views, triggers, virtual tables, generated
    columns, computed defaults) or lacks Anki's tables and columns. Reads only the schema."""
    rows = conn.execute("SELECT type, name, sql FROM sqlite_master LIMIT ?",
                        (limits.schema_objects + 1,)).fetchall()  # fmt: skip
    if len(rows) > limits.schema_objects:
        raise AnkiRefused(f"more than {limits.schema_objects:,} tables and indexes")
    kinds: dict[str, str] = {}
    for kind, name, sql in rows:
        if kind in ("view", "trigger"):
            raise AnkiRefused(f"the collection has a {kind} ({_name(name)}): Anki's have none")
        if (
            kind == "table"
            and isinstance(sql, str)
            and re.match(r"(?is)\s*create\s+virtual\b", sql)
        ):
            raise AnkiRefused(f"the collection has a virtual table ({_name(name)})")
        if kind not in ("table", "index"):
            raise AnkiRefused(f"the collection has a schema object of type {_name(kind)}")
        kinds[str(name)] = kind
    for table, needed in _NEEDED.items():
        if kinds.get(table) != "table":
            raise AnkiRefused("not an Anki collection: notes, cards and revlog tables expected")
        columns = conn.execute(f"PRAGMA table_xinfo({table})").fetchall()
        for _cid, column, _type, _notnull, default, _pk, hidden in columns:
            if hidden:
                raise AnkiRefused(f"column {table}.{_name(column)} is generated or hidden: "
                                  f"Anki's columns are plain")  # fmt: skip
            if default is not None and not _LITERAL.fullmatch(str(default)):
                raise AnkiRefused(f"column {table}.{_name(column)} has a computed default "
                                  f"({_short(default)})")  # fmt: skip
        missing = set(needed) - {str(c[1]) for c in columns}
        if missing:
            raise AnkiRefused(f"not an Anki collection: {table} lacks {', '.join(sorted(missing))}")


def read_review_history(
    data: bytes, guids: dict[str, str], limits: HistoryLimits = HISTORY_LIMITS
) -> dict[str, list[tuple[int, datetime, int]]]:
    """The review history of the collection's cards whose note GUID is in ``guids`` (GUID →
    our card id): per card id, (rating 1-4, when, milliseconds taken), oldest first. Only
    answers (revlog types learn, review, relearn) count; manual reschedules do not."""
    blob = _collection_bytes(data, limits)
    fd, path = tempfile.mkstemp(suffix=".anki2")
    budget = _Budget(limits)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(blob)
        del blob
        conn: sqlite3.Connection | None = None
        try:
            conn = _open_readonly(path, limits, budget)
            _check_schema(conn, limits)
            return _histories(conn, guids, limits)
        except sqlite3.Error as exc:
            if budget.exceeded:
                raise AnkiRefused(f"reading the collection took {budget.exceeded}") from exc
            raise AnkiRefused(f"the collection could not be read ({_short(exc)})") from exc
        except MemoryError as exc:
            raise AnkiRefused("the collection needs too much memory to read") from exc
        finally:
            if conn is not None:
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
    del notes
    found = conn.execute("SELECT id, nid FROM cards LIMIT ?", (limits.cards + 1,)).fetchall()
    if len(found) > limits.cards:
        raise AnkiRefused(f"more than {limits.cards:,} cards")
    cards = {cid: ours[nid] for cid, nid in found
             if isinstance(nid, int) and nid in ours}  # fmt: skip
    rows = conn.execute(
        "SELECT id, cid, ease, time FROM revlog WHERE type IN (0, 1, 2) "
        "ORDER BY id LIMIT ?", (limits.reviews + 1,)
    ).fetchall()  # fmt: skip
    if len(rows) > limits.reviews:
        raise AnkiRefused(f"more than {limits.reviews:,} reviews")
    latest_ms = int(time.time() * 1000) + _DAY_MS
    out: dict[str, list[tuple[int, datetime, int]]] = {}
    for rid, cid, ease, taken in rows:
        if not isinstance(cid, int) or cid not in cards:
            continue  # not a card of ours: its values are not used
        out.setdefault(cards[cid], []).append(_answer(rid, ease, taken, latest_ms))
    return out


def _answer(rid: object, ease: object, taken: object, latest_ms: int) -> tuple[int, datetime, int]:
    """One review-log row of a card of ours as (rating, when, ms taken); an odd value is
    refused by name (the whole file: a history with a hole would replay wrongly)."""
    row = f"review-log row {_short(rid, 24)}"
    if type(rid) is not int or not _FIRST_REVIEW_MS <= rid <= latest_ms:
        raise AnkiRefused(
            f"{row}: its id is the answer's time in milliseconds since 1970, "
            f"and {_short(rid, 24)} is not a time between 2006 and today"
        )
    if type(ease) is not int or not 1 <= ease <= 4:
        raise AnkiRefused(f"{row}: the button answered (ease) is {_short(ease, 24)}, not 1 to 4")
    if type(taken) not in (int, float) or not 0 <= taken <= _DAY_MS:  # type: ignore[operator]
        # (NaN and infinity fail the comparison: no OverflowError from int(inf) below.)
        raise AnkiRefused(f"{row}: the time taken is {_short(taken, 24)} ms, not 0 to "
                          f"{_DAY_MS:,}")  # fmt: skip
    when = datetime.fromtimestamp(rid / 1000, tz=UTC)
    return ease, when, int(taken)  # type: ignore[call-overload]
