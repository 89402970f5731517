"""How to answer: the sentences every question's rules end with, from the answer's spec.

``answer_instructions(spec)`` is the answer kind's own statement (``grader.kinds``): the form,
the precision rule and the credit, worded in the module that applies them, with examples of
the form. The examples depend on the answer's kind and unit only, never on the truth: the
same for every variant (an example made from the truth, however disguised, gives the truth
away to anyone who compares two questions). A variant whose truth an example would match is
redrawn (``grader.question.unfair``).
"""

from __future__ import annotations

from .grading import verdict
from .kinds import kind_of
from .kinds.base import EXAMPLES_LEAD, as_mapping
from .types import AnswerSpec, Truth

__all__ = ["answer_instructions", "example_answers", "examples_graded_correct", "EXAMPLES_LEAD"]


def answer_instructions(spec: AnswerSpec, truth: Truth | None = None) -> str:
    """The sentences that close a question's rules: the answer's form, the precision rule,
    examples. They depend on the spec alone (``truth`` is accepted for compatibility and
    ignored)."""
    return kind_of(spec).instructions(spec)


def example_answers(
    spec: AnswerSpec, truth: Truth | None = None, whole_numbers: bool = False
) -> list[str]:
    """Answers of the spec's form: the same for every question with this spec (``truth`` is
    accepted for compatibility and ignored: an example never depends on the answer).

    Empty when the form needs no example (a whole number, unless ``whole_numbers``; a choice;
    several parts, whose examples ``answer_instructions`` shows part by part).
    """
    return kind_of(spec).examples(spec, whole_numbers)


def examples_graded_correct(spec: AnswerSpec, truth: Truth) -> list[str]:
    """The examples ``answer_instructions`` shows that would not be graded incorrect for
    ``truth``: a variant with any is redrawn (``Family.generate``)."""
    out = []
    for part, part_spec, text in kind_of(spec).examples_shown(spec):
        part_truth = truth if part is None else as_mapping(truth)[part]
        if verdict(part_spec, part_truth, text) != "incorrect":
            out.append(text)
    return out
