"""Reading and grading answers to generated questions (PrairieLearn's contract).

A question family *generates* parameters and a truth from a seed; the grader *parses* the
student's text (a format error costs no attempt) and *grades* it: a score in [0, 1], a status,
feedback, and the known mistakes the answer matches. ``grader`` knows nothing of the web layer
and reads no settings.
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
from .grading import check_truth, grade
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
    "check_truth",
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
