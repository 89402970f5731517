"""Alembic migrations: an older database file is upgraded in place and keeps its data."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import inspect, text
from sqlmodel import Session, select

from api.db import make_engine, utcnow
from api.migrate import current_revision, head_revision, upgrade
from api.scheduler import FSRS
from api.store.study import apply_review
from api.tables import CardRow, Exam, QuestionInstance, ReviewLog, ReviewState, User


def test_upgrade_from_first_migration_keeps_everything(make_client, db_url) -> None:
    engine = make_engine(db_url)
    upgrade(engine, "0001")
    assert current_revision(engine) == "0001"
    assert "ix_review_log_user_item" not in {
        i["name"] for i in inspect(engine).get_indexes("review_log")
    }
    now = utcnow()
    with Session(engine) as s:
        s.add(User(name="old-timer", token_hash="a" * 64))
        s.add(
            CardRow(
                id="alpha-kib",
                topic="alpha",
                front="old front",
                back="old back",
                tags=[],
                source="alpha.md:1",
            )
        )
        s.commit()
        uid = s.exec(select(User)).one().id
        for i, rating in enumerate(["good", "good", "again"]):
            apply_review(s, FSRS(), user_id=uid, item_id="alpha-kib", kind="card", rating=rating,
                         elapsed_ms=10 * i, now=now - timedelta(days=30 - 10 * i))  # fmt: skip
            s.commit()
        exam = Exam(user_id=uid, seed=99, request={"count": 1}, time_limit_min=None)
        s.add(exam)
        s.flush()
        s.add(
            QuestionInstance(
                user_id=uid, family="conv_params", seed=5, difficulty=1, exam_id=exam.id
            )
        )
        s.commit()
        before = s.exec(text("select count(*) from review_log")).one()[0]
    engine.dispose()

    with make_client() as client:  # start-up upgrades the file in place
        engine = client.app.state.engine
        assert current_revision(engine) == head_revision() == "0003"
        names = {i["name"] for i in inspect(engine).get_indexes("review_log")}
        assert "ix_review_log_user_item" in names
        with Session(engine) as s:
            assert s.exec(select(User)).one().name == "old-timer"
            logs = s.exec(select(ReviewLog).order_by(ReviewLog.id)).all()
            assert len(logs) == before == 3 and [log.rating for log in logs] == [3, 3, 1]
            state = s.exec(select(ReviewState)).one()
            assert (state.reps, state.due) == (3, logs[-1].due_after)
            assert s.exec(select(Exam)).one().seed == 99
            assert s.exec(select(QuestionInstance)).one().family == "conv_params"
            # The note sync then updated the old card in place, history intact.
            assert s.get(CardRow, "alpha-kib").back == "KiB."
