"""MobileNet v2's memory argument: the peak activation memory of inverted residual blocks run
operator by operator, against the bottleneck tensors that fused inference keeps.

The tensor shapes come from the blocks built on the meta device (``models.InvertedResidual``,
forward hooks on its convolutions); the schedule is the question's: an operator holds its
input and its output, and a residual block keeps its input alive until the addition. Fused
inference (the paper's section 5) streams the expanded tensor in slices and keeps only the
block's input and output.
"""

from __future__ import annotations

import random
from functools import lru_cache

import torch
from torch import nn

import models

from ..mistakes import KIB_VS_KB, WRONG_DTYPE_SIZE, define
from ..question import Draft, Family
from ..types import AnswerSpec, Mistake
from ._base import UNITS_RULE, expected_display, n, on_meta, unit_phrase
from .conv import kib_vs_kb_value

__all__ = ["MOBILENET_V2_PEAK_MEMORY", "FAMILIES", "block_tensors", "peak_elements"]

TOPIC = "mobilenet-v2"

FORGOT_KEPT_INPUT = define(
    "forgot_kept_input",
    "A residual block's input must stay in memory until the addition at the end: it counts "
    "at every step of the block.",
)
SUMMED_ALL_TENSORS = define(
    "summed_all_tensors",
    "This holds every tensor of the block at once; an operator only needs its own input and "
    "output (and the kept shortcut input).",
)
ONLY_EXPANDED = define(
    "only_expanded",
    "This counts only the expanded tensor; the operator that produces it also holds its input.",
)
FUSED_KEPT_EXPANSION = define(
    "fused_kept_expansion",
    "Fused inference never materialises the expanded tensor whole: only the block's input "
    "and output are kept.",
)

_SCHEDULE = (
    "Operators run one at a time; each holds its input and output tensors, a residual "
    "block's input stays alive until its addition, and nothing else is kept. BatchNorm and "
    "activations work in place."
)


@lru_cache(maxsize=1024)
def block_tensors(cin: int, cout: int, stride: int, t: int, side: int) -> tuple[int, ...]:
    """Elements of (input, expanded, depthwise output, projection output) of one block,
    read from the shapes its convolutions produce on the meta device."""
    block = on_meta(models.InvertedResidual, cin, cout, stride, t).eval()
    sizes: list[int] = []
    hooks = [
        m.register_forward_hook(lambda _m, _i, out: sizes.append(out.numel()))
        for m in block.modules()
        if isinstance(m, nn.Conv2d)
    ]
    with torch.no_grad():
        block(torch.empty((1, cin, side, side), device="meta"))
    for h in hooks:
        h.remove()
    return (cin * side * side, *sizes)


def peak_elements(x: int, e: int, d: int, y: int, residual: bool) -> int:
    """Peak elements of one block run operator by operator (the question's schedule)."""
    keep = x if residual else 0
    steps = [x + e, e + d + keep, d + y + keep]
    if residual:
        steps.append(x + y + y)  # the addition reads x and y and writes a new tensor
    return max(steps)


def _stage(rng: random.Random, difficulty: int) -> list[tuple[int, int, int, int, int]]:
    """(cin, cout, stride, t, side) of each block of the question."""
    cin = rng.choice((16, 24, 32, 40, 48, 64, 80, 96, 112, 160))
    side = rng.choice((14, 28, 56, 112) if difficulty < 3 else (7, 14, 28, 56))
    t = rng.choice((4, 6) if difficulty == 1 else (2, 3, 4, 6))
    if difficulty == 1:
        return [(cin, cin, 1, t, side)]
    if difficulty == 2:
        cout = rng.choice((cin, cin, 24, 32, 64, 96))
        stride = rng.choice((1, 2)) if cout != cin else 1
        return [(cin, cout, stride, t, side)]
    cout = rng.choice((24, 32, 64, 96, 160, 320))
    stride = rng.choice((1, 2))
    after = -(-side // stride)
    blocks = [(cin, cout, stride, t, side)]
    blocks += [(cout, cout, 1, t, after)] * rng.choice((1, 2))
    return blocks


def _memory(rng: random.Random, difficulty: int) -> Draft:
    blocks = _stage(rng, difficulty)
    dtype = rng.choice(("float16", "float32"))
    unit = rng.choice(("KiB", "KB"))
    bpe = 2 if dtype == "float16" else 4
    naive_steps, fused_steps, summed, only_e, no_keep = [], [], [], [], []
    lines = []
    for cin, cout, stride, t, side in blocks:
        x, e, d, y = block_tensors(cin, cout, stride, t, side)
        residual = stride == 1 and cin == cout
        naive_steps.append(peak_elements(x, e, d, y, residual))
        no_keep.append(peak_elements(x, e, d, y, False) if residual else naive_steps[-1])
        fused_steps.append(x + y)
        summed.append(x + e + d + y)
        only_e.append(e)
        lines.append(
            f"block {cin}→{cout} (t = {t}, stride {stride}) on {side}×{side}: input {n(x)}, "
            f"expanded {n(e)}, depthwise {n(d)}, output {n(y)} elements"
            + (" (residual)" if residual else "")
        )
    naive, fused = max(naive_steps) * bpe, max(fused_steps) * bpe
    part = AnswerSpec.number("bytes", unit)
    spec = AnswerSpec.multi({"naive": part, "fused": part})
    truth = {"naive": naive, "fused": fused}
    described = "; then ".join(
        f"an inverted residual block {cin}→{cout} with expansion t = {t} and stride {stride}"
        for cin, cout, stride, t, _ in blocks
    )
    first = blocks[0]
    prompt = (
        f"A MobileNet v2 stage takes a {first[0]}×{first[4]}×{first[4]} input ({dtype} "
        f"activations, batch 1): {described}. Each block is a 1×1 expansion to t·C_in "
        "channels, a 3×3 depthwise convolution (padding 1, carrying the stride), a linear 1×1 "
        "projection, and an addition of its input when the stride is 1 and C_in = C_out. "
        f"{_SCHEDULE} (a) naive: the peak activation memory of the stage, in "
        f"{unit_phrase(unit)}; (b) fused: the peak when each block is fused (its expanded "
        "tensor streamed in small slices, so only each block's input and output are held; "
        f"ignore the slice). {UNITS_RULE}"
    )
    solution = (
        "; ".join(lines)
        + f". Naive: each block's largest step, max = {n(max(naive_steps))} elements × {bpe} B "
        f"= {expected_display(part, naive)}; fused: max(input + output) = "
        f"{n(max(fused_steps))} elements × {bpe} B = {expected_display(part, fused)}"
    )
    mistakes: list[Mistake | None] = [
        FORGOT_KEPT_INPUT.at({"naive": max(no_keep) * bpe}),
        SUMMED_ALL_TENSORS.at({"naive": max(summed) * bpe}),
        ONLY_EXPANDED.at({"naive": max(only_e) * bpe}),
        FUSED_KEPT_EXPANSION.at({"fused": max(naive_steps) * bpe}),
        KIB_VS_KB.at(
            {"naive": kib_vs_kb_value(naive, unit), "fused": kib_vs_kb_value(fused, unit)}
        ),
        WRONG_DTYPE_SIZE.at({"naive": max(naive_steps) * 4, "fused": max(fused_steps) * 4},
                            "This uses 4 bytes per element; float16 takes 2.")
        if bpe == 2
        else None,
    ]  # fmt: skip
    return Draft(
        prompt=prompt,
        params={"blocks": [list(b) for b in blocks], "dtype": dtype, "unit": unit},
        answer=spec,
        truth=truth,
        solution=solution,
        mistakes=mistakes,
        conventions=(_SCHEDULE, UNITS_RULE),
        hints=(
            "Write down the four tensors of each block (input, expanded, depthwise output, "
            "output) and which of them are alive at each step.",
            "Naive peak = max over steps of (input + output of the step, + the block input if "
            "residual); fused peak = max over blocks of (block input + block output).",
            f"{dtype} takes {bpe} B per element; 1 {unit} = {n(1024 if unit == 'KiB' else 1000)} "
            "B.",
        ),
    )


MOBILENET_V2_PEAK_MEMORY = Family(
    id="mobilenet_v2_peak_memory",
    topic=TOPIC,
    title="MobileNet v2: peak activation memory, operator by operator and fused",
    answer_kind="parts",
    generator=_memory,
    expected_seconds=240.0,
    cards=("mobilenet-v2-memory", "mobilenet-v2-inverted-residual"),
)

FAMILIES: tuple[Family, ...] = (MOBILENET_V2_PEAK_MEMORY,)
