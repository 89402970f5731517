"""Questions in progress, exam readiness from FSRS states, and sessions of exactly the items
at risk."""

from __future__ import annotations

from datetime import timedelta

from fsrs import Card, Scheduler, State
from sqlmodel import Session

from api.db import utcnow, writing
from api.services.progress import start_of_day
from api.services.scheduler import FSRS
from api.store.study import apply_review, load_state

from .conftest import register

# (item, kind, [(days ago, rating), ...]): studied at known times.
HISTORY = [
    ("alpha-kib", "card", [(40, "easy")]),
    ("alpha-float32-bytes", "card", [(3, "good"), (2, "good")]),
    ("beta-fire", "card", [(30, "easy")]),
    ("beta-growth", "card", [(1, "easy")]),
    ("q:conv_params", "question", [(40, "easy")]),
]


def _study(client, auth, retention: float = 0.9) -> int:
    uid = client.get("/users/me", headers=auth).json()["id"]
    now, fsrs = utcnow(), FSRS(retention)
    with Session(client.app.state.engine) as s, writing(s):
        for item, kind, reviews in HISTORY:
            for days, rating in reviews:
                apply_review(s, fsrs, user_id=uid, item_id=item, kind=kind, rating=rating,
                             elapsed_ms=1000, now=now - timedelta(days=days))  # fmt: skip
        s.commit()
    return uid


def _expected_recall(client, uid: int, item: str, day) -> float:
    """fsrs's own retrievability of the stored state at the start of ``day``."""
    with Session(client.app.state.engine) as s:
        st = load_state(s, uid, item)
    assert st is not None
    card = Card(state=State(st.state), stability=st.stability, difficulty=st.difficulty,
                last_review=st.last_review, due=st.due)  # fmt: skip
    return Scheduler().get_card_retrievability(card, start_of_day(day))


def test_progress_counts_questions(client) -> None:
    auth = register(client)
    uid = _study(client, auth)
    p = client.get("/progress", headers=auth).json()
    with Session(client.app.state.engine) as s:
        states = {item: load_state(s, uid, item) for item, _k, _r in HISTORY}
    due = {item for item, st in states.items() if st is not None and st.due <= utcnow()}
    # Rated easy 40 and 30 days ago (about 8 days of stability): due now, question included.
    assert {"alpha-kib", "beta-fire", "q:conv_params"} <= due
    cards = len(due - {"q:conv_params"})
    assert p["due_by_kind"] == {"card": cards, "question": 1} and p["due_now"] == cards + 1
    assert p["forecast"][0]["due"] >= cards + 1
    stages = {t["topic"]: t for t in p["topics"]}
    assert stages["conv-arithmetic"] == {"topic": "conv-arithmetic", "new": 0, "learning": 0,
                                         "review": 1}  # fmt: skip
    review = sum(states[i].state == 2 for i in ("alpha-kib", "alpha-float32-bytes"))
    assert stages["alpha"] == {"topic": "alpha", "new": 2, "learning": 2 - review,
                               "review": review}  # fmt: skip


def test_question_preview_shows_only_what_a_grade_can_earn(client) -> None:
    auth = register(client)
    sid = client.post("/sessions", headers=auth, json={"include_questions": True,
                      "families": ["conv_params"], "topics": ["alpha"], "new_limit": 3}).json()["id"]  # fmt: skip
    kinds = []
    for _ in range(3):
        item = client.get(f"/sessions/{sid}/next", headers=auth).json()
        kinds.append(item["kind"])
        if item["kind"] == "question":
            assert set(item["intervals"]) == {"again", "hard", "good"}
            break
        client.post(f"/sessions/{sid}/answer", headers=auth,
                    json={"item_id": item["item_id"], "rating": "easy"})  # fmt: skip
    assert kinds[-1] == "question"


def test_readiness_per_topic_overall_and_at_risk(client) -> None:
    auth = register(client)
    uid = _study(client, auth)
    day = (utcnow() + timedelta(days=10)).date()
    r = client.get("/progress/readiness", params={"date": day.isoformat(), "limit": 3},
                   headers=auth)  # fmt: skip
    assert r.status_code == 200, r.text
    got = r.json()
    recall = {item: _expected_recall(client, uid, item, day) for item, _k, _r in HISTORY}
    assert got["items"] == 5 and got["desired_retention"] == 0.9
    assert got["parameters"] == "default"
    assert got["recall"] == round(sum(recall.values()) / 5, 4)
    by_topic = {t["topic"]: t for t in got["topics"]}
    alpha = [recall["alpha-kib"], recall["alpha-float32-bytes"]]
    assert by_topic["alpha"]["recall"] == round(sum(alpha) / 2, 4)
    assert by_topic["conv-arithmetic"]["recall"] == round(recall["q:conv_params"], 4)
    below = sorted((v, k) for k, v in recall.items() if v < 0.9)
    assert [a["item_id"] for a in got["at_risk"]] == [k for _v, k in below][:3]
    assert [a["recall"] for a in got["at_risk"]] == [round(v, 4) for v, _k in below][:3]
    labels = {a["item_id"]: a["label"] for a in got["at_risk"]}
    if "q:conv_params" in labels:
        assert labels["q:conv_params"] == "Parameters of a convolution"
    only = client.get("/progress/readiness", headers=auth,
                      params={"date": day.isoformat(), "topics": "beta"}).json()  # fmt: skip
    assert [t["topic"] for t in only["topics"]] == ["beta"] and only["items"] == 2


def test_readiness_rejects_bad_dates(client) -> None:
    auth = register(client)
    today = utcnow().date()
    for value in [(today - timedelta(days=1)).isoformat(), "2026-13-01", "soon",
                  (today + timedelta(days=3651)).isoformat()]:  # fmt: skip
        r = client.get("/progress/readiness", params={"date": value}, headers=auth)
        assert r.status_code == 422, value
    many = ",".join(f"t{i}" for i in range(101))
    r = client.get("/progress/readiness", params={"date": today.isoformat(), "topics": many},
                   headers=auth)  # fmt: skip
    assert r.status_code == 422
    empty = client.get("/progress/readiness", params={"date": today.isoformat()}, headers=auth)
    assert empty.json()["items"] == 0 and empty.json()["recall"] is None


def test_session_of_exactly_the_items_at_risk(client) -> None:
    auth = register(client)
    _study(client, auth)
    day = (utcnow() + timedelta(days=30)).date()
    at_risk = client.get("/progress/readiness", params={"date": day.isoformat()},
                         headers=auth).json()["at_risk"]  # fmt: skip
    ids = [a["item_id"] for a in at_risk]
    assert "beta-growth" in ids  # reviewed yesterday: not due, but at risk in a month
    r = client.post("/sessions", json={"item_ids": ids, "size": 50}, headers=auth)
    assert r.status_code == 201, r.text
    study = r.json()
    assert study["item_ids"] == ids and study["size"] == len(ids)
    served = []
    while True:
        item = client.get(f"/sessions/{study['id']}/next", headers=auth).json()
        if item.get("done"):
            break
        served.append(item["item_id"])
        body = {"item_id": item["item_id"], "rating": "good"}
        if item["kind"] == "question":
            body = {"item_id": item["item_id"], "answer": "1"}
        client.post(f"/sessions/{study['id']}/answer", json=body, headers=auth)
    assert served == ids
    too_many = [f"card-{i}" for i in range(201)]
    assert client.post("/sessions", json={"item_ids": too_many}, headers=auth).status_code == 422
    unknown = client.post("/sessions", json={"item_ids": ["q:no_such_family"]}, headers=auth)
    assert unknown.status_code == 422
