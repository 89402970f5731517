"""Racing requests on running an assessment, against two real servers on one database
(SQLite with its writer lock off, and PostgreSQL): an edit and a first start, a deletion
and starts, and many requests finding an overdue copy at once."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import text

from api.db import utcnow

from .conftest import BACKENDS
from .servers import Cluster, statuses
from .servers import cluster as two_servers

ROUNDS = 4


@pytest.fixture(scope="module", params=BACKENDS)
def cluster(request: pytest.FixtureRequest, tmp_path_factory) -> Iterator[Cluster]:
    with two_servers(request.param, tmp_path_factory.mktemp("runs")) as running:
        yield running


def _course(cluster: Cluster, students: int) -> tuple[dict, int, list[dict]]:
    teacher, _ = cluster.user()
    base = cluster.urls[0]
    course = httpx.post(f"{base}/courses", json={"title": "c"}, headers=teacher).json()
    kids = []
    for _ in range(students):
        auth, _ = cluster.user()
        httpx.post(f"{base}/courses/join", json={"join_code": course["join_code"]}, headers=auth)
        kids.append(auth)
    return teacher, course["id"], kids


def _quiz(cluster: Cluster, teacher: dict, course_id: int, **body) -> int:
    body = {"title": "q", "families": ["conv_params", "pool_output_shape"], "count": 2} | body
    r = httpx.post(f"{cluster.urls[0]}/courses/{course_id}/assessments", json=body,
                   headers=teacher, timeout=30)  # fmt: skip
    assert r.status_code == 201, r.text
    return r.json()["id"]


def test_an_edit_and_the_first_starts_never_both_win(cluster: Cluster) -> None:
    teacher, course_id, kids = _course(cluster, 3)
    for _ in range(ROUNDS):
        quiz = _quiz(cluster, teacher, course_id)
        n = 1 + len(kids)
        bodies = [{"count": 3}] + [None] * len(kids)
        headers = [teacher, *kids]
        assert n == len(bodies)
        out = _mixed(cluster, quiz, bodies, headers)
        edit, starts = out[0], out[1:]
        assert edit.status_code in (200, 409) and all(s.status_code == 200 for s in starts), [
            r.text for r in out]  # fmt: skip
        sizes = {len(s.json()["questions"]) for s in starts}
        # Every copy follows the edit if it won, or the original if a start won.
        assert sizes == ({3} if edit.status_code == 200 else {2}), (edit.text, sizes)
        count = cluster.scalar("SELECT count(*) FROM exam WHERE assessment_id = :a", a=quiz)
        assert count == len(kids)


def _mixed(cluster: Cluster, quiz: int, bodies: list, headers: list) -> list[httpx.Response]:
    """The instructor's PATCH and the students' starts, released together."""
    n = len(bodies)
    barrier = threading.Barrier(n)
    out: list[httpx.Response | None] = [None] * n

    def run(i: int) -> None:
        with httpx.Client(base_url=cluster.urls[i % 2], timeout=60) as client:
            client.get("/health")
            barrier.wait()
            if i == 0:
                out[i] = client.patch(f"/assessments/{quiz}", json=bodies[0], headers=headers[0])
            else:
                out[i] = client.post(f"/assessments/{quiz}/start", headers=headers[i])

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert all(r is not None for r in out)
    return [r for r in out if r is not None]


def test_a_deletion_and_starts_never_both_win(cluster: Cluster) -> None:
    teacher, course_id, kids = _course(cluster, 2)
    for _ in range(ROUNDS):
        quiz = _quiz(cluster, teacher, course_id)
        barrier = threading.Barrier(3)
        out: list[httpx.Response | None] = [None] * 3

        def run(
            i: int, quiz: int = quiz, barrier: threading.Barrier = barrier, out: list = out
        ) -> None:
            with httpx.Client(base_url=cluster.urls[i % 2], timeout=60) as client:
                client.get("/health")
                barrier.wait()
                out[i] = (client.delete(f"/assessments/{quiz}", headers=teacher) if i == 0
                          else client.post(f"/assessments/{quiz}/start", headers=kids[i - 1]))  # fmt: skip

        threads = [threading.Thread(target=run, args=(i,)) for i in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
        codes = [r.status_code for r in out if r is not None]
        assert all(c < 500 for c in codes), [r.text for r in out if r is not None]
        copies = cluster.scalar("SELECT count(*) FROM exam WHERE assessment_id = :a", a=quiz)
        left = cluster.scalar("SELECT count(*) FROM assessment WHERE id = :a", a=quiz)
        if codes[0] == 204:
            assert (left, copies, codes[1:]) == (0, 0, [404, 404])
        else:
            assert codes[0] == 409 and left == 1 and copies == codes[1:].count(200) >= 1


def test_an_overdue_copy_is_submitted_once(cluster: Cluster) -> None:
    teacher, course_id, (ada,) = _course(cluster, 1)
    for _ in range(ROUNDS):
        quiz = _quiz(cluster, teacher, course_id, time_limit_min=5, families=["conv_params"])
        exam = httpx.post(f"{cluster.urls[0]}/assessments/{quiz}/start", headers=ada).json()
        qid = next(q["id"] for q in exam["questions"] if q["answer"]["kind"] == "number")
        httpx.put(f"{cluster.urls[1]}/exams/{exam['id']}/answers",
                  json={"answers": {str(qid): "7"}}, headers=ada)  # fmt: skip
        with cluster.engine.begin() as conn:
            conn.execute(text("UPDATE exam SET created_at = :t WHERE id = :e"),
                         {"t": (utcnow() - timedelta(minutes=7)).replace(tzinfo=None),
                          "e": exam["id"]})  # fmt: skip
        responses = cluster.race(8, "GET", f"/exams/{exam['id']}", headers=ada)
        assert statuses(responses) == [200] * 8
        assert all(r.json()["auto_submitted"] for r in responses)
        answered = cluster.scalar(
            "SELECT count(*) FROM question_attempt a JOIN question_instance q "
            "ON q.id = a.question_id WHERE q.exam_id = :e", e=exam["id"])  # fmt: skip
        assert answered == 1  # the one saved answer, graded once
        assert cluster.scalar("SELECT max(attempts) FROM question_instance WHERE exam_id = :e",
                              e=exam["id"]) == 1  # fmt: skip


def test_overrides_at_once_all_count_and_a_regrade_applies_once(cluster: Cluster) -> None:
    teacher, course_id, (ada,) = _course(cluster, 1)
    base = cluster.urls[0]
    ada_id = httpx.get(f"{base}/users/me", headers=ada).json()["id"]
    for _ in range(ROUNDS):
        quiz = _quiz(cluster, teacher, course_id, count=4, families=["conv_params"])
        exam = httpx.post(f"{base}/assessments/{quiz}/start", headers=ada).json()
        answers = {str(q["id"]): "7" for q in exam["questions"]}
        r = httpx.post(f"{base}/exams/{exam['id']}/submit", json={"answers": answers},
                       headers=ada, timeout=60)  # fmt: skip
        assert r.status_code == 200 and r.json()["score"] == 0.0
        path = f"/assessments/{quiz}/attempts/{ada_id}/items"
        out = cluster.race(4, "PATCH", lambda i, p=path: f"{p}/{i}",
                           bodies=[{"score": 0.25 * (i + 1)} for i in range(4)],
                           headers=teacher)  # fmt: skip
        assert statuses(out) == [200] * 4
        # Each took the copy's row lock and summed the items: none is lost.
        assert cluster.scalar("SELECT score FROM exam WHERE id = :e", e=exam["id"]) == 2.5
        # An older grader's grade on one item; two regrades applied at once change it once.
        qid = exam["questions"][0]["id"]
        with cluster.engine.begin() as conn:
            conn.execute(text("UPDATE question_instance SET status = 'correct', score = 1 "
                              "WHERE id = :q"), {"q": qid})  # fmt: skip
        out = cluster.race(3, "POST", f"/assessments/{quiz}/regrade",
                           bodies=[{"dry_run": False}] * 3, headers=teacher)  # fmt: skip
        assert all(r.status_code in (200, 409) for r in out), [r.text for r in out]
        assert sum(r.status_code == 200 and r.json()["applied"] for r in out) == 1
        history = cluster.scalar("SELECT count(*) FROM grade_history WHERE question_id = :q "
                                 "AND reason = 'regrade'", q=qid)  # fmt: skip
        assert history == 1
        assert cluster.scalar("SELECT score FROM question_instance WHERE id = :q", q=qid) == 0.0
        assert cluster.scalar("SELECT score FROM exam WHERE id = :e", e=exam["id"]) == 2.5
