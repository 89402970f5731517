"""Exam exports: Moodle XML, GIFT, printable markdown (exam and answer key) and JSON.

Pure text builders over generated :class:`grader.question.Question` objects. Each question's
answer is written by its answer kind (``grader.kinds``, ``AnswerKind.fragment`` by format
name): numbers in the unit the question asks in, with the grader's own band as the tolerance
(``grader.kinds.number.tolerance_for``); this module writes what every question shares.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any
from xml.sax.saxutils import escape

from .display import format_expected
from .grading import check_truth
from .kinds import kind_of
from .kinds.base import MoodleHead, gift_escape, xml_text
from .kinds.number import tolerance_for, units_for, value_in_unit
from .kinds.parts import PartsKind
from .question import Question
from .types import AnswerSpec

__all__ = [
    "ExportItem",
    "to_moodle_xml",
    "to_gift",
    "to_markdown",
    "to_json",
    "value_in_unit",
    "tolerance_for",
    "units_for",
    "expected_text",
    "gift_escape",
]


@dataclass(frozen=True)
class ExportItem:
    """One exam question with its stored id and position."""

    question_id: int
    position: int
    question: Question


def expected_text(q: Question) -> str:
    """The expected answer as a person writes it."""
    return format_expected(q.answer, check_truth(q.answer, q.truth))


# --- Moodle XML ---------------------------------------------------------------------------


def _moodle_question(item: ExportItem) -> str:
    q = item.question
    head = MoodleHead(
        name=xml_text(
            "name", f"Q{item.position + 1} {q.family} (seed {q.seed}, level {q.difficulty})"
        ),
        text=xml_text("questiontext", f"<p>{escape(q.text)}</p>", html=True),
        general=xml_text("generalfeedback", f"<pre>{escape(q.solution)}</pre>", html=True),
        prompt=q.text,
    )
    return str(
        kind_of(q.answer).fragment("moodle", q.answer, q.truth, head=head, mistakes=q.mistakes)
    )


def to_moodle_xml(title: str, items: Sequence[ExportItem]) -> str:
    """A Moodle XML quiz: numerical (with units and tolerance), multichoice, shortanswer and
    Cloze questions in one category named after the exam."""
    category = (
        '<question type="category">\n'
        f"<category><text>$course$/flopcards/{escape(title)}</text></category>\n</question>"
    )
    body = "\n".join(_moodle_question(item) for item in items)
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<quiz>\n{category}\n{body}\n</quiz>\n'


# --- GIFT -----------------------------------------------------------------------------------


def _gift_question(item: ExportItem) -> str:
    q, spec = item.question, item.question.answer
    kind = kind_of(spec)
    prompt = gift_escape(q.text)
    feedback = f"####{gift_escape(q.solution)}"
    if isinstance(kind, PartsKind):  # GIFT has no multi-part question: one per part

        def part_title(part: str) -> str:
            return f"::Q{item.position + 1}{part} {gift_escape(q.family)}::"

        return "\n\n".join(kind.export_gift_parts(spec, q.truth, part_title, prompt, feedback))
    head = f"::Q{item.position + 1} {gift_escape(q.family)}::"
    answer = kind.fragment("gift", spec, q.truth, feedback=feedback)
    return f"{head}{prompt}{kind.export_gift_suffix(spec)} {answer}"


def to_gift(title: str, items: Sequence[ExportItem]) -> str:
    """GIFT: numeric answers as ``{#answer:tolerance}``, choices as ``{=right ~wrong}``."""
    head = f"$CATEGORY: $course$/flopcards/{gift_escape(title)}"
    return head + "\n\n" + "\n\n".join(_gift_question(i) for i in items) + "\n"


# --- markdown and JSON ------------------------------------------------------------------------


def _answer_hint(spec: AnswerSpec) -> str:
    return str(kind_of(spec).fragment("markdown", spec, None))


def to_markdown(title: str, items: Sequence[ExportItem], key: bool) -> str:
    """A printable exam, or (``key=True``) its answer key: each prompt with its answer and
    worked solution."""
    lines = [f"# {title}{' — answer key' if key else ''}", ""]
    for item in items:
        q = item.question
        lines.append(f"## Question {item.position + 1} ({q.topic}, level {q.difficulty})")
        lines.append("")
        if not key:
            lines += [q.prompt, ""]
            for i, choice in enumerate(q.answer.choices or ()):
                lines.append(f"{chr(ord('a') + i)}) {choice}")
            rules = q.rules or _answer_hint(q.answer)
            lines += ["", f"*{rules}*", "", "Answer: ____________________", ""]
        else:  # the prompt too: a key is checked against the question it answers
            lines += [
                q.prompt,
                "",
                f"**Answer:** {expected_text(q)}",
                "",
                "```text",
                q.solution,
                "```",
                "",
            ]
    return "\n".join(lines).rstrip() + "\n"


def _jsonable(value: Any) -> Any:
    if isinstance(value, Fraction):
        return value.numerator if value.denominator == 1 else float(value)
    if isinstance(value, tuple | list):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return value


_KEY_FIELDS = ("seed", "expected", "expected_display", "solution", "mistakes")


def to_json(
    title: str, items: Sequence[ExportItem], extra: dict[str, Any], key: bool = True
) -> str:
    """Everything about the exam for other tools; without ``key``, the questions only (no
    truth, solution, mistakes or seed)."""
    questions = []
    for item in items:
        q = item.question
        questions.append(
            {
                "id": item.question_id,
                "position": item.position,
                "family": q.family,
                "topic": q.topic,
                "seed": q.seed,
                "difficulty": q.difficulty,
                "prompt": q.prompt,
                "rules": q.rules,
                "params": _jsonable(dict(q.params)),
                "answer": kind_of(q.answer).fragment("json", q.answer, None),
                "expected": _jsonable(q.truth),
                "expected_display": expected_text(q),
                "solution": q.solution,
                "mistakes": [
                    {"code": m.code, "message": m.message, "value": _jsonable(m.value)}
                    for m in q.mistakes
                ],
                "conventions": list(q.conventions),
            }
        )
        if not key:
            for name in _KEY_FIELDS:
                del questions[-1][name]
    return json.dumps({"title": title, **extra, "questions": questions}, indent=2)
