"""Progress figures computed from reviews placed at known times."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session, select

from api.db import utcnow, writing
from api.store.study import apply_review
from api.tables import ReviewState, User

from .conftest import register


def _review(client, item_id: str, rating: str, when) -> None:
    with Session(client.app.state.engine) as s, writing(s):
        uid = s.exec(select(User)).one().id
        apply_review(s, client.app.state.fsrs, user_id=uid, item_id=item_id, kind="card",
                     rating=rating, elapsed_ms=100, now=when)  # fmt: skip
        s.commit()


def test_retention_forecast_streak_and_due(client) -> None:
    auth = register(client)
    now = utcnow()
    # Three days in a row of reviews, ending today: a 3-day streak.
    _review(client, "beta-fire", "easy", now - timedelta(days=40))  # → review state, due long ago
    _review(client, "beta-fire", "good", now - timedelta(days=2))  # review of a review item: kept
    _review(client, "beta-growth", "easy", now - timedelta(days=1))
    _review(client, "beta-growth", "again", now - timedelta(minutes=5))  # too early, still a lapse
    _review(client, "alpha-kib", "good", now)
    p = client.get("/progress", headers=auth).json()
    assert p["streak_days"] == 3
    assert p["reviewed_today"] == 2
    assert p["total_reviews"] == 5
    # Reviews of items in the review state: beta-fire good (kept), beta-growth again (lapse).
    assert (p["retention"], p["retention_reviews"]) == (0.5, 2)
    assert len(p["forecast"]) == 7
    assert p["forecast"][0]["date"] == now.date().isoformat()
    with Session(client.app.state.engine) as s:
        dues = [st.due for st in s.exec(select(ReviewState))]
    expected = [0] * 7
    for due in dues:
        offset = max((due.date() - now.date()).days, 0)  # overdue counts on today
        if offset < 7:
            expected[offset] += 1
    assert [d["due"] for d in p["forecast"]] == expected
    assert expected[0] >= 2  # the lapse and the learning card come back within minutes
    assert p["due_now"] == sum(1 for due in dues if due <= utcnow())
    by_topic = {t["topic"]: t for t in p["topics"]}
    assert by_topic["beta"] == {"topic": "beta", "new": 1, "learning": 1, "review": 1}
    assert by_topic["alpha"] == {"topic": "alpha", "new": 3, "learning": 1, "review": 0}


def test_empty_progress(client) -> None:
    auth = register(client)
    p = client.get("/progress", headers=auth).json()
    assert p["due_now"] == 0 and p["reviewed_today"] == 0 and p["streak_days"] == 0
    assert p["retention"] is None
    assert [d["due"] for d in p["forecast"]] == [0] * 7


def test_reviews_csv(client) -> None:
    auth = register(client)
    _review(client, "alpha-kib", "hard", utcnow())
    r = client.get("/progress/reviews", params={"format": "csv"}, headers=auth)
    assert r.headers["content-type"].startswith("text/csv")
    header, row = r.text.strip().split("\n")
    assert header.split(",")[:6] == ["id", "item_id", "kind", "rating", "rating_name", "elapsed_ms"]
    assert row.split(",")[:6] == ["1", "alpha-kib", "card", "2", "hard", "100"]
    assert (
        client.get("/progress/reviews", params={"format": "xml"}, headers=auth).status_code == 422
    )
