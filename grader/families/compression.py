"""Quantization and model size: storage of a layer's or a network's parameters at b bits, and
Deep Compression's codebook quantization step by step.

Parameter counts come from the layer built on the meta device, or from the registry network's
profile (``models.profile_architecture``, cached after its first call); the size is then
``params × bits / 8`` bytes, converted to the unit asked for. A codebook of 2^b float32
centroids adds 2^b·4 bytes per layer.
"""

from __future__ import annotations

import random
from fractions import Fraction
from typing import Any

import models

from ..mistakes import (
    BITS_VS_BYTES,
    FORGOT_BIAS,
    INVERTED_RATIO,
    KIB_VS_KB,
    WRONG_DTYPE_SIZE,
    define,
)
from ..question import Draft, Family
from ..types import AnswerSpec, Mistake
from ._base import (
    UNITS_RULE,
    expected_display,
    figures_to_tell_apart,
    n,
    param_count,
    parts_to_tell_apart,
    unit_bytes,
    unit_phrase,
)
from .conv import ConvSetup, kib_vs_kb_value
from .linear import draw_linear

__all__ = ["ARCHITECTURE_CHOICES", "MODEL_SIZE_BYTES", "CODEBOOK_COMPRESSION", "FAMILIES"]

TOPIC = "quantization"

# Registry networks (profiled once at start-up by the warm-up, then cached).
ARCHITECTURE_CHOICES = (
    "alexnet",
    "vgg16",
    "vgg19",
    "squeezenet1_0",
    "squeezenet1_1",
    "resnet18",
    "resnet34",
    "resnet50",
    "mobilenet_v1",
    "mobilenet_v2",
    "shufflenet_v2_x1_0",
    "densenet121",
    "resnext50_32x4d",
)

_STORAGE_RULE = (
    "1 byte = 8 bits. Every parameter (weights and biases) is stored at the given bit width, "
    "packed with no padding and no metadata (no scales or codebooks)."
)


def _count_hint(params: dict[str, Any]) -> str:
    """How the layer's parameters are counted, with its numbers but not the result."""
    bias = " + C_out" if params.get("bias") else ""
    if "in_features" in params:
        plus = " + out_features" if params["bias"] else ""
        sizes = f"{params['in_features']} and {params['out_features']}"
        return f"in_features·out_features{plus} with {sizes}"
    k = params["kernel_size"]
    return (
        f"C_out·C_in·k²{bias} with C_out = {params['out_channels']}, "
        f"C_in = {params['in_channels']}, k = {k}"
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
        bits = rng.choice((2, 3, 4, 5, 6, 8, 16, 32))
        unit = rng.choice(("MB", "MiB"))
    else:
        text, count, biases, params = _layer(rng, difficulty)
        bits = rng.choice((32, 16, 8)) if difficulty == 1 else rng.choice((4, 6, 8, 16))
        unit = rng.choice(("KB", "KiB") if difficulty == 1 else ("KB", "KiB", "MB", "MiB"))
    truth = Fraction(count * bits, 8)
    spec = AnswerSpec.number("bytes", unit)
    prompt = (
        f"{text}. Its parameters are stored with {bits}-bit values. How much storage do they "
        f"take, in {unit_phrase(unit)}? {_STORAGE_RULE} {UNITS_RULE}"
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
    # A layer's biases are a small share of its storage: ask for the figures that show them.
    spec = figures_to_tell_apart(spec, truth, candidates)
    return Draft(
        prompt=prompt,
        params={**params, "bits": bits},
        answer=spec,
        truth=truth,
        solution=solution,
        mistakes=candidates,
        conventions=(_STORAGE_RULE, UNITS_RULE),
        hints=(
            "Count the parameters first, then the bits they take, then the bytes.",
            f"bytes = parameters × bits / 8; then divide by 1 {unit} = {n(unit_bytes(unit))} B.",
            f"The parameter count is given; each takes {bits} bits."
            if "architecture" in params
            else f"Here the layer has {_count_hint(params)} parameters, at {bits} bits.",
        ),
    )


# -- codebook quantization step by step ------------------------------------------------------

CODEBOOK_FORGOTTEN = define(
    "codebook_forgotten",
    "This leaves out the codebook: the 2^b shared float32 values are stored too.",
)
CODEBOOK_IN_BITS = define(
    "codebook_in_bits",
    "This counts the codebook's entries as b-bit values; the centroids are float32, 4 bytes "
    "each (only the indices are b bits).",
)
_CODEBOOK_RULE = (
    "Every parameter (weights and biases) is replaced by a b-bit index into a codebook of 2^b "
    "float32 centroids stored with the layer; indices are packed with no padding, and there is "
    "no pruning and no Huffman coding."
)


def _codebook(rng: random.Random, difficulty: int) -> Draft:
    text, count, _, params = _layer(rng, difficulty)
    bits = rng.choice((4, 5, 6, 8) if difficulty < 3 else (2, 3, 4, 5, 6, 7, 8))
    unit = rng.choice(("KB", "KiB") if difficulty == 1 else ("KB", "KiB", "MB", "MiB"))
    entries = 2**bits
    original = 4 * count
    compressed = Fraction(count * bits, 8) + 4 * entries
    truth = {"original": original, "compressed": compressed, "ratio": original / compressed}
    size = AnswerSpec.number("bytes", unit)
    spec = AnswerSpec.multi(
        {"original": size, "compressed": size, "ratio": AnswerSpec.ratio(unit="×")}
    )
    prompt = (
        f"{text}. Its float32 parameters are quantized Deep Compression style to {bits}-bit "
        f"indices into a codebook. Give (a) original, the float32 size; (b) compressed, the "
        f"size of the indices plus the codebook; both in {unit_phrase(unit)}; (c) ratio, the "
        f"compression ratio original ÷ compressed. {_CODEBOOK_RULE} {UNITS_RULE}"
    )
    solution = (
        f"parameters = {n(count)}; original = 4·{n(count)} = {n(original)} B = "
        f"{expected_display(size, original)}\nindices = {n(count)}·{bits}/8 = "
        f"{n(Fraction(count * bits, 8))} B; codebook = 2^{bits}·4 = {n(4 * entries)} B; "
        f"compressed = {expected_display(size, compressed)}\nratio = {n(original)} / "
        f"{n(compressed)} = {expected_display(spec.part_specs['ratio'], truth['ratio'])}"
    )
    mistakes: list[Mistake | None] = [
        CODEBOOK_FORGOTTEN.at(
            {"compressed": compressed - 4 * entries, "ratio": Fraction(32, bits)}
        ),
        CODEBOOK_IN_BITS.at({"compressed": Fraction(count * bits + entries * bits, 8)}),
        BITS_VS_BYTES.at({"original": 32 * count}, "This is the size in bits; 8 bits per byte."),
        INVERTED_RATIO.at({"ratio": compressed / original}),
        KIB_VS_KB.at({"original": kib_vs_kb_value(original, unit)}),
    ]
    # The codebook is small against the indices: each part asks for the figures that show it.
    spec = parts_to_tell_apart(spec, truth, mistakes)
    return Draft(
        prompt=prompt,
        params={**params, "bits": bits},
        answer=spec,
        truth=truth,
        solution=solution,
        mistakes=mistakes,
        conventions=(_CODEBOOK_RULE, UNITS_RULE),
        hints=(
            "Count the parameters; each is 4 bytes before and a b-bit index after.",
            "compressed = parameters·b/8 bytes + 2^b·4 bytes of codebook; ratio = original ÷ "
            "compressed (Deep Compression: n·32 / (n·b + 2^b·32)).",
            f"Here the layer has {_count_hint(params)} parameters, and 2^{bits} = {entries} "
            "centroids.",
        ),
    )


MODEL_SIZE_BYTES = Family(
    id="model_size_bytes",
    topic=TOPIC,
    title="Storage size of quantized parameters",
    answer_kind="number",
    generator=_size,
    expected_seconds=75.0,
    cards=("quantization-model-size-formula", "quantization-alexnet-sizes"),
)
CODEBOOK_COMPRESSION = Family(
    id="codebook_compression",
    topic=TOPIC,
    title="Codebook quantization step by step: sizes before and after, and the ratio",
    answer_kind="parts",
    generator=_codebook,
    expected_seconds=180.0,
    cards=("quantization-codebook", "quantization-deep-compression"),
)

FAMILIES: tuple[Family, ...] = (MODEL_SIZE_BYTES, CODEBOOK_COMPRESSION)
