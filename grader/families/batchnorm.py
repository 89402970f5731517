"""Batch normalisation at inference: folding BN into the convolution before it, and what a
conv + BN pair holds as parameters and as buffers before and after the fold.

The folded values come from torch's own fusion (``torch.nn.utils.fusion.fuse_conv_bn_eval``)
applied to a real ``nn.Conv2d`` and ``nn.BatchNorm2d`` holding the given numbers (float64, on
the CPU: one channel's worth of arithmetic); the counts from the pair built on the meta device
and fused there. The fold formulas live in the solutions, the mistakes and the tests.
"""

from __future__ import annotations

import math
import random
from fractions import Fraction
from typing import Any

import torch
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval

import models

from ..mistakes import COUNTED_BN_BUFFERS, FORGOT_BIAS, define
from ..question import Draft, Family
from ..types import AnswerSpec, Mistake
from ._base import PARAMS_RULE, call, expected_display, n, on_meta, param_count

__all__ = ["BN_FOLD_VALUES", "BN_PARAMS_BUFFERS", "FAMILIES", "fold_values"]

TOPIC = "batch-norm"

USED_VARIANCE = define(
    "used_variance",
    "This divides by the variance σ² + ε; BatchNorm divides by the standard deviation "
    "sqrt(σ² + ε).",
)
FORGOT_RUNNING_MEAN = define(
    "forgot_running_mean",
    "This leaves out the running mean: the folded bias is β + γ·(b − μ) / sqrt(σ² + ε).",
)
MEAN_SIGN = define(
    "mean_sign", "This adds the running mean; BatchNorm subtracts it: (b − μ), not (b + μ)."
)
FORGOT_SHIFT = define(
    "forgot_shift", "This leaves out BatchNorm's shift β, which the folded bias must carry."
)
UNSCALED_BIAS = define(
    "unscaled_bias",
    "This does not scale the conv bias and the mean by γ / sqrt(σ² + ε): both pass through "
    "the normalisation.",
)
FORGOT_GAMMA = define(
    "forgot_gamma", "This leaves out γ: the folded scale is γ / sqrt(σ² + ε), not 1 / sqrt(σ² + ε)."
)
FORGOT_NUM_BATCHES = define(
    "forgot_num_batches",
    "This leaves out num_batches_tracked, the one-element counter every BatchNorm2d also "
    "stores as a buffer.",
)
KEPT_BN_PARAMS = define(
    "kept_bn_params",
    "After folding, BatchNorm is gone: its γ and β live on only inside the conv's weights and "
    "its new bias.",
)
FORGOT_FOLDED_BIAS = define(
    "forgot_folded_bias",
    "The folded convolution needs a bias (one per output channel) even when the original had "
    "none: it carries β − γ·μ / sqrt(σ² + ε).",
)

_VARIANCES = ("0.04", "0.09", "0.16", "0.25", "0.36", "0.49", "0.64", "0.81", "1.44", "2.25", "4")
_FOLD_RULE = (
    "BatchNorm is in eval mode: it uses its running mean μ and running variance σ², "
    "y = γ·(z − μ) / sqrt(σ² + ε) + β per channel."
)


def _d(text: str) -> Fraction:
    return Fraction(text)


def fold_values(
    w: Fraction, b: Fraction, gamma: Fraction, beta: Fraction, mean: Fraction, var: Fraction,
    eps: Fraction,
) -> tuple[Fraction, Fraction]:  # fmt: skip
    """The folded weight and bias of one channel, by torch's ``fuse_conv_bn_eval`` on a real
    1→1 channel 1×1 convolution and BatchNorm2d(1) in float64 (12 significant figures kept)."""
    conv = nn.Conv2d(1, 1, 1, bias=True, dtype=torch.float64)
    bn = nn.BatchNorm2d(1, eps=float(eps), dtype=torch.float64)
    with torch.no_grad():
        conv.weight.fill_(float(w))
        conv.bias.fill_(float(b))  # type: ignore[union-attr]
        bn.weight.fill_(float(gamma))
        bn.bias.fill_(float(beta))
        bn.running_mean.fill_(float(mean))  # type: ignore[union-attr]
        bn.running_var.fill_(float(var))  # type: ignore[union-attr]
    fused = fuse_conv_bn_eval(conv.eval(), bn.eval())
    weight = float(fused.weight.item())
    bias = float(fused.bias.item())  # type: ignore[union-attr]
    return Fraction(f"{weight:.12g}"), Fraction(f"{bias:.12g}")


def _draw_fold(rng: random.Random, difficulty: int) -> dict[str, Any]:
    step = "0.1" if difficulty == 1 else "0.05"
    grid = [_d(step) * i for i in range(1, 21)]
    has_bias = difficulty > 1
    return {
        "in_channels": rng.choice((16, 32, 64, 128)),
        "out_channels": rng.choice((32, 64, 128, 256)),
        "kernel_size": rng.choice((1, 3)),
        "bias": has_bias,
        "w": rng.choice(grid[:10]),
        "b": rng.choice(grid[:8]) if has_bias else Fraction(0),
        "gamma": rng.choice(grid[4:16]),
        "beta": rng.choice(grid),
        "mean": rng.choice(grid[:12]),
        "var": _d(rng.choice(_VARIANCES)),
        "eps": _d("0.00001") if difficulty < 3 else rng.choice((_d("0.001"), _d("0.01"))),
    }


def _num(v: Fraction) -> str:
    return n(v)


_VALUE = AnswerSpec.ratio(0.005)  # a real number: within 0.5% of the true value


def _fold(rng: random.Random, difficulty: int) -> Draft:
    while True:  # a folded bias near 0 (or below) makes a relative tolerance meaningless
        p = _draw_fold(rng, difficulty)
        keys = ("w", "b", "gamma", "beta", "mean", "var", "eps")
        w, b, g, beta, mu, var, eps = (p[k] for k in keys)
        weight, bias = fold_values(w, b, g, beta, mu, var, eps)
        if bias >= Fraction(1, 20):
            break
    truth = {"weight": weight, "bias": bias}
    spec = AnswerSpec.multi({"weight": _VALUE, "bias": _VALUE})
    conv_text = call(
        "nn.Conv2d", p["in_channels"], p["out_channels"], kernel_size=p["kernel_size"],
        bias=p["bias"],
    )  # fmt: skip
    eps_text = f"{float(eps):g}"
    bias_text = f"its bias for that channel is b = {_num(b)}" if p["bias"] else "it has no bias"
    prompt = (
        f"{conv_text} is followed by nn.BatchNorm2d({p['out_channels']}, eps={eps_text}). For "
        f"one output channel, one weight of the convolution is w = {_num(w)} and {bias_text}; "
        f"the BatchNorm of that channel has γ = {_num(g)}, β = {_num(beta)}, running mean "
        f"μ = {_num(mu)} and running variance σ² = {_num(var)}. {_FOLD_RULE} Fold the "
        "BatchNorm into the convolution: (a) weight, the folded value of that weight; "
        "(b) bias, the folded convolution's bias for that channel."
    )
    std = math.sqrt(float(var + eps))
    scale = Fraction(f"{float(g) / std:.12g}")
    solution = (
        f"s = γ / sqrt(σ² + ε) = {_num(g)} / sqrt({_num(var)} + {eps_text}) = {n(scale)}; "
        f"weight = w·s = {_num(w)}·{n(scale)} = {expected_display(_VALUE, weight)}; "
        f"bias = β + s·(b − μ) = {_num(beta)} + {n(scale)}·({_num(b)} − {_num(mu)}) = "
        f"{expected_display(_VALUE, bias)}"
    )
    sd = Fraction(f"{std:.12g}")
    vv = var + eps
    mistakes: list[Mistake | None] = [
        USED_VARIANCE.at({"weight": w * g / vv, "bias": beta + g * (b - mu) / vv}),
        FORGOT_GAMMA.at({"weight": w / sd}),
        FORGOT_RUNNING_MEAN.at({"bias": beta + g * b / sd}),
        MEAN_SIGN.at({"bias": beta + g * (b + mu) / sd}),
        FORGOT_SHIFT.at({"bias": g * (b - mu) / sd}),
        UNSCALED_BIAS.at({"bias": beta + b - mu}),
        FORGOT_BIAS.at(
            {"bias": beta - g * mu / sd}, "This leaves out the convolution's own bias b, "
            "which passes through the normalisation too."
        ) if p["bias"] else None,
    ]  # fmt: skip
    return Draft(
        prompt=prompt,
        params={k: (str(v) if isinstance(v, Fraction) else v) for k, v in p.items()},
        answer=spec,
        truth=truth,
        solution=solution,
        mistakes=mistakes,
        conventions=(_FOLD_RULE,),
        hints=(
            "At inference BatchNorm is a fixed per-channel scale and shift; push the scale into "
            "the weights and collect everything else into the bias.",
            "s = γ / sqrt(σ² + ε); folded weight = w·s; folded bias = β + s·(b − μ).",
            "Compute the scale s once; the weight is then one product, the bias one "
            "difference, one product and one sum (each number is in the question).",
        ),
    )


# -- parameters against buffers ---------------------------------------------------------------

_EXACT_PARAMS = AnswerSpec.number("params", exact=True)
_BUFFERS = AnswerSpec.number("elements", exact=True)


def _pairs(rng: random.Random, difficulty: int) -> tuple[nn.Module, str, dict[str, Any]]:
    """The conv + BN module (on meta), how the prompt writes it, and its numbers."""
    if difficulty < 3:
        cin = rng.choice((3, 16, 24, 32, 48, 64, 96, 128))
        cout = rng.choice((16, 32, 64, 96, 128, 256))
        k = rng.choice((1, 3, 5, 7))
        bias = difficulty == 2 and rng.random() < 0.5
        conv = nn.Conv2d(cin, cout, k, padding=k // 2, bias=bias, device="meta")
        module = nn.Sequential(conv, nn.BatchNorm2d(cout, device="meta"))
        text = (
            f"{call('nn.Conv2d', cin, cout, kernel_size=k, padding=k // 2, bias=bias)} followed "
            f"by nn.BatchNorm2d({cout})"
        )
        return module, text, {"in_channels": cin, "out_channels": cout, "kernel_size": k,
                              "bias": bias}  # fmt: skip
    cin = rng.choice((16, 24, 32, 64, 96, 128, 160, 256))
    cout = rng.choice((24, 32, 64, 128, 192, 256, 320, 512))
    stride = rng.choice((1, 2))
    block: nn.Module = on_meta(models.DepthwiseSeparable, cin, cout, stride)
    text = (
        f"a MobileNet v1 depthwise separable block from {cin} to {cout} channels (stride "
        f"{stride}): a 3×3 depthwise convolution (groups={cin}, bias=False) + "
        f"BatchNorm2d({cin}) + ReLU, then a 1×1 convolution {cin}→{cout} (bias=False) + "
        f"BatchNorm2d({cout}) + ReLU"
    )
    return block, text, {"in_channels": cin, "out_channels": cout, "stride": stride,
                          "block": "depthwise_separable"}  # fmt: skip


def _fuse_all(module: nn.Module) -> nn.Module:
    """Every conv + BN pair of ``module`` folded by torch (on the meta device: shapes only)."""
    module.eval()
    convs = [m for m in module.modules() if isinstance(m, nn.Conv2d)]
    bns = [m for m in module.modules() if isinstance(m, nn.BatchNorm2d)]
    fused = [fuse_conv_bn_eval(c, b) for c, b in zip(convs, bns, strict=True)]
    return nn.ModuleList(fused)


def _params_buffers(rng: random.Random, difficulty: int) -> Draft:
    module, text, numbers = _pairs(rng, difficulty)
    params = param_count(module)
    buffers = sum(b.numel() for b in module.buffers())
    folded = param_count(_fuse_all(module))
    truth = {"params": params, "buffers": buffers, "folded": folded}
    spec = AnswerSpec.multi({"params": _EXACT_PARAMS, "buffers": _BUFFERS, "folded": _EXACT_PARAMS})
    bns = [m for m in module.modules() if isinstance(m, nn.BatchNorm2d)]
    convs = [m for m in module.modules() if isinstance(m, nn.Conv2d)]
    channels = sum(b.num_features for b in bns)
    conv_params = sum(param_count(c) for c in convs)
    conv_bias = sum(c.out_channels for c in convs if c.bias is not None)
    weights = conv_params - conv_bias
    prompt = (
        f"Take {text}, as PyTorch builds them. (a) params: how many learnable parameters? "
        f"(b) buffers: how many buffer elements (state saved with the model that is not "
        f"learnable)? (c) folded: how many parameters are left once every BatchNorm is folded "
        f"into the convolution before it for inference? {PARAMS_RULE}"
    )
    solution = (
        f"convolutions: {n(weights)} weights"
        + (f" + {conv_bias} biases" if conv_bias else "")
        + f"; BatchNorm: γ and β, 2 × {channels} = {2 * channels}; params = "
        f"{expected_display(_EXACT_PARAMS, params)}. Buffers: running mean and variance "
        f"(2 × {channels}) + one num_batches_tracked per BatchNorm ({len(bns)}) = "
        f"{expected_display(_BUFFERS, buffers)}. Folded: the weights stay, each conv gets one "
        f"bias per output channel ({channels}): {n(weights)} + {channels} = "
        f"{expected_display(_EXACT_PARAMS, folded)}"
    )
    mistakes = [
        COUNTED_BN_BUFFERS.at({"params": params + buffers - len(bns)}),
        COUNTED_BN_BUFFERS.at({"params": params + buffers}),
        FORGOT_NUM_BATCHES.at({"buffers": buffers - len(bns)}),
        KEPT_BN_PARAMS.at({"folded": folded + 2 * channels}),
        FORGOT_FOLDED_BIAS.at({"folded": weights}),
    ]
    return Draft(
        prompt=prompt,
        params=numbers,
        answer=spec,
        truth=truth,
        solution=solution,
        mistakes=mistakes,
        conventions=(PARAMS_RULE,),
        hints=(
            "List what each layer stores: weights and biases are parameters; BatchNorm's running "
            "statistics and its batch counter are buffers.",
            "BatchNorm2d(C): 2C parameters (γ, β) and 2C + 1 buffer elements; folding keeps the "
            "conv weights and gives each conv C_out biases.",
            # Each layer by its own width (givens of the prompt), never their total: the total
            # is half the buffer count, one step from the answer.
            "Here the BatchNorm layers are "
            + ", ".join(f"BatchNorm2d({b.num_features})" for b in bns)
            + ".",
        ),
    )


BN_FOLD_VALUES = Family(
    id="bn_fold_values",
    topic=TOPIC,
    title="Folding BatchNorm into a convolution: the new weight and bias",
    answer_kind="parts",
    generator=_fold,
    expected_seconds=180.0,
    cards=("batch-norm-folding", "batch-norm-inference"),
)
BN_PARAMS_BUFFERS = Family(
    id="bn_params_buffers",
    topic=TOPIC,
    title="Conv + BatchNorm: parameters, buffers, and parameters after folding",
    answer_kind="parts",
    generator=_params_buffers,
    expected_seconds=150.0,
    cards=("batch-norm-params-buffers", "batch-norm-folding", "batch-norm-no-conv-bias"),
)

FAMILIES: tuple[Family, ...] = (BN_FOLD_VALUES, BN_PARAMS_BUFFERS)
