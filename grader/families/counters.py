"""Counter conventions: which figure would torchinfo, fvcore, thop, ptflops, calflops,
DeepSpeed or FlopCounterMode report for a small stack of layers, and why it differs from the
service's MACs.

The truth is ``models.conventions`` applied to the stack built from a layer spec on the meta
device (the same engine as ``GET /architectures/{name}/conventions``); the tests check the
engine against the real tools. Answers are exact: the conventions differ by bias additions
and per-element BatchNorm counts, often less than a rounding of the MACs would hide.
"""

from __future__ import annotations

import random
from typing import Any

from models.conventions import TOOLS, ToolFigure, spec_conventions

from ..mistakes import define
from ..question import Draft, Family
from ..types import AnswerSpec, Mistake
from ._base import BATCH_1, MACS_RULE, expected_display, n

__all__ = ["COUNTER_CONVENTIONS", "FAMILIES", "RULES"]

TOPIC = "conv-arithmetic"

# Each tool's rule, as its card states it (hint 2 quotes it).
RULES = {
    "torchinfo": "torchinfo counts every weight and bias parameter once per output position for "
    "a convolution (once per sample for other layers, BatchNorm's γ and β included)",
    "fvcore": "fvcore counts convolution MACs without bias, BatchNorm at inference 2 per "
    "element, adaptive average pooling 1 per input element, and nothing for ReLU or max pooling",
    "thop": "thop counts convolution MACs without bias, BatchNorm 4 per element (2, doubled "
    "when affine), and nothing for ReLU or max pooling",
    "ptflops_pytorch": "ptflops (pytorch) counts MACs plus one per output element for a bias, "
    "BatchNorm 2 per element, and ReLU and pooling once by module hook and once more by its "
    "patched functional",
    "ptflops_aten": "ptflops (aten) counts convolutions and matrix products only, each with its "
    "bias additions",
    "calflops_macs": "calflops' MACs are the convolutions' and linear layers' MACs only",
    "calflops_flops": "calflops' FLOPs are 2 per MAC, plus one per output element for a "
    "convolution's bias, BatchNorm 2 per element, ReLU 1 per element and pooling 1 per input "
    "element",
    "deepspeed_macs": "DeepSpeed's MACs are the convolutions' and linear layers' MACs only",
    "deepspeed_flops": "DeepSpeed's FLOPs are 2 per MAC, plus one per output element for a "
    "convolution's bias, BatchNorm 2 per element, ReLU 1 per element and pooling 1 per input "
    "element",
    "flop_counter_mode": "FlopCounterMode counts 2 FLOPs per MAC of the convolutions and matrix "
    "products, nothing else",
}
_CARDS = {
    "torchinfo": "flop-counters-torchinfo",
    "fvcore": "flop-counters-fvcore",
    "thop": "flop-counters-thop",
    "ptflops_pytorch": "flop-counters-ptflops",
    "ptflops_aten": "flop-counters-ptflops",
    "calflops_macs": "flop-counters-deepspeed-calflops",
    "calflops_flops": "flop-counters-deepspeed-calflops",
    "deepspeed_macs": "flop-counters-deepspeed-calflops",
    "deepspeed_flops": "flop-counters-deepspeed-calflops",
    "flop_counter_mode": "flop-counters-flop-counter-mode",
}
# One mistake kind per convention a student may apply instead of the one asked.
OTHER_CONVENTION = {
    t.name: define(f"used_{t.name}_convention", f"This is {t.title}'s figure: {RULES[t.name]}.")
    for t in TOOLS
}
GAVE_SERVICE_FIGURE = define(
    "gave_service_figure",
    "This is the plain count (MACs of the convolutions, no bias; FLOPs = 2 × MACs); the tool "
    "asked about adds what its convention counts on top.",
)

_TOOLS_BY_LEVEL = {
    1: ("torchinfo", "thop", "fvcore", "flop_counter_mode", "ptflops_aten"),
    2: tuple(t.name for t in TOOLS),
    3: tuple(t.name for t in TOOLS),
}


def _stack(rng: random.Random, difficulty: int) -> tuple[list[int], list[dict[str, Any]], str]:
    c = rng.choice((3, 16, 32, 64, 96, 128))
    side = rng.choice((8, 14, 16, 28, 32, 56))
    out = rng.choice((16, 32, 48, 64, 128, 256))
    k = rng.choice((1, 3, 5))
    bias = rng.random() < 0.5 if difficulty > 1 else True
    conv = {"type": "conv2d", "out_channels": out, "kernel_size": k, "padding": k // 2,
            "bias": bias}  # fmt: skip
    layers: list[dict[str, Any]] = [conv]
    words = [f"nn.Conv2d({c}, {out}, kernel_size={k}, padding={k // 2}, bias={bias})"]
    if difficulty > 1:
        layers.append({"type": "batchnorm2d"})
        words.append(f"nn.BatchNorm2d({out})")
    layers.append({"type": "relu"})
    words.append("nn.ReLU()")
    if difficulty == 3 and rng.random() < 0.6:
        layers.append({"type": "maxpool2d", "kernel_size": 2, "stride": 2})
        words.append("nn.MaxPool2d(2, 2)")
    return [c, side, side], layers, " → ".join(words)


def _counter(rng: random.Random, difficulty: int) -> Draft:
    shape, layers, text = _stack(rng, difficulty)
    tool_name = rng.choice(_TOOLS_BY_LEVEL[difficulty])
    figures = {f.tool: f for f in spec_conventions(shape, layers)}
    asked = figures[tool_name]
    spec = AnswerSpec.number("flops" if asked.unit == "FLOPs" else "macs", exact=True)
    truth = asked.figure
    prompt = (
        f"The stack {text} (eval mode, real weights on the CPU) runs on a "
        f"{shape[0]}×{shape[1]}×{shape[2]} input, batch 1. What figure does {asked.title} "
        f"({asked.version}) report for it, as `{asked.call}` returns it ({asked.reports})? "
        f"For comparison, the plain count: {MACS_RULE} {BATCH_1}"
    )
    solution = (
        f"The plain count is {n(asked.service)} {asked.unit}. {asked.title}: "
        f"{asked.explanation} Its figure: {_parts_text(asked)} = "
        f"{expected_display(spec, truth)}"
    )
    mistakes: list[Mistake | None] = [GAVE_SERVICE_FIGURE.at(asked.service)]
    for other in figures.values():
        if other.tool != tool_name and other.unit == asked.unit:
            mistakes.append(OTHER_CONVENTION[other.tool].at(other.figure))
    return Draft(
        prompt=prompt,
        params={"input_shape": shape, "layers": layers, "tool": tool_name},
        answer=spec,
        truth=truth,
        solution=solution,
        mistakes=mistakes,
        conventions=(MACS_RULE, BATCH_1),
        hints=(
            "Start from the convolution's MACs, then add what this tool's convention also "
            "counts (biases, BatchNorm, activations, pooling), and check whether it prints "
            "MACs or FLOPs.",
            f"{RULES[tool_name][0].upper()}{RULES[tool_name][1:]}.",
            f"The convolution has {n(_weights(shape, layers))} weights (bias excluded) and "
            f"{shape[1]}·{shape[2]} output positions ('same' padding, stride 1); its output "
            f"has {n(_conv_out(shape, layers))} elements.",
        ),
    )


def _weights(shape: list[int], layers: list[dict[str, Any]]) -> int:
    k = int(layers[0]["kernel_size"])
    return int(layers[0]["out_channels"]) * shape[0] * k * k


def _conv_out(shape: list[int], layers: list[dict[str, Any]]) -> int:
    return int(layers[0]["out_channels"]) * shape[1] * shape[2]  # 'same' padding, stride 1


_WORDS = {
    "macs": "MACs",
    "bias": "bias additions",
    "norm": "BatchNorm",
    "activation": "ReLU",
    "pool": "pooling",
    "functional": "ReLU and pooling again (patched functionals)",
    "other": "other parameters",
}


def _parts_text(f: ToolFigure) -> str:
    parts = [(k, v) for k, v in f.parts.items() if v]
    body = " + ".join(
        f"{_WORDS.get(k, k) if k != 'macs' or f.unit == 'MACs' else '2 × MACs'} {n(v)}"
        for k, v in parts
    )
    return body or "0"


COUNTER_CONVENTIONS = Family(
    id="counter_conventions",
    topic=TOPIC,
    title="Which figure a FLOP counter reports for a layer, and why it differs",
    answer_kind="number",
    generator=_counter,
    expected_seconds=150.0,
    cards=("flop-counters-one-layer", "flop-counters-resnet50"),
)

FAMILIES: tuple[Family, ...] = (COUNTER_CONVENTIONS,)
