"""Anki collections are untrusted data: a crafted file costs no more than its size, no code
in its schema runs, every odd value is refused by name (422), and uploads run one at a time
per user (a lease in the database, so across processes) and a few at once per process.

Every collection here is built by the test with sqlite3, the way an attacker would."""

from __future__ import annotations

import io
import sqlite3
import struct
import time
import zipfile
from datetime import timedelta
from pathlib import Path

import genanki
import pytest
from sqlmodel import Session

from api.db import utcnow
from api.services.anki import AnkiRefused, HistoryLimits, read_review_history
from api.store.uploads import Busy, end_lease, take_lease

from .conftest import register
from .servers import cluster, statuses

BINARY = {"content-type": "application/octet-stream"}
GUID = genanki.guid_for("alpha-kib")  # a card of the fixture notes
NOTES = "CREATE TABLE notes (id INTEGER PRIMARY KEY, guid TEXT NOT NULL)"
CARDS = "CREATE TABLE cards (id INTEGER PRIMARY KEY, nid INTEGER NOT NULL)"
REVLOG = ("CREATE TABLE revlog (id INTEGER PRIMARY KEY, cid INTEGER NOT NULL, ease INTEGER, "
          "time INTEGER, type INTEGER)")  # fmt: skip


def _ms(days_ago: float) -> int:
    return int((utcnow() - timedelta(days=days_ago)).timestamp() * 1000)


def _collection(path: Path, *schema: str, reviews=(), notes=None, raw: bool = False) -> bytes:
    """A collection file: Anki's three tables (unless ``schema`` replaces them), one note of
    ours with one card, and ``reviews`` as (id, ease, time) of that card."""
    conn = sqlite3.connect(path)
    for sql in schema or (NOTES, CARDS, REVLOG):
        conn.execute(sql)
    if not raw:
        conn.execute(
            "INSERT INTO notes (id, guid) VALUES (?, ?)", (10, GUID) if notes is None else notes
        )
        conn.execute("INSERT INTO cards (id, nid) VALUES (20, 10)")
        for rid, ease, taken in reviews:
            conn.execute("INSERT INTO revlog VALUES (?, 20, ?, ?, 1)", (rid, ease, taken))
    conn.commit()
    conn.close()
    return path.read_bytes()


def _zip(name: str, data: bytes) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(name, data)
    return buf.getvalue()


def _post(client, auth, body: bytes):
    return client.post("/anki/review-history", content=body, headers=auth | BINARY)


def test_a_sound_collection_is_read(client, tmp_path) -> None:
    auth = register(client)
    good = _collection(tmp_path / "ok.anki2", reviews=[(_ms(3), 3, 4000), (_ms(1), 1, 2500.0)])
    r = _post(client, auth, _zip("collection.anki2", good))
    assert r.status_code == 200, r.text
    assert (r.json()["cards_imported"], r.json()["reviews_imported"]) == (1, 2)


@pytest.mark.serial  # a wall-clock bound: run alone (conftest)
def test_the_generated_column_of_the_issue_is_refused_before_it_runs(client, tmp_path) -> None:
    """The issue's file: guid computed as a 100 MB string per row. Refused by its schema, in
    far less than one row's work (16.5 s for 40 rows before)."""
    auth = register(client)
    path = tmp_path / "bomb.anki2"
    _collection(
        path, "CREATE TABLE notes (id INTEGER PRIMARY KEY, g TEXT)", CARDS, REVLOG, raw=True
    )
    conn = sqlite3.connect(path)
    conn.executemany("INSERT INTO notes (id, g) VALUES (?, 'x')", [(i,) for i in range(40)])
    conn.commit()
    # The column is added to the schema's text afterwards, as a crafted file's author would
    # (a virtual generated column is stored nowhere, so the rows stay as they are).
    conn.execute("PRAGMA writable_schema = ON")
    conn.execute(
        "UPDATE sqlite_master SET sql = 'CREATE TABLE notes (id INTEGER PRIMARY KEY, g TEXT, "
        "guid TEXT GENERATED ALWAYS AS (substr(printf(''%.*c'', 100000000, g), 1, 5)) VIRTUAL)' "
        "WHERE name = 'notes'"
    )
    conn.commit()
    conn.close()
    bomb = path.read_bytes()
    check = sqlite3.connect(path)  # SQLite reads guid as a virtual generated column (2)
    assert [r[6] for r in check.execute("PRAGMA table_xinfo(notes)")] == [0, 0, 2]
    check.close()
    assert len(bomb) < 20_000
    started = time.monotonic()
    r = _post(client, auth, _zip("collection.anki2", bomb))
    assert r.status_code == 422 and "notes.guid is generated" in r.json()["detail"], r.text
    assert time.monotonic() - started < 2


@pytest.mark.parametrize(
    ("schema", "named"),
    [
        ((NOTES, CARDS, REVLOG, "CREATE VIEW v AS SELECT printf('%.*c', 100000000, 'x')"),
         "a view (v)"),
        ((NOTES, CARDS, REVLOG,
          "CREATE TRIGGER t AFTER INSERT ON notes BEGIN SELECT 1; END"), "a trigger (t)"),
        (("CREATE VIRTUAL TABLE notes USING fts5(id, guid)", CARDS, REVLOG),
         "a virtual table (notes)"),
        (("CREATE TABLE notes (id INTEGER PRIMARY KEY, guid TEXT "
          "DEFAULT (printf('%.*c', 100000000, 'x')))", CARDS, REVLOG),
         "notes.guid has a computed default"),
        ((NOTES, CARDS, "CREATE TABLE revlog (id INTEGER PRIMARY KEY, cid, ease)"),
         "revlog lacks time, type"),
    ],
)  # fmt: skip
def test_code_in_the_schema_is_refused_by_name(client, tmp_path, schema, named) -> None:
    auth = register(client)
    body = _collection(tmp_path / "crafted.anki2", *schema, raw=True)
    r = _post(client, auth, body)
    assert r.status_code == 422 and named in r.json()["detail"], r.text
    assert client.get("/progress/reviews", headers=auth).json()["count"] == 0


def _schema_of(path: Path, tables: int) -> bytes:
    """A collection whose schema lists ``tables`` tables (written straight into
    sqlite_master, as a crafted file would be): SQLite's parsing of it grows as its square."""
    _collection(path)
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA writable_schema = ON")
    rows = ((f"t{i}", f"t{i}", f"CREATE TABLE t{i} (a)") for i in range(tables))
    conn.executemany("INSERT INTO sqlite_master VALUES ('table', ?, ?, 2, ?)", rows)
    conn.commit()
    conn.close()
    return path.read_bytes()


@pytest.mark.serial  # a wall-clock bound: run alone (conftest)
def test_a_huge_schema_is_cut_off_by_the_deadline(tmp_path) -> None:
    body = _schema_of(tmp_path / "schema.anki2", 20_000)  # ~1.3 s of parsing on this machine
    started = time.monotonic()
    # The object cap set out of the way, so the deadline is what stops it (however fast
    # this machine parses: 20,000 tables take far more than 20 ms anywhere).
    limits = HistoryLimits(seconds=0.02, schema_objects=1_000_000)
    with pytest.raises(AnkiRefused, match=r"took more than 0.02 s"):
        read_review_history(body, {GUID: "alpha-kib"}, limits)
    assert time.monotonic() - started < 1.0
    small = _schema_of(tmp_path / "some.anki2", 1200)
    with pytest.raises(AnkiRefused, match="more than 1,000 tables and indexes"):
        read_review_history(small, {GUID: "alpha-kib"})


def test_step_budget_and_value_length_bound_the_reading(tmp_path) -> None:
    many = _collection(tmp_path / "many.anki2", reviews=[(_ms(9) + i, 3, 10) for i in range(3000)])
    with pytest.raises(AnkiRefused, match="took more than 1,000 steps"):
        read_review_history(many, {GUID: "alpha-kib"}, HistoryLimits(query_steps=1000))
    long_guid = _collection(tmp_path / "long.anki2", notes=(10, "g" * 5000))
    with pytest.raises(AnkiRefused, match="string or blob too big"):
        read_review_history(long_guid, {GUID: "alpha-kib"}, HistoryLimits(value_bytes=4096))
    with pytest.raises(AnkiRefused, match="more than 0 cards"):
        read_review_history(long_guid, {GUID: "alpha-kib"}, HistoryLimits(cards=0))


def _lying_zip(data: bytes) -> bytes:
    """A stored zip whose central directory declares the member smaller than it is."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:
        z.writestr("collection.anki2", data)
    raw = bytearray(buf.getvalue())
    central = raw.rindex(b"PK\x01\x02")
    struct.pack_into("<I", raw, central + 24, len(data) // 2)  # uncompressed size
    return bytes(raw)


def test_odd_values_are_refused_by_name_never_a_500(client, tmp_path) -> None:
    auth = register(client)
    day = _ms(2)
    cases = [
        ([(2**53 - 1, 3, 1000)], "review-log row 9007199254740991: its id is the answer's time"),
        ([(5, 3, 1000)], "review-log row 5: its id"),
        ([(_ms(-3), 3, 1000)], "is not a time between 2006 and today"),  # three days ahead
        ([(day, 3, float("inf"))], f"review-log row {day}: the time taken is inf ms"),
        ([(day, 3, -5)], "the time taken is -5 ms"),
        ([(day, 3, "soon")], "the time taken is 'soon' ms"),
        ([(day, 7, 1000)], f"review-log row {day}: the button answered (ease) is 7, not 1 to 4"),
        ([(day, 0, 1000)], "(ease) is 0"),
        ([(day, 2.5, 1000)], "(ease) is 2.5"),
    ]
    for n, (reviews, named) in enumerate(cases):
        body = _collection(tmp_path / f"odd{n}.anki2", reviews=reviews)
        r = _post(client, auth, _zip("collection.anki2", body))
        assert r.status_code == 422 and named in r.json()["detail"], (named, r.text)
    sound = _collection(tmp_path / "sound.anki2", reviews=[(day, 3, 1000)])
    r = _post(client, auth, _lying_zip(sound))
    assert r.status_code == 422 and "not a readable zip (Bad CRC-32" in r.json()["detail"], r.text
    assert client.get("/progress/reviews", headers=auth).json()["count"] == 0
    assert _post(client, auth, _zip("collection.anki2", sound)).status_code == 200


def test_one_upload_per_user_at_a_time_holds_across_processes(client, tmp_path) -> None:
    """Another process's upload is a lease row: while it lives this user gets 429, others
    do not; once it expires (its process died), the next upload takes it over."""
    ada, bob = register(client, "ada"), register(client, "bob")
    ada_id = client.get("/users/me", headers=ada).json()["id"]
    body = _zip("collection.anki2", _collection(tmp_path / "c.anki2", reviews=[(_ms(1), 3, 10)]))
    now = utcnow()
    with Session(client.app.state.engine, expire_on_commit=False) as s:
        take_lease(s, ada_id, "anki", "other-process", now, now + timedelta(minutes=5))
        with pytest.raises(Busy):
            take_lease(s, ada_id, "anki", "second", now, now + timedelta(minutes=5))
    r = _post(client, ada, body)
    assert r.status_code == 429 and "still running" in r.json()["detail"], r.text
    assert 1 <= int(r.headers["Retry-After"]) <= 5
    assert _post(client, bob, body).status_code == 200
    with Session(client.app.state.engine, expire_on_commit=False) as s:
        end_lease(s, ada_id, "anki", "not-its-token")  # someone else's token frees nothing
    assert _post(client, ada, body).status_code == 429
    later = now + timedelta(minutes=10)  # the lease expired: taken over, then let go
    with Session(client.app.state.engine, expire_on_commit=False) as s:
        take_lease(s, ada_id, "anki", "after-crash", later, later + timedelta(minutes=5))
        end_lease(s, ada_id, "anki", "after-crash")
    assert _post(client, ada, body).status_code == 200


@pytest.mark.parametrize("engine", ["sqlite", "postgresql"])
def test_racing_uploads_of_one_user_read_one_at_a_time(engine, tmp_path) -> None:
    """Four uploads of one user at once, spread over two server processes, each a file that
    takes a while to read: the ones that find the lease held get 429, the others 422."""
    from .conftest import PG_URL

    if engine == "postgresql" and not PG_URL:
        pytest.skip("no PostgreSQL (scripts/with-postgres.sh)")
    slow = _schema_of(tmp_path / "slow.anki2", 12_000)
    with cluster(engine, tmp_path) as c:
        auth, _ = c.user()
        codes = statuses(c.race(4, "POST", "/anki/review-history", content=slow,
                                headers=auth | BINARY))  # fmt: skip
        assert 429 in codes and set(codes) <= {422, 429}, codes
        assert c.scalar("SELECT count(*) FROM upload_lease") == 0  # every lease let go
