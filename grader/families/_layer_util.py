"""Helpers shared by the layer families: meta-device profiling, number text, mistake filtering.

Every truth a layer family states comes from a module built on the meta device: shapes, MACs,
FLOPs and memory from :func:`measure` (``models.profile_module``, one forward pass), parameter
counts from :func:`param_count` over the built module (what ``Profile.params`` sums, without
the forward pass, which adds nothing to a parameter count and costs 1 to 5 ms under torch's
flop counter). The closed forms live in the worked solutions and in the tests, never in a
truth.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from fractions import Fraction

from torch import nn

import models

from ..display import format_expected, format_number
from ..grading import check_truth
from ..types import AnswerSpec, Mistake, Truth

__all__ = [
    "BATCH_1",
    "PARAMS_RULE",
    "MACS_RULE",
    "FLOPS_RULE",
    "MEMORY_RULE",
    "UNITS_RULE",
    "measure",
    "param_count",
    "n",
    "dims",
    "call",
    "expected_display",
    "keep_mistakes",
    "unit_bytes",
    "unit_phrase",
]

# Conventions (docs/conventions.md), worded once so every prompt states them the same way.
BATCH_1 = "Batch size 1 unless stated."
PARAMS_RULE = (
    "Parameters are the learnable weights and biases (buffers such as BatchNorm running "
    "statistics are not parameters)."
)
MACS_RULE = (
    "MACs are the multiply-accumulates of convolutions and linear layers; bias additions are "
    "not counted."
)
FLOPS_RULE = "FLOPs = 2 × MACs (one multiply and one add per MAC); bias additions are not counted."
MEMORY_RULE = (
    "Activation memory = output elements × bytes per element (float32 4, float16 and "
    "bfloat16 2, int8 1)."
)
UNITS_RULE = "KB = 1000 B and MB = 1000² B; KiB = 1024 B and MiB = 1024² B."


def measure(
    module: nn.Module, input_shape: Sequence[int], batch: int = 1, dtype: str = "float32"
) -> models.Profile:
    """Profile ``module`` (built on the meta device) on ``(batch, *input_shape)``."""
    return models.profile_module(module, tuple(input_shape), batch, dtype)


def param_count(module: nn.Module) -> int:
    """Learnable parameters of a built module: the same count as ``Profile.params``.

    Parameters do not depend on the input, so parameter questions skip the forward pass: on
    the meta device, ``addmm`` (a linear layer with bias) and BatchNorm run torch's Python
    decompositions under the flop counter, several ms each.
    """
    return sum(p.numel() for p in module.parameters())


def n(value: int | Fraction) -> str:
    """A number with thousands separators: ``73,856``; fractions to 6 significant figures."""
    return format_number(Fraction(value))


def dims(shape: Iterable[int]) -> str:
    """``64×56×56``."""
    return "×".join(str(d) for d in shape)


def call(name: str, *args: object, **kwargs: object) -> str:
    """The constructor call as a student would read it: ``nn.Conv2d(3, 64, kernel_size=11)``."""
    parts = [repr(a) for a in args] + [f"{k}={v!r}" for k, v in kwargs.items()]
    return f"{name}({', '.join(parts)})"


def expected_display(spec: AnswerSpec, truth: Truth) -> str:
    """The truth as the grader shows it (``784 KiB (802,816 B)``); solutions end with it."""
    return format_expected(spec, check_truth(spec, truth))


def keep_mistakes(
    spec: AnswerSpec, truth: Truth, candidates: Iterable[Mistake | None]
) -> tuple[Mistake, ...]:
    """The mistakes worth naming: applicable, different from the truth, and from each other.

    A mistake whose value the grader would accept as the truth (equal, or within the spec's
    tolerance for ratios) is dropped, as is a shape with a non-positive dimension (a formula
    applied where the layer could not exist) and a value already claimed by an earlier one.
    """
    checked_truth = check_truth(spec, truth)
    tol = spec.relative_tolerance
    seen: list[object] = [checked_truth]
    kept: list[Mistake] = []
    for m in candidates:
        if m is None:
            continue
        if isinstance(m.value, tuple) and any(d <= 0 for d in m.value):
            continue
        value = check_truth(spec, m.value)
        if any(_same(value, other, tol) for other in seen):
            continue
        seen.append(value)
        kept.append(m)
    return tuple(kept)


def _same(a: object, b: object, tol: Fraction | None) -> bool:
    if isinstance(a, Fraction) and isinstance(b, Fraction):
        if tol is not None:
            return abs(a - b) <= tol * abs(b) or abs(a - b) <= tol * abs(a)
        return a == b
    return a == b


def unit_bytes(unit: str) -> int:
    """Bytes in one ``unit`` (``KiB`` 1024, ``MB`` 1,000,000), from ``models.BYTE_UNITS``."""
    return models.BYTE_UNITS[unit]


def unit_phrase(unit: str) -> str:
    """How a byte unit is named in a prompt: ``KiB (1 KiB = 1,024 B)``."""
    return f"{unit} (1 {unit} = {n(unit_bytes(unit))} B)"
