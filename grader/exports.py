"""Exam exports: Moodle XML, GIFT, printable markdown (exam and answer key) and JSON.

Pure text builders over generated :class:`grader.question.Question` objects. Numbers are
written in the unit the question asks in; tolerances follow the grader's rules as closely as
each format can say them (see ``tolerance_for``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any
from xml.sax.saxutils import escape

from .display import format_expected
from .grading import check_truth, tolerance
from .question import Question
from .types import AnswerSpec
from .units import BASE_UNIT, lookup_unit

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


def _fraction(x: Any) -> Fraction:
    return Fraction(str(x)) if isinstance(x, float) else Fraction(x)


def value_in_unit(spec: AnswerSpec, truth: Any) -> Fraction:
    """A number truth (stored in base units) expressed in the unit the question asks in."""
    unit = lookup_unit(spec.unit) if spec.unit else None
    return _fraction(truth) / (unit.multiplier if unit else 1)


def _plain(value: Fraction, digits: int = 10) -> str:
    """A number as plain decimal text (no separators, no exponent): what importers read."""
    if value.denominator == 1:
        return str(value.numerator)
    text = f"{float(value):.{digits}g}"
    if "e" in text:
        text = f"{float(value):.{digits}f}".rstrip("0").rstrip(".")
    return text


def tolerance_for(spec: AnswerSpec, value: Fraction) -> Fraction:
    """The grader's own tolerance (``grading.tolerance``, the one precision rule) for a value
    in the question's unit, as an absolute tolerance in that unit: half a unit of the required
    significant figure, a ratio's relative or absolute tolerance, 0 for exact answers."""
    unit = lookup_unit(spec.unit) if spec.unit else None
    size = unit.multiplier if unit else Fraction(1)
    return tolerance(spec, value * size) / size


def units_for(spec: AnswerSpec) -> list[tuple[str, Fraction]]:
    """Units a student may use, with Moodle's multiplier: value_in_unit = base value × m."""
    if spec.kind != "number" or spec.dimension is None or BASE_UNIT.get(spec.dimension) is None:
        return []
    asked = lookup_unit(spec.unit or BASE_UNIT[spec.dimension] or "")
    if asked is None:
        return []
    names = {
        "bytes": ["B", "KB", "KiB", "MB", "MiB", "GB", "GiB"],
        "params": ["params"],
        "macs": ["MACs", "MMACs", "GMACs"],
        "flops": ["FLOPs", "MFLOPs", "GFLOPs"],
        "channels": ["channels"],
        "elements": ["elements"],
    }.get(spec.dimension, [])
    out = [(asked.name, Fraction(1))]
    for name in names:
        unit = lookup_unit(name)
        if unit is not None and unit.name != asked.name:
            out.append((unit.name, Fraction(asked.multiplier) / Fraction(unit.multiplier)))
    return out


def _part(truth: Any, name: str) -> Any:
    return truth[name]


def _shape_text(truth: Sequence[int]) -> str:
    return "x".join(str(int(d)) for d in truth)


def _choice_index(spec: AnswerSpec, truth: Any) -> int:
    index = check_truth(spec, truth)
    assert isinstance(index, int)
    return index


def expected_text(q: Question) -> str:
    """The expected answer as a person writes it."""
    return format_expected(q.answer, check_truth(q.answer, q.truth))


# --- Moodle XML ---------------------------------------------------------------------------


def _text(tag: str, content: str, html: bool = False) -> str:
    fmt = ' format="html"' if html else ""
    return f"<{tag}{fmt}><text>{escape(content)}</text></{tag}>"


def _moodle_question(item: ExportItem) -> str:
    q, spec = item.question, item.question.answer
    name = _text("name", f"Q{item.position + 1} {q.family} (seed {q.seed}, level {q.difficulty})")
    text = _text("questiontext", f"<p>{escape(q.text)}</p>", html=True)
    general = _text("generalfeedback", f"<pre>{escape(q.solution)}</pre>", html=True)
    common = "\n".join(
        [name, text, general, "<defaultgrade>1</defaultgrade>", "<penalty>0</penalty>"]
        + ["<hidden>0</hidden>"]
    )
    if spec.kind == "number":
        value = value_in_unit(spec, q.truth)
        answers = [
            f'<answer fraction="100" format="moodle_auto_format"><text>{_plain(value)}</text>'
            f"<tolerance>{_plain(tolerance_for(spec, value))}</tolerance>"
            f"{_text('feedback', 'Correct.', html=True)}</answer>"
        ]
        for mistake in q.mistakes:
            try:
                wrong = value_in_unit(spec, mistake.value)
            except (TypeError, ValueError, ZeroDivisionError):
                continue
            if wrong == value:
                continue
            answers.append(
                f'<answer fraction="0" format="moodle_auto_format"><text>{_plain(wrong)}</text>'
                f"<tolerance>0</tolerance>{_text('feedback', mistake.message, html=True)}</answer>"
            )
        units = "".join(
            f"<unit><multiplier>{_plain(m)}</multiplier><unit_name>{escape(n)}</unit_name></unit>"
            for n, m in units_for(spec)
        )
        unit_block = (
            f"<units>{units}</units>\n<unitgradingtype>0</unitgradingtype>"
            "<unitpenalty>0.1000000</unitpenalty><showunits>3</showunits><unitsleft>0</unitsleft>"
            if units
            else ""
        )
        body = "\n".join(answers) + ("\n" + unit_block if unit_block else "")
        return f'<question type="numerical">\n{common}\n{body}\n</question>'
    if spec.kind == "choice":
        right = _choice_index(spec, q.truth)
        choice_xml = "\n".join(
            f'<answer fraction="{100 if i == right else 0}" format="html">'
            f"<text>{escape(choice)}</text>{_text('feedback', '', html=True)}</answer>"
            for i, choice in enumerate(spec.choices or ())
        )
        opts = (
            "<single>true</single><shuffleanswers>0</shuffleanswers>"
            "<answernumbering>abc</answernumbering>"
        )
        return f'<question type="multichoice">\n{common}\n{opts}\n{choice_xml}\n</question>'
    if spec.kind == "shape":
        dims = [int(d) for d in q.truth]  # type: ignore[union-attr]
        forms = dict.fromkeys(
            [_shape_text(dims), "×".join(map(str, dims)), "(" + ", ".join(map(str, dims)) + ")"]
        )
        shape_xml = "\n".join(
            f'<answer fraction="100" format="moodle_auto_format"><text>{escape(f)}</text>'
            f"{_text('feedback', 'Correct.', html=True)}</answer>"
            for f in forms
        )
        opts = "<usecase>0</usecase>"
        return f'<question type="shortanswer">\n{common}\n{opts}\n{shape_xml}\n</question>'
    # Multi-part: Moodle's embedded-answers (Cloze) question, one field per part.
    fields = [
        f"{part}: {_cloze_field(pspec, _part(q.truth, part))}" for part, pspec in spec.parts or ()
    ]
    cloze = _text(
        "questiontext", f"<p>{escape(q.text)}</p><p>{'<br/>'.join(fields)}</p>", html=True
    )
    return f'<question type="cloze">\n{name}\n{cloze}\n{general}\n</question>'


def _cloze_field(spec: AnswerSpec, truth: Any) -> str:
    """One Cloze field: NUMERICAL with the grader's tolerance, SHORTANSWER for a shape,
    MULTICHOICE for a choice (Cloze's own escapes are not needed: no part text has } or ~)."""
    if spec.kind == "shape":
        return f"{{1:SHORTANSWER:={_shape_text(truth)}}}"
    if spec.kind == "choice":
        right = _choice_index(spec, truth)
        options = "~".join(
            ("=" if i == right else "") + c for i, c in enumerate(spec.choices or ())
        )
        return f"{{1:MULTICHOICE:{options}}}"
    v = value_in_unit(spec, truth)
    return f"{{1:NUMERICAL:={_plain(v)}:{_plain(tolerance_for(spec, v))}}}"


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

_GIFT_SPECIAL = "~=#{}:\\"


def gift_escape(text: str) -> str:
    """Escape GIFT's special characters and fold the text onto one line."""
    out = "".join("\\" + c if c in _GIFT_SPECIAL else c for c in text)
    return " ".join(out.split())


def _gift_question(item: ExportItem) -> str:
    q, spec = item.question, item.question.answer
    title = f"::Q{item.position + 1} {gift_escape(q.family)}::"
    prompt = gift_escape(q.text)
    feedback = f"####{gift_escape(q.solution)}"
    if spec.kind == "number":
        value = value_in_unit(spec, q.truth)
        unit = f" (answer in {gift_escape(spec.unit)})" if spec.unit else ""
        tol = _plain(tolerance_for(spec, value))
        return f"{title}{prompt}{unit} {{#{_plain(value)}:{tol}{feedback}}}"
    if spec.kind == "choice":
        right = _choice_index(spec, q.truth)
        opts = " ".join(
            ("=" if i == right else "~") + gift_escape(c) for i, c in enumerate(spec.choices or ())
        )
        return f"{title}{prompt} {{{opts}{feedback}}}"
    if spec.kind == "shape":
        dims = [int(d) for d in q.truth]  # type: ignore[union-attr]
        forms = dict.fromkeys([_shape_text(dims), "×".join(map(str, dims))])
        opts = " ".join("=" + gift_escape(f) for f in forms)
        return f"{title}{prompt} (write the shape as CxHxW) {{{opts}{feedback}}}"
    lines = []
    for part, pspec in spec.parts or ():
        head = f"::Q{item.position + 1}{part} {gift_escape(q.family)}::"
        answer = _gift_answer(pspec, _part(q.truth, part), feedback)
        lines.append(f"{head}{prompt} Part {gift_escape(part)}. {answer}")
    return "\n\n".join(lines)


def _gift_answer(spec: AnswerSpec, truth: Any, feedback: str) -> str:
    """The ``{...}`` of one GIFT question: numerical, short answer (shape) or choices."""
    if spec.kind == "shape":
        forms = dict.fromkeys([_shape_text(truth), "×".join(str(int(d)) for d in truth)])
        return "{" + " ".join("=" + gift_escape(f) for f in forms) + feedback + "}"
    if spec.kind == "choice":
        right = _choice_index(spec, truth)
        opts = " ".join(
            ("=" if i == right else "~") + gift_escape(c) for i, c in enumerate(spec.choices or ())
        )
        return "{" + opts + feedback + "}"
    v = value_in_unit(spec, truth)
    return f"{{#{_plain(v)}:{_plain(tolerance_for(spec, v))}{feedback}}}"


def to_gift(title: str, items: Sequence[ExportItem]) -> str:
    """GIFT: numeric answers as ``{#answer:tolerance}``, choices as ``{=right ~wrong}``."""
    head = f"$CATEGORY: $course$/flopcards/{gift_escape(title)}"
    return head + "\n\n" + "\n\n".join(_gift_question(i) for i in items) + "\n"


# --- markdown and JSON ------------------------------------------------------------------------


def _answer_hint(spec: AnswerSpec) -> str:
    if spec.kind == "number":
        return f"Answer in {spec.unit}." if spec.unit else "Answer with a number."
    if spec.kind == "shape":
        return "Answer with a shape, written C×H×W."
    if spec.kind == "choice":
        return "Choose one."
    return "Answer each part."


def to_markdown(title: str, items: Sequence[ExportItem], key: bool) -> str:
    """A printable exam, or (``key=True``) its answer key with the worked solutions."""
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
        else:
            lines += [
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
                "answer": {
                    "kind": q.answer.kind,
                    "unit": q.answer.unit,
                    "dimension": q.answer.dimension,
                    "choices": list(q.answer.choices) if q.answer.choices else None,
                },
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
