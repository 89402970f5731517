"""Convolution arithmetic: output shape, parameters, MACs, FLOPs and activation memory.

Each question builds the ``nn.Conv2d`` it describes on the meta device and profiles it; the
output-size and cost formulas appear only in the worked solutions, the mistakes and the tests.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from torch import nn

from ..mistakes import (
    BATCH_DIMENSION,
    BITS_VS_BYTES,
    CEIL_VS_FLOOR,
    COUNTED_BATCH,
    FORGOT_BIAS,
    FORGOT_PADDING,
    IGNORED_GROUPS,
    KIB_VS_KB,
    MACS_VS_FLOPS,
    OFF_BY_ONE,
    WRONG_DTYPE_SIZE,
    define,
)
from ..question import Draft, Family
from ..types import AnswerSpec, Mistake, Truth
from ._base import (
    BATCH_1,
    FLOPS_RULE,
    MACS_RULE,
    MEMORY_RULE,
    PARAMS_RULE,
    UNITS_RULE,
    call,
    dims,
    expected_display,
    measure,
    n,
    param_count,
    unit_bytes,
    unit_phrase,
)

__all__ = [
    "ConvSetup",
    "draw_conv",
    "out_side",
    "FORGOT_BATCH",
    "CONV_OUTPUT_SHAPE",
    "CONV_PARAMS",
    "CONV_MACS",
    "CONV_FLOPS",
    "CONV_ACTIVATION_MEMORY",
    "CONV_LAYER_STEPS",
    "FAMILIES",
]

TOPIC = "conv-arithmetic"

FORGOT_DILATION = define(
    "forgot_dilation",
    "This ignores the dilation: a dilated kernel spans dilation·(k − 1) + 1 input pixels.",
)
IGNORED_STRIDE = define(
    "ignored_stride", "This ignores the stride: the window moves `stride` pixels at a time."
)
USED_IN_CHANNELS = define(
    "used_in_channels",
    "The output has out_channels channels (one per filter), not in_channels.",
)
COUNTED_BIAS = define(
    "counted_bias",
    "This counts a bias, but the layer has bias=False: only the weights are parameters.",
)
GAVE_MACS = define(
    "gave_macs",
    "This is the layer's MAC count; parameters do not depend on the input's spatial size.",
)
COUNTED_BIAS_OPS = define(
    "counted_bias_ops",
    "This counts the bias additions, which the convention leaves out of MACs and FLOPs.",
)
USED_INPUT_SIZE = define(
    "used_input_size",
    "This uses the input's height and width; the cost is per output position, H_out·W_out.",
)
FORGOT_BATCH = define(
    "forgot_batch", "This is for one sample; the question asks for the whole batch."
)
COUNTED_ELEMENTS = define(
    "counted_elements",
    "This is the number of elements; multiply by the bytes per element of the dtype.",
)
COUNTED_INPUT = define(
    "counted_input",
    "This adds the input tensor; the activation memory of a layer is its output only.",
)

_SHAPE_RULE = "Shapes are written (C, H, W) for one input and (N, C, H, W) for a batch."
_FLOOR_RULE = "Output sizes round down (PyTorch's default)."


def _pair(v: int | tuple[int, int]) -> tuple[int, int]:
    return (v, v) if isinstance(v, int) else v


@dataclass(frozen=True)
class ConvSetup:
    """The arguments of one ``nn.Conv2d`` and the input it is applied to."""

    in_channels: int
    out_channels: int
    kernel_size: int | tuple[int, int]
    stride: int = 1
    padding: int | tuple[int, int] = 0
    dilation: int = 1
    groups: int = 1
    bias: bool = True
    height: int = 1
    width: int = 1
    batch: int = 1

    @property
    def kh(self) -> int:
        """Kernel height."""
        return _pair(self.kernel_size)[0]

    @property
    def kw(self) -> int:
        """Kernel width."""
        return _pair(self.kernel_size)[1]

    @property
    def ph(self) -> int:
        """Padding of the height."""
        return _pair(self.padding)[0]

    @property
    def pw(self) -> int:
        """Padding of the width."""
        return _pair(self.padding)[1]

    def build(self) -> nn.Conv2d:
        """The layer, on the meta device (no storage, no arithmetic)."""
        return nn.Conv2d(
            self.in_channels,
            self.out_channels,
            self.kernel_size,
            self.stride,
            self.padding,
            self.dilation,
            self.groups,
            self.bias,
            device="meta",
        )

    @property
    def input_shape(self) -> tuple[int, int, int]:
        """One sample's input, (C, H, W)."""
        return (self.in_channels, self.height, self.width)

    def text(self) -> str:
        """``nn.Conv2d(64, 128, kernel_size=3, stride=1, padding=1)``, defaults left out."""
        kwargs: dict[str, Any] = {
            "kernel_size": self.kernel_size,
            "stride": self.stride,
            "padding": self.padding,
        }
        if self.dilation != 1:
            kwargs["dilation"] = self.dilation
        if self.groups != 1:
            kwargs["groups"] = self.groups
        kwargs["bias"] = self.bias
        return call("nn.Conv2d", self.in_channels, self.out_channels, **kwargs)

    def params(self, *, spatial: bool = True) -> dict[str, Any]:
        """Every number of the prompt, by torch's argument names."""
        out: dict[str, Any] = {
            "in_channels": self.in_channels,
            "out_channels": self.out_channels,
            "kernel_size": self.kernel_size,
            "groups": self.groups,
            "bias": self.bias,
        }
        if spatial:
            out.update(
                stride=self.stride,
                padding=self.padding,
                dilation=self.dilation,
                height=self.height,
                width=self.width,
                batch=self.batch,
            )
        return out

    def input_text(self) -> str:
        """``a 3×227×227 input`` or ``a batch of 8 inputs, each 3×227×227``."""
        shape = dims(self.input_shape)
        if self.batch == 1:
            return f"a {shape} input (C×H×W, batch size 1)"
        return f"a batch of {self.batch} inputs, each {shape} (C×H×W)"

    def weights(self) -> int:
        """Weight count by the closed form, for mistakes and solutions."""
        return self.out_channels * (self.in_channels // self.groups) * self.kh * self.kw


def out_side(
    size: int,
    kernel: int,
    stride: int = 1,
    padding: int = 0,
    dilation: int = 1,
    *,
    ceil: bool = False,
    plus_one: bool = True,
) -> int | None:
    """One output side by the formula (None when the window does not fit): for mistakes."""
    span = size + 2 * padding - dilation * (kernel - 1) - 1
    if span < 0:
        return None
    steps = -(-span // stride) if ceil else span // stride
    return steps + 1 if plus_one else steps


def side_text(label: str, size: int, k: int, s: int, p: int, d: int, result: int) -> str:
    """The output-size formula with the numbers put in."""
    span = size + 2 * p - d * (k - 1) - 1
    return (
        f"{label}_out = floor(({label} + 2·padding − dilation·(k − 1) − 1) / stride) + 1 "
        f"= floor(({size} + 2·{p} − {d}·({k} − 1) − 1) / {s}) + 1 = floor({span} / {s}) + 1 "
        f"= {result}"
    )


def _divisible(options: tuple[int, ...], g: int) -> list[int]:
    return [c for c in options if c % g == 0]


def draw_conv(
    rng: random.Random,
    difficulty: int,
    *,
    groups: bool = True,
    dilation: bool = True,
    batch: bool = True,
) -> ConvSetup:
    """A convolution and its input, scaled by difficulty.

    1: round sizes, square, no groups or dilation. 2: AlexNet-like odd sizes, larger kernels
    and strides, a few groups. 3: odd channel counts, non-square inputs, dilation, more groups
    and (when ``batch``) a batch larger than one.
    """
    if difficulty == 1:
        k = rng.choice((1, 3, 3, 5, 7))
        size = rng.choice((8, 14, 16, 28, 32, 56, 64, 112, 224))
        return ConvSetup(
            in_channels=rng.choice((3, 16, 32, 64, 128)),
            out_channels=rng.choice((16, 32, 64, 128, 256)),
            kernel_size=k,
            stride=rng.choice((1, 1, 2)),
            padding=rng.choice((0, k // 2)),
            bias=rng.random() < 0.7,
            height=size,
            width=size,
        )
    if difficulty == 2:
        g = rng.choice((1, 1, 2, 4)) if groups else 1
        k = rng.choice((3, 5, 7, 11))
        size = rng.choice((13, 15, 27, 31, 55, 57, 63, 99, 227))
        return ConvSetup(
            in_channels=rng.choice(_divisible((3, 24, 48, 96, 192, 384), g)),
            out_channels=rng.choice((24, 48, 96, 192, 256, 384)),
            kernel_size=k,
            stride=rng.choice((1, 2, 3, 4)),
            padding=rng.randint(0, k // 2),
            groups=g,
            bias=rng.random() < 0.5,
            height=size,
            width=size,
        )
    g = rng.choice((1, 2, 3, 4, 6, 8)) if groups else 1
    k = rng.choice((1, 3, 3, 5, 7))
    d = rng.choice((1, 2, 3)) if dilation and k > 1 else 1
    span = d * (k - 1) + 1
    pad = rng.randint(0, (span - 1) // 2)
    # Inputs small enough to stay quick to read, large enough for the dilated window.
    lo = max(9, span - 2 * pad)
    return ConvSetup(
        in_channels=g * rng.randint(1, 40),
        out_channels=g * rng.randint(1, 48),
        kernel_size=k,
        stride=rng.choice((1, 2, 3, 4)),
        padding=pad,
        dilation=d,
        groups=g,
        bias=rng.random() < 0.5,
        height=rng.randint(lo, 160),
        width=rng.randint(lo, 160),
        batch=rng.choice((1, 2, 4, 8, 16, 32)) if batch else 1,
    )


_SIDE_FORMULA = "H_out = floor((H + 2·padding − dilation·(k − 1) − 1) / stride) + 1"
_PARAMS_FORMULA = "params = C_out·(C_in/groups)·k_h·k_w, plus C_out biases when bias=True"
_MACS_FORMULA = "MACs = H_out·W_out·C_out·(C_in/groups)·k_h·k_w for one sample"


def side_numbers(s: ConvSetup) -> str:
    """The numbers the output-size formula needs, for hints."""
    width = "" if s.width == s.height else f" (W = {s.width})"
    return (
        f"H = {s.height}{width}, padding = {s.padding}, dilation = {s.dilation}, "
        f"kernel {s.kh}×{s.kw}, stride = {s.stride}"
    )


def params_numbers(s: ConvSetup) -> str:
    """The numbers the parameter formula needs, for hints."""
    return (
        f"C_out = {s.out_channels}, C_in/groups = {s.in_channels}/{s.groups}, "
        f"k_h·k_w = {s.kh}·{s.kw}, bias={s.bias}"
    )


def _batch_scope(rng: random.Random, s: ConvSetup) -> tuple[bool, str]:
    """Whether a batch question asks for one sample, and the phrase that says which."""
    if s.batch == 1:
        return True, ""
    per_sample = rng.random() < 0.5
    if per_sample:
        return True, ", for ONE sample of the batch"
    return False, f", for the whole batch of {s.batch}"


def _batch_mistakes(truth: int | Fraction, batch: int, per_sample: bool) -> list[Mistake]:
    if batch == 1:
        return []
    if per_sample:
        return [COUNTED_BATCH.at(truth * batch)]
    return [FORGOT_BATCH.at(Fraction(truth) / batch)]


# -- output shape ---------------------------------------------------------------------------


def _output_shape(rng: random.Random, difficulty: int) -> Draft:
    s = draw_conv(rng, difficulty)
    prof = measure(s.build(), s.input_shape, s.batch)
    with_batch = s.batch > 1
    truth = prof.output_shape if with_batch else prof.output_shape[1:]
    spec = AnswerSpec.shape(batch=with_batch)
    prompt = (
        f"The convolution {s.text()} is applied to {s.input_text()}. What is the shape of its "
        f"output? {_FLOOR_RULE}"
    )
    c, ho, wo = truth[-3:]
    lines = [side_text("H", s.height, s.kh, s.stride, s.ph, s.dilation, ho)]
    if s.width == s.height:
        lines.append(f"W_out = {wo} likewise (square input)")
    else:
        lines.append(side_text("W", s.width, s.kw, s.stride, s.pw, s.dilation, wo))
    lines.append(f"C_out = out_channels = {c}")
    lead = (s.batch,) if with_batch else ()
    lines.append(f"Output shape = {expected_display(spec, truth)}")

    def alt(**changes: Any) -> tuple[int, ...] | None:
        args = {"stride": s.stride, "dilation": s.dilation}
        h = out_side(s.height, s.kh, padding=s.ph, **{**args, **changes})
        w = out_side(s.width, s.kw, padding=s.pw, **{**args, **changes})
        if h is None or w is None:
            return None
        return (*lead, c, h, w)

    def at(kind: Any, value: tuple[int, ...] | None, message: str | None = None) -> Mistake | None:
        return None if value is None else kind.at(value, message)

    no_pad_h = out_side(s.height, s.kh, s.stride, 0, s.dilation)
    no_pad_w = out_side(s.width, s.kw, s.stride, 0, s.dilation)
    no_pad = None if no_pad_h is None or no_pad_w is None else (*lead, c, no_pad_h, no_pad_w)
    candidates = [
        at(FORGOT_PADDING, no_pad if s.padding else None),
        at(CEIL_VS_FLOOR, alt(ceil=True)),
        at(OFF_BY_ONE, alt(plus_one=False), "This leaves out the +1 of the output-size formula."),
        at(FORGOT_DILATION, alt(dilation=1) if s.dilation > 1 else None),
        at(IGNORED_STRIDE, alt(stride=1) if s.stride > 1 else None),
        USED_IN_CHANNELS.at((*lead, s.in_channels, ho, wo)),
        BATCH_DIMENSION.at(truth[1:]) if with_batch else None,
    ]
    return Draft(
        prompt=prompt,
        params=s.params(),
        answer=spec,
        truth=truth,
        solution="; ".join(lines),
        mistakes=candidates,
        conventions=(_SHAPE_RULE, _FLOOR_RULE, BATCH_1),
        hints=(
            "Work out each spatial side on its own; the output has one channel per filter.",
            f"{_SIDE_FORMULA}, and likewise for W_out.",
            f"Here {side_numbers(s)}.",
        ),
    )


# -- parameters -----------------------------------------------------------------------------

_NON_SQUARE = ((1, 7), (7, 1), (1, 3), (3, 1), (1, 5), (5, 1), (3, 5), (5, 3))


def _params_setup(rng: random.Random, difficulty: int) -> tuple[ConvSetup, bool]:
    """A convolution for a parameter question, and whether its input is mentioned."""
    if difficulty == 1:
        k = rng.choice((1, 3, 3, 5, 7))
        s = ConvSetup(
            in_channels=rng.choice((3, 16, 32, 64, 128, 256)),
            out_channels=rng.choice((16, 32, 64, 128, 256, 512)),
            kernel_size=k,
            bias=rng.random() < 0.6,
            height=k,
            width=k,
        )
        return s, False
    s = draw_conv(rng, difficulty, batch=False)
    if difficulty == 3 and rng.random() < 0.35:
        # Factorised kernels (Inception v3's 1×7 and 7×1) make k_h·k_w more than k².
        kernel = rng.choice(_NON_SQUARE)
        s = ConvSetup(
            in_channels=s.in_channels,
            out_channels=s.out_channels,
            kernel_size=kernel,
            stride=s.stride,
            padding=(kernel[0] // 2, kernel[1] // 2),
            groups=s.groups,
            bias=s.bias,
            height=s.height,
            width=s.width,
        )
    return s, True


def params_solution(s: ConvSetup) -> str:
    """The parameter formula with the numbers put in (no display at the end)."""
    weights = (
        f"C_out·(C_in/groups)·k_h·k_w = {s.out_channels}·({s.in_channels}/{s.groups})·"
        f"{s.kh}·{s.kw} = {n(s.weights())}"
    )
    if s.bias:
        return (
            f"weights = {weights}; bias = C_out = {s.out_channels}; "
            f"total = {n(s.weights())} + {s.out_channels}"
        )
    return f"weights = {weights}; no bias (bias=False)"


def _params(rng: random.Random, difficulty: int) -> Draft:
    s, spatial = _params_setup(rng, difficulty)
    truth = param_count(s.build())
    spec = AnswerSpec.number("params", exact=True)
    prompt = f"How many learnable parameters does {s.text()} have?"
    if spatial:
        prompt += f" It is applied to {s.input_text()}."
    prompt += f" {PARAMS_RULE}"
    solution = params_solution(s)
    solution += f" = {expected_display(spec, truth)}"
    if spatial:
        solution = "The input size does not matter: parameters do not depend on it. " + solution
    weights_dense = s.out_channels * s.in_channels * s.kh * s.kw
    macs_instead = _macs_by_formula(s) if spatial else None
    bias = s.out_channels if s.bias else 0
    candidates = [
        FORGOT_BIAS.at(truth - s.out_channels) if s.bias else None,
        COUNTED_BIAS.at(truth + s.out_channels) if not s.bias else None,
        IGNORED_GROUPS.at(weights_dense + bias) if s.groups > 1 else None,
        GAVE_MACS.at(macs_instead) if macs_instead else None,
    ]
    return Draft(
        prompt=prompt,
        params=s.params(spatial=spatial),
        answer=spec,
        truth=truth,
        solution=solution,
        mistakes=candidates,
        conventions=(PARAMS_RULE,),
        hints=(
            "Parameters do not depend on the input: count one filter's weights, then every "
            "filter, then the biases.",
            f"{_PARAMS_FORMULA}.",
            f"Here {params_numbers(s)}.",
        ),
    )


def _macs_by_formula(s: ConvSetup) -> int | None:
    """H_out·W_out·weights, for the mistake of answering MACs to a parameter question."""
    ho = out_side(s.height, s.kh, s.stride, s.ph, s.dilation)
    wo = out_side(s.width, s.kw, s.stride, s.pw, s.dilation)
    return None if ho is None or wo is None else ho * wo * s.weights()


# -- MACs and FLOPs -------------------------------------------------------------------------


def _cost(rng: random.Random, difficulty: int, flops: bool) -> Draft:
    s = draw_conv(rng, difficulty, groups=difficulty > 1)
    per_sample, scope = _batch_scope(rng, s)
    nb = 1 if per_sample else s.batch
    prof = measure(s.build(), s.input_shape, nb)
    macs = prof.macs
    truth = prof.flops if flops else macs
    spec = AnswerSpec.number("flops" if flops else "macs", exact=True)
    _, c, ho, wo = prof.output_shape
    what = "FLOPs" if flops else "MACs"
    rule = f"{MACS_RULE} {FLOPS_RULE}" if flops else MACS_RULE
    prompt = f"How many {what} does {s.text()} perform on {s.input_text()}{scope}? {rule} {BATCH_1}"
    formula = (
        f"H_out = {ho}, W_out = {wo}; MACs = H_out·W_out·C_out·(C_in/groups)·k_h·k_w "
        f"= {ho}·{wo}·{c}·({s.in_channels}/{s.groups})·{s.kh}·{s.kw}"
    )
    if nb > 1:
        formula += f" per sample, × batch {nb}"
    if flops:
        formula += f" = {n(macs)} MACs; FLOPs = 2 × {n(macs)}"
    solution = f"{formula} = {expected_display(spec, truth)}"

    per_op = 2 if flops else 1
    bias_ops = c * ho * wo * nb * (1 if s.bias else 0)
    input_size = s.height * s.width * c * (s.in_channels // s.groups) * s.kh * s.kw * nb * per_op
    if flops:
        factor_mistakes = [
            MACS_VS_FLOPS.at(Fraction(truth, 2), "This is the MAC count; FLOPs = 2 × MACs."),
            MACS_VS_FLOPS.at(truth * 2, "This doubles twice: FLOPs = 2 × MACs, not 4 ×."),
        ]
    else:
        factor_mistakes = [
            MACS_VS_FLOPS.at(truth * 2, "This is the FLOP count (2 per MAC); MACs were asked."),
            MACS_VS_FLOPS.at(
                Fraction(truth, 2),
                "This halves the MACs: a MAC is already one multiply and one add.",
            ),
        ]
    candidates = [
        *factor_mistakes,
        COUNTED_BIAS_OPS.at(truth + bias_ops) if s.bias else None,
        IGNORED_GROUPS.at(truth * s.groups) if s.groups > 1 else None,
        USED_INPUT_SIZE.at(input_size),
        *_batch_mistakes(truth, s.batch, per_sample),
    ]
    return Draft(
        prompt=prompt,
        params={**s.params(), "per_sample": per_sample},
        answer=spec,
        truth=truth,
        solution=solution,
        mistakes=candidates,
        conventions=(MACS_RULE, FLOPS_RULE, BATCH_1) if flops else (MACS_RULE, BATCH_1),
        hints=(
            "Find the output's height and width first: each output value costs one filter's "
            "worth of multiply-accumulates.",
            f"{_MACS_FORMULA}" + ("; FLOPs = 2 × MACs." if flops else "."),
            f"Here H_out = {ho}, W_out = {wo}, {params_numbers(s).rsplit(',', 1)[0]}"
            + (f", and {nb} samples." if nb > 1 else "."),
        ),
    )


def _macs(rng: random.Random, difficulty: int) -> Draft:
    return _cost(rng, difficulty, flops=False)


def _flops(rng: random.Random, difficulty: int) -> Draft:
    return _cost(rng, difficulty, flops=True)


# -- activation memory ----------------------------------------------------------------------

_BINARY = {"KiB": 1, "MiB": 2}
_DECIMAL = {"KB": 1, "MB": 2}


def kib_vs_kb_value(truth: int | Fraction, unit: str) -> Fraction:
    """The answer of a student who used the other unit system's divisor with ``unit``'s name.

    "784 KiB" computed as bytes / 1000 and labelled KiB reads as bytes·1024/1000.
    """
    if unit in _BINARY:
        return Fraction(truth) * Fraction(1024, 1000) ** _BINARY[unit]
    return Fraction(truth) * Fraction(1000, 1024) ** _DECIMAL[unit]


def _memory(rng: random.Random, difficulty: int) -> Draft:
    s = draw_conv(rng, difficulty, groups=difficulty > 1)
    dtype = "float32" if difficulty == 1 else rng.choice(("float32", "float16", "bfloat16", "int8"))
    unit = rng.choice(("KiB", "KB") if difficulty == 1 else ("KiB", "KB", "MiB", "MB"))
    per_sample, scope = _batch_scope(rng, s)
    nb = 1 if per_sample else s.batch
    prof = measure(s.build(), s.input_shape, nb, dtype)
    truth = prof.activation_bytes
    bpe = prof.bytes_per_element
    spec = AnswerSpec.number("bytes", unit)
    elements = 1
    for d in prof.output_shape:
        elements *= d
    prompt = (
        f"The convolution {s.text()} is applied to {s.input_text()}, with {dtype} tensors. "
        f"How much activation memory does its output take{scope}, in {unit_phrase(unit)}? "
        f"{MEMORY_RULE} {UNITS_RULE} {BATCH_1}"
    )
    solution = (
        f"output shape {dims(prof.output_shape)} (N×C×H×W) = {n(elements)} elements; "
        f"× {bpe} B per {dtype} element = {n(truth)} B; in {unit}: {n(truth)} / "
        f"{n(unit_bytes(unit))} = {expected_display(spec, truth)}"
    )
    in_elements = nb * s.in_channels * s.height * s.width
    candidates = [
        KIB_VS_KB.at(kib_vs_kb_value(truth, unit)),
        BITS_VS_BYTES.at(truth * 8, "This counts bits (8 per byte); the question asks for bytes."),
        WRONG_DTYPE_SIZE.at(elements * 4, f"This uses 4 bytes per element; {dtype} takes {bpe}.")
        if bpe != 4
        else None,
        COUNTED_ELEMENTS.at(elements) if bpe != 1 else None,
        COUNTED_INPUT.at((in_elements + elements) * bpe),
        *_batch_mistakes(truth, s.batch, per_sample),
    ]
    return Draft(
        prompt=prompt,
        params={**s.params(), "dtype": dtype, "per_sample": per_sample},
        answer=spec,
        truth=truth,
        solution=solution,
        mistakes=candidates,
        conventions=(MEMORY_RULE, UNITS_RULE, BATCH_1),
        hints=(
            "Find the output shape first: the activation memory is the output tensor only.",
            f"bytes = N·C·H_out·W_out × bytes per element; then divide by 1 {unit} = "
            f"{n(unit_bytes(unit))} B.",
            f"The output is {dims(prof.output_shape)} (N×C×H×W), and {dtype} takes {bpe} B per "
            "element.",
        ),
    )


# -- step by step: output shape, parameters, MACs ---------------------------------------------


def _steps(rng: random.Random, difficulty: int) -> Draft:
    s = draw_conv(rng, difficulty, batch=False)
    layer = s.build()
    prof = measure(layer, s.input_shape)
    c, ho, wo = prof.output_shape[1:]
    truth: dict[str, Truth] = {
        "output": (c, ho, wo),
        "params": param_count(layer),
        "macs": prof.macs,
    }
    spec = AnswerSpec.multi({"output": AnswerSpec.shape(), "params": _P, "macs": _M})
    prompt = (
        f"Work through the convolution {s.text()} applied to {s.input_text()}, step by step: "
        f"(a) output, the shape of its output; (b) params, its learnable parameters; (c) macs, "
        f"the MACs of one forward pass. {_FLOOR_RULE} {PARAMS_RULE} {MACS_RULE}"
    )
    solution = "\n".join(
        [
            side_text("H", s.height, s.kh, s.stride, s.ph, s.dilation, ho)
            + ("" if s.width == s.height else f"; W_out = {wo}")
            + f"; output = {expected_display(AnswerSpec.shape(), truth['output'])}",
            f"{params_solution(s)} = {expected_display(_P, truth['params'])}",
            f"MACs = H_out·W_out·params without bias = {ho}·{wo}·{n(s.weights())} = "
            + expected_display(_M, truth["macs"]),
        ]
    )
    return Draft(
        prompt=prompt,
        params=s.params(spatial=True),
        answer=spec,
        truth=truth,
        solution=solution,
        mistakes=_steps_mistakes(s, truth),
        conventions=(_FLOOR_RULE, PARAMS_RULE, MACS_RULE, BATCH_1),
        hints=(
            "Start with the output size; the weights do not depend on it, the MACs do.",
            f"{_SIDE_FORMULA}; {_PARAMS_FORMULA}; MACs = H_out·W_out·(the weights, without "
            "the biases).",
            f"Here {side_numbers(s)}; {params_numbers(s)}.",
        ),
    )


_P = AnswerSpec.number("params", exact=True)
_M = AnswerSpec.number("macs", exact=True)


def _steps_mistakes(s: ConvSetup, truth: dict[str, Any]) -> list[Mistake | None]:
    c, ho, wo = truth["output"]
    h0 = out_side(s.height, s.kh, s.stride, 0, s.dilation)
    w0 = out_side(s.width, s.kw, s.stride, 0, s.dilation)
    no_pad = None
    if s.padding and h0 and w0:
        no_pad = FORGOT_PADDING.at({"output": (c, h0, w0), "macs": h0 * w0 * s.weights()})
    dense = s.out_channels * s.in_channels * s.kh * s.kw
    bias = s.out_channels if s.bias else 0
    return [
        no_pad,
        FORGOT_BIAS.at({"params": truth["params"] - bias}) if s.bias else None,
        COUNTED_BIAS.at({"params": truth["params"] + s.out_channels}) if not s.bias else None,
        IGNORED_GROUPS.at({"params": dense + bias, "macs": ho * wo * dense})
        if s.groups > 1
        else None,
        MACS_VS_FLOPS.at({"macs": 2 * truth["macs"]}, "This is the FLOP count; MACs were asked."),
        USED_INPUT_SIZE.at({"macs": s.height * s.width * s.weights()}),
        USED_IN_CHANNELS.at({"output": (s.in_channels, ho, wo)}),
    ]


def _family(fid: str, title: str, kind: str, generator: Any, seconds: float, *cards: str) -> Family:
    return Family(
        id=fid,
        topic=TOPIC,
        title=title,
        answer_kind=kind,
        generator=generator,
        expected_seconds=seconds,
        cards=cards,
    )


CONV_OUTPUT_SHAPE = _family(
    "conv_output_shape",
    "Output shape of a convolution",
    "shape",
    _output_shape,
    60.0,
    "conv-arithmetic-output-size-formula",
)
CONV_PARAMS = _family(
    "conv_params",
    "Parameters of a convolution",
    "number",
    _params,
    60.0,
    "conv-arithmetic-params-formula",
)
CONV_MACS = _family(
    "conv_macs", "MACs of a convolution", "number", _macs, 90.0, "conv-arithmetic-macs-formula"
)
CONV_FLOPS = _family(
    "conv_flops",
    "FLOPs of a convolution",
    "number",
    _flops,
    90.0,
    "conv-arithmetic-macs-formula",
    "conv-arithmetic-flops-vs-macs",
)
CONV_ACTIVATION_MEMORY = _family(
    "conv_activation_memory",
    "Activation memory of a convolution's output",
    "number",
    _memory,
    90.0,
    "conv-arithmetic-bytes-per-dtype",
    "conv-arithmetic-kib-vs-kb",
)
CONV_LAYER_STEPS = _family(
    "conv_layer_steps",
    "A convolution step by step: output shape, parameters, MACs",
    "parts",
    _steps,
    180.0,
    "conv-arithmetic-output-size-formula",
    "conv-arithmetic-params-formula",
    "conv-arithmetic-macs-formula",
)

FAMILIES: tuple[Family, ...] = (
    CONV_OUTPUT_SHAPE,
    CONV_PARAMS,
    CONV_MACS,
    CONV_FLOPS,
    CONV_ACTIVATION_MEMORY,
    CONV_LAYER_STEPS,
)
