"""Reading and grading answers to generated questions (PrairieLearn's contract).

A question family *generates* parameters and a truth from a seed; the grader *parses* the
student's text (a format error costs no attempt) and *grades* it: a score in [0, 1], a status,
feedback, and the known mistakes the answer matches. ``grader`` knows nothing of the web layer
and reads no settings.

For the web layer: ``registry.FAMILIES``; ``Question.hints`` with ``hints.apply_hints`` /
``hints.max_score`` (what hints cost); ``variants.fresh_variant`` / ``variants.fresh_seed`` (a
review never repeats the last variant); ``Grade.to_dict`` (with ``parts``, ``cards``,
``hints_used`` and ``max_score``).
"""

from __future__ import annotations

from .answers import (
    ParsedAnswer,
    ParsedChoice,
    ParsedNumber,
    ParsedParts,
    ParsedShape,
    expected_form,
    parse_answer,
)
from .display import format_expected, format_number
from .errors import AnswerFormatError, GraderError, QuestionError, UnknownMistakeError
from .grading import check_truth, grade, tolerance, verdict
from .hints import apply_hints, max_score
from .instructions import answer_instructions
from .mistakes import CATALOGUE, MistakeKind, define, mistake
from .types import AnswerSpec, Diagnosis, Grade, Mistake

__all__ = [
    "AnswerSpec",
    "Mistake",
    "Diagnosis",
    "Grade",
    "ParsedAnswer",
    "ParsedNumber",
    "ParsedShape",
    "ParsedChoice",
    "ParsedParts",
    "parse_answer",
    "expected_form",
    "grade",
    "verdict",
    "tolerance",
    "check_truth",
    "answer_instructions",
    "apply_hints",
    "max_score",
    "format_expected",
    "format_number",
    "CATALOGUE",
    "MistakeKind",
    "mistake",
    "define",
    "GraderError",
    "AnswerFormatError",
    "QuestionError",
    "UnknownMistakeError",
]
