"""Receptive field of a stack of convolutions and poolings (VGG's stacked 3×3 argument).

The stack is built on the meta device with ``torch.nn`` layers, and the receptive field is
computed by the standard recursion over the built modules' own ``kernel_size``, ``stride`` and
``dilation``: ``r += dilation·(k − 1)·jump``, then ``jump *= stride``. The tests check it
against the extent of the input gradient of one output unit of a real CPU stack.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from torch import nn

from ..mistakes import OFF_BY_ONE, define
from ..question import Draft, Family
from ..types import AnswerSpec
from ._base import expected_display
from .conv import FORGOT_DILATION, IGNORED_STRIDE

__all__ = ["Layer", "build_stack", "receptive_field", "RECEPTIVE_FIELD", "FAMILIES"]

TOPIC = "vgg"

STRIDE_APPLIED_EARLY = define(
    "stride_applied_early",
    "This multiplies in a layer's own stride before adding its kernel; a layer's stride only "
    "spreads out the layers after it.",
)
SUMMED_KERNELS = define(
    "summed_kernels",
    "This adds the kernel sizes; each layer adds (k − 1)·jump to a field that starts at 1.",
)

_CHANNELS = 4  # the channel count does not affect the receptive field; any small one will do

_DEFINITION = (
    "The receptive field of an output value is the side of the square input region that can "
    "influence it (padding and image borders do not change it)."
)


@dataclass(frozen=True)
class Layer:
    """One layer of the stack: ``kind`` is ``conv`` or ``maxpool``."""

    kind: str
    kernel_size: int
    stride: int = 1
    padding: int = 0
    dilation: int = 1

    def text(self) -> str:
        """``conv 3×3, stride 1, padding 1`` or ``max pool 2×2, stride 2``."""
        k = f"{self.kernel_size}×{self.kernel_size}"
        name = "conv" if self.kind == "conv" else "max pool"
        dil = f", dilation {self.dilation}" if self.dilation != 1 else ""
        return f"{name} {k}{dil}, stride {self.stride}, padding {self.padding}"

    def params(self) -> dict[str, Any]:
        """The layer's numbers, by torch's argument names."""
        return {
            "type": self.kind,
            "kernel_size": self.kernel_size,
            "stride": self.stride,
            "padding": self.padding,
            "dilation": self.dilation,
        }


def build_stack(layers: list[Layer]) -> nn.Sequential:
    """The stack as torch modules on the meta device (pooling has no tensors to place)."""
    modules: list[nn.Module] = []
    for layer in layers:
        if layer.kind == "conv":
            modules.append(
                nn.Conv2d(
                    _CHANNELS,
                    _CHANNELS,
                    layer.kernel_size,
                    layer.stride,
                    layer.padding,
                    layer.dilation,
                    bias=False,
                    device="meta",
                )
            )
        else:
            modules.append(nn.MaxPool2d(layer.kernel_size, layer.stride, layer.padding))
    return nn.Sequential(*modules)


def _first(value: int | tuple[int, ...]) -> int:
    return value if isinstance(value, int) else value[0]


def receptive_field(stack: nn.Sequential) -> tuple[int, list[tuple[int, int]]]:
    """The receptive field of the built stack, and (field, jump) after each layer.

    Reads each module's own attributes, so what is counted is what torch would run.
    """
    field, jump = 1, 1
    steps: list[tuple[int, int]] = []
    for module in stack:
        if not isinstance(module, nn.Conv2d | nn.MaxPool2d):
            raise TypeError(f"no receptive-field rule for {type(module).__name__}")
        k = _first(module.kernel_size)
        d = _first(module.dilation)
        s = _first(module.stride)
        field += d * (k - 1) * jump
        jump *= s
        steps.append((field, jump))
    return field, steps


def _formula(layers: list[Layer], *, strides: bool = True, dilation: bool = True) -> int:
    """The recursion by hand, optionally without strides or dilation: for mistakes."""
    field, jump = 1, 1
    for layer in layers:
        d = layer.dilation if dilation else 1
        field += d * (layer.kernel_size - 1) * jump
        jump *= layer.stride if strides else 1
    return field


def _draw(rng: random.Random, difficulty: int) -> list[Layer]:
    if difficulty == 1:
        # VGG's argument: stacked stride-1 convolutions, mostly 3×3.
        kernels = [rng.choice((3, 3, 3, 1, 5, 7)) for _ in range(rng.randint(2, 6))]
        return [Layer("conv", k, 1, k // 2) for k in kernels]
    layers: list[Layer] = []
    count = rng.randint(3, 5) if difficulty == 2 else rng.randint(4, 6)
    for _ in range(count):
        if rng.random() < 0.3:
            k, s = rng.choice(((2, 2), (3, 2), (3, 1)))
            layers.append(Layer("maxpool", k, s, k // 2 if k == 3 else 0))
        elif difficulty == 2:
            k = rng.choice((3, 3, 5, 7))
            layers.append(Layer("conv", k, rng.choice((1, 1, 2)), k // 2))
        else:
            k = rng.choice((1, 3, 3, 5))
            d = rng.choice((1, 2, 3, 4)) if k > 1 else 1
            layers.append(Layer("conv", k, rng.choice((1, 1, 2)), d * (k - 1) // 2, d))
    if difficulty == 3 and all(layer.dilation == 1 for layer in layers):
        layers[-1] = Layer("conv", 3, 1, 2, 2)  # the hard level always exercises dilation
    return layers


def _receptive(rng: random.Random, difficulty: int) -> Draft:
    layers = _draw(rng, difficulty)
    truth, steps = receptive_field(build_stack(layers))
    spec = AnswerSpec.number("pixels")
    listing = "; ".join(f"({i}) {layer.text()}" for i, layer in enumerate(layers, 1))
    prompt = (
        f"These layers are applied in order to an image: {listing}. What is the receptive "
        f"field of one output value of the last layer, as a side length in input pixels? "
        f"{_DEFINITION}"
    )
    lines = ["r = 1, jump = 1 (input pixels between neighbouring units)"]
    for (i, layer), (field, jump) in zip(enumerate(layers, 1), steps, strict=True):
        d = f"{layer.dilation}·" if layer.dilation != 1 else ""
        lines.append(
            f"layer {i}: r += {d}({layer.kernel_size} − 1)·jump → {field}, jump ×= "
            f"{layer.stride} → {jump}"
        )
    lines.append(f"receptive field = {expected_display(spec, truth)}")
    early, jump = 1, 1
    for layer in layers:
        jump *= layer.stride
        early += layer.dilation * (layer.kernel_size - 1) * jump
    candidates = [
        IGNORED_STRIDE.at(_formula(layers, strides=False)),
        FORGOT_DILATION.at(_formula(layers, dilation=False)),
        STRIDE_APPLIED_EARLY.at(early),
        SUMMED_KERNELS.at(sum(layer.dilation * (layer.kernel_size - 1) + 1 for layer in layers)),
        OFF_BY_ONE.at(truth - 1, "This leaves out the starting pixel: the field starts at 1."),
    ]
    return Draft(
        prompt=prompt,
        params={"layers": [layer.params() for layer in layers]},
        answer=spec,
        truth=truth,
        solution="; ".join(lines),
        mistakes=candidates,
        conventions=(_DEFINITION,),
        hints=(
            "Walk the layers from the first: keep the field r and the jump, the distance in "
            "input pixels between two neighbouring units of the current layer.",
            "Start at r = 1, jump = 1; each layer does r += dilation·(k − 1)·jump, then "
            "jump ×= stride.",
            "A layer's own stride only spreads the layers after it; padding changes nothing.",
        ),
    )


RECEPTIVE_FIELD = Family(
    id="receptive_field",
    topic=TOPIC,
    title="Receptive field of a stack of layers",
    answer_kind="number",
    generator=_receptive,
    expected_seconds=120.0,
    cards=("vgg-stacked-receptive-field", "vgg-two-3x3-vs-5x5"),
)

FAMILIES: tuple[Family, ...] = (RECEPTIVE_FIELD,)
