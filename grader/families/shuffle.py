"""ShuffleNet v1: where a channel lands after the shuffle, and the MACs of a shuffle unit.

The shuffle is run on an index tensor ``arange(C)`` (C ≤ 1,000 numbers on the CPU, so cheap):
position j of the output holds the input channel that went there. The unit's MACs come from
``models.ShuffleNetV1Unit`` built on the meta device and profiled (``measure_block``).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from functools import lru_cache

import torch

import models
from models.nets import SHUFFLENET_V1_CHANNELS

from ..mistakes import IGNORED_GROUPS, MACS_VS_FLOPS, OFF_BY_ONE, define
from ..question import Draft, Family
from ..types import AnswerSpec, Mistake
from ._base import BATCH_1, MACS_RULE, expected_display, measure_block, on_meta

__all__ = [
    "shuffled_order",
    "UnitSetup",
    "draw_unit",
    "CHANNEL_SHUFFLE_POSITION",
    "SHUFFLENET_UNIT_MACS",
    "FAMILIES",
]

TOPIC = "shufflenet-v1"

INVERSE_PERMUTATION = define(
    "inverse_permutation",
    "This runs the shuffle backwards (as if g and C/g were swapped): the reshape is to "
    "(g, C/g), the transpose to (C/g, g).",
)
NOT_MOVED = define(
    "not_moved",
    "This leaves the channel where it was; the shuffle moves every channel whose group and "
    "offset differ.",
)

_ZERO_BASED = "Channels and positions are numbered from 0."


def shuffled_order(channels: int, groups: int) -> list[int]:
    """``out[j]``: the input channel at output position ``j`` after ``models.channel_shuffle``."""
    index = torch.arange(channels, dtype=torch.float32).view(1, channels, 1, 1)
    return [int(v) for v in models.channel_shuffle(index, groups).flatten().tolist()]


def _draw(rng: random.Random, difficulty: int) -> tuple[int, int, str]:
    """(channels, groups, direction): 'dest' asks where a channel goes, 'source' the reverse."""
    if difficulty == 1:
        groups = rng.choice((2, 3, 4))
        return groups * rng.randint(2, 6), groups, "dest"
    if difficulty == 2:
        groups = rng.choice((2, 3, 4, 8))
        return groups * rng.choice((3, 4, 5, 6, 8, 12, 15, 30)), groups, "dest"
    # ShuffleNet v1's stage widths per group count (Table 1 of the paper), and their doubles.
    groups, channels = rng.choice(
        ((2, 200), (2, 400), (3, 240), (3, 480), (4, 272), (4, 544), (8, 384), (8, 768))
    )
    return channels, groups, rng.choice(("dest", "source"))


def _position(rng: random.Random, difficulty: int) -> Draft:
    channels, groups, direction = _draw(rng, difficulty)
    order = shuffled_order(channels, groups)
    per_group = channels // groups
    asked = rng.randrange(channels)
    if direction == "dest":
        truth = order.index(asked)
        question = f"At which position does input channel {asked} end up?"
        a, b = divmod(asked, per_group)
        reason = (
            f"channel {asked} is in group a = {asked} // {per_group} = {a} at offset "
            f"b = {asked} % {per_group} = {b}; after the transpose it sits at b·g + a = "
            f"{b}·{groups} + {a}"
        )
        inverse = order[asked]
    else:
        truth = order[asked]
        question = f"Which input channel ends up at position {asked}?"
        b, a = divmod(asked, groups)
        reason = (
            f"position {asked} = b·g + a with b = {asked} // {groups} = {b} and "
            f"a = {asked} % {groups} = {a}; it holds channel a·(C/g) + b = {a}·{per_group} + {b}"
        )
        inverse = order.index(asked)
    spec = AnswerSpec.number("position")
    prompt = (
        f"A channel shuffle with g = {groups} groups (nn.ChannelShuffle({groups}): view the "
        f"channels as (g, C/g), transpose to (C/g, g), flatten) is applied to a tensor with "
        f"C = {channels} channels. {question} {_ZERO_BASED}"
    )
    solution = (
        f"The {channels} channels form a {groups} × {per_group} grid (group a, offset b); "
        f"the transpose reads it column by column, so {reason} = "
        f"{expected_display(spec, truth)}"
    )
    candidates = [
        INVERSE_PERMUTATION.at(inverse),
        NOT_MOVED.at(asked),
        OFF_BY_ONE.at(truth + 1, "This counts from 1; channels and positions start at 0."),
    ]
    return Draft(
        prompt=prompt,
        params={
            "in_channels": channels,
            "groups": groups,
            "index": asked,
            "direction": direction,
        },
        answer=spec,
        truth=truth,
        solution=solution,
        mistakes=candidates,
        conventions=(_ZERO_BASED,),
        hints=(
            "Lay the channels out as a grid with one row per group (g rows of C/g); the "
            "transpose reads that grid column by column.",
            "Channel i is in row a = i // (C/g) at column b = i % (C/g), and lands at position "
            "b·g + a; position j holds channel (j % g)·(C/g) + j // g.",
            f"Here the grid has {groups} rows of {per_group}.",
        ),
    )


# -- the MACs of a shuffle unit, convolution by convolution ------------------------------------

SHUFFLE_DENSE_DEPTHWISE = define(
    "shuffle_dense_depthwise",
    "This counts the 3×3 as a dense convolution; it is depthwise: one 3×3 filter per channel.",
)
SHUFFLE_IGNORED_STRIDE = define(
    "shuffle_ignored_stride",
    "This ignores the stride: the 3×3 depthwise convolution has stride 2, so it and the last "
    "1×1 work on a map half as high and half as wide.",
)
SHUFFLE_FULL_BRANCH = define(
    "shuffle_full_branch",
    "At stride 2 the branch is concatenated with the pooled input, so the last 1×1 outputs "
    "only C_out − C_in channels.",
)
SHUFFLE_GROUPED_FIRST = define(
    "shuffle_grouped_first",
    "This unit's first 1×1 convolution is not grouped (its input has only 24 channels).",
)
_PARTS = ("gconv1", "dwconv", "gconv2", "total")


@dataclass(frozen=True)
class UnitSetup:
    """One ``ShuffleNetV1Unit`` and the side of its square input."""

    in_channels: int
    out_channels: int
    groups: int
    stride: int
    side: int
    first_grouped: bool = True

    @property
    def mid(self) -> int:
        """Bottleneck channels: a quarter of the output."""
        return self.out_channels // 4

    @property
    def branch(self) -> int:
        """Channels the residual branch outputs (the rest come from the pooled input)."""
        return self.out_channels - (self.in_channels if self.stride == 2 else 0)

    @property
    def side_out(self) -> int:
        """The side after the 3×3 depthwise convolution (padding 1)."""
        return (self.side - 1) // self.stride + 1

    def valid(self) -> bool:
        """Whether ``ShuffleNetV1Unit`` accepts it (every grouped width divisible by g)."""
        g = self.groups
        ok = self.mid > 0 and self.branch > 0 and self.mid % g == 0 and self.branch % g == 0
        return ok and (self.in_channels % g == 0 or not self.first_grouped)


def draw_unit(rng: random.Random, difficulty: int) -> UnitSetup:
    """1: a stride-1 unit of ShuffleNet v1 at a width and resolution; 2: a stage's first,
    stride-2 unit; 3: any widths and sides."""
    for _ in range(100):
        setup = _unit_candidate(rng, difficulty)
        if setup.valid():
            return setup
    return UnitSetup(240, 240, 3, 1, 28)  # ShuffleNet 1× (g = 3), stage 3


def _unit_candidate(rng: random.Random, difficulty: int) -> UnitSetup:
    g = rng.choice(tuple(SHUFFLENET_V1_CHANNELS))
    scale = rng.choice((0.5, 1.0, 1.5, 2.0))
    widths = [int(c * scale) for c in SHUFFLENET_V1_CHANNELS[g]]
    stage = rng.randrange(3)
    side = rng.choice((224, 192, 160, 128)) // (8 << stage)
    if difficulty == 1:
        return UnitSetup(widths[stage], widths[stage], g, 1, side)
    if difficulty == 2:
        c_in = widths[stage - 1] if stage else 24
        return UnitSetup(c_in, widths[stage], g, 2, 2 * side, first_grouped=stage > 0)
    g = rng.choice((2, 3, 4, 8))
    mid, stride = g * rng.randint(3, 40), rng.choice((1, 2))
    c_in = 4 * mid if stride == 1 else g * rng.randint(2, mid // g * 3)
    return UnitSetup(c_in, 4 * mid, g, stride, rng.randint(7, 60))


@lru_cache(maxsize=1024)
def _unit_macs(u: UnitSetup) -> tuple[int, int, int, int]:
    """(gconv1, dwconv, gconv2, total) MACs of the real unit, profiled on meta."""
    unit = on_meta(
        models.ShuffleNetV1Unit,
        u.in_channels,
        u.out_channels,
        u.groups,
        u.stride,
        u.first_grouped,
    )
    prof = measure_block(unit, (u.in_channels, u.side, u.side))
    rows = [prof.row(f"{name}.conv").macs for name in _PARTS[:3]]
    return rows[0], rows[1], rows[2], prof.macs


def _unit_text(u: UnitSetup) -> str:
    g1 = u.groups if u.first_grouped else 1
    first = f"groups = {g1}" if g1 > 1 else "not grouped"
    shortcut = (
        "identity shortcut added to the branch"
        if u.stride == 1
        else f"3×3 average pool (stride 2) of the input concatenated with the branch, which "
        f"therefore outputs {u.out_channels} − {u.in_channels} channels"
    )
    return (
        f"1×1 group conv {u.in_channels}→{u.mid} ({first}), BN, ReLU; channel shuffle; 3×3 "
        f"depthwise conv on {u.mid} channels (stride {u.stride}, padding 1), BN; 1×1 group "
        f"conv {u.mid}→{u.branch} (groups = {u.groups}), BN; then the {shortcut}; ReLU"
    )


def _unit_macs_draft(rng: random.Random, difficulty: int) -> Draft:
    u = draw_unit(rng, difficulty)
    truth = dict(zip(_PARTS, _unit_macs(u), strict=True))
    macs = AnswerSpec.number("macs")
    spec = AnswerSpec.multi(dict.fromkeys(_PARTS, macs))
    prompt = (
        f"A ShuffleNet v1 unit with g = {u.groups} groups and stride {u.stride} receives a "
        f"{u.in_channels}×{u.side}×{u.side} input and outputs {u.out_channels} channels; its "
        f"bottleneck has C_out/4 = {u.mid} channels: {_unit_text(u)}. Give the MACs of "
        f"(a) gconv1, the first 1×1; (b) dwconv, the 3×3 depthwise; (c) gconv2, the last 1×1; "
        f"(d) total, the whole unit. {MACS_RULE} {BATCH_1}"
    )
    h, h2, g1 = u.side, u.side_out, u.groups if u.first_grouped else 1
    shown = {name: expected_display(macs, value) for name, value in truth.items()}
    lines = [
        f"gconv1: {h}·{h}·{u.mid}·({u.in_channels}/{g1}) = {shown['gconv1']}",
        f"dwconv: {h2}·{h2}·{u.mid}·3·3 = {shown['dwconv']}",
        f"gconv2: {h2}·{h2}·{u.branch}·({u.mid}/{u.groups}) = {shown['gconv2']}",
        "total (shuffle, pooling, addition and concatenation cost 0) = "
        + expected_display(macs, truth["total"]),
    ]
    return Draft(
        prompt=prompt,
        params={
            "in_channels": u.in_channels,
            "out_channels": u.out_channels,
            "groups": u.groups,
            "stride": u.stride,
            "height": u.side,
            "width": u.side,
            "first_groups": g1,
        },
        answer=spec,
        truth=truth,
        solution="\n".join(lines),
        mistakes=_unit_mistakes(u, truth),
        conventions=(MACS_RULE, BATCH_1),
        hints=(
            "Take the three convolutions one at a time; only the 3×3 and the 1×1 after it see "
            "the strided map.",
            "MACs of a convolution = H_out·W_out·C_out·(C_in/groups)·k_h·k_w; a depthwise 3×3 "
            "has groups = channels.",
            f"Here the maps are {h}×{h} before the 3×3 and {h2}×{h2} after it, and the branch "
            f"outputs {u.branch} channels.",
        ),
    )


def _unit_mistakes(u: UnitSetup, truth: dict[str, int]) -> list[Mistake | None]:
    h, h2, total = u.side, u.side_out, truth["total"]
    dense1 = h * h * u.in_channels * u.mid
    dense2 = h2 * h2 * u.mid * u.branch
    out: list[Mistake | None] = [
        MACS_VS_FLOPS.at({"total": 2 * total}, "This is the FLOP count; MACs were asked."),
        SHUFFLE_DENSE_DEPTHWISE.at({"dwconv": h2 * h2 * u.mid * u.mid * 9}),
        IGNORED_GROUPS.at(
            {"gconv2": dense2, "total": total - truth["gconv2"] + dense2}
            | ({"gconv1": dense1} if u.first_grouped else {})
        ),
    ]
    if not u.first_grouped:
        out.append(SHUFFLE_GROUPED_FIRST.at({"gconv1": dense1 // u.groups}))
    if u.stride == 2:
        full = h2 * h2 * u.mid * u.out_channels // u.groups
        out.append(SHUFFLE_FULL_BRANCH.at({"gconv2": full}))
        out.append(
            SHUFFLE_IGNORED_STRIDE.at(
                {"dwconv": h * h * u.mid * 9, "gconv2": h * h * u.mid * u.branch // u.groups}
            )
        )
    return out


CHANNEL_SHUFFLE_POSITION = Family(
    id="channel_shuffle_position",
    topic=TOPIC,
    title="Where a channel lands after a channel shuffle",
    answer_kind="number",
    generator=_position,
    expected_seconds=60.0,
    cards=("shufflenet-v1-shuffle-implementation",),
)
SHUFFLENET_UNIT_MACS = Family(
    id="shufflenet_unit_macs",
    topic=TOPIC,
    title="MACs of a ShuffleNet v1 unit, convolution by convolution",
    answer_kind="parts",
    generator=_unit_macs_draft,
    expected_seconds=240.0,
    cards=("shufflenet-v1-unit", "shufflenet-v1-unit-cost"),
)

FAMILIES: tuple[Family, ...] = (CHANNEL_SHUFFLE_POSITION, SHUFFLENET_UNIT_MACS)
