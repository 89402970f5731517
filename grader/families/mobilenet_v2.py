"""MobileNet v2's inverted residual block: its parameters, its MACs, and its three
convolutions' MACs one by one.

1×1 expansion to t·C channels (BN, ReLU6; absent when t = 1), 3×3 depthwise convolution
(stride s, BN, ReLU6), linear 1×1 projection to C' (BN), and a residual addition when s = 1 and
C = C'. Truths come from ``models.InvertedResidual`` built on the meta device: parameters from
the module, MACs from ``measure_block`` (memoised per configuration). Widths at a width
multiplier follow torchvision's rounding to multiples of 8.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from functools import lru_cache

from torch import nn

from models import InvertedResidual, Profile, build_architecture, profile_architecture
from models.nets import MOBILENET_V2_SETTINGS

from ..mistakes import COUNTED_BN_BUFFERS, IGNORED_GROUPS, MACS_VS_FLOPS, define
from ..question import Draft, Family
from ..types import AnswerSpec, Mistake
from ._base import (
    BATCH_1,
    BN_INCLUDED,
    COUNTED_CONV_BIAS,
    FORGOT_BN,
    MACS_RULE,
    NO_BIAS,
    PARAMS_RULE,
    block_counts,
    conv,
    expected_display,
    measure_block,
    n,
    on_meta,
)

__all__ = [
    "INVERTED_RESIDUAL_PARAMS",
    "INVERTED_RESIDUAL_MACS",
    "INVERTED_RESIDUAL_STEPS",
    "FAMILIES",
]

TOPIC = "mobilenet-v2"

INVERTED_NO_EXPANSION = define(
    "inverted_no_expansion",
    "This leaves out the expansion: a 1×1 convolution first widens C to t·C channels, and the "
    "depthwise and projection convolutions work on those t·C channels.",
)
INVERTED_EXPANDED_WHEN_T1 = define(
    "inverted_expanded_when_t1",
    "With t = 1 there is nothing to expand: the block has no 1×1 expansion convolution.",
)
INVERTED_IGNORED_STRIDE = define(
    "inverted_ignored_stride",
    "This ignores the stride: the depthwise convolution has stride 2, so it and the projection "
    "work on a map half as high and half as wide.",
)
INVERTED_ONE_BLOCK = define(
    "inverted_one_block",
    "This is only the stage's first block; the stage repeats the block n times.",
)

_SPEC_PARAMS = AnswerSpec.number("params", exact=True)
_SPEC_MACS = AnswerSpec.number("macs")
_NO_BIAS = NO_BIAS
_ALPHAS = (0.35, 0.5, 0.75, 1.0, 1.3, 1.4)  # the paper's width multipliers
_RESOLUTIONS = (224, 192, 160, 128, 96)  # and its input resolutions


@dataclass(frozen=True)
class _Block:
    """One inverted residual configuration: (C, C', stride, t) and the input side."""

    c_in: int
    c_out: int
    stride: int
    t: int
    side: int

    @property
    def hidden(self) -> int:
        """The expanded width t·C."""
        return self.c_in * self.t

    @property
    def out_side(self) -> int:
        """The side after the 3×3 depthwise convolution (padding 1)."""
        return (self.side - 1) // self.stride + 1

    def key(self) -> tuple[int, int, int, int, int]:
        """(C, C', stride, t, side)."""
        return (self.c_in, self.c_out, self.stride, self.t, self.side)


@lru_cache(maxsize=1)
def _v2_blocks() -> tuple[tuple[int, int, int, int, int], ...]:
    """(C, C', stride, t, input side) of the 17 blocks of MobileNet v2 (1.0, 224), read from the
    real network built on meta and its cached profile."""
    net = build_architecture("mobilenet_v2")
    prof = profile_architecture("mobilenet_v2")
    out = []
    for i, m in enumerate(net.get_submodule("features").children()):
        if isinstance(m, InvertedResidual):
            first = conv(m, "expand.conv" if m.expand is not None else "depthwise.conv")
            dw = conv(m, "depthwise.conv")
            row = next(r for r in prof.rows if r.name.startswith(f"features.{i}."))
            out.append(
                (
                    first.in_channels,
                    conv(m, "project.conv").out_channels,
                    dw.stride[0],
                    dw.in_channels // first.in_channels,
                    row.input_shape[-1],
                )
            )
    return tuple(out)


def _make_divisible(v: float, divisor: int = 8) -> int:
    """torchvision's channel rounding for width multipliers (never more than 10% down)."""
    new_v = max(divisor, int(v + divisor / 2) // divisor * divisor)
    if new_v < 0.9 * v:
        new_v += divisor
    return new_v


@lru_cache(maxsize=64)
def _stages(alpha: float, res: int) -> tuple[tuple[_Block, ...], ...]:
    """The blocks of MobileNet v2's seven stages (Table 2 of the paper) at width ``alpha`` and
    ``res``×``res`` input: torchvision's widths, sides by the stride of each block."""
    c_in, side = _make_divisible(32 * alpha), (res - 1) // 2 + 1
    stages = []
    for t, c, reps, s in MOBILENET_V2_SETTINGS:
        c_out = _make_divisible(c * alpha)
        blocks = []
        for i in range(reps):
            b = _Block(c_in if i == 0 else c_out, c_out, s if i == 0 else 1, t, side)
            blocks.append(b)
            side = b.out_side
        stages.append(tuple(blocks))
        c_in = c_out
    return tuple(stages)


def _blocks(alpha: float, res: int) -> tuple[_Block, ...]:
    """The 17 blocks at width ``alpha`` and resolution ``res``."""
    return tuple(b for stage in _stages(alpha, res) for b in stage)


def _block_text(b: _Block) -> str:
    skip = "a residual addition" if b.stride == 1 and b.c_in == b.c_out else "no residual"
    expand = (
        f"1×1 expansion conv {b.c_in}→{b.hidden} (t = {b.t}), BN, ReLU6; "
        if b.t != 1
        else "no expansion conv (t = 1); "
    )
    return (
        f"{expand}3×3 depthwise conv on {b.hidden} channels (groups = {b.hidden}, stride "
        f"{b.stride}, padding 1), BN, ReLU6; 1×1 projection conv {b.hidden}→{b.c_out}, BN (no "
        f"activation); {skip}"
    )


def _block_params(b: _Block) -> dict[str, object]:
    return {
        "in_channels": b.c_in,
        "out_channels": b.c_out,
        "stride": b.stride,
        "expand_ratio": b.t,
    }


# -- parameters -------------------------------------------------------------------------------


def _params_draft(rng: random.Random, difficulty: int) -> Draft:
    """Parameters of one block: a residual block (1), any block of MobileNet v2 at one of the
    paper's width multipliers (2), a random configuration with t from 1 to 6 (3)."""
    if difficulty == 1:  # a residual block: C = C', stride 1
        c = 8 * rng.randint(2, 60)
        b = _Block(c, c, 1, rng.choice((2, 3, 4, 6)), 28)
        who = "An inverted residual block (MobileNet v2 layout)"
    elif difficulty == 2 and rng.random() < 0.5:
        alpha = rng.choice(_ALPHAS)
        b = rng.choice(_blocks(alpha, 224))
        who = f"A block of MobileNet v2 at width multiplier {alpha:g}"
    elif difficulty == 2:  # a block that changes shape: no residual
        c = 8 * rng.randint(2, 40)
        b = _Block(c, 8 * rng.randint(2, 60), rng.choice((1, 2)), 6, 28)
        who = "An inverted residual block (MobileNet v2 layout)"
    else:
        t = rng.choice((1, 2, 3, 4, 6))
        b = _Block(8 * rng.randint(2, 40), 8 * rng.randint(2, 60), rng.choice((1, 2)), t, 28)
        who = "An inverted residual block (MobileNet v2 layout)"
    names = ("depthwise.conv", "project.conv") + (("expand.conv",) if b.t != 1 else ())
    k = block_counts(InvertedResidual, (b.c_in, b.c_out, b.stride, b.t), names)
    truth = k.total
    prompt = (
        f"{who} takes C = {b.c_in} input channels and outputs C' = {b.c_out}: "
        f"{_block_text(b)}. How many parameters does the block have? {_NO_BIAS} {BN_INCLUDED} "
        f"{PARAMS_RULE}"
    )
    lines, terms, widths = [], [], []
    if "expand.conv" in k.parts:
        e = k.parts["expand.conv"]
        lines.append(f"expand 1×1: {b.c_in}·{b.hidden} = {n(e)}")
        terms.append(e)
        widths.append(b.hidden)
    dw, pj = k.parts["depthwise.conv"], k.parts["project.conv"]
    lines.append(f"depthwise 3×3: 3·3·{b.hidden} = {n(dw)}")
    lines.append(f"project 1×1: {b.hidden}·{b.c_out} = {n(pj)}")
    terms += [dw, pj]
    widths += [b.hidden, b.c_out]
    bn = k.bn
    lines.append(f"BatchNorm: 2·({' + '.join(map(str, widths))}) = {n(bn)}")
    terms.append(bn)
    lines.append(
        f"total = {' + '.join(n(x) for x in terms)} = {expected_display(_SPEC_PARAMS, truth)}"
    )
    mistakes: list[Mistake] = [
        IGNORED_GROUPS.at(truth - dw + dw * b.hidden),
        COUNTED_BN_BUFFERS.at(truth + k.bn_buffers),
        FORGOT_BN.at(truth - bn),
        COUNTED_CONV_BIAS.at(truth + k.conv_out_channels),
    ]
    if b.t != 1:
        # Depthwise and projection on C channels, no expansion conv (the formula will do).
        no_exp = 9 * b.c_in + b.c_in * b.c_out + 2 * (b.c_in + b.c_out)
        mistakes.append(INVERTED_NO_EXPANSION.at(no_exp))
    else:
        mistakes.append(INVERTED_EXPANDED_WHEN_T1.at(truth + b.c_in * b.c_in + 2 * b.c_in))
    return Draft(
        prompt=prompt,
        params=_block_params(b) | {"bias": False, "batch_norm": True},
        answer=_SPEC_PARAMS,
        truth=truth,
        solution="\n".join(lines),
        mistakes=mistakes,
        conventions=(PARAMS_RULE, BN_INCLUDED, _NO_BIAS),
        hints=(
            "Count the convolutions one at a time, then BatchNorm's 2 per channel after each.",
            "expand 1×1: C·tC; depthwise 3×3: 9·tC (one filter per channel); project 1×1: tC·C'.",
            f"Here tC = {b.c_in}·{b.t}" + (" (no expansion conv)." if b.t == 1 else "."),
        ),
    )


# -- MACs -------------------------------------------------------------------------------------


@lru_cache(maxsize=1024)
def _profile(keys: tuple[tuple[int, int, int, int, int], ...]) -> Profile:
    """The profile of the real blocks ``keys`` in sequence, on meta (memoised)."""
    blocks = [on_meta(InvertedResidual, c, c2, s, t) for c, c2, s, t, _ in keys]
    module = blocks[0] if len(blocks) == 1 else nn.Sequential(*blocks)
    c_in, side = keys[0][0], keys[0][4]
    return measure_block(module, (c_in, side, side))


def _closed_macs(
    b: _Block, *, dense_dw: bool = False, no_expand: bool = False, stride: int | None = None
) -> int:
    """A block's MACs by the formula, bent the way a mistake bends it (for mistakes only)."""
    s = b.stride if stride is None else stride
    h2 = (b.side - 1) // s + 1
    hidden = b.c_in if no_expand else b.hidden
    expand = 0 if (b.t == 1 or no_expand) else b.side**2 * b.c_in * hidden
    dw = h2 * h2 * 9 * hidden * (hidden if dense_dw else 1)
    return expand + dw + h2 * h2 * hidden * b.c_out


def _draw_macs(rng: random.Random, difficulty: int) -> tuple[list[_Block], str, float, int]:
    """(blocks, who they are, width multiplier, resolution): a stride-1, t = 6 block of
    MobileNet v2 (1), any of its blocks (2), a whole stage (3), at one of the paper's width
    multipliers and resolutions."""
    alpha, res = rng.choice(_ALPHAS), rng.choice(_RESOLUTIONS)
    net = f"MobileNet v2 (width multiplier {alpha:g}, {res}×{res} input)"
    if difficulty == 3:
        index = rng.randrange(len(MOBILENET_V2_SETTINGS))
        return list(_stages(alpha, res)[index]), f"Stage {index + 1} of {net}", alpha, res
    pool = [b for b in _blocks(alpha, res) if difficulty == 2 or (b.stride == 1 and b.t == 6)]
    return [rng.choice(pool)], f"A block of {net}", alpha, res


def _macs_question(blocks: list[_Block], who: str) -> str:
    first = blocks[0]
    size = f"{first.c_in}×{first.side}×{first.side}"
    if len(blocks) == 1:
        return (
            f"{who} receives a {size} input (C = {first.c_in}) and outputs C' = {first.c_out} "
            f"channels: {_block_text(first)}. How many MACs does one forward pass of the block "
            "take?"
        )
    return (
        f"{who} has n = {len(blocks)} inverted residual blocks and receives a {size} input. "
        f"The first block maps C = {first.c_in} to C' = {first.c_out} channels with stride "
        f"{first.stride}; the other {len(blocks) - 1} map {first.c_out} to {first.c_out} with "
        f"stride 1. Each block: 1×1 expansion conv to t·C channels (t = {first.t}), BN, ReLU6; "
        f"3×3 depthwise conv (groups = t·C, padding 1), BN, ReLU6; 1×1 projection conv to C', "
        "BN; residual addition when the stride is 1 and C = C'. How many MACs does one forward "
        "pass of the whole stage take?"
    )


def _macs_lines(blocks: list[_Block], prof: Profile) -> tuple[list[str], list[int]]:
    """The worked lines, convolution by convolution, and each block's MACs."""
    lines: list[str] = []
    per_block: list[int] = []
    for i, b in enumerate(blocks):
        pre = "" if len(blocks) == 1 else f"{i}."
        h2, expand = b.out_side, 0
        if b.t != 1:
            expand = prof.row(f"{pre}expand.conv").macs
            lines.append(f"{pre}expand 1×1: {b.side}·{b.side}·{b.c_in}·{b.hidden} = {n(expand)}")
        dw, pj = prof.row(f"{pre}depthwise.conv").macs, prof.row(f"{pre}project.conv").macs
        lines.append(f"{pre}depthwise 3×3: {h2}·{h2}·{b.hidden}·3·3 = {n(dw)}")
        lines.append(f"{pre}project 1×1: {h2}·{h2}·{b.hidden}·{b.c_out} = {n(pj)}")
        per_block.append(expand + dw + pj)
    return lines, per_block


def _macs_mistakes(blocks: list[_Block], truth: int, per_block: list[int]) -> list[Mistake]:
    first = blocks[0]
    mistakes: list[Mistake] = [
        MACS_VS_FLOPS.at(2 * truth),
        IGNORED_GROUPS.at(sum(_closed_macs(b, dense_dw=True) for b in blocks)),
    ]
    if first.t != 1:
        no_expansion = sum(_closed_macs(b, no_expand=True) for b in blocks)
        mistakes.append(INVERTED_NO_EXPANSION.at(no_expansion))
    if first.stride != 1:
        unstrided = truth - per_block[0] + _closed_macs(first, stride=1)
        mistakes.append(INVERTED_IGNORED_STRIDE.at(unstrided))
    if len(blocks) > 1:
        mistakes.append(INVERTED_ONE_BLOCK.at(per_block[0]))
    return mistakes


def _macs_draft(rng: random.Random, difficulty: int) -> Draft:
    """MACs of one block (1, 2) or of a whole stage (3) of MobileNet v2."""
    blocks, who, alpha, res = _draw_macs(rng, difficulty)
    prof = _profile(tuple(b.key() for b in blocks))
    truth, first = prof.macs, blocks[0]
    lines, per_block = _macs_lines(blocks, prof)
    terms = per_block if len(blocks) > 1 else [r.macs for r in prof.rows if r.macs]
    lines.append(f"total = {' + '.join(map(n, terms))} = {expected_display(_SPEC_MACS, truth)}")
    params: dict[str, object] = _block_params(first) | {
        "height": first.side,
        "width": first.side,
        "batch": 1,
        "width_mult": alpha,
        "resolution": res,
    }
    if len(blocks) > 1:
        params["num_blocks"] = len(blocks)
    return Draft(
        prompt=f"{_macs_question(blocks, who)} {MACS_RULE} {BATCH_1}",
        params=params,
        answer=_SPEC_MACS,
        truth=truth,
        solution="\n".join(lines),
        mistakes=_macs_mistakes(blocks, truth, per_block),
        conventions=(MACS_RULE, BATCH_1),
        hints=_MACS_HINTS
        + (f"The first block's depthwise conv outputs {first.out_side}×{first.out_side}.",),
    )


_MACS_HINTS = (
    "Take each convolution on its own map: the expansion works before the stride, the "
    "depthwise and the projection after it.",
    "expand H·W·C·tC; depthwise H'·W'·tC·9; project H'·W'·tC·C' (H', W' after the stride).",
)


# -- the three convolutions of one block, step by step ----------------------------------------


def _steps_draft(rng: random.Random, difficulty: int) -> Draft:
    """A block's expansion, depthwise and projection MACs: a stride-1 block of MobileNet v2 (1),
    any of its blocks (2), a random block with t from 1 to 6 (3)."""
    if difficulty < 3:
        alpha, res = rng.choice(_ALPHAS), rng.choice(_RESOLUTIONS)
        pool = [b for b in _blocks(alpha, res) if difficulty == 2 or b.stride == 1]
        b, who = rng.choice(pool), f"A block of MobileNet v2 (width multiplier {alpha:g})"
    else:
        t, c, side = rng.choice((1, 2, 3, 4, 6)), 8 * rng.randint(2, 40), rng.choice((7, 14, 28))
        b = _Block(c, 8 * rng.randint(2, 60), rng.choice((1, 2)), t, 2 * side)
        who = "An inverted residual block (MobileNet v2 layout)"
    prof = _profile((b.key(),))
    names = (("expand",) if b.t != 1 else ()) + ("depthwise", "project")
    truth = {name: prof.row(f"{name}.conv").macs for name in names}
    spec = AnswerSpec.multi(dict.fromkeys(names, _SPEC_MACS))
    h, h2 = b.side, b.out_side
    asks = "; ".join(f"({chr(97 + i)}) {name}" for i, name in enumerate(names))
    prompt = (
        f"{who} receives a {b.c_in}×{h}×{h} input and outputs C' = {b.c_out} channels: "
        f"{_block_text(b)}. Give the MACs of each convolution: {asks}. {MACS_RULE} {BATCH_1}"
    )
    shown = {name: expected_display(_SPEC_MACS, value) for name, value in truth.items()}
    lines = [f"expand: {h}·{h}·{b.c_in}·{b.hidden} = {shown['expand']}"] if b.t != 1 else []
    lines += [
        f"depthwise: {h2}·{h2}·{b.hidden}·9 = {shown['depthwise']}",
        f"project: {h2}·{h2}·{b.hidden}·{b.c_out} = {shown['project']}",
    ]
    mistakes: list[Mistake | None] = [
        IGNORED_GROUPS.at({"depthwise": h2 * h2 * b.hidden * b.hidden * 9}),
        MACS_VS_FLOPS.at({"project": 2 * truth["project"]}, "This is the FLOP count."),
        INVERTED_IGNORED_STRIDE.at(
            {"depthwise": h * h * b.hidden * 9, "project": h * h * b.hidden * b.c_out}
        )
        if b.stride == 2
        else None,
        INVERTED_NO_EXPANSION.at({"project": h2 * h2 * b.c_in * b.c_out}) if b.t != 1 else None,
    ]
    return Draft(
        prompt=prompt,
        params=_block_params(b) | {"height": h, "width": h},
        answer=spec,
        truth=truth,
        solution="\n".join(lines),
        mistakes=mistakes,
        conventions=(MACS_RULE, BATCH_1),
        hints=_MACS_HINTS + (f"Here tC = {b.hidden}, H = {h} and H' = {h2}.",),
    )


INVERTED_RESIDUAL_PARAMS = Family(
    id="inverted_residual_params",
    topic=TOPIC,
    title="Parameters of a MobileNet v2 inverted residual block",
    answer_kind="number",
    generator=_params_draft,
    expected_seconds=150.0,
    cards=("mobilenet-v2-inverted-residual", "mobilenet-v2-block-params"),
)
INVERTED_RESIDUAL_MACS = Family(
    id="inverted_residual_macs",
    topic=TOPIC,
    title="MACs of a MobileNet v2 inverted residual block or stage",
    answer_kind="number",
    generator=_macs_draft,
    expected_seconds=180.0,
    cards=("mobilenet-v2-block-macs",),
)
INVERTED_RESIDUAL_STEPS = Family(
    id="inverted_residual_steps",
    topic=TOPIC,
    title="An inverted residual block's three convolutions, MAC by MAC",
    answer_kind="parts",
    generator=_steps_draft,
    expected_seconds=180.0,
    cards=("mobilenet-v2-inverted-residual", "mobilenet-v2-block-macs"),
)

FAMILIES: tuple[Family, ...] = (
    INVERTED_RESIDUAL_PARAMS,
    INVERTED_RESIDUAL_MACS,
    INVERTED_RESIDUAL_STEPS,
)
