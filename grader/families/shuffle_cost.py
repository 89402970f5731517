"""What a channel shuffle costs: no multiply-accumulates, but every element read and written.

The truth runs ``models.channel_shuffle`` on a meta tensor under ``models.traffic`` (the
reshape and the transpose are views; the copy that makes the result contiguous moves the
data) and profiles ``models.ChannelShuffle`` for its MACs.
"""

from __future__ import annotations

import random

import torch

import models
from models.traffic import memory_traffic

from ..mistakes import BITS_VS_BYTES, WRONG_DTYPE_SIZE, define
from ..question import Draft, Family
from ..types import AnswerSpec, Mistake
from ._base import MEMORY_RULE, UNITS_RULE, expected_display, measure, unit_phrase
from .shufflenet_v2 import WRITES_ONLY

__all__ = ["CHANNEL_SHUFFLE_COST", "FAMILIES", "shuffle_traffic"]

TOPIC = "shufflenet-v1"

COUNTED_EVERY_STEP = define(
    "counted_every_step",
    "This copies the tensor at each of the three steps; the reshapes and the transpose are "
    "views, and only the final contiguous copy moves data.",
)
SHUFFLE_FORGOT_BATCH = define(
    "shuffle_forgot_batch", "This is for one sample; the shuffle moves the whole batch."
)


def shuffle_traffic(batch: int, channels: int, side: int, groups: int) -> int:
    """Elements read plus written by ``models.channel_shuffle`` on (batch, channels, side,
    side), measured on the meta device."""
    x = torch.empty((batch, channels, side, side), device="meta")
    return sum(op.total for op in memory_traffic(lambda t: models.channel_shuffle(t, groups), x))


def _cost(rng: random.Random, difficulty: int) -> Draft:
    g = rng.choice((2, 3, 4, 8))
    c = g * rng.choice((8, 15, 24, 30, 60, 120) if difficulty > 1 else (16, 30, 60, 120))
    side = rng.choice((7, 14, 28, 56) if difficulty < 3 else (7, 14, 17, 28, 35, 56))
    batch = 1 if difficulty < 3 else rng.choice((2, 4, 8, 16, 32))
    dtype = "float32" if difficulty == 1 else rng.choice(("float32", "float16", "int8"))
    unit = rng.choice(("KiB", "KB") if difficulty == 1 else ("KiB", "KB", "MiB", "MB"))
    bpe = {"float32": 4, "float16": 2, "int8": 1}[dtype]
    moved = shuffle_traffic(batch, c, side, g)
    prof = measure(models.ChannelShuffle(g), (c, side, side), batch)
    if prof.macs != 0:  # the premise the prompt states, checked on the engine
        raise RuntimeError("a channel shuffle was measured with MACs")
    truth = {"elements": moved, "bytes": moved * bpe}
    spec = AnswerSpec.multi(
        {"elements": AnswerSpec.number("elements"), "bytes": AnswerSpec.number("bytes", unit)}
    )
    scope = f"a batch of {batch} maps, each" if batch > 1 else "one map of"
    prompt = (
        f"A channel shuffle with g = {g} groups (reshape to (g, c/g), transpose, flatten back, "
        f"then a contiguous copy) runs on {scope} c = {c} channels of {side}×{side}, "
        f"{dtype}. It multiplies nothing (0 MACs): its whole cost is memory traffic. "
        "(a) elements: how many elements does it read and write in all? (b) bytes: that "
        f"memory traffic in {unit_phrase(unit)}. {MEMORY_RULE} {UNITS_RULE}"
    )
    per = c * side * side
    solution = (
        f"the reshapes and the transpose are views; the copy reads and writes every element "
        f"once: 2 × {batch}·{c}·{side}·{side} = "
        f"{expected_display(spec.part_specs['elements'], moved)}; × {bpe} B = "
        f"{expected_display(spec.part_specs['bytes'], moved * bpe)}"
    )
    mistakes: list[Mistake | None] = [
        WRITES_ONLY.at({"elements": moved // 2, "bytes": moved // 2 * bpe}),
        COUNTED_EVERY_STEP.at({"elements": 3 * moved, "bytes": 3 * moved * bpe}),
        SHUFFLE_FORGOT_BATCH.at({"elements": 2 * per, "bytes": 2 * per * bpe})
        if batch > 1
        else None,
        WRONG_DTYPE_SIZE.at(
            {"bytes": moved * 4}, f"This uses 4 bytes per element; {dtype} takes {bpe}."
        )
        if bpe != 4
        else None,  # fmt: skip
        BITS_VS_BYTES.at({"bytes": moved * bpe * 8}),
    ]
    return Draft(
        prompt=prompt,
        params={
            "groups": g,
            "channels": c,
            "height": side,
            "width": side,
            "batch": batch,
            "dtype": dtype,
            "unit": unit,
        },  # fmt: skip
        answer=spec,
        truth=truth,
        solution=solution,
        mistakes=mistakes,
        conventions=(MEMORY_RULE, UNITS_RULE),
        hints=(
            "Which of the steps actually move data? A view only changes how memory is indexed.",
            "The contiguous copy reads N·c·h·w elements and writes N·c·h·w; nothing is multiplied.",
            f"Here N = {batch}, c = {c}, h = w = {side}, {bpe} B per {dtype} element.",
        ),
    )


CHANNEL_SHUFFLE_COST = Family(
    id="channel_shuffle_cost",
    topic=TOPIC,
    title="Cost of a channel shuffle: memory traffic, no MACs",
    answer_kind="parts",
    generator=_cost,
    expected_seconds=120.0,
    cards=("shufflenet-v1-shuffle-implementation", "shufflenet-v1-shuffle-differentiable"),
)

FAMILIES: tuple[Family, ...] = (CHANNEL_SHUFFLE_COST,)
