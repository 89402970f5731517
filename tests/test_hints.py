"""Hints (each one caps the score, recorded per question), the cards a grade links to, and
fresh variants: a review never repeats the variant the student saw last."""

from __future__ import annotations

from api.services.questions import variant

from .conftest import register


def _question(client, auth, family="conv_params") -> dict:
    r = client.post("/questions", json={"family": family, "seed": 5}, headers=auth)
    assert r.status_code == 201, r.text
    return r.json()


def test_hints_one_at_a_time_each_caps_the_score(client) -> None:
    auth = register(client)
    q = _question(client, auth)
    truth = variant("conv_params", 5, 1)
    assert (q["hints"], q["hints_used"]) == (len(truth.hints), 0) and q["hints"] == 3
    shown = []
    for n in (1, 2):
        r = client.post(f"/questions/{q['id']}/hint", headers=auth)
        assert r.status_code == 200, r.text
        body = r.json()
        assert (body["number"], body["total"], body["max_score"]) == (n, 3, 1 - 0.25 * n)
        assert body["hint"] == truth.hints[n - 1]
        shown.append(body["hint"])
    value, display = truth.expected()
    assert not any(str(value) in h or display in h for h in shown)  # never the answer
    assert client.get(f"/questions/{q['id']}", headers=auth).json()["hints_used"] == 2
    grade = client.post(
        f"/questions/{q['id']}/grade", json={"answer": display}, headers=auth
    ).json()
    assert (grade["status"], grade["score"], grade["hints_used"], grade["max_score"]) == (
        "correct", 0.5, 2, 0.5)  # fmt: skip
    assert "2 hints used" in grade["feedback"]
    # Answered: no more hints.
    assert client.post(f"/questions/{q['id']}/hint", headers=auth).status_code == 409


def test_hints_run_out_and_unused_hints_cost_nothing(client) -> None:
    auth = register(client)
    q = _question(client, auth)
    for _ in range(3):
        assert client.post(f"/questions/{q['id']}/hint", headers=auth).status_code == 200
    r = client.post(f"/questions/{q['id']}/hint", headers=auth)
    assert r.status_code == 409 and "all 3 hints" in r.json()["detail"]
    fresh = _question(client, auth)
    display = variant("conv_params", 5, 1).expected()[1]
    grade = client.post(f"/questions/{fresh['id']}/grade", json={"answer": display}, headers=auth)
    assert (grade.json()["score"], grade.json()["max_score"]) == (1.0, 1.0)
    other = register(client, "eve")
    assert client.post(f"/questions/{q['id']}/hint", headers=other).status_code == 404


def test_grades_link_the_cards_that_teach_the_question(client) -> None:
    auth = register(client)
    q = _question(client, auth)
    grade = client.post(f"/questions/{q['id']}/grade", json={"answer": "7"}, headers=auth).json()
    assert grade["cards"] == ["conv-arithmetic-params-formula"]


def test_exam_hints_only_where_the_assessment_allows(client) -> None:
    teacher, student = register(client, "prof"), register(client, "kim")
    practice = client.post("/exams", json={"families": ["conv_params"], "count": 1},
                           headers=student).json()  # fmt: skip
    assert practice["hints_allowed"] is False
    qid = practice["questions"][0]["id"]
    assert client.post(f"/questions/{qid}/hint", headers=student).status_code == 403
    course = client.post("/courses", json={"title": "c"}, headers=teacher).json()
    client.post("/courses/join", json={"join_code": course["join_code"]}, headers=student)
    quiz = client.post(f"/courses/{course['id']}/assessments", headers=teacher,
                       json={"title": "q", "families": ["conv_params"], "count": 1,
                             "allow_hints": True}).json()  # fmt: skip
    exam = client.post(f"/assessments/{quiz['id']}/start", headers=student).json()
    assert exam["hints_allowed"] is True
    qid = exam["questions"][0]["id"]
    r = client.post(f"/questions/{qid}/hint", headers=student)
    assert r.status_code == 200 and r.json()["max_score"] == 0.75
    from sqlmodel import Session, text

    with Session(client.app.state.engine) as s:
        family, seed, level = s.exec(text("SELECT family, seed, difficulty FROM question_instance "
                                          "WHERE id = :q"), params={"q": qid}).one()  # fmt: skip
    display = variant(family, seed, level).expected()[1]
    result = client.post(f"/exams/{exam['id']}/submit", json={"answers": {str(qid): display}},
                         headers=student).json()  # fmt: skip
    first = result["per_question"][0]
    assert (first["status"], first["score"], first["hints_used"]) == ("correct", 0.75, 1)
    assert result["score"] == 0.75
    assert client.post(f"/questions/{qid}/hint", headers=student).status_code == 409


def _session_question(client, auth) -> dict:
    body = {"item_ids": ["q:conv_params"], "include_questions": True, "size": 1}
    started = client.post("/sessions", json=body, headers=auth).json()
    assert started["hints_allowed"] is True
    sid = started["id"]
    item = client.get(f"/sessions/{sid}/next", headers=auth).json()
    assert item["kind"] == "question", item
    return {"sid": sid, **item}


def test_a_review_never_repeats_the_last_variant(client, monkeypatch) -> None:
    # The operating system's generator is made to draw the same seed again and again: only
    # the fresh-variant rule can make the second review show something else.
    import grader.variants
    from api.services import questions

    # The generated path (pooled variants never repeat either: tests/test_variant_pools.py).
    no_pool = questions._Pools()
    no_pool.READY = 10**9
    monkeypatch.setattr(questions, "_POOLS", no_pool)
    draws = iter([777] + [777] * 3 + [778] * 50)
    monkeypatch.setattr(grader.variants.secrets, "randbelow", lambda n: next(draws))
    auth = register(client)
    first = _session_question(client, auth)
    assert first["question"]["seed"] == 777
    answer = {"item_id": "q:conv_params", "answer": "7", "elapsed_ms": 1000}
    client.post(f"/sessions/{first['sid']}/answer", json=answer, headers=auth)
    second = _session_question(client, auth)
    assert second["question"]["seed"] == 778
    assert second["question"]["prompt"] != first["question"]["prompt"]


def test_hints_in_a_study_session_make_a_right_answer_hard(client) -> None:
    auth = register(client)
    item = _session_question(client, auth)
    qid = item["question"]["id"]
    assert client.post(f"/questions/{qid}/hint", headers=auth).status_code == 200
    q = item["question"]
    display = variant("conv_params", q["seed"], q["difficulty"]).expected()[1]
    body = {"item_id": "q:conv_params", "answer": display, "elapsed_ms": 1000}
    out = client.post(f"/sessions/{item['sid']}/answer", json=body, headers=auth).json()
    assert out["grade"]["status"] == "correct" and out["grade"]["score"] == 0.75
    assert out["rating"] == "hard"
