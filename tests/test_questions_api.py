"""Generated questions over HTTP, and question items in study sessions."""

from __future__ import annotations

from sqlmodel import Session, select

from api.tables import QuestionAttempt, QuestionInstance, ReviewLog, ReviewState
from grader.registry import FAMILIES

from .conftest import register

REQUIRED = {
    "conv_output_shape", "conv_params", "conv_macs", "conv_flops", "conv_activation_memory",
    "pool_output_shape", "pool_params", "linear_params", "linear_macs", "grouped_conv_params",
    "grouped_conv_savings", "depthwise_separable_params", "depthwise_separable_cost_ratio",
    "channel_shuffle_position", "fire_module_params", "fire_output_channels",
    "inception_output_channels", "inception_params", "bottleneck_params", "resnext_block_params",
    "se_block_params", "densenet_channels", "inverted_residual_params", "inverted_residual_macs",
    "shufflenet_v2_mem_access", "gap_vs_fc_params_saved", "model_size_bytes", "receptive_field",
}  # fmt: skip


def test_families_listed(client) -> None:
    fams = client.get("/questions/families").json()
    ids = {f["id"] for f in fams}
    assert REQUIRED <= ids
    assert any(f["architecture_level"] for f in fams)
    conv = next(f for f in fams if f["id"] == "conv_params")
    assert conv["difficulties"] == [1, 2, 3] and conv["topic"] == "conv-arithmetic"


def test_question_is_seeded_stored_and_graded(client) -> None:
    auth = register(client)
    body = {"family": "conv_params", "seed": 1234, "difficulty": 2}
    q1 = client.post("/questions", json=body, headers=auth).json()
    q2 = client.post("/questions", json=body, headers=auth).json()
    assert q1["id"] != q2["id"]
    assert {k: v for k, v in q1.items() if k != "id"} == {k: v for k, v in q2.items() if k != "id"}
    assert "truth" not in q1 and "solution" not in q1 and "expected" not in str(q1)
    assert q1["answer"]["kind"] == "number" and "in_channels" in q1["params"]
    truth = FAMILIES["conv_params"].generate(1234, 2).truth
    bad = client.post(
        f"/questions/{q1['id']}/grade", json={"answer": "banana"}, headers=auth
    ).json()
    assert bad["status"] == "invalid" and bad["score"] == 0
    good = client.post(
        f"/questions/{q1['id']}/grade", json={"answer": f"{int(truth):,}"}, headers=auth
    ).json()
    assert (good["status"], good["score"]) == ("correct", 1.0)
    assert good["expected"] == int(truth) and good["solution"]
    with Session(client.app.state.engine) as s:
        attempts = s.exec(select(QuestionAttempt)).all()
        assert [(a.answer, a.status) for a in attempts] == [(f"{int(truth):,}", "correct")]
        inst = s.get(QuestionInstance, q1["id"])
        assert (inst.attempts, inst.status, inst.seed) == (1, "correct", 1234)


def test_mistake_is_named(client) -> None:
    auth = register(client)
    question = FAMILIES["conv_flops"].generate(7, 1)
    mistake = next(m for m in question.mistakes if m.code == "macs_vs_flops")
    qid = client.post("/questions", json={"family": "conv_flops", "seed": 7}, headers=auth).json()[
        "id"
    ]
    r = client.post(
        f"/questions/{qid}/grade", json={"answer": str(int(mistake.value))}, headers=auth
    ).json()
    assert r["status"] == "incorrect"
    assert "macs_vs_flops" in [d["code"] for d in r["diagnosis"]]


def test_question_errors(client) -> None:
    auth = register(client)
    r = client.post("/questions", json={"family": "nope"}, headers=auth)
    assert r.status_code == 404 and "conv_params" in r.json()["detail"]
    for body in [{"family": "conv_params", "seed": -1}, {"family": "conv_params", "seed": 2**31},
                 {"family": "conv_params", "difficulty": 4}, {"family": "conv_params", "difficulty": 0}]:  # fmt: skip
        assert client.post("/questions", json=body, headers=auth).status_code == 422, body
    other = register(client, "bob")
    qid = client.post("/questions", json={"family": "conv_params"}, headers=auth).json()["id"]
    assert client.get(f"/questions/{qid}", headers=other).status_code == 404
    assert (
        client.post(f"/questions/{qid}/grade", json={"answer": "1"}, headers=other).status_code
        == 404
    )
    assert client.post("/questions", json={"family": "conv_params"}).status_code == 401
    with Session(client.app.state.engine) as s:
        assert len(s.exec(select(QuestionInstance)).all()) == 1


def test_questions_in_a_study_session(client) -> None:
    auth = register(client)
    sid = client.post("/sessions", json={"topics": ["alpha"], "include_questions": True,
                                         "families": ["conv_params"], "size": 10, "new_limit": 10},
                      headers=auth).json()["id"]  # fmt: skip
    kinds = []
    for _ in range(3):
        item = client.get(f"/sessions/{sid}/next", headers=auth).json()
        kinds.append(item["kind"])
        if item["kind"] == "card":
            client.post(
                f"/sessions/{sid}/answer",
                json={"item_id": item["item_id"], "rating": "good"},
                headers=auth,
            )
    assert kinds == ["card", "card", "question"]  # every third new item is a question
    assert item["item_id"] == "q:conv_params" and item["question"]["prompt"]
    again = client.get(f"/sessions/{sid}/next", headers=auth).json()
    assert again["question"]["id"] == item["question"]["id"]  # same variant until answered
    qid, seed = item["question"]["id"], item["question"]["seed"]
    truth = FAMILIES["conv_params"].generate(seed, item["question"]["difficulty"]).truth
    garbage = client.post(
        f"/sessions/{sid}/answer", json={"item_id": "q:conv_params", "answer": "??"}, headers=auth
    ).json()
    assert garbage["recorded"] is False and garbage["grade"]["status"] == "invalid"
    with Session(client.app.state.engine) as s:
        assert (
            s.exec(select(ReviewState).where(ReviewState.item_id == "q:conv_params")).first()
            is None
        )
    wrong = client.post(f"/sessions/{sid}/answer",
                        json={"item_id": "q:conv_params", "answer": str(int(truth) + 1), "elapsed_ms": 5000},
                        headers=auth).json()  # fmt: skip
    assert (wrong["recorded"], wrong["rating"], wrong["grade"]["status"]) == (
        True,
        "again",
        "incorrect",
    )
    assert wrong["grade"]["solution"]
    # Answered: the next variant of the family is a fresh one.
    with Session(client.app.state.engine) as s:
        inst = s.get(QuestionInstance, qid)
        assert (inst.status, inst.attempts) == ("incorrect", 1)
        log = s.exec(select(ReviewLog).where(ReviewLog.item_id == "q:conv_params")).one()
        assert (log.kind, log.rating) == ("question", 1)
    r = client.post(
        f"/sessions/{sid}/answer", json={"item_id": "q:conv_params", "answer": "1"}, headers=auth
    )
    assert r.status_code == 409


def test_correct_but_slow_is_hard(client) -> None:
    auth = register(client)
    sid = client.post("/sessions", json={"topics": ["beta"], "include_questions": True,
                                         "families": ["se_block_params"], "new_limit": 3},
                      headers=auth).json()["id"]  # fmt: skip
    for _ in range(2):
        item = client.get(f"/sessions/{sid}/next", headers=auth).json()
        client.post(
            f"/sessions/{sid}/answer",
            json={"item_id": item["item_id"], "rating": "good"},
            headers=auth,
        )
    item = client.get(f"/sessions/{sid}/next", headers=auth).json()
    assert item["kind"] == "question"
    q = FAMILIES["se_block_params"].generate(
        item["question"]["seed"], item["question"]["difficulty"]
    )
    slow_ms = int(q.expected_seconds * 1000) + 1
    r = client.post(f"/sessions/{sid}/answer",
                    json={"item_id": item["item_id"], "answer": f"{int(q.truth)}", "elapsed_ms": slow_ms},
                    headers=auth).json()  # fmt: skip
    assert (r["grade"]["status"], r["rating"]) == ("correct", "hard")


def test_a_question_of_a_retired_family_is_gone_not_a_500(client) -> None:
    # Questions stored before the families were reorganised (arch_total_macs became the
    # per-topic network families) cannot be regenerated: 410, and an exam shows the rest.
    from sqlmodel import Session, text

    auth = register(client)
    exam = client.post(
        "/exams", json={"families": ["conv_params"], "count": 2}, headers=auth
    ).json()
    old = exam["questions"][0]["id"]
    with Session(client.app.state.engine) as s:
        s.exec(text("UPDATE question_instance SET family = 'arch_total_macs' WHERE id = :q"),
               params={"q": old})  # fmt: skip
        uid = s.exec(text("SELECT user_id FROM question_instance WHERE id = :q"),
                     params={"q": old}).one()[0]  # fmt: skip
        s.exec(text("INSERT INTO question_instance (user_id, family, seed, difficulty, position, "
                    "created_at, attempts, hints_used) VALUES (:u, 'arch_total_macs', 1, 1, 0, "
                    "CURRENT_TIMESTAMP, 0, 0)"), params={"u": uid})  # fmt: skip
        practice = s.exec(text("SELECT max(id) FROM question_instance")).one()[0]
        s.commit()
    r = client.get(f"/questions/{practice}", headers=auth)
    assert r.status_code == 410 and "retired" in r.json()["detail"]
    assert client.post(f"/questions/{practice}/grade", json={"answer": "1"},
                       headers=auth).status_code == 410  # fmt: skip
    shown = client.get(f"/exams/{exam['id']}", headers=auth).json()
    assert shown["questions"][0]["answer"]["kind"] == "retired"
    assert shown["questions"][1]["answer"]["kind"] != "retired"
