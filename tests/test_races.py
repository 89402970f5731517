"""Racing requests against real servers, on SQLite and PostgreSQL: every rule holds because
the database keeps it (conditional updates, ON CONFLICT, row locks), not a process lock.

Two server processes share one database and the requests of each race are spread over both;
on SQLite the writer lock is switched off, so only SQLite's own locking orders the writers.
Each race is repeated: one pass proves little.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text

from .conftest import BACKENDS
from .servers import Cluster, free_port, fresh_database, spawn, statuses, wait_healthy
from .servers import cluster as two_servers

ROUNDS = 10


@pytest.fixture(scope="module", params=BACKENDS)
def cluster(request: pytest.FixtureRequest, tmp_path_factory) -> Iterator[Cluster]:
    with two_servers(request.param, tmp_path_factory.mktemp("races")) as running:
        yield running


def test_an_exam_is_submitted_once(cluster: Cluster) -> None:
    auth, _ = cluster.user()
    for seed in range(ROUNDS):
        body = {"count": 3, "seed": seed, "families": ["conv_params", "pool_output_shape"]}
        exam = httpx.post(f"{cluster.urls[0]}/exams", json=body,
                          headers=auth, timeout=60).json()  # fmt: skip
        answers = {str(q["id"]): "1" for q in exam["questions"]}
        path = f"/exams/{exam['id']}/submit"
        responses = cluster.race(8, "POST", path, json={"answers": answers}, headers=auth)
        assert statuses(responses) == [200] + [409] * 7
        winner = next(r for r in responses if r.status_code == 200).json()
        graded = sum(q["status"] not in ("invalid", "unanswered") for q in winner["per_question"])
        attempts = cluster.scalar(
            "SELECT count(*) FROM question_attempt a JOIN question_instance q "
            "ON q.id = a.question_id WHERE q.exam_id = :e", e=exam["id"])  # fmt: skip
        assert attempts == graded
        assert cluster.scalar("SELECT max(attempts) FROM question_instance WHERE exam_id = :e",
                              e=exam["id"]) <= 1  # fmt: skip
        stored = cluster.scalar("SELECT count(*) FROM exam WHERE id = :e AND score = :s",
                                e=exam["id"], s=winner["score"])  # fmt: skip
        assert stored == 1


def test_a_session_records_no_more_answers_than_its_size(cluster: Cluster) -> None:
    auth, uid = cluster.user()
    card = None
    for _ in range(ROUNDS):
        sid = httpx.post(f"{cluster.urls[0]}/sessions", json={"size": 3}, headers=auth,
                         timeout=30).json()["id"]  # fmt: skip
        if card is None:
            card = httpx.get(f"{cluster.urls[0]}/sessions/{sid}/next", headers=auth,
                             timeout=30).json()["item_id"]  # fmt: skip
        body = {"item_id": card, "rating": "good"}
        path = f"/sessions/{sid}/answer"
        responses = cluster.race(8, "POST", path, json=body, headers=auth)
        assert statuses(responses) == [200] * 3 + [409] * 5
        logged = cluster.scalar("SELECT count(*) FROM review_log WHERE session_id = :s", s=sid)
        answered = cluster.scalar("SELECT answered FROM study_session WHERE id = :s", s=sid)
        assert logged == answered == 3
        review_ids = {r.json()["review_id"] for r in responses if r.status_code == 200}
        assert len(review_ids) == 3
    # The same card, 3 answers per round: its state counts every logged answer, none lost.
    assert _reps_and_logs(cluster, uid, card) == (3 * ROUNDS, 3 * ROUNDS)


def _reps_and_logs(cluster: Cluster, uid: int, item: str) -> tuple[int, int]:
    """The item's stored repetition count and its log rows, for one user."""
    reps = cluster.scalar("SELECT reps FROM review_state WHERE user_id = :u AND item_id = :i",
                          u=uid, i=item)  # fmt: skip
    logs = cluster.scalar("SELECT count(*) FROM review_log WHERE user_id = :u AND item_id = :i",
                          u=uid, i=item)  # fmt: skip
    return reps, logs


def test_one_card_answered_from_many_sessions_loses_no_update(cluster: Cluster) -> None:
    auth, uid = cluster.user()
    sessions = [
        httpx.post(
            f"{cluster.urls[0]}/sessions", json={"size": 50}, headers=auth, timeout=30
        ).json()["id"]  # fmt: skip
        for _ in range(8)
    ]
    card = httpx.get(f"{cluster.urls[0]}/sessions/{sessions[0]}/next", headers=auth,
                     timeout=30).json()["item_id"]  # fmt: skip
    body = {"item_id": card, "rating": "hard"}
    for _ in range(ROUNDS // 2):
        responses = cluster.race(8, "POST", lambda i: f"/sessions/{sessions[i]}/answer",
                                 json=body, headers=auth)  # fmt: skip
        assert statuses(responses) == [200] * 8
    # Each answer read the state, computed the next in Python and wrote it: with a lost
    # update, reps would fall behind the log (or a first-use insert would have failed).
    assert _reps_and_logs(cluster, uid, card) == (8 * (ROUNDS // 2), 8 * (ROUNDS // 2))
    rows = cluster.scalar("SELECT count(*) FROM review_state WHERE user_id = :u", u=uid)
    assert rows == 1


def _question_session(cluster: Cluster, auth: dict[str, str]) -> tuple[int, dict]:
    """A session whose next item is a question (after answering the cards before it)."""
    body = {"topics": ["alpha"], "size": 20, "new_limit": 20, "include_questions": True,
            "families": ["conv_params"]}  # fmt: skip
    sid = httpx.post(f"{cluster.urls[0]}/sessions", json=body, headers=auth, timeout=30).json()[
        "id"
    ]
    with httpx.Client(base_url=cluster.urls[0], headers=auth, timeout=60) as c:
        for _ in range(10):
            item = c.get(f"/sessions/{sid}/next").json()
            if item["kind"] == "question":
                return sid, item
            c.post(f"/sessions/{sid}/answer", json={"item_id": item["item_id"], "rating": "good"})
    raise AssertionError("no question came up")


def test_a_pending_question_is_shown_and_answered_once(cluster: Cluster) -> None:
    for _ in range(ROUNDS // 2):
        auth, uid = cluster.user()  # a new student: the family is new to them
        sid, item = _question_session(cluster, auth)
        # Concurrent `next` calls show the one pending variant, never a second one.
        shown = cluster.race(6, "GET", f"/sessions/{sid}/next", headers=auth)
        assert statuses(shown) == [200] * 6
        assert {r.json()["question"]["id"] for r in shown} == {item["question"]["id"]}
        body = {"item_id": item["item_id"], "answer": "1", "elapsed_ms": 1000}
        responses = cluster.race(6, "POST", f"/sessions/{sid}/answer", json=body, headers=auth)
        assert statuses(responses) == [200] + [409] * 5
        assert [r.json()["recorded"] for r in responses if r.status_code == 200] == [True]
        qid = item["question"]["id"]
        assert cluster.scalar("SELECT count(*) FROM question_attempt WHERE question_id = :q",
                              q=qid) == 1  # fmt: skip
        logged = cluster.scalar("SELECT count(*) FROM review_log WHERE session_id = :s "
                                "AND kind = 'question'", s=sid)  # fmt: skip
        assert logged == 1
        assert _reps_and_logs(cluster, uid, "q:conv_params") == (1, 1)


@pytest.mark.parametrize("engine", BACKENDS)
def test_replicas_started_together_on_an_empty_database_all_come_up(
    engine: str, tmp_path: Path
) -> None:
    with fresh_database(engine, tmp_path) as url:
        ports = [free_port() for _ in range(3)]
        procs: list[subprocess.Popen] = [spawn(url, port) for port in ports]
        try:
            healths = [wait_healthy(p, port) for p, port in zip(procs, ports, strict=True)]
        finally:
            for p in procs:
                p.terminate()
            for p in procs:
                p.wait(timeout=10)
        assert [h["cards"] for h in healths] == [7, 7, 7]
        db = create_engine(url)
        try:
            with db.connect() as conn:
                count = lambda sql: conn.execute(text(sql)).scalar_one()  # noqa: E731
                assert count("SELECT count(*) FROM alembic_version") == 1
                assert count("SELECT count(*) FROM card") == 7
                assert count("SELECT count(DISTINCT id) FROM card") == 7
                assert count("SELECT count(*) FROM topic") == 2
                assert count("SELECT count(*) FROM card_example") == count(
                    "SELECT count(DISTINCT card_id || ':' || position) FROM card_example"
                )
        finally:
            db.dispose()


def test_a_course_is_joined_and_an_assessment_started_once(cluster: Cluster) -> None:
    teacher, _ = cluster.user()
    base = cluster.urls[0]
    for round_ in range(ROUNDS // 2):
        course = httpx.post(f"{base}/courses", json={"title": f"c{round_}"}, headers=teacher,
                            timeout=30).json()  # fmt: skip
        quiz = httpx.post(f"{base}/courses/{course['id']}/assessments", headers=teacher,
                          json={"title": "q", "families": ["conv_params"], "count": 2},
                          timeout=60).json()  # fmt: skip
        student, uid = cluster.user()
        joined = cluster.race(6, "POST", "/courses/join",
                              json={"join_code": course["join_code"]}, headers=student)  # fmt: skip
        assert statuses(joined) == [200] * 6
        started = cluster.race(6, "POST", f"/assessments/{quiz['id']}/start", headers=student)
        assert statuses(started) == [200] * 6
        assert len({r.json()["id"] for r in started}) == 1  # one exam, shown to every request
        members = cluster.scalar("SELECT count(*) FROM course_member WHERE course_id = :c "
                                 "AND user_id = :u", c=course["id"], u=uid)  # fmt: skip
        exams = cluster.scalar("SELECT count(*) FROM exam WHERE assessment_id = :a", a=quiz["id"])
        questions = cluster.scalar(
            "SELECT count(*) FROM question_instance q JOIN exam e ON e.id = q.exam_id "
            "WHERE e.assessment_id = :a", a=quiz["id"])  # fmt: skip
        assert (members, exams, questions) == (1, 1, 2)
