"""Grading an answer against the truth and the known mistakes (PrairieLearn's contract).

Each answer kind grades its own answers (``grader.kinds``): numbers by the one precision rule
of ``grader.kinds.number`` (the band of half a unit of the d-th significant figure, the
partial credit for fewer figures, exact answers), shapes dimension by dimension, choices by
index, several parts each by its kind. This module is the way in, and the same for every kind:

1. The truth and the family's mistakes are checked against the spec (``check_truth``): a
   mismatch is a bug in the family, ``QuestionError``.
2. The answer is read (``grader.answers.parse_answer``); unreadable text, or a form error
   that needs the truth (a shape with dimensions missing), is ``invalid``: no attempt.
3. The kind grades it: ``correct``, ``partial`` or ``incorrect``, naming every family mistake
   (and, when none matches, every generic slip) that explains a wrong answer.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from fractions import Fraction

from .answers import parse_answer
from .display import Value
from .errors import AnswerFormatError, QuestionError
from .kinds import kind_of
from .kinds.number import in_band, tolerance
from .types import AnswerSpec, Grade, Mistake, Status, Truth

__all__ = [
    "grade",
    "verdict",
    "check_truth",
    "tolerance",
    "in_band",
    "indistinguishable",
]


def grade(
    spec: AnswerSpec,
    truth: Truth,
    answer_text: str | Mapping[str, str],
    mistakes: Iterable[Mistake] = (),
    final: bool = False,
) -> Grade:
    """Grade ``answer_text`` against ``truth`` (in base units), naming matched ``mistakes``.

    Never raises because of the answer: unreadable text gives status ``invalid``, score 0 and
    feedback naming the expected form. Raises ``QuestionError`` when the truth or a mistake
    does not fit the spec, which is a bug in the question family. ``final``: the answer
    cannot be corrected (an exam's submission), so a multi-part answer with an unreadable
    part has its other parts graded on their own, as its prompt states, rather than being
    refused whole.
    """
    checked = check_truth(spec, truth)
    family: list[tuple[Mistake, Value]] = []
    for m in mistakes:
        if not isinstance(m, Mistake) or not m.code or not m.message:
            raise QuestionError(f"not a Mistake with a code and a message: {m!r}")
        family.append((m, check_truth(spec, m.value, partial=True)))
    kind = kind_of(spec)
    display = kind.display(spec, checked)
    try:
        parsed = parse_answer(answer_text, spec)
        kind.check_parsed(spec, checked, parsed)
    except AnswerFormatError as exc:
        salvaged = (
            kind.grade_readable(spec, truth, checked, answer_text, family, display)
            if final
            else None
        )
        if salvaged is not None:
            return salvaged
        return Grade("invalid", 0.0, truth, display, f"Could not read the answer: {exc.message}.")
    return kind.grade_answer(spec, truth, checked, parsed, family, display)


def verdict(spec: AnswerSpec, truth: Truth, answer_text: str) -> Status:
    """The status ``grade`` would give a single (not multi-part) answer, without diagnosing it:
    a cheap check for answers a question shows, such as the examples of its form."""
    checked = check_truth(spec, truth)
    kind = kind_of(spec)
    try:
        parsed = parse_answer(answer_text, spec)
        kind.check_parsed(spec, checked, parsed)
    except AnswerFormatError:
        return "invalid"
    return kind.verdict(spec, checked, parsed)


def check_truth(spec: AnswerSpec, truth: Truth, partial: bool = False) -> Value:
    """``truth`` checked against ``spec`` and made exact: numbers become ``Fraction``, shapes
    tuples, choices indices. ``partial`` lets a multi-part mistake cover only some parts.
    Raises ``QuestionError`` when it does not fit.
    """
    return kind_of(spec).check_truth(spec, truth, partial)


def indistinguishable(spec: AnswerSpec, truth: Truth, value: Truth) -> bool:
    """Whether ``value`` would be graded correct for ``truth`` (equal, or a number inside the
    band of the precision rule): a mistake giving it cannot be told from the right answer."""
    t, v = check_truth(spec, truth), check_truth(spec, value)
    if isinstance(t, Fraction) and isinstance(v, Fraction):
        return in_band(spec, t, v)
    return t == v
