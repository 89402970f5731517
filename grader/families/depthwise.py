"""Depthwise separable convolution (MobileNet v1): its parameters, and its cost against a
standard convolution (1/N + 1/K²), both read from layers built on the meta device."""

from __future__ import annotations

import random
from dataclasses import dataclass
from fractions import Fraction

import torch
from torch import nn

import models

from ..mistakes import (
    COUNTED_BN_BUFFERS,
    FORGOT_BIAS,
    IGNORED_GROUPS,
    INVERTED_RATIO,
    define,
)
from ..question import Draft, Family
from ..types import AnswerSpec, Mistake
from ._base import (
    FORGOT_BN,
    FORMS,
    MACS_RULE,
    PARAMS_RULE,
    Comparison,
    call,
    expected_display,
    measure,
    n,
    param_count,
)
from .conv import COUNTED_BIAS
from .grouped import SAVED_VS_KEPT

__all__ = ["DEPTHWISE_SEPARABLE_PARAMS", "DEPTHWISE_SEPARABLE_COST_RATIO", "FAMILIES"]

TOPIC = "mobilenet-v1"

STANDARD_CONV = define(
    "standard_conv",
    "This is the standard convolution's count, C_out·C_in·k²; the separable version replaces it "
    "by a depthwise k×k and a pointwise 1×1 convolution.",
)
FORGOT_POINTWISE = define(
    "forgot_pointwise",
    "This leaves out the pointwise 1×1 convolution (C_in·C_out weights), which mixes channels.",
)
FORGOT_DEPTHWISE = define(
    "forgot_depthwise",
    "This leaves out the depthwise k×k convolution (C_in·k² weights, one filter per channel).",
)
USED_K_NOT_K2 = define(
    "used_k_not_k_squared",
    "This uses 1/K for the pointwise term; a K×K kernel has K² weights, so it is 1/K².",
)


def separable(cin: int, cout: int, k: int, stride: int = 1, bias: bool = False) -> nn.Sequential:
    """Depthwise k×k (groups = C_in) then pointwise 1×1, without BatchNorm, on meta."""
    return nn.Sequential(
        nn.Conv2d(cin, cin, k, stride, k // 2, groups=cin, bias=bias, device="meta"),
        nn.Conv2d(cin, cout, 1, bias=bias, device="meta"),
    )


def _separable_text(cin: int, cout: int, k: int, stride: int, bias: bool) -> str:
    dw = call("nn.Conv2d", cin, cin, k, stride=stride, padding=k // 2, groups=cin, bias=bias)
    pw = call("nn.Conv2d", cin, cout, 1, bias=bias)
    return f"{dw} followed by {pw}"


@dataclass(frozen=True)
class SeparableSetup:
    """A depthwise k×k then pointwise 1×1 pair, bare or as MobileNet v1's block (with BN)."""

    cin: int
    cout: int
    k: int = 3
    stride: int = 1
    bias: bool = False
    with_bn: bool = False  # MobileNet v1's own block: BatchNorm and ReLU after each conv

    def build(self) -> nn.Module:
        """The real module on the meta device."""
        if self.with_bn:
            with torch.device("meta"):
                return models.DepthwiseSeparable(self.cin, self.cout, self.stride)
        return separable(self.cin, self.cout, self.k, self.stride, self.bias)

    def question(self) -> str:
        """How the prompt asks for its parameters."""
        pair = _separable_text(self.cin, self.cout, self.k, self.stride, self.bias)
        if not self.with_bn:
            return (
                "How many learnable parameters does the depthwise separable convolution "
                f"{pair} have?"
            )
        return (
            f"MobileNet v1's depthwise separable block goes from {self.cin} to {self.cout} "
            f"channels: {pair}, each convolution followed by nn.BatchNorm2d and ReLU. How many "
            "learnable parameters does the block have? BatchNorm2d has a learnable scale and "
            "shift per channel; its running mean and variance are buffers."
        )

    def terms(self) -> tuple[int, int, int, int]:
        """(depthwise weights, pointwise weights, biases, BatchNorm γ and β) by the formula."""
        c, o = self.cin, self.cout
        return c * self.k**2, c * o, (c + o) if self.bias else 0, 2 * (c + o) if self.with_bn else 0


# (C_in, C_out) of MobileNet v1's separable blocks, and of the wider or narrower variants a
# designer might try: every pair of the paper's widths with C_out from C_in/2 to 2·C_in.
_V1_WIDTHS = (32, 64, 128, 256, 512, 1024)
_V1_PAIRS = tuple(
    (a, b) for a in _V1_WIDTHS for b in (*_V1_WIDTHS, 96, 192, 384, 768) if a // 2 <= b <= 2 * a
)


def _draw_separable(rng: random.Random, difficulty: int) -> SeparableSetup:
    """1: 3×3 on round widths; 2: 3×3 to 7×7, MobileNet v2-like widths, bias or not;
    3: MobileNet v1's block with BatchNorm, at a width multiplier."""
    if difficulty == 3:  # MobileNet v1's widths (Table 1) at the paper's multipliers
        alpha = rng.choice((0.25, 0.5, 0.75, 1.0))
        cin, cout = rng.choice(_V1_PAIRS)
        return SeparableSetup(
            int(cin * alpha), int(cout * alpha), 3, rng.choice((1, 2)), False, True
        )
    pool = (
        (16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512, 1024)
        if difficulty == 1
        else (24, 40, 80, 96, 112, 144, 160, 192, 240, 320, 480, 576)
    )
    k = 3 if difficulty == 1 else rng.choice((3, 5, 7))
    return SeparableSetup(
        rng.choice(pool), rng.choice(pool), k, 1, difficulty == 2 and rng.random() < 0.5
    )


def _params(rng: random.Random, difficulty: int) -> Draft:
    s = _draw_separable(rng, difficulty)
    truth = param_count(s.build())
    spec = AnswerSpec.number("params", exact=True)
    dw, pw, biases, bn = s.terms()
    parts = [
        f"depthwise C_in·k·k = {s.cin}·{s.k}·{s.k} = {n(dw)}",
        f"pointwise C_in·C_out = {s.cin}·{s.cout} = {n(pw)}",
    ]
    if s.bias:
        parts.append(f"biases C_in + C_out = {s.cin} + {s.cout} = {n(biases)}")
    if s.with_bn:
        parts.append(f"BatchNorm 2·(C_in + C_out) = 2·({s.cin} + {s.cout}) = {n(bn)}")
    terms = " + ".join(n(x) for x in (dw, pw, biases, bn) if x)
    return Draft(
        prompt=f"{s.question()} {PARAMS_RULE}",
        params={
            "in_channels": s.cin,
            "out_channels": s.cout,
            "kernel_size": s.k,
            "stride": s.stride,
            "groups": s.cin,
            "bias": s.bias,
            "batch_norm": s.with_bn,
        },
        answer=spec,
        truth=truth,
        solution=f"{'; '.join(parts)}; total = {terms} = {expected_display(spec, truth)}",
        mistakes=_params_mistakes(s, truth),
        conventions=(PARAMS_RULE,),
        hints=(
            "Count the two convolutions apart: the depthwise one has one k×k filter per "
            "channel, the pointwise one mixes channels with 1×1 filters.",
            "depthwise C_in·k·k + pointwise C_in·C_out"
            + (", plus biases C_in + C_out" if s.bias else "")
            + (", plus BatchNorm 2·(C_in + C_out)" if s.with_bn else "")
            + ".",
            f"Here C_in = {s.cin}, C_out = {s.cout}, k = {s.k}.",
        ),
    )


def _params_mistakes(s: SeparableSetup, truth: int) -> list[Mistake | None]:
    dw, pw, biases, bn = s.terms()
    c, o, k = s.cin, s.cout, s.k

    def extras(channels: int) -> int:  # the bias and BatchNorm of a layer with this width
        return (channels if s.bias else 0) + (2 * channels if s.with_bn else 0)

    return [
        STANDARD_CONV.at(o * c * k * k + extras(o)),
        IGNORED_GROUPS.at(truth - dw + c * c * k * k),
        FORGOT_POINTWISE.at(dw + extras(c)),
        FORGOT_DEPTHWISE.at(pw + extras(o)),
        FORGOT_BIAS.at(truth - biases) if s.bias else None,
        COUNTED_BIAS.at(truth + c + o) if not s.bias else None,
        COUNTED_BN_BUFFERS.at(truth + bn) if s.with_bn else None,
        FORGOT_BN.at(truth - bn) if s.with_bn else None,
    ]


def _draw_ratio(rng: random.Random, difficulty: int) -> tuple[SeparableSetup, int, str]:
    """(the pair, the input side, the form asked): 3×3 on round widths, the fraction kept
    (1); MobileNet v2-like widths, 3×3 or 5×5, stride 1 or 2 (2); anything, any form (3)."""
    if difficulty == 1:
        cin = rng.choice((16, 32, 48, 64, 96, 128, 256, 512))
        cout = rng.choice((32, 64, 96, 128, 192, 256, 512, 1024))
        return SeparableSetup(cin, cout), rng.choice((7, 14, 28, 56, 112)), "kept"
    if difficulty == 2:
        cin = rng.choice((24, 40, 96, 144, 160, 192, 320))
        cout = rng.choice((24, 40, 96, 144, 160, 192, 320, 960))
        setup = SeparableSetup(cin, cout, rng.choice((3, 5)), rng.choice((1, 2)))
        return setup, rng.choice((7, 14, 28)), "kept"
    setup = SeparableSetup(
        rng.randint(8, 1024), rng.randint(16, 1280), rng.choice((3, 5, 7)), rng.choice((1, 2))
    )
    return setup, rng.randint(7, 60), rng.choice(FORMS)


def _cost_ratio(rng: random.Random, difficulty: int) -> Draft:
    s, size, form = _draw_ratio(rng, difficulty)
    cin, cout, k = s.cin, s.cout, s.k
    standard = nn.Conv2d(cin, cout, k, s.stride, k // 2, bias=False, device="meta")
    p_std, p_sep = measure(standard, (cin, size, size)), measure(s.build(), (cin, size, size))
    cmp = Comparison(form, p_sep.macs, p_std.macs, "separable", "standard")
    truth, spec = cmp.as_form(cmp.kept), cmp.spec
    std_text = call("nn.Conv2d", cin, cout, k, stride=s.stride, padding=k // 2, bias=False)
    prompt = (
        f"The standard convolution {std_text} on a {cin}×{size}×{size} input is replaced by "
        f"the depthwise separable pair {_separable_text(cin, cout, k, s.stride, False)}. "
        f"{cmp.ask('MACs', 'the separable pair', 'the standard convolution')} {MACS_RULE}"
    )
    _, _, ho, wo = p_std.output_shape
    solution = (
        f"H_out·W_out = {ho}·{wo}; standard: H_out·W_out·C_out·C_in·K² = {n(p_std.macs)}; "
        f"depthwise: H_out·W_out·C_in·K² = {n(p_sep.rows[0].macs)}; pointwise: "
        f"H_out·W_out·C_in·C_out = {n(p_sep.rows[1].macs)}; in closed form, separable ÷ "
        f"standard = 1/C_out + 1/K² = 1/{cout} + 1/{k * k}; {cmp.last_step()} = "
        f"{expected_display(spec, truth)}"
    )
    candidates: list[Mistake | None] = [
        INVERTED_RATIO.at(1 / truth) if truth else None,
        SAVED_VS_KEPT.at(1 - truth) if form != "times" else None,
        FORGOT_DEPTHWISE.at(cmp.as_form(Fraction(1, k * k))),
        FORGOT_POINTWISE.at(cmp.as_form(Fraction(1, cout))),
        USED_K_NOT_K2.at(cmp.as_form(Fraction(1, cout) + Fraction(1, k))),
    ]
    return Draft(
        prompt=prompt,
        params={
            "in_channels": cin,
            "out_channels": cout,
            "kernel_size": k,
            "stride": s.stride,
            "padding": k // 2,
            "height": size,
            "width": size,
            "form": form,
        },
        answer=spec,
        truth=truth,
        solution=solution,
        mistakes=candidates,
        conventions=(MACS_RULE,),
        hints=(
            "Both layers see the same output positions: compare the work per position.",
            "standard H_out·W_out·C_out·C_in·K²; depthwise H_out·W_out·C_in·K²; pointwise "
            "H_out·W_out·C_in·C_out; so separable ÷ standard = 1/C_out + 1/K².",
            f"Here C_out = {cout} and K = {k}.",
        ),
    )


DEPTHWISE_SEPARABLE_PARAMS = Family(
    id="depthwise_separable_params",
    topic=TOPIC,
    title="Parameters of a depthwise separable convolution",
    answer_kind="number",
    generator=_params,
    expected_seconds=75.0,
    cards=("mobilenet-v1-depthwise-separable", "mobilenet-v1-params-example"),
)
DEPTHWISE_SEPARABLE_COST_RATIO = Family(
    id="depthwise_separable_cost_ratio",
    topic=TOPIC,
    title="Cost of a depthwise separable against a standard convolution",
    answer_kind="number",
    generator=_cost_ratio,
    expected_seconds=75.0,
    cards=("mobilenet-v1-cost-ratio", "mobilenet-v1-cost-example"),
)

FAMILIES: tuple[Family, ...] = (DEPTHWISE_SEPARABLE_PARAMS, DEPTHWISE_SEPARABLE_COST_RATIO)
