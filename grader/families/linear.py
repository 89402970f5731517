"""Fully connected layers: parameters and MACs of ``nn.Linear``, on a vector or a flattened map."""

from __future__ import annotations

import random
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from torch import nn

from ..mistakes import COUNTED_BATCH, FORGOT_BIAS, MACS_VS_FLOPS, define
from ..question import Draft, Family
from ..types import AnswerSpec, Mistake
from ._base import (
    BATCH_1,
    MACS_RULE,
    PARAMS_RULE,
    call,
    dims,
    expected_display,
    measure,
    n,
    param_count,
)
from .conv import COUNTED_BIAS, COUNTED_BIAS_OPS, FORGOT_BATCH

__all__ = ["LinearSetup", "draw_linear", "LINEAR_PARAMS", "LINEAR_MACS", "FAMILIES"]

TOPIC = "conv-arithmetic"

FORGOT_FLATTEN = define(
    "forgot_flatten",
    "This uses only the channels; flattening C×H×W gives C·H·W input features.",
)
BIAS_PER_INPUT = define(
    "bias_per_input",
    "This adds one bias per input feature; a linear layer has one bias per output feature.",
)


@dataclass(frozen=True)
class LinearSetup:
    """``nn.Linear(in_features, out_features, bias)``, fed a vector or a flattened C×H×W map."""

    in_features: int
    out_features: int
    bias: bool
    map_shape: tuple[int, int, int] | None = None  # (C, H, W) when the input is flattened
    batch: int = 1

    def build(self) -> nn.Module:
        """The layer on the meta device, behind ``nn.Flatten`` when the input is a map."""
        fc = nn.Linear(self.in_features, self.out_features, self.bias, device="meta")
        return fc if self.map_shape is None else nn.Sequential(nn.Flatten(), fc)

    @property
    def input_shape(self) -> tuple[int, ...]:
        """One sample's input: a vector, or the map before flattening."""
        return (self.in_features,) if self.map_shape is None else self.map_shape

    def describe(self) -> tuple[str, str]:
        """A sentence setting the scene (may be empty) and how the prompt names the layer."""
        if self.map_shape is None:
            layer = call(
                "nn.Linear",
                in_features=self.in_features,
                out_features=self.out_features,
                bias=self.bias,
            )
            return "", layer
        bias = "with bias" if self.bias else "no bias"
        scene = (
            f"A {dims(self.map_shape)} feature map (C×H×W) is flattened by nn.Flatten and fed "
            f"to a fully connected layer with {n(self.out_features)} outputs ({bias}). "
        )
        return scene, "that fully connected layer"

    def params(self) -> dict[str, Any]:
        """Every number of the prompt, by torch's argument names."""
        out: dict[str, Any] = {
            "in_features": self.in_features,
            "out_features": self.out_features,
            "bias": self.bias,
            "batch": self.batch,
        }
        if self.map_shape is not None:
            c, h, w = self.map_shape
            out.update(in_channels=c, height=h, width=w)
        return out

    def features_text(self) -> str:
        """How in_features comes about, for solutions."""
        if self.map_shape is None:
            return f"in_features = {n(self.in_features)}"
        c, h, w = self.map_shape
        return f"in_features = C·H·W = {c}·{h}·{w} = {n(self.in_features)}"


def draw_linear(rng: random.Random, difficulty: int, *, batch: bool = False) -> LinearSetup:
    """1: round widths; 2: AlexNet/VGG-sized heads; 3: flattened maps, odd widths, batches."""
    if difficulty == 1:
        return LinearSetup(
            rng.choice((64, 128, 192, 256, 384, 512, 768, 1024, 1280, 1536, 2048, 4096)),
            rng.choice((2, 10, 16, 32, 64, 100, 128, 256, 512, 1000)),
            rng.random() < 0.8,
        )
    if difficulty == 2:
        # Classifier heads of real networks: AlexNet, VGG, ResNets, MobileNets, DenseNets...
        return LinearSetup(
            rng.choice((9216, 25088, 4096, 2048, 1280, 1024, 1536, 512, 576, 960, 1664, 2208)),
            rng.choice((4096, 1000, 2048, 100, 10, 21843, 365, 200)),
            rng.random() < 0.6,
        )
    c = rng.choice((16, 32, 64, 96, 128, 192, 256, 384, 512))
    h, w = rng.randint(2, 8), rng.randint(2, 8)
    return LinearSetup(
        c * h * w,
        rng.randint(2, 5000),
        rng.random() < 0.6,
        (c, h, w),
        rng.choice((1, 4, 16, 32, 64, 128)) if batch else 1,
    )


def _params(rng: random.Random, difficulty: int) -> Draft:
    s = draw_linear(rng, difficulty)
    truth = param_count(s.build())
    spec = AnswerSpec.number("params", exact=True)
    scene, layer = s.describe()
    prompt = f"{scene}How many learnable parameters does {layer} have? {PARAMS_RULE}"
    weights = s.in_features * s.out_features
    solution = (
        f"{s.features_text()}; weights = in_features·out_features = {n(s.in_features)}·"
        f"{n(s.out_features)} = {n(weights)}; "
        + (
            f"bias = out_features = {n(s.out_features)}; total = {n(weights)} + {n(s.out_features)}"
            if s.bias
            else "no bias (bias=False)"
        )
        + f" = {expected_display(spec, truth)}"
    )
    bias = s.out_features if s.bias else 0
    candidates = [
        FORGOT_BIAS.at(truth - s.out_features) if s.bias else None,
        COUNTED_BIAS.at(truth + s.out_features) if not s.bias else None,
        BIAS_PER_INPUT.at(weights + s.in_features) if s.bias else None,
        FORGOT_FLATTEN.at(s.map_shape[0] * s.out_features + bias) if s.map_shape else None,
    ]
    return Draft(
        prompt=prompt,
        params={k: v for k, v in s.params().items() if k != "batch"},
        answer=spec,
        truth=truth,
        solution=solution,
        mistakes=candidates,
        conventions=(PARAMS_RULE,),
        hints=(
            (
                "Flatten first: the layer sees one feature per value of the map. "
                if s.map_shape
                else ""
            )
            + "Each output feature has one weight per input feature.",
            "params = in_features·out_features, plus out_features biases when bias=True.",
            f"Here {_features_hint(s)}, out_features = {n(s.out_features)}, bias={s.bias}.",
        ),
    )


def _macs(rng: random.Random, difficulty: int) -> Draft:
    s = draw_linear(rng, difficulty, batch=True)
    per_sample = s.batch == 1 or rng.random() < 0.5
    nb = 1 if per_sample else s.batch
    prof = measure(s.build(), s.input_shape, nb)
    truth = prof.macs
    spec = AnswerSpec.number("macs", exact=True)
    if s.batch == 1:
        scope = "on one input"
    elif per_sample:
        scope = f"per sample, when a batch of {s.batch} inputs is fed"
    else:
        scope = f"for a whole batch of {s.batch} inputs"
    scene, layer = s.describe()
    prompt = f"{scene}How many MACs does {layer} perform {scope}? {MACS_RULE} {BATCH_1}"
    solution = (
        f"{s.features_text()}; MACs = in_features·out_features"
        + (f"·batch = {n(s.in_features)}·{n(s.out_features)}·{nb}" if nb > 1 else "")
        + (f" = {n(s.in_features)}·{n(s.out_features)}" if nb == 1 else "")
        + f" = {expected_display(spec, truth)}"
    )
    batch_mistakes: list[Mistake] = []
    if s.batch > 1:
        batch_mistakes.append(
            COUNTED_BATCH.at(truth * s.batch)
            if per_sample
            else FORGOT_BATCH.at(Fraction(truth, s.batch))
        )
    candidates = [
        MACS_VS_FLOPS.at(truth * 2, "This is the FLOP count (2 per MAC); MACs were asked."),
        MACS_VS_FLOPS.at(
            Fraction(truth, 2), "This halves the MACs: a MAC is already one multiply and one add."
        ),
        COUNTED_BIAS_OPS.at(truth + s.out_features * nb) if s.bias else None,
        FORGOT_FLATTEN.at(s.map_shape[0] * s.out_features * nb) if s.map_shape else None,
        *batch_mistakes,
    ]
    return Draft(
        prompt=prompt,
        params={**s.params(), "per_sample": per_sample},
        answer=spec,
        truth=truth,
        solution=solution,
        mistakes=candidates,
        conventions=(MACS_RULE, BATCH_1),
        hints=(
            "Every weight is used once per input row: one multiply-accumulate each.",
            "MACs = in_features·out_features per sample (the bias additions are not counted).",
            f"Here {_features_hint(s)}, out_features = {n(s.out_features)}"
            + (f", and {nb} samples." if nb > 1 else ", one sample."),
        ),
    )


def _features_hint(s: LinearSetup) -> str:
    if s.map_shape is None:
        return f"in_features = {n(s.in_features)}"
    c, h, w = s.map_shape
    return f"the map is C×H×W = {c}×{h}×{w}"


LINEAR_PARAMS = Family(
    id="linear_params",
    topic=TOPIC,
    title="Parameters of a fully connected layer",
    answer_kind="number",
    generator=_params,
    expected_seconds=45.0,
    cards=("conv-arithmetic-linear-params",),
)
LINEAR_MACS = Family(
    id="linear_macs",
    topic=TOPIC,
    title="MACs of a fully connected layer",
    answer_kind="number",
    generator=_macs,
    expected_seconds=60.0,
    cards=("conv-arithmetic-linear-params", "conv-arithmetic-macs-formula"),
)

FAMILIES: tuple[Family, ...] = (LINEAR_PARAMS, LINEAR_MACS)
