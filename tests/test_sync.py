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
