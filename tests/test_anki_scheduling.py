"""Scheduling carried to Anki in the .apkg export, and an Anki collection's review history
imported back, both read and written by Anki's own library."""

from __future__ import annotations

import io
import sqlite3
import zipfile
from datetime import timedelta

import pytest
from sqlmodel import Session

from api.db import utcnow, writing
from api.services.scheduler import FSRS
from api.store.study import apply_review, load_state

from .conftest import register

anki_collection = pytest.importorskip("anki.collection")
from anki.import_export_pb2 import (  # noqa: E402
    ExportAnkiPackageOptions,
    ImportAnkiPackageOptions,
    ImportAnkiPackageRequest,
)

BINARY = {"content-type": "application/octet-stream"}


def _uid(client, auth) -> int:
    return client.get("/users/me", headers=auth).json()["id"]


def _study(client, uid: int) -> None:
    now = utcnow()
    with Session(client.app.state.engine) as s, writing(s):
        for item, days, rating in (("alpha-kib", 20, "easy"), ("alpha-kib", 10, "good"),
                                   ("alpha-one-by-one", 0.01, "good"),
                                   ("alpha-float32-bytes", 1, "good")):  # fmt: skip
            apply_review(s, FSRS(), user_id=uid, item_id=item, kind="card", rating=rating,
                         elapsed_ms=3000, now=now - timedelta(days=days))  # fmt: skip
        s.commit()


def _into_anki(tmp_path, package: bytes, name: str = "user"):
    path = tmp_path / f"{name}.apkg"
    path.write_bytes(package)
    col = anki_collection.Collection(str(tmp_path / f"{name}.anki2"))
    options = ImportAnkiPackageOptions(update_notes=1, with_scheduling=True)
    col.import_anki_package(ImportAnkiPackageRequest(package_path=str(path), options=options))
    return col


def test_export_carries_state_flags_and_log_into_anki(client, tmp_path) -> None:
    auth = register(client)
    uid = _uid(client, auth)
    _study(client, uid)
    client.post("/cards/alpha-float32-bytes/suspend", headers=auth)
    assert client.get("/topics/alpha/anki.apkg", params={"scheduling": "true"}).status_code == 401
    r = client.get("/topics/alpha/anki.apkg", params={"scheduling": "true"}, headers=auth)
    col = _into_anki(tmp_path, r.content)
    try:
        cards = {col.get_card(c).note()["CardId"]: col.get_card(c) for c in col.find_cards("")}
        with Session(client.app.state.engine) as s:
            kib = load_state(s, uid, "alpha-kib")
        assert kib is not None
        review = cards["alpha-kib"]
        assert (review.type, review.queue, review.reps, review.lapses) == (2, 2, 2, 0)
        days_left = (kib.due - utcnow()).total_seconds() / 86400
        assert abs(review.due - col.sched.today - days_left) <= 1  # Anki's day rollover
        assert review.ivl == round((kib.due - kib.last_review).total_seconds() / 86400)
        assert review.memory_state.stability == pytest.approx(kib.stability, rel=1e-4)
        assert review.memory_state.difficulty == pytest.approx(kib.difficulty, rel=1e-4)
        assert cards["alpha-one-by-one"].type == 1  # learning
        assert cards["alpha-float32-bytes"].queue == -1  # suspended
        assert cards["alpha-kib"].desired_retention == pytest.approx(0.9)
        new = next(c for k, c in cards.items() if k.startswith("alpha-c"))
        assert (new.type, new.queue, new.memory_state) == (0, 0, None)
        eases = col.db.list("SELECT ease FROM revlog WHERE cid = ? ORDER BY id", review.id)
        assert eases == [4, 3] and col.db.scalar("SELECT count() FROM revlog") == 4
    finally:
        col.close()


def _collection_with_history(client, tmp_path) -> tuple[bytes, list[tuple[int, int]]]:
    """Our plain package studied in Anki: revlog rows for alpha-kib, exported the way older
    Anki versions read (legacy)."""
    col = _into_anki(tmp_path, client.get("/topics/alpha/anki.apkg").content, "anki-user")
    try:
        cid = next(c for c in col.find_cards("") if col.get_card(c).note()["CardId"] == "alpha-kib")
        start = int((utcnow() - timedelta(days=30)).timestamp() * 1000)
        answers = [(start, 3), (start + 600_000, 3), (start + 4 * 86_400_000, 1),
                   (start + 4 * 86_400_000 + 600_000, 3), (start + 9 * 86_400_000, 4)]  # fmt: skip
        for n, (ms, ease) in enumerate(answers):
            kind = 0 if n < 2 else 1
            col.db.execute("INSERT INTO revlog VALUES (?, ?, -1, ?, 1, 0, 2500, 4000, ?)",
                           ms, cid, ease, kind)  # fmt: skip
        col.db.execute("INSERT INTO revlog VALUES (?, ?, -1, 0, 5, 0, 2500, 0, 4)",
                       start + 10 * 86_400_000, cid)  # a manual reschedule: not an answer  # fmt: skip
        out = tmp_path / "with-history.apkg"
        options = ExportAnkiPackageOptions(with_scheduling=True, with_media=False, legacy=True)
        col.export_anki_package(out_path=str(out), options=options, limit=None)
    finally:
        col.close()
    return out.read_bytes(), answers


def test_anki_history_is_replayed_through_the_users_scheduler(client, tmp_path) -> None:
    auth = register(client)
    client.patch("/users/me/settings", json={"desired_retention": 0.85}, headers=auth)
    package, answers = _collection_with_history(client, tmp_path)
    r = client.post("/anki/review-history", content=package, headers=auth | BINARY)
    assert r.status_code == 200, r.text
    assert r.json() == {"cards_matched": 1, "cards_imported": 1, "reviews_imported": 5,
                        "cards_already_studied": []}  # fmt: skip
    log = client.get("/progress/reviews", headers=auth).json()["data"]
    assert [(e["item_id"], e["rating"], e["elapsed_ms"]) for e in log] == [
        ("alpha-kib", ease, 4000) for _ms, ease in answers]  # fmt: skip
    # The state is what the user's own scheduler gives for those answers at those times.
    fsrs, card = FSRS(0.85), None
    from datetime import UTC, datetime

    from api.services.scheduler import RATINGS
    from api.services.study_rules import card_for_fsrs

    for ms, ease in answers:
        when = datetime.fromtimestamp(ms / 1000, tz=UTC)
        card = card or card_for_fsrs(fsrs, None, when)
        card, _ = fsrs.scheduler.review_card(card, list(RATINGS.values())[ease - 1], when)
    with Session(client.app.state.engine) as s:
        state = load_state(s, _uid(client, auth), "alpha-kib")
    assert state is not None and (state.reps, state.lapses) == (5, 1)
    assert state.due == card.due and state.stability == pytest.approx(card.stability)
    again = client.post("/anki/review-history", content=package, headers=auth | BINARY)
    assert again.json() == {"cards_matched": 1, "cards_imported": 0, "reviews_imported": 0,
                            "cards_already_studied": ["alpha-kib"]}  # fmt: skip


def _sqlite_bytes(path, *statements: str) -> bytes:
    conn = sqlite3.connect(path)
    for sql in statements:
        conn.execute(sql)
    conn.commit()
    conn.close()
    return path.read_bytes()


def _zip(**members: bytes) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, data in members.items():
            z.writestr(name.replace("_", "."), data)
    return buf.getvalue()


def test_unreadable_files_are_refused_and_write_nothing(client, tmp_path) -> None:
    auth = register(client)
    views = _sqlite_bytes(
        tmp_path / "views.anki2", "CREATE TABLE n (id, guid)", "CREATE VIEW notes AS SELECT * FROM n",
        "CREATE TABLE cards (id, nid)", "CREATE TABLE revlog (id, cid, ease, time, type)")  # fmt: skip
    cases = [
        (b"not a zip at all", 422),
        (_zip(media=b"{}"), 422),  # no collection inside
        (_zip(collection_anki21b=b"\x28\xb5\x2f\xfd", collection_anki2=b"stub"), 422),
        (_zip(collection_anki2=b"SQLite format 3\x00" + b"\x00" * 200), 422),
        (views, 422),
        (_sqlite_bytes(tmp_path / "other.anki2", "CREATE TABLE t (a)"), 422),
    ]  # fmt: skip
    for body, status in cases:
        r = client.post("/anki/review-history", content=body, headers=auth | BINARY)
        assert r.status_code == status, (body[:40], r.text)
    r = client.post(
        "/anki/review-history", content=b"x", headers=auth | {"content-type": "text/plain"}
    )
    assert r.status_code == 415
    assert client.post("/anki/review-history", content=b"x", headers=BINARY).status_code == 401
    assert client.get("/progress/reviews", headers=auth).json()["count"] == 0
