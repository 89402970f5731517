"""The open-copy rule through the HTTP API: nothing a student can call reveals the truth of
an assessment that is open for them, from the moment it opens, started or not. Hints never
state the answer of another position of the same copy.

Each test records what the student was shown while the assessment was open, submits, reads
the truths from the result, and checks that none of them appeared."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from typing import Any

from .conftest import register
from .test_course_architectures import NET


def _course(client):
    teacher, student = register(client, "prof"), register(client, "kim")
    course = client.post("/courses", json={"title": "c"}, headers=teacher).json()
    client.post("/courses/join", json={"join_code": course["join_code"]}, headers=student)
    added = client.post(f"/courses/{course['id']}/architectures", json=NET, headers=teacher)
    assert added.status_code == 201, added.text
    return teacher, student, course["id"], added.json()


def _assess(client, teacher, cid, **extra) -> dict[str, Any]:
    body = {"title": "own", "architectures": ["tinynet"], "families": [], "count": 1} | extra
    r = client.post(f"/courses/{cid}/assessments", headers=teacher, json=body)
    assert r.status_code == 201, r.text
    return r.json()


def _patterns(value: Any) -> list[re.Pattern[str]]:
    """How a truth may be written: a count in full (with or without thousands commas), a
    share as a percentage to 1 or 2 decimals or as a fraction to 3 or 4."""
    if isinstance(value, int):
        forms = {str(value), f"{value:,}"}
    else:
        x = Fraction(value)
        forms = {f"{100 * float(x):.2f}", f"{100 * float(x):.1f}", f"{float(x):.4f}"}
    return [re.compile(rf"(?<![\d.,]){re.escape(f)}(?![\d])") for f in forms]


def _truths(result: dict[str, Any]) -> list[Any]:
    values = [item["expected"] for item in result["per_question"]]
    assert values and all(v is not None for v in values)
    return values


def _leaked(bodies: list[str], truths: list[Any]) -> list[str]:
    return [
        f"{t!r} in {body[:200]}"
        for t in truths
        for body in bodies
        for p in _patterns(t)
        if p.search(body)
    ]


def _share_and_total(client, teacher, student, cid):
    """A started copy on tinynet (hints allowed) with a share question and a total question
    of the same quantity: assessments are planned from their secret, so set a few."""
    for _ in range(12):
        quiz = _assess(client, teacher, cid, count=3, allow_hints=True)
        exam = client.post(f"/assessments/{quiz['id']}/start", headers=student).json()
        prompts = [q["prompt"] for q in exam["questions"]]
        for what, total in (("parameters", "How many parameters"), ("MACs", "How many MACs")):
            if any(total in p for p in prompts) and any(
                f"percentage of the {what}" in p for p in prompts
            ):
                return quiz, exam
        client.post(f"/exams/{exam['id']}/submit", json={"answers": {}}, headers=student)
    raise AssertionError("no copy with a share and a total of the same quantity")


def test_hints_never_state_the_answer_of_another_position(client) -> None:
    teacher, student, cid, added = _course(client)
    _quiz, exam = _share_and_total(client, teacher, student, cid)
    shown: list[str] = []
    for q in exam["questions"]:
        for _ in range(q["hints"]):
            r = client.post(f"/questions/{q['id']}/hint", headers=student)
            assert r.status_code == 200, r.text
            shown.append(r.json()["hint"])
        assert client.post(f"/questions/{q['id']}/hint", headers=student).status_code == 409
    result = client.post(f"/exams/{exam['id']}/submit", json={"answers": {}}, headers=student)
    truths = _truths(result.json())
    assert shown and not _leaked(shown, truths)
    # The share question's "The network has N … in all" was the total's answer: dropped.
    assert not any("in all" in h for h in shown)
    assert {added["params"], added["macs"]} & set(truths)


def test_a_practice_question_drawn_before_the_assessment_gives_no_hint_during_it(client) -> None:
    teacher, student, cid, added = _course(client)
    body = {"family": "course_network", "course_id": cid, "architecture": "tinynet"}
    drawn = [
        client.post("/questions", json=body | {"seed": s, "difficulty": 2}, headers=student).json()
        for s in range(3)
    ]
    client.post(f"/questions/{drawn[0]['id']}/hint", headers=student)  # before: allowed
    quiz = _assess(client, teacher, cid, count=2)
    bodies = []
    for q in drawn:  # the assessment is open though not started: paused
        r = client.post(f"/questions/{q['id']}/hint", headers=student)
        assert r.status_code == 409, r.text
        bodies.append(r.text)
        r = client.post(f"/questions/{q['id']}/grade", json={"answer": "50%"}, headers=student)
        assert r.status_code == 409
        bodies.append(r.text)
    exam = client.post(f"/assessments/{quiz['id']}/start", headers=student).json()
    for q in drawn:  # and started
        assert client.post(f"/questions/{q['id']}/hint", headers=student).status_code == 409
    result = client.post(f"/exams/{exam['id']}/submit", json={"answers": {}}, headers=student)
    truths = _truths(result.json()) + [added["params"], added["macs"]]
    assert not _leaked(bodies, truths)
    r = client.post(f"/questions/{drawn[1]['id']}/hint", headers=student)
    assert r.status_code == 200  # submitted: practice resumes


def test_a_course_network_is_hidden_from_the_opening_not_from_the_start(client) -> None:
    teacher, student, cid, added = _course(client)
    path = f"/courses/{cid}/architectures/tinynet/profile"
    later = datetime.now(UTC) + timedelta(days=2)
    _assess(client, teacher, cid, opens_at=later.isoformat())
    assert client.get(path, headers=student).status_code == 200  # not open yet
    quiz = _assess(client, teacher, cid)
    r = client.get(path, headers=student)  # open, not started
    assert r.status_code == 409, r.text
    listed = client.get(f"/courses/{cid}/architectures", headers=student).json()
    assert [(a["paused"], a["params"], a["layers"]) for a in listed] == [(True, None, None)]
    assert client.get(path, headers=teacher).status_code == 200  # instructors take none
    exam = client.post(f"/assessments/{quiz['id']}/start", headers=student).json()
    assert client.get(path, headers=student).status_code == 409
    client.post(f"/exams/{exam['id']}/submit", json={"answers": {}}, headers=student)
    assert client.get(path, headers=student).status_code == 200
    assert added["params"] > 0


def test_attempts_and_old_exams_wait_for_the_submission(client) -> None:
    teacher, student, cid, added = _course(client)
    body = {"family": "course_network", "course_id": cid, "architecture": "tinynet", "seed": 4}
    q = client.post("/questions", json=body | {"difficulty": 1}, headers=student).json()
    metric = "params" if "How many parameters" in q["prompt"] else "macs"
    graded = client.post(f"/questions/{q['id']}/grade", json={"answer": str(added[metric])},
                         headers=student)  # fmt: skip
    assert graded.json()["status"] == "correct"
    first = _assess(client, teacher, cid)  # an earlier assessment on the same network
    old = client.post(f"/assessments/{first['id']}/start", headers=student).json()["id"]
    client.post(f"/exams/{old}/submit", json={"answers": {}}, headers=student)
    assert client.get(f"/exams/{old}", headers=student).json()["result"] is not None
    quiz = _assess(client, teacher, cid)
    listed = client.get("/questions/attempts", headers=student).json()
    assert listed["data"] == [] and listed["count"] == 0 and listed["withheld"] is True
    assert client.get(f"/exams/{old}", headers=student).status_code == 409
    key = client.get(f"/exams/{old}/export", params={"format": "json"}, headers=student)
    assert key.status_code == 409
    paper = client.get(f"/exams/{old}/export", params={"format": "markdown"}, headers=student)
    assert paper.status_code == 200  # the questions without their answers
    assert not _leaked([paper.text, listed.__repr__()], [added["params"], added["macs"]])
    exam = client.post(f"/assessments/{quiz['id']}/start", headers=student).json()
    client.post(f"/exams/{exam['id']}/submit", json={"answers": {}}, headers=student)
    listed = client.get("/questions/attempts", headers=student).json()
    assert listed["count"] >= 1 and listed["withheld"] is False
    assert client.get(f"/exams/{old}", headers=student).status_code == 200


def _get_routes(client) -> list[str]:
    """Every GET path of the API (its OpenAPI schema), and the page."""
    paths = client.get("/openapi.json").json()["paths"]
    return ["/", *(p for p, ops in paths.items() if "get" in ops)]


def test_no_get_route_a_student_can_reach_shows_a_truth_of_an_open_copy(client) -> None:
    teacher, student, cid, added = _course(client)
    body = {"family": "course_network", "course_id": cid, "architecture": "tinynet"}
    practice = [
        client.post("/questions", json=body | {"seed": s, "difficulty": d}, headers=student)
        for s, d in ((1, 1), (2, 2), (3, 3))
    ]
    for r in practice:  # answered right before the assessment opens
        q = r.json()
        grade = client.post(f"/questions/{q['id']}/grade", json={"answer": "1"}, headers=student)
        assert grade.status_code == 200
    qid = practice[0].json()["id"]
    session = client.post("/sessions", json={"size": 5}, headers=student)
    assert session.status_code == 201, session.text
    quiz = _assess(client, teacher, cid, count=3, allow_hints=True)
    me = client.get("/users/me", headers=student).json()["id"]

    def sweep(exam_id: int | None) -> list[str]:
        values = {
            "course_id": cid, "assessment_id": quiz["id"], "exam_id": exam_id,
            "question_id": qid, "session_id": session.json()["id"], "name": "tinynet",
            "topic": "conv-arithmetic", "card_id": "x", "note_id": "x", "user_id": me,
        }  # fmt: skip
        bodies = []
        for path in _get_routes(client):
            names = re.findall(r"{(\w+)(?::\w+)?}", path)
            assert set(names) <= set(values), f"sweep does not know {names} of {path}"
            if any(values[n] is None for n in names):
                continue
            url = re.sub(r"{(\w+)(?::\w+)?}", lambda m: str(values[m[1]]), path)
            for params in ({}, {"format": "csv"}, {"format": "json"}):
                r = client.get(url, params=params, headers=student)
                assert r.status_code < 500, (url, r.text)
                bodies.append(r.text)
        return bodies

    bodies = sweep(None)  # open, not started
    exam = client.post(f"/assessments/{quiz['id']}/start", headers=student).json()
    bodies += sweep(exam["id"])  # started
    for q in exam["questions"]:
        for _ in range(q["hints"]):
            bodies.append(client.post(f"/questions/{q['id']}/hint", headers=student).text)
    result = client.post(f"/exams/{exam['id']}/submit", json={"answers": {}}, headers=student)
    truths = _truths(result.json())  # the class's positions share their levels, so a
    # network total is stated (by a share question's hint) only where no copy asks it
    assert len(bodies) > 60
    assert not _leaked(bodies, truths)


def test_an_edited_assessment_hides_what_it_now_asks(client) -> None:
    teacher, student, cid, _added = _course(client)
    r = client.post(f"/courses/{cid}/assessments", headers=teacher,
                    json={"title": "q", "families": ["conv_params"], "count": 1})  # fmt: skip
    assert r.status_code == 201, r.text
    path = f"/courses/{cid}/architectures/tinynet/profile"
    assert client.get(path, headers=student).status_code == 200  # not asked about
    edit = {"architectures": ["tinynet"], "families": [], "count": 2}
    r = client.patch(f"/assessments/{r.json()['id']}", json=edit, headers=teacher)
    assert r.status_code == 200, r.text
    assert client.get(path, headers=student).status_code == 409


def test_the_preview_shows_the_hints_a_copy_would_show(client) -> None:
    """The preview is the assessment as a student sees it: a share question's "The network
    has N parameters in all" is not shown beside the total question it answers (it once
    listed every hint of the family, the dropped ones too)."""
    from api.services.questions import variant

    teacher, _student, cid, added = _course(client)
    for _ in range(12):
        quiz = _assess(client, teacher, cid, count=3, allow_hints=True)
        items = client.get(f"/assessments/{quiz['id']}/preview", headers=teacher).json()
        raw = {
            i["position"]: variant(i["family"], seed, i["difficulty"]).hints
            for i in items
            for seed in [_preview_seed(client, quiz["id"], i["position"])]
        }
        dropped = [(i, h) for i in items for h in raw[i["position"]] if h not in i["hints"]]
        if not dropped:
            continue
        truths = [i["expected"] for i in items]
        assert not _leaked([h for i in items for h in i["hints"]], truths)
        # What was dropped states a network total: this copy's answer, or a classmate's.
        network = (added["params"], added["macs"])
        assert all(any(f"{t:,}" in h for t in network) for _i, h in dropped), dropped
        return
    raise AssertionError("no preview with a total and a share stating it")


def _preview_seed(client, assessment_id: int, position: int) -> int:
    from sqlalchemy import text
    from sqlmodel import Session

    from api.services.assessments import class_positions
    from grader.assessment import student_plan

    with Session(client.app.state.engine) as s:
        secret, request = s.exec(text("SELECT secret, request FROM assessment WHERE id = :a"),
                                 params={"a": assessment_id}).one()  # fmt: skip
    request = request if isinstance(request, dict) else __import__("json").loads(request)
    plan = student_plan(class_positions(request, secret), secret, "preview")
    return next(p.seed for p in plan if p.position == position)
