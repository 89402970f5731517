"""Suspend, bury, leeches, tags, editing one's own cards and imported topics in /topics."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import Session

from api.db import utcnow, writing
from api.services.scheduler import FSRS
from api.store.flags import next_midnight
from api.store.study import apply_review

from .conftest import register

NOTE = """---
topic: my-notes
title: My notes
tags: [mine, convolution]
---
Q: What is 2 + 2? {#sum}
A: 4

Q: What is 3 + 3? {#six}
A: 6
"""


def _uid(client, auth) -> int:
    return client.get("/users/me", headers=auth).json()["id"]


def _import(client, auth, text: str = NOTE):
    r = client.post("/notes/import", content=text,
                    headers=auth | {"content-type": "text/markdown"})  # fmt: skip
    assert r.status_code == 200, r.text
    return r.json()


def _served(client, auth, **body) -> list[str]:
    """Every card a session serves when each is rated good (a review each)."""
    sid = client.post("/sessions", json={"size": 20, "new_limit": 20, **body},
                      headers=auth).json()["id"]  # fmt: skip
    seen = []
    while True:
        item = client.get(f"/sessions/{sid}/next", headers=auth).json()
        if item.get("done"):
            return seen
        seen.append(item["item_id"])
        client.post(f"/sessions/{sid}/answer", headers=auth,
                    json={"item_id": item["item_id"], "rating": "easy"})  # fmt: skip


def test_suspended_card_is_never_served_and_comes_back(client) -> None:
    auth, other = register(client), register(client, "bob")
    r = client.post("/cards/beta-fire/suspend", headers=auth)
    assert r.json() == {"card_id": "beta-fire", "suspended": True, "leech": False,
                        "buried_until": None}  # fmt: skip
    assert _served(client, auth, topics=["beta"]) == ["beta-shuffle", "beta-growth"]
    assert _served(client, other, topics=["beta"]) == ["beta-fire", "beta-shuffle", "beta-growth"]
    listed = client.get("/cards", params={"flag": "suspended"}, headers=auth).json()
    assert [c["id"] for c in listed["data"]] == ["beta-fire"] and listed["count"] == 1
    assert listed["data"][0]["flags"]["suspended"] is True and listed["data"][0]["own"] is False
    assert client.get("/progress", headers=auth).json()["suspended"] == 1
    client.post("/cards/beta-fire/unsuspend", headers=auth)
    assert _served(client, auth, topics=["beta"]) == ["beta-fire"]  # the others are not due


def test_answer_to_a_card_suspended_after_it_was_served_is_409(client) -> None:
    auth = register(client)
    sid = client.post("/sessions", json={"topics": ["beta"]}, headers=auth).json()["id"]
    item = client.get(f"/sessions/{sid}/next", headers=auth).json()
    client.post(f"/cards/{item['item_id']}/suspend", headers=auth)
    r = client.post(f"/sessions/{sid}/answer", headers=auth,
                    json={"item_id": item["item_id"], "rating": "good"})  # fmt: skip
    assert r.status_code == 409 and "suspended" in r.json()["detail"]
    assert client.get("/progress/reviews", headers=auth).json()["count"] == 0
    assert client.get(f"/sessions/{sid}", headers=auth).json()["answered"] == 0


def test_bury_until_next_midnight(client) -> None:
    auth = register(client)
    r = client.post("/cards/alpha-kib/bury", headers=auth).json()
    assert r["buried_until"].replace("Z", "+00:00") == next_midnight(utcnow()).isoformat()
    assert "alpha-kib" not in _served(client, auth, topics=["alpha"])
    assert client.post("/cards/alpha-kib/unbury", headers=auth).json()["buried_until"] is None
    assert _served(client, auth, topics=["alpha"]) == ["alpha-kib"]


@pytest.mark.parametrize("path", ["/cards/nope/suspend", "/cards/u1~sum/bury"])
def test_flags_on_cards_one_cannot_see_are_404(client, path) -> None:
    owner = register(client)
    _import(client, owner)  # u1~sum belongs to user 1
    stranger = register(client, "eve")
    assert client.post(path, headers=stranger).status_code == 404
    assert client.post("/cards/alpha-kib/suspend").status_code == 401


def _lapse_history(engine, uid: int, card: str, lapses: int) -> None:
    """A card in review that has lapsed ``lapses`` times, due now."""
    now, fsrs = utcnow(), FSRS()
    with Session(engine) as s, writing(s):
        at = now - timedelta(days=200)
        apply_review(s, fsrs, user_id=uid, item_id=card, kind="card", rating="easy",
                     elapsed_ms=1, now=at)  # fmt: skip
        for _ in range(lapses):
            at += timedelta(days=10)
            for rating, later in (("again", 0), ("good", 10), ("good", 30)):
                at += timedelta(minutes=later)
                apply_review(s, fsrs, user_id=uid, item_id=card, kind="card", rating=rating,
                             elapsed_ms=1, now=at)  # fmt: skip
        s.commit()


def test_eighth_lapse_suspends_a_leech_listed_in_progress(client) -> None:
    auth = register(client)
    _lapse_history(client.app.state.engine, _uid(client, auth), "beta-fire", 7)
    sid = client.post("/sessions", json={"topics": ["beta"], "new_limit": 0},
                      headers=auth).json()["id"]  # fmt: skip
    item = client.get(f"/sessions/{sid}/next", headers=auth).json()
    assert (item["item_id"], item["state"]) == ("beta-fire", "review")
    out = client.post(f"/sessions/{sid}/answer", headers=auth,
                      json={"item_id": "beta-fire", "rating": "again"})  # fmt: skip
    assert out.status_code == 200 and out.json()["state"] == "relearning"
    progress = client.get("/progress", headers=auth).json()
    assert progress["leeches"] == [{"card_id": "beta-fire", "topic": "beta", "lapses": 8,
                                    "suspended": True,
                                    "front": "Which network introduced the fire module?"}]  # fmt: skip
    assert progress["suspended"] == 1
    assert client.get(f"/sessions/{sid}/next", headers=auth).json() == {"done": True}
    leeches = client.get("/cards", params={"flag": "leech"}, headers=auth).json()["data"]
    assert [c["id"] for c in leeches] == ["beta-fire"]


def test_tags_filter_cards_and_sessions(client) -> None:
    auth, other = register(client), register(client, "bob")
    ids = lambda r: sorted(c["id"] for c in r.json()["data"])  # noqa: E731
    alpha = ids(client.get("/cards", params={"topic": "alpha"}))
    assert ids(client.get("/cards", params={"tag": "convolution"})) == alpha
    assert ids(client.get("/cards", params={"tag": "nothing"})) == []
    _import(client, auth)
    mine = ["u1~six", "u1~sum"]
    assert ids(client.get("/cards", params={"tag": "mine"}, headers=auth)) == mine
    assert ids(client.get("/cards", params={"tag": "mine"}, headers=other)) == []
    both = ids(client.get("/cards", params={"tag": "convolution"}, headers=auth))
    assert both == sorted(alpha + mine)
    assert sorted(_served(client, auth, tags=["architecture"])) == [
        "beta-fire", "beta-growth", "beta-shuffle"]  # fmt: skip
    assert sorted(_served(client, auth, tags=["mine"])) == mine


def test_edit_own_card_keeps_id_and_history(client) -> None:
    auth = register(client)
    _import(client, auth)
    assert _served(client, auth, topics=["my-notes"])  # one review each
    r = client.patch("/cards/u1~sum", headers=auth,
                     json={"front": "What is 2 + 2, in words?", "tags": ["arith", "arith"]})  # fmt: skip
    assert r.status_code == 200, r.text
    card = r.json()
    assert (card["id"], card["front"], card["back"]) == ("u1~sum", "What is 2 + 2, in words?", "4")
    assert card["tags"] == ["mine", "convolution", "arith"] and card["own"] is True
    tagged = client.get("/cards", params={"tag": "arith"}, headers=auth).json()["data"]
    assert [c["id"] for c in tagged] == ["u1~sum"]
    log = client.get("/progress/reviews", headers=auth).json()["data"]
    assert sorted(r["item_id"] for r in log) == ["u1~six", "u1~sum"]
    # The note stays the source: re-importing it puts its text back (same id, same history).
    _import(client, auth)
    again = client.get("/cards/u1~sum", headers=auth).json()
    assert (again["front"], again["tags"]) == ("What is 2 + 2?", ["mine", "convolution"])
    assert client.get("/cards", params={"tag": "arith"}, headers=auth).json()["count"] == 0
    assert client.get("/progress/reviews", headers=auth).json()["count"] == 2


@pytest.mark.parametrize(
    ("card", "body", "status"),
    [
        ("alpha-kib", {"front": "mine now"}, 403),
        ("u9~nope", {"front": "x"}, 404),
        ("u1~sum", {"front": ""}, 422),
        ("u1~sum", {"front": None}, 422),
        ("u1~sum", {"back": "x" * 20_001}, 422),
        ("u1~sum", {"tags": ["a b"]}, 422),
        ("u1~sum", {"tags": ["t"] * 33}, 422),
        ("u1~sum", {"tags": ["x" * 41]}, 422),
        ("u1~sum", {"id": "other"}, 422),
    ],
)
def test_bad_edits_change_nothing(client, card, body, status) -> None:
    auth = register(client)
    _import(client, auth)
    r = client.patch(f"/cards/{card}", json=body, headers=auth)
    assert r.status_code == status, r.text
    assert client.get("/cards/u1~sum", headers=auth).json()["front"] == "What is 2 + 2?"
    assert client.get("/cards/alpha-kib").json()["front"] == "KiB or KB: which is 1024 bytes?"


def test_someone_elses_card_is_404_and_the_quota_holds_for_edits(make_client) -> None:
    with make_client(user_max_bytes=1024) as client:
        auth, other = register(client), register(client, "bob")
        _import(client, auth)
        assert (
            client.patch("/cards/u1~sum", json={"back": "four"}, headers=other).status_code == 404
        )
        r = client.patch("/cards/u1~sum", json={"back": "x" * 1100}, headers=auth)
        assert r.status_code == 413 and "1,024 bytes" in r.json()["detail"]
        assert client.get("/cards/u1~sum", headers=auth).json()["back"] == "4"


def test_imported_topics_are_listed_for_their_owner_only(client) -> None:
    auth, other = register(client), register(client, "bob")
    _import(client, auth)
    public = [(t["id"], t["cards"], t["imported"]) for t in client.get("/topics").json()]
    assert public == [("alpha", 4, False), ("beta", 3, False)]
    mine = client.get("/topics", headers=auth).json()
    assert mine[-1] == {"id": "my-notes", "title": "My notes", "tags": ["mine", "convolution"],
                        "cards": 2, "imported": True}  # fmt: skip
    assert [t["id"] for t in client.get("/topics", headers=other).json()] == ["alpha", "beta"]


def test_an_imported_notes_tags_are_stored_once_and_still_filter(client) -> None:
    # A note's tags sit on its note row: no card_tag row per card and tag (an import of
    # 2,000 cards under 32 tags would otherwise write 64,000 rows outside the quota).
    from sqlmodel import text

    auth = register(client)
    tags = [f"t{i}" for i in range(32)]
    cards = "\n".join(f"Q: Question {i}? {{#q{i}}}\nA: {i}\n" for i in range(40))
    note = f"---\ntopic: mine\ntitle: Mine\ntags: [{', '.join(tags)}]\n---\n{cards}"
    r = client.post("/notes/import", content=note, headers=auth | {"content-type": "text/markdown"})
    assert r.status_code == 200 and r.json()["cards_added"] == 40, r.text
    with Session(client.app.state.engine) as s:
        rows = s.exec(text("SELECT count(*) FROM card_tag t JOIN card c ON c.id = t.card_id "
                           "WHERE c.owner_id IS NOT NULL")).one()[0]  # fmt: skip
    assert rows == 0
    found = client.get("/cards", params={"tag": "t17", "limit": 100}, headers=auth).json()
    assert found["count"] == 40 and all("t17" in c["tags"] for c in found["data"])
    sid = client.post("/sessions", json={"tags": ["t31"], "size": 3}, headers=auth).json()["id"]
    item = client.get(f"/sessions/{sid}/next", headers=auth).json()
    assert item["item_id"].endswith("~q0")
    out = client.post(f"/sessions/{sid}/answer", json={"item_id": item["item_id"],
                      "rating": "good"}, headers=auth)  # fmt: skip
    assert out.status_code == 200
    assert client.get("/cards", params={"tag": "t17"}).json()["count"] == 0  # not public
