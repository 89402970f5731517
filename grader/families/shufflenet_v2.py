"""ShuffleNet v2 beyond G1/G2: the channel-split unit's cost, fragmentation (G3) and the
memory traffic of element-wise operations (G4).

Truths come from the blocks of ``models`` built on the meta device: parameters from
``block_counts``, MACs from ``measure_block``, and memory traffic from ``models.traffic``,
which records the elements each aten operator reads and writes. The closed forms
(2·(c/2)² + 9·(c/2) per position; 4·m·h·w + 5·c·h·w element-wise elements) are in the
solutions, the mistakes and the tests.
"""

from __future__ import annotations

import random
from fractions import Fraction

import torch
from torch import nn

import models
from models.traffic import memory_traffic

from ..mistakes import IGNORED_GROUPS, WRONG_DTYPE_SIZE, define
from ..question import Draft, Family
from ..types import AnswerSpec, Mistake, Truth
from ._base import (
    BN_EXCLUDED,
    MACS_RULE,
    block_counts,
    expected_display,
    measure,
    measure_block,
    n,
    on_meta,
    unit_bytes,
    unit_phrase,
)
from .inception import _random_config, _reduced_text

__all__ = [
    "SHUFFLENET_V2_UNIT_COST",
    "SHUFFLENET_V2_FRAGMENTATION",
    "SHUFFLENET_V2_ELEMENTWISE",
    "FAMILIES",
    "elementwise_traffic",
]

TOPIC = "shufflenet-v2"

IGNORED_SPLIT = define(
    "ignored_split",
    "This runs the branch on all c channels; the channel split sends only c/2 through it.",
)
BOTH_HALVES = define(
    "both_halves",
    "Only one half of the split goes through convolutions; the other passes unchanged.",
)
COUNTED_BRANCHES = define(
    "counted_branches",
    "This counts branches; a branch of two convolutions launches two operators.",
)
FORGOT_REDUCTIONS = define(
    "forgot_reductions_ops",
    "This leaves out the 1×1 reductions and the pool projection: each is a separate convolution.",
)
WRITES_ONLY = define(
    "writes_only",
    "This counts only the writes; every element-wise operator also reads its inputs.",
)
ADD_READS_ONE = define(
    "add_reads_one",
    "The shortcut addition reads TWO tensors (the branch and the identity) and writes one.",
)
FORGOT_FINAL_RELU = define("forgot_final_relu", "This leaves out the ReLU after the addition.")

CHEAPEST_VS_LARGEST = define(
    "cheapest_vs_largest", "This is the most expensive convolution's share; the cheapest was asked."
)
CHEAPEST_VS_MEAN = define(
    "cheapest_vs_mean",
    "This is an even share per convolution; the convolutions of a module differ widely in cost.",
)
COUNTED_POOL = define(
    "counted_pool_as_conv",
    "The max pool is an operator but not a convolution; it has no MACs.",
)

_SPLIT_RULE = (
    "Channel split gives two halves of c/2 channels; one passes unchanged, the other goes "
    "through 1×1 conv → 3×3 depthwise conv (padding 1) → 1×1 conv, all c/2 wide with no bias; "
    "the halves are concatenated and shuffled."
)

# -- the channel-split unit -------------------------------------------------------------------


def _unit(rng: random.Random, difficulty: int) -> Draft:
    # Half-widths: ShuffleNet v2's own (24, 58, 116, 176, 244...) and others alike.
    c = 2 * (rng.randrange(8, 257, 4) if difficulty == 1 else rng.randint(10, 300))
    side = rng.choice((7, 14, 28, 56) if difficulty < 3 else (7, 10, 14, 20, 28, 40, 56))
    counts = block_counts(models.ShuffleNetV2Unit, (c, c, 1))
    prof = measure_block(on_meta(models.ShuffleNetV2Unit, c, c, 1), (c, side, side))
    truth = {"params": counts.conv, "macs": prof.macs}
    spec = AnswerSpec.multi(
        {"params": AnswerSpec.number("params"), "macs": AnswerSpec.number("macs")}
    )
    b = c // 2
    per_position = 2 * b * b + 9 * b
    prompt = (
        f"A stride-1 ShuffleNet v2 unit has c = {c} input and output channels on a "
        f"{side}×{side} map. {_SPLIT_RULE} (a) params: the parameters of its convolutions; "
        f"(b) macs: the MACs of one forward pass. {BN_EXCLUDED} {MACS_RULE}"
    )
    solution = (
        f"c/2 = {b}; params = 2·(c/2)² + 9·(c/2) = 2·{b}² + 9·{b} = "
        f"{expected_display(AnswerSpec.number('params'), truth['params'])}; MACs = h·w·params "
        f"= {side}·{side}·{n(per_position)} = "
        f"{expected_display(AnswerSpec.number('macs'), truth['macs'])}"
    )
    full = 2 * c * c + 9 * c
    mistakes: list[Mistake | None] = [
        IGNORED_SPLIT.at({"params": full, "macs": side * side * full}),
        BOTH_HALVES.at({"params": 2 * per_position, "macs": 2 * side * side * per_position}),
        IGNORED_GROUPS.at(
            {"params": 2 * b * b + 9 * b * b, "macs": side * side * (2 * b * b + 9 * b * b)},
            "This treats the 3×3 as a dense convolution; it is depthwise (one 3×3 filter per "
            "channel).",
        ),
    ]
    return Draft(
        prompt=prompt,
        params={"channels": c, "height": side, "width": side},
        answer=spec,
        truth=truth,
        solution=solution,
        mistakes=mistakes,
        conventions=(BN_EXCLUDED, MACS_RULE),
        hints=(
            "Only the branch has weights: find its width after the split first.",
            "Two 1×1 convs of (c/2)² weights and a 3×3 depthwise of 9·(c/2); MACs = h·w × that "
            "(stride 1, 'same' padding).",
            f"Here c = {c} on {side}×{side}.",
        ),
    )


# -- G3: fragmentation ----------------------------------------------------------------------


def _fragmentation(rng: random.Random, difficulty: int) -> Draft:
    cfg = _random_config(rng)
    side = rng.choice((7, 14, 28) if difficulty == 1 else (7, 14, 28, 56))
    block = on_meta(models.Inception, cfg)
    convs = [m for m in block.modules() if isinstance(m, nn.Conv2d)]
    # Each convolution on its own ('same' padding, stride 1: every one sees side×side).
    each = [measure(c, (c.in_channels, side, side)).macs for c in convs]
    macs = measure_block(on_meta(models.Inception, cfg), (cfg.in_channels, side, side)).macs
    smallest = Fraction(min(each), macs)
    spec = AnswerSpec.multi(
        {
            "convs": AnswerSpec.number("count"),
            "macs": AnswerSpec.number("macs"),
            "smallest": AnswerSpec.ratio(0.01, unit="%"),
        }
    )
    truth: dict[str, Truth] = {"convs": len(convs), "macs": macs, "smallest": smallest}
    prompt = (
        f"ShuffleNet v2's guideline G3 warns against fragmented blocks: many small operators "
        f"instead of a few large ones. Take a GoogLeNet inception module on a "
        f"{cfg.in_channels}×{side}×{side} input with four branches: {_reduced_text(cfg)} "
        "(a) convs: how many separate convolutions does it run? (b) macs: its MACs? "
        "(c) smallest: what percentage of the block's MACs does its cheapest convolution do? "
        f"{MACS_RULE}"
    )
    solution = (
        f"convolutions: 1 + 2 + 2 + 1 = {len(convs)}; MACs = {side}²·({cfg.in_channels}·"
        f"{cfg.ch1x1} + {cfg.in_channels}·{cfg.ch3x3red} + 9·{cfg.ch3x3red}·{cfg.ch3x3} + "
        f"{cfg.in_channels}·{cfg.ch5x5red} + 25·{cfg.ch5x5red}·{cfg.ch5x5} + "
        f"{cfg.in_channels}·{cfg.pool_proj}) = {expected_display(spec.part_specs['macs'], macs)}"
        f"; per convolution: {', '.join(n(m) for m in each)}; the cheapest does {n(min(each))}"
        f" / {n(macs)} = {expected_display(spec.part_specs['smallest'], smallest)}"
    )
    mistakes: list[Mistake | None] = [
        COUNTED_BRANCHES.at({"convs": 4}),
        FORGOT_REDUCTIONS.at({"convs": 3}),
        COUNTED_POOL.at({"convs": len(convs) + 1}),
        CHEAPEST_VS_LARGEST.at({"smallest": Fraction(max(each), macs)}),
        CHEAPEST_VS_MEAN.at({"smallest": Fraction(1, len(convs))}),
    ]
    return Draft(
        prompt=prompt,
        params={**vars(cfg), "height": side, "width": side},
        answer=spec,
        truth=truth,
        solution=solution,
        mistakes=mistakes,
        conventions=(MACS_RULE, "Every convolution uses 'same' padding and stride 1."),
        hints=(
            "List the operators branch by branch: a reduction and the conv after it are two "
            "operators.",
            "MACs of a k×k conv = H·W·C_in·C_out·k² ('same' padding, stride 1); compare each "
            "convolution's MACs with the block's.",
            f"Here H = W = {side} and C_in = {cfg.in_channels} for the 1×1 convs on the input.",
        ),
    )


# -- G4: element-wise operations --------------------------------------------------------------

_DTYPES = {"float32": torch.float32, "float16": torch.float16}
_ELEMENTWISE = {"relu", "relu_", "add", "add_"}


def elementwise_traffic(c: int, side: int) -> tuple[int, int]:
    """(elements moved by the ReLUs and the addition, elements moved by every operator) of a
    stride-1 ResNet bottleneck with c channels (bottleneck c/4) on side×side, BatchNorm left
    out (folded), measured by ``models.traffic``."""
    block = on_meta(models.Bottleneck, c, c // 4, 1)
    for name in ("bn1", "bn2", "bn3"):
        setattr(block, name, nn.Identity())
    block.eval()
    ops = memory_traffic(block, torch.empty((1, c, side, side), device="meta"))
    return (
        sum(o.total for o in ops if o.op in _ELEMENTWISE),
        sum(o.total for o in ops),
    )


def _elementwise(rng: random.Random, difficulty: int) -> Draft:
    c = rng.randrange(64, 2049, 32) if difficulty == 1 else rng.randrange(64, 2049, 16)
    side = rng.choice((7, 14, 28, 56) if difficulty < 3 else (7, 9, 14, 17, 28, 35, 56))
    dtype = "float32" if difficulty == 1 else rng.choice(tuple(_DTYPES))
    unit = rng.choice(("KiB", "MiB") if difficulty == 1 else ("KiB", "KB", "MiB", "MB"))
    bpe = 4 if dtype == "float32" else 2
    moved, total = elementwise_traffic(c, side)
    m = c // 4
    hw = side * side
    truth: dict[str, Truth] = {"bytes": moved * bpe, "share": Fraction(moved, total)}
    spec = AnswerSpec.multi({"bytes": AnswerSpec.number("bytes", unit), "share": _SHARE})
    prompt = (
        f"ShuffleNet v2's guideline G4 says element-wise operations cost memory traffic, not "
        f"MACs. Take a stride-1 ResNet bottleneck with c = {c} channels (1×1 to {m}, 3×3 "
        f"{m}→{m}, 1×1 back to {c}, no bias, BatchNorm folded away) on a {side}×{side} map, "
        f"{dtype} tensors, with a ReLU after the first two convolutions and after the "
        "shortcut addition. An operator reads each of its input tensors once (a convolution "
        "also its weights) and writes its output once. (a) bytes: how much memory traffic do "
        f"the three ReLUs and the addition cause, in {unit_phrase(unit)}? (b) share: what "
        "percentage of the block's memory traffic (every operator, convolutions included) is "
        "theirs?"
    )
    solution = (
        f"ReLUs on the {m}-channel maps: 2 × (read + write) × {m}·{hw}; addition: reads 2, "
        f"writes 1 × {c}·{hw}; last ReLU: 2 × {c}·{hw}. Elements = 4·{m}·{hw} + 5·{c}·{hw} = "
        f"{n(moved)}; × {bpe} B = {n(moved * bpe)} B = "
        f"{expected_display(spec.part_specs['bytes'], truth['bytes'])}; share = {n(moved)} / "
        f"{n(total)} elements = {expected_display(_SHARE, truth['share'])}"
    )
    writes = 2 * m * hw + 2 * c * hw
    one_read = moved - c * hw
    no_last = moved - 2 * c * hw
    mistakes: list[Mistake | None] = [
        WRITES_ONLY.at({"bytes": writes * bpe, "share": Fraction(writes, total)}),
        ADD_READS_ONE.at({"bytes": one_read * bpe, "share": Fraction(one_read, total)}),
        FORGOT_FINAL_RELU.at({"bytes": no_last * bpe, "share": Fraction(no_last, total)}),
        WRONG_DTYPE_SIZE.at(
            {"bytes": moved * 4}, f"This uses 4 bytes per element; {dtype} takes {bpe}."
        )
        if bpe != 4
        else None,  # fmt: skip
    ]
    return Draft(
        prompt=prompt,
        params={"channels": c, "height": side, "width": side, "dtype": dtype, "unit": unit},
        answer=spec,
        truth=truth,
        solution=solution,
        mistakes=mistakes,
        conventions=("An operator reads each input once and writes its output once.",),
        hints=(
            "Go operator by operator: a ReLU reads and writes its tensor; the addition reads "
            "two tensors and writes one.",
            "Each of the two inner ReLUs reads and writes m·h·w elements (m is a quarter of c), "
            "the addition reads two c·h·w tensors and writes one, the last ReLU reads and writes "
            "c·h·w; a convolution moves its input, its weights and its output.",
            f"Here m = {m}, c = {c}, h·w = {hw}, and {dtype} takes {bpe} B per element; "
            f"1 {unit} = {n(unit_bytes(unit))} B.",
        ),
    )


_SHARE = AnswerSpec.percent(0.5)


SHUFFLENET_V2_UNIT_COST = Family(
    id="shufflenet_v2_unit_cost",
    topic=TOPIC,
    title="ShuffleNet v2 channel-split unit: parameters and MACs",
    answer_kind="parts",
    generator=_unit,
    expected_seconds=150.0,
    cards=("shufflenet-v2-channel-split-unit", "shufflenet-v2-unit-vs-guidelines"),
)
SHUFFLENET_V2_FRAGMENTATION = Family(
    id="shufflenet_v2_fragmentation",
    topic=TOPIC,
    title="Fragmentation (G3): operators and work per operator of an inception module",
    answer_kind="parts",
    generator=_fragmentation,
    expected_seconds=180.0,
    cards=("shufflenet-v2-g3-fragmentation", "shufflenet-v2-guidelines"),
)
SHUFFLENET_V2_ELEMENTWISE = Family(
    id="shufflenet_v2_elementwise",
    topic=TOPIC,
    title="Element-wise operations (G4): memory traffic of ReLUs and the shortcut addition",
    answer_kind="parts",
    generator=_elementwise,
    expected_seconds=180.0,
    cards=("shufflenet-v2-g4-elementwise", "shufflenet-v2-guidelines"),
)

FAMILIES: tuple[Family, ...] = (
    SHUFFLENET_V2_UNIT_COST,
    SHUFFLENET_V2_FRAGMENTATION,
    SHUFFLENET_V2_ELEMENTWISE,
)
