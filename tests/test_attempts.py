"""The history of graded answers: what it lists, its filters, and never an unsubmitted exam."""

from __future__ import annotations

from .conftest import register


def _practice(client, auth, family: str, answers: list[str]) -> dict:
    question = client.post("/questions", json={"family": family, "seed": 11}, headers=auth).json()
    for answer in answers:
        client.post(f"/questions/{question['id']}/grade", json={"answer": answer}, headers=auth)
    return question


def test_attempts_list_prompt_answer_grade_and_mistakes(client) -> None:
    auth, other = register(client), register(client, "bob")
    question = _practice(client, auth, "conv_params", ["1", "not a number at all"])
    wrong = client.post(f"/questions/{question['id']}/grade", json={"answer": "2"}, headers=auth)
    right = wrong.json()["expected_display"]
    client.post(f"/questions/{question['id']}/grade", json={"answer": right}, headers=auth)
    page = client.get("/questions/attempts", headers=auth).json()
    # Three graded answers (the unreadable one is no attempt), newest first.
    assert page["count"] == 3
    assert [(a["answer"], a["status"]) for a in page["data"]] == [
        (right, "correct"), ("2", "incorrect"), ("1", "incorrect")]  # fmt: skip
    first = page["data"][-1]
    assert first["prompt"] == question["prompt"] and first["family"] == "conv_params"
    assert first["source"] == "practice" and first["score"] == 0.0
    assert first["expected_display"] == right and first["solution"]
    missed = client.get("/questions/attempts", params={"status": "incorrect"}, headers=auth)
    assert [a["answer"] for a in missed.json()["data"]] == ["2", "1"]
    none = client.get("/questions/attempts", params={"family": "fire_params"}, headers=auth)
    assert none.json() == {"data": [], "count": 0, "withheld": False}
    assert client.get("/questions/attempts", headers=other).json() == {
        "data": [],
        "count": 0,
        "withheld": False,
    }
    paged = client.get("/questions/attempts", params={"limit": 1, "offset": 1}, headers=auth)
    assert [a["answer"] for a in paged.json()["data"]] == ["2"] and paged.json()["count"] == 3


def test_named_mistake_comes_back(client) -> None:
    auth = register(client)
    question = client.post("/questions", json={"family": "conv_params", "seed": 3},
                           headers=auth).json()  # fmt: skip
    graded = client.post(f"/questions/{question['id']}/grade", json={"answer": "1"},
                         headers=auth).json()  # fmt: skip
    listed = client.get("/questions/attempts", headers=auth).json()["data"][0]
    assert listed["diagnosis"] == graded["diagnosis"]


def test_exam_answers_appear_only_once_submitted(client) -> None:
    auth = register(client)
    exam = client.post("/exams", json={"families": ["conv_params"], "count": 1, "seed": 5},
                       headers=auth).json()  # fmt: skip
    assert client.get("/questions/attempts", headers=auth).json()["count"] == 0
    qid = exam["questions"][0]["id"]
    r = client.post(f"/exams/{exam['id']}/submit", json={"answers": {str(qid): "7"}},
                    headers=auth)  # fmt: skip
    assert r.status_code == 200, r.text
    listed = client.get("/questions/attempts", headers=auth).json()
    assert listed["count"] == 1 and listed["data"][0]["source"] == "exam"
    assert listed["data"][0]["answer"] == "7"


def test_bad_filters_are_422(client) -> None:
    auth = register(client)
    for params in ({"limit": 101}, {"limit": 0}, {"status": "invalid"}, {"offset": -1},
                   {"family": "x" * 65}):  # fmt: skip
        assert client.get("/questions/attempts", params=params, headers=auth).status_code == 422
    assert client.get("/questions/attempts").status_code == 401
