"""How to answer: the sentences every prompt ends with, generated from the answer's spec.

``answer_instructions(spec)`` states the precision rule for the question's kind of answer
(worded in the kind's own module, ``grader.kinds``, next to the rule it states) and shows
examples of the form. The examples depend on the answer's kind and unit only, never on the
truth: the same for every variant (an example made from the truth, however disguised, gives
the truth away to anyone who compares two questions). A variant whose truth an example would
match is redrawn (``grader.question.unfair``).
"""

from __future__ import annotations

from collections.abc import Mapping

from .grading import verdict
from .kinds import number
from .types import AnswerSpec, Truth

__all__ = ["answer_instructions", "example_answers", "examples_graded_correct", "EXAMPLES_LEAD"]

# How every list of examples is introduced (the tests find the examples by it).
EXAMPLES_LEAD = "Form only, not the answer:"

_SHAPE_EXAMPLES = {False: ("(12, 34, 56)", "12x34x56"), True: ("(2, 12, 34, 56)", "2x12x34x56")}


def answer_instructions(spec: AnswerSpec, truth: Truth | None = None) -> str:
    """The sentences that close a prompt: the answer's form, the precision rule, examples.

    They depend on the spec alone (``truth`` is accepted for compatibility and ignored)."""
    if spec.kind == "parts":
        return _parts_text(spec)
    if spec.kind == "choice":
        listing = "; ".join(f"({chr(ord('a') + i)}) {c}" for i, c in enumerate(spec.choices or ()))
        return f"Choices: {listing}. Answer with the letter or the text of a choice."
    rule = _shape_rule(spec) if spec.kind == "shape" else number.rule(spec)
    examples = example_answers(spec)
    return f"{rule} {EXAMPLES_LEAD} {' or '.join(examples)}." if examples else rule


def _shape_rule(spec: AnswerSpec) -> str:
    if spec.batch:
        return "Answer with the output shape (N, C, H, W), batch dimension first."
    return "Answer with the output shape (C, H, W), without the batch dimension."


def _parts_text(spec: AnswerSpec) -> str:
    parts = spec.parts or ()
    listing = "; ".join(
        f"({chr(ord('a') + i)}) {name}: {_part_form(part)}" for i, (name, part) in enumerate(parts)
    )
    rules = dict.fromkeys(_part_rule(part) for _, part in parts)  # in order, each once
    examples = [example_answers(part, None, True) for _, part in parts]
    sample = "; ".join(
        f"{chr(ord('a') + i)}: {_pick(ex, part)}"
        for i, (ex, (_, part)) in enumerate(zip(examples, parts, strict=True))
    )
    return (
        f"Answer the {len(parts)} parts in order, one per line or separated by ';', labelled "
        f"by letter or name or not at all (JSON also works); each part is graded on its own "
        f"and the score is their mean. Parts: {listing}. {' '.join(r for r in rules if r)} "
        f"{EXAMPLES_LEAD} {sample}."
    )


def _pick(examples: list[str], part: AnswerSpec) -> str:
    """The example a part shows: the suffixed form of a count, else the first one."""
    if not examples:
        return "…"
    operations = part.dimension in ("params", "macs", "flops", "elements")
    return examples[1] if operations and len(examples) > 2 else examples[0]


def _part_form(part: AnswerSpec) -> str:
    if part.kind == "shape":
        return "a shape (N, C, H, W)" if part.batch else "a shape (C, H, W)"
    if part.kind == "choice":
        return "a letter from a to " + chr(ord("a") + len(part.choices or ()) - 1)
    return number.form(part)


def _part_rule(part: AnswerSpec) -> str:
    """The precision sentence a part follows (the same sentence for parts alike)."""
    return number.part_rule(part) if part.kind == "number" else ""


def example_answers(
    spec: AnswerSpec, truth: Truth | None = None, whole_numbers: bool = False
) -> list[str]:
    """Answers of the spec's form: the same for every question with this spec (``truth`` is
    accepted for compatibility and ignored: an example never depends on the answer).

    Empty when the form needs no example (a whole number, unless ``whole_numbers``; a choice;
    several parts, whose examples ``answer_instructions`` shows part by part).
    """
    if spec.kind in ("choice", "parts"):
        return []
    if spec.kind == "shape":
        return list(_SHAPE_EXAMPLES[spec.batch])
    return number.examples(spec, whole_numbers)


def examples_graded_correct(spec: AnswerSpec, truth: Truth, in_parts: bool = False) -> list[str]:
    """The examples ``answer_instructions`` shows that would not be graded incorrect for
    ``truth``: a variant with any is redrawn (``Family.generate``)."""
    if spec.kind == "parts":
        assert isinstance(truth, Mapping)
        return [
            text
            for name, part in spec.parts or ()
            for text in examples_graded_correct(part, truth[name], True)
        ]
    shown = example_answers(spec, None, whole_numbers=in_parts)
    return [text for text in shown if verdict(spec, truth, text) != "incorrect"]
