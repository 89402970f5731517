"""Depthwise separable convolution (MobileNet v1): its parameters, and its cost against a
standard convolution (1/N + 1/K²), both read from layers built on the meta device."""

from __future__ import annotations

import random
from fractions import Fraction
from typing import Any

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
    MACS_RULE,
    PARAMS_RULE,
    call,
    expected_display,
    keep_mistakes,
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


def _params(rng: random.Random, difficulty: int) -> Draft:
    if difficulty == 3:
        # MobileNet v1's own block, BatchNorm and ReLU included, at a width multiplier.
        alpha = rng.choice((0.25, 0.5, 0.75, 1.0))
        cin = int(rng.choice((32, 64, 128, 256, 512, 1024)) * alpha)
        cout, k, stride, bias, with_bn = (
            int(cin * rng.choice((0.5, 1, 1.5, 2))),
            3,
            rng.choice((1, 2)),
            False,
            True,
        )
        with torch.device("meta"):
            block: nn.Module = models.DepthwiseSeparable(cin, cout, stride)
        truth = param_count(block)
        text = (
            f"MobileNet v1's depthwise separable block goes from {cin} to {cout} channels: "
            f"{_separable_text(cin, cout, k, stride, bias)}, each convolution followed by "
            "nn.BatchNorm2d and ReLU. How many learnable parameters does the block have?"
        )
    else:
        k = 3 if difficulty == 1 else rng.choice((3, 5, 7))
        pool = (
            (16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512, 1024)
            if difficulty == 1
            else (24, 40, 80, 96, 112, 144, 160, 192, 240, 320, 480, 576)
        )
        cin, cout = rng.choice(pool), rng.choice(pool)
        stride, bias, with_bn = 1, (difficulty == 2 and rng.random() < 0.5), False
        block = separable(cin, cout, k, stride, bias)
        truth = param_count(block)
        text = (
            "How many learnable parameters does the depthwise separable convolution "
            f"{_separable_text(cin, cout, k, stride, bias)} have?"
        )
    spec = AnswerSpec.number("params")
    bn_note = (
        " BatchNorm2d has a learnable scale and shift per channel; its running mean and "
        "variance are buffers."
        if with_bn
        else ""
    )
    prompt = f"{text} {PARAMS_RULE}{bn_note}"
    dw, pw = cin * k * k, cin * cout
    biases = cin + cout if bias else 0
    bn = 2 * (cin + cout) if with_bn else 0
    parts = [
        f"depthwise C_in·k·k = {cin}·{k}·{k} = {n(dw)}",
        f"pointwise C_in·C_out = {cin}·{cout} = {n(pw)}",
    ]
    if bias:
        parts.append(f"biases C_in + C_out = {cin} + {cout} = {n(biases)}")
    if with_bn:
        parts.append(f"BatchNorm 2·(C_in + C_out) = 2·({cin} + {cout}) = {n(bn)}")
    solution = f"{'; '.join(parts)}; total = {' + '.join(n(x) for x in (dw, pw, biases, bn) if x)}"
    solution += f" = {expected_display(spec, truth)}"
    candidates = [
        STANDARD_CONV.at(cout * cin * k * k + (cout if bias else 0) + (2 * cout if with_bn else 0)),
        IGNORED_GROUPS.at(truth - dw + cin * cin * k * k),
        FORGOT_POINTWISE.at(dw + (cin if bias else 0) + (2 * cin if with_bn else 0)),
        FORGOT_DEPTHWISE.at(pw + (cout if bias else 0) + (2 * cout if with_bn else 0)),
        FORGOT_BIAS.at(truth - biases) if bias else None,
        COUNTED_BIAS.at(truth + cin + cout) if not bias else None,
        COUNTED_BN_BUFFERS.at(truth + bn) if with_bn else None,
        FORGOT_BN.at(truth - bn) if with_bn else None,
    ]
    params: dict[str, Any] = {
        "in_channels": cin,
        "out_channels": cout,
        "kernel_size": k,
        "stride": stride,
        "groups": cin,
        "bias": bias,
        "batch_norm": with_bn,
    }
    return Draft(
        prompt=prompt,
        params=params,
        answer=spec,
        truth=truth,
        solution=solution,
        mistakes=keep_mistakes(spec, truth, candidates),
        conventions=(PARAMS_RULE,),
        hints=(
            "Count the two convolutions apart: the depthwise one has one k×k filter per "
            "channel, the pointwise one mixes channels with 1×1 filters.",
            "depthwise C_in·k·k + pointwise C_in·C_out"
            + (", plus biases C_in + C_out" if bias else "")
            + (", plus BatchNorm 2·(C_in + C_out)" if with_bn else "")
            + ".",
            f"Here C_in = {cin}, C_out = {cout}, k = {k}.",
        ),
    )


def _cost_ratio(rng: random.Random, difficulty: int) -> Draft:
    if difficulty == 1:
        k, stride, form = 3, 1, "kept"
        cin = rng.choice((16, 32, 48, 64, 96, 128, 256, 512))
        cout = rng.choice((32, 64, 96, 128, 192, 256, 512, 1024))
        size = rng.choice((7, 14, 28, 56, 112))
    elif difficulty == 2:
        k, stride, form = rng.choice((3, 5)), rng.choice((1, 2)), "kept"
        cin = rng.choice((24, 40, 96, 144, 160, 192, 320))
        cout = rng.choice((24, 40, 96, 144, 160, 192, 320, 960))
        size = rng.choice((7, 14, 28))
    else:
        k, stride = rng.choice((3, 5, 7)), rng.choice((1, 2))
        form = rng.choice(("kept", "times", "saved"))
        cin, cout = rng.randint(8, 1024), rng.randint(16, 1280)
        size = rng.randint(7, 60)
    standard = nn.Conv2d(cin, cout, k, stride, k // 2, bias=False, device="meta")
    p_std = measure(standard, (cin, size, size))
    p_sep = measure(separable(cin, cout, k, stride), (cin, size, size))
    dw_macs, pw_macs = p_sep.rows[0].macs, p_sep.rows[1].macs
    kept = Fraction(p_sep.macs, p_std.macs)
    std_text = call("nn.Conv2d", cin, cout, k, stride=stride, padding=k // 2, bias=False)
    scene = (
        f"The standard convolution {std_text} on a {cin}×{size}×{size} input is replaced by "
        f"the depthwise separable pair {_separable_text(cin, cout, k, stride, False)}."
    )
    if form == "kept":
        truth, spec = kept, AnswerSpec.ratio()
        ask = (
            "What is the ratio of the separable pair's MACs to the standard convolution's "
            "(separable ÷ standard)?"
        )
        last = f"separable ÷ standard = {n(p_sep.macs)} / {n(p_std.macs)}"
    elif form == "times":
        truth, spec = 1 / kept, AnswerSpec.ratio(unit="×")
        ask = (
            "How many times fewer MACs does the separable pair need than the standard convolution?"
        )
        last = f"standard ÷ separable = {n(p_std.macs)} / {n(p_sep.macs)}"
    else:
        truth, spec = 1 - kept, AnswerSpec.percent(0.5)
        ask = "What percentage of the standard convolution's MACs does the separable pair save?"
        last = f"saved = 1 − {n(p_sep.macs)} / {n(p_std.macs)}"
    prompt = f"{scene} {ask} {MACS_RULE}"
    _, _, ho, wo = p_std.output_shape
    solution = (
        f"H_out·W_out = {ho}·{wo}; standard: H_out·W_out·C_out·C_in·K² = {n(p_std.macs)}; "
        f"depthwise: H_out·W_out·C_in·K² = {n(dw_macs)}; pointwise: H_out·W_out·C_in·C_out = "
        f"{n(pw_macs)}; in closed form, separable ÷ standard = 1/C_out + 1/K² = 1/{cout} + "
        f"1/{k * k}; "
        f"{last} = {expected_display(spec, truth)}"
    )

    def as_form(kept_value: Fraction) -> Fraction:
        if form == "kept":
            return kept_value
        if form == "times":
            return 1 / kept_value
        return 1 - kept_value

    candidates: list[Mistake | None] = [
        INVERTED_RATIO.at(1 / truth) if truth else None,
        SAVED_VS_KEPT.at(1 - truth) if form != "times" else None,
        FORGOT_DEPTHWISE.at(as_form(Fraction(1, k * k))),
        FORGOT_POINTWISE.at(as_form(Fraction(1, cout))),
        USED_K_NOT_K2.at(as_form(Fraction(1, cout) + Fraction(1, k))),
    ]
    return Draft(
        prompt=prompt,
        params={
            "in_channels": cin,
            "out_channels": cout,
            "kernel_size": k,
            "stride": stride,
            "padding": k // 2,
            "height": size,
            "width": size,
            "form": form,
        },
        answer=spec,
        truth=truth,
        solution=solution,
        mistakes=keep_mistakes(spec, truth, candidates),
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
