"""Courses and assessments: roles, each student's own variants, no truth before submitting,
the gradebook and item statistics (on SQLite and PostgreSQL)."""

from __future__ import annotations

import csv
import io
import json
import math
import xml.etree.ElementTree as ET
from datetime import timedelta

from sqlalchemy import text
from sqlmodel import Session

from api.db import utcnow
from api.services.questions import variant

from .conftest import register

FAMILIES = ["conv_params", "pool_output_shape"]


def _me(client, auth) -> int:
    return client.get("/users/me", headers=auth).json()["id"]


def _course(client, auth, title="CNNs 101") -> dict:
    r = client.post("/courses", json={"title": title}, headers=auth)
    assert r.status_code == 201, r.text
    return r.json()


def _assessment(client, auth, course_id, **body) -> dict:
    body = {"title": "Quiz 1", "families": FAMILIES, "count": 3} | body
    r = client.post(f"/courses/{course_id}/assessments", json=body, headers=auth)
    assert r.status_code == 201, r.text
    return r.json()


def _class(client, students=2):
    """An instructor, a course and ``students`` students who joined it."""
    teacher = register(client, "teacher")
    course = _course(client, teacher)
    kids = []
    for n in range(students):
        auth = register(client, f"student{n}")
        r = client.post("/courses/join", json={"join_code": course["join_code"]}, headers=auth)
        assert r.status_code == 200 and r.json()["role"] == "student", r.text
        kids.append(auth)
    return teacher, course, kids


def _truth(client, exam_id) -> dict[int, tuple[str, int, int]]:
    """(family, seed, difficulty) of each question of an exam, read from the database."""
    with Session(client.app.state.engine) as s:
        rows = s.exec(
            text("SELECT id, family, seed, difficulty FROM question_instance WHERE exam_id = :e"),
            params={"e": exam_id},
        ).all()
    return {r.id: (r.family, r.seed, r.difficulty) for r in rows}


def _right_answer(client, exam_id, question_id) -> str:
    family, seed, difficulty = _truth(client, exam_id)[question_id]
    return variant(family, seed, difficulty).expected()[1]


def test_courses_roles_and_join_codes(client) -> None:
    teacher, course, (ada, bob) = _class(client)
    assert course["role"] == "instructor" and len(course["join_code"]) == 8
    mine = client.get("/courses", headers=ada).json()
    assert [(c["id"], c["role"], c["join_code"]) for c in mine] == [(course["id"], "student", None)]
    assert client.get("/courses", headers=teacher).json()[0]["join_code"] == course["join_code"]
    # Joining again keeps one membership; a lower-case code works; a wrong one is 404.
    again = client.post(
        "/courses/join", json={"join_code": course["join_code"].lower()}, headers=ada
    )
    assert again.status_code == 200 and again.json()["role"] == "student"
    assert (
        client.post("/courses/join", json={"join_code": "NOPE2345"}, headers=ada).status_code == 404
    )
    members = client.get(f"/courses/{course['id']}/members", headers=teacher).json()
    assert sorted((m["name"], m["role"]) for m in members) == [
        ("student0", "student"), ("student1", "student"), ("teacher", "instructor")]  # fmt: skip
    assert client.get(f"/courses/{course['id']}/members", headers=ada).status_code == 403
    # A co-instructor: a student promoted by an instructor; students cannot promote.
    bob_id = _me(client, bob)
    path = f"/courses/{course['id']}/instructors"
    assert client.post(path, json={"user_id": bob_id}, headers=ada).status_code == 403
    assert client.post(path, json={"user_id": 10**9}, headers=teacher).status_code == 404
    assert client.post(path, json={"user_id": bob_id}, headers=teacher).status_code == 204
    assert client.get(f"/courses/{course['id']}", headers=bob).json()["role"] == "instructor"


def test_everything_of_a_course_is_invisible_to_non_members(client) -> None:
    teacher, course, _ = _class(client, students=0)
    quiz = _assessment(client, teacher, course["id"])
    stranger = register(client, "stranger")
    cid, aid = course["id"], quiz["id"]
    for method, path in [
        ("GET", f"/courses/{cid}"),
        ("GET", f"/courses/{cid}/members"),
        ("GET", f"/courses/{cid}/assessments"),
        ("GET", f"/courses/{cid}/gradebook"),
        ("POST", f"/courses/{cid}/assessments"),
        ("GET", f"/assessments/{aid}"),
        ("POST", f"/assessments/{aid}/start"),
        ("GET", f"/assessments/{aid}/stats"),
        ("GET", f"/assessments/{aid}/export"),
    ]:
        body = {"title": "x", "count": 1} if method == "POST" else None
        r = client.request(method, path, json=body, headers=stranger)
        assert r.status_code == 404, (path, r.status_code, r.text)


def test_only_instructors_create_assessments_and_bad_windows_are_refused(client) -> None:
    teacher, course, (ada,) = _class(client, students=1)
    path = f"/courses/{course['id']}/assessments"
    quiz = {"title": "Q", "families": FAMILIES, "count": 2}
    assert client.post(path, json=quiz, headers=ada).status_code == 403
    now = utcnow()
    bad = [
        {"opens_at": now.isoformat(), "closes_at": (now - timedelta(hours=1)).isoformat()},
        {"opens_at": "2026-12-01T09:00:00"},  # no time zone
        {"families": ["no_such_family"]},
        {"count": 0},
    ]
    for extra in bad:
        r = client.post(path, json=quiz | extra, headers=teacher)
        assert r.status_code == 422, (extra, r.text)
    created = client.post(path, json=quiz | {"time_limit_min": 20}, headers=teacher).json()
    assert (created["count"], created["families"], created["time_limit_min"]) == (2, FAMILIES, 20)
    assert "secret" not in created and "seed" not in created


def test_each_student_gets_own_variants_and_no_seed(client) -> None:
    teacher, course, (ada, bob) = _class(client)
    quiz = _assessment(client, teacher, course["id"], count=4)
    a = client.post(f"/assessments/{quiz['id']}/start", json={}, headers=ada).json()
    b = client.post(f"/assessments/{quiz['id']}/start", json={}, headers=bob).json()
    assert a["seed"] is None and all(q["seed"] is None for q in a["questions"])
    assert a["assessment_id"] == quiz["id"]
    # Same families at the same positions, each student's own variants.
    assert [q["family"] for q in a["questions"]] == [q["family"] for q in b["questions"]]
    ta, tb = _truth(client, a["id"]), _truth(client, b["id"])
    assert sorted(v[0] for v in ta.values()) == sorted(v[0] for v in tb.values())
    assert {v[1] for v in ta.values()}.isdisjoint({v[1] for v in tb.values()})
    # Starting again returns the same exam; GET shows no seed either.
    again = client.post(f"/assessments/{quiz['id']}/start", headers=ada).json()
    assert again["id"] == a["id"] and [q["id"] for q in again["questions"]] == [
        q["id"] for q in a["questions"]]  # fmt: skip
    shown = client.get(f"/exams/{a['id']}", headers=ada).json()
    assert shown["seed"] is None and all(q["seed"] is None for q in shown["questions"])
    # Instructors do not take it.
    assert client.post(f"/assessments/{quiz['id']}/start", headers=teacher).status_code == 403


def test_no_truth_of_an_open_assessment_reaches_the_student(client) -> None:
    teacher, course, (ada,) = _class(client, students=1)
    quiz = _assessment(client, teacher, course["id"], count=2, families=["conv_params"])
    exam = client.post(f"/assessments/{quiz['id']}/start", headers=ada).json()
    eid = exam["id"]
    for fmt in ("json", "markdown", "moodle", "gift"):
        r = client.get(f"/exams/{eid}/export", params={"format": fmt, "part": "key"}, headers=ada)
        assert r.status_code == 403, (fmt, r.text)
    # The questions alone may be exported: no expected value, solution, mistakes or seed.
    paper = client.get(
        f"/exams/{eid}/export", params={"format": "json", "part": "exam"}, headers=ada
    )
    assert paper.status_code == 200
    fields = set().union(*(q.keys() for q in paper.json()["questions"]))
    assert fields.isdisjoint({"expected", "expected_display", "solution", "mistakes", "seed"})
    # Practice of the assessment's families is paused: no variant can stand in for theirs.
    assert client.post("/questions", json={"family": "conv_params"}, headers=ada).status_code == 409
    r = client.post("/exams", json={"families": ["conv_params"], "count": 1}, headers=ada)
    assert r.status_code == 409 and "paused" in r.json()["detail"]
    other = client.post("/questions", json={"family": "pool_output_shape"}, headers=ada)
    assert other.status_code == 201  # other families stay open
    # After submitting: feedback and worked solutions, and practice again.
    qid = exam["questions"][0]["id"]
    answers = {str(qid): _right_answer(client, eid, qid)}
    result = client.post(f"/exams/{eid}/submit", json={"answers": answers}, headers=ada).json()
    first = result["per_question"][0]
    assert first["status"] == "correct" and first["solution"] and first["expected_display"]
    assert (
        client.get(f"/exams/{eid}/export", params={"format": "json"}, headers=ada).status_code
        == 200
    )
    assert client.post("/questions", json={"family": "conv_params"}, headers=ada).status_code == 201


def test_start_is_refused_outside_the_window_and_late_is_flagged(client) -> None:
    teacher, course, (ada,) = _class(client, students=1)
    now = utcnow()
    soon = _assessment(
        client, teacher, course["id"], opens_at=(now + timedelta(hours=1)).isoformat()
    )
    r = client.post(f"/assessments/{soon['id']}/start", headers=ada)
    assert r.status_code == 409 and "opens at" in r.json()["detail"]
    closed = _assessment(client, teacher, course["id"],
                         opens_at=(now - timedelta(hours=2)).isoformat(),
                         closes_at=(now - timedelta(hours=1)).isoformat())  # fmt: skip
    r = client.post(f"/assessments/{closed['id']}/start", headers=ada)
    assert r.status_code == 409 and "closed at" in r.json()["detail"]
    timed = _assessment(client, teacher, course["id"], time_limit_min=5)
    exam = client.post(f"/assessments/{timed['id']}/start", headers=ada).json()
    assert exam["deadline"] is not None
    with Session(client.app.state.engine) as s:  # started 5½ minutes ago: within the grace
        s.exec(text("UPDATE exam SET created_at = :t WHERE id = :e"),
               params={"t": (now - timedelta(minutes=5.5)).replace(tzinfo=None), "e": exam["id"]})  # fmt: skip
        s.commit()
    result = client.post(f"/exams/{exam['id']}/submit", json={"answers": {}}, headers=ada).json()
    assert result["late"] is True and result["score"] == 0


def test_gradebook_rows_and_csv(client) -> None:
    teacher, course, (ada, bob) = _class(client)
    client.post("/courses/join", json={"join_code": course["join_code"]},
                headers=register(client, "=HYPERLINK(1)"))  # fmt: skip
    q1 = _assessment(client, teacher, course["id"], title="Quiz 1", count=2)
    q2 = _assessment(client, teacher, course["id"], title="Quiz 2", count=1)
    exam = client.post(f"/assessments/{q1['id']}/start", headers=ada).json()
    qid = exam["questions"][0]["id"]
    answers = {str(qid): _right_answer(client, exam["id"], qid)}
    client.post(f"/exams/{exam['id']}/submit", json={"answers": answers}, headers=ada)
    client.post(f"/assessments/{q2['id']}/start", headers=bob)
    book = client.get(f"/courses/{course['id']}/gradebook", headers=teacher).json()
    rows = {(r["name"], r["assessment"]): r for r in book["rows"]}
    assert len(book["rows"]) == 3 * 2  # every student × every assessment
    done = rows["student0", "Quiz 1"]
    assert (done["status"], done["score"], done["max_score"], done["percent"], done["late"]) == (
        "submitted", 1.0, 2.0, 50.0, False)  # fmt: skip
    assert rows["student1", "Quiz 2"]["status"] == "in_progress"
    assert rows["student1", "Quiz 1"]["status"] == "not_started"
    assert client.get(f"/courses/{course['id']}/gradebook", headers=ada).status_code == 403
    r = client.get(f"/courses/{course['id']}/gradebook", params={"format": "csv"}, headers=teacher)
    assert r.headers["content-type"].startswith("text/csv")
    assert r.text.startswith("\ufeff")
    table = list(csv.DictReader(io.StringIO(r.text.lstrip("\ufeff"))))
    assert list(table[0]) == book["fields"] and len(table) == 6
    assert {row["name"] for row in table} == {"'=HYPERLINK(1)", "student0", "student1"}
    row = next(t for t in table if t["name"] == "student0" and t["assessment"] == "Quiz 1")
    assert (row["score"], row["percent"], row["late"]) == ("1.0", "50.0", "False")


def _pearson(xs, ys):
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    sxy = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True))
    sxx, syy = sum((x - mx) ** 2 for x in xs), sum((y - my) ** 2 for y in ys)
    return sxy / math.sqrt(sxx * syy)


def test_item_statistics(client) -> None:
    teacher, course, students = _class(client, students=5)
    quiz = _assessment(client, teacher, course["id"], count=3)
    # Which items each student gets right (by position); the rest get a wrong number.
    right = [{0, 1, 2}, {0, 1}, {0, 1}, {0}, set()]
    for auth, mine in zip(students, right, strict=True):
        exam = client.post(f"/assessments/{quiz['id']}/start", headers=auth).json()
        answers = {}
        for position, q in enumerate(exam["questions"]):  # listed in position order
            wrong = "(1, 2, 3)" if q["answer"]["kind"] == "shape" else "7"
            right_one = _right_answer(client, exam["id"], q["id"])
            answers[str(q["id"])] = right_one if position in mine else wrong
        r = client.post(f"/exams/{exam['id']}/submit", json={"answers": answers}, headers=auth)
        assert r.status_code == 200
    stats = client.get(f"/assessments/{quiz['id']}/stats", headers=teacher).json()
    assert stats["submitted"] == 5 and "point-biserial" in stats["discrimination_method"]
    items = {i["position"]: i for i in stats["items"]}
    scores = [[1.0 if p in mine else 0.0 for p in range(3)] for mine in right]
    for p in range(3):
        xs = [s[p] for s in scores]
        rest = [sum(s) - s[p] for s in scores]
        assert items[p]["n"] == 5
        assert items[p]["mean_score"] == sum(xs) / 5
        expected = None if len(set(xs)) == 1 else round(_pearson(xs, rest), 4)
        assert items[p]["discrimination"] == expected
    assert items[0]["discrimination"] == round(_pearson([1, 1, 1, 1, 0], [2, 1, 1, 0, 0]), 4)
    assert items[2]["upper_lower_index"] == 1.0  # top 27 % (1 student) right, bottom wrong
    assert items[1]["statuses"] == {"correct": 3, "incorrect": 2}
    assert client.get(f"/assessments/{quiz['id']}/stats", headers=students[0]).status_code == 403


def test_lms_export_carries_no_students_variant(client) -> None:
    teacher, course, (ada,) = _class(client, students=1)
    quiz = _assessment(client, teacher, course["id"], count=3)
    exam = client.post(f"/assessments/{quiz['id']}/start", headers=ada).json()
    theirs = {v[1] for v in _truth(client, exam["id"]).values()}
    r = client.get(f"/assessments/{quiz['id']}/export", params={"format": "json"}, headers=teacher)
    exported = json.loads(r.text)
    assert [q["family"] for q in exported["questions"]] == [q["family"] for q in exam["questions"]]
    assert {q["seed"] for q in exported["questions"]}.isdisjoint(theirs)
    xml = client.get(f"/assessments/{quiz['id']}/export", headers=teacher)
    assert xml.status_code == 200 and len(ET.fromstring(xml.text).findall("question")) >= 3
    assert client.get(f"/assessments/{quiz['id']}/export", headers=ada).status_code == 403


def test_assessment_listing_shows_each_callers_status(client) -> None:
    teacher, course, (ada, bob) = _class(client)
    quiz = _assessment(client, teacher, course["id"])
    client.post(f"/assessments/{quiz['id']}/start", headers=ada)
    mine = client.get(f"/courses/{course['id']}/assessments", headers=ada).json()
    assert [(a["id"], a["status"]) for a in mine] == [(quiz["id"], "in_progress")]
    assert client.get(f"/courses/{course['id']}/assessments", headers=bob).json()[0]["status"] == (
        "not_started")  # fmt: skip
    theirs = client.get(f"/courses/{course['id']}/assessments", headers=teacher).json()[0]
    assert (theirs["started"], theirs["submitted"]) == (1, 0)


def test_study_sessions_skip_the_families_of_an_open_assessment(client) -> None:
    teacher, course, (ada,) = _class(client, students=1)
    quiz = _assessment(client, teacher, course["id"], count=1, families=["conv_params"])
    exam = client.post(f"/assessments/{quiz['id']}/start", headers=ada).json()
    body = {"item_ids": ["q:conv_params", "q:pool_output_shape"], "include_questions": True,
            "size": 4}  # fmt: skip
    sid = client.post("/sessions", json=body, headers=ada).json()["id"]
    served = []
    for _ in range(3):
        item = client.get(f"/sessions/{sid}/next", headers=ada).json()
        if item.get("done"):
            break
        served.append(item["item_id"])
        answer = "(1, 2, 3)" if item["question"]["answer"]["kind"] == "shape" else "7"
        out = client.post(f"/sessions/{sid}/answer", headers=ada,
                          json={"item_id": item["item_id"], "answer": answer})  # fmt: skip
        assert out.json()["recorded"] is True
    assert served == ["q:pool_output_shape"]  # conv_params waits for the submission
    client.post(f"/exams/{exam['id']}/submit", json={"answers": {}}, headers=ada)
    sid = client.post("/sessions", json=body, headers=ada).json()["id"]
    assert client.get(f"/sessions/{sid}/next", headers=ada).json()["item_id"] == "q:conv_params"
