"""Exceptions raised by ``grader``.

Our exception hierarchy::

    * GraderError
      + AnswerFormatError      (also a ValueError) the student's text cannot be read as the
                               expected form; carries .message and .expected. Never counts as
                               an attempt: the student gets to fix the form.
      + QuestionError          (also a ValueError) a spec, truth or mistake that does not fit
                               together: a bug in a question family, never the student's fault
        - UnknownMistakeError  (also a LookupError) a mistake code not in the catalogue

``parse_answer`` raises only ``AnswerFormatError`` whatever the text. ``grade`` turns that into
an ``invalid`` grade and raises only ``QuestionError``, and only when the question itself is
inconsistent.
"""

from __future__ import annotations

__all__ = [
    "GraderError",
    "AnswerFormatError",
    "QuestionError",
    "UnknownMistakeError",
]


class GraderError(Exception):
    """Base class of every exception raised by ``grader``."""


class AnswerFormatError(GraderError, ValueError):
    """An answer that cannot be read; ``message`` says what is wrong and what form is expected."""

    def __init__(self, problem: str, expected: str) -> None:
        self.problem = problem
        self.expected = expected
        self.message = f"{problem}; expected {expected}"
        super().__init__(self.message)


class QuestionError(GraderError, ValueError):
    """A spec, truth or mistake that is inconsistent: the question family has a bug."""


class UnknownMistakeError(QuestionError, LookupError):
    """A mistake code that is not in the standard catalogue."""

    def __init__(self, code: str, known: list[str]) -> None:
        self.code = code
        self.known = known
        super().__init__(f"unknown mistake code {code!r}; known: {', '.join(known)}")
