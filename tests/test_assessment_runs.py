"""Running an assessment: answers saved as typed and resumed, the server's clock, automatic
submission at the deadline (lazily and by the sweep), accommodations (on SQLite and
PostgreSQL)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import text
from sqlmodel import Session

from api.db import utcnow
from api.exams import GRACE, sweep

from .conftest import register
from .test_courses import _assessment, _class, _me, _right_answer


def _age(client, exam_id: int, minutes: float) -> None:
    """Pretend the student started ``minutes`` ago."""
    then = (utcnow() - timedelta(minutes=minutes)).replace(tzinfo=None)
    with Session(client.app.state.engine) as s:
        s.exec(text("UPDATE exam SET created_at = :t WHERE id = :e"),
               params={"t": then, "e": exam_id})  # fmt: skip
        s.commit()


def test_answers_are_saved_as_typed_and_resumed_with_the_hints_shown(client) -> None:
    teacher, course, (ada, bob) = _class(client)
    quiz = _assessment(client, teacher, course["id"], count=3, allow_hints=True,
                       time_limit_min=30)  # fmt: skip
    exam = client.post(f"/assessments/{quiz['id']}/start", headers=ada).json()
    q1, q2, q3 = (q["id"] for q in exam["questions"])
    path = f"/exams/{exam['id']}/answers"
    r = client.put(path, json={"answers": {str(q1): "12", str(q2): "(1, 2"}}, headers=ada)
    assert r.status_code == 200, r.text
    assert r.json()["saved"] == {str(q1): "12", str(q2): "(1, 2"}
    # Partial updates: only the given question changes; "" clears one.
    r = client.put(path, json={"answers": {str(q2): "(1, 2, 3)", str(q3): ""}}, headers=ada)
    assert r.json()["saved"] == {str(q1): "12", str(q2): "(1, 2, 3)"}
    hint = client.post(f"/questions/{q1}/hint", headers=ada)
    assert hint.status_code == 200, hint.text
    # A reload (or another device) resumes exactly: answers, and the hints with their text.
    shown = client.get(f"/exams/{exam['id']}", headers=ada).json()
    by_id = {q["id"]: q for q in shown["questions"]}
    assert [by_id[q]["saved_answer"] for q in (q1, q2, q3)] == ["12", "(1, 2, 3)", None]
    assert by_id[q1]["shown_hints"] == [hint.json()["hint"]] and by_id[q1]["hints_used"] == 1
    assert by_id[q2]["shown_hints"] == []
    assert shown["server_time"] is not None and shown["deadline"] is not None
    # Nobody else's: another student's save is 404; not a question of it is 422.
    assert client.put(path, json={"answers": {str(q1): "1"}}, headers=bob).status_code == 404
    r = client.put(path, json={"answers": {"999999": "1"}}, headers=ada)
    assert r.status_code == 422 and "999999" in r.json()["detail"]
    assert client.put(path, json={"answers": {"x": "1"}}, headers=ada).status_code == 422
    assert client.put(path, json={"answers": {str(q1): "9" * 501}}, headers=ada).status_code == 422
    # Submitted: saving is refused, and the result shows what was sent.
    right = _right_answer(client, exam["id"], q1)
    done = client.post(f"/exams/{exam['id']}/submit", json={"answers": {str(q1): right}},
                       headers=ada)  # fmt: skip
    assert done.status_code == 200 and done.json()["auto_submitted"] is False
    r = client.put(path, json={"answers": {str(q1): "1"}}, headers=ada)
    assert r.status_code == 409 and "submitted" in r.json()["detail"]


def test_the_server_submits_the_saved_answers_at_the_deadline(client) -> None:
    teacher, course, (ada, bob) = _class(client)
    quiz = _assessment(client, teacher, course["id"], count=2, time_limit_min=10)
    exam = client.post(f"/assessments/{quiz['id']}/start", headers=ada).json()
    q1, q2 = (q["id"] for q in exam["questions"])
    right = _right_answer(client, exam["id"], q1)
    client.put(f"/exams/{exam['id']}/answers", json={"answers": {str(q1): right}}, headers=ada)
    # Within the grace after the deadline a submission is still taken, flagged late.
    other = client.post(f"/assessments/{quiz['id']}/start", headers=bob).json()
    _age(client, other["id"], 10 + GRACE.total_seconds() / 120)
    late = client.post(f"/exams/{other['id']}/submit", json={"answers": {}}, headers=bob).json()
    assert (late["late"], late["auto_submitted"], late["score"]) == (True, False, 0.0)
    # Past the grace: any access submits what was saved, once, marked automatic.
    _age(client, exam["id"], 12)
    shown = client.get(f"/exams/{exam['id']}", headers=ada).json()
    assert shown["submitted"] is True and shown["auto_submitted"] is True
    result = shown["result"]
    assert (result["score"], result["late"], result["auto_submitted"]) == (1.0, False, True)
    assert [q["answer"] for q in result["per_question"]] == [right, None]
    again = client.post(f"/exams/{exam['id']}/submit", json={"answers": {}}, headers=ada)
    assert again.status_code == 409 and "automatically" in again.json()["detail"]
    assert client.put(f"/exams/{exam['id']}/answers", json={"answers": {str(q2): "1"}},
                      headers=ada).status_code == 409  # fmt: skip
    with Session(client.app.state.engine) as s:
        n = s.exec(text("SELECT count(*) FROM question_attempt a JOIN question_instance q "
                        "ON q.id = a.question_id WHERE q.exam_id = :e"),
                   params={"e": exam["id"]}).one()[0]  # fmt: skip
    assert n == 1  # graded once: one answered question, one attempt


def test_the_sweep_submits_without_anyone_asking(client) -> None:
    teacher, course, (ada, bob) = _class(client)
    quiz = _assessment(client, teacher, course["id"], count=1, time_limit_min=5)
    exams = [client.post(f"/assessments/{quiz['id']}/start", headers=a).json() for a in (ada, bob)]
    _age(client, exams[0]["id"], 7)  # ada's is overdue, bob's is not
    app = client.app
    done = asyncio.run(sweep(app.state.db, app.state.grade_events))
    assert done == 1
    assert asyncio.run(sweep(app.state.db, app.state.grade_events)) == 0  # once
    book = client.get(f"/courses/{course['id']}/gradebook", headers=teacher).json()
    status = {r["student_id"]: r["status"] for r in book["rows"]}
    assert status == {_me(client, ada): "submitted", _me(client, bob): "in_progress"}


def test_practice_exams_are_never_submitted_for_you(client) -> None:
    auth = register(client)
    exam = client.post("/exams", json={"families": ["conv_params"], "count": 1,
                                       "time_limit_min": 1}, headers=auth).json()  # fmt: skip
    qid = exam["questions"][0]["id"]
    client.put(f"/exams/{exam['id']}/answers", json={"answers": {str(qid): "5"}}, headers=auth)
    _age(client, exam["id"], 60)
    shown = client.get(f"/exams/{exam['id']}", headers=auth).json()
    assert shown["submitted"] is False and shown["questions"][0]["saved_answer"] == "5"
