"""Grading an answer against the truth and the known mistakes: THE precision rule.

The precision rule (``tolerance``), applied to every number a question asks for:

- **Significant figures.** A question requires d significant figures (3 unless it says
  otherwise, ``AnswerSpec.min_sig_figs``). An answer is correct when it is within half a unit
  of the d-th significant figure of the truth, written in the question's unit, *however many
  digits it is written with*: for 29.297 KiB, ``29.3``, ``29.29`` and ``29.2971`` KiB are all
  correct and ``29.2`` is not; for 0.1989 MB, ``0.1990 MB`` is correct. (PrairieLearn's
  ``sigfig`` comparison, with exact arithmetic and the half unit inclusive.)
- **Fewer figures.** An answer outside that band that still agrees with the truth to the digits
  it gives (``29 KiB``, ``74k`` for 73,856) has too few figures: ``partial``, with the spec's
  ``precision_credit`` (0.5) and a note on precision.
- **Integers.** An integer written in full claims every digit: ``73,857`` for 73,856 is wrong
  (off by one), not "close". Trailing zeros of an integer longer than d digits are not claimed
  (``274,000`` reads as 3 significant figures, so it is correct for 273,998.6).
- **Exact answers.** Counts, channels, positions and pixels (``AnswerSpec.exact``) must be
  equal: they never need rounding.
- **Ratios** carry their tolerance instead, stated in the prompt: relative (within 1% of the
  true value) or absolute (within 0.5 percentage points), applied as stated.

Grading a number, in order:

1. Dimension. A unit of another dimension (``5 MB`` for a parameter count) is incorrect:
   ``wrong_dimension``. MACs and FLOPs are distinct dimensions: MACs given for a FLOPs question
   (or the reverse) are not converted; when the converted value would have been right the
   diagnosis is ``macs_vs_flops``.
2. The precision rule above: ``correct``, ``partial`` or neither. An answer right only to its
   few digits that is exactly the value a family mistake gives is that mistake, not a rounding.
3. Mistakes. A wrong answer is compared with every family ``Mistake`` under the same rule, and
   every one that explains it is named (two mistakes that give the same value are both named).
   Only when none does, the generic slips are looked for and every one that fits is named:
   powers of 1000 or 1024, KB against KiB, factors of 8, 2 and 100, reciprocals, ±1 on counts,
   truncation.

Shapes must match dimension by dimension. A shape of the wrong rank (``96`` for a (C, H, W)
answer) is unreadable: ``invalid``, asking for all the dimensions. When the spec excludes the
batch dimension, a leading 1 is read as a batch of one and accepted, with a note; any other
leading batch is ``counted_batch``. Choices must be the right one.

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
    expected_form,
    parse_answer,
)
from .display import Value, format_expected
from .errors import AnswerFormatError, QuestionError
from .kinds.number import in_band, tolerance
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

__all__ = [
    "grade",
    "verdict",
    "check_truth",
    "tolerance",
    "in_band",
    "indistinguishable",
]

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
    "pixels": "a number of pixels",
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
    "pixels": "pixels",
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
        _check_ranks(spec, checked, parsed)
    except AnswerFormatError as exc:
        return Grade("invalid", 0.0, truth, display, f"Could not read the answer: {exc.message}.")
    if isinstance(parsed, ParsedParts):
        return _grade_parts(spec, truth, checked, parsed, family, display)
    out = _grade_one(spec, checked, parsed, family)
    return Grade(out.status, out.score, truth, display, out.feedback, tuple(out.diagnosis))


def verdict(spec: AnswerSpec, truth: Truth, answer_text: str) -> Status:
    """The status ``grade`` would give a single (not multi-part) answer, without diagnosing it:
    a cheap check for answers a question shows, such as the examples of its form."""
    checked = check_truth(spec, truth)
    try:
        parsed = parse_answer(answer_text, spec)
        _check_ranks(spec, checked, parsed)
    except AnswerFormatError:
        return "invalid"
    if isinstance(parsed, ParsedNumber):
        assert isinstance(checked, Fraction)
        if parsed.dimension != spec.dimension:
            return "incorrect"
        found = _says(spec, parsed, checked)
        return "incorrect" if found is None else "partial" if found == "rough" else "correct"
    return _grade_one(spec, checked, parsed, []).status


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


# -- numbers: the precision rule -------------------------------------------------------------


def _says(spec: AnswerSpec, ans: ParsedNumber, target: Fraction) -> str | None:
    """How ``ans`` relates to ``target``: ``exact``, ``close`` (within the tolerance),
    ``rough`` (right to its own last digit only) or None."""
    if ans.value == target:
        return "exact"
    if in_band(spec, target, ans.value):
        return "close"
    if ans.resolution is not None and 2 * abs(ans.value - target) <= ans.resolution:
        return "rough"
    return None


def indistinguishable(spec: AnswerSpec, truth: Truth, value: Truth) -> bool:
    """Whether ``value`` would be graded correct for ``truth`` (equal, or a number inside the
    band of the precision rule): a mistake giving it cannot be told from the right answer."""
    t, v = check_truth(spec, truth), check_truth(spec, value)
    if isinstance(t, Fraction) and isinstance(v, Fraction):
        return in_band(spec, t, v)
    return t == v


def _grade_number(
    spec: AnswerSpec, truth: Fraction, ans: ParsedNumber, family: list[tuple[Mistake, Value]]
) -> _Outcome:
    if ans.dimension != spec.dimension:
        return _wrong_dimension(spec, truth, ans)
    verdict = _says(spec, ans, truth)
    if verdict in ("exact", "close"):
        return _correct()
    if verdict == "rough":
        # Right to its few digits: the stated credit, whatever else the answer might be. If it
        # is also exactly what a known mistake gives, the feedback says so.
        out = _imprecise(spec, ans)
        also = _named(family, lambda v: isinstance(v, Fraction) and ans.value == v)
        if also:
            out.diagnosis.extend(also)
            out.feedback += " It is also exactly what this mistake gives: " + " ".join(
                d.message for d in also
            )
        return out
    named = _named(family, lambda v: isinstance(v, Fraction) and _says(spec, ans, v) is not None)
    return _incorrect(named or _unique(_number_slips(spec, truth, ans)))


def _figures(n: int | None) -> str:
    return f"{n} significant figure{'' if n == 1 else 's'}"


def _imprecise(spec: AnswerSpec, ans: ParsedNumber) -> _Outcome:
    if spec.exact:
        message = "This agrees with the answer to the digits given, but give the exact number."
    else:
        message = (
            f"This agrees with the answer to the {_figures(ans.sig_figs)} given, "
            f"but at least {spec.min_sig_figs} are needed."
        )
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
        if _says(spec, _scaled(ans, flops_per_unit), truth) is not None:
            message = (
                f"The question asks for {asked}, but the answer is in {unit}, a unit of "
                f"{given}: it is the right count in the wrong unit (one MAC is 2 FLOPs)."
            )
            return _incorrect([Diagnosis(MACS_VS_FLOPS.code, message)])
    message = f"The question asks for {asked}, but the answer is in {unit}, a unit of {given}."
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


def _number_slips(spec: AnswerSpec, truth: Fraction, ans: ParsedNumber) -> list[Diagnosis]:
    found = _relabelled(spec, truth, ans)
    if truth:
        for kind, factor in _slip_factors(spec):
            if _says(spec, ans, truth * factor) is not None:
                found.append(Diagnosis(kind.code, _slip_message(spec, kind, ans, truth)))
        if spec.dimension == "ratio" and _says(spec, ans, 1 / truth) is not None:
            found.append(Diagnosis(INVERTED_RATIO.code, INVERTED_RATIO.message))
    if spec.dimension in ("count", "channels", "position", "elements", "params", "pixels"):
        if any(ans.value == truth + d for d in (-1, 1)):
            found.append(Diagnosis(OFF_BY_ONE.code, OFF_BY_ONE.message))
    if ans.resolution is not None and truth:
        # The truth cut (not rounded) at the answer's own last digit.
        sign = 1 if truth > 0 else -1
        if ans.value == sign * math.floor(abs(truth) / ans.resolution) * ans.resolution:
            found.append(Diagnosis(TRUNCATED.code, TRUNCATED.message))
    return found


def _relabelled(spec: AnswerSpec, truth: Fraction, ans: ParsedNumber) -> list[Diagnosis]:
    """The right number under the wrong unit: ``784 KB`` or ``784 kb`` for 784 KiB."""
    asked = lookup_unit(spec.unit) if spec.unit else None
    if ans.implied or ans.unit is None or asked is None or ans.unit == asked.name:
        return []
    if _says(spec, _scaled(ans, asked.multiplier / ans.multiplier), truth) is None:
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


def _check_ranks(spec: AnswerSpec, truth: Value, parsed: ParsedAnswer) -> None:
    """A shape with the wrong number of dimensions is a form error: name them all."""
    if isinstance(parsed, ParsedParts):
        assert isinstance(truth, Mapping)
        specs = spec.part_specs
        for name, part in parsed.parts:
            try:
                _check_ranks(specs[name], truth[name], part)
            except AnswerFormatError as exc:
                raise AnswerFormatError(f"part {name!r}: {exc.problem}", exc.expected) from None
        return
    if not isinstance(parsed, ParsedShape) or not isinstance(truth, tuple):
        return
    extra = 1 if not spec.batch else -1  # a batch dimension added or left out is a mistake
    if len(parsed.dims) in (len(truth), len(truth) + extra):
        return
    names = "(N, C, H, W)" if spec.batch else "(C, H, W)" if len(truth) == 3 else ""
    count = _NUMBER_WORDS.get(len(truth), str(len(truth)))
    given = len(parsed.dims)
    raise AnswerFormatError(
        f"{given} dimension{'' if given == 1 else 's'} given; give all {count} dimensions"
        + (f", {names}" if names else ""),
        expected_form(spec),
    )


_NUMBER_WORDS = {1: "one", 2: "two", 3: "three", 4: "four", 5: "five"}


# -- several parts --------------------------------------------------------------------------


def _part_feedback(grades: list[tuple[str, Grade]]) -> list[tuple[str, str]]:
    """Each part's feedback, a mistake's sentence written out only the first time it occurs."""
    seen: set[str] = set()
    out = []
    for name, g in grades:
        text = g.feedback
        for d in g.diagnosis:
            if d.message in seen:
                text = text.replace(d.message, f"(The same mistake as above: {d.code}.)")
            seen.add(d.message)
        out.append((name, text))
    return out


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
        f"{name}: {text}" for name, text in _part_feedback(grades)
    )
    return Grade(status, score, truth, display, feedback, tuple(diagnosis), tuple(grades))
