"""ShuffleNet v2's memory access cost (MAC) of a 1×1 convolution, and guideline G1: at equal
multiply-accumulates, balanced widths read and write the least.

The memory access cost is ``h·w·(c1 + c2) + c1·c2/g`` by definition (``models.mem_access_1x1``):
input map, output map and weights. Here each term is read off the real layer built on the meta
device: the profiled input and output shapes and the layer's parameter count (no bias), and
the multiply-accumulates that G1 holds equal come from the same profile.
"""

from __future__ import annotations

import random
from fractions import Fraction
from math import prod

from torch import nn

from ..mistakes import IGNORED_GROUPS, INVERTED_RATIO, define
from ..question import Draft, Family
from ..types import AnswerSpec, Mistake
from ._base import call, expected_display, measure, n

__all__ = ["memory_access", "SHUFFLENET_V2_MEM_ACCESS", "FAMILIES"]

TOPIC = "shufflenet-v2"

FORGOT_WEIGHTS = define(
    "forgot_weights",
    "This leaves out the weights (c1·c2/g elements), which the layer must also read.",
)
FORGOT_FEATURE_MAPS = define(
    "forgot_feature_maps",
    "This counts only the weights; reading the input map (h·w·c1) and writing the output map "
    "(h·w·c2) are most of the memory traffic.",
)
COUNTED_ONE_MAP = define(
    "counted_one_map",
    "This counts one feature map; the layer reads its input (h·w·c1) and writes its output "
    "(h·w·c2).",
)
GAVE_MULTIPLY_ACCUMULATES = define(
    "gave_multiply_accumulates",
    "This is the multiply-accumulate count h·w·c1·c2/g; ShuffleNet v2's MAC is memory access "
    "cost, the elements read and written.",
)
COUNTED_BYTES = define(
    "counted_bytes",
    "This is in bytes (4 per float32 element); the memory access cost counts elements.",
)
EQUAL_FLOPS = define(
    "equal_flops",
    "Equal multiply-accumulates do not mean equal memory access: unbalanced widths read and "
    "write more (guideline G1).",
)

_DEFINITION = (
    "In ShuffleNet v2's sense the memory access cost (MAC) of a layer is the number of "
    "elements it reads and writes: its input feature map, its output feature map and its "
    "weights (not multiply-accumulates, not bytes). Batch size 1."
)


def conv1x1(c1: int, c2: int, groups: int = 1) -> nn.Conv2d:
    """A bias-free 1×1 convolution on the meta device."""
    return nn.Conv2d(c1, c2, 1, groups=groups, bias=False, device="meta")


def memory_access(c1: int, c2: int, h: int, w: int, groups: int = 1) -> tuple[int, int]:
    """(memory access cost, multiply-accumulates) of the 1×1 convolution, from its profile."""
    prof = measure(conv1x1(c1, c2, groups), (c1, h, w))
    return prod(prof.input_shape) + prod(prof.output_shape) + prof.params, prof.macs


def _text(c1: int, c2: int, groups: int) -> str:
    if groups == 1:
        return call("nn.Conv2d", c1, c2, 1, bias=False)
    return call("nn.Conv2d", c1, c2, 1, groups=groups, bias=False)


def _terms(c1: int, c2: int, h: int, w: int, g: int) -> str:
    weights = f"{c1}·{c2}/{g}" if g > 1 else f"{c1}·{c2}"
    return (
        f"h·w·(c1 + c2) + c1·c2/g = {h}·{w}·({c1} + {c2}) + {weights} = "
        f"{n(h * w * (c1 + c2))} + {n(c1 * c2 // g)}"
    )


def _single(rng: random.Random, difficulty: int) -> Draft:
    if difficulty == 1:
        g = 1
        c1 = rng.choice((16, 24, 32, 48, 58, 64, 96, 116, 128, 232, 256))
        c2 = rng.choice((16, 32, 48, 64, 96, 128, 256))
        h = w = rng.choice((7, 14, 28, 56))
    else:
        g = rng.choice((1, 2, 4, 8))
        c1, c2 = g * rng.randint(4, 64), g * rng.randint(4, 64)
        h, w = rng.choice((7, 14, 28, 56)), rng.choice((7, 14, 28, 56))
    truth, macs = memory_access(c1, c2, h, w, g)
    spec = AnswerSpec.number("elements")
    prompt = (
        f"{_DEFINITION} What is the memory access cost of the 1×1 convolution "
        f"{_text(c1, c2, g)} on a {c1}×{h}×{w} input, in elements?"
    )
    solution = f"MAC = {_terms(c1, c2, h, w, g)} = {expected_display(spec, truth)}"
    maps = h * w * (c1 + c2)
    candidates = [
        FORGOT_WEIGHTS.at(maps),
        FORGOT_FEATURE_MAPS.at(truth - maps),
        COUNTED_ONE_MAP.at(truth - h * w * c2),
        GAVE_MULTIPLY_ACCUMULATES.at(macs),
        IGNORED_GROUPS.at(maps + c1 * c2) if g > 1 else None,
        COUNTED_BYTES.at(truth * 4),
    ]
    return Draft(
        prompt=prompt,
        params={"in_channels": c1, "out_channels": c2, "groups": g, "height": h, "width": w},
        answer=spec,
        truth=truth,
        solution=solution,
        mistakes=candidates,
        conventions=(_DEFINITION,),
        hints=_HINTS + (f"Here h·w = {h}·{w}, c1 = {c1}, c2 = {c2}, g = {g}.",),
    )


_HINTS = (
    "Count what the layer reads and writes: its input map, its output map and its weights.",
    "MAC = h·w·(c1 + c2) + c1·c2/g elements.",
)


def _balanced(rng: random.Random) -> Draft:
    c = rng.choice((32, 48, 64, 96, 128, 256, 512))
    r = rng.choice((2, 4, 8))
    c1, c2 = (c // r, c * r) if rng.random() < 0.5 else (c * r, c // r)
    h = w = rng.choice((7, 14, 28, 56))
    mac_bal, macs = memory_access(c, c, h, w)
    mac_unb, macs_unb = memory_access(c1, c2, h, w)
    if macs != macs_unb:  # the premise of G1, checked on the real layers
        raise AssertionError(f"unequal MACs {macs} and {macs_unb}")
    as_ratio = rng.random() < 0.5
    scene = (
        f"{_DEFINITION} Two 1×1 convolutions without bias act on {h}×{w} maps and perform "
        f"the same {n(macs)} multiply-accumulates: a balanced one from {c} to {c} channels "
        f"and an unbalanced one from {c1} to {c2} channels."
    )
    if as_ratio:
        truth: int | Fraction = Fraction(mac_unb, mac_bal)
        spec = AnswerSpec.ratio()
        ask = (
            "What is the ratio of the unbalanced layer's memory access cost to the balanced "
            "one's (unbalanced ÷ balanced)?"
        )
        solution = (
            f"balanced MAC = {_terms(c, c, h, w, 1)} = {n(mac_bal)}; unbalanced MAC = "
            f"{_terms(c1, c2, h, w, 1)} = {n(mac_unb)}; ratio = {n(mac_unb)} / {n(mac_bal)} "
            f"= {expected_display(spec, truth)}"
        )
    else:
        truth, spec = mac_unb, AnswerSpec.number("elements")
        ask = "What is the memory access cost of the unbalanced layer, in elements?"
        solution = (
            f"the balanced layer needs {_terms(c, c, h, w, 1)} = {n(mac_bal)}; the unbalanced "
            f"one needs {_terms(c1, c2, h, w, 1)} = {expected_display(spec, truth)}"
        )
    maps_unb, maps_bal = h * w * (c1 + c2), h * w * 2 * c
    candidates: list[Mistake | None]
    if as_ratio:
        candidates = [
            INVERTED_RATIO.at(1 / Fraction(truth)),
            EQUAL_FLOPS.at(1),
            FORGOT_WEIGHTS.at(Fraction(maps_unb, maps_bal)),
        ]
    else:
        candidates = [
            FORGOT_WEIGHTS.at(maps_unb),
            EQUAL_FLOPS.at(mac_bal),
            GAVE_MULTIPLY_ACCUMULATES.at(macs),
            COUNTED_BYTES.at(mac_unb * 4),
        ]
    return Draft(
        prompt=f"{scene} {ask}",
        params={
            "in_channels": c1,
            "out_channels": c2,
            "balanced_channels": c,
            "groups": 1,
            "height": h,
            "width": w,
        },
        answer=spec,
        truth=truth,
        solution=solution,
        mistakes=candidates,
        conventions=(_DEFINITION,),
        hints=_HINTS + (f"Here h·w = {h}·{w}; the balanced layer has c1 = c2 = {c}.",),
    )


def _mem_access(rng: random.Random, difficulty: int) -> Draft:
    return _balanced(rng) if difficulty == 3 else _single(rng, difficulty)


SHUFFLENET_V2_MEM_ACCESS = Family(
    id="shufflenet_v2_mem_access",
    topic=TOPIC,
    title="Memory access cost of a 1×1 convolution (ShuffleNet v2)",
    answer_kind="number",
    generator=_mem_access,
    expected_seconds=90.0,
    cards=("shufflenet-v2-mac-formula", "shufflenet-v2-g1-example"),
)

FAMILIES: tuple[Family, ...] = (SHUFFLENET_V2_MEM_ACCESS,)
