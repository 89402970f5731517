"""ResNet's bottleneck block and ResNeXt's grouped bottleneck: their parameters, the MACs of a
bottleneck's three convolutions, and ResNeXt against ResNet at the same budget.

``bottleneck_params`` asks for the parameters of a bottleneck block (1×1 reduce, 3×3, 1×1
expand ×4); its worked solution sets them against a basic block (two 3×3 convolutions) with the
same input and output width (by the formula), and the answer of that basic block is one of the
diagnosed mistakes. Difficulty 1 leaves BatchNorm out, 2 includes it, 3 adds a projection
shortcut. Truths come from ``models.Bottleneck`` / ``models.ResNeXtBlock`` built on the meta
device.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache

from models import Bottleneck, ResNeXtBlock

from ..grading import indistinguishable
from ..mistakes import COUNTED_BN_BUFFERS, IGNORED_GROUPS, INVERTED_RATIO, MACS_VS_FLOPS, define
from ..question import Draft, Family
from ..types import AnswerSpec, Mistake, Truth
from ._base import (
    BATCH_1,
    BN_EXCLUDED,
    BN_INCLUDED,
    COUNTED_CONV_BIAS,
    FORGOT_BN,
    INCLUDED_BN,
    MACS_RULE,
    PARAMS_RULE,
    BlockCounts,
    block_counts,
    expected_display,
    measure_block,
    n,
    on_meta,
)

__all__ = [
    "BOTTLENECK_PARAMS",
    "RESNEXT_BLOCK_PARAMS",
    "BOTTLENECK_CONV_MACS",
    "RESNEXT_VS_RESNET",
    "FAMILIES",
]

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

_SPEC = AnswerSpec.number("params", exact=True)
_STAGE_PLANES = (64, 128, 256, 512)
_NO_BIAS = "The convolutions have no bias."
_BLOCK_HINTS = (
    "Count each convolution on its own: the channels it sees, its filters and its kernel; "
    "then the shortcut, then BatchNorm if it is included.",
    "A k×k convolution from a to b channels in g groups has k·k·(a/g)·b weights (no bias "
    "here); BatchNorm adds 2 per channel.",
)


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
    planes = 4 * rng.randint(4, 160)
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
        f"does the block have? {_NO_BIAS} {rule} {PARAMS_RULE}"
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
        mistakes=mistakes,
        conventions=(PARAMS_RULE, rule, _NO_BIAS),
        hints=(
            *_BLOCK_HINTS,
            f"Here: 1×1 {c_in}→{planes}, 3×3 {planes}→{planes}, 1×1 "
            f"{planes}→{out}" + ("; the shortcut is a 1×1 convolution." if projected else "."),
        ),
    )


# -- ResNeXt ----------------------------------------------------------------------------------

# (cardinality, bottleneck width d): the paper's Table 2 at ResNet-50's complexity, and the
# wider 32×8d and 64×4d models.
_RESNEXT_SHAPES = ((1, 64), (2, 40), (4, 24), (8, 14), (32, 4), (32, 8), (64, 4))


@dataclass(frozen=True)
class ResNeXtSetup:
    """A ResNeXt block (``models.ResNeXtBlock``): input, planes P, stride, C and d, BN or not."""

    c_in: int
    planes: int
    stride: int
    card: int
    d: int
    bn: bool

    @property
    def out(self) -> int:
        """Output channels, 4·P."""
        return 4 * self.planes

    @property
    def group(self) -> int:
        """One group's width, ⌊d·P/64⌋."""
        return self.planes * self.d // 64

    @property
    def width(self) -> int:
        """D = C·⌊d·P/64⌋, as ``ResNeXtBlock`` computes it."""
        return self.card * self.group

    def counts(self) -> BlockCounts:
        """The real block's parameter counts (memoised)."""
        args = (self.c_in, self.planes, self.stride, self.card, self.d)
        return block_counts(ResNeXtBlock, args, _parts(self.stride != 1 or self.c_in != self.out))


def _group_text(r: ResNeXtSetup) -> tuple[str, str]:
    """One group's width with its arithmetic, and a note: rounded down, and said so, when
    d·P/64 is not a whole number (torchvision's ResNeXt takes ``int(P·d/64)``, as
    ``ResNeXtBlock`` does)."""
    if r.d * r.planes % 64 == 0:
        return f"d·P/64 = {r.d}·{r.planes}/64 = {r.group}", ""
    exact = Fraction(r.d * r.planes, 64)
    return (
        f"⌊d·P/64⌋ = ⌊{r.d}·{r.planes}/64⌋ = ⌊{float(exact):g}⌋ = {r.group}",
        " (rounded down, as torchvision computes it)",
    )


def _resnext_prompt(r: ResNeXtSetup, spelled_out: bool) -> str:
    if spelled_out:
        formula, note = _group_text(r)
        width_text = (
            f"Each group is {formula} channels wide{note}, so the grouped 3×3 convolution "
            f"has D = C·{r.group} = {r.width} channels."
        )
    else:
        width_text = (
            "Each group is ⌊d·P/64⌋ channels wide (d is the group width at P = 64), so the "
            "grouped 3×3 convolution has D = C·⌊d·P/64⌋ channels."
        )
    bn_word, rule = (", BN", BN_INCLUDED) if r.bn else ("", BN_EXCLUDED)
    return (
        f"A ResNeXt block (ResNeXt-50 template) has cardinality C = {r.card}, bottleneck width "
        f"d = {r.d} and planes P = {r.planes}, and takes {r.c_in} input channels. {width_text} "
        f"Layers: 1×1 conv {r.c_in}→D{bn_word}, ReLU; 3×3 conv D→D with groups = C (stride "
        f"{r.stride}, padding 1){bn_word}, ReLU; 1×1 conv D→{r.out}{bn_word}; then "
        f"{_shortcut_text(r.c_in, r.out, r.stride, r.bn)}, addition and ReLU. How many "
        f"parameters does the block have? {_NO_BIAS} {rule} {PARAMS_RULE}"
    )


def _resnext_mistakes(r: ResNeXtSetup, k: BlockCounts, truth: int) -> list[Mistake]:
    # One path's width for the whole block (a mistake: the formula will do).
    one_path = truth - k.parts["conv1"] - k.parts["conv2"] - k.parts["conv3"]
    one_path += r.c_in * r.group + 9 * r.group * r.group + r.group * r.out
    if r.bn:
        one_path -= 4 * (r.width - r.group)
    mistakes = [
        IGNORED_GROUPS.at(truth - k.parts["conv2"] + k.parts["conv2"] * r.card),
        RESNEXT_COUNTED_ONE_PATH.at(one_path),
        COUNTED_CONV_BIAS.at(truth + k.conv_out_channels),
        *_bn_mistakes(k, truth, r.bn),
    ]
    if "downsample.conv" in k.parts:
        shortcut = k.parts["downsample"] if r.bn else k.parts["downsample.conv"]
        mistakes.append(FORGOT_PROJECTION_SHORTCUT.at(truth - shortcut))
    return mistakes


def _resnext_draft(rng: random.Random, difficulty: int) -> Draft:
    """A ResNeXt block's parameters: 32×4d, 32×8d or 64×4d without BN (1), the paper's other
    cardinality × width settings too, with BN (2), a projection shortcut as well (3)."""
    planes = 8 * rng.randint(4, 64)
    card, d = rng.choice(_RESNEXT_SHAPES[4:] if difficulty == 1 else _RESNEXT_SHAPES)
    c_in, stride = _shape(rng, difficulty, planes)
    r = ResNeXtSetup(c_in, planes, stride, card, d, difficulty > 1)
    k = r.counts()
    truth = k.total if r.bn else k.conv
    lines, terms = _layer_lines(k, c_in, r.width, r.out, card, r.bn)
    formula, note = _group_text(r)
    lines.insert(
        0, f"group width = {formula}{note}; D = C·{r.group} = {card}·{r.group} = {r.width}"
    )
    lines.append(f"total = {' + '.join(n(t) for t in terms)} = {expected_display(_SPEC, truth)}")
    params: dict[str, object] = {
        "in_channels": c_in,
        "planes": planes,
        "out_channels": r.out,
        "stride": stride,
        "cardinality": card,
        "bottleneck_width": d,
        "bias": False,
        "batch_norm": r.bn,
    }
    if difficulty == 1:
        params["width"] = r.width
    return Draft(
        prompt=_resnext_prompt(r, spelled_out=difficulty == 1),
        params=params,
        answer=_SPEC,
        truth=truth,
        solution="\n".join(lines),
        mistakes=_resnext_mistakes(r, k, truth),
        conventions=(PARAMS_RULE, BN_INCLUDED if r.bn else BN_EXCLUDED, _NO_BIAS),
        hints=(
            *_BLOCK_HINTS,
            f"First the width: D = C·⌊d·P/64⌋ with C = {card}, d = {d}, "
            f"P = {planes}; the 3×3 has groups = {card}.",
        ),
    )


# -- a bottleneck's three convolutions, MAC by MAC ---------------------------------------------

BOTTLENECK_STRIDE_PLACE = define(
    "bottleneck_stride_place",
    "This puts the stride on the wrong convolution: in this variant the stride is on the "
    "convolution the question names, and every layer from there on works on the smaller map.",
)
BOTTLENECK_IGNORED_STRIDE = define(
    "bottleneck_ignored_stride",
    "This ignores the stride: after it the map is half as high and half as wide.",
)


@dataclass(frozen=True)
class BottleneckSetup:
    """A ResNet-50 bottleneck (``models.Bottleneck``) and the side of its square input."""

    c_in: int
    planes: int
    stride: int
    side: int
    stride_in_1x1: bool = False  # the paper's v1; False is v1.5 (torchvision)

    @property
    def out(self) -> int:
        """Output channels, 4·planes."""
        return 4 * self.planes

    @property
    def projected(self) -> bool:
        """Whether the shortcut is a 1×1 convolution (the shape changes)."""
        return self.stride != 1 or self.c_in != self.out

    def sides(self) -> tuple[int, int]:
        """(side of conv1's output, side of conv2's and conv3's output)."""
        small = (self.side - 1) // self.stride + 1
        return (small if self.stride_in_1x1 else self.side), small


def _draw_bottleneck(rng: random.Random, difficulty: int) -> BottleneckSetup:
    """1: an identity block; 2: a stage's first block, stride on the 3×3 (v1.5); 3: the same
    with the stride on the 3×3 or on the first 1×1 (the paper's v1)."""
    planes = 8 * rng.randint(4, 64)
    side = rng.choice((7, 14, 28, 56)) if difficulty == 1 else rng.choice((14, 28, 56, 112))
    if difficulty == 1:
        return BottleneckSetup(4 * planes, planes, 1, side)
    c_in = rng.choice((2 * planes, 4 * planes, planes))
    return BottleneckSetup(c_in, planes, 2, side, difficulty == 3 and rng.random() < 0.5)


@lru_cache(maxsize=1024)
def _bottleneck_macs(b: BottleneckSetup) -> dict[str, int]:
    """MACs of each convolution of the real block, profiled on meta."""
    block = on_meta(Bottleneck, b.c_in, b.planes, b.stride, stride_in_1x1=b.stride_in_1x1)
    prof = measure_block(block, (b.c_in, b.side, b.side))
    out = {name: prof.row(name).macs for name in ("conv1", "conv2", "conv3")}
    if b.projected:
        out["shortcut"] = prof.row("downsample.conv").macs
    return out


def _bottleneck_macs_draft(rng: random.Random, difficulty: int) -> Draft:
    b = _draw_bottleneck(rng, difficulty)
    truth = dict(_bottleneck_macs(b))
    macs = AnswerSpec.number("macs")
    spec = AnswerSpec.multi(dict.fromkeys(truth, macs))
    where = "first 1×1 (the paper's v1)" if b.stride_in_1x1 else "3×3 (v1.5)"
    shortcut = (
        f"a projection shortcut, 1×1 conv {b.c_in}→{b.out} with stride {b.stride}"
        if b.projected
        else "an identity shortcut"
    )
    prompt = (
        f"A ResNet bottleneck block receives a {b.c_in}×{b.side}×{b.side} input: conv1 1×1 "
        f"{b.c_in}→{b.planes}, conv2 3×3 {b.planes}→{b.planes} (padding 1), conv3 1×1 "
        f"{b.planes}→{b.out}, each followed by BatchNorm (ReLU after the first two), and "
        f"{shortcut}; the block's stride {b.stride} is on the {where}. Give the MACs of "
        + "; ".join(f"({chr(97 + i)}) {name}" for i, name in enumerate(truth))
        + f". {_NO_BIAS} {MACS_RULE} {BATCH_1}"
    )
    h1, h2 = b.sides()
    shown = {name: expected_display(macs, value) for name, value in truth.items()}
    lines = [
        f"conv1: {h1}·{h1}·{b.planes}·{b.c_in} = {shown['conv1']}",
        f"conv2: {h2}·{h2}·{b.planes}·{b.planes}·3·3 = {shown['conv2']}",
        f"conv3: {h2}·{h2}·{b.out}·{b.planes} = {shown['conv3']}",
    ]
    if b.projected:
        lines.append(f"shortcut: {h2}·{h2}·{b.out}·{b.c_in} = {shown['shortcut']}")
    return Draft(
        prompt=prompt,
        params={
            "in_channels": b.c_in,
            "planes": b.planes,
            "out_channels": b.out,
            "stride": b.stride,
            "height": b.side,
            "width": b.side,
        },
        answer=spec,
        truth=truth,
        solution="\n".join(lines),
        mistakes=_bottleneck_macs_mistakes(b, truth),
        conventions=(_NO_BIAS, MACS_RULE, BATCH_1),
        hints=(
            "Find the map each convolution works on: the stride shrinks it from its layer on.",
            "MACs of a convolution = H_out·W_out·C_out·C_in·k_h·k_w.",
            f"Here conv1 outputs a {h1}×{h1} map and conv2, conv3 (and the shortcut) a "
            f"{h2}×{h2} map.",
        ),
    )


def _bottleneck_macs_mistakes(b: BottleneckSetup, truth: dict[str, int]) -> list[Mistake | None]:
    h1, h2 = b.sides()
    flops = MACS_VS_FLOPS.at({"conv2": 2 * truth["conv2"]}, "This is the FLOP count.")
    if b.stride == 1:
        return [flops, BOTTLENECK_NO_EXPANSION.at({"conv3": h2 * h2 * b.planes * b.planes})]
    full = b.side * b.side
    other = (h2 if b.stride_in_1x1 else b.side) ** 2  # conv1's map with the stride moved
    return [
        flops,
        BOTTLENECK_IGNORED_STRIDE.at(
            {"conv2": full * 9 * b.planes**2, "conv3": full * b.out * b.planes}
        ),
        BOTTLENECK_STRIDE_PLACE.at({"conv1": other * b.planes * b.c_in}),
    ]


# -- ResNeXt against ResNet at the same budget ------------------------------------------------

RESNEXT_DENSE_3X3 = define(
    "resnext_dense_3x3",
    "This counts ResNeXt's 3×3 as dense; it has C groups, so it costs C times less than a "
    "dense 3×3 of the same width.",
)


def _vs_draft(rng: random.Random, difficulty: int) -> Draft:
    """ResNet-50's bottleneck against a ResNeXt block of the same stage: 32×4d, parameters or
    MACs (1); the paper's other cardinalities (2); with BatchNorm (3)."""
    planes = 8 * rng.randint(4, 64)
    card, d = (32, 4) if difficulty == 1 else rng.choice(_RESNEXT_SHAPES[1:5])
    quantity = rng.choice(("params", "macs"))
    side = rng.choice((7, 14, 28, 56))
    bn = difficulty == 3 and quantity == "params"
    c = 4 * planes
    resnet = _cost(Bottleneck, (c, planes, 1), quantity, side, bn)
    resnext = _cost(ResNeXtBlock, (c, planes, 1, card, d), quantity, side, bn)
    spec_one = AnswerSpec.number(quantity)
    spec = AnswerSpec.multi({"resnet": spec_one, "resnext": spec_one, "ratio": AnswerSpec.ratio()})
    truth: dict[str, Truth] = {
        "resnet": resnet,
        "resnext": resnext,
        "ratio": Fraction(resnext, resnet),
    }
    width = card * (planes * d // 64)
    what = "parameters" if quantity == "params" else f"MACs on a {c}×{side}×{side} input"
    prompt = (
        f"ResNeXt replaces ResNet-50's bottleneck (1×1 {c}→{planes}, 3×3 {planes}→{planes}, "
        f"1×1 {planes}→{c}) by a block of cardinality C = {card} and bottleneck width d = {d}: "
        f"1×1 {c}→D, grouped 3×3 D→D with groups = {card}, 1×1 D→{c}, where D = "
        f"C·⌊d·P/64⌋ with P = {planes}. Both blocks have an identity shortcut. Give the "
        f"{what} of (a) resnet, the ResNet block; (b) resnext, the ResNeXt block; (c) ratio, "
        f"resnext ÷ resnet. {_NO_BIAS} "
        + (f"{BN_INCLUDED} {PARAMS_RULE}" if bn else BN_EXCLUDED if quantity == "params" else "")
        + (f" {MACS_RULE} {BATCH_1}" if quantity == "macs" else "")
    )
    area = "" if quantity == "params" else f"{side}·{side}·"
    lines = [
        f"resnet: {area}({c}·{planes} + 9·{planes}·{planes} + {planes}·{c})"
        + (" + BatchNorm" if bn else "")
        + f" = {expected_display(spec_one, resnet)}",
        f"D = {card}·⌊{d}·{planes}/64⌋ = {width}; resnext: {area}({c}·{width} + "
        f"9·({width}/{card})·{width} + {width}·{c})"
        + (" + BatchNorm" if bn else "")
        + f" = {expected_display(spec_one, resnext)}",
        f"ratio = {n(resnext)} / {n(resnet)} = "
        + expected_display(spec.part_specs["ratio"], truth["ratio"]),
    ]
    dense = resnext + _dense_3x3_extra(width, card, side, quantity)
    # The blocks are designed to cost about the same: when the ratio is within the precision
    # asked of 1, its reciprocal is the same answer at that precision, so it is not named.
    inverted = Fraction(resnet, resnext)
    ratio_spec = spec.part_specs["ratio"]
    mistakes = [
        RESNEXT_DENSE_3X3.at({"resnext": dense, "ratio": Fraction(dense, resnet)}),
        None
        if indistinguishable(ratio_spec, truth["ratio"], inverted)
        else INVERTED_RATIO.at({"ratio": inverted}),
    ]
    return Draft(
        prompt=prompt,
        params={
            "in_channels": c,
            "planes": planes,
            "cardinality": card,
            "bottleneck_width": d,
            "quantity": quantity,
            "batch_norm": bn,
        }
        | ({"height": side, "width": side} if quantity == "macs" else {}),
        answer=spec,
        truth=truth,
        solution="\n".join(lines),
        mistakes=mistakes,
        conventions=(_NO_BIAS,),
        hints=(
            "Work out D first; then count each block convolution by convolution.",
            "A grouped k×k convolution from a to b channels in g groups has k·k·(a/g)·b "
            "weights" + ("; each weight is used at every output position." if area else "."),
            f"Here D = {card}·⌊{d}·{planes}/64⌋.",
        ),
    )


def _dense_3x3_extra(width: int, card: int, side: int, quantity: str) -> int:
    """What counting the grouped 3×3 as dense adds: 9·D·D·(1 − 1/C), times H·W for MACs."""
    extra = 9 * width * width - 9 * width * width // card
    return extra * (side * side if quantity == "macs" else 1)


@lru_cache(maxsize=2048)
def _cost(factory: type, args: tuple[int, ...], quantity: str, side: int, bn: bool) -> int:
    """Parameters (BatchNorm in or out) or MACs of the real block built on meta."""
    if quantity == "params":
        k = block_counts(factory, args)
        return k.total if bn else k.conv
    return measure_block(on_meta(factory, *args), (args[0], side, side)).macs


BOTTLENECK_PARAMS = Family(
    id="bottleneck_params",
    topic="resnet",
    title="Parameters of a ResNet bottleneck block (versus a basic block)",
    answer_kind="number",
    generator=_bottleneck_draft,
    expected_seconds=180.0,
    cards=("resnet-bottleneck-block", "resnet-bottleneck-vs-basic-params"),
)
BOTTLENECK_CONV_MACS = Family(
    id="bottleneck_conv_macs",
    topic="resnet",
    title="A bottleneck's three convolutions, MAC by MAC",
    answer_kind="parts",
    generator=_bottleneck_macs_draft,
    expected_seconds=240.0,
    cards=("resnet-bottleneck-block", "resnet-projection-shortcut"),
)
RESNEXT_BLOCK_PARAMS = Family(
    id="resnext_block_params",
    topic="resnext",
    title="Parameters of a ResNeXt block (cardinality and bottleneck width)",
    answer_kind="number",
    generator=_resnext_draft,
    expected_seconds=180.0,
    cards=("resnext-block-params",),
)
RESNEXT_VS_RESNET = Family(
    id="resnext_vs_resnet",
    topic="resnext",
    title="ResNeXt against ResNet at the same budget, step by step",
    answer_kind="parts",
    generator=_vs_draft,
    expected_seconds=240.0,
    cards=("resnext-50-vs-resnet-50", "resnext-grouped-implementation"),
)

FAMILIES: tuple[Family, ...] = (
    BOTTLENECK_PARAMS,
    BOTTLENECK_CONV_MACS,
    RESNEXT_BLOCK_PARAMS,
    RESNEXT_VS_RESNET,
)
