"""Channel shuffle (ShuffleNet v1): where a channel lands, read off the real shuffle.

The shuffle is run on an index tensor ``arange(C)`` (C ≤ 1,000 numbers on the CPU, so cheap):
position j of the output holds the input channel that went there.
"""

from __future__ import annotations

import random

import torch

import models

from ..mistakes import OFF_BY_ONE, define
from ..question import Draft, Family
from ..types import AnswerSpec
from ._layer_util import expected_display, keep_mistakes

__all__ = ["shuffled_order", "CHANNEL_SHUFFLE_POSITION", "FAMILIES"]

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
        channels, groups = rng.choice(((6, 2), (6, 3), (8, 2), (8, 4), (12, 3), (12, 4), (16, 4)))
        return channels, groups, "dest"
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
        mistakes=keep_mistakes(spec, truth, candidates),
        conventions=(_ZERO_BASED,),
    )


CHANNEL_SHUFFLE_POSITION = Family(
    "channel_shuffle_position",
    TOPIC,
    "Where a channel lands after a channel shuffle",
    "number",
    _position,
    expected_seconds=60.0,
)

FAMILIES: tuple[Family, ...] = (CHANNEL_SHUFFLE_POSITION,)
