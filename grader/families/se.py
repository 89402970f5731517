"""Squeeze-and-excitation: the parameters an SE block adds (2C²/r weights plus biases).

Truths come from ``models.SqueezeExcitation`` built on the meta device: global average pool,
FC C→C/r with bias, ReLU, FC C/r→C with bias, sigmoid, channel-wise rescaling.
"""

from __future__ import annotations

import random

from torch import nn

from models import SqueezeExcitation

from ..mistakes import define
from ..question import Draft, Family
from ..types import AnswerSpec
from ._block_util import (
    EXACT_OR_ROUNDED,
    PARAMS_RULE,
    block_counts,
    expected_display,
    keep_mistakes,
    n,
)

__all__ = ["SE_BLOCK_PARAMS"]

SE_FORGOT_BIAS = define(
    "se_forgot_bias",
    "This leaves out the biases of the two fully connected layers: C/r for the first, C for "
    "the second.",
)
SE_ONE_FC = define(
    "se_one_fc",
    "This counts one fully connected layer; the excitation has two: C→C/r, then C/r→C.",
)
SE_NO_REDUCTION = define(
    "se_no_reduction",
    "This ignores the reduction ratio: the first layer maps C channels to C/r, not to C.",
)
SE_REDUCTION_SQUARED = define(
    "se_reduction_squared",
    "Only one side of each weight matrix shrinks by r: the weights are C·(C/r) + (C/r)·C = "
    "2C²/r, not 2C²/r².",
)
SE_COUNTED_ONE_BLOCK = define(
    "se_counted_one_block",
    "This is one SE block; the stage has one after every residual block.",
)

_SPEC = AnswerSpec.number("params")
_RULES = (
    "The pooling, ReLU, sigmoid and the channel-wise multiplication have no parameters; both "
    "fully connected layers have a bias."
)
# SE-ResNet stages: (channels after the block, blocks) of SE-ResNet-50, and SE-ResNet-101's
# third stage.
_SE_RESNET_STAGES = (
    ("SE-ResNet-50", "conv2_x", 256, 3),
    ("SE-ResNet-50", "conv3_x", 512, 4),
    ("SE-ResNet-50", "conv4_x", 1024, 6),
    ("SE-ResNet-50", "conv5_x", 2048, 3),
    ("SE-ResNet-101", "conv4_x", 1024, 23),
)


def _se_blocks(channels: int, reduction: int, blocks: int) -> nn.Module:
    """One SE block, or a list of ``blocks`` of them (one per residual block of a stage)."""
    if blocks == 1:
        return SqueezeExcitation(channels, reduction)
    return nn.ModuleList(SqueezeExcitation(channels, reduction) for _ in range(blocks))


def _draft(rng: random.Random, difficulty: int) -> Draft:
    """One SE block at r = 16 (1), at another r (2), or all SE blocks of an SE-ResNet stage (3)."""
    blocks = 1
    net = where = ""
    if difficulty == 1:
        c, r = rng.choice((64, 128, 256, 512, 1024, 2048)), 16
    elif difficulty == 2:
        r = rng.choice((2, 4, 8, 16, 32))
        step = max(8, r)  # C a multiple of r (C/r channels) and of 8, as real widths are
        c = step * rng.randint(max(1, 32 // step), 2048 // step)
    else:
        net, stage, c, blocks = rng.choice(_SE_RESNET_STAGES)
        r = rng.choice((4, 8, 16, 32))
        where = (
            f"In {net}'s {stage} stage, each of the {blocks} residual blocks ends with an SE "
            f"block on its {c}-channel output. "
        )
    pre = "" if blocks == 1 else "0."
    k = block_counts(_se_blocks, (c, r, blocks), (f"{pre}fc1", f"{pre}fc2"))
    truth = k.total
    sq = c // r  # the squeezed width, as SqueezeExcitation computes it
    fc1, fc2 = k.parts[f"{pre}fc1"], k.parts[f"{pre}fc2"]
    block_text = (
        f"global average pool, FC {c}→C/r, ReLU, FC C/r→{c}, sigmoid, then each channel is "
        "scaled by its weight"
    )
    if blocks == 1:
        prompt = (
            f"A squeeze-and-excitation block acts on a feature map with C = {c} channels, "
            f"reduction ratio r = {r}: {block_text}. How many parameters does it add?"
        )
    else:
        prompt = (
            f"{where}Every SE block uses reduction ratio r = {r}: {block_text}. How many "
            "parameters do the SE blocks add to the stage in all?"
        )
    prompt += f" {_RULES} {PARAMS_RULE} {EXACT_OR_ROUNDED}"
    lines = [
        f"C/r = {c}/{r} = {sq}",
        f"FC1: {c}·{sq} + {sq} = {n(fc1)}",
        f"FC2: {sq}·{c} + {c} = {n(fc2)}",
    ]
    if blocks == 1:
        lines.append(f"total = 2·{c}²/{r} + {sq} + {c} = {expected_display(_SPEC, truth)}")
    else:
        lines.append(f"one SE block: {n(fc1)} + {n(fc2)} = {n(fc1 + fc2)}")
        lines.append(f"total = {blocks}·{n(fc1 + fc2)} = {expected_display(_SPEC, truth)}")
    per_block = [
        (SE_FORGOT_BIAS, fc1 + fc2 - sq - c),
        (SE_ONE_FC, fc1),
        (SE_ONE_FC, fc2),
        (SE_NO_REDUCTION, 2 * c * c + 2 * c),
        (SE_REDUCTION_SQUARED, 2 * c * c // (r * r) + sq + c),
    ]
    mistakes = [kind.at(value * blocks) for kind, value in per_block]
    if blocks > 1:
        mistakes.append(SE_COUNTED_ONE_BLOCK.at(fc1 + fc2))
    params: dict[str, object] = {"channels": c, "reduction": r, "bias": True}
    if blocks > 1:
        params |= {"architecture": net, "num_blocks": blocks}
    return Draft(
        prompt=prompt,
        params=params,
        answer=_SPEC,
        truth=truth,
        solution="\n".join(lines),
        mistakes=keep_mistakes(_SPEC, truth, mistakes),
        conventions=(PARAMS_RULE, _RULES),
    )


SE_BLOCK_PARAMS = Family(
    id="se_block_params",
    topic="senet",
    title="Parameters of a squeeze-and-excitation block",
    answer_kind="number",
    generator=_draft,
    expected_seconds=90.0,
)
