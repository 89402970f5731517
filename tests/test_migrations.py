"""Alembic migrations: an older database file is upgraded in place and keeps its data."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import inspect, text
from sqlmodel import Session, select

from api.db import make_engine, utcnow
from api.migrate import current_revision, head_revision, upgrade
from api.services.scheduler import FSRS
from api.store.study import apply_review
from api.tables import (
    CardRow,
    Exam,
    QuestionInstance,
    ReviewLog,
    ReviewState,
    StudySession,
    User,
)


@pytest.mark.empty_db
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
        # Rows of tables that later migrations change are written as the old schema had them.
        s.exec(text("INSERT INTO exam (user_id, seed, request, created_at, late) "
                    "VALUES (:u, 99, '{\"count\": 1}', :t, false)"),
               params={"u": uid, "t": now.replace(tzinfo=None)})  # fmt: skip
        s.exec(text("INSERT INTO question_instance (user_id, family, seed, difficulty, exam_id, "
                    "position, created_at, attempts) VALUES (:u, 'conv_params', 5, 1, "
                    "(SELECT max(id) FROM exam), 0, :t, 0)"),
               params={"u": uid, "t": now.replace(tzinfo=None)})  # fmt: skip
        # A study session referenced by a question: migrations that copy study_session (to
        # add a constraint) must keep the rows pointing at it.
        s.exec(text("INSERT INTO study_session (user_id, topics, size, new_limit, "
                    "include_questions, families, answered, new_seen, created_at) "
                    "VALUES (:u, '[]', 5, 5, true, '[]', 1, 1, :t)"),
               params={"u": uid, "t": now.replace(tzinfo=None)})  # fmt: skip
        s.exec(text("INSERT INTO question_instance (user_id, family, seed, difficulty, "
                    "session_id, position, created_at, attempts) VALUES (:u, 'conv_params', 6, 1, "
                    "(SELECT max(id) FROM study_session), 0, :t, 0)"),
               params={"u": uid, "t": now.replace(tzinfo=None)})  # fmt: skip
        s.commit()
        before = s.exec(text("select count(*) from review_log")).one()[0]
    engine.dispose()

    with make_client() as client:  # start-up upgrades the file in place
        engine = client.app.state.engine
        assert current_revision(engine) == head_revision() == "0008"
        names = {i["name"] for i in inspect(engine).get_indexes("review_log")}
        assert "ix_review_log_user_item" in names
        with Session(engine) as s:
            assert s.exec(select(User)).one().name == "old-timer"
            logs = s.exec(select(ReviewLog).order_by(ReviewLog.id)).all()
            assert len(logs) == before == 3 and [log.rating for log in logs] == [3, 3, 1]
            state = s.exec(select(ReviewState)).one()
            assert (state.reps, state.due) == (3, logs[-1].due_after)
            assert s.exec(select(Exam)).one().seed == 99
            questions = s.exec(select(QuestionInstance).order_by(QuestionInstance.id)).all()
            assert [(q.family, q.seed, q.hints_used) for q in questions] == [
                ("conv_params", 5, 0),
                ("conv_params", 6, 0),
            ]
            assert questions[1].session_id is not None
            # Sessions stored before 0005 have no tags and no item list.
            study = s.exec(select(StudySession)).one()
            assert (study.tags, study.item_ids, study.size) == ([], [], 5)
            # The note sync then updated the old card in place, history intact.
            assert s.get(CardRow, "alpha-kib").back == "KiB."


@pytest.mark.empty_db
def test_migrations_build_exactly_the_tables_the_code_declares(db_url) -> None:
    # A migration that forgets a column, an index or a constraint of api/tables.py (or one
    # the code no longer declares) shows here as a difference.
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext
    from sqlmodel import SQLModel

    engine = make_engine(db_url)
    upgrade(engine)
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, SQLModel.metadata)
    engine.dispose()
    assert diff == []
