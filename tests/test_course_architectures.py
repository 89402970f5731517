"""Course architectures: an instructor's own network, validated and profiled like POST
/profile, listed to members, and asked about (practice and assessments) with the truth of
its profile."""

from __future__ import annotations

from .conftest import register

NET = {
    "name": "tinynet",
    "input_shape": [3, 32, 32],
    "layers": [
        {"type": "conv2d", "out_channels": 16, "kernel_size": 3, "padding": 1},
        {"type": "batchnorm2d"},
        {"type": "relu"},
        {"type": "maxpool2d", "kernel_size": 2},
        {"type": "conv2d", "out_channels": 32, "kernel_size": 3, "padding": 1, "bias": False},
        {"type": "adaptive_avgpool2d", "output_size": 1},
        {"type": "flatten"},
        {"type": "linear", "out_features": 10},
    ],
}


def _course(client):
    teacher, student, stranger = (register(client, n) for n in ("prof", "kim", "eve"))
    course = client.post("/courses", json={"title": "c"}, headers=teacher).json()
    client.post("/courses/join", json={"join_code": course["join_code"]}, headers=student)
    return teacher, student, stranger, course["id"]


def test_add_list_and_profile_a_course_network(client) -> None:
    teacher, student, stranger, cid = _course(client)
    path = f"/courses/{cid}/architectures"
    assert client.post(path, json=NET, headers=student).status_code == 403
    assert client.post(path, json=NET, headers=stranger).status_code == 404
    r = client.post(path, json=NET, headers=teacher)
    assert r.status_code == 201, r.text
    added = r.json()
    # The same figures as POST /profile on the same layers (the one truth engine).
    reference = client.post("/profile", json={"input_shape": NET["input_shape"],
                                              "layers": NET["layers"]}).json()  # fmt: skip
    # conv1 3·16·9 + 16 = 448, bn 32, conv2 16·32·9 = 4,608, linear 32·10 + 10 = 330
    assert added["params"] == reference["totals"]["params"] == 448 + 32 + 4608 + 330
    assert added["macs"] == reference["totals"]["macs"]
    assert added["family"].startswith("course_network:")
    assert client.post(path, json=NET, headers=teacher).status_code == 409  # one name per course
    listed = client.get(path, headers=student).json()
    assert [(a["name"], a["params"]) for a in listed] == [("tinynet", added["params"])]
    assert client.get(path, headers=stranger).status_code == 404
    prof = client.get(f"{path}/tinynet/profile", headers=student).json()
    assert prof["totals"] == reference["totals"]
    assert sum(s["params"] for s in prof["by_type"]) == added["params"]
    assert client.get(f"{path}/nope/profile", headers=student).status_code == 404


def test_bad_course_networks_are_refused_by_field(client) -> None:
    teacher, _, _, cid = _course(client)
    path = f"/courses/{cid}/architectures"
    bad = NET | {"name": "bad", "layers": [{"type": "maxpool2d", "kernel_size": 2, "padding": 2}]}
    r = client.post(path, json=bad, headers=teacher)
    assert r.status_code == 422 and r.json()["detail"][0]["loc"][-1] == "padding"
    empty = NET | {"name": "empty", "layers": [{"type": "relu"}]}
    r = client.post(path, json=empty, headers=teacher)
    assert r.status_code == 422 and "neither parameters nor MACs" in r.json()["detail"]
    assert client.post(path, json=NET | {"name": "no spaces"}, headers=teacher).status_code == 422


def test_questions_on_a_course_network_use_its_profile(client) -> None:
    teacher, student, stranger, cid = _course(client)
    added = client.post(f"/courses/{cid}/architectures", json=NET, headers=teacher).json()
    body = {"family": "course_network", "course_id": cid, "architecture": "tinynet"}
    assert client.post("/questions", json=body, headers=stranger).status_code == 404
    assert client.post("/questions", json=body | {"family": "conv_params"},
                       headers=student).status_code == 422  # fmt: skip
    for seed in range(6):
        q = client.post("/questions", json=body | {"seed": seed}, headers=student).json()
        assert q["family"] == added["family"] and "tinynet" in q["prompt"]
        metric = "params" if "How many parameters" in q["prompt"] else "macs"
        truth = added[metric]
        grade = client.post(f"/questions/{q['id']}/grade", json={"answer": str(truth)},
                            headers=student).json()  # fmt: skip
        assert grade["status"] == "correct", (q["prompt"], grade)
        assert grade["expected"] == truth
    share = client.post("/questions", json=body | {"difficulty": 2}, headers=student).json()
    assert "percentage" in share["prompt"]


def test_an_assessment_on_a_course_network(client) -> None:
    teacher, student, _, cid = _course(client)
    added = client.post(f"/courses/{cid}/architectures", json=NET, headers=teacher).json()
    quiz = client.post(f"/courses/{cid}/assessments", headers=teacher,
                       json={"title": "own net", "architectures": ["tinynet"], "count": 1,
                             "families": ["conv_params"], "difficulty": 1}).json()  # fmt: skip
    unknown = client.post(f"/courses/{cid}/assessments", headers=teacher,
                          json={"title": "x", "architectures": ["nope"], "count": 1})  # fmt: skip
    assert unknown.status_code == 422 and "nope" in unknown.json()["detail"]
    assert "tinynet" in unknown.json()["detail"]  # the valid choices are named
    quiz2 = client.post(f"/courses/{cid}/assessments", headers=teacher,
                        json={"title": "only", "architectures": ["tinynet"], "count": 2,
                              "families": [], "difficulty": 1}).json()  # fmt: skip
    exam = client.post(f"/assessments/{quiz2['id']}/start", headers=student).json()
    assert {q["family"] for q in exam["questions"]} <= {added["family"], "conv_params"}
    assert quiz["id"] != quiz2["id"]


def test_attempts_on_a_course_network_are_listed(client) -> None:
    teacher, student, _, cid = _course(client)
    client.post(f"/courses/{cid}/architectures", json=NET, headers=teacher)
    body = {"family": "course_network", "course_id": cid, "architecture": "tinynet", "seed": 1}
    q = client.post("/questions", json=body, headers=student).json()
    client.post(f"/questions/{q['id']}/grade", json={"answer": "7"}, headers=student)
    listed = client.get("/questions/attempts", headers=student).json()
    assert [(a["family"], a["prompt"]) for a in listed["data"]] == [(q["family"], q["prompt"])]


def test_a_course_network_asked_in_an_open_assessment_is_hidden_until_submitted(client) -> None:
    teacher, student, _, cid = _course(client)
    client.post(f"/courses/{cid}/architectures", json=NET, headers=teacher)
    quiz = client.post(f"/courses/{cid}/assessments", headers=teacher,
                       json={"title": "own", "architectures": ["tinynet"], "count": 1,
                             "families": [], "difficulty": 1}).json()  # fmt: skip
    exam = client.post(f"/assessments/{quiz['id']}/start", headers=student).json()
    listed = client.get(f"/courses/{cid}/architectures", headers=student).json()
    assert [(a["paused"], a["params"], a["layers"]) for a in listed] == [(True, None, None)]
    path = f"/courses/{cid}/architectures/tinynet/profile"
    assert client.get(path, headers=student).status_code == 409
    assert client.get(path, headers=teacher).status_code == 200  # instructors take none
    client.post(f"/exams/{exam['id']}/submit", json={"answers": {}}, headers=student)
    assert client.get(path, headers=student).status_code == 200
    assert client.get(f"/courses/{cid}/architectures", headers=student).json()[0]["params"] > 0
