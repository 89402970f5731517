"""The export registry (``grader.exports.FORMATS``) is the one list of exam export formats.

These tests walk it, so a new format is covered by them without a line here: each entry is
complete; a paper (``part=exam``) of a keyless format is written from what the student is
shown and from nothing else, and a format that carries the answers is never written as one;
both export routes serve every format with its media type and file name, and OpenAPI and
the page's list (``GET /exams/formats``) are the registry's. What each format's readers make
of the file (Moodle's structure, gift-pegjs) is in ``tests/test_exams.py``.
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlmodel import Session

from grader.exports import FORMATS, ExportItem, FormatName, Paper, expected_text
from grader.leaks import copy_answers, states_truth
from grader.registry import FAMILIES

from .conftest import register

ROOT = Path(__file__).resolve().parent.parent
# One family per answer kind (number, shape, choice, parts), each quick to generate.
KIND_FAMILIES = ["conv_params", "pool_output_shape", "arch_largest_layer", "channel_shuffle_cost"]


def test_every_entry_is_complete() -> None:
    assert list(FormatName) == list(FORMATS) and len(FORMATS) >= 4
    for name, fmt in FORMATS.items():
        assert fmt.name == name and re.fullmatch(r"[a-z][a-z0-9_]*", name)
        assert re.fullmatch(r"[a-z]+/[a-z0-9.+-]+(; charset=utf-8)?", fmt.media_type), name
        assert re.fullmatch(r"[a-z0-9]+(\.[a-z0-9]+)*", fmt.extension), name
        assert fmt.label and fmt.description and "\n" not in fmt.description
        assert fmt.default_part in ("exam", "key")
        assert fmt.keyless or fmt.default_part == "key"  # a key-only format has no paper
        assert fmt.filename("exam-7", False) == f"exam-7.{fmt.extension}"
        if fmt.default_part == "exam":  # the paper and the key land side by side
            assert fmt.filename("exam-7", True) == f"exam-7-key.{fmt.extension}"
    assert len({f.extension for f in FORMATS.values()}) == len(FORMATS)
    guide = (ROOT / "docs" / "guide.md").read_text()  # each format's line for its users
    assert all(f"(`{name}`)" in guide for name in FORMATS)


class Peeked(AssertionError):
    """A paper's writer used something the student is not shown."""


class Withheld:
    """Stands for a truth the paper must not read: any use of it raises."""

    def _peek(self, *args: Any, **kwargs: Any) -> Any:
        raise Peeked("a paper read the truth")

    __str__ = __repr__ = __format__ = __eq__ = __hash__ = __iter__ = __len__ = _peek
    __getitem__ = __float__ = __int__ = __index__ = __bool__ = __lt__ = __contains__ = _peek


def _questions() -> list[Any]:
    return [
        FAMILIES[f].generate(seed, level)
        for f in KIND_FAMILIES
        for seed in range(2)
        for level in FAMILIES[f].difficulties
    ]


def test_a_paper_depends_on_nothing_the_student_is_not_shown() -> None:
    """Every keyless format's paper of real questions equals its paper of the same questions
    with the truth, the worked solution, the named mistakes, the hints and the seed taken
    away; the key of the same questions states their truths (the leak check bites)."""
    questions = _questions()
    items = [ExportItem(i + 1, i, q) for i, q in enumerate(questions)]
    blind = [
        replace(
            item,
            question=replace(
                item.question,
                truth=Withheld(),
                solution="SOLUTION?",
                mistakes=(),
                hints=("HINT?",),
                seed=-1,
            ),
        )  # fmt: skip
        for item in items
    ]
    meta = {"id": 1, "request": {"count": len(items)}}
    answers, givens = copy_answers(questions), [q.text for q in questions]
    for fmt in FORMATS.values():
        key = fmt.write(Paper("Quiz", items, True, meta))
        assert states_truth(key, answers, givens), fmt.name
        if not fmt.keyless:  # it carries the answers by design: never written as a paper
            with pytest.raises(ValueError, match="always carry the answers"):
                fmt.write(Paper("Quiz", items, False, meta))
            continue
        paper = fmt.write(Paper("Quiz", items, False, meta))
        assert paper == fmt.write(Paper("Quiz", blind, False, meta)), fmt.name
        assert all(q.solution not in paper for q in questions)
        with pytest.raises(Peeked):  # the key reads the truth: the stand-in is noticed
            fmt.write(Paper("Quiz", blind, True, meta))


def _filename(response) -> str:
    found = re.fullmatch(r'attachment; filename="([^"]+)"', response.headers["content-disposition"])
    assert found, response.headers["content-disposition"]
    return found.group(1)


def _walk(client, path: str, stem: str, auth: dict[str, str], default: str | None) -> None:
    """Every registered format and part through one export route: the paper and the key
    (or 422 for a paper of a key-only format), each with the entry's media type and name."""
    for fmt in FORMATS.values():
        for part in ("exam", "key"):
            r = client.get(path, params={"format": fmt.name, "part": part}, headers=auth)
            if part == "exam" and not fmt.keyless:
                assert r.status_code == 422 and "part=key" in r.json()["detail"], r.text
                continue
            assert r.status_code == 200, (fmt.name, part, r.text)
            assert r.headers["content-type"] == fmt.media_type
            name = _filename(r)
            assert name == fmt.filename(stem, part == "key") and name.endswith(f".{fmt.extension}")
            assert r.text.strip()
            if fmt.name == "json":
                assert json.loads(r.text)["questions"]
        alone = client.get(path, params={"format": fmt.name}, headers=auth)
        part = default or fmt.default_part  # a route's own default, or the format's
        named = client.get(path, params={"format": fmt.name, "part": part}, headers=auth)
        assert alone.status_code == 200 and alone.text == named.text, fmt.name
    r = client.get(path, params={"format": "docx"}, headers=auth)
    assert r.status_code == 422


def test_every_format_is_reachable_through_both_routes(client) -> None:
    teacher, ada = register(client, "teacher"), register(client, "ada")
    course = client.post("/courses", json={"title": "CNNs"}, headers=teacher).json()
    body = {"title": "Quiz", "families": KIND_FAMILIES, "count": len(KIND_FAMILIES)}
    quiz = client.post(f"/courses/{course['id']}/assessments", json=body, headers=teacher)
    assert quiz.status_code == 201, quiz.text
    aid = quiz.json()["id"]
    _walk(client, f"/assessments/{aid}/export", f"assessment-{aid}", teacher, default="key")
    exam = client.post("/exams", json={"families": KIND_FAMILIES, "count": 4, "seed": 3},
                       headers=ada).json()  # fmt: skip
    _walk(client, f"/exams/{exam['id']}/export", f"exam-{exam['id']}", ada, default=None)

    # A student's open copy of an assessment: no key in any format; a paper holds none of
    # the copy's worked solutions or answers as written.
    client.post("/courses/join", json={"join_code": course["join_code"]}, headers=ada)
    copy = client.post(f"/assessments/{aid}/start", headers=ada).json()
    with Session(client.app.state.engine) as s:
        rows = s.exec(
            text("SELECT family, seed, difficulty FROM question_instance WHERE exam_id = :e"),
            params={"e": copy["id"]},
        ).all()
    secrets = []
    for family, seed, level in rows:
        q = FAMILIES[family].generate(seed, level)
        secrets += [q.solution, json.dumps(q.solution), f"**Answer:** {expected_text(q)}"]
    assert len(rows) == len(KIND_FAMILIES)
    for fmt in FORMATS.values():
        path, part = f"/exams/{copy['id']}/export", {"format": fmt.name}
        r = client.get(path, params=part | {"part": "key"}, headers=ada)
        assert r.status_code == 403, (fmt.name, r.text)
        r = client.get(path, params=part | {"part": "exam"}, headers=ada)
        assert r.status_code == (200 if fmt.keyless else 422), (fmt.name, r.text)
        if fmt.keyless:
            assert not [x for x in secrets if x in r.text], fmt.name


def test_openapi_and_the_page_take_the_formats_from_the_registry(client) -> None:
    listed = client.get("/exams/formats").json()
    assert listed == [
        {"name": f.name, "label": f.label, "description": f.description,
         "media_type": f.media_type, "extension": f.extension, "keyless": f.keyless,
         "default_part": f.default_part}
        for f in FORMATS.values()
    ]  # fmt: skip
    spec = client.get("/openapi.json").json()
    schemas = spec["components"]["schemas"]
    for path in ("/exams/{exam_id}/export", "/assessments/{assessment_id}/export"):
        operation = spec["paths"][path]["get"]
        (param,) = [p for p in operation["parameters"] if p["name"] == "format"]
        ref = param["schema"]["$ref"].rsplit("/", 1)[1]
        assert schemas[ref]["enum"] == list(FORMATS), path
        media = set(operation["responses"]["200"]["content"])
        assert media == {f.media_type for f in FORMATS.values()}, path
    # The page asks the server: no format name is written in its modules.
    for module in (ROOT / "api" / "static" / "js").rglob("*.js"):
        text = module.read_text()
        for name in FORMATS:
            assert not re.search(rf"""["'`]{name}["'`]|format={name}\b""", text), (module, name)
