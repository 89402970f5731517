"""Importing users' own notes, exporting topics to Anki and back to markdown."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from sqlmodel import Session, select

from api.tables import CardExample, CardRow
from content import parse_note

from .conftest import register

PLAIN = """How many bytes per element for a 32 bit float?
4
How to calc memory in kb?
Output volume * memory per elem / 1024
How to calc the output size for pooling layers?
How many learnable params do pooling layers have?
0
"""

MARKDOWN = """---
topic: my-notes
title: My notes
tags: [mine]
---
Q: What is 2 + 2? {#sum}
A: 4

```python example
import os
os.system("touch /tmp/flopcards-should-never-exist")
print("ran")
```

```output
ran
```
"""


def _import(client, auth, body: str | bytes, media="text/plain", **params):
    return client.post(
        "/notes/import", content=body, params=params, headers=auth | {"content-type": media}
    )


def test_plain_text_import_and_reimport(client) -> None:
    auth = register(client)
    r = _import(client, auth, PLAIN, topic="seed-cards")
    assert r.status_code == 200
    assert r.json() == {
        "topic": "seed-cards",
        "cards_added": 3,
        "cards_updated": 0,
        "cards_unchanged": 0,
        "cards_retired": 0,
        "errors": [{"line": 5, "message": "question has no answer lines under it"}],
        "errors_total": 1,
    }
    again = _import(
        client, auth, PLAIN.replace("/ 1024", "/ 1024 (KiB)"), topic="seed-cards"
    ).json()
    assert (again["cards_added"], again["cards_updated"], again["cards_unchanged"]) == (0, 1, 2)
    mine = client.get("/cards", params={"topic": "seed-cards"}, headers=auth).json()
    assert mine["count"] == 3
    assert mine["data"][1]["back"] == "Output volume * memory per elem / 1024 (KiB)"
    assert client.get("/cards", params={"topic": "seed-cards"}).json()["count"] == 0  # not public
    assert client.get("/cards", headers=auth).json()["count"] == 7 + 3
    other = register(client, "bob")
    assert client.get("/cards", params={"topic": "seed-cards"}, headers=other).json()["count"] == 0
    card_id = mine["data"][0]["id"]
    assert client.get(f"/cards/{card_id}", headers=auth).status_code == 200
    assert client.get(f"/cards/{card_id}", headers=other).status_code == 404
    # Imported cards join the owner's study sessions.
    sid = client.post("/sessions", json={"topics": ["seed-cards"]}, headers=auth).json()["id"]
    item = client.get(f"/sessions/{sid}/next", headers=auth).json()
    assert item["item_id"] == card_id
    assert (
        client.post("/sessions", json={"topics": ["seed-cards"]}, headers=other).status_code == 422
    )


def test_markdown_import_never_runs_code(client) -> None:
    auth = register(client)
    marker = Path("/tmp/flopcards-should-never-exist")
    marker.unlink(missing_ok=True)
    r = _import(client, auth, MARKDOWN, media="text/markdown")
    assert r.json()["cards_added"] == 1 and r.json()["topic"] == "my-notes"
    card = client.get("/cards/u1~sum", headers=auth).json()
    assert card["examples"][0]["expected_output"] == "ran"
    assert card["examples"][0]["output"] is None and card["examples"][0]["ok"] is None
    runner = client.app.state.example_runner
    assert runner.pending() == [] or all(
        code != card["examples"][0]["code"] for _, code in runner.pending()
    )
    runner.run_pending()
    assert not marker.exists()
    with Session(client.app.state.engine) as s:
        assert (
            s.exec(select(CardExample).where(CardExample.card_id == "u1~sum")).one().ran_at is None
        )


@pytest.mark.parametrize(
    ("body", "media", "status", "detail"),
    [
        (b"\xff\xfe bad", "text/plain", 400, "note is not valid UTF-8 (byte 0)"),
        (b"   \n", "text/plain", 422, "note is empty"),
        (b"Q?\nA", "application/json", 415, "send the note as text/markdown or text/plain"),
    ],
)
def test_import_rejections_write_nothing(client, body, media, status, detail) -> None:
    auth = register(client)
    r = _import(client, auth, body, media=media)
    assert (r.status_code, r.json()["detail"]) == (status, detail)
    with Session(client.app.state.engine) as s:
        assert s.exec(select(CardRow).where(CardRow.owner_id.is_not(None))).all() == []


def test_import_limits(client) -> None:
    auth = register(client)
    many = "".join(f"Question {i}?\nAnswer {i}\n" for i in range(2001))
    r = _import(client, auth, many)
    assert r.status_code == 422 and r.json()["detail"] == "2001 cards: at most 2000 per import"
    assert _import(client, auth, "x" * 1_100_000).status_code == 413
    assert (
        client.post(
            "/notes/import", content="Q?\nA", headers={"content-type": "text/plain"}
        ).status_code
        == 401
    )


def test_markdown_export_round_trips(client) -> None:
    md = client.get("/topics/alpha/cards.md")
    assert md.headers["content-type"].startswith("text/markdown")
    note = parse_note(md.text)
    assert note.errors == ()
    served = client.get("/cards", params={"topic": "alpha"}).json()["data"]
    assert [(c.id, c.front, c.back, list(c.tags)) for c in note.cards] == [
        (c["id"], c["front"], c["back"], c["tags"]) for c in served
    ]
    ex = note.cards[1].examples[0]
    assert (ex.code, ex.expected_output) == ("print(3 * 3 * 64 * 128)", "73728")
    assert client.get("/topics/nope/cards.md").status_code == 404


def test_markdown_export_of_imported_topic_round_trips(client) -> None:
    auth = register(client)
    _import(
        client,
        auth,
        "Q about # hashes?\n# not a heading\nQ: not a question\nplain\n",
        topic="tricky",
    )
    md = client.get("/topics/tricky/cards.md", headers=auth).text
    again = _import(client, auth, md, media="text/markdown").json()
    assert (again["cards_added"], again["errors"]) == (0, [])
    assert client.get("/topics/tricky/cards.md").status_code == 404  # not public


def test_anki_package_is_read_by_anki(client, tmp_path) -> None:
    anki_collection = pytest.importorskip("anki.collection")
    from anki.import_export_pb2 import ImportAnkiPackageOptions, ImportAnkiPackageRequest

    r = client.get("/topics/alpha/anki.apkg")
    assert r.headers["content-type"] == "application/apkg"
    assert "collection.anki2" in zipfile.ZipFile(io.BytesIO(r.content)).namelist()
    path = tmp_path / "alpha.apkg"
    path.write_bytes(r.content)
    col = anki_collection.Collection(str(tmp_path / "user.anki2"))
    try:

        def do_import() -> None:
            req = ImportAnkiPackageRequest(
                package_path=str(path),
                options=ImportAnkiPackageOptions(update_notes=1, with_scheduling=False),
            )
            col.import_anki_package(req)

        do_import()
        note_ids = col.find_notes("")
        assert len(note_ids) == 4
        fronts = sorted(col.get_note(n)["Front"] for n in note_ids)
        assert "<p>KiB or KB: which is 1024 bytes?</p>" in fronts
        ids = sorted(col.get_note(n)["CardId"] for n in note_ids)
        assert ids == sorted(
            c["id"] for c in client.get("/cards", params={"topic": "alpha"}).json()["data"]
        )
        do_import()  # the same package again: updates, never duplicates
        assert len(col.find_notes("")) == 4
        deck_names = [d.name for d in col.decks.all_names_and_ids()]
        assert "flopcards::Alpha basics" in deck_names
    finally:
        col.close()
