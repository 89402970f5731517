"""The whole flow a new user walks, across a restart of the app on the same database file."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, create_engine, select

from api.tables import ReviewLog, ReviewState, User

from .conftest import register

RATINGS = ["again", "hard", "good", "easy", "good"]


def test_register_study_restart_and_find_everything(make_client, db_url) -> None:
    with make_client() as client:
        assert client.get("/health").json() == {"status": "ok", "cards": 7, "version": "0.1.0"}
        topics = client.get("/topics").json()
        assert [(t["id"], t["cards"]) for t in topics] == [("alpha", 4), ("beta", 3)]
        auth = register(client)
        r = client.post("/sessions", json={"topics": ["alpha", "beta"], "size": 5}, headers=auth)
        assert r.status_code == 201
        study = r.json()
        assert (study["size"], study["new_available"], study["due_now"]) == (5, 7, 0)
        answered = []
        for rating in RATINGS:
            item = client.get(f"/sessions/{study['id']}/next", headers=auth).json()
            assert item["kind"] == "card" and item["state"] == "new"
            assert set(item["intervals"]) == {"again", "hard", "good", "easy"}
            out = client.post(
                f"/sessions/{study['id']}/answer",
                json={"item_id": item["item_id"], "rating": rating, "elapsed_ms": 1500},
                headers=auth,
            ).json()
            # The preview shown with the card is the interval the answer gives.
            assert out["interval_days"] == item["intervals"][rating]["days"]
            answered.append((item["item_id"], rating, out["state"], out["due"]))
        assert client.get(f"/sessions/{study['id']}/next", headers=auth).json() == {"done": True}
        before = client.get("/progress/reviews", headers=auth).json()

    # Note order: the four alpha cards, then the first beta card.
    assert [a[0] for a in answered][:2] == ["alpha-float32-bytes", "alpha-one-by-one"]
    assert [a[2] for a in answered] == ["learning", "learning", "learning", "review", "learning"]

    with make_client() as client:  # a restart: new app, same file
        after = client.get("/progress/reviews", headers=auth).json()
        assert after == before
        assert after["count"] == 5
        logged = [(r["item_id"], r["rating_name"], r["state_after"]) for r in after["data"]]
        assert logged == [(a[0], a[1], a[2]) for a in answered]
        progress = client.get("/progress", headers=auth).json()
        assert progress["reviewed_today"] == 5 and progress["streak_days"] == 1
        by_topic = {t["topic"]: t for t in progress["topics"]}
        assert by_topic["alpha"] == {"topic": "alpha", "new": 0, "learning": 3, "review": 1}
        assert by_topic["beta"] == {"topic": "beta", "new": 2, "learning": 1, "review": 0}

    engine = create_engine(db_url)
    with Session(engine) as s:
        user = s.exec(select(User)).one()
        assert user.token_hash != auth["Authorization"].split()[1]  # stored hashed
        states = {st.item_id: st for st in s.exec(select(ReviewState))}
        assert len(states) == 5
        for item_id, _rating, _state, due in answered:
            assert states[item_id].due.isoformat().replace("+00:00", "Z") == due
            assert states[item_id].due.tzinfo is not None
        logs = s.exec(select(ReviewLog).order_by(ReviewLog.id)).all()
        assert [log.rating for log in logs] == [1, 2, 3, 4, 3]
        assert all(log.state_before is None and log.elapsed_ms == 1500 for log in logs)
    engine.dispose()


def test_due_reviews_come_before_new_cards(client) -> None:
    from api.db import utcnow, writing
    from api.store.study import apply_review

    auth = register(client)
    sid = client.post("/sessions", json={"size": 3, "new_limit": 5}, headers=auth).json()["id"]
    engine = client.app.state.engine
    with Session(engine) as s, writing(s):
        uid = s.exec(select(User)).one().id
        past = datetime(2020, 1, 1, tzinfo=utcnow().tzinfo)
        apply_review(s, client.app.state.fsrs, user_id=uid, item_id="beta-growth", kind="card",
                     rating="good", elapsed_ms=10, now=past)  # fmt: skip
        s.commit()
    item = client.get(f"/sessions/{sid}/next", headers=auth).json()
    assert (item["item_id"], item["state"]) == ("beta-growth", "learning")
    assert client.get(f"/sessions/{sid}", headers=auth).json()["due_now"] == 1


def test_new_limit_and_topic_filter(client) -> None:
    auth = register(client)
    sid = client.post(
        "/sessions", json={"topics": ["beta"], "size": 10, "new_limit": 2}, headers=auth
    ).json()["id"]
    seen = []
    while True:
        item = client.get(f"/sessions/{sid}/next", headers=auth).json()
        if item.get("done"):
            break
        seen.append(item["item_id"])
        client.post(f"/sessions/{sid}/answer", json={"item_id": item["item_id"], "rating": "easy"},
                    headers=auth)  # fmt: skip
    assert seen == ["beta-fire", "beta-shuffle"]
    info = client.get(f"/sessions/{sid}", headers=auth).json()
    assert (info["answered"], info["new_seen"], info["new_available"]) == (2, 2, 1)
    # A card outside the session's topics cannot be answered in it.
    r = client.post(f"/sessions/{sid}/answer", json={"item_id": "alpha-kib", "rating": "good"},
                    headers=auth)  # fmt: skip
    assert r.status_code == 404 and "alpha-kib" in r.json()["detail"]
