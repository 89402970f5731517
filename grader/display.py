"""How an expected answer is written for a person: ``23,296 params``, ``784 KiB (802,816 B)``,
``0.1111 (1/9)``, ``(64, 56, 56)``, ``(b) pointwise conv``.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Context, Decimal
from fractions import Fraction
from typing import TypeAlias

from .types import AnswerSpec

__all__ = ["Value", "format_number", "format_expected"]

# A truth after checking: exact number, shape, choice index, or the parts of those.
Value: TypeAlias = "Fraction | tuple[int, ...] | int | Mapping[str, Value]"

_NUMBER_SIG_FIGS = 6


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
    """The checked truth written as a person would, in the question's unit (the answer
    kind's own ``display``)."""
    from .kinds import kind_of  # the kinds use format_number: imported when first needed

    return kind_of(spec).display(spec, truth)
