"""Syncing notes into the database: add, update in place, retire, skip malformed notes."""

from __future__ import annotations

import shutil
from pathlib import Path

from sqlmodel import Session, select
from typer.testing import CliRunner

from api.cli import app as cli
from api.tables import CardExample, CardRow, ReviewLog, TopicRow

from .conftest import FIXTURE_NOTES, register


def _copy_notes(tmp_path: Path) -> Path:
    notes = tmp_path / "notes"
    shutil.copytree(FIXTURE_NOTES, notes)
    return notes


def test_edit_updates_in_place_remove_retires_and_history_stays(make_client, tmp_path) -> None:
    notes = _copy_notes(tmp_path)
    with make_client(content_dir=notes) as client:
        auth = register(client)
        sid = client.post("/sessions", json={"topics": ["alpha"]}, headers=auth).json()["id"]
        r = client.post(f"/sessions/{sid}/answer", json={"item_id": "alpha-kib", "rating": "good"},
                        headers=auth)  # fmt: skip
        assert r.status_code == 200
    alpha = notes / "alpha.md"
    text = alpha.read_text()
    text = text.replace("A: KiB.", "A: KiB (kibibyte); KB is 1000 bytes.")
    text = text.replace(
        "Q: How many bytes does one float32 element take? {#alpha-float32-bytes}\nA: 4 bytes.\n", ""
    )
    alpha.write_text(text)
    (notes / "gamma.md").write_text(
        "---\ntopic: gamma\ntitle: Gamma\ntags: []\n---\nQ: New? {#gamma-new}\nA: Yes.\n"
    )
    with make_client(content_dir=notes) as client:
        report = client.app.state.sync_report
        assert (report.added, report.updated, report.retired) == (1, 3, 1)
        card = client.get("/cards/alpha-kib").json()
        assert card["back"] == "KiB (kibibyte); KB is 1000 bytes."
        assert client.get("/cards/alpha-float32-bytes").json()["retired"] is True
        assert client.get("/cards", params={"topic": "alpha"}).json()["count"] == 3
        assert (
            client.get("/progress/reviews", headers=auth).json()["data"][0]["item_id"]
            == "alpha-kib"
        )
        with Session(client.app.state.engine) as s:
            assert s.get(CardRow, "alpha-float32-bytes") is not None  # retired, not deleted
            assert len(s.exec(select(ReviewLog)).all()) == 1
    # Putting the card back revives it under the same id.
    alpha.write_text(
        "Q: How many bytes does one float32 element take? {#alpha-float32-bytes}\nA: 4.\n".join(
            [text.split("Q: What does")[0], "Q: What does" + text.split("Q: What does")[1]]
        )
    )
    with make_client(content_dir=notes) as client:
        assert client.get("/cards/alpha-float32-bytes").json()["retired"] is False


def test_malformed_note_is_skipped_and_keeps_its_cards(make_client, tmp_path) -> None:
    notes = _copy_notes(tmp_path)
    with make_client(content_dir=notes) as client:
        assert client.get("/health").json()["cards"] == 7
    (notes / "beta.md").write_text("---\ntopic: beta\ntitle: Beta\n---\nQ: broken?\n")
    with make_client(content_dir=notes) as client:
        report = client.app.state.sync_report
        assert report.errors == ("beta.md:5: question has no 'A:' answer",)
        assert report.retired == 0
        assert client.get("/health").json()["cards"] == 7  # still served from the last good sync
        with Session(client.app.state.engine) as s:
            assert s.get(TopicRow, "beta").retired is False


def test_examples_are_stored_with_the_card(client) -> None:
    card = client.get("/cards/alpha-one-by-one").json()
    assert card["source"] == "alpha.md:14"
    assert card["examples"] == [
        {"code": "print(3 * 3 * 64 * 128)", "expected_output": "73728", "output": None,
         "ok": None, "duration_ms": None, "ran_at": None}
    ]  # fmt: skip
    with Session(client.app.state.engine) as s:
        assert len(s.exec(select(CardExample)).all()) == 1


def test_cards_listing_search_and_paging(client) -> None:
    page = client.get("/cards", params={"limit": 2, "offset": 1}).json()
    assert page["count"] == 7
    assert [c["id"] for c in page["data"]] == ["alpha-one-by-one", "alpha-c03a5e374f23"]
    assert [c["topic"] for c in client.get("/cards").json()["data"]] == ["alpha"] * 4 + ["beta"] * 3
    hits = client.get("/cards", params={"q": "shuffle"}).json()
    assert [c["id"] for c in hits["data"]] == ["beta-shuffle"]
    assert client.get("/cards", params={"q": "100%"}).json()["count"] == 0  # % is literal
    assert client.get("/cards/nope").status_code == 404


def test_check_notes_cli(tmp_path) -> None:
    runner = CliRunner()
    ok = runner.invoke(cli, ["check-notes", str(FIXTURE_NOTES)])
    assert ok.exit_code == 0
    assert "2 notes, 2 topics, 7 cards, 1 examples, 0 problems" in ok.output
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "x.md").write_text(
        "---\ntopic: x\ntitle: X\n---\nA: orphan\nQ: a? {#x-a}\nA: b\nQ: a2? {#x-a}\nA: c\n"
    )
    (bad / "y.md").write_bytes(b"---\ntopic: y\ntitle: Y\n---\nQ: \xff?\n")
    res = runner.invoke(cli, ["check-notes", str(bad)])
    assert res.exit_code == 1
    assert "x.md:5: 'A:' without a 'Q:' before it" in res.output
    assert "x.md:8: duplicate card id 'x-a' (first used on line 6)" in res.output
    assert "y.md:5: note is not valid UTF-8" in res.output


def test_one_writer_carries_example_runs_over_by_code_hash(tmp_path) -> None:
    """The writer the sync and imports share (api.store.notes.write_cards): a card whose
    examples changed keeps the stored run of each example whose code did not change; a
    card whose examples did not change is not touched; a retired card comes back."""
    from sqlalchemy import select, update

    from api.db import Database, make_engine, utcnow, writing
    from api.migrate import upgrade
    from api.store.notes import CARD, EXAMPLE, code_hash, stored_cards, write_cards

    engine = make_engine(f"sqlite:///{tmp_path / 'n.db'}")
    upgrade(engine)
    db = Database(engine)
    fields = {"topic": "t", "front": "q", "back": "a", "tags": [], "source": "t.md:1",
              "position": 0, "retired": False}  # fmt: skip
    first = {"c1": (fields, [("print(1)", "1"), ("print(2)", "2")]), "c2": (fields, [("x", "")])}

    def write(session, wanted, retire):
        with writing(session):
            existing = stored_cards(session, CARD.c.owner_id.is_(None))
            counts = write_cards(session, owner_id=None, wanted=wanted, existing=existing,
                                 retire=retire, now=utcnow())  # fmt: skip
            session.commit()
        return counts

    assert db.call(write, first, []).added == 2
    ran = utcnow()

    def run_all(session):  # as the example runner records its runs
        with writing(session):
            session.connection().execute(
                update(EXAMPLE).values(output="1", ok=True, duration_ms=5, ran_at=ran)
            )
            session.commit()

    db.call(run_all)
    second = {"c1": (fields, [("print(1)", "1"), ("print(3)", "3")]), "c2": (fields, [("x", "")])}
    counts = db.call(write, second, [])
    assert (counts.added, counts.updated, counts.unchanged, counts.retired) == (0, 0, 2, 0)

    def examples(session):
        query = select(EXAMPLE).order_by(EXAMPLE.c.card_id, EXAMPLE.c.position)
        return [tuple(r) for r in session.connection().execute(query)]

    rows = {(r[1], r[2]): r for r in db.call(examples)}  # (card_id, position)
    kept, fresh, untouched = rows[("c1", 0)], rows[("c1", 1)], rows[("c2", 0)]
    assert kept[3:] == ("print(1)", "1", code_hash("print(1)"), "1", True, 5, ran)
    assert fresh[3:] == ("print(3)", "3", code_hash("print(3)"), None, None, None, None)
    assert untouched[6:] == ("1", True, 5, ran)  # its run was stored by run_all, left alone
    assert db.call(write, {"c2": second["c2"]}, ["c1"]).retired == 1
    assert db.call(write, second, []).updated == 1  # c1 back from retirement
