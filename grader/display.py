"""How an expected answer is written for a person: ``23,296 params``, ``784 KiB (802,816 B)``,
``0.1111 (1/9)``, ``(64, 56, 56)``, ``(b) pointwise conv``.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Context, Decimal
from fractions import Fraction
from typing import TypeAlias

from .types import AnswerSpec
from .units import BASE_UNIT, lookup_unit

__all__ = ["Value", "format_number", "format_expected"]

# A truth after checking: exact number, shape, choice index, or the parts of those.
Value: TypeAlias = "Fraction | tuple[int, ...] | int | Mapping[str, Value]"

_NUMBER_SIG_FIGS = 6
_RATIO_SIG_FIGS = 4
_MAX_SHOWN_DENOMINATOR = 1000


def format_number(value: Fraction, sig_figs: int = _NUMBER_SIG_FIGS) -> str:
    """``value`` with thousands separators: in full when whole, else to ``sig_figs`` figures.

    The whole part of a non-integer is never rounded away (1,234,567.5 stays as it is).
    """
    if value.denominator == 1:
        return f"{value.numerator:,}"
    whole_digits = len(str(abs(value.numerator // value.denominator)))
    prec = max(sig_figs, whole_digits + 1)
    shown = Context(prec=prec).divide(Decimal(value.numerator), Decimal(value.denominator))
    text = f"{shown:,f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def format_expected(spec: AnswerSpec, truth: Value) -> str:
    """The checked truth written as a person would, in the question's unit."""
    if spec.kind == "parts":
        assert isinstance(truth, Mapping)
        return "; ".join(
            f"{name}: {format_expected(s, truth[name])}" for name, s in spec.parts or ()
        )
    if spec.kind == "shape":
        assert isinstance(truth, tuple)
        return "(" + ", ".join(str(d) for d in truth) + ("," if len(truth) == 1 else "") + ")"
    if spec.kind == "choice":
        assert isinstance(truth, int) and spec.choices is not None
        return f"({chr(ord('a') + truth)}) {spec.choices[truth]}"
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
    text = format_number(in_unit)
    if unit is None:
        return text
    text += f" {unit.name}"
    base = BASE_UNIT[unit.dimension]
    # Also in base units when the question's unit is scaled and the base value is whole.
    if base and base != unit.name and truth.denominator == 1:
        text += f" ({truth.numerator:,} {base})"
    return text
