"""Grading an answer against the truth and the known mistakes.

Rules, in the order they are applied to a number:

1. Dimension. A unit of another dimension (``5 MB`` for a parameter count) is incorrect:
   ``wrong_dimension``. MACs and FLOPs are distinct dimensions: MACs given for a FLOPs question
   (or the reverse) are not converted, since the student answered a different quantity; when
   the converted value would have been right the diagnosis is ``macs_vs_flops``.
2. Exactness. An answer equal to the truth is correct, however written (``1 MiB``, ``74k``).
   An integer written in full claims exactness and must be equal; ``74000`` for 73,856 is
   incorrect, diagnosed ``insufficient_precision`` because it looks rounded.
3. Precision (no tolerance in the spec). A rounded answer (``73.9k``, ``7.39e4``, ``784 KiB``)
   agrees with the truth when they differ by at most half a unit in its last digit; it is
   correct with at least ``min_sig_figs`` significant figures, and ``partial`` (score
   ``precision_credit``, 0.5 by default) with fewer: ``insufficient_precision``. Truncating is
   not rounding: ``73.8k`` for 73,856 is incorrect, diagnosed ``truncated``.
4. Tolerance (ratios: 1% unless the spec says otherwise). Correct within the relative
   tolerance, whatever the form (``0.111``, ``1/9``, ``11.1%``); an answer outside it that
   still agrees to the digits given (``0.1`` for 1/9) is ``partial``, ``insufficient_precision``.
5. Mistakes. A wrong answer is compared with every family ``Mistake`` under the same rule
   (without the significant-figure minimum) and each match is named. Only when none matches,
   generic slips are looked for: powers of 1000 or 1024 (``unit_scale``), KB against KiB
   (``kib_vs_kb``), factors of 8 (``bits_vs_bytes``) and 2 (``macs_vs_flops``), 100
   (``percent_vs_fraction``), reciprocals (``inverted_ratio``), ±1 on counts (``off_by_one``),
   truncation (``truncated``).

Shapes must match dimension by dimension. When the spec excludes the batch dimension, a
leading 1 (``1×64×56×56`` for ``(64, 56, 56)``) is read as a batch of one and accepted, with a
note; any other leading batch is ``counted_batch``. Choices must be the right one.

Multi-part answers grade each part; the score is the mean, the status ``correct`` when all
parts are, ``incorrect`` when all score 0, else ``partial``. An unreadable part makes the whole
answer ``invalid``: nothing is graded and the caller must not count an attempt.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from fractions import Fraction

from .answers import (
    ParsedAnswer,
    ParsedChoice,
    ParsedNumber,
    ParsedParts,
    ParsedShape,
    parse_answer,
)
from .display import Value, format_expected
from .errors import AnswerFormatError, QuestionError
from .mistakes import (
    BATCH_DIMENSION,
    BITS_VS_BYTES,
    CHANNELS_LAST,
    COUNTED_BATCH,
    INSUFFICIENT_PRECISION,
    INVERTED_RATIO,
    KIB_VS_KB,
    MACS_VS_FLOPS,
    OFF_BY_ONE,
    PERCENT_VS_FRACTION,
    TRUNCATED,
    UNIT_SCALE,
    WRONG_DIMENSION,
    MistakeKind,
)
from .types import AnswerSpec, Diagnosis, Grade, Mistake, Status, Truth, choice_key
from .units import BASE_UNIT, lookup_unit

__all__ = ["grade", "check_truth"]

# What each dimension is called: as asked for, and as measured by a unit.
_ASKED = {
    "count": "a count",
    "params": "a number of parameters",
    "macs": "a number of MACs",
    "flops": "a number of FLOPs",
    "bytes": "a size in bytes",
    "ratio": "a ratio",
    "channels": "a number of channels",
    "position": "a position",
    "elements": "a number of elements",
}
_MEASURES = {
    "count": "counts",
    "params": "parameters",
    "macs": "MACs",
    "flops": "FLOPs",
    "bytes": "bytes",
    "ratio": "ratios",
    "channels": "channels",
    "position": "positions",
    "elements": "elements",
}


def grade(
    spec: AnswerSpec,
    truth: Truth,
    answer_text: str | Mapping[str, str],
    mistakes: Iterable[Mistake] = (),
) -> Grade:
    """Grade ``answer_text`` against ``truth`` (in base units), naming matched ``mistakes``.

    Never raises because of the answer: unreadable text gives status ``invalid``, score 0 and
    feedback naming the expected form. Raises ``QuestionError`` when the truth or a mistake
    does not fit the spec, which is a bug in the question family.
    """
    checked = check_truth(spec, truth)
    family: list[tuple[Mistake, Value]] = []
    for m in mistakes:
        if not isinstance(m, Mistake) or not m.code or not m.message:
            raise QuestionError(f"not a Mistake with a code and a message: {m!r}")
        family.append((m, check_truth(spec, m.value, partial=True)))
    display = format_expected(spec, checked)
    try:
        parsed = parse_answer(answer_text, spec)
    except AnswerFormatError as exc:
        return Grade("invalid", 0.0, truth, display, f"Could not read the answer: {exc.message}.")
    if isinstance(parsed, ParsedParts):
        return _grade_parts(spec, truth, checked, parsed, family, display)
    out = _grade_one(spec, checked, parsed, family)
    return Grade(out.status, out.score, truth, display, out.feedback, tuple(out.diagnosis))


def check_truth(spec: AnswerSpec, truth: Truth, partial: bool = False) -> Value:
    """``truth`` checked against ``spec`` and made exact: numbers become ``Fraction``, shapes
    tuples, choices indices. ``partial`` lets a multi-part mistake cover only some parts.
    Raises ``QuestionError`` when it does not fit.
    """
    if spec.kind == "parts":
        specs = spec.part_specs
        if not isinstance(truth, Mapping):
            raise QuestionError("a multi-part truth is a mapping from part name to truth")
        given = set(truth)
        if not given <= set(specs) or (not partial and given != set(specs)) or not given:
            raise QuestionError(f"parts {sorted(map(str, given))} do not fit {sorted(specs)}")
        return {name: check_truth(specs[name], truth[name]) for name in specs if name in truth}
    if spec.kind == "shape":
        if not isinstance(truth, tuple | list) or not 1 <= len(truth) <= 8:
            raise QuestionError(f"a shape truth is a tuple of 1 to 8 ints, not {truth!r}")
        if not all(isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in truth):
            raise QuestionError(f"a shape has non-negative int dimensions, not {truth!r}")
        return tuple(truth)
    if spec.kind == "choice":
        choices = spec.choices or ()
        if isinstance(truth, str):
            keys = [choice_key(c) for c in choices]
            if choice_key(truth) in keys:
                return keys.index(choice_key(truth))
        elif isinstance(truth, int) and not isinstance(truth, bool) and 0 <= truth < len(choices):
            return truth
        raise QuestionError(f"a choice truth is an index or one of the choices, not {truth!r}")
    return _exact(truth)


def _exact(x: object) -> Fraction:
    if isinstance(x, bool):
        raise QuestionError("a number truth is not a bool")
    if isinstance(x, int | Fraction):
        return Fraction(x)
    if isinstance(x, Decimal) and x.is_finite():
        return Fraction(x)
    if isinstance(x, float) and math.isfinite(x):
        # The shortest repr is the value the family meant: 0.1 is 1/10, not its binary float.
        return Fraction(repr(x))
    raise QuestionError(f"a number truth is a finite int, Fraction, Decimal or float, not {x!r}")


# -- one answer -----------------------------------------------------------------------------


@dataclass
class _Outcome:
    status: Status
    score: float
    feedback: str
    diagnosis: list[Diagnosis] = field(default_factory=list)


def _correct(note: str = "") -> _Outcome:
    return _Outcome("correct", 1.0, f"Correct.{note}")


def _incorrect(diagnosis: list[Diagnosis]) -> _Outcome:
    if not diagnosis:
        return _Outcome(
            "incorrect", 0.0, "Incorrect, and no common mistake explains it: recheck each step."
        )
    feedback = " ".join(["Incorrect."] + [d.message for d in diagnosis])
    return _Outcome("incorrect", 0.0, feedback, diagnosis)


def _grade_one(
    spec: AnswerSpec, truth: Value, parsed: ParsedAnswer, family: list[tuple[Mistake, Value]]
) -> _Outcome:
    if isinstance(parsed, ParsedNumber):
        assert isinstance(truth, Fraction)
        return _grade_number(spec, truth, parsed, family)
    if isinstance(parsed, ParsedShape):
        assert isinstance(truth, tuple)
        return _grade_shape(spec, truth, parsed, family)
    assert isinstance(parsed, ParsedChoice) and isinstance(truth, int)
    if parsed.index == truth:
        return _correct()
    return _incorrect(_named(family, lambda v: v == parsed.index))


def _named(
    family: list[tuple[Mistake, Value]], matches: Callable[[Value], bool]
) -> list[Diagnosis]:
    return _unique(Diagnosis(m.code, m.message) for m, v in family if matches(v))


def _unique(diagnoses: Iterable[Diagnosis]) -> list[Diagnosis]:
    out: list[Diagnosis] = []
    for d in diagnoses:
        if all(d.code != seen.code for seen in out):
            out.append(d)
    return out


# -- numbers --------------------------------------------------------------------------------


def _agrees(ans: ParsedNumber, target: Fraction, tolerance: Fraction | None) -> bool:
    """Whether ``ans`` says ``target``: equal, within tolerance, or right to its last digit."""
    if ans.value == target:
        return True
    if tolerance is not None:
        return abs(ans.value - target) <= tolerance * abs(target)
    return ans.resolution is not None and 2 * abs(ans.value - target) <= ans.resolution


def _grade_number(
    spec: AnswerSpec, truth: Fraction, ans: ParsedNumber, family: list[tuple[Mistake, Value]]
) -> _Outcome:
    if ans.dimension != spec.dimension:
        return _wrong_dimension(spec, truth, ans)
    tol = spec.relative_tolerance
    if _agrees(ans, truth, tol):
        if tol is None and ans.value != truth and (ans.sig_figs or 0) < spec.min_sig_figs:
            return _imprecise(
                spec,
                f"This agrees with the answer to the {_figures(ans.sig_figs)} given, "
                f"but at least {spec.min_sig_figs} are needed.",
            )
        return _correct()
    if tol is not None and _agrees(ans, truth, None):
        return _imprecise(
            spec,
            f"This agrees with the answer to the digits given, but not within "
            f"{float(tol) * 100:g}%: give more digits.",
        )
    named = _named(family, lambda v: isinstance(v, Fraction) and _agrees(ans, v, tol))
    return _incorrect(named or _number_slips(spec, truth, ans, tol))


def _figures(n: int | None) -> str:
    return f"{n} significant figure{'' if n == 1 else 's'}"


def _imprecise(spec: AnswerSpec, message: str) -> _Outcome:
    return _Outcome(
        "partial",
        spec.precision_credit,
        f"Partly right. {message}",
        [Diagnosis(INSUFFICIENT_PRECISION.code, message)],
    )


def _wrong_dimension(spec: AnswerSpec, truth: Fraction, ans: ParsedNumber) -> _Outcome:
    asked = _ASKED[spec.dimension or "count"]
    given = _MEASURES[ans.dimension]
    unit = ans.unit or "the unit given"
    if {ans.dimension, spec.dimension} == {"macs", "flops"}:
        flops_per_unit = Fraction(2) if ans.dimension == "macs" else Fraction(1, 2)
        converted = _scaled(ans, flops_per_unit)
        if _agrees(converted, truth, spec.relative_tolerance):
            return _incorrect(
                [
                    Diagnosis(
                        MACS_VS_FLOPS.code,
                        f"The question asks for {asked} but {unit} counts {given}: "
                        "this is the right count in the wrong unit (one MAC is 2 FLOPs).",
                    )
                ]
            )
    message = f"The question asks for {asked}, but {unit} measures {given}."
    return _incorrect([Diagnosis(WRONG_DIMENSION.code, message)])


def _scaled(ans: ParsedNumber, factor: Fraction) -> ParsedNumber:
    res = None if ans.resolution is None else ans.resolution * factor
    return replace(ans, value=ans.value * factor, resolution=res)


def _slip_factors(spec: AnswerSpec) -> list[tuple[MistakeKind, Fraction]]:
    """The generic slips for ``spec``'s dimension: the mistake and the factor it multiplies by."""
    out: list[tuple[MistakeKind, Fraction]] = []

    def both(kind: MistakeKind, factor: Fraction) -> None:
        out.extend([(kind, factor), (kind, 1 / factor)])

    dim = spec.dimension
    if dim == "bytes":
        for k in (1, 2, 3):
            both(KIB_VS_KB, Fraction(1024, 1000) ** k)
        both(BITS_VS_BYTES, Fraction(8))
        for k in (1, 2, 3):
            both(UNIT_SCALE, Fraction(1000) ** k)
            both(UNIT_SCALE, Fraction(1024) ** k)
    elif dim in ("macs", "flops"):
        both(MACS_VS_FLOPS, Fraction(2))
        for k in (1, 2, 3, 4):
            both(UNIT_SCALE, Fraction(1000) ** k)
    elif dim == "ratio":
        both(PERCENT_VS_FRACTION, Fraction(100))
    else:
        for k in (1, 2, 3):
            both(UNIT_SCALE, Fraction(1000) ** k)
    return out


def _number_slips(
    spec: AnswerSpec, truth: Fraction, ans: ParsedNumber, tol: Fraction | None
) -> list[Diagnosis]:
    found = _relabelled(spec, truth, ans, tol)
    if truth:
        for kind, factor in _slip_factors(spec):
            if _agrees(ans, truth * factor, tol):
                found.append(Diagnosis(kind.code, _slip_message(spec, kind, ans, truth)))
        if spec.dimension == "ratio" and _agrees(ans, 1 / truth, tol):
            found.append(Diagnosis(INVERTED_RATIO.code, INVERTED_RATIO.message))
    if spec.dimension in ("count", "channels", "position", "elements", "params"):
        if any(ans.value == truth + d for d in (-1, 1)):
            found.append(Diagnosis(OFF_BY_ONE.code, OFF_BY_ONE.message))
    if tol is None and ans.resolution is not None and truth:
        # The truth cut (not rounded) at the answer's own last digit.
        sign = 1 if truth > 0 else -1
        if ans.value == sign * math.floor(abs(truth) / ans.resolution) * ans.resolution:
            found.append(Diagnosis(TRUNCATED.code, TRUNCATED.message))
    if ans.exact and ans.number and ans.number.denominator == 1:
        digits = str(abs(ans.number.numerator))
        zeros = len(digits) - len(digits.rstrip("0"))
        # Trailing zeros read as not significant: 74000 as 74k.
        as_rounded = replace(ans, resolution=Fraction(10) ** zeros * ans.multiplier)
        if zeros >= 2 and abs(ans.value - truth) > 1 and _agrees(as_rounded, truth, None):
            found.append(Diagnosis(INSUFFICIENT_PRECISION.code, _ROUNDED_INTEGER))
    return _unique(found)


_ROUNDED_INTEGER = (
    "This looks rounded, but an integer written in full must be exact: give every digit, "
    "or round explicitly with a suffix or an exponent (73.9k, 7.39e4)."
)


def _relabelled(
    spec: AnswerSpec, truth: Fraction, ans: ParsedNumber, tol: Fraction | None
) -> list[Diagnosis]:
    """The right number under the wrong unit: ``784 KB`` or ``784 kb`` for 784 KiB."""
    asked = lookup_unit(spec.unit) if spec.unit else None
    if ans.implied or ans.unit is None or asked is None or ans.unit == asked.name:
        return []
    scale = asked.multiplier / ans.multiplier
    if not _agrees(_scaled(ans, scale), truth, tol):
        return []
    found: list[Diagnosis] = []
    if spec.dimension == "bytes":
        if ans.unit.endswith("bit") != asked.name.endswith("bit"):
            found.append(Diagnosis(BITS_VS_BYTES.code, BITS_VS_BYTES.message))
        given_prefix = ans.unit.removesuffix("bit").removesuffix("B")
        asked_prefix = asked.name.removesuffix("bit").removesuffix("B")
        if (
            given_prefix
            and asked_prefix
            and given_prefix.endswith("i") != asked_prefix.endswith("i")
        ):
            found.append(Diagnosis(KIB_VS_KB.code, KIB_VS_KB.message))
    return found or [Diagnosis(UNIT_SCALE.code, UNIT_SCALE.message)]


def _slip_message(spec: AnswerSpec, kind: MistakeKind, ans: ParsedNumber, truth: Fraction) -> str:
    base = BASE_UNIT.get(spec.dimension or "")
    if kind is UNIT_SCALE and ans.implied and spec.unit != base and ans.number == truth:
        return (
            f"A bare number is read in {spec.unit}; this is the answer in {base}. "
            f"Write the unit, or convert to {spec.unit}."
        )
    return kind.message


# -- shapes ---------------------------------------------------------------------------------


def _grade_shape(
    spec: AnswerSpec,
    truth: tuple[int, ...],
    ans: ParsedShape,
    family: list[tuple[Mistake, Value]],
) -> _Outcome:
    dims = ans.dims
    note = ""
    if not spec.batch and len(dims) == len(truth) + 1 and dims[0] == 1:
        # torch prints a single image's shape with its batch of one; the student knows it.
        dims, note = dims[1:], " (The leading 1 was read as a batch of one.)"
    if dims == truth:
        return _correct(note)
    named = _named(family, lambda v: v == dims)
    return _incorrect(named or _shape_slips(spec, truth, dims))


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


# -- several parts --------------------------------------------------------------------------


def _grade_parts(
    spec: AnswerSpec,
    truth: Truth,
    checked: Value,
    parsed: ParsedParts,
    family: list[tuple[Mistake, Value]],
    display: str,
) -> Grade:
    assert isinstance(checked, Mapping) and isinstance(truth, Mapping)
    specs = spec.part_specs
    grades: list[tuple[str, Grade]] = []
    diagnosis: list[Diagnosis] = []
    for name, part in parsed.parts:
        part_family = [(m, v[name]) for m, v in family if isinstance(v, Mapping) and name in v]
        out = _grade_one(specs[name], checked[name], part, part_family)
        part_diagnosis = tuple(replace(d, part=name) for d in out.diagnosis)
        diagnosis.extend(part_diagnosis)
        part_display = format_expected(specs[name], checked[name])
        grades.append(
            (
                name,
                Grade(
                    out.status, out.score, truth[name], part_display, out.feedback, part_diagnosis
                ),
            )
        )
    scores = [g.score for _, g in grades]
    score = sum(scores) / len(scores)
    n_correct = sum(g.status == "correct" for _, g in grades)
    status: Status
    if n_correct == len(grades):
        status = "correct"
    elif max(scores) == 0:
        status = "incorrect"
    else:
        status = "partial"
    feedback = f"{n_correct} of {len(grades)} parts correct. " + " ".join(
        f"{name}: {g.feedback}" for name, g in grades
    )
    return Grade(status, score, truth, display, feedback, tuple(diagnosis), tuple(grades))
