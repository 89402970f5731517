"""The one scaffold every question family is built on: conventions, measuring, text, mistakes.

A family module draws a configuration from its ``random.Random`` (a small frozen dataclass with
a ``build()`` method, as ``conv.ConvSetup`` / ``draw_conv``), builds the real torch layer,
block or network on the meta device, and reads every truth from it:

- parameter counts from the module's own ``parameters()`` (``param_count``, ``block_counts``):
  no forward pass, which adds nothing to a parameter count;
- shapes, MACs, FLOPs and memory from one profiled forward pass (``measure``), or for blocks
  with BatchNorm from ``measure_block``, which profiles the same block with its zero-MAC,
  shape-keeping layers (BatchNorm, ReLU, ReLU6, sigmoid) swapped for ``nn.Identity``: torch's
  counter sees the same convolutions on the same shapes, in a fraction of the time (BatchNorm
  on the meta device runs Python decompositions; the tests check both give the same MACs).

Closed forms live in the worked solutions, the hints, the mistakes and the tests, never in a
truth. Every prompt states its conventions with the sentences below (worded once); the
precision rule and the form of the answer are appended by ``Family.generate`` from the spec.
A family lists every mistake that may apply (``None`` where one cannot);
``Family.generate`` keeps those this variant can make (``grader.question.keep_mistakes``).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from fractions import Fraction
from functools import lru_cache
from types import MappingProxyType
from typing import TypeVar

import torch
from torch import nn

import models

from ..conventions import (
    BATCH_1,
    BN_EXCLUDED,
    BN_INCLUDED,
    CHANNELS_RULE,
    CONV_BIAS_RULE,
    FLOPS_RULE,
    MACS_RULE,
    MEMORY_RULE,
    NO_BIAS,
    PARAMS_RULE,
    UNITS_RULE,
)
from ..display import format_expected, format_number
from ..grading import check_truth, indistinguishable
from ..mistakes import define
from ..question import possible, same_as_truth
from ..types import AnswerSpec, Mistake, Truth

__all__ = [
    "BATCH_1",
    "PARAMS_RULE",
    "BN_INCLUDED",
    "BN_EXCLUDED",
    "CONV_BIAS_RULE",
    "NO_BIAS",
    "MACS_RULE",
    "FLOPS_RULE",
    "MEMORY_RULE",
    "UNITS_RULE",
    "CHANNELS_RULE",
    "INCLUDED_BN",
    "FORGOT_BN",
    "COUNTED_CONV_BIAS",
    "on_meta",
    "measure",
    "measure_block",
    "block_output_shape",
    "param_count",
    "BlockCounts",
    "block_counts",
    "output_shape",
    "conv",
    "bn_param_count",
    "bn_buffer_count",
    "bias_count",
    "n",
    "dims",
    "call",
    "unit_bytes",
    "unit_phrase",
    "expected_display",
    "figures_to_tell_apart",
    "parts_to_tell_apart",
    "outside_band",
    "FORMS",
    "Comparison",
]

M = TypeVar("M", bound=nn.Module)

# The conventions every prompt states alike live in ``grader.conventions`` (imported above);
# those that apply to any question (``STANDARD``) go to the question's foldable ``rules``.

# -- mistakes shared by several families (each code is defined once, here or in a family) ---

INCLUDED_BN = define(
    "included_bn",
    "The question leaves BatchNorm out; this adds its γ and β (2 parameters per channel).",
)
FORGOT_BN = define(
    "forgot_bn",
    "This leaves out BatchNorm's learnable scale γ and shift β (2 parameters per channel).",
)
COUNTED_CONV_BIAS = define(
    "counted_conv_bias",
    "These convolutions have no bias (bias=False: the BatchNorm shift β that follows makes it "
    "redundant); this adds one per output channel.",
)

# -- building and measuring ---------------------------------------------------------------


def on_meta(factory: Callable[..., M], *args: object, **kwargs: object) -> M:
    """``factory(*args, **kwargs)`` built on the meta device: shapes only, no storage."""
    with torch.device("meta"):
        return factory(*args, **kwargs)


def measure(
    module: nn.Module, input_shape: Sequence[int], batch: int = 1, dtype: str = "float32"
) -> models.Profile:
    """Profile ``module`` (built on the meta device) on ``(batch, *input_shape)``."""
    return models.profile_module(module, tuple(input_shape), batch, dtype)


_ZERO_MAC_LAYERS = (nn.BatchNorm2d, nn.ReLU, nn.ReLU6, nn.Sigmoid)


def measure_block(module: nn.Module, input_shape: Sequence[int]) -> models.Profile:
    """Profile a block whose zero-MAC, shape-keeping layers are swapped for ``nn.Identity``.

    The convolutions, linear layers, pooling and the block's own ``forward`` (concatenations,
    shuffles, additions) run unchanged, so shapes and MACs are the block's own; only
    parameters, which come from ``param_count`` anyway, are left out of this profile.
    """
    _strip(module)
    return models.profile_module(module, tuple(input_shape))


def block_output_shape(module: nn.Module, input_shape: Sequence[int]) -> tuple[int, ...]:
    """``output_shape`` of a block with its zero-MAC, shape-keeping layers swapped for
    ``nn.Identity`` (as ``measure_block`` does): the same shape, without BatchNorm's cost."""
    _strip(module)
    return output_shape(module, input_shape)


def _strip(module: nn.Module) -> None:
    for name, child in module.named_children():
        if isinstance(child, _ZERO_MAC_LAYERS):
            setattr(module, name, nn.Identity())
        else:
            _strip(child)


def param_count(module: nn.Module) -> int:
    """Learnable parameters of a built module (buffers excluded): what ``Profile.params`` sums."""
    return sum(p.numel() for p in module.parameters())


def conv(module: nn.Module, path: str) -> nn.Conv2d:
    """The convolution at dotted ``path``."""
    found = module.get_submodule(path)
    if not isinstance(found, nn.Conv2d):
        raise TypeError(f"{path} is a {type(found).__name__}, not a Conv2d")
    return found


def bn_param_count(module: nn.Module) -> int:
    """BatchNorm γ and β inside ``module``."""
    return sum(param_count(m) for m in module.modules() if isinstance(m, nn.BatchNorm2d))


def bn_buffer_count(module: nn.Module) -> int:
    """BatchNorm running means and variances inside ``module`` (what counting buffers adds)."""
    return sum(
        2 * m.num_features
        for m in module.modules()
        if isinstance(m, nn.BatchNorm2d) and m.track_running_stats
    )


def bias_count(module: nn.Module) -> int:
    """Biases of the convolutions and linear layers inside ``module`` (BatchNorm's β excluded)."""
    return sum(
        m.bias.numel()
        for m in module.modules()
        if isinstance(m, nn.Conv2d | nn.Linear) and m.bias is not None
    )


def output_shape(module: nn.Module, input_shape: Sequence[int]) -> tuple[int, ...]:
    """The output shape of ``module`` (built on meta) for one input, batch dimension kept."""
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

    Memoised per configuration: building a block costs milliseconds of Python (module set-up
    and weight initialisation run even without storage), and variants repeat blocks.
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


# -- text -----------------------------------------------------------------------------------


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


def unit_bytes(unit: str) -> int:
    """Bytes in one ``unit`` (``KiB`` 1024, ``MB`` 1,000,000), from ``models.BYTE_UNITS``."""
    return models.BYTE_UNITS[unit]


def unit_phrase(unit: str) -> str:
    """How a byte unit is named in a prompt: ``KiB (1 KiB = 1,024 B)``."""
    return f"{unit} (1 {unit} = {n(unit_bytes(unit))} B)"


def expected_display(spec: AnswerSpec, truth: Truth) -> str:
    """The truth as the grader shows it (``784 KiB (802,816 B)``); solutions end with it."""
    return format_expected(spec, check_truth(spec, truth))


# -- comparing a cheaper layer with a reference one -------------------------------------------

# The three ways a saving is asked: the fraction kept, the factor, the share saved.
FORMS = ("kept", "times", "saved")


@dataclass(frozen=True)
class Comparison:
    """A cheaper layer against a reference (grouped against dense, separable against standard),
    asked as the fraction kept (cheap ÷ reference), the factor (reference ÷ cheap) or the share
    saved (1 − cheap ÷ reference, in percent, within 0.5 points)."""

    form: str
    cheap: int  # the cheaper layer's parameters or MACs
    reference: int
    cheap_name: str  # "grouped", "separable"
    reference_name: str  # "dense", "standard"

    @property
    def kept(self) -> Fraction:
        """cheap ÷ reference."""
        return Fraction(self.cheap, self.reference)

    def as_form(self, kept: Fraction) -> Fraction:
        """A fraction kept, written in this comparison's form (for truths and mistakes)."""
        return {"kept": kept, "times": 1 / kept, "saved": 1 - kept}[self.form]

    @property
    def spec(self) -> AnswerSpec:
        """A relative ratio, a factor, or a percentage within half a point."""
        if self.form == "saved":
            return AnswerSpec.percent(0.5)
        return AnswerSpec.ratio(unit="×" if self.form == "times" else None)

    def ask(self, what: str, cheap: str, reference: str) -> str:
        """The question, e.g. ``How many times more MACs does the dense layer need ...?``."""
        short = f"{self.cheap_name} ÷ {self.reference_name}"
        return {
            "kept": f"What is the ratio of {cheap}'s {what} to {reference}'s ({short})?",
            "times": f"How many times more {what} does {reference} need than {cheap}?",
            "saved": f"What percentage of {reference}'s {what} does {cheap} save?",
        }[self.form]

    def last_step(self) -> str:
        """The division the solution ends with."""
        a, b = n(self.cheap), n(self.reference)
        short = f"{self.cheap_name} ÷ {self.reference_name}"
        return {
            "kept": f"{short} = {a} / {b}",
            "times": f"{self.reference_name} ÷ {self.cheap_name} = {b} / {a}",
            "saved": f"saved = 1 − {short} = 1 − {a} / {b}",
        }[self.form]


# -- mistakes -------------------------------------------------------------------------------


def figures_to_tell_apart(
    spec: AnswerSpec, truth: Truth, candidates: Iterable[Mistake | None], most: int = 15
) -> AnswerSpec:
    """``spec`` asking for as many significant figures as it takes (up to ``most``) to tell
    every candidate mistake from the truth, and at least the spec's own: for a question whose
    mistakes are small against a large total, such as a network's MACs without its classifier.
    With the default ``most`` it becomes exact when even 15 figures do not suffice. The
    prompt states the figures asked for; ``outside_band`` then keeps the mistakes they tell."""
    values = [
        check_truth(spec, m.value)
        for m in candidates
        if m is not None and not isinstance(m.value, Mapping)
    ]
    t = check_truth(spec, truth)

    def needs(value: object) -> int | None:
        """The fewest figures that tell ``value`` from the truth (None: not even 15)."""
        for figures in range(spec.min_sig_figs, 16):
            if not indistinguishable(replace(spec, min_sig_figs=figures), truth, value):  # type: ignore[arg-type]
                return figures
        return None

    needed = [needs(v) for v in values if v != t]
    if most >= 15 and None in needed:
        return replace(spec, exact=True)
    told = [f for f in needed if f is not None and f <= most]
    return replace(spec, min_sig_figs=max(told, default=spec.min_sig_figs))


def parts_to_tell_apart(
    spec: AnswerSpec, truth: Truth, candidates: Iterable[Mistake | None], most: int = 15
) -> AnswerSpec:
    """A multi-part ``spec`` whose every number part asks for the figures it takes to tell
    the candidates' values for that part from its truth (``figures_to_tell_apart`` part by
    part; exact when even 15 figures do not)."""
    given = [(m, m.value) for m in candidates if m is not None and isinstance(m.value, Mapping)]
    assert isinstance(truth, Mapping)
    parts = {}
    for name, part in spec.parts or ():
        if part.kind != "number":
            parts[name] = part
            continue
        values = [Mistake(m.code, m.message, v[name]) for m, v in given if name in v]
        parts[name] = figures_to_tell_apart(part, truth[name], values, most)
    return AnswerSpec.multi(parts)


def outside_band(
    spec: AnswerSpec, truth: Truth, candidates: Iterable[Mistake | None]
) -> list[Mistake | None]:
    """The candidates a student could be told apart from the truth at the precision asked.

    The others are not named: at that precision they are not errors (ResNet-50's 1,000
    classifier biases in 25.6M parameters asked to 3 figures). Use it only where the precision
    is the question's own choice, never to hide the mistake a family exists to catch (ask for
    that figure exactly instead)."""
    out: list[Mistake | None] = []
    for m in candidates:
        if m is None or not possible(spec, m.value) or same_as_truth(spec, truth, m.value):
            out.append(m)
        elif not isinstance(m.value, Mapping) and indistinguishable(spec, truth, m.value):
            continue
        else:
            out.append(m)
    return out
