"""Shapes: a tensor shape, ``(C, H, W)`` or with the batch first ``(N, C, H, W)``.

Read as written (``(64, 56, 56)``, ``[64, 56, 56]``, ``64x56x56``, ``64 × 56 × 56``,
``torch.Size([...])``); graded dimension by dimension. A shape of the wrong rank is
unreadable (``invalid``, asking for all the dimensions). When the batch is not asked, a leading
1 is read as a batch of one and accepted, with a note; any other leading batch is
``counted_batch``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from xml.sax.saxutils import escape

from ..display import Value
from ..errors import AnswerFormatError, QuestionError
from ..mistakes import BATCH_DIMENSION, CHANNELS_LAST, COUNTED_BATCH, OFF_BY_ONE
from ..types import AnswerSpec, Diagnosis, Mistake, Status, Truth
from .base import (
    AnswerKind,
    MoodleHead,
    Outcome,
    clip,
    correct,
    gift_escape,
    incorrect,
    named,
    normalize,
    with_examples,
    xml_text,
)

__all__ = ["KIND", "ShapeKind", "ParsedShape", "MAX_SHAPE_DIMS"]

MAX_SHAPE_DIMS = 8
_TORCH_SIZE = re.compile(r"(?:torch\.)?Size ?\((.*)\)", re.ASCII)
_DIM = re.compile(r"\d{1,9}", re.ASCII)
_CROSS = re.compile(r" ?[x×X*] ?")
_NUMBER_WORDS = {1: "one", 2: "two", 3: "three", 4: "four", 5: "five"}
# The examples of the form: the same for every question (never derived from the answer).
_EXAMPLES = {False: ("(12, 34, 56)", "12x34x56"), True: ("(2, 12, 34, 56)", "2x12x34x56")}


@dataclass(frozen=True)
class ParsedShape:
    """A tensor shape as written, batch dimension included if the student wrote one."""

    text: str
    dims: tuple[int, ...]


def _parse_shape(s: str, text: str, form: str) -> ParsedShape:
    m = _TORCH_SIZE.fullmatch(s)
    inner = m.group(1).strip() if m else s
    pairs = {"(": ")", "[": "]"}
    if inner[:1] in pairs:
        if inner[-1:] != pairs[inner[0]] or len(inner) < 2:
            raise AnswerFormatError("unbalanced brackets", form)
        inner = inner[1:-1].strip()
    elif inner[-1:] in (")", "]"):
        raise AnswerFormatError("unbalanced brackets", form)
    if "," in inner:
        items = [item.strip() for item in inner.split(",")]
        if len(items) > 1 and items[-1] == "":
            items.pop()  # "(64,)" is a one-dimensional shape, as Python writes it
    else:
        items = _CROSS.split(inner)
    if not 1 <= len(items) <= MAX_SHAPE_DIMS:
        raise AnswerFormatError(f"a shape has 1 to {MAX_SHAPE_DIMS} dimensions", form)
    if not all(_DIM.fullmatch(item) for item in items):
        bad = next(item for item in items if not _DIM.fullmatch(item))
        raise AnswerFormatError(f"{clip(bad)!r} is not a dimension (a whole number)", form)
    return ParsedShape(text, tuple(int(item) for item in items))


def _shape_slips(spec: AnswerSpec, truth: tuple[int, ...], dims: Sequence[int]) -> list[Diagnosis]:
    found: list[Diagnosis] = []
    dims = tuple(dims)
    if not spec.batch and len(dims) == len(truth) + 1 and dims[1:] == truth:
        message = "The shape asked for leaves out the batch dimension."
        found.append(Diagnosis(COUNTED_BATCH.code, message))
    if spec.batch and dims == truth[1:]:
        found.append(Diagnosis(BATCH_DIMENSION.code, BATCH_DIMENSION.message))
    if len(truth) >= 3 and dims == truth[:-3] + truth[-2:] + truth[-3:-2] and dims != truth:
        found.append(Diagnosis(CHANNELS_LAST.code, CHANNELS_LAST.message))
    if len(dims) == len(truth) and all(abs(a - b) <= 1 for a, b in zip(dims, truth, strict=True)):
        found.append(Diagnosis(OFF_BY_ONE.code, "A dimension is off by one."))
    return found


def _x(dims: Sequence[int]) -> str:
    return "x".join(str(int(d)) for d in dims)


class ShapeKind(AnswerKind):
    """A tensor shape, compared dimension by dimension."""

    name = "shape"

    def check_spec(self, spec: AnswerSpec) -> None:
        if spec.dimension is not None or spec.unit is not None or spec.tolerance is not None:
            raise QuestionError("a shape answer has no dimension, unit or tolerance")
        if spec.exact:
            raise QuestionError("a shape answer cannot be exact")
        if spec.choices is not None or spec.parts is not None:
            raise QuestionError("a shape answer has no choices or parts")

    def check_truth(self, spec: AnswerSpec, truth: Truth, partial: bool = False) -> Value:
        if not isinstance(truth, tuple | list) or not 1 <= len(truth) <= MAX_SHAPE_DIMS:
            raise QuestionError(f"a shape truth is a tuple of 1 to 8 ints, not {truth!r}")
        if not all(isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in truth):
            raise QuestionError(f"a shape has non-negative int dimensions, not {truth!r}")
        return tuple(truth)

    def expected_form(self, spec: AnswerSpec) -> str:
        batch = "(N, C, H, W), batch dimension first" if spec.batch else "(C, H, W)"
        return f"a shape written {batch}, with commas or x between the dimensions"

    def parse(self, text: object, spec: AnswerSpec) -> ParsedShape:
        form = self.expected_form(spec)
        if not isinstance(text, str):
            raise AnswerFormatError("the answer is not text", form)
        return _parse_shape(normalize(text, form), text, form)

    def check_parsed(self, spec: AnswerSpec, truth: Value, parsed: Any) -> None:
        """A shape with the wrong number of dimensions is a form error: name them all."""
        assert isinstance(truth, tuple) and isinstance(parsed, ParsedShape)
        extra = 1 if not spec.batch else -1  # a batch dimension added or left out is a mistake
        if len(parsed.dims) in (len(truth), len(truth) + extra):
            return
        names = "(N, C, H, W)" if spec.batch else "(C, H, W)" if len(truth) == 3 else ""
        count = _NUMBER_WORDS.get(len(truth), str(len(truth)))
        given = len(parsed.dims)
        raise AnswerFormatError(
            f"{given} dimension{'' if given == 1 else 's'} given; give all {count} dimensions"
            + (f", {names}" if names else ""),
            self.expected_form(spec),
        )

    def grade(
        self, spec: AnswerSpec, truth: Value, parsed: Any, family: list[tuple[Mistake, Value]]
    ) -> Outcome:
        assert isinstance(truth, tuple) and isinstance(parsed, ParsedShape)
        dims = parsed.dims
        note = ""
        if not spec.batch and len(dims) == len(truth) + 1 and dims[0] == 1:
            # torch prints a single image's shape with its batch of one; the student knows it.
            dims, note = dims[1:], " (The leading 1 was read as a batch of one.)"
        if dims == truth:
            return correct(note)
        matched = named(family, lambda v: v == dims)
        return incorrect(matched or _shape_slips(spec, truth, dims))

    def display(self, spec: AnswerSpec, truth: Value) -> str:
        assert isinstance(truth, tuple)
        return "(" + ", ".join(str(d) for d in truth) + ("," if len(truth) == 1 else "") + ")"

    def instructions(self, spec: AnswerSpec) -> str:
        if spec.batch:
            rule = "Answer with the output shape (N, C, H, W), batch dimension first."
        else:
            rule = "Answer with the output shape (C, H, W), without the batch dimension."
        return with_examples(rule, self.examples(spec))

    def part_form(self, spec: AnswerSpec) -> str:
        return "a shape (N, C, H, W)" if spec.batch else "a shape (C, H, W)"

    def lms_instructions(self, spec: AnswerSpec) -> str:
        # The platform compares text with the forms ``export_moodle`` and ``export_gift`` list.
        if spec.batch:
            return (
                "Answer with the output shape (N, C, H, W), batch dimension first, written "
                "like 2x12x34x56 (x between the dimensions, no spaces)."
            )
        return (
            "Answer with the output shape (C, H, W), without the batch dimension, written "
            "like 12x34x56 (x between the dimensions, no spaces)."
        )

    def lms_part_form(self, spec: AnswerSpec) -> str:
        return "a shape written NxCxHxW" if spec.batch else "a shape written CxHxW"

    def examples(self, spec: AnswerSpec, in_parts: bool = False) -> list[str]:
        return list(_EXAMPLES[spec.batch])

    def form(self, spec: AnswerSpec) -> str:
        if spec.batch:
            return "A shape with the batch first, e.g. (N, C, H, W) or 2x12x34x56."
        return "A shape, e.g. (C, H, W) or 12x34x56."

    def schema(self, spec: AnswerSpec) -> dict[str, Any]:
        return {**super().schema(spec), "batch": spec.batch}

    def export_moodle(
        self, spec: AnswerSpec, truth: Truth, head: MoodleHead, mistakes: Sequence[Mistake] = ()
    ) -> str:
        dims = [int(d) for d in truth]  # type: ignore[union-attr]
        forms = dict.fromkeys(
            [_x(dims), "×".join(map(str, dims)), "(" + ", ".join(map(str, dims)) + ")"]
        )
        shape_xml = "\n".join(
            f'<answer fraction="100" format="moodle_auto_format"><text>{escape(f)}</text>'
            f"{xml_text('feedback', 'Correct.', html=True)}</answer>"
            for f in forms
        )
        opts = "<usecase>0</usecase>"
        return f'<question type="shortanswer">\n{head.common}\n{opts}\n{shape_xml}\n</question>'

    def export_cloze(self, spec: AnswerSpec, truth: Truth) -> str:
        return f"{{1:SHORTANSWER:={_x(truth)}}}"  # type: ignore[arg-type]

    def export_gift(self, spec: AnswerSpec, truth: Truth, feedback: str = "") -> str:
        dims = [int(d) for d in truth]  # type: ignore[union-attr]
        forms = dict.fromkeys([_x(dims), "×".join(map(str, dims))])
        return "{" + " ".join("=" + gift_escape(f) for f in forms) + feedback + "}"

    def export_gift_suffix(self, spec: AnswerSpec) -> str:
        return " (write the shape as NxCxHxW)" if spec.batch else " (write the shape as CxHxW)"

    def export_markdown(self, spec: AnswerSpec, truth: Truth | None = None) -> str:
        return (
            "Answer with a shape, written N×C×H×W."
            if spec.batch
            else ("Answer with a shape, written C×H×W.")
        )

    def test_answers(self, spec: AnswerSpec, truth: Truth) -> list[tuple[Any, Status]]:
        dims = tuple(int(d) for d in truth)  # type: ignore[union-attr]
        wrong = (*dims[:-1], dims[-1] + 1)
        out: list[tuple[Any, Status]] = [
            ("(" + ", ".join(map(str, dims)) + ")", "correct"),
            (_x(dims), "correct"),
            (_x(wrong), "incorrect"),
            (_x(dims[:-2]) if len(dims) > 2 else "", "invalid"),
        ]
        if not spec.batch:
            out.append(("1x" + _x(dims), "correct"))
        return out


KIND = ShapeKind()
