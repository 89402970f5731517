"""The values the grader passes around: what an answer must look like, mistakes, grades.

A question family produces an ``AnswerSpec`` and a truth; ``grade`` reads the student's text
against the spec and compares it with the truth and with the family's ``Mistake`` values.

Truths and mistake values are in the base unit of the spec's dimension (bytes, params, MACs,
FLOPs; see ``grader.units``), whatever unit the question asks in: a question "in KiB" whose
answer is 784 KiB has truth ``802816``. Shapes are tuples of ints, choices an index or the
choice's text, multi-part truths a mapping from part name to the part's truth.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from typing import Any, Literal, TypeAlias

from .errors import QuestionError

__all__ = [
    "Kind",
    "Status",
    "Truth",
    "AnswerSpec",
    "Mistake",
    "Diagnosis",
    "Grade",
    "MAX_CHOICES",
    "MAX_PARTS",
    "choice_key",
]

Kind = Literal["number", "shape", "choice", "parts"]
Status = Literal["correct", "partial", "incorrect", "invalid"]
Truth: TypeAlias = "int | float | Fraction | Decimal | str | tuple[int, ...] | Mapping[str, Truth]"

# Dimensions whose answers are small whole numbers: written in full, never rounded.
EXACT_DIMENSIONS = frozenset({"count", "channels", "position", "pixels"})
MAX_CHOICES = 26  # one letter each
MAX_PARTS = 8


@dataclass(frozen=True)
class AnswerSpec:
    """What an answer must look like and how it is compared.

    - ``kind``: ``number``, ``shape``, ``choice`` or ``parts``.
    - ``dimension`` (numbers): one of ``grader.units.DIMENSIONS``.
    - ``unit`` (numbers): the unit the question asks in, which is also how a bare number is
      read; defaults to the dimension's base unit (``B``, ``params``, ``MACs``...).
    - ``tolerance``: always None. Every number follows the one precision rule of
      ``grader.kinds.number`` (significant figures); the field stays so that old callers fail
      loudly rather than silently get another rule.
    - ``min_sig_figs``: the required significant figures d of that rule (3 by default).
    - ``exact``: the answer must equal the truth (counts, channels, positions, pixels, and any
      figure a family asks for exactly because a mistake it names lies within the
      significant-figure band).
    - ``precision_credit``: the score of an answer right to the digits given but too few.
    - ``choices`` (choice): the texts of the options, lettered a, b, c...
    - ``batch`` (shape): whether the expected shape starts with the batch dimension.
    - ``parts`` (parts): named sub-answers, each graded with its own spec.

    The constructors ``number``, ``ratio``, ``shape``, ``choice`` and ``multi`` are the easy
    way in. An inconsistent spec raises ``QuestionError``.
    """

    kind: Kind = "number"
    dimension: str | None = None
    unit: str | None = None
    tolerance: float | None = None
    min_sig_figs: int = 3
    precision_credit: float = 0.5
    choices: tuple[str, ...] | None = None
    batch: bool = False
    parts: tuple[tuple[str, AnswerSpec], ...] | None = None
    exact: bool = False

    def __post_init__(self) -> None:
        from .kinds import KINDS  # the kinds import this module: imported when first needed

        if self.kind not in KINDS:
            raise QuestionError(f"unknown answer kind {self.kind!r}; known: {', '.join(KINDS)}")
        if not isinstance(self.min_sig_figs, int) or not 1 <= self.min_sig_figs <= 15:
            raise QuestionError("min_sig_figs must be an integer from 1 to 15")
        if not 0 <= self.precision_credit <= 1:
            raise QuestionError("precision_credit must be between 0 and 1")
        KINDS[self.kind].check_spec(self)

    # -- constructors -------------------------------------------------------------------------

    @classmethod
    def number(
        cls,
        dimension: str,
        unit: str | None = None,
        *,
        tolerance: float | None = None,
        min_sig_figs: int = 3,
        precision_credit: float = 0.5,
        exact: bool | None = None,
    ) -> AnswerSpec:
        """A number of ``dimension`` asked in ``unit`` (default: the dimension's base unit).

        ``exact`` defaults to True for the whole-number dimensions (``EXACT_DIMENSIONS``).
        """
        return cls(
            "number",
            dimension=dimension,
            unit=unit,
            tolerance=tolerance,
            min_sig_figs=min_sig_figs,
            precision_credit=precision_credit,
            exact=dimension in EXACT_DIMENSIONS if exact is None else exact,
        )

    @classmethod
    def ratio(
        cls, tolerance: float | None = None, unit: str | None = None, *, min_sig_figs: int = 3
    ) -> AnswerSpec:
        """A ratio, graded like every number (significant figures); ``unit`` may be ``%`` or
        ``×``. ``tolerance`` is accepted from callers written before the one rule, and
        ignored."""
        return cls("number", dimension="ratio", unit=unit, min_sig_figs=min_sig_figs)

    @classmethod
    def percent(cls, points: float | None = None, *, min_sig_figs: int = 3) -> AnswerSpec:
        """A share asked in percent, graded like every number (significant figures of the
        percentage: 10.2% is right for 10.16%). ``points`` is accepted from callers written
        before the one rule, and ignored."""
        return cls("number", dimension="ratio", unit="%", min_sig_figs=min_sig_figs)

    @classmethod
    def shape(cls, batch: bool = False) -> AnswerSpec:
        """A tensor shape; ``batch`` says whether the expected shape includes the batch dim."""
        return cls("shape", batch=batch)

    @classmethod
    def choice(cls, *choices: str) -> AnswerSpec:
        """One of ``choices``, lettered a, b, c... in order."""
        return cls("choice", choices=tuple(choices))

    @classmethod
    def multi(cls, parts: Mapping[str, AnswerSpec]) -> AnswerSpec:
        """Named parts, each graded on its own; the score is their mean."""
        return cls("parts", parts=tuple(parts.items()))

    # -- views --------------------------------------------------------------------------------

    @property
    def part_specs(self) -> dict[str, AnswerSpec]:
        """The parts by name (empty unless the kind is ``parts``)."""
        return dict(self.parts or ())


def choice_key(text: str) -> str:
    """How a choice is compared: case, spaces, dashes, underscores and a final dot ignored."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return re.sub(r"[\s\-_]+", "", folded).rstrip(".")


@dataclass(frozen=True)
class Mistake:
    """The answer a known mistake gives: ``value`` in the truth's units, named by ``code``.

    For a multi-part question ``value`` maps part names (some or all) to wrong values.
    ``grader.mistakes`` has the standard codes with their messages.
    """

    code: str
    message: str
    value: Truth


@dataclass(frozen=True)
class Diagnosis:
    """A mistake a wrong answer matches: its ``code``, a sentence, and the part it was in."""

    code: str
    message: str
    part: str | None = None

    def to_dict(self) -> dict[str, str]:
        """JSON-ready form: ``{"code", "message"}`` plus ``"part"`` for a multi-part question."""
        out = {"code": self.code, "message": self.message}
        if self.part is not None:
            out["part"] = self.part
        return out


@dataclass(frozen=True)
class Grade:
    """The outcome of grading one answer.

    ``status`` is ``correct``, ``partial``, ``incorrect`` or ``invalid`` (unreadable: the caller
    must not count it as an attempt); ``score`` is in [0, ``max_score``]. ``status`` judges the
    answer, ``score`` the credit: a correct answer after hints keeps ``correct`` but scores at
    most the cap (``grader.hints``). ``expected`` is the truth as
    given (base units), ``expected_display`` the way a person writes it. The caller decides
    when to show the expected answer; ``feedback`` never gives it away.
    """

    status: Status
    score: float
    expected: Truth
    expected_display: str
    feedback: str
    diagnosis: tuple[Diagnosis, ...] = ()
    parts: tuple[tuple[str, Grade], ...] | None = field(default=None)
    hints_used: int = 0  # hints shown before answering (``grader.hints``)
    max_score: float = 1.0  # the cap those hints put on the score
    cards: tuple[str, ...] = ()  # ids of the note cards that teach the question

    def part(self, name: str) -> Grade:
        """The grade of part ``name`` of a multi-part answer (KeyError when there is none)."""
        return dict(self.parts or ())[name]

    @property
    def codes(self) -> list[str]:
        """The diagnosis codes, in order."""
        return [d.code for d in self.diagnosis]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form; exact fractions become floats and shapes lists."""
        out: dict[str, Any] = {
            "status": self.status,
            "score": self.score,
            "expected": _jsonable(self.expected),
            "expected_display": self.expected_display,
            "feedback": self.feedback,
            "diagnosis": [d.to_dict() for d in self.diagnosis],
            "hints_used": self.hints_used,
            "max_score": self.max_score,
            "cards": list(self.cards),
        }
        if self.parts is not None:
            out["parts"] = {name: g.to_dict() for name, g in self.parts}
        return out


def _jsonable(value: Any) -> Any:
    if isinstance(value, Fraction):
        return value.numerator if value.denominator == 1 else float(value)
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, tuple | list):
        return [_jsonable(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return value
