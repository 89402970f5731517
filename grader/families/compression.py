"""Quantization and model size: storage of a layer's or a network's parameters at b bits.

Parameter counts come from the layer built on the meta device, or from the registry network's
profile (``models.profile_architecture``, cached after its first call); the size is then
``params × bits / 8`` bytes, converted to the unit asked for.
"""

from __future__ import annotations

import random
from fractions import Fraction
from typing import Any

import models

from ..mistakes import BITS_VS_BYTES, FORGOT_BIAS, KIB_VS_KB, WRONG_DTYPE_SIZE
from ..question import Draft, Family
from ..types import AnswerSpec
from ._layer_util import (
    UNITS_RULE,
    expected_display,
    keep_mistakes,
    n,
    param_count,
    unit_bytes,
    unit_phrase,
)
from .conv import ConvSetup, kib_vs_kb_value
from .linear import draw_linear

__all__ = ["ARCHITECTURE_CHOICES", "MODEL_SIZE_BYTES", "FAMILIES"]

TOPIC = "quantization"

# Registry networks whose first profile is quick (under half a second); later calls are cached.
ARCHITECTURE_CHOICES = (
    "alexnet",
    "vgg16",
    "squeezenet1_0",
    "squeezenet1_1",
    "resnet18",
    "mobilenet_v1",
)

_STORAGE_RULE = (
    "1 byte = 8 bits. Every parameter (weights and biases) is stored at the given bit width, "
    "packed with no padding and no metadata (no scales or codebooks)."
)


def _layer(rng: random.Random, difficulty: int) -> tuple[str, int, int, dict[str, Any]]:
    """(description, parameters, biases, params dict) of a convolution or linear layer."""
    if rng.random() < 0.5:
        s = draw_linear(rng, difficulty)
        count = param_count(s.build())
        scene, layer = s.describe()
        text = f"{scene}Consider {layer}" if scene else f"Consider {layer}"
        biases = s.out_features if s.bias else 0
        params = {k: v for k, v in s.params().items() if k != "batch"}
        return text, count, biases, params
    k = rng.choice((1, 3, 3, 5) if difficulty == 1 else (1, 3, 5, 7, 11))
    channels = (16, 32, 64, 128, 256, 512) if difficulty == 1 else (3, 24, 96, 192, 384, 768)
    c = ConvSetup(
        in_channels=rng.choice(channels),
        out_channels=rng.choice(channels[1:]),
        kernel_size=k,
        padding=k // 2,
        bias=rng.random() < 0.6,
        height=k,
        width=k,
    )
    biases = c.out_channels if c.bias else 0
    return f"Consider {c.text()}", param_count(c.build()), biases, c.params(spatial=False)


def _size(rng: random.Random, difficulty: int) -> Draft:
    if difficulty == 3:
        name = rng.choice(ARCHITECTURE_CHOICES)
        count = models.profile_architecture(name).params
        spec_title = models.get_spec(name).title
        text = f"Consider {spec_title} ({name}), which has {n(count)} parameters"
        biases = 0  # the count is given, so leaving out biases is not a mistake one can make
        params: dict[str, Any] = {"architecture": name, "num_parameters": count}
        bits = rng.choice((3, 4, 5, 6, 8, 16, 32))
        unit = rng.choice(("MB", "MiB"))
    else:
        text, count, biases, params = _layer(rng, difficulty)
        bits = rng.choice((32, 16, 8)) if difficulty == 1 else rng.choice((4, 6, 8, 16))
        unit = rng.choice(("KB", "KiB") if difficulty == 1 else ("KB", "KiB", "MB", "MiB"))
    truth = Fraction(count * bits, 8)
    spec = AnswerSpec.number("bytes", unit)
    prompt = (
        f"{text}. Its parameters are stored with {bits}-bit values. How much storage do they "
        f"take? Answer in {unit_phrase(unit)}. {_STORAGE_RULE} {UNITS_RULE}"
    )
    solution = (
        f"parameters = {n(count)}; bytes = parameters × bits / 8 = {n(count)} × {bits} / 8 = "
        f"{n(truth)} B; in {unit}: {n(truth)} / {n(unit_bytes(unit))} = "
        f"{expected_display(spec, truth)}"
    )
    candidates = [
        BITS_VS_BYTES.at(truth * 8, "This is the size in bits; divide by 8 for bytes."),
        KIB_VS_KB.at(kib_vs_kb_value(truth, unit)),
        WRONG_DTYPE_SIZE.at(
            count * 4, f"This stores each parameter in 4 bytes (float32), not {bits} bits."
        )
        if bits != 32
        else None,
        FORGOT_BIAS.at(Fraction((count - biases) * bits, 8)) if biases else None,
    ]
    return Draft(
        prompt=prompt,
        params={**params, "bits": bits},
        answer=spec,
        truth=truth,
        solution=solution,
        mistakes=keep_mistakes(spec, truth, candidates),
        conventions=(_STORAGE_RULE, UNITS_RULE),
    )


MODEL_SIZE_BYTES = Family(
    "model_size_bytes",
    TOPIC,
    "Storage size of quantized parameters",
    "number",
    _size,
    expected_seconds=75.0,
)

FAMILIES: tuple[Family, ...] = (MODEL_SIZE_BYTES,)
