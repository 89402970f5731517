"""MobileNet v2's inverted residual block: its parameters and its MACs.

1×1 expansion to t·C channels (BN, ReLU6; absent when t = 1), 3×3 depthwise convolution
(stride s, BN, ReLU6), linear 1×1 projection to C' (BN), and a residual addition when s = 1 and
C = C'. Truths come from ``models.InvertedResidual`` built on the meta device: parameters from
the module, MACs from ``models.profile_module`` (memoised per configuration: the forward pass
through BatchNorm and ReLU6 on meta takes tens of milliseconds).
"""

from __future__ import annotations

import random
from functools import lru_cache

from torch import nn

from models import InvertedResidual, Profile, build_architecture, profile_architecture
from models import profile_module as _profile_module
from models.nets import MOBILENET_V2_SETTINGS

from ..mistakes import COUNTED_BN_BUFFERS, IGNORED_GROUPS, MACS_VS_FLOPS, define
from ..question import Draft, Family
from ..types import AnswerSpec, Mistake
from ._block_util import (
    BATCH_1,
    BN_INCLUDED,
    COUNTED_CONV_BIAS,
    EXACT_OR_ROUNDED,
    FORGOT_BN,
    MACS_RULE,
    PARAMS_RULE,
    block_counts,
    conv,
    expected_display,
    keep_mistakes,
    n,
    on_meta,
    sub,
)

__all__ = ["INVERTED_RESIDUAL_PARAMS", "INVERTED_RESIDUAL_MACS"]

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

_SPEC_PARAMS = AnswerSpec.number("params")
_SPEC_MACS = AnswerSpec.number("macs")
_NO_BIAS = "The convolutions have no bias."


class _Block:
    """One inverted residual configuration: (C, C', stride, t) and the input side."""

    def __init__(self, c_in: int, c_out: int, stride: int, t: int, side: int) -> None:
        self.c_in, self.c_out, self.stride, self.t, self.side = c_in, c_out, stride, t, side

    @property
    def hidden(self) -> int:
        return self.c_in * self.t

    @property
    def out_side(self) -> int:
        return (self.side - 1) // self.stride + 1  # 3×3, padding 1

    def key(self) -> tuple[int, int, int, int, int]:
        return (self.c_in, self.c_out, self.stride, self.t, self.side)


@lru_cache(maxsize=1)
def _v2_blocks() -> tuple[tuple[int, int, int, int, int], ...]:
    """(C, C', stride, t, input side) of the 17 blocks of MobileNet v2 (1.0, 224), read from the
    real network built on meta and its cached profile."""
    net = build_architecture("mobilenet_v2")
    prof = profile_architecture("mobilenet_v2")
    out = []
    for i, m in enumerate(sub(net, "features").children()):
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


def _stage(index: int, alpha: float) -> tuple[list[_Block], int]:
    """The blocks of stage ``index`` (0–6, Table 2 of the paper) of MobileNet v2 at width
    ``alpha`` and 224×224, and the stage's n."""
    c_in, side = _make_divisible(32 * alpha), 112
    for j, (t, c, reps, s) in enumerate(MOBILENET_V2_SETTINGS):
        c_out = _make_divisible(c * alpha)
        blocks = []
        for i in range(reps):
            b = _Block(c_in if i == 0 else c_out, c_out, s if i == 0 else 1, t, side)
            blocks.append(b)
            side = b.out_side
        if j == index:
            return blocks, reps
        c_in = c_out
    raise ValueError(f"no stage {index}")


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
    """Parameters of one block: a residual block of MobileNet v2 (1), any of its blocks (2), a
    random configuration with t from 1 to 6 (3)."""
    table = _v2_blocks()
    if difficulty == 1:
        b = _Block(*rng.choice([k for k in table if k[0] == k[1] and k[2] == 1]))
        who = "A MobileNet v2 inverted residual block"
    elif difficulty == 2:
        b = _Block(*rng.choice(table))
        who = "A MobileNet v2 inverted residual block"
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
        f"{PARAMS_RULE} {EXACT_OR_ROUNDED}"
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
        mistakes=keep_mistakes(_SPEC_PARAMS, truth, mistakes),
        conventions=(PARAMS_RULE, BN_INCLUDED, _NO_BIAS),
    )


# -- MACs -------------------------------------------------------------------------------------


@lru_cache(maxsize=256)
def _profile(keys: tuple[tuple[int, int, int, int, int], ...]) -> Profile:
    """The profile of the real blocks ``keys`` in sequence, on meta (memoised)."""
    blocks = [on_meta(InvertedResidual, c, c2, s, t) for c, c2, s, t, _ in keys]
    module = blocks[0] if len(blocks) == 1 else nn.Sequential(*blocks)
    c_in, side = keys[0][0], keys[0][4]
    return _profile_module(module, (c_in, side, side))


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


def _macs_draft(rng: random.Random, difficulty: int) -> Draft:
    """MACs of a stride-1, t = 6 block of MobileNet v2 (1), of any of its blocks at 224 or 160
    pixels (2), or of a whole stage at width 0.75 or 1.4 (3)."""
    table = _v2_blocks()
    alpha = 1.0
    if difficulty == 1:
        blocks = [_Block(*rng.choice([k for k in table if k[2] == 1 and k[3] == 6]))]
        who = "A MobileNet v2 inverted residual block"
    elif difficulty == 2:
        res = rng.choice((224, 160))
        c, c2, s, t, side = rng.choice(table)
        blocks = [_Block(c, c2, s, t, side * res // 224)]
        who = f"A block of MobileNet v2 at {res}×{res} input"
    else:
        alpha = rng.choice((0.75, 1.4))
        index = rng.randrange(len(MOBILENET_V2_SETTINGS))
        blocks, reps = _stage(index, alpha)
        who = f"Stage {index + 1} of MobileNet v2 (width multiplier {alpha:g}, 224×224 input)"
    prof = _profile(tuple(b.key() for b in blocks))
    truth = prof.macs
    first = blocks[0]
    size = f"{first.c_in}×{first.side}×{first.side}"
    if len(blocks) == 1:
        prompt = (
            f"{who} receives a {size} input (C = {first.c_in}) and outputs C' = {first.c_out} "
            f"channels: {_block_text(first)}. How many MACs does one forward pass of the block "
            f"take?"
        )
    else:
        prompt = (
            f"{who} has n = {len(blocks)} inverted residual blocks and receives a {size} input. "
            f"The first block maps C = {first.c_in} to C' = {first.c_out} channels with stride "
            f"{first.stride}; the other {len(blocks) - 1} map {first.c_out} to {first.c_out} "
            f"with stride 1. Each block: 1×1 expansion conv to t·C channels (t = {first.t}), BN, "
            f"ReLU6; 3×3 depthwise conv (groups = t·C, padding 1), BN, ReLU6; 1×1 projection "
            f"conv to C', BN; residual addition when the stride is 1 and C = C'. How many MACs "
            f"does one forward pass of the whole stage take?"
        )
    prompt += f" {MACS_RULE} {BATCH_1} {EXACT_OR_ROUNDED}"

    lines: list[str] = []
    per_block: list[int] = []
    for i, b in enumerate(blocks):
        pre = "" if len(blocks) == 1 else f"{i}."
        h2 = b.out_side
        parts: list[int] = []
        if b.t != 1:
            e = prof.row(f"{pre}expand.conv").macs
            lines.append(f"{pre}expand 1×1: {b.side}·{b.side}·{b.c_in}·{b.hidden} = {n(e)}")
            parts.append(e)
        dw = prof.row(f"{pre}depthwise.conv").macs
        pj = prof.row(f"{pre}project.conv").macs
        lines.append(f"{pre}depthwise 3×3: {h2}·{h2}·{b.hidden}·3·3 = {n(dw)}")
        lines.append(f"{pre}project 1×1: {h2}·{h2}·{b.hidden}·{b.c_out} = {n(pj)}")
        per_block.append(sum(parts) + dw + pj)
    terms = (
        " + ".join(n(x) for x in per_block)
        if len(blocks) > 1
        else " + ".join(n(r.macs) for r in prof.rows if r.macs)
    )
    lines.append(f"total = {terms} = {expected_display(_SPEC_MACS, truth)}")

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
    params: dict[str, object] = _block_params(first) | {
        "height": first.side,
        "width": first.side,
        "batch": 1,
    }
    if len(blocks) > 1:
        params |= {"num_blocks": len(blocks), "width_mult": alpha}
    return Draft(
        prompt=prompt,
        params=params,
        answer=_SPEC_MACS,
        truth=truth,
        solution="\n".join(lines),
        mistakes=keep_mistakes(_SPEC_MACS, truth, mistakes),
        conventions=(MACS_RULE, BATCH_1),
    )


INVERTED_RESIDUAL_PARAMS = Family(
    id="inverted_residual_params",
    topic="mobilenet-v2",
    title="Parameters of a MobileNet v2 inverted residual block",
    answer_kind="number",
    generator=_params_draft,
    expected_seconds=150.0,
)

INVERTED_RESIDUAL_MACS = Family(
    id="inverted_residual_macs",
    topic="mobilenet-v2",
    title="MACs of a MobileNet v2 inverted residual block or stage",
    answer_kind="number",
    generator=_macs_draft,
    expected_seconds=180.0,
)
