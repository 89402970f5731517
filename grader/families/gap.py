"""Global average pooling against a flattening classifier head: the parameters GAP saves.

Both heads are built on the meta device and their parameters counted; the answer is the
difference, N·C·(H·W − 1) in closed form (the biases cancel).
"""

from __future__ import annotations

import random

from torch import nn

from ..mistakes import define
from ..question import Draft, Family
from ..types import AnswerSpec
from ._base import PARAMS_RULE, dims, expected_display, n, param_count

__all__ = ["flatten_head", "gap_head", "GAP_VS_FC_PARAMS_SAVED", "FAMILIES"]

TOPIC = "global-avg-pooling"

GAVE_FC_PARAMS = define(
    "gave_fc_params",
    "This is the flatten head's parameter count; the question asks how many GAP saves, the "
    "difference between the two heads.",
)
GAVE_GAP_PARAMS = define(
    "gave_gap_params",
    "This is the GAP head's parameter count; the question asks for the difference between "
    "the two heads.",
)
BIAS_NOT_CANCELLED = define(
    "bias_not_cancelled",
    "This counts the bias in one head only; both heads have N biases, which cancel.",
)
USED_ONE_SIDE = define(
    "used_one_side",
    "This uses one spatial side; flattening C×H×W gives C·H·W features.",
)


def flatten_head(c: int, h: int, w: int, classes: int, bias: bool) -> nn.Sequential:
    """Flatten the C×H×W map and classify it with one fully connected layer (meta device)."""
    return nn.Sequential(nn.Flatten(), nn.Linear(c * h * w, classes, bias, device="meta"))


def gap_head(c: int, classes: int, bias: bool) -> nn.Sequential:
    """Global average pooling, then a fully connected layer on the C averages (meta device)."""
    return nn.Sequential(
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(c, classes, bias, device="meta")
    )


def _draw(rng: random.Random, difficulty: int) -> tuple[int, int, int, int, bool]:
    if difficulty == 1:
        side = rng.choice((4, 5, 6, 7, 7, 8))
        c = rng.choice((256, 512, 768, 1024, 1280, 1536, 2048))
        return c, side, side, rng.choice((10, 100, 200, 1000)), rng.random() < 0.7
    if difficulty == 2:
        side = rng.choice((4, 5, 6, 7, 8, 13, 14))
        c = rng.choice((384, 512, 640, 768, 1024, 1280))
        return c, side, side, rng.choice((10, 37, 100, 200, 1000)), rng.random() < 0.7
    return (
        rng.choice((96, 160, 320, 464, 576, 960, 1024, 1536)),
        rng.randint(3, 14),
        rng.randint(3, 14),
        rng.randint(2, 2000),
        rng.random() < 0.5,
    )


def _saved(rng: random.Random, difficulty: int) -> Draft:
    c, h, w, classes, bias = _draw(rng, difficulty)
    fc = param_count(flatten_head(c, h, w, classes, bias))
    gap = param_count(gap_head(c, classes, bias))
    truth = fc - gap
    spec = AnswerSpec.number("params", exact=True)
    with_bias = "with bias" if bias else "without bias"
    prompt = (
        f"A classifier head maps a {dims((c, h, w))} feature map (C×H×W) to {classes} "
        f"classes. Head A flattens the map and applies one fully connected layer ({with_bias}). "
        f"Head B applies global average pooling (nn.AdaptiveAvgPool2d(1)), flattens, and "
        f"applies one fully connected layer ({with_bias}). How many parameters does head B "
        f"save compared with head A (A − B)? {PARAMS_RULE}"
    )
    b = classes if bias else 0
    solution = (
        f"A: C·H·W·N{' + N' if bias else ''} = {c}·{h}·{w}·{classes}"
        f"{f' + {classes}' if bias else ''} = {n(fc)}; B: GAP has no parameters, the layer has "
        f"C·N{' + N' if bias else ''} = {c}·{classes}{f' + {classes}' if bias else ''} = "
        f"{n(gap)}; A − B = N·C·(H·W − 1) = {classes}·{c}·({h * w} − 1) = "
        f"{expected_display(spec, truth)}"
    )
    candidates = [
        GAVE_FC_PARAMS.at(fc),
        GAVE_GAP_PARAMS.at(gap),
        BIAS_NOT_CANCELLED.at(truth + b) if bias else None,
        USED_ONE_SIDE.at(classes * c * (h - 1)),
    ]
    return Draft(
        prompt=prompt,
        params={
            "in_channels": c,
            "height": h,
            "width": w,
            "out_features": classes,
            "bias": bias,
        },
        answer=spec,
        truth=truth,
        solution=solution,
        mistakes=candidates,
        conventions=(PARAMS_RULE,),
        hints=(
            "Count each head's parameters; pooling has none, so only the two linear layers differ.",
            "A linear layer has in_features·out_features weights (+ out_features biases); "
            "head A's in_features is C·H·W, head B's is C.",
            f"Here C = {c}, H·W = {h}·{w}, N = {classes} classes"
            + (", and both heads have biases." if bias else "."),
        ),
    )


GAP_VS_FC_PARAMS_SAVED = Family(
    id="gap_vs_fc_params_saved",
    topic=TOPIC,
    title="Parameters saved by global average pooling",
    answer_kind="number",
    generator=_saved,
    expected_seconds=90.0,
    cards=("global-avg-pooling-vgg-fc6", "global-avg-pooling-what"),
)

FAMILIES: tuple[Family, ...] = (GAP_VS_FC_PARAMS_SAVED,)
