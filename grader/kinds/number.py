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
from fractions import Fraction
from functools import lru_cache

from ..types import AnswerSpec
from ..units import lookup_unit

__all__ = [
    "tolerance",
    "in_band",
    "rule",
    "part_rule",
    "form",
    "examples",
    "credit_phrase",
    "ordinal",
]


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
            "%": "in percent (a bare number is read in %)",
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


def form(spec: AnswerSpec) -> str:
    """What a part asks for, in a few words: ``parameters``, ``a percentage``..."""
    if spec.dimension == "ratio":
        return {"%": "a percentage", "×": "a factor"}.get(spec.unit or "", "a ratio")
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
