"""ResNet's bottleneck block and ResNeXt's grouped bottleneck: their parameters.

``bottleneck_params`` asks for the parameters of a bottleneck block (1×1 reduce, 3×3, 1×1
expand ×4); its worked solution sets them against a basic block (two 3×3 convolutions) with the
same input and output width (by the formula), and the answer of that basic block is one of the
diagnosed mistakes. Difficulty 1 leaves BatchNorm out, 2 includes it, 3 adds a projection
shortcut. Truths come from ``models.Bottleneck`` / ``models.ResNeXtBlock`` built on the meta
device.
"""

from __future__ import annotations

import random

from models import Bottleneck, ResNeXtBlock

from ..mistakes import COUNTED_BN_BUFFERS, IGNORED_GROUPS, define
from ..question import Draft, Family
from ..types import AnswerSpec, Mistake
from ._block_util import (
    BN_EXCLUDED,
    BN_INCLUDED,
    COUNTED_CONV_BIAS,
    EXACT_OR_ROUNDED,
    FORGOT_BN,
    INCLUDED_BN,
    PARAMS_RULE,
    BlockCounts,
    block_counts,
    expected_display,
    keep_mistakes,
    n,
)

__all__ = ["BOTTLENECK_PARAMS", "RESNEXT_BLOCK_PARAMS"]

BOTTLENECK_COUNTED_ONE_CONV = define(
    "bottleneck_counted_one_conv",
    "This counts only the 3×3 convolution; the bottleneck has three: 1×1 reduce, 3×3, and "
    "1×1 expand.",
)
BOTTLENECK_NO_EXPANSION = define(
    "bottleneck_no_expansion",
    "The last 1×1 convolution expands back to 4 × planes channels, not planes.",
)
BOTTLENECK_COUNTED_BASIC = define(
    "bottleneck_counted_basic",
    "This is a basic block's count (two 3×3 convolutions at the full width); the bottleneck "
    "does its 3×3 at the reduced width, between two 1×1 convolutions.",
)
FORGOT_PROJECTION_SHORTCUT = define(
    "forgot_projection_shortcut",
    "The shortcut changes shape here (stride or width), so it is a 1×1 convolution with "
    "BatchNorm, and its parameters count too.",
)
RESNEXT_COUNTED_ONE_PATH = define(
    "resnext_counted_one_path",
    "This uses one path's width d·P/64 for the whole block: the grouped 3×3 has C groups, so "
    "D = C·⌊d·P/64⌋ channels.",
)

_SPEC = AnswerSpec.number("params")
_STAGE_PLANES = (64, 128, 256, 512)
_NO_BIAS = "The convolutions have no bias."


def _shape(rng: random.Random, difficulty: int, planes: int) -> tuple[int, int]:
    """(in_channels, stride): identity shortcut below difficulty 3, else a first block whose
    shortcut must be projected (a stage's first block: stride 2 from 2P channels, or the first
    stage's 64 channels at stride 1)."""
    if difficulty < 3:
        return 4 * planes, 1
    c_in, stride = rng.choice(((2 * planes, 2), (2 * planes, 1), (planes, 2), (64, 1)))
    return c_in, stride


def _bn_mistakes(k: BlockCounts, truth: int, bn: bool) -> list[Mistake]:
    if bn:
        return [COUNTED_BN_BUFFERS.at(truth + k.bn_buffers), FORGOT_BN.at(truth - k.bn)]
    return [INCLUDED_BN.at(truth + k.bn)]


def _parts(projected: bool) -> tuple[str, ...]:
    base = ("conv1", "conv2", "conv3", "bn2")
    return (*base, "downsample", "downsample.conv") if projected else base


def _shortcut_text(c_in: int, out: int, stride: int, bn: bool) -> str:
    if c_in == out and stride == 1:
        return "an identity shortcut"
    return f"a projection shortcut (1×1 conv {c_in}→{out}, stride {stride}{', BN' if bn else ''})"


def _bn_line(widths: list[int]) -> str:
    return f"BatchNorm: 2·({' + '.join(map(str, widths))}) = {n(2 * sum(widths))}"


def _layer_lines(
    k: BlockCounts, c_in: int, width: int, out: int, groups: int, bn: bool
) -> tuple[list[str], list[int]]:
    """The worked lines and terms of a (grouped) bottleneck: three convs, shortcut, BN."""
    c1, c2, c3 = (k.parts[p] for p in ("conv1", "conv2", "conv3"))
    per_group = f"({width}/{groups})" if groups > 1 else str(width)
    lines = [
        f"conv1 1×1: {c_in}·{width} = {n(c1)}",
        f"conv2 {'grouped ' if groups > 1 else ''}3×3: 3·3·{per_group}·{width} = {n(c2)}",
        f"conv3 1×1: {width}·{out} = {n(c3)}",
    ]
    terms = [c1, c2, c3]
    widths = [width, width, out]
    if "downsample.conv" in k.parts:
        shortcut = k.parts["downsample.conv"]
        lines.append(f"shortcut 1×1: {c_in}·{out} = {n(shortcut)}")
        terms.append(shortcut)
        widths.append(out)
    if bn:
        lines.append(_bn_line(widths))
        terms.append(k.bn)
    return lines, terms


# -- ResNet bottleneck ------------------------------------------------------------------------


def _basic_count(c_in: int, out: int, stride: int, bn: bool) -> int:
    """A basic block's parameters at the same widths, by the formula (comparison and mistake):
    two 3×3 convs, BN after each, a projection shortcut when the shape changes."""
    count = 9 * c_in * out + 9 * out * out + (4 * out if bn else 0)
    if stride != 1 or c_in != out:
        count += c_in * out + (2 * out if bn else 0)
    return count


def _bottleneck_draft(rng: random.Random, difficulty: int) -> Draft:
    """A bottleneck block's parameters: without BN (1), with BN (2), with a projection shortcut
    as well (3); planes from 32 to 512."""
    planes = 16 * rng.randint(2, 32)
    bn = difficulty > 1
    c_in, stride = _shape(rng, difficulty, planes)
    out = 4 * planes
    projected = stride != 1 or c_in != out
    k = block_counts(Bottleneck, (c_in, planes, stride), _parts(projected))
    truth = k.total if bn else k.conv
    rule = BN_INCLUDED if bn else BN_EXCLUDED
    bn_word = ", BN" if bn else ""
    prompt = (
        f"A ResNet bottleneck block (ResNet-50 layout) takes {c_in} input channels: 1×1 conv "
        f"{c_in}→{planes}{bn_word}, ReLU; 3×3 conv {planes}→{planes} (stride {stride}, padding "
        f"1){bn_word}, ReLU; 1×1 conv {planes}→{out}{bn_word}; then "
        f"{_shortcut_text(c_in, out, stride, bn)}, addition and ReLU. How many parameters "
        f"does the block have? {_NO_BIAS} {rule} {PARAMS_RULE} {EXACT_OR_ROUNDED}"
    )
    lines, terms = _layer_lines(k, c_in, planes, out, 1, bn)
    basic = _basic_count(c_in, out, stride, bn)
    lines.append(
        f"(A basic block of two 3×3 convolutions at {out} channels would have {n(basic)} "
        f"parameters, {basic / truth:.1f}× as many.)"
    )
    lines.append(f"total = {' + '.join(n(t) for t in terms)} = {expected_display(_SPEC, truth)}")

    one_conv = k.parts["conv2"] + (k.parts["bn2"] if bn else 0)
    # Expanding only to P: conv3, its BN and a projection shortcut would all end at P channels.
    no_expansion = truth - k.parts["conv3"] + planes * planes
    if bn:
        no_expansion -= 2 * (out - planes)
    if projected:
        no_expansion -= (c_in * out - c_in * planes) + (2 * (out - planes) if bn else 0)
    mistakes = [
        BOTTLENECK_COUNTED_ONE_CONV.at(one_conv),
        BOTTLENECK_NO_EXPANSION.at(no_expansion),
        BOTTLENECK_COUNTED_BASIC.at(basic),
        COUNTED_CONV_BIAS.at(truth + k.conv_out_channels),
        *_bn_mistakes(k, truth, bn),
    ]
    if projected:
        shortcut = k.parts["downsample"] if bn else k.parts["downsample.conv"]
        mistakes.append(FORGOT_PROJECTION_SHORTCUT.at(truth - shortcut))
    params: dict[str, object] = {
        "in_channels": c_in,
        "planes": planes,
        "out_channels": out,
        "stride": stride,
        "bias": False,
        "batch_norm": bn,
    }
    return Draft(
        prompt=prompt,
        params=params,
        answer=_SPEC,
        truth=truth,
        solution="\n".join(lines),
        mistakes=keep_mistakes(_SPEC, truth, mistakes),
        conventions=(PARAMS_RULE, rule, _NO_BIAS),
    )


# -- ResNeXt ----------------------------------------------------------------------------------

# (cardinality, bottleneck width d): the paper's Table 2 at ResNet-50's complexity, and the
# wider 32×8d and 64×4d models.
_RESNEXT_SHAPES = ((1, 64), (2, 40), (4, 24), (8, 14), (32, 4), (32, 8), (64, 4))


def _resnext_draft(rng: random.Random, difficulty: int) -> Draft:
    """A ResNeXt block's parameters: 32×4d, 32×8d or 64×4d without BN (1), the paper's other
    cardinality × width settings too, with BN (2), a projection shortcut as well (3)."""
    planes = rng.choice(_STAGE_PLANES)
    card, d = rng.choice(_RESNEXT_SHAPES[4:] if difficulty == 1 else _RESNEXT_SHAPES)
    bn = difficulty > 1
    c_in, stride = _shape(rng, difficulty, planes)
    out = 4 * planes
    projected = stride != 1 or c_in != out
    k = block_counts(ResNeXtBlock, (c_in, planes, stride, card, d), _parts(projected))
    group = planes * d // 64
    width = card * group  # D, as ResNeXtBlock computes it
    truth = k.total if bn else k.conv
    rule = BN_INCLUDED if bn else BN_EXCLUDED
    bn_word = ", BN" if bn else ""
    if difficulty == 1:
        width_text = (
            f"Each group is d·P/64 = {group} channels wide, so the grouped 3×3 convolution has "
            f"D = C·{group} = {width} channels."
        )
    else:
        width_text = (
            "Each group is ⌊d·P/64⌋ channels wide (d is the group width at P = 64), so the "
            "grouped 3×3 convolution has D = C·⌊d·P/64⌋ channels."
        )
    prompt = (
        f"A ResNeXt block (ResNeXt-50 template) has cardinality C = {card}, bottleneck width "
        f"d = {d} and planes P = {planes}, and takes {c_in} input channels. {width_text} Layers: "
        f"1×1 conv {c_in}→D{bn_word}, ReLU; 3×3 conv D→D with groups = C (stride {stride}, "
        f"padding 1){bn_word}, ReLU; 1×1 conv D→{out}{bn_word}; then "
        f"{_shortcut_text(c_in, out, stride, bn)}, addition and ReLU. How many parameters does "
        f"the block have? {_NO_BIAS} {rule} {PARAMS_RULE} {EXACT_OR_ROUNDED}"
    )
    lines, terms = _layer_lines(k, c_in, width, out, card, bn)
    lines.insert(0, f"D = {card}·⌊{d}·{planes}/64⌋ = {card}·{group} = {width}")
    lines.append(f"total = {' + '.join(n(t) for t in terms)} = {expected_display(_SPEC, truth)}")

    # One path's width for the whole block (a mistake: the formula will do).
    one_path = truth - k.parts["conv1"] - k.parts["conv2"] - k.parts["conv3"]
    one_path += c_in * group + 9 * group * group + group * out
    if bn:
        one_path -= 4 * (width - group)
    mistakes = [
        IGNORED_GROUPS.at(truth - k.parts["conv2"] + k.parts["conv2"] * card),
        RESNEXT_COUNTED_ONE_PATH.at(one_path),
        COUNTED_CONV_BIAS.at(truth + k.conv_out_channels),
        *_bn_mistakes(k, truth, bn),
    ]
    if projected:
        shortcut = k.parts["downsample"] if bn else k.parts["downsample.conv"]
        mistakes.append(FORGOT_PROJECTION_SHORTCUT.at(truth - shortcut))
    params: dict[str, object] = {
        "in_channels": c_in,
        "planes": planes,
        "out_channels": out,
        "stride": stride,
        "cardinality": card,
        "bottleneck_width": d,
        "bias": False,
        "batch_norm": bn,
    }
    if difficulty == 1:
        params["width"] = width
    return Draft(
        prompt=prompt,
        params=params,
        answer=_SPEC,
        truth=truth,
        solution="\n".join(lines),
        mistakes=keep_mistakes(_SPEC, truth, mistakes),
        conventions=(PARAMS_RULE, rule, _NO_BIAS),
    )


BOTTLENECK_PARAMS = Family(
    id="bottleneck_params",
    topic="resnet",
    title="Parameters of a ResNet bottleneck block (versus a basic block)",
    answer_kind="number",
    generator=_bottleneck_draft,
    expected_seconds=180.0,
)

RESNEXT_BLOCK_PARAMS = Family(
    id="resnext_block_params",
    topic="resnext",
    title="Parameters of a ResNeXt block (cardinality and bottleneck width)",
    answer_kind="number",
    generator=_resnext_draft,
    expected_seconds=180.0,
)
