"""Running an assessment: answers saved as typed and resumed, the server's clock, automatic
submission at the deadline (lazily and by the sweep), accommodations (on SQLite and
PostgreSQL)."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta

from sqlalchemy import text
from sqlmodel import Session

from api.db import utcnow
from api.services.exams import GRACE, sweep
from api.services.questions import variant

from .conftest import register
from .test_courses import _assessment, _class, _me, _right_answer, _truth


def _age(client, exam_id: int, minutes: float, saves: bool = True) -> None:
    """Pretend the student started ``minutes`` ago; with ``saves``, the answers saved so far
    were saved then too (in time), not now."""
    then = (utcnow() - timedelta(minutes=minutes)).replace(tzinfo=None)
    with Session(client.app.state.engine) as s:
        s.exec(text("UPDATE exam SET created_at = :t WHERE id = :e"),
               params={"t": then, "e": exam_id})  # fmt: skip
        if saves:
            s.exec(text("UPDATE question_instance SET saved_at = :t "
                        "WHERE exam_id = :e AND saved_at IS NOT NULL"),
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


def test_no_hint_once_the_time_has_run_out(client) -> None:
    """Between the deadline and the automatic submission the copy is still open, but a hint
    could no longer help an answer that counts: 409, and none is counted."""
    teacher, course, (ada, _bob) = _class(client)
    quiz = _assessment(client, teacher, course["id"], count=1, allow_hints=True,
                       time_limit_min=10)  # fmt: skip
    exam = client.post(f"/assessments/{quiz['id']}/start", headers=ada).json()
    q1 = exam["questions"][0]["id"]
    assert client.post(f"/questions/{q1}/hint", headers=ada).status_code == 200
    _age(client, exam["id"], 10 + GRACE.total_seconds() / 120)  # past the deadline, in the grace
    r = client.post(f"/questions/{q1}/hint", headers=ada)
    assert r.status_code == 409 and "past its deadline" in r.json()["detail"]
    with Session(client.app.state.engine) as s:
        used = s.exec(text("SELECT hints_used FROM question_instance WHERE id = :q"),
                      params={"q": q1}).one()[0]  # fmt: skip
    assert used == 1


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


def test_answers_saved_after_the_deadline_make_the_automatic_submission_late(client) -> None:
    """The grace takes a save in flight at the deadline; it is not more time to answer. An
    automatic submission of answers saved only in time is not late; one that grades an
    answer saved (or cleared) after the deadline is flagged late, as an explicit submission
    then would be."""
    teacher, course, (ada, bob) = _class(client)
    quiz = _assessment(client, teacher, course["id"], count=1, time_limit_min=10)
    late_one, in_time = (
        client.post(f"/assessments/{quiz['id']}/start", headers=a).json() for a in (ada, bob)
    )
    for exam, auth in ((late_one, ada), (in_time, bob)):
        qid = exam["questions"][0]["id"]
        r = client.put(f"/exams/{exam['id']}/answers", json={"answers": {str(qid): "5"}},
                       headers=auth)  # fmt: skip
        assert r.status_code == 200
    # Ada saves again 20 seconds past the deadline (within the grace: still taken).
    _age(client, late_one["id"], 10 + 20 / 60)
    qid = late_one["questions"][0]["id"]
    r = client.put(f"/exams/{late_one['id']}/answers", json={"answers": {str(qid): "6"}},
                   headers=ada)  # fmt: skip
    assert r.status_code == 200, r.text
    _age(client, late_one["id"], 12, saves=False)
    _age(client, in_time["id"], 12)
    mine = client.get(f"/exams/{late_one['id']}", headers=ada).json()["result"]
    theirs = client.get(f"/exams/{in_time['id']}", headers=bob).json()["result"]
    assert (mine["auto_submitted"], mine["late"], mine["per_question"][0]["answer"]) == (
        True, True, "6")  # fmt: skip
    assert (theirs["auto_submitted"], theirs["late"]) == (True, False)
    book = client.get(f"/courses/{course['id']}/gradebook", headers=teacher).json()
    assert {r["name"]: r["late"] for r in book["rows"]} == {"student0": True, "student1": False}


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


def test_preview_shows_the_questions_with_their_key_on_variants_no_student_gets(client) -> None:
    from api.services.assessments import class_positions
    from grader.assessment import student_plan

    teacher, course, (ada,) = _class(client, students=1)
    quiz = _assessment(client, teacher, course["id"], count=3)
    r = client.get(f"/assessments/{quiz['id']}/preview", headers=teacher)
    assert r.status_code == 200, r.text
    items = r.json()
    assert [i["position"] for i in items] == [0, 1, 2]
    exam = client.post(f"/assessments/{quiz['id']}/start", headers=ada).json()
    assert [i["family"] for i in items] == [q["family"] for q in exam["questions"]]
    with Session(client.app.state.engine) as s:
        secret, request = s.exec(text("SELECT secret, request FROM assessment WHERE id = :a"),
                                 params={"a": quiz["id"]}).one()  # fmt: skip
    request = request if isinstance(request, dict) else json.loads(request)
    drawn = student_plan(class_positions(request, secret), secret, "preview")
    theirs = {t[1] for t in _truth(client, exam["id"]).values()}
    assert {p.seed for p in drawn}.isdisjoint(theirs)
    for item, p in zip(items, drawn, strict=True):
        truth = variant(p.family, p.seed, p.difficulty)
        assert item["prompt"] == truth.prompt and item["solution"] == truth.solution
        assert item["expected_display"] == truth.expected()[1]
        assert item["hints"] == list(truth.hints) and item["answer"]["kind"]
    assert client.get(f"/assessments/{quiz['id']}/preview", headers=ada).status_code == 403


def test_edit_and_delete_until_a_student_starts(client) -> None:
    teacher, course, (ada,) = _class(client, students=1)
    quiz = _assessment(client, teacher, course["id"], count=2)
    path = f"/assessments/{quiz['id']}"
    closes = (utcnow() + timedelta(days=2)).isoformat()
    r = client.patch(path, json={"title": "Quiz 1b", "count": 3, "time_limit_min": 25,
                                 "closes_at": closes, "allow_hints": True}, headers=teacher)  # fmt: skip
    assert r.status_code == 200, r.text
    edited = r.json()
    assert (edited["title"], edited["count"], edited["time_limit_min"], edited["allow_hints"],
            edited["locked"]) == ("Quiz 1b", 3, 25, True, False)  # fmt: skip
    assert client.get(path, headers=ada).json()["title"] == "Quiz 1b"
    assert client.patch(path, json={"count": 2}, headers=ada).status_code == 403
    r = client.patch(path, json={"opens_at": (utcnow() + timedelta(days=3)).isoformat()},
                     headers=teacher)  # fmt: skip
    assert r.status_code == 422 and "closes_at must be after opens_at" in r.json()["detail"]
    assert client.patch(path, json={"count": None}, headers=teacher).status_code == 422
    exam = client.post(f"{path}/start", headers=ada).json()
    assert len(exam["questions"]) == 3 and exam["time_limit_min"] == 25
    # Started: no more edits, no deletion.
    r = client.patch(path, json={"title": "late change"}, headers=teacher)
    assert r.status_code == 409 and "started" in r.json()["detail"]
    assert client.delete(path, headers=teacher).status_code == 409
    assert client.get(f"/courses/{course['id']}/assessments", headers=teacher).json()[0]["locked"]
    other = _assessment(client, teacher, course["id"])
    assert client.delete(f"/assessments/{other['id']}", headers=ada).status_code == 403
    assert client.delete(f"/assessments/{other['id']}", headers=teacher).status_code == 204
    assert client.get(f"/assessments/{other['id']}", headers=teacher).status_code == 404
    assert client.delete(f"/assessments/{other['id']}", headers=teacher).status_code == 404


def test_unknown_topic_family_or_architecture_is_named(client) -> None:
    teacher, course, _ = _class(client, students=0)
    path = f"/courses/{course['id']}/assessments"
    base = {"title": "Q", "count": 2}
    r = client.post(path, json=base | {"topics": ["grouped-convolution"]}, headers=teacher)
    assert r.status_code == 422 and "unknown topics: grouped-convolution" in r.json()["detail"]
    assert "valid:" in r.json()["detail"]
    r = client.post(path, json=base | {"families": ["conv_parms"]}, headers=teacher)
    assert r.status_code == 422 and "conv_parms" in r.json()["detail"]
    r = client.post(path, json=base | {"architectures": ["mynet"]}, headers=teacher)
    assert r.status_code == 422 and "unknown architectures: mynet" in r.json()["detail"]
    quiz = _assessment(client, teacher, course["id"])
    r = client.patch(f"/assessments/{quiz['id']}", json={"topics": ["nope"]}, headers=teacher)
    assert r.status_code == 422 and "nope" in r.json()["detail"]
    r = client.post("/exams", json={"topics": ["nope"], "count": 1}, headers=register(client))
    assert r.status_code == 422 and "unknown topics: nope" in r.json()["detail"]
    topic = client.get("/questions/families").json()[0]["topic"]
    assert client.post(path, json=base | {"topics": [topic]}, headers=teacher).status_code == 201


def test_accommodations_move_one_students_deadline(client) -> None:
    teacher, course, (ada, bob) = _class(client)
    now = utcnow()
    quiz = _assessment(client, teacher, course["id"], count=1, time_limit_min=10,
                       closes_at=(now + timedelta(hours=1)).isoformat())  # fmt: skip
    ada_id, bob_id = _me(client, ada), _me(client, bob)
    path = f"/assessments/{quiz['id']}/accommodations"
    r = client.put(f"{path}/{ada_id}", json={"extra_minutes": 5}, headers=teacher)
    assert r.status_code == 200 and r.json()["extra_minutes"] == 5, r.text
    later = (now + timedelta(hours=3)).isoformat()
    r = client.put(f"{path}/{bob_id}", json={"closes_at": later}, headers=teacher)
    assert r.status_code == 200
    assert client.put(f"{path}/{ada_id}", json={"extra_minutes": 5}, headers=ada).status_code == 403
    assert client.put(f"{path}/{_me(client, teacher)}", json={"extra_minutes": 5},
                      headers=teacher).status_code == 404  # fmt: skip
    assert client.put(f"{path}/{ada_id}", json={"extra_minutes": 0},
                      headers=teacher).status_code == 422  # fmt: skip
    listed = client.get(path, headers=teacher).json()
    assert [(a["user_id"], a["extra_minutes"]) for a in listed] == [(ada_id, 5), (bob_id, None)]
    a = client.post(f"/assessments/{quiz['id']}/start", headers=ada).json()
    created = datetime.fromisoformat(a["created_at"])
    assert datetime.fromisoformat(a["deadline"]) == created + timedelta(minutes=15)
    assert a["extra_minutes"] == 5
    # 12 minutes in: past the class's limit, within ada's. Her save still works.
    _age(client, a["id"], 12)
    qid = a["questions"][0]["id"]
    r = client.put(f"/exams/{a['id']}/answers", json={"answers": {str(qid): "3"}}, headers=ada)
    assert r.status_code == 200
    assert client.get(f"/exams/{a['id']}", headers=ada).json()["submitted"] is False
    # Bob's own closing time lets him start after the class's has passed.
    with Session(client.app.state.engine) as s:
        s.exec(text("UPDATE assessment SET closes_at = :t WHERE id = :a"),
               params={"t": (now - timedelta(minutes=1)).replace(tzinfo=None), "a": quiz["id"]})  # fmt: skip
        s.commit()
    b = client.post(f"/assessments/{quiz['id']}/start", headers=bob)
    assert b.status_code == 200, b.text
    # Extra time given after the start counts too; removing it restores the class's rule.
    client.put(f"{path}/{ada_id}", json={"extra_minutes": None}, headers=teacher)
    assert client.get(path, headers=teacher).json()[0]["user_id"] == bob_id
    shown = client.get(f"/exams/{a['id']}", headers=ada).json()
    assert shown["submitted"] is True and shown["auto_submitted"] is True


def test_an_accommodation_that_would_change_nothing_is_refused(client) -> None:
    """Extra minutes extend a time limit: on an assessment with none they once answered 200
    and extended nothing. A closing time of the student's own before the assessment opens
    would shut them out. Both are 422, and nothing is stored."""
    teacher, course, (ada,) = _class(client, students=1)
    now = utcnow()
    quiz = _assessment(client, teacher, course["id"], count=1,
                       opens_at=(now + timedelta(hours=1)).isoformat(),
                       closes_at=(now + timedelta(hours=2)).isoformat())  # fmt: skip
    path = f"/assessments/{quiz['id']}/accommodations/{_me(client, ada)}"
    r = client.put(path, json={"extra_minutes": 30}, headers=teacher)
    assert r.status_code == 422 and "no time limit" in r.json()["detail"], r.text
    early = (now + timedelta(minutes=30)).isoformat()
    r = client.put(path, json={"closes_at": early}, headers=teacher)
    assert r.status_code == 422 and "after the assessment's opens_at" in r.json()["detail"]
    assert client.get(f"/assessments/{quiz['id']}/accommodations", headers=teacher).json() == []
    later = (now + timedelta(hours=3)).isoformat()
    r = client.put(path, json={"closes_at": later}, headers=teacher)  # a later deadline: fine
    assert r.status_code == 200 and r.json()["extra_minutes"] is None
    r = client.patch(f"/assessments/{quiz['id']}", json={"time_limit_min": 20}, headers=teacher)
    assert r.status_code == 200, r.text
    r = client.put(path, json={"extra_minutes": 10}, headers=teacher)  # timed now: fine
    assert r.status_code == 200 and r.json()["extra_minutes"] == 10


def _submit_with(client, auth, quiz_id: int, right_positions: set[int]) -> dict:
    """Start and submit: the right answer at the given positions, a wrong number elsewhere."""
    exam = client.post(f"/assessments/{quiz_id}/start", headers=auth).json()
    answers = {}
    for q in exam["questions"]:
        right = _right_answer(client, exam["id"], q["id"])
        answers[str(q["id"])] = right if q_position(q, exam) in right_positions else "7"
    r = client.post(f"/exams/{exam['id']}/submit", json={"answers": answers}, headers=auth)
    assert r.status_code == 200, r.text
    return exam


def q_position(q: dict, exam: dict) -> int:
    return [x["id"] for x in exam["questions"]].index(q["id"])


def test_review_and_override_an_item(client) -> None:
    teacher, course, (ada, bob) = _class(client)
    quiz = _assessment(client, teacher, course["id"], count=2, families=["conv_params"])
    exam = _submit_with(client, ada, quiz["id"], {0})
    ada_id = _me(client, ada)
    path = f"/assessments/{quiz['id']}/attempts/{ada_id}"
    r = client.get(path, headers=teacher)
    assert r.status_code == 200, r.text
    copy = r.json()
    assert (copy["name"], copy["status"], copy["score"], copy["max_score"]) == (
        "student0", "submitted", 1.0, 2.0)  # fmt: skip
    assert copy["started_at"] and copy["submitted_at"] and copy["auto_submitted"] is False
    first, second = copy["items"]
    assert (first["status"], first["score"], second["status"], second["answer"]) == (
        "correct", 1.0, "incorrect", "7")  # fmt: skip
    assert second["prompt"] and second["expected_display"] and second["solution"]
    assert client.get(path, headers=ada).status_code == 403
    assert client.get(f"/assessments/{quiz['id']}/attempts/{_me(client, bob)}",
                      headers=teacher).json()["status"] == "not_started"  # fmt: skip
    assert client.get(f"/assessments/{quiz['id']}/attempts/{_me(client, teacher)}",
                      headers=teacher).status_code == 404  # fmt: skip
    # Override the second item: half credit, with a comment.
    r = client.patch(f"{path}/items/1", json={"score": 0.5, "comment": "units were right"},
                     headers=teacher)  # fmt: skip
    assert r.status_code == 200, r.text
    item = r.json()["items"][1]
    assert (item["score"], item["computed_score"], item["override"]["score"]) == (0.5, 0.0, 0.5)
    assert item["override"]["by"] == _me(client, teacher) and item["override"]["at"]
    assert r.json()["score"] == 1.5
    assert [h["reason"] for h in r.json()["history"]] == ["override"]
    # The student sees the override and its comment; the gradebook and statistics use it.
    mine = client.get(f"/exams/{exam['id']}", headers=ada).json()["result"]
    q = mine["per_question"][1]
    assert (q["score"], q["computed_score"], q["comment"]) == (0.5, 0.0, "units were right")
    assert (mine["score"], mine["percent"]) == (1.5, 75.0)
    book = client.get(f"/courses/{course['id']}/gradebook", headers=teacher).json()
    row = next(r for r in book["rows"] if r["student_id"] == ada_id)
    assert (row["score"], row["percent"]) == (1.5, 75.0)
    stats = client.get(f"/assessments/{quiz['id']}/stats", headers=teacher).json()
    assert [i["mean_score"] for i in stats["items"]] == [1.0, 0.5]
    # Bad input; removing the override restores the computed score.
    assert client.patch(f"{path}/items/1", json={"score": 1.5}, headers=teacher).status_code == 422
    assert client.patch(f"{path}/items/9", json={"score": 1}, headers=teacher).status_code == 404
    assert client.patch(f"{path}/items/1", json={"score": 1}, headers=ada).status_code == 403
    r = client.patch(f"{path}/items/1", json={"score": None}, headers=teacher)
    assert r.json()["score"] == 1.0 and r.json()["items"][1]["override"] is None
    bob_copy = client.post(f"/assessments/{quiz['id']}/start", headers=bob).json()
    assert bob_copy["submitted"] is False
    r = client.patch(f"/assessments/{quiz['id']}/attempts/{_me(client, bob)}/items/0",
                     json={"score": 1}, headers=teacher)  # fmt: skip
    assert r.status_code == 409


def test_regrade_recomputes_the_truth_and_keeps_the_old_grades(client) -> None:
    teacher, course, (ada, bob) = _class(client)
    quiz = _assessment(client, teacher, course["id"], count=2, families=["conv_params"])
    a = _submit_with(client, ada, quiz["id"], {0, 1})
    _submit_with(client, bob, quiz["id"], {0})
    path = f"/assessments/{quiz['id']}/regrade"
    clean = client.post(path, json={"dry_run": True}, headers=teacher).json()
    assert (clean["copies"], clean["changes"], clean["applied"]) == (2, [], False)
    # An older grader got ada's second item wrong: her stored grade says incorrect.
    qid = a["questions"][1]["id"]
    with Session(client.app.state.engine) as s:
        s.exec(text("UPDATE question_instance SET status = 'incorrect', score = 0 WHERE id = :q"),
               params={"q": qid})  # fmt: skip
        s.exec(text("UPDATE question_attempt SET status = 'incorrect', score = 0 "
                    "WHERE question_id = :q"), params={"q": qid})  # fmt: skip
        s.exec(text("UPDATE exam SET score = 1 WHERE id = :e"), params={"e": a["id"]})
        s.commit()
    dry = client.post(path, json={"dry_run": True}, headers=teacher).json()
    assert [(c["name"], c["position"], c["old_status"], c["old_score"], c["new_status"],
             c["new_score"]) for c in dry["changes"]] == [
        ("student0", 1, "incorrect", 0.0, "correct", 1.0)]  # fmt: skip
    assert dry["applied"] is False
    book = client.get(f"/courses/{course['id']}/gradebook", headers=teacher).json()
    assert next(r for r in book["rows"] if r["name"] == "student0")["score"] == 1.0  # untouched
    assert client.post(path, json={"dry_run": False}, headers=ada).status_code == 403
    done = client.post(path, json={"dry_run": False}, headers=teacher).json()
    assert done["applied"] is True and len(done["changes"]) == 1
    book = client.get(f"/courses/{course['id']}/gradebook", headers=teacher).json()
    assert next(r for r in book["rows"] if r["name"] == "student0")["score"] == 2.0
    copy = client.get(f"/assessments/{quiz['id']}/attempts/{_me(client, ada)}",
                      headers=teacher).json()  # fmt: skip
    assert copy["items"][1]["status"] == "correct"
    assert [(h["reason"], h["position"], h["status"], h["score"]) for h in copy["history"]] == [
        ("regrade", 1, "incorrect", 0.0)]  # fmt: skip
    mine = client.get(f"/exams/{a['id']}", headers=ada).json()["result"]
    assert (mine["score"], mine["per_question"][1]["status"]) == (2.0, "correct")
    again = client.post(path, json={"dry_run": False}, headers=teacher).json()
    assert (again["changes"], again["applied"]) == ([], False)


def _norm(value):
    return tuple(value) if isinstance(value, list | tuple) else value


def test_item_statistics_mark_small_samples_and_break_facility_down(client) -> None:
    teacher, course, students = _class(client, students=4)
    quiz = _assessment(client, teacher, course["id"], count=1, families=["conv_params"])
    for n, auth in enumerate(students):
        _submit_with(client, auth, quiz["id"], {0} if n % 2 == 0 else set())
    stats = client.get(f"/assessments/{quiz['id']}/stats", headers=teacher).json()
    (item,) = stats["items"]
    assert item["n"] == 4 and item["sample_too_small"] is True
    assert "n = 4" in item["sample_note"] and stats["min_n_for_discrimination"] == 30
    # Facility per value of each parameter the class's variants differ in, from the truth.
    exams = {}
    with Session(client.app.state.engine) as s:
        for r in s.exec(text("SELECT q.seed, q.difficulty, coalesce(q.override_score, q.score) "
                             "FROM question_instance q JOIN exam e ON e.id = q.exam_id "
                             "WHERE e.assessment_id = :a"), params={"a": quiz["id"]}):  # fmt: skip
            exams[r[0]] = (variant("conv_params", r[0], r[1]).params, r[2])
    derived = {"grouped": "groups", "dilated": "dilation", "strided": "stride"}
    for axis in item["by_parameter"]:
        key = axis["parameter"]
        for level in axis["levels"]:
            if key in derived:
                raw = derived[key]
                xs = [sc for p, sc in exams.values()
                      if isinstance(p.get(raw), int) and (p[raw] > 1) == level["value"]]  # fmt: skip
            else:
                xs = [sc for p, sc in exams.values() if _norm(p.get(key)) == _norm(level["value"])]
            assert level["n"] == len(xs) and level["facility_percent"] == round(
                100 * sum(xs) / len(xs), 2)  # fmt: skip
        having = derived.get(key, key)
        assert 2 <= len(axis["levels"]) <= 6
        assert sum(lv["n"] for lv in axis["levels"]) == sum(
            having in p for p, _ in exams.values())  # fmt: skip
    # Four variants of a family with a dozen parameters differ in some (kernel, stride, bias…).
    assert item["by_parameter"]


def test_the_assessment_export_prints_a_paper_or_a_key_with_its_prompts(client) -> None:
    teacher, course, _ = _class(client, students=0)
    quiz = _assessment(client, teacher, course["id"], count=2, families=["conv_params"])
    path = f"/assessments/{quiz['id']}/export"
    preview = client.get(f"/assessments/{quiz['id']}/preview", headers=teacher).json()
    key = client.get(path, params={"format": "markdown"}, headers=teacher).text
    paper = client.get(path, params={"format": "markdown", "part": "exam"}, headers=teacher).text
    # The export's variants are the LMS copy's, not the preview's: compare the structure.
    assert key.count("**Answer:**") == 2 and "Answer: ____" not in key
    assert paper.count("Answer: ____") == 2 and "**Answer:**" not in paper
    assert key.count("## Question") == paper.count("## Question") == len(preview) == 2
    prompts = [block.split("\n\n")[1] for block in key.split("## Question ")[1:]]
    assert all(p.strip() and not p.startswith("**Answer") for p in prompts)  # prompt first
    r = client.get(path, params={"format": "gift", "part": "exam"}, headers=teacher)
    assert r.status_code == 422 and "part=key" in r.json()["detail"]
    plain = client.get(path, params={"format": "json", "part": "exam"}, headers=teacher).json()
    fields = set().union(*(q.keys() for q in plain["questions"]))
    assert fields.isdisjoint({"expected", "expected_display", "solution", "seed"})
