"""Pooling: the output shape of max and average pooling (ceil mode included), and its zero
parameters.

Pooling layers are built and profiled like any other (they have no weights, so no device is
needed for them); the output-size formula is in the solutions and mistakes only.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from torch import nn

from ..mistakes import BATCH_DIMENSION, CEIL_VS_FLOOR, FORGOT_PADDING, OFF_BY_ONE, define
from ..question import Draft, Family
from ..types import AnswerSpec, Mistake
from ._base import (
    BATCH_1,
    PARAMS_RULE,
    call,
    dims,
    expected_display,
    measure,
    param_count,
)
from .conv import IGNORED_STRIDE, out_side

__all__ = ["PoolSetup", "POOL_OUTPUT_SHAPE", "POOL_PARAMS", "FAMILIES"]

TOPIC = "pooling"

KEPT_PADDING_WINDOW = define(
    "kept_padding_window",
    "With ceil_mode=True PyTorch drops a last window that would start in the right padding; "
    "this keeps it.",
)
COUNTED_WINDOW = define(
    "counted_window",
    "This counts the pooling window as weights; max and mean have nothing to learn, so a "
    "pooling layer has 0 parameters.",
)
COUNTED_WINDOW_PER_CHANNEL = define(
    "counted_window_per_channel",
    "This counts one window of weights per channel, as a depthwise convolution would have; "
    "pooling has 0 parameters.",
)
COUNTED_WINDOW_AND_BIAS = define(
    "counted_window_and_bias",
    "This counts weights and a bias per channel, as a depthwise convolution would have; "
    "pooling has 0 parameters.",
)

_ROUNDING = {
    False: "Output sizes round down (ceil_mode=False, PyTorch's default).",
    True: "ceil_mode=True: output sizes round up, but a window may not start in the right padding.",
}


@dataclass(frozen=True)
class PoolSetup:
    """A max or average pooling layer and its input."""

    mode: str  # "max" or "avg"
    kernel_size: int
    stride: int
    padding: int
    ceil_mode: bool
    in_channels: int
    height: int
    width: int
    batch: int = 1

    def build(self) -> nn.Module:
        """The layer (no parameters, so no device to choose)."""
        cls = nn.MaxPool2d if self.mode == "max" else nn.AvgPool2d
        return cls(self.kernel_size, self.stride, self.padding, ceil_mode=self.ceil_mode)

    def text(self) -> str:
        """``nn.MaxPool2d(kernel_size=3, stride=2, padding=0)``."""
        kwargs: dict[str, Any] = {
            "kernel_size": self.kernel_size,
            "stride": self.stride,
            "padding": self.padding,
        }
        if self.ceil_mode:
            kwargs["ceil_mode"] = True
        return call("nn.MaxPool2d" if self.mode == "max" else "nn.AvgPool2d", **kwargs)

    def params(self) -> dict[str, Any]:
        """Every number of the prompt, by torch's argument names (``mode``: max or avg)."""
        return {
            "mode": self.mode,
            "kernel_size": self.kernel_size,
            "stride": self.stride,
            "padding": self.padding,
            "ceil_mode": self.ceil_mode,
            "in_channels": self.in_channels,
            "height": self.height,
            "width": self.width,
            "batch": self.batch,
        }

    def input_text(self) -> str:
        """``a 64×56×56 input`` or ``a batch of 8 inputs, each ...``."""
        shape = dims((self.in_channels, self.height, self.width))
        if self.batch == 1:
            return f"a {shape} input (C×H×W, batch size 1)"
        return f"a batch of {self.batch} inputs, each {shape} (C×H×W)"


def draw_pool(rng: random.Random, difficulty: int) -> PoolSetup:
    """A pooling layer scaled by difficulty: 1 VGG/AlexNet windows on even sizes; 2 average
    pooling, padding and odd sizes; 3 ceil mode, non-square inputs and batches."""
    channels = rng.choice((16, 32, 64, 96, 128, 192, 256, 512))
    if difficulty == 1:
        k, s = rng.choice(((2, 2), (2, 2), (3, 2), (3, 3), (2, 1), (3, 1)))
        size = rng.choice((6, 8, 12, 14, 16, 24, 28, 32, 48, 56, 64, 96, 112, 224))
        return PoolSetup("max", k, s, 0, False, channels, size, size)
    if difficulty == 2:
        k = rng.choice((2, 3, 3, 5))
        size = rng.choice((7, 13, 15, 27, 31, 55, 57, 63, 99))
        return PoolSetup(
            rng.choice(("max", "avg")),
            k,
            rng.randint(1, min(k, 3)),
            rng.randint(0, k // 2),
            False,
            channels,
            size,
            size,
        )
    k = rng.choice((2, 3, 3, 4, 5, 7))
    pad = rng.randint(0, k // 2)
    lo = max(5, k)
    return PoolSetup(
        rng.choice(("max", "avg")),
        k,
        rng.randint(2, min(k, 4)),  # stride 1 would make ceil_mode moot
        pad,
        rng.random() < 0.7,
        rng.randint(3, 600),
        rng.randint(lo, 120),
        rng.randint(lo, 120),
        rng.choice((1, 1, 2, 4, 8, 16)),
    )


def pool_side_text(label: str, size: int, p: PoolSetup, result: int) -> str:
    """The pooling output-size formula with the numbers put in."""
    span = size + 2 * p.padding - p.kernel_size
    rnd = "ceil" if p.ceil_mode else "floor"
    text = (
        f"{label}_out = {rnd}(({label} + 2·padding − k) / stride) + 1 = "
        f"{rnd}(({size} + 2·{p.padding} − {p.kernel_size}) / {p.stride}) + 1 = "
        f"{rnd}({span} / {p.stride}) + 1"
    )
    plain = out_side(size, p.kernel_size, p.stride, p.padding, ceil=p.ceil_mode)
    if plain != result:
        text += f" = {plain}, but the last window would start in the padding and is dropped"
    return f"{text} = {result}"


def _output_shape(rng: random.Random, difficulty: int) -> Draft:
    p = draw_pool(rng, difficulty)
    prof = measure(p.build(), (p.in_channels, p.height, p.width), p.batch)
    with_batch = p.batch > 1
    truth = prof.output_shape if with_batch else prof.output_shape[1:]
    spec = AnswerSpec.shape(batch=with_batch)
    prompt = (
        f"The pooling layer {p.text()} is applied to {p.input_text()}. What is the shape of "
        f"its output? {_ROUNDING[p.ceil_mode]}"
    )
    c, ho, wo = truth[-3:]
    lines = [pool_side_text("H", p.height, p, ho)]
    if p.width == p.height:
        lines.append(f"W_out = {wo} likewise (square input)")
    else:
        lines.append(pool_side_text("W", p.width, p, wo))
    lines.append(f"channels are pooled one by one, so C = {c}")
    lines.append(f"Output shape = {expected_display(spec, truth)}")
    lead = (p.batch,) if with_batch else ()

    def alt(kind: Any, message: str | None = None, **changes: Any) -> Mistake | None:
        args: dict[str, Any] = {
            "kernel": p.kernel_size,
            "stride": p.stride,
            "padding": p.padding,
            "ceil": p.ceil_mode,
        }
        args.update(changes)
        h = out_side(p.height, **args)
        w = out_side(p.width, **args)
        return None if h is None or w is None else kind.at((*lead, c, h, w), message)

    candidates = [
        alt(CEIL_VS_FLOOR, ceil=not p.ceil_mode),
        alt(FORGOT_PADDING, padding=0) if p.padding else None,
        alt(OFF_BY_ONE, "This leaves out the +1 of the output-size formula.", plus_one=False),
        alt(IGNORED_STRIDE, stride=1) if p.stride > 1 else None,
        alt(KEPT_PADDING_WINDOW) if p.ceil_mode else None,
        BATCH_DIMENSION.at(truth[1:]) if with_batch else None,
    ]
    rounding = "ceil" if p.ceil_mode else "floor"
    return Draft(
        prompt=prompt,
        params=p.params(),
        answer=spec,
        truth=truth,
        solution="; ".join(lines),
        mistakes=candidates,
        conventions=(_ROUNDING[p.ceil_mode], BATCH_1),
        hints=(
            "Pooling acts on each channel on its own: the channels stay, only the sides change.",
            f"H_out = {rounding}((H + 2·padding − k) / stride) + 1, and likewise for W_out"
            + ("; a window may not start in the right padding." if p.ceil_mode else "."),
            f"Here H = {p.height}"
            + ("" if p.width == p.height else f", W = {p.width}")
            + f", padding = {p.padding}, k = {p.kernel_size}, stride = {p.stride}.",
        ),
    )


def _params(rng: random.Random, difficulty: int) -> Draft:
    channels = rng.choice((16, 32, 64, 96, 128, 192, 256, 512, 1024, 2048))
    if difficulty == 3 and rng.random() < 0.4:
        # Global average pooling: the "window" is the whole map, still nothing to learn.
        size = rng.choice((7, 8, 13, 14))
        module: nn.Module = nn.AdaptiveAvgPool2d(1)
        text = call("nn.AdaptiveAvgPool2d", output_size=1)
        window = size * size
        params: dict[str, Any] = {"mode": "adaptive_avg", "output_size": 1}
        height = width = size
        what = f"averages each channel over its whole {size}×{size} map"
    else:
        p = draw_pool(rng, difficulty)
        module, text = p.build(), p.text()
        window = p.kernel_size * p.kernel_size
        params = p.params()
        params.pop("batch")
        height, width = p.height, p.width
        op = "maximum" if p.mode == "max" else "mean"
        what = f"takes the {op} of each {p.kernel_size}×{p.kernel_size} window of each channel"
    truth = param_count(module)
    spec = AnswerSpec.number("params", exact=True)
    prompt = (
        f"How many learnable parameters does {text} have? It is applied to a "
        f"{dims((channels, height, width))} input (C×H×W). {PARAMS_RULE}"
    )
    solution = (
        f"The layer {what}: a fixed operation with no weights and no bias, however large the "
        f"window or the input, so it has {expected_display(spec, truth)}"
    )
    candidates = [
        COUNTED_WINDOW.at(window),
        COUNTED_WINDOW_PER_CHANNEL.at(channels * window),
        COUNTED_WINDOW_AND_BIAS.at(channels * (window + 1)),
    ]
    return Draft(
        prompt=prompt,
        params={**params, "in_channels": channels, "height": height, "width": width},
        answer=spec,
        truth=truth,
        solution=solution,
        mistakes=candidates,
        conventions=(PARAMS_RULE,),
        hints=(
            "Ask what the layer would have to learn: is a maximum or a mean weighted?",
            "Parameters are weights and biases; a pooling window applies a fixed rule, with "
            "no weights and no bias, whatever its size.",
        ),
    )


POOL_OUTPUT_SHAPE = Family(
    id="pool_output_shape",
    topic=TOPIC,
    title="Output shape of a pooling layer",
    answer_kind="shape",
    generator=_output_shape,
    expected_seconds=60.0,
    cards=("pooling-output-size",),
)
POOL_PARAMS = Family(
    id="pool_params",
    topic=TOPIC,
    title="Parameters of a pooling layer",
    answer_kind="number",
    generator=_params,
    expected_seconds=20.0,
    cards=("pooling-no-params",),
)

FAMILIES: tuple[Family, ...] = (POOL_OUTPUT_SHAPE, POOL_PARAMS)
