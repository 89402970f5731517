"""Helpers shared by the block- and architecture-level families.

Every truth these families state is read from a module built on the meta device with
``models``: parameter counts from the module's own ``parameters()``, output shapes from a
forward pass on the meta device, MACs from ``models.profile_module``. Forward passes through
BatchNorm on the meta device run torch's Python decompositions (milliseconds per layer), so
the families memoise those results per block configuration; the module is still built and run
once for every configuration a question uses. Closed forms live in the worked solutions and,
independently, in the tests, never in a truth.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache
from types import MappingProxyType
from typing import TypeVar

import torch
from torch import nn

from ..display import format_expected, format_number
from ..grading import check_truth
from ..mistakes import define
from ..types import AnswerSpec, Mistake, Truth

__all__ = [
    "PARAMS_RULE",
    "BN_INCLUDED",
    "BN_EXCLUDED",
    "CONV_BIAS_RULE",
    "MACS_RULE",
    "BATCH_1",
    "EXACT_OR_ROUNDED",
    "THREE_SIG_FIGS",
    "RATIO_HINT",
    "INCLUDED_BN",
    "FORGOT_BN",
    "COUNTED_CONV_BIAS",
    "on_meta",
    "BlockCounts",
    "block_counts",
    "sub",
    "conv",
    "param_count",
    "conv_param_count",
    "bn_param_count",
    "bn_buffer_count",
    "bias_count",
    "output_shape",
    "n",
    "expected_display",
    "keep_mistakes",
]

M = TypeVar("M", bound=nn.Module)

# Conventions (docs/conventions.md), worded once so that every prompt states them alike.
PARAMS_RULE = (
    "Parameters are the learnable weights and biases, as sum(p.numel() for p in "
    "module.parameters())."
)
BN_INCLUDED = (
    "BatchNorm is included: its scale γ and shift β are parameters (2 per channel); its running "
    "mean and variance are buffers, not parameters."
)
BN_EXCLUDED = "Leave BatchNorm out: count only the convolutions' weights."
CONV_BIAS_RULE = "Every convolution has a bias (one per output channel)."
MACS_RULE = (
    "MACs are the multiply-accumulates of the convolutions (and linear layers); bias additions, "
    "BatchNorm, activations, pooling and residual additions count 0. 1 MAC = 2 FLOPs: answer "
    "in MACs."
)
BATCH_1 = "Batch size 1."
EXACT_OR_ROUNDED = "Give the exact number, or round to at least 3 significant figures."
THREE_SIG_FIGS = "Give at least 3 significant figures (e.g. 25.6M)."
RATIO_HINT = "Answer as a fraction or a percentage (e.g. 0.62 or 62%); within 1% is correct."

# Mistakes shared by several block families.
INCLUDED_BN = define(
    "included_bn",
    "The question leaves BatchNorm out; this adds its γ and β (2 parameters per channel).",
)
FORGOT_BN = define(
    "forgot_bn",
    "This leaves out BatchNorm's γ and β: each BatchNorm layer has 2 learnable parameters per "
    "channel.",
)
COUNTED_CONV_BIAS = define(
    "counted_conv_bias",
    "These convolutions have no bias (bias=False: the BatchNorm shift β that follows makes it "
    "redundant); this adds one per output channel.",
)


def on_meta(factory: Callable[..., M], *args: object, **kwargs: object) -> M:
    """``factory(*args, **kwargs)`` built on the meta device: shapes only, no storage."""
    with torch.device("meta"):
        return factory(*args, **kwargs)


def sub(module: nn.Module, path: str) -> nn.Module:
    """The submodule at dotted ``path`` (typed, unlike attribute access on a module)."""
    return module.get_submodule(path)


def conv(module: nn.Module, path: str) -> nn.Conv2d:
    """The convolution at dotted ``path``."""
    found = module.get_submodule(path)
    if not isinstance(found, nn.Conv2d):
        raise TypeError(f"{path} is a {type(found).__name__}, not a Conv2d")
    return found


def param_count(module: nn.Module) -> int:
    """Learnable parameters of ``module`` (buffers excluded): the count ``Profile.params`` uses."""
    return sum(p.numel() for p in module.parameters())


def conv_param_count(module: nn.Module) -> int:
    """Parameters of the convolutions inside ``module`` (BatchNorm and the rest left out)."""
    return sum(param_count(m) for m in module.modules() if isinstance(m, nn.Conv2d))


def bn_param_count(module: nn.Module) -> int:
    """BatchNorm γ and β inside ``module``."""
    return sum(param_count(m) for m in module.modules() if isinstance(m, nn.BatchNorm2d))


def bn_buffer_count(module: nn.Module) -> int:
    """BatchNorm running means and variances inside ``module`` (what counting buffers adds)."""
    total = 0
    for m in module.modules():
        if isinstance(m, nn.BatchNorm2d) and m.running_mean is not None:
            assert m.running_var is not None
            total += m.running_mean.numel() + m.running_var.numel()
    return total


def bias_count(module: nn.Module) -> int:
    """Biases of the convolutions and linear layers inside ``module`` (BatchNorm's β excluded)."""
    return sum(
        m.bias.numel()
        for m in module.modules()
        if isinstance(m, nn.Conv2d | nn.Linear) and m.bias is not None
    )


def output_shape(module: nn.Module, input_shape: Sequence[int]) -> tuple[int, ...]:
    """The output shape of ``module`` (built on meta) for one input of ``input_shape``.

    A plain forward pass on the meta device in evaluation mode: torch computes every shape,
    including the concatenations a block does in ``forward``; the batch dimension is kept.
    """
    module.eval()
    with torch.no_grad():
        out = module(torch.empty((1, *input_shape), device="meta"))
    return tuple(out.shape)


@dataclass(frozen=True)
class BlockCounts:
    """Parameter counts read from one block built on the meta device."""

    total: int  # every learnable parameter
    parts: Mapping[str, int]  # the parameters of the named submodules asked for
    conv: int  # the convolutions' parameters (BatchNorm left out)
    bn: int  # BatchNorm γ and β
    bn_buffers: int  # BatchNorm running means and variances
    biases: int  # biases of the convolutions and linear layers
    conv_out_channels: int  # summed over the convolutions: what one bias each would add


@lru_cache(maxsize=4096)
def block_counts(
    factory: Callable[..., nn.Module], args: tuple[Hashable, ...], parts: tuple[str, ...] = ()
) -> BlockCounts:
    """Build ``factory(*args)`` on the meta device and read its parameter counts.

    Memoised per configuration: building a block on meta costs milliseconds of Python (module
    set-up and weight initialisation run even without storage), and questions repeat blocks.
    """
    m = on_meta(factory, *args)
    convs = [c for c in m.modules() if isinstance(c, nn.Conv2d)]
    return BlockCounts(
        total=param_count(m),
        parts=MappingProxyType({p: param_count(m.get_submodule(p)) for p in parts}),
        conv=sum(param_count(c) for c in convs),
        bn=bn_param_count(m),
        bn_buffers=bn_buffer_count(m),
        biases=bias_count(m),
        conv_out_channels=sum(c.out_channels for c in convs),
    )


def n(value: int | Fraction) -> str:
    """A number with thousands separators (``73,856``); fractions to 6 significant figures."""
    return format_number(Fraction(value))


def expected_display(spec: AnswerSpec, truth: Truth) -> str:
    """The truth as the grader shows it (``23,296 params``); worked solutions end with it."""
    return format_expected(spec, check_truth(spec, truth))


def keep_mistakes(
    spec: AnswerSpec, truth: Truth, mistakes: Iterable[Mistake]
) -> tuple[Mistake, ...]:
    """The mistakes whose answer a student could actually give: different from the truth.

    Numbers within the spec's tolerance of the truth would be graded correct, so they go too,
    as do choices naming the right answer and non-positive counts (no mistake gives those).
    """
    target = check_truth(spec, truth)
    tol = spec.relative_tolerance
    kept: list[Mistake] = []
    for m in mistakes:
        value = check_truth(spec, m.value)
        if value == target:
            continue
        if isinstance(value, Fraction) and isinstance(target, Fraction):
            if value <= 0:
                continue
            # Twice the tolerance: a rounded mistake answer must not read as the truth either.
            if tol is not None and abs(value - target) <= 2 * tol * abs(target):
                continue
        kept.append(m)
    return tuple(kept)
