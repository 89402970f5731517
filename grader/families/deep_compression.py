"""Deep Compression (Han et al.) on one layer: its size after pruning, after codebook
quantisation and after Huffman coding.

The weight count comes from the layer built on the meta device; the pipeline's storage is
the paper's format: each kept weight stores its value (32 bits, then a b-bit codebook index,
then a Huffman code of the given mean length) and a relative position index of r bits (then a
Huffman code), plus a codebook of 2^b float32 centroids once quantised.
"""

from __future__ import annotations

import random
from fractions import Fraction

from torch import nn

from ..mistakes import BITS_VS_BYTES, KIB_VS_KB, define
from ..question import Draft, Family
from ..types import AnswerSpec, Mistake
from ._base import (
    UNITS_RULE,
    call,
    expected_display,
    n,
    param_count,
    parts_to_tell_apart,
    unit_phrase,
)
from .conv import kib_vs_kb_value

__all__ = ["DEEP_COMPRESSION_SIZE", "FAMILIES", "pipeline_bits"]

TOPIC = "quantization"

FORGOT_POSITION_INDEX = define(
    "forgot_position_index",
    "A pruned (sparse) layer must also store where each kept weight is: r bits of relative "
    "index per weight.",
)
FORGOT_CODEBOOK = define(
    "forgot_codebook",
    "The quantised layer also stores its codebook: 2^b centroids of 32 bits each.",
)
PRUNED_FRACTION_KEPT = define(
    "pruned_fraction_kept",
    "This keeps the pruned share instead of the surviving one: a layer pruned to p% keeps p% "
    "of its weights.",
)
HUFFMAN_ON_VALUES_ONLY = define(
    "huffman_on_values_only",
    "Huffman coding shortens both streams: the codebook indices and the position indices.",
)


def pipeline_bits(
    weights: int, kept: int, bits: int, index_bits: int, huff_value: Fraction,
    huff_index: Fraction,
) -> tuple[int, int, Fraction]:  # fmt: skip
    """(pruned, quantised, Huffman-coded) sizes in bits of a layer keeping ``kept`` weights."""
    codebook = 2**bits * 32
    return (
        kept * (32 + index_bits),
        kept * (bits + index_bits) + codebook,
        kept * (huff_value + huff_index) + codebook,
    )


def _layer(rng: random.Random, difficulty: int) -> tuple[nn.Module, str, str]:
    if difficulty == 1 or rng.random() < 0.5:
        i, o = rng.choice((1024, 2048, 4096, 9216)), rng.choice((1000, 1024, 2048, 4096))
        return nn.Linear(i, o, bias=False, device="meta"), call("nn.Linear", i, o, bias=False), "fc"
    ci, co, k = rng.choice((64, 96, 128, 256, 384)), rng.choice((128, 256, 384)), rng.choice((3, 5))
    return (
        nn.Conv2d(ci, co, k, padding=k // 2, bias=False, device="meta"),
        call("nn.Conv2d", ci, co, kernel_size=k, padding=k // 2, bias=False),
        "conv",
    )


def _size(rng: random.Random, difficulty: int) -> Draft:
    layer, text, kind = _layer(rng, difficulty)
    weights = param_count(layer)
    keep = Fraction(rng.choice((4, 8, 9, 10, 11, 16, 20, 25, 35)), 100)
    kept = int(weights * keep)  # rounded down
    bits = rng.choice((5, 6, 8) if kind == "conv" else (4, 5, 6))
    index_bits = 8 if kind == "conv" else 5
    huff_value = Fraction(bits, 1) - Fraction(rng.choice((5, 8, 10, 12, 15)), 10)
    huff_index = Fraction(index_bits, 1) - Fraction(rng.choice((5, 10, 15, 20)), 10)
    unit = rng.choice(("KB", "KiB", "MB") if difficulty > 1 else ("KB", "KiB"))
    pruned, quantised, huffman = pipeline_bits(
        weights, kept, bits, index_bits, huff_value, huff_index
    )
    ratio = Fraction(weights * 32) / huffman
    part = AnswerSpec.number("bytes", unit)
    spec = AnswerSpec.multi(
        {"pruned": part, "quantised": part, "ratio": AnswerSpec.ratio(unit="×")}
    )
    truth = {"pruned": Fraction(pruned, 8), "quantised": Fraction(quantised, 8), "ratio": ratio}
    prompt = (
        f"Deep Compression is applied to the weights of {text} (float32, {n(weights)} "
        f"weights). Pruning keeps {float(keep * 100):g}% of them (rounded down to a whole "
        f"number); each kept weight is stored with a {index_bits}-bit relative position index. "
        f"Quantisation then replaces each kept value by a {bits}-bit index into a codebook of "
        f"2^{bits} float32 centroids (stored too). Huffman coding then brings the mean code "
        f"length to {float(huff_value):g} bits per value index and {float(huff_index):g} bits "
        f"per position index. (a) pruned: the size after pruning, in {unit_phrase(unit)}; "
        f"(b) quantised: after pruning and quantisation, in {unit}; (c) ratio: the compression "
        f"factor after all three stages against the dense float32 weights. {UNITS_RULE}"
    )
    solution = (
        f"kept = floor({n(weights)} × {float(keep):g}) = {n(kept)}; pruned = {n(kept)}·(32 + "
        f"{index_bits}) bits = {expected_display(part, truth['pruned'])}; quantised = "
        f"{n(kept)}·({bits} + {index_bits}) + 2^{bits}·32 bits = "
        f"{expected_display(part, truth['quantised'])}; Huffman = {n(kept)}·"
        f"({float(huff_value):g} + {float(huff_index):g}) + {2**bits * 32} bits = {n(huffman)} "
        f"bits; ratio = 32·{n(weights)} / {n(huffman)} = "
        f"{expected_display(spec.part_specs['ratio'], ratio)}"
    )
    other = int(weights * (1 - keep))
    o_pruned, o_quant, o_huff = pipeline_bits(weights, other, bits, index_bits, huff_value,
                                              huff_index)  # fmt: skip
    mistakes: list[Mistake | None] = [
        FORGOT_POSITION_INDEX.at({"pruned": Fraction(kept * 32, 8),
                                  "quantised": Fraction(kept * bits + 2**bits * 32, 8)}),
        FORGOT_CODEBOOK.at({"quantised": Fraction(kept * (bits + index_bits), 8),
                            "ratio": Fraction(weights * 32) / (huffman - 2**bits * 32)}),
        PRUNED_FRACTION_KEPT.at({"pruned": Fraction(o_pruned, 8),
                                 "quantised": Fraction(o_quant, 8),
                                 "ratio": Fraction(weights * 32) / o_huff}),
        HUFFMAN_ON_VALUES_ONLY.at({"ratio": Fraction(weights * 32)
                                   / (kept * (huff_value + index_bits) + 2**bits * 32)}),
        BITS_VS_BYTES.at({"pruned": pruned, "quantised": quantised}),
        KIB_VS_KB.at({"pruned": kib_vs_kb_value(truth["pruned"], unit),
                      "quantised": kib_vs_kb_value(truth["quantised"], unit)}),
    ]  # fmt: skip
    # The codebook is a few hundred bytes against tens of kilobytes: each part asks for the
    # figures it takes to tell every mistake named here from its answer.
    spec = parts_to_tell_apart(spec, truth, mistakes)
    return Draft(
        prompt=prompt,
        params={
            "layer": text,
            "weights": weights,
            "keep": str(keep),
            "bits": bits,
            "index_bits": index_bits,
            "huffman_value": str(huff_value),
            "huffman_index": str(huff_index),
            "unit": unit,
        },  # fmt: skip
        answer=spec,
        truth=truth,
        solution=solution,
        mistakes=mistakes,
        conventions=(UNITS_RULE, "1 byte = 8 bits; the dense layer stores 32 bits per weight."),
        hints=(
            "Count the surviving weights first; every later stage stores something per "
            "surviving weight, plus the codebook once.",
            "bits = kept·(value bits + index bits), + 2^b·32 once quantised; ratio = "
            "32·weights / final bits.",
            f"Here {float(keep * 100):g}% of the weights are kept, r = {index_bits} and "
            f"b = {bits}.",
        ),
    )


DEEP_COMPRESSION_SIZE = Family(
    id="deep_compression_size",
    topic=TOPIC,
    title="Deep Compression: size after pruning, quantisation and Huffman coding",
    answer_kind="parts",
    generator=_size,
    expected_seconds=240.0,
    cards=("quantization-deep-compression", "quantization-codebook"),
)

FAMILIES: tuple[Family, ...] = (DEEP_COMPRESSION_SIZE,)
