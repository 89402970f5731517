"""Squeeze-and-excitation: the parameters an SE block adds (2C²/r weights plus biases), and
its parameters and MACs together.

Truths come from ``models.SqueezeExcitation`` built on the meta device: global average pool,
FC C→C/r with bias, ReLU, FC C/r→C with bias, sigmoid, channel-wise rescaling. Parameters are
counted on the module, MACs profiled (only the two linear layers multiply-accumulate).
"""

from __future__ import annotations

import random

from torch import nn

from models import SqueezeExcitation

from ..mistakes import MACS_VS_FLOPS, define
from ..question import Draft, Family
from ..types import AnswerSpec, Mistake
from ._base import (
    BATCH_1,
    MACS_RULE,
    PARAMS_RULE,
    block_counts,
    expected_display,
    measure_block,
    n,
    on_meta,
)

__all__ = ["SE_BLOCK_PARAMS", "SE_BLOCK_COST", "FAMILIES"]

TOPIC = "senet"

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
    "This counts one SE block per stage; there is one after every residual block.",
)

_SPEC = AnswerSpec.number("params", exact=True)
_RULES = (
    "The pooling, ReLU, sigmoid and the channel-wise multiplication have no parameters; both "
    "fully connected layers have a bias."
)
# SE-ResNet stages: (network, stage, channels after each residual block, blocks), from the
# ResNet paper's Table 1 (basic blocks for 18 and 34 layers, bottlenecks from 50 on).
_DEPTHS = {
    "SE-ResNet-18": ((64, 128, 256, 512), (2, 2, 2, 2)),
    "SE-ResNet-34": ((64, 128, 256, 512), (3, 4, 6, 3)),
    "SE-ResNet-50": ((256, 512, 1024, 2048), (3, 4, 6, 3)),
    "SE-ResNet-101": ((256, 512, 1024, 2048), (3, 4, 23, 3)),
    "SE-ResNet-152": ((256, 512, 1024, 2048), (3, 8, 36, 3)),
}
_SE_RESNET_STAGES = tuple(
    (net, f"conv{i + 2}_x", c, blocks)
    for net, (widths, counts) in _DEPTHS.items()
    for i, (c, blocks) in enumerate(zip(widths, counts, strict=True))
)  # (network, stage, channels, blocks)


def _se_blocks(stages: tuple[tuple[int, int], ...], reduction: int) -> nn.Module:
    """One SE block per residual block: ``stages`` is ((channels, blocks), ...)."""
    return nn.ModuleList(
        SqueezeExcitation(c, reduction) for c, blocks in stages for _ in range(blocks)
    )


def _one_block(c: int, r: int) -> tuple[int, int]:
    """(FC1, FC2) parameters of one real SE block."""
    k = block_counts(SqueezeExcitation, (c, r), ("fc1", "fc2"))
    return k.parts["fc1"], k.parts["fc2"]


def _draft(rng: random.Random, difficulty: int) -> Draft:
    """One SE block at r = 16 (1), at another r (2), or all the SE blocks of one or more
    consecutive stages of an SE-ResNet (3)."""
    if difficulty == 3:
        return _stages_draft(rng)
    if difficulty == 1:
        c, r = 16 * rng.randint(2, 128), 16
    else:
        r = rng.choice((2, 4, 8, 16, 32))
        step = max(8, r)  # C a multiple of r (C/r channels) and of 8, as real widths are
        c = step * rng.randint(max(1, 32 // step), 2048 // step)
    truth = block_counts(SqueezeExcitation, (c, r)).total
    fc1, fc2 = _one_block(c, r)
    sq = c // r  # the squeezed width, as SqueezeExcitation computes it
    prompt = (
        f"A squeeze-and-excitation block acts on a feature map with C = {c} channels, "
        f"reduction ratio r = {r}: {_block_text(c)}. How many parameters does it add? "
        f"{_RULES} {PARAMS_RULE}"
    )
    lines = [
        f"C/r = {c}/{r} = {sq}",
        f"FC1: {c}·{sq} + {sq} = {n(fc1)}",
        f"FC2: {sq}·{c} + {c} = {n(fc2)}",
        f"total = 2·{c}²/{r} + {sq} + {c} = {expected_display(_SPEC, truth)}",
    ]
    return Draft(
        prompt=prompt,
        params={"channels": c, "reduction": r, "bias": True},
        answer=_SPEC,
        truth=truth,
        solution="\n".join(lines),
        mistakes=_per_block_mistakes(((c, 1),), r),
        conventions=(PARAMS_RULE, _RULES),
        hints=_HINTS + (f"Here C = {c} and r = {r}.",),
    )


_HINTS = (
    "Only the two fully connected layers have parameters: C→C/r, then C/r→C.",
    "A linear layer a→b with bias has a·b + b parameters; together 2C²/r + C/r + C.",
)


def _block_text(c: int | str) -> str:
    return (
        f"global average pool, FC {c}→C/r, ReLU, FC C/r→{c}, sigmoid, then each channel is "
        "scaled by its weight"
    )


def _per_block_mistakes(stages: tuple[tuple[int, int], ...], r: int) -> list[Mistake]:
    """Each per-block mistake, summed over every SE block of ``stages``."""
    per_block = {
        SE_FORGOT_BIAS: lambda c: 2 * c * (c // r),
        SE_NO_REDUCTION: lambda c: 2 * c * c + 2 * c,
        SE_REDUCTION_SQUARED: lambda c: 2 * c * c // (r * r) + c // r + c,
    }
    out = [kind.at(sum(b * f(c) for c, b in stages)) for kind, f in per_block.items()]
    out.append(SE_ONE_FC.at(sum(b * _one_block(c, r)[0] for c, b in stages)))
    out.append(SE_ONE_FC.at(sum(b * _one_block(c, r)[1] for c, b in stages)))
    return out


def _stages_draft(rng: random.Random) -> Draft:
    net = rng.choice(tuple(_DEPTHS))
    widths, counts = _DEPTHS[net]
    first = rng.randrange(4)
    last = rng.randrange(first, 4)
    stages = tuple(zip(widths, counts, strict=True))[first : last + 1]
    r = rng.choice((2, 4, 8, 16, 32, 64))
    names = [f"conv{i + 2}_x" for i in range(first, last + 1)]
    truth = block_counts(_se_blocks, (stages, r)).total
    listing = "; ".join(
        f"{name}: {b} blocks of {c} channels" for name, (c, b) in zip(names, stages, strict=True)
    )
    prompt = (
        f"In {net}, every residual block ends with an SE block (r = {r}) on its output: "
        f"{_block_text('C')}. {listing}. How many parameters do the SE blocks of "
        f"{' to '.join(dict.fromkeys((names[0], names[-1])))} add in all? {_RULES} {PARAMS_RULE}"
    )
    lines = [
        f"{name}: {b}·({c}·{c // r} + {c // r} + {c // r}·{c} + {c}) = "
        f"{n(b * sum(_one_block(c, r)))}"
        for name, (c, b) in zip(names, stages, strict=True)
    ]
    lines.append(f"total = {expected_display(_SPEC, truth)}")
    mistakes = _per_block_mistakes(stages, r)
    mistakes.append(SE_COUNTED_ONE_BLOCK.at(sum(sum(_one_block(c, r)) for c, _ in stages)))
    return Draft(
        prompt=prompt,
        params={
            "architecture": net,
            "reduction": r,
            "bias": True,
            "stages": [list(stage) for stage in stages],
        },
        answer=_SPEC,
        truth=truth,
        solution="\n".join(lines),
        mistakes=mistakes,
        conventions=(PARAMS_RULE, _RULES),
        hints=_HINTS
        + (
            "Count one SE block per residual block, stage by stage: the width C "
            "changes from stage to stage.",
        ),
    )


# -- parameters and MACs of one SE block -----------------------------------------------------

SE_SCALED_BY_AREA = define(
    "se_scaled_by_area",
    "The two fully connected layers act on the pooled C-vector, once per image: their MACs do "
    "not grow with H·W.",
)
SE_COUNTED_ELEMENTWISE = define(
    "se_counted_elementwise",
    "This counts the pooling or the channel-wise rescaling (C·H·W each); by convention they "
    "cost 0 MACs: only the fully connected layers multiply-accumulate.",
)


# Said in the prompt: a multiplication of each element by its channel's weight is a multiply
# with nothing to accumulate, which the MAC rule above does not name (66,816 against 10,368 was
# defensible without it).
_RESCALE_RULE = (
    "The channel-wise rescaling (one multiply per element, nothing accumulated) also costs 0 "
    "MACs, as torch's flop counter has it."
)


def _cost_draft(rng: random.Random, difficulty: int) -> Draft:
    """One SE block's parameters and MACs: r = 16 (1), any r (2), on the stage widths of an
    SE-ResNet at their resolution (3)."""
    side = rng.choice((7, 14, 28, 56))
    if difficulty == 3:  # a stage of an SE-ResNet, at one of four input resolutions
        net, stage, c, _ = rng.choice(_SE_RESNET_STAGES)
        res = rng.choice((224, 192, 160, 128))
        side = {"conv2_x": 4, "conv3_x": 8, "conv4_x": 16, "conv5_x": 32}[stage]
        side = res // side
        r = rng.choice((2, 4, 8, 16, 32, 64))
    else:
        r = 16 if difficulty == 1 else rng.choice((2, 4, 8, 16, 32))
        c = max(8, r) * rng.randint(max(1, 32 // max(8, r)), 1024 // max(8, r))
    block = on_meta(SqueezeExcitation, c, r)
    truth = {
        "params": block_counts(SqueezeExcitation, (c, r)).total,
        "macs": measure_block(block, (c, side, side)).macs,
    }
    spec = AnswerSpec.multi({"params": _SPEC, "macs": AnswerSpec.number("macs")})
    sq = c // r
    prompt = (
        f"A squeeze-and-excitation block (reduction ratio r = {r}) acts on a {c}×{side}×{side} "
        f"feature map: global average pool, FC {c}→C/r with bias, ReLU, FC C/r→{c} with "
        f"bias, sigmoid, then each channel is scaled by its weight. Give (a) params, its "
        f"parameters; (b) macs, its MACs for one image. {_RULES} {PARAMS_RULE} {MACS_RULE} "
        f"{_RESCALE_RULE} {BATCH_1}"
    )
    solution = (
        f"C/r = {c}/{r} = {sq}\nparams = {c}·{sq} + {sq} + {sq}·{c} + {c} = "
        f"{expected_display(_SPEC, truth['params'])}\nmacs = {c}·{sq} + {sq}·{c} (on the "
        f"pooled vector; pooling and rescaling 0) = "
        + expected_display(spec.part_specs["macs"], truth["macs"])
    )
    macs = truth["macs"]
    mistakes: list[Mistake | None] = [
        SE_FORGOT_BIAS.at({"params": truth["params"] - sq - c}),
        SE_NO_REDUCTION.at({"params": 2 * c * c + 2 * c, "macs": 2 * c * c}),
        SE_SCALED_BY_AREA.at({"macs": macs * side * side}),
        SE_COUNTED_ELEMENTWISE.at({"macs": macs + c * side * side}),
        MACS_VS_FLOPS.at({"macs": 2 * macs}, "This is the FLOP count; MACs were asked."),
    ]
    return Draft(
        prompt=prompt,
        params={"channels": c, "reduction": r, "bias": True, "height": side, "width": side},
        answer=spec,
        truth=truth,
        solution=solution,
        mistakes=mistakes,
        conventions=(PARAMS_RULE, _RULES, MACS_RULE, _RESCALE_RULE, BATCH_1),
        hints=(
            "Only the two fully connected layers have weights, and they act on the pooled "
            "vector of C values.",
            "A linear layer a→b has a·b weights (+ b biases) and does a·b MACs per vector.",
            f"Here C = {c} and C/r = {sq}.",
        ),
    )


SE_BLOCK_PARAMS = Family(
    id="se_block_params",
    topic=TOPIC,
    title="Parameters of a squeeze-and-excitation block",
    answer_kind="number",
    generator=_draft,
    expected_seconds=90.0,
    cards=("senet-params-formula", "senet-excitation"),
)
SE_BLOCK_COST = Family(
    id="se_block_cost",
    topic=TOPIC,
    title="Parameters and MACs of a squeeze-and-excitation block",
    answer_kind="parts",
    generator=_cost_draft,
    expected_seconds=150.0,
    cards=("senet-params-formula", "senet-resnet50-overhead"),
)

FAMILIES: tuple[Family, ...] = (SE_BLOCK_PARAMS, SE_BLOCK_COST)
