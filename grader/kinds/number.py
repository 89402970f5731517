"""Numbers: THE precision rule, stated and applied from this one module.

One rule for every number a question asks for (parameters, MACs, FLOPs, bytes, ratios,
factors, percentages), PrairieLearn's ``sigfig`` comparison in exact arithmetic:

- **Correct** when the answer lies within half a unit of the d-th significant figure of the
  truth, written in the question's unit (d = ``AnswerSpec.min_sig_figs``, 3 unless the
  question says otherwise), the half unit included, *however the answer is written*: in full,
  rounded, with a suffix, in another unit. For 147,712 parameters the band is ±500, so 147,460
  and 147,456 are both correct; for 10.16% it is ±0.05 points, so 10.2% is correct and 10.6%
  is not.
- **Fewer figures.** An answer outside the band that agrees with the truth to the digits it
  gives (``150k`` for 147,712, ``10%`` for 10.16%) earns ``precision_credit`` (half).
- **Exact** (``AnswerSpec.exact``: counts, channels, positions, pixels, and any figure a
  family asks for exactly): only the truth itself is correct; a rounded answer (``148k``,
  ``1.48e5``) that agrees to the digits it gives earns ``precision_credit``.

A mistake a family names must lie outside the band (``in_band``), or the grader could not
tell it from the answer: ``Family.generate`` redraws a variant where one falls inside, and a
family whose mistake always would asks for that figure exactly.

The sentences a prompt states (``rule``, ``part_rule``) are written here, next to the rule.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from fractions import Fraction
from functools import cache, lru_cache
from typing import Any
from xml.sax.saxutils import escape

from ..display import Value, format_number
from ..errors import AnswerFormatError, QuestionError
from ..mistakes import (
    BITS_VS_BYTES,
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
from ..types import AnswerSpec, Diagnosis, Mistake, Status, Truth
from ..units import BASE_UNIT, DIMENSIONS, Unit, lookup_suffix, lookup_unit
from .base import (
    AnswerKind,
    MoodleHead,
    Outcome,
    clip,
    correct,
    gift_escape,
    incorrect,
    named,
    normalize,
    unique,
    with_examples,
    xml_text,
)

__all__ = [
    "KIND",
    "NumberKind",
    "ParsedNumber",
    "MAX_EXPONENT",
    "tolerance",
    "in_band",
    "rule",
    "part_rule",
    "lms_rule",
    "lms_part_rule",
    "lms_part_form",
    "form",
    "examples",
    "credit_phrase",
    "ordinal",
    "value_in_unit",
    "tolerance_for",
    "units_for",
    "plain",
]

MAX_EXPONENT = 300
_MAX_MAGNITUDE = Fraction(10) ** MAX_EXPONENT
_MIN_MAGNITUDE = 1 / _MAX_MAGNITUDE


@lru_cache(maxsize=4096)
def tolerance(spec: AnswerSpec, truth: Fraction) -> Fraction:
    """How far from ``truth`` (base units) a correct answer may be: half a unit of the
    ``min_sig_figs``-th significant figure of the truth in the question's unit (inclusive);
    0 for an exact answer or a zero truth."""
    if spec.exact or truth == 0:
        return Fraction(0)
    unit = lookup_unit(spec.unit) if spec.unit else None
    size = unit.multiplier if unit else Fraction(1)
    place = _magnitude(abs(truth) / size) - spec.min_sig_figs + 1
    return Fraction(10) ** place * size / 2


def _magnitude(x: Fraction) -> int:
    """⌊log10 x⌋ for x > 0, exactly (the float estimate corrected by exact comparisons)."""
    e = math.floor(math.log10(float(x))) if x < 10**300 else 300
    while Fraction(10) ** e > x:
        e -= 1
    while Fraction(10) ** (e + 1) <= x:
        e += 1
    return e


def in_band(spec: AnswerSpec, truth: Fraction, value: Fraction) -> bool:
    """Whether ``value`` would be graded correct for ``truth``, however it is written."""
    return abs(value - truth) <= tolerance(spec, truth)


# -- what a prompt says ---------------------------------------------------------------------

_NAMES = {
    "params": "parameters",
    "macs": "MACs",
    "flops": "FLOPs",
    "elements": "elements",
    "channels": "channels",
    "pixels": "pixels",
    "position": "a position",
    "count": "a count",
}


def credit_phrase(spec: AnswerSpec) -> str:
    """``half`` credit, ``a quarter of the`` credit..."""
    return {0.5: "half", 0.25: "a quarter of the", 0.0: "no"}.get(
        spec.precision_credit, f"{spec.precision_credit:g} of the"
    )


def ordinal(n: int) -> str:
    """1st, 2nd, 3rd, 4th..."""
    return {1: "1st", 2: "2nd", 3: "3rd"}.get(n, f"{n}th")


def _band_sentence(spec: AnswerSpec) -> str:
    d = spec.min_sig_figs
    return (
        f"correct within half a unit of the {ordinal(d)} significant figure, however it is "
        f"written (exact, or rounded to {d} significant figures); right only to fewer figures: "
        f"{credit_phrase(spec)} credit"
    )


def _exact_sentence(spec: AnswerSpec) -> str:
    return (
        "only the exact value is correct; a rounded one (k, M, e6) right to the figures it "
        f"gives earns {credit_phrase(spec)} credit"
    )


def _asked_in(spec: AnswerSpec) -> str:
    if spec.dimension == "ratio":
        return {
            "%": "in percent (a bare number is read in %; one below 1 needs its % sign)",
            "×": "as a factor (× is optional)",
        }.get(spec.unit or "", "as a fraction, a decimal or a percentage")
    if spec.dimension == "bytes":
        return f"in {spec.unit} (a bare number is read in {spec.unit})"
    return f"in {_NAMES.get(spec.dimension or '', spec.dimension or '')}"


def rule(spec: AnswerSpec) -> str:
    """The sentence a prompt states for a number: its form and the precision rule."""
    if spec.exact:
        what = _NAMES.get(spec.dimension or "", spec.dimension or "")
        of = "" if spec.dimension in ("count", "position") else f" of {what}"
        return f"Answer with the exact whole number{of}: {_exact_sentence(spec)}."
    return f"Answer {_asked_in(spec)}: {_band_sentence(spec)}."


def part_rule(spec: AnswerSpec) -> str:
    """The precision sentence of a part (the same for parts alike, stated once)."""
    if spec.exact:
        return f"Whole numbers: {_exact_sentence(spec)}."
    return f"Numbers: {_band_sentence(spec)}."


# What a learning platform that grades an export reads (Moodle's numerical question, GIFT's
# ``{#answer:tolerance}``): a plain number in the question's unit, within the band, and no
# partial credit (it cannot see how many figures were written). The examples are the values
# of ``examples`` written plainly, so the variants they could match are already redrawn.
_LMS_WHERE = {"%": "in percent, without the % sign", "×": "as a factor, without the ×"}
_LMS_EXAMPLES = {"%": "12.3", "×": "4.56", "": "0.123"}


def _lms_where_and_example(spec: AnswerSpec) -> tuple[str, str]:
    if spec.dimension == "ratio":
        unit = spec.unit or ""
        return _LMS_WHERE.get(unit, "as a decimal fraction"), _LMS_EXAMPLES.get(unit, "0.123")
    if spec.dimension == "bytes":
        return f"in {spec.unit}", "123"
    example = "1234567 or 1.23e6" if spec.dimension in ("params", "macs", "flops") else "123"
    return f"in {_NAMES.get(spec.dimension or '', spec.dimension or '')}", example


def lms_rule(spec: AnswerSpec) -> str:
    """The sentence an exported question states for a number: what the platform grading the
    export applies (``rule`` is what this service applies)."""
    if spec.exact:
        what = _NAMES.get(spec.dimension or "", spec.dimension or "")
        of = "" if spec.dimension in ("count", "position") else f" of {what}"
        return (
            f"Answer with the exact whole number{of}, in digits only: only the exact value "
            "is correct."
        )
    where, example = _lms_where_and_example(spec)
    return (
        f"Answer {where} (a plain number, for example {example}): correct within half a "
        f"unit of the {ordinal(spec.min_sig_figs)} significant figure; no credit otherwise."
    )


def lms_part_form(spec: AnswerSpec) -> str:
    """``form`` as one field of an exported question asks for it."""
    if spec.dimension == "ratio":
        return {"%": "a percentage, without the % sign", "×": "a factor, without the ×"}.get(
            spec.unit or "", "a ratio, as a decimal fraction"
        )
    return form(spec)


def lms_part_rule(spec: AnswerSpec) -> str:
    """``part_rule`` as a platform grading one field of an exported question applies it."""
    if spec.exact:
        return "Whole numbers: in digits only; only the exact value is correct."
    return (
        "Numbers: plain (digits, a decimal point, e-notation), correct within half a unit of "
        f"the {ordinal(spec.min_sig_figs)} significant figure; no credit otherwise."
    )


def form(spec: AnswerSpec) -> str:
    """What a part asks for, in a few words: ``parameters``, ``a percentage``..."""
    if spec.dimension == "ratio":
        # A bare number below 1 is refused (it could be a fraction): the part says so.
        return {"%": "a percentage (below 1, with its % sign)", "×": "a factor"}.get(
            spec.unit or "", "a ratio"
        )
    what = spec.unit if spec.dimension == "bytes" else _NAMES.get(spec.dimension or "", "")
    return f"a whole number ({what})" if spec.exact else (what or "a number")


# The examples of each form: fixed values, the same for every variant of every family, so that
# nothing in them depends on the answer. ``Family.generate`` redraws the rare variant whose
# truth one of them would match, so no example is ever graded correct.
_OPERATION_EXAMPLES = ("1,234,567", "1.23M", "1.23e6")
_WHOLE_EXAMPLE = "123"
_RATIO_EXAMPLES = {"%": ("12.3%",), "×": ("4.56×", "4.56"), "": ("0.123", "12.3%", "8/65")}
_SIBLING = {"KiB": "MiB", "MiB": "KiB", "KB": "MB", "MB": "KB", "B": "KiB", "GiB": "MiB"}


def examples(spec: AnswerSpec, whole_numbers: bool = False) -> list[str]:
    """Answers of the spec's form, never of its value; none for an exact whole number unless
    ``whole_numbers`` (a part of a multi-part question shows one for every part)."""
    if spec.exact and not whole_numbers:
        return []
    if spec.dimension == "ratio":
        return list(_RATIO_EXAMPLES[spec.unit or ""])
    if spec.exact:
        return [_WHOLE_EXAMPLE]
    if spec.dimension == "bytes":
        unit = spec.unit or "B"
        sibling = _SIBLING.get(unit)
        return [f"123 {unit}"] + ([f"0.456 {sibling}"] if sibling else [])
    if spec.dimension in ("params", "macs", "flops", "elements"):
        return list(_OPERATION_EXAMPLES)
    return [_WHOLE_EXAMPLE]


# -- reading -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ParsedNumber:
    """A number as read.

    ``value`` is in the base unit of ``dimension``; ``number`` is the figure written before
    the unit (suffix and exponent applied). ``unit`` is the canonical unit applied: written, or
    the question's when ``implied``; None for a pure number (a fraction, a count).
    ``sig_figs`` and ``resolution`` (one unit in the last digit written, in base units) are
    None when the answer is exact: an integer written in full in a unit no larger than the base
    unit, or a fraction.
    """

    text: str
    value: Fraction
    number: Fraction
    unit: str | None
    implied: bool
    dimension: str
    multiplier: Fraction
    sig_figs: int | None
    resolution: Fraction | None

    @property
    def exact(self) -> bool:
        """Whether the answer claims an exact value rather than a rounded one."""
        return self.sig_figs is None


_DIGITS = "digits with an optional suffix (k, M, G) or power of ten (e6, ×10^6)"
_NUMBER_FORMS = {
    "params": f"a number of parameters: {_DIGITS}",
    "macs": f"a number of MACs: {_DIGITS}, or a unit (MACs, MMACs, GMACs)",
    "flops": f"a number of FLOPs: {_DIGITS}, or a unit (FLOPs, MFLOPs, GFLOPs)",
    "bytes": "a size with its unit (B, KB, KiB, MB, MiB...); a bare number is read in {unit}",
    "ratio": "a ratio: a fraction (p/q), a decimal, a percentage (%) or a factor (×)",
    "elements": f"a number of elements: {_DIGITS}",
    "pixels": "a whole number of pixels",
    "channels": "a whole number of channels",
    "position": "a whole number (a position counted from 0)",
}


_NON_FINITE = re.compile(r"[+-]?(?:(?:nan|inf|infinity)\b|∞)", re.IGNORECASE)


_EXP = r"[({]?\ ?[+-]?\d+\ ?[)}]?"
_NUMBER_RE = re.compile(
    rf"""
    (?P<sign>[+-])?
    (?:
        10\ ?(?:\^|\*\*)\ ?(?P<pow>{_EXP})
      |
        (?P<int>\d{{1,3}}(?P<sep>[,_\ ])\d{{3}}(?:(?P=sep)\d{{3}})*(?!\d)|\d+)?
        (?:\.(?P<frac>\d+))?
        (?:
            [eE](?P<e>[+-]?\d+)
          | \ ?[x×*·]\ ?10\ ?(?:\^|\*\*)\ ?(?P<pow2>{_EXP})
        )?
    )
    """,
    re.VERBOSE | re.ASCII,
)
_FRACTION_RE = re.compile(r"(?P<p>[+-]?\d{1,30}) ?[/:] ?(?P<q>\d{1,30})", re.ASCII)


def _parse_number(s: str, text: str, spec: AnswerSpec, form: str) -> ParsedNumber:
    assert spec.dimension is not None  # the spec checked it
    if _NON_FINITE.match(s):
        raise AnswerFormatError("NaN and infinity are not answers", form)
    frac_m = _FRACTION_RE.fullmatch(s)
    if frac_m:
        return _parse_fraction(frac_m, text, spec, form)
    m = _NUMBER_RE.match(s)
    if m is None or not (m.group("pow") or m.group("int") or m.group("frac")):
        raise AnswerFormatError(f"{clip(s)!r} does not start with a number", form)
    suffix, unit = _read_unit(s[m.end() :].strip(), form)
    if unit is None and spec.unit is not None:
        applied, implied = lookup_unit(spec.unit), True
    else:
        applied, implied = unit, False
    multiplier = applied.multiplier if applied else Fraction(1)
    dimension = applied.dimension if applied else spec.dimension

    sign = -1 if m.group("sign") == "-" else 1
    if m.group("pow"):
        int_digits, frac_digits, exponent = "1", "", _exponent(m.group("pow"), form)
    else:
        int_digits = (m.group("int") or "").replace(m.group("sep") or " ", "")
        frac_digits = m.group("frac") or ""
        written_exp = m.group("e") or m.group("pow2")
        exponent = _exponent(written_exp, form) if written_exp else 0
    mantissa = Fraction(int(int_digits or "0")) + (
        Fraction(int(frac_digits), 10 ** len(frac_digits)) if frac_digits else 0
    )
    number = sign * mantissa * Fraction(10) ** exponent * suffix
    value = number * multiplier
    if value and not _MIN_MAGNITUDE <= abs(value) <= _MAX_MAGNITUDE:
        raise AnswerFormatError(f"{clip(s)!r} is out of range (beyond 1e{MAX_EXPONENT})", form)

    if implied and spec.unit == "%" and 0 < abs(number) < 1:
        # 0.1016 may be a share written as a fraction (10.16%) or 0.1016%: refused, so that it
        # is never graded (or diagnosed) as a figure the student did not mean.
        raise AnswerFormatError(
            f"{clip(s)!r} could be a fraction or a percentage: write it as a percentage, with %",
            form,
        )
    sig_figs, resolution = _precision(m, int_digits, frac_digits, exponent, suffix, applied, spec)
    return ParsedNumber(
        text=text,
        value=value,
        number=number,
        unit=applied.name if applied else None,
        implied=implied,
        dimension=dimension,
        multiplier=multiplier,
        sig_figs=sig_figs,
        resolution=resolution,
    )


def _precision(
    m: re.Match[str],
    int_digits: str,
    frac_digits: str,
    exponent: int,
    suffix: int,
    unit: Unit | None,
    spec: AnswerSpec,
) -> tuple[int | None, Fraction | None]:
    """(significant figures, one unit in the last significant digit in base units), or
    (None, None) when the answer claims exactness.

    A whole number written out in a unit no larger than the base unit claims exactness, unless
    it has more digits than the question needs and ends in zeros (``274,000``): those zeros are
    not claimed. Anything scaled up or with a point claims only the digits written; zeros ending
    an integer mantissa (``120e4``, ``800 KiB``) are likewise not claimed.
    """
    multiplier = unit.multiplier if unit else Fraction(1)
    if not (int_digits + frac_digits).strip("0"):
        # Zero has no significant figure, so it is "right to the digits it gives" for no
        # other value: ``0M`` or ``0e9`` is a claim of exactly 0, not a rounding of 147,712.
        return None, None
    scaled = bool(m.group("pow") or m.group("e") or m.group("pow2") or frac_digits)
    scaled = scaled or suffix != 1 or multiplier > 1 or spec.dimension == "ratio"
    digits = int_digits.lstrip("0")
    zeros = 0 if frac_digits else len(digits) - len(digits.rstrip("0"))
    if not scaled and (spec.exact or zeros == 0 or len(digits) <= spec.min_sig_figs):
        return None, None
    significant = (digits + frac_digits).lstrip("0")
    sig_figs = len(significant) - zeros if significant else max(1, len(frac_digits))
    places = len(frac_digits) - zeros
    return sig_figs, Fraction(10) ** (exponent - places) * suffix * multiplier


def _parse_fraction(m: re.Match[str], text: str, spec: AnswerSpec, form: str) -> ParsedNumber:
    if spec.dimension != "ratio":
        raise AnswerFormatError("a fraction is only accepted for a ratio", form)
    p, q = int(m.group("p")), int(m.group("q"))
    if q == 0:
        raise AnswerFormatError("a fraction cannot have a zero denominator", form)
    value = Fraction(p, q)
    if value and not _MIN_MAGNITUDE <= abs(value) <= _MAX_MAGNITUDE:
        raise AnswerFormatError("the fraction is out of range", form)
    return ParsedNumber(text, value, value, None, False, "ratio", Fraction(1), None, None)


def _exponent(written: str, form: str) -> int:
    inner = written.replace(" ", "")
    if inner[0] in "({":
        if inner[-1] != {"(": ")", "{": "}"}[inner[0]]:
            raise AnswerFormatError("unbalanced brackets around the exponent", form)
        inner = inner[1:-1]
    elif inner[-1] in ")}":
        raise AnswerFormatError("unbalanced brackets around the exponent", form)
    # Length first: int() of a long digit string is the slow part, and no answer needs it.
    if len(inner.lstrip("+-").lstrip("0")) > 4 or abs(int(inner)) > MAX_EXPONENT:
        raise AnswerFormatError(f"the exponent is beyond ±{MAX_EXPONENT}", form)
    return int(inner)


def _read_unit(rest: str, form: str) -> tuple[int, Unit | None]:
    """The multiplier and unit written after the number: ``k``, ``MiB``, ``M params``..."""
    if not rest:
        return 1, None
    unit = lookup_unit(rest)
    if unit is not None:
        return 1, unit
    suffix = lookup_suffix(rest)
    if suffix is not None:
        return suffix, None
    head, _, tail = rest.partition(" ")
    suffix = lookup_suffix(head)
    if suffix is not None and tail:
        unit = lookup_unit(tail)
        if unit is not None and unit.prefixable:
            return suffix, unit
        if unit is not None:
            raise AnswerFormatError(f"{head!r} cannot be combined with {tail!r}", form)
    if rest[0] in "/:":
        raise AnswerFormatError("a fraction is two whole numbers, like 1/9", form)
    if head == "B" and tail:
        raise AnswerFormatError("B means bytes; write billions as G or 'billion'", form)
    if rest[0].isdigit() or (rest[0] in ",_." and rest[1:2].isdigit()):
        raise AnswerFormatError(
            "misplaced separator or point: thousands separators group digits in threes "
            "and a number has at most one decimal point",
            form,
        )
    raise AnswerFormatError(f"unknown unit or trailing text {clip(rest)!r}", form)


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


def _says(spec: AnswerSpec, ans: ParsedNumber, target: Fraction) -> str | None:
    """How ``ans`` relates to ``target``: ``exact``, ``close`` (within the tolerance),
    ``rough`` (right to its own last digit only) or None."""
    if ans.value == target:
        return "exact"
    if _far(ans, target):
        return None
    if in_band(spec, target, ans.value):
        return "close"
    if ans.resolution is not None and 2 * abs(ans.value - target) <= ans.resolution:
        return "rough"
    return None


def _far(ans: ParsedNumber, target: Fraction) -> bool:
    """Whether ``ans`` is clearly out of ``_says``' reach of ``target``, by a float test that
    spares the exact one for the many targets a wrong answer is compared with (every slip
    and named mistake). The band is at most half the target (``tolerance``: at least one
    significant figure) and "rough" at most half the answer's resolution; the 1 % margin is
    far above float rounding, and magnitudes floats hold poorly are left to the exact test."""
    try:
        target_f = float(target)
        gap = abs(float(ans.value) - target_f)
        reach = max(abs(target_f), float(ans.resolution or 0)) / 2
    except OverflowError:
        return False
    if not 1e-280 < abs(target_f) < 1e280:
        return False
    return gap > reach * 1.01


def _grade_number(
    spec: AnswerSpec, truth: Fraction, ans: ParsedNumber, family: list[tuple[Mistake, Value]]
) -> Outcome:
    if ans.dimension != spec.dimension:
        return _wrong_dimension(spec, truth, ans)
    verdict = _says(spec, ans, truth)
    if verdict in ("exact", "close"):
        return correct()
    if verdict == "rough":
        # Right to its few digits: the stated credit, whatever else the answer might be. If it
        # is also exactly what a known mistake gives, the feedback says so.
        out = _imprecise(spec, ans)
        also = named(family, lambda v: isinstance(v, Fraction) and ans.value == v)
        if also:
            out.diagnosis.extend(also)
            out.feedback += " It is also exactly what this mistake gives: " + " ".join(
                d.message for d in also
            )
        return out
    matched = named(family, lambda v: isinstance(v, Fraction) and _says(spec, ans, v) is not None)
    return incorrect(matched or unique(_number_slips(spec, truth, ans)))


def _figures(n: int | None) -> str:
    return f"{n} significant figure{'' if n == 1 else 's'}"


def _imprecise(spec: AnswerSpec, ans: ParsedNumber) -> Outcome:
    if spec.exact:
        message = "This agrees with the answer to the digits given, but give the exact number."
    else:
        message = (
            f"This agrees with the answer to the {_figures(ans.sig_figs)} given, "
            f"but at least {spec.min_sig_figs} are needed."
        )
    return Outcome(
        "partial",
        spec.precision_credit,
        f"Partly right. {message}",
        [Diagnosis(INSUFFICIENT_PRECISION.code, message)],
    )


def _wrong_dimension(spec: AnswerSpec, truth: Fraction, ans: ParsedNumber) -> Outcome:
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
            return incorrect([Diagnosis(MACS_VS_FLOPS.code, message)])
    message = f"The question asks for {asked}, but the answer is in {unit}, a unit of {given}."
    return incorrect([Diagnosis(WRONG_DIMENSION.code, message)])


def _scaled(ans: ParsedNumber, factor: Fraction) -> ParsedNumber:
    res = None if ans.resolution is None else ans.resolution * factor
    return replace(ans, value=ans.value * factor, resolution=res)


def _slip_factors(spec: AnswerSpec) -> tuple[tuple[MistakeKind, Fraction], ...]:
    """The generic slips for ``spec``'s dimension: the mistake and the factor it multiplies by."""
    return _slip_factors_of(spec.dimension)


@cache
def _slip_factors_of(dim: str | None) -> tuple[tuple[MistakeKind, Fraction], ...]:
    out: list[tuple[MistakeKind, Fraction]] = []

    def both(kind: MistakeKind, factor: Fraction) -> None:
        out.extend([(kind, factor), (kind, 1 / factor)])

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
    return tuple(out)


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


def _fraction(x: Any) -> Fraction:
    return Fraction(str(x)) if isinstance(x, float) else Fraction(x)


def value_in_unit(spec: AnswerSpec, truth: Any) -> Fraction:
    """A number truth (stored in base units) expressed in the unit the question asks in."""
    unit = lookup_unit(spec.unit) if spec.unit else None
    return _fraction(truth) / (unit.multiplier if unit else 1)


def plain(value: Fraction, digits: int = 10) -> str:
    """A number as plain decimal text (no separators, no exponent): what importers read."""
    if value.denominator == 1:
        return str(value.numerator)
    text = f"{float(value):.{digits}g}"
    if "e" in text:
        text = f"{float(value):.{digits}f}".rstrip("0").rstrip(".")
    return text


def tolerance_for(spec: AnswerSpec, value: Fraction) -> Fraction:
    """The grader's own tolerance (``grading.tolerance``, the one precision rule) for a value
    in the question's unit, as an absolute tolerance in that unit: half a unit of the required
    significant figure, a ratio's relative or absolute tolerance, 0 for exact answers."""
    unit = lookup_unit(spec.unit) if spec.unit else None
    size = unit.multiplier if unit else Fraction(1)
    return tolerance(spec, value * size) / size


def units_for(spec: AnswerSpec) -> list[tuple[str, Fraction]]:
    """Units a student may use, with Moodle's multiplier: value_in_unit = base value × m."""
    if spec.kind != "number" or spec.dimension is None or BASE_UNIT.get(spec.dimension) is None:
        return []
    asked = lookup_unit(spec.unit or BASE_UNIT[spec.dimension] or "")
    if asked is None:
        return []
    names = {
        "bytes": ["B", "KB", "KiB", "MB", "MiB", "GB", "GiB"],
        "params": ["params"],
        "macs": ["MACs", "MMACs", "GMACs"],
        "flops": ["FLOPs", "MFLOPs", "GFLOPs"],
        "channels": ["channels"],
        "elements": ["elements"],
    }.get(spec.dimension, [])
    out = [(asked.name, Fraction(1))]
    for name in names:
        unit = lookup_unit(name)
        if unit is not None and unit.name != asked.name:
            out.append((unit.name, Fraction(asked.multiplier) / Fraction(unit.multiplier)))
    return out


# -- the kind -----------------------------------------------------------------------------------

_DISPLAY_SIG_FIGS = 6
_RATIO_SIG_FIGS = 4
_MAX_SHOWN_DENOMINATOR = 1000
_MOODLE_UNITS = {
    "bytes": ["B", "KB", "KiB", "MB", "MiB", "GB", "GiB"],
    "params": ["params"],
    "macs": ["MACs", "MMACs", "GMACs"],
    "flops": ["FLOPs", "MFLOPs", "GFLOPs"],
    "channels": ["channels"],
    "elements": ["elements"],
}


class NumberKind(AnswerKind):
    """A number of a dimension, asked in a unit, graded by the one precision rule above."""

    name = "number"

    def check_spec(self, spec: AnswerSpec) -> None:
        if spec.choices is not None or spec.parts is not None:
            raise QuestionError("a number answer has no choices or parts")
        if spec.dimension not in DIMENSIONS:
            raise QuestionError(
                f"a number needs a dimension among {', '.join(DIMENSIONS)}; got {spec.dimension!r}"
            )
        unit_name = spec.unit if spec.unit is not None else BASE_UNIT[spec.dimension]
        if unit_name is not None:
            unit = lookup_unit(unit_name)
            if unit is None or unit.dimension != spec.dimension:
                raise QuestionError(f"unit {unit_name!r} does not measure {spec.dimension}")
            # Frozen: normalising an alias ("bytes") to the canonical name ("B") is the only write.
            object.__setattr__(spec, "unit", unit.name)
        if spec.tolerance is not None:
            raise QuestionError(
                "numbers have no tolerance of their own: every number follows the "
                "significant-figure rule (min_sig_figs), or is exact"
            )

    def check_truth(self, spec: AnswerSpec, truth: Truth, partial: bool = False) -> Value:
        return _exact(truth)

    def expected_form(self, spec: AnswerSpec) -> str:
        return _NUMBER_FORMS.get(spec.dimension or "", "a whole number").format(unit=spec.unit)

    def parse(self, text: object, spec: AnswerSpec) -> ParsedNumber:
        form = self.expected_form(spec)
        if not isinstance(text, str):
            raise AnswerFormatError("the answer is not text", form)
        return _parse_number(normalize(text, form), text, spec, form)

    def grade(
        self, spec: AnswerSpec, truth: Value, parsed: Any, family: list[tuple[Mistake, Value]]
    ) -> Outcome:
        assert isinstance(truth, Fraction) and isinstance(parsed, ParsedNumber)
        return _grade_number(spec, truth, parsed, family)

    def verdict(self, spec: AnswerSpec, truth: Value, parsed: Any) -> Status:
        assert isinstance(truth, Fraction) and isinstance(parsed, ParsedNumber)
        if parsed.dimension != spec.dimension:
            return "incorrect"
        found = _says(spec, parsed, truth)
        return "incorrect" if found is None else "partial" if found == "rough" else "correct"

    def display(self, spec: AnswerSpec, truth: Value) -> str:
        assert isinstance(truth, Fraction)
        unit = lookup_unit(spec.unit) if spec.unit else None
        in_unit = truth / unit.multiplier if unit else truth
        if spec.dimension == "ratio":
            text = format_number(in_unit, _RATIO_SIG_FIGS)
            text += {"%": "%", "×": "×"}.get(spec.unit or "", "")
            shown_exactly = Fraction(text.rstrip("%×").replace(",", "")) == in_unit
            if not shown_exactly and truth.denominator <= _MAX_SHOWN_DENOMINATOR:
                text += f" ({truth.numerator}/{truth.denominator})"
            return text
        text = format_number(in_unit, _DISPLAY_SIG_FIGS)
        if unit is None:
            return text
        text += f" {unit.name}"
        base = BASE_UNIT[unit.dimension]
        # Also in base units when the question's unit is scaled and the base value is whole.
        if base and base != unit.name and truth.denominator == 1:
            text += f" ({truth.numerator:,} {base})"
        return text

    def instructions(self, spec: AnswerSpec) -> str:
        return with_examples(rule(spec), examples(spec))

    def part_form(self, spec: AnswerSpec) -> str:
        return form(spec)

    def part_rule(self, spec: AnswerSpec) -> str:
        return part_rule(spec)

    def lms_instructions(self, spec: AnswerSpec) -> str:
        return lms_rule(spec)

    def lms_part_form(self, spec: AnswerSpec) -> str:
        return lms_part_form(spec)

    def lms_part_rule(self, spec: AnswerSpec) -> str:
        return lms_part_rule(spec)

    def examples(self, spec: AnswerSpec, in_parts: bool = False) -> list[str]:
        return examples(spec, in_parts)

    def form(self, spec: AnswerSpec) -> str:
        # Only the values of ``examples`` (which ``Family.generate`` checks against the truth)
        # appear here: the line under the answer box once showed 12.5% for every percentage
        # and 1,234,567 KiB for every size, values no variant was checked against.
        if spec.dimension == "ratio":
            return {
                "%": "A percentage, e.g. 12.3% (a bare number is read in %, one below 1 needs "
                "its % sign; a fraction p/q is read as the share it is).",
                "×": "A factor, e.g. 4.56× or 4.56.",
            }.get(spec.unit or "", "A number, e.g. 0.123, 12.3% or 8/65.")
        if spec.exact:
            return "The exact whole number, in digits (thousands separators allowed)."
        shown = ", ".join(examples(spec))
        return f"A number in {spec.unit or ''} (e.g. {shown}; other units are converted)."

    def schema(self, spec: AnswerSpec) -> dict[str, Any]:
        return {**super().schema(spec), "unit": spec.unit, "dimension": spec.dimension}

    def export_moodle(
        self, spec: AnswerSpec, truth: Truth, head: MoodleHead, mistakes: Sequence[Mistake] = ()
    ) -> str:
        value = value_in_unit(spec, truth)
        answers = [
            f'<answer fraction="100" format="moodle_auto_format"><text>{plain(value)}</text>'
            f"<tolerance>{plain(tolerance_for(spec, value))}</tolerance>"
            f"{xml_text('feedback', 'Correct.', html=True)}</answer>"
        ]
        for mistake in mistakes:
            try:
                wrong = value_in_unit(spec, mistake.value)
            except (TypeError, ValueError, ZeroDivisionError):
                continue
            if wrong == value:
                continue
            answers.append(
                f'<answer fraction="0" format="moodle_auto_format"><text>{plain(wrong)}</text>'
                f"<tolerance>0</tolerance>"
                f"{xml_text('feedback', mistake.message, html=True)}</answer>"
            )
        units = "".join(
            f"<unit><multiplier>{plain(m)}</multiplier><unit_name>{escape(n)}</unit_name></unit>"
            for n, m in units_for(spec)
        )
        unit_block = (
            f"<units>{units}</units>\n<unitgradingtype>0</unitgradingtype>"
            "<unitpenalty>0.1000000</unitpenalty><showunits>3</showunits><unitsleft>0</unitsleft>"
            if units
            else ""
        )
        body = "\n".join(answers) + ("\n" + unit_block if unit_block else "")
        return f'<question type="numerical">\n{head.common}\n{body}\n</question>'

    def export_cloze(self, spec: AnswerSpec, truth: Truth) -> str:
        v = value_in_unit(spec, truth)
        return f"{{1:NUMERICAL:={plain(v)}:{plain(tolerance_for(spec, v))}}}"

    def export_gift(self, spec: AnswerSpec, truth: Truth, feedback: str = "") -> str:
        v = value_in_unit(spec, truth)
        return f"{{#{plain(v)}:{plain(tolerance_for(spec, v))}{feedback}}}"

    def export_gift_suffix(self, spec: AnswerSpec) -> str:
        return f" (answer in {gift_escape(spec.unit)})" if spec.unit else ""

    def export_markdown(self, spec: AnswerSpec, truth: Truth | None = None) -> str:
        return f"Answer in {spec.unit}." if spec.unit else "Answer with a number."

    def test_answers(self, spec: AnswerSpec, truth: Truth) -> list[tuple[Any, Status]]:
        t = _exact(truth)
        out: list[tuple[Any, Status]] = []
        band = tolerance(spec, t)
        written = _in_full(t)
        base = BASE_UNIT.get(spec.dimension or "")
        unit = f" {base}" if base else ""
        if spec.dimension == "ratio":
            out.append((f"{t.numerator}/{t.denominator}", "correct"))
        elif written is not None:
            out.append((f"{written}{unit}", "correct"))
        beyond = t + band + (band if band else Fraction(1)) / 4
        edges: list[tuple[Fraction, Status]] = [(t + band, "correct"), (beyond, "incorrect")]
        for value, status in edges:
            text = _in_full(value)
            if value > 0 and text is not None and spec.dimension != "ratio":
                out.append((f"{text}{unit}", status))
        return out


def _in_full(value: Fraction) -> str | None:
    """``value`` as an exact decimal string, or None when it does not terminate."""
    places = 0
    while (value * 10**places).denominator != 1:
        places += 1
        if places > 12:
            return None
    digits = str(abs(value * 10**places).numerator).rjust(places + 1, "0")
    sign = "-" if value < 0 else ""
    return sign + (f"{digits[:-places]}.{digits[-places:]}" if places else digits)


KIND = NumberKind()
