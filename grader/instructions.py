"""How to answer: the sentences every prompt ends with, generated from the answer's spec.

``answer_instructions(spec, truth)`` states the precision rule of ``grader.grading`` for the
question's kind of answer, in one wording for every family, and shows examples of the form.
The examples are derived from the truth so that they have its form (its unit, its magnitude
class, its number of figures) but a wrong value, and each is graded before it is shown: no
example in a prompt is ever graded correct.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from decimal import Context, Decimal
from fractions import Fraction

from .display import Value
from .grading import check_truth, tolerance_phrase, verdict
from .types import AnswerSpec, Truth
from .units import lookup_unit

__all__ = ["answer_instructions", "example_answers", "EXAMPLES_LEAD"]

# How every list of examples is introduced (the tests find the examples by it).
EXAMPLES_LEAD = "Form only, not the answer:"

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
# Factors that move the truth to a wrong value of the same form; tried in order.
_FACTORS = tuple(Fraction(f) for f in ("1.37", "0.61", "2.3", "0.43", "3.1", "0.27", "1.9"))
_SIBLING = {"KiB": "MiB", "MiB": "KiB", "KB": "MB", "MB": "KB", "B": "KiB", "GiB": "MiB"}
_SUFFIXES = ((10**12, "T"), (10**9, "G"), (10**6, "M"), (10**3, "k"))


def answer_instructions(spec: AnswerSpec, truth: Truth) -> str:
    """The sentences that close a prompt: the answer's form, the precision rule, examples."""
    if spec.kind == "parts":
        return _parts_text(spec, truth)
    if spec.kind == "choice":
        listing = "; ".join(f"({chr(ord('a') + i)}) {c}" for i, c in enumerate(spec.choices or ()))
        return f"Choices: {listing}. Answer with the letter or the text of a choice."
    rule = _shape_rule(spec) if spec.kind == "shape" else _number_rule(spec)
    examples = example_answers(spec, truth)
    return f"{rule} {EXAMPLES_LEAD} {' or '.join(examples)}." if examples else rule


def _number_rule(spec: AnswerSpec) -> str:
    if spec.dimension == "ratio":
        form = {"%": "in percent", "×": "as a factor (× is optional)"}.get(
            spec.unit or "", "as a fraction, a decimal or a percentage"
        )
        return (
            f"Answer {form}; {tolerance_phrase(spec)} is correct, and an answer right only to "
            f"fewer digits earns {_credit(spec)} credit."
        )
    what = _NAMES.get(spec.dimension or "", spec.dimension or "")
    if spec.exact:
        of = f" of {what}" if spec.dimension in ("pixels", "channels") else ""
        return f"Answer with the exact whole number{of}."
    unit = spec.unit or "" if spec.dimension == "bytes" else what
    bare = f" (a bare number is read in {spec.unit})" if spec.dimension == "bytes" else ""
    return (
        f"Answer in {unit}{bare}, exactly or rounded to {spec.min_sig_figs} significant figures: "
        f"any answer within half a unit of the {_ordinal(spec.min_sig_figs)} significant "
        f"figure is correct, however many digits it has; fewer figures earn "
        f"{_credit(spec)} credit."
    )


def _shape_rule(spec: AnswerSpec) -> str:
    if spec.batch:
        return "Answer with the output shape (N, C, H, W), batch dimension first."
    return "Answer with the output shape (C, H, W), without the batch dimension."


def _parts_text(spec: AnswerSpec, truth: Truth) -> str:
    assert isinstance(truth, Mapping)
    parts = spec.parts or ()
    listing = "; ".join(
        f"({chr(ord('a') + i)}) {name}: {_part_form(part)}" for i, (name, part) in enumerate(parts)
    )
    rules = dict.fromkeys(_part_rule(part) for _, part in parts)  # in order, each once
    examples = [example_answers(part, truth[name], True) for name, part in parts]
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
    if part.dimension == "ratio":
        return {"%": "a percentage", "×": "a factor"}.get(part.unit or "", "a ratio")
    what = part.unit if part.dimension == "bytes" else _NAMES.get(part.dimension or "", "")
    return f"a whole number ({what})" if part.exact else (what or "a number")


def _part_rule(part: AnswerSpec) -> str:
    """The precision sentence a part follows (the same sentence for parts alike)."""
    if part.kind != "number":
        return ""
    if part.dimension == "ratio":
        kind = {"%": "percentage", "×": "factor"}.get(part.unit or "", "ratio")
        return f"The {kind} is correct {tolerance_phrase(part)}."
    if part.exact:
        return "Whole numbers must be exact."
    return (
        f"Counts and sizes: exactly or to {part.min_sig_figs} significant figures; within half a "
        f"unit of the {_ordinal(part.min_sig_figs)} significant figure is correct however many "
        f"digits are written, and fewer figures earn {_credit(part)} credit."
    )


def _credit(spec: AnswerSpec) -> str:
    return {0.5: "half", 0.25: "a quarter of the", 0.0: "no"}.get(
        spec.precision_credit, f"{spec.precision_credit:g} of the"
    )


def _ordinal(n: int) -> str:
    return {1: "1st", 2: "2nd", 3: "3rd"}.get(n, f"{n}th")


# -- examples ---------------------------------------------------------------------------------


def example_answers(spec: AnswerSpec, truth: Truth, whole_numbers: bool = False) -> list[str]:
    """Answers of the truth's form with a wrong value, each checked to grade incorrect.

    Empty when the form needs no example (a whole number, unless ``whole_numbers``; a choice)
    or none of the candidate values is wrong (never seen: they are 27% or more off).
    """
    if spec.kind in ("choice", "parts") or (spec.exact and not whole_numbers):
        return []
    checked = check_truth(spec, truth)
    for candidate in _candidates(spec, checked):
        if all(verdict(spec, truth, text) == "incorrect" for text in candidate):
            return candidate
    return []


def _candidates(spec: AnswerSpec, truth: Value) -> Iterator[list[str]]:
    if spec.kind == "shape":
        assert isinstance(truth, tuple)
        for step in (2, 5, 11):
            dims = [d + step + i for i, d in enumerate(truth)]
            yield ["(" + ", ".join(map(str, dims)) + ")", "x".join(map(str, dims))]
        return
    assert isinstance(truth, Fraction)
    unit = lookup_unit(spec.unit) if spec.unit else None
    size = unit.multiplier if unit else Fraction(1)
    forms = _FORMS.get(spec.dimension or "", _count_forms)
    if truth == 0:  # nothing to scale: show the form at an arbitrary magnitude
        truth = Fraction(1234) * size
    # Smaller multipliers first for ratios, so that shares stay under 100%.
    factors = sorted(_FACTORS) if spec.dimension == "ratio" else _FACTORS
    for factor in factors:
        yield forms(spec, truth / size * factor, truth.denominator == 1)


def _sig(value: Fraction, figures: int = 3) -> str:
    """``value`` to ``figures`` significant figures, plainly (no exponent, no separators)."""
    if value == 0:
        return "0"
    d = Context(prec=figures).divide(Decimal(value.numerator), Decimal(value.denominator))
    return f"{d:f}"  # trailing zeros kept: 5.60 shows three figures


def _scientific(value: Fraction) -> str:
    d = Context(prec=3).divide(Decimal(value.numerator), Decimal(value.denominator))
    mantissa, exponent = f"{d:.2e}".split("e")
    return f"{mantissa}e{int(exponent)}"


def _suffixed(value: Fraction) -> str | None:
    for size, suffix in _SUFFIXES:
        if abs(value) >= size:
            return f"{_sig(value / size)}{suffix}"
    return None


def _operation_forms(spec: AnswerSpec, value: Fraction, whole: bool) -> list[str]:
    """Parameters, MACs, FLOPs, elements: the full integer, a suffix, a power of ten."""
    out = []
    if whole and abs(value) >= 1000:
        out.append(f"{round(value):,}")
    suffixed = _suffixed(value)
    if suffixed:
        out.append(suffixed)
    out.append(_scientific(value) if abs(value) >= 1000 else _sig(value))
    return out


def _byte_forms(spec: AnswerSpec, value: Fraction, whole: bool) -> list[str]:
    unit = spec.unit or "B"
    out = [f"{_sig(value)} {unit}"]
    sibling = _SIBLING.get(unit)
    asked, other = lookup_unit(unit), lookup_unit(sibling) if sibling else None
    if asked is not None and other is not None:
        out.append(f"{_sig(value * asked.multiplier / other.multiplier)} {other.name}")
    return out


def _ratio_forms(spec: AnswerSpec, value: Fraction, whole: bool) -> list[str]:
    if spec.unit == "%":
        return [f"{_sig(value)}%"]
    if spec.unit == "×":
        return [f"{_sig(value)}×", _sig(value)]
    near = value.limit_denominator(30)
    fraction = [f"{near.numerator}/{near.denominator}"] if near.denominator > 1 else []
    return [*fraction, _sig(value), f"{_sig(value * 100)}%"]


def _count_forms(spec: AnswerSpec, value: Fraction, whole: bool) -> list[str]:
    return [str(round(value))]


_FORMS: dict[str, Callable[[AnswerSpec, Fraction, bool], list[str]]] = {
    "params": _operation_forms,
    "macs": _operation_forms,
    "flops": _operation_forms,
    "elements": _operation_forms,
    "bytes": _byte_forms,
    "ratio": _ratio_forms,
}
