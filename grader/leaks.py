"""Whether a text states the answer of a question: the check that keeps hints free of the
truths of every position of a copy.

A hint may state the numbers a student puts into a formula; it must never state a figure
that is the answer of its own question or of any other position of the same copy (in a
course-network assessment, "The network has N parameters in all", a hint of a share
question, is the answer of the total question at another position). ``safe_hints`` drops
such hints; ``states_truth`` is the test it applies.

A figure is a number as written (``61,100,840``, ``10.16 %``, ``61.1 M``, ``784 KiB``,
``6.1e7``) or a shape (``(1, 64, 56, 56)``, ``64×56×56``). It states a truth when the truth
rounds to it at the precision it is written with (``61 M`` states 61,100,840), read in the
unit it names, or, with none, in the question's unit or in base units. A figure that also
appears in a prompt of the copy is a given the student sees anyway, and states nothing.
Choice answers are not looked for (a hint never names an option).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import TYPE_CHECKING, Any

from .units import BASE_UNIT, lookup_suffix, lookup_unit

if TYPE_CHECKING:
    from .question import Question
    from .types import AnswerSpec

__all__ = [
    "Figure",
    "figures",
    "shapes",
    "states_truth",
    "copy_answers",
    "CopyHints",
    "safe_hints",
]

_NUMBER = re.compile(
    r"(?<![\w.,])(?P<int>\d{1,3}(?:,\d{3})+|\d+)(?:\.(?P<frac>\d+))?(?:[eE](?P<exp>[+-]?\d+))?"
    r"(?:\s?(?P<unit>%|[A-Za-z][A-Za-z-]*))?(?:\s(?P<unit2>[A-Za-z][A-Za-z-]*))?"
)
_TUPLE = re.compile(r"\((\s*\d+\s*(?:,\s*\d+\s*)+)\)")
_CROSS = re.compile(r"(?<![\d.])(\d+(?:\s?[×x]\s?\d+)+)(?![\d.])")


@dataclass(frozen=True)
class Figure:
    """A number as written: its value, half a unit of its last digit (both before any unit)
    and the multiplier and dimension of the unit or suffix it names (None: none named)."""

    text: str
    value: Fraction
    half_ulp: Fraction
    multiplier: Fraction | None
    dimension: str | None


def figures(text: str) -> list[Figure]:
    """Every number written in ``text``, with its precision and unit."""
    out = []
    for m in _NUMBER.finditer(text):
        digits = m["int"].replace(",", "")
        frac = m["frac"] or ""
        exp = int(m["exp"] or 0)
        value = Fraction(int(digits + frac), 10 ** len(frac)) * Fraction(10) ** exp
        half_ulp = Fraction(1, 2) * Fraction(10) ** (exp - len(frac))
        multiplier, dimension = _unit(m["unit"], m["unit2"])
        out.append(Figure(m[0], value, half_ulp, multiplier, dimension))
    return out


def _unit(word: str | None, after: str | None) -> tuple[Fraction | None, str | None]:
    """The multiplier and dimension a number's following word(s) name: a unit (``KiB``,
    ``params``, ``%``), a suffix (``M``, ``million``), or a suffix then a unit (``61.1 M
    params``). None for a word that is neither (``layers``)."""
    if word is None:
        return None, None
    unit = lookup_unit(word)
    if unit is not None:
        return unit.multiplier, unit.dimension
    suffix = lookup_suffix(word)
    if suffix is None:
        return None, None
    then = lookup_unit(after) if after else None
    if then is not None and then.prefixable:
        return suffix * then.multiplier, then.dimension
    return Fraction(suffix), None


def shapes(text: str) -> set[tuple[int, ...]]:
    """Every shape written in ``text``: ``(1, 64, 56, 56)`` or ``64×56×56``."""
    found = {tuple(int(x) for x in m[1].split(",")) for m in _TUPLE.finditer(text)}
    found |= {tuple(int(x) for x in re.split(r"\s?[×x]\s?", m[1])) for m in _CROSS.finditer(text)}
    return found


def _fraction(x: Any) -> Fraction | None:
    if isinstance(x, bool):
        return None
    if isinstance(x, int | Fraction):
        return Fraction(x)
    if isinstance(x, float | Decimal):
        return Fraction(x)
    return None


def _number_states(fig: Figure, spec: AnswerSpec, truth: Fraction) -> bool:
    """Whether ``truth`` (base units) rounds to ``fig`` read as an answer to ``spec``."""
    if fig.multiplier is not None:
        if fig.dimension is not None and fig.dimension != spec.dimension:
            return False
        readings = [fig.multiplier]
    else:
        unit_name = spec.unit or BASE_UNIT.get(spec.dimension or "")
        unit = lookup_unit(unit_name) if unit_name else None
        readings = [Fraction(1)] + ([unit.multiplier] if unit is not None else [])
    return any(abs(fig.value * k - truth) <= fig.half_ulp * k for k in readings)


def _shape_states(found: set[tuple[int, ...]], truth: tuple[int, ...]) -> bool:
    return truth in found or (len(truth) > 1 and truth[1:] in found)


def copy_answers(questions: Iterable[Question]) -> list[tuple[AnswerSpec, Any]]:
    """Every (spec, truth) of a copy's questions, a multi-part answer's parts one by one."""
    out: list[tuple[AnswerSpec, Any]] = []
    for q in questions:
        if q.answer.kind == "parts" and isinstance(q.truth, Mapping):
            out += [(spec, q.truth[name]) for name, spec in q.answer.parts or () if name in q.truth]
        else:
            out.append((q.answer, q.truth))
    return out


def states_truth(
    text: str, answers: Sequence[tuple[AnswerSpec, Any]], givens: Iterable[str] = ()
) -> bool:
    """Whether ``text`` states one of ``answers``' truths in a figure that no text of
    ``givens`` (the copy's prompts) already shows."""
    return _Givens(givens).states(text, answers)


class _Givens:
    """The figures and shapes a copy's prompts show (parsed once)."""

    def __init__(self, prompts: Iterable[str]) -> None:
        text = " ".join(prompts)
        self.values = {f.value for f in figures(text)}
        self.shapes = shapes(text)

    def states(self, text: str, answers: Sequence[tuple[AnswerSpec, Any]]) -> bool:
        figs = [f for f in figures(text) if f.value not in self.values]
        found = shapes(text) - self.shapes
        if not figs and not found:
            return False
        for spec, truth in answers:
            if spec.kind == "shape" and isinstance(truth, tuple):
                if _shape_states(found, tuple(int(x) for x in truth)):
                    return True
            elif spec.kind == "number":
                value = _fraction(truth)
                if value is not None and any(_number_states(f, spec, value) for f in figs):
                    return True
        return False


class CopyHints:
    """The hints each question of a copy may show: its own, less any that states the
    answer of a question of the copy (itself included). Parses the copy once."""

    def __init__(self, copy: Sequence[Question], also: Sequence[Question] = ()) -> None:
        """``also``: questions whose answers count too though the student is not shown them
        (other students' variants of the copy's positions, whose truths they may share)."""
        self._answers = copy_answers([*copy, *also])
        self._givens = _Givens(q.text for q in copy)

    def of(self, question: Question) -> tuple[str, ...]:
        """``question``'s safe hints (``question`` should be one of the copy's)."""
        return tuple(h for h in question.hints if not self._givens.states(h, self._answers))


def safe_hints(question: Question, copy: Sequence[Question] = ()) -> tuple[str, ...]:
    """``question``'s hints less any that states the answer of ``question`` or of another
    question of its copy (``copy``: every question the student is given with it)."""
    others = [q for q in copy if q is not question]
    return CopyHints([question, *others]).of(question)
