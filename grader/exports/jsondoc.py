"""JSON for other tools: the exam's metadata and every question (family, level, prompt,
rules, parameters, how to answer) with, in the key, the seed that regenerates it, its
truth, the answer as written, the worked solution and the named mistakes. (Named
``jsondoc``: ``json`` is the standard library's.)"""

from __future__ import annotations

import json
from typing import Any

from ..kinds import kind_of
from .base import ExportFormat, Paper, expected_text, jsonable

__all__ = ["FORMAT", "write"]


def write(paper: Paper) -> str:
    """Everything about the exam; without ``paper.key``, the questions only (the key's
    fields are not even computed: the paper cannot depend on the answers)."""
    questions: list[dict[str, Any]] = []
    for item in paper.items:
        q = item.question
        row: dict[str, Any] = {
            "id": item.question_id,
            "position": item.position,
            "family": q.family,
            "topic": q.topic,
        }
        if paper.key:
            row["seed"] = q.seed
        row |= {
            "difficulty": q.difficulty,
            "prompt": q.prompt,
            "rules": q.rules,
            "params": jsonable(dict(q.params)),
            "answer": kind_of(q.answer).fragment("json", q.answer, None),
        }
        if paper.key:
            row |= {
                "expected": jsonable(q.truth),
                "expected_display": expected_text(q),
                "solution": q.solution,
                "mistakes": [
                    {"code": m.code, "message": m.message, "value": jsonable(m.value)}
                    for m in q.mistakes
                ],
            }
        row["conventions"] = list(q.conventions)
        questions.append(row)
    return json.dumps({"title": paper.title, **paper.meta, "questions": questions}, indent=2)


FORMAT = ExportFormat(
    name="json",
    label="JSON",
    media_type="application/json",
    extension="json",
    keyless=True,
    description="everything about the exam for other tools; the key adds truths, worked "
    "solutions, named mistakes and seeds",
    writer=write,
)
