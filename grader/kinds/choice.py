"""Choices: one of a question's options, lettered a, b, c...

Read as a letter (``b``, ``B``, ``(b)``, ``b)``, ``b.``), the choice's text (case, spaces and
dashes ignored), or both (``b) depthwise``), which must agree. Graded right or wrong.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from xml.sax.saxutils import escape

from ..display import Value
from ..errors import AnswerFormatError, QuestionError
from ..types import MAX_CHOICES, AnswerSpec, Mistake, Status, Truth, choice_key
from .base import (
    AnswerKind,
    MoodleHead,
    Outcome,
    clip,
    correct,
    gift_escape,
    incorrect,
    letter,
    named,
    normalize,
    xml_text,
)

__all__ = ["KIND", "ChoiceKind", "ParsedChoice"]

_LETTER = re.compile(r"\(?([A-Za-z])[).:]?", re.ASCII)
_LETTER_AND_TEXT = re.compile(r"\(?([A-Za-z])[).:] ?(.+)", re.ASCII)


@dataclass(frozen=True)
class ParsedChoice:
    """A choice, by its position in the spec's ``choices``."""

    text: str
    index: int

    @property
    def letter(self) -> str:
        """The choice's letter: a, b, c..."""
        return letter(self.index)


def _parse_choice(s: str, text: str, spec: AnswerSpec, form: str) -> ParsedChoice:
    keys = [choice_key(c) for c in spec.choices or ()]
    # The text of a choice wins over a letter: a choice may itself be spelt like a letter.
    key = choice_key(s)
    if key in keys:
        return ParsedChoice(text, keys.index(key))
    m = _LETTER.fullmatch(s)
    if m:
        return ParsedChoice(text, _letter_index(m.group(1), len(keys), form))
    m = _LETTER_AND_TEXT.fullmatch(s)
    if m and choice_key(m.group(2)) in keys:
        index = _letter_index(m.group(1), len(keys), form)
        if keys[index] != choice_key(m.group(2)):
            raise AnswerFormatError("the letter and the text name different choices", form)
        return ParsedChoice(text, index)
    raise AnswerFormatError(f"{clip(s)!r} is not one of the choices", form)


def _letter_index(written: str, n: int, form: str) -> int:
    index = ord(written.lower()) - ord("a")
    if index >= n:
        raise AnswerFormatError(f"there is no choice ({written.lower()})", form)
    return index


class ChoiceKind(AnswerKind):
    """One of the spec's choices."""

    name = "choice"

    def check_spec(self, spec: AnswerSpec) -> None:
        if spec.dimension is not None or spec.unit is not None or spec.tolerance is not None:
            raise QuestionError("a choice answer has no dimension, unit or tolerance")
        if spec.exact:
            raise QuestionError("a choice answer cannot be exact")
        if spec.choices is None:
            raise QuestionError("choices are given exactly when the kind is 'choice'")
        if spec.parts is not None:
            raise QuestionError("parts are given exactly when the kind is 'parts'")
        choices = tuple(spec.choices)
        if not 2 <= len(choices) <= MAX_CHOICES:
            raise QuestionError(f"a choice question has 2 to {MAX_CHOICES} choices")
        if not all(isinstance(c, str) and choice_key(c) for c in choices):
            raise QuestionError("every choice is a non-empty string")
        if len({choice_key(c) for c in choices}) != len(choices):
            raise QuestionError(
                "two choices read the same once case, spaces and dashes are ignored"
            )
        object.__setattr__(spec, "choices", choices)

    def check_truth(self, spec: AnswerSpec, truth: Truth, partial: bool = False) -> Value:
        choices = spec.choices or ()
        if isinstance(truth, str):
            keys = [choice_key(c) for c in choices]
            if choice_key(truth) in keys:
                return keys.index(choice_key(truth))
        elif isinstance(truth, int) and not isinstance(truth, bool) and 0 <= truth < len(choices):
            return truth
        raise QuestionError(f"a choice truth is an index or one of the choices, not {truth!r}")

    def expected_form(self, spec: AnswerSpec) -> str:
        last = letter(len(spec.choices or ()) - 1)
        return f"a letter from a to {last}, or the text of a choice"

    def parse(self, text: object, spec: AnswerSpec) -> ParsedChoice:
        form = self.expected_form(spec)
        if not isinstance(text, str):
            raise AnswerFormatError("the answer is not text", form)
        return _parse_choice(normalize(text, form), text, spec, form)

    def grade(
        self, spec: AnswerSpec, truth: Value, parsed: Any, family: list[tuple[Mistake, Value]]
    ) -> Outcome:
        assert isinstance(truth, int) and isinstance(parsed, ParsedChoice)
        if parsed.index == truth:
            return correct()
        return incorrect(named(family, lambda v: v == parsed.index))

    def display(self, spec: AnswerSpec, truth: Value) -> str:
        assert isinstance(truth, int) and spec.choices is not None
        return f"({letter(truth)}) {spec.choices[truth]}"

    def instructions(self, spec: AnswerSpec) -> str:
        listing = "; ".join(f"({letter(i)}) {c}" for i, c in enumerate(spec.choices or ()))
        return f"Choices: {listing}. Answer with the letter or the text of a choice."

    def part_form(self, spec: AnswerSpec) -> str:
        return "a letter from a to " + letter(len(spec.choices or ()) - 1)

    def lms_instructions(self, spec: AnswerSpec) -> str:
        return "Choose one of the options."  # the platform lists them and takes a click

    def lms_part_form(self, spec: AnswerSpec) -> str:
        return "one of the options"

    def form(self, spec: AnswerSpec) -> str:
        return "Pick one."

    def schema(self, spec: AnswerSpec) -> dict[str, Any]:
        return {**super().schema(spec), "choices": list(spec.choices or ())}

    def export_moodle(
        self, spec: AnswerSpec, truth: Truth, head: MoodleHead, mistakes: Sequence[Mistake] = ()
    ) -> str:
        right = self.check_truth(spec, truth)
        choice_xml = "\n".join(
            f'<answer fraction="{100 if i == right else 0}" format="html">'
            f"<text>{escape(choice)}</text>{xml_text('feedback', '', html=True)}</answer>"
            for i, choice in enumerate(spec.choices or ())
        )
        opts = (
            "<single>true</single><shuffleanswers>0</shuffleanswers>"
            "<answernumbering>abc</answernumbering>"
        )
        return f'<question type="multichoice">\n{head.common}\n{opts}\n{choice_xml}\n</question>'

    def export_cloze(self, spec: AnswerSpec, truth: Truth) -> str:
        right = self.check_truth(spec, truth)
        options = "~".join(
            ("=" if i == right else "") + c for i, c in enumerate(spec.choices or ())
        )
        return f"{{1:MULTICHOICE:{options}}}"

    def export_gift(self, spec: AnswerSpec, truth: Truth, feedback: str = "") -> str:
        right = self.check_truth(spec, truth)
        opts = " ".join(
            ("=" if i == right else "~") + gift_escape(c) for i, c in enumerate(spec.choices or ())
        )
        return "{" + opts + feedback + "}"

    def export_markdown(self, spec: AnswerSpec, truth: Truth | None = None) -> str:
        return "Choose one."

    def test_answers(self, spec: AnswerSpec, truth: Truth) -> list[tuple[Any, Status]]:
        right = self.check_truth(spec, truth)
        assert isinstance(right, int)
        wrong = (right + 1) % len(spec.choices or ())
        return [
            (letter(right), "correct"),
            (f"({letter(right).upper()})", "correct"),
            ((spec.choices or ())[right].upper(), "correct"),
            (letter(wrong), "incorrect"),
            ("zz", "invalid"),
        ]


KIND = ChoiceKind()
