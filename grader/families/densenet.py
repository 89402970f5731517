"""DenseNet: channels out of a dense block (k0 + L·k) and after a transition (⌊θ·m⌋), and the
parameters and MACs of one dense layer.

Truths come from ``models.DenseBlock``, ``models.Transition`` and ``models.DenseLayer`` built on
the meta device: channels from a forward pass (torch does the concatenations), parameters from
the module, MACs from its profile; each configuration is memoised.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache

from torch import nn

from models import DenseBlock, DenseLayer, Transition

from ..mistakes import COUNTED_BN_BUFFERS, MACS_VS_FLOPS, define
from ..question import Draft, Family
from ..types import AnswerSpec, Mistake
from ._base import (
    BATCH_1,
    BN_INCLUDED,
    CHANNELS_RULE,
    FORGOT_BN,
    MACS_RULE,
    NO_BIAS,
    PARAMS_RULE,
    block_counts,
    block_output_shape,
    expected_display,
    measure_block,
    on_meta,
)

__all__ = ["DENSENET_CHANNELS", "DENSENET_LAYER_COST", "FAMILIES"]

TOPIC = "densenet"

DENSENET_FORGOT_K0 = define(
    "densenet_forgot_k0",
    "This leaves out the block's input: the output concatenates the k0 input channels with the "
    "L·k new ones.",
)
DENSENET_LAYER_COUNT = define(
    "densenet_layer_count",
    "This counts one layer too many or too few: each of the L layers adds exactly k channels.",
)
DENSENET_NO_COMPRESSION = define(
    "densenet_no_compression",
    "This leaves out the transition's compression: its 1×1 convolution keeps ⌊θ·m⌋ of the m "
    "channels.",
)
DENSENET_COMPRESSED_GROWTH_ONLY = define(
    "densenet_compressed_growth_only",
    "The transition compresses all m channels of the block output, k0 included, not only the "
    "new ones.",
)
DENSENET_INNER_WIDTH = define(
    "densenet_inner_width",
    "This is a layer's bottleneck width (bn_size·k); each layer outputs only k new maps.",
)
DENSENET_FORGOT_SECOND_BLOCK = define(
    "densenet_forgot_second_block",
    "This stops at the transition; the second dense block adds its own L·k channels.",
)

_SPEC = AnswerSpec.number("channels")
_THETAS = (Fraction(1, 2), Fraction(3, 4))
_LAYER = (
    "Each layer (BN-ReLU-1×1 conv to 4k channels, BN-ReLU-3×3 conv) takes the concatenation of "
    "the block input and every earlier layer's output and produces k new maps; the block "
    "outputs the concatenation of its input and all L layers' maps."
)
_TRANSITION = (
    "A transition (BN-ReLU-1×1 conv-2×2 average pool) compresses m input channels to ⌊θ·m⌋."
)


@lru_cache(maxsize=512)
def _forward_channels(k0: int, k: int, layers: tuple[int, ...], theta: Fraction | None) -> int:
    """Channels out of dense blocks of ``layers`` layers each (growth ``k``, input ``k0``),
    with a transition of compression ``theta`` after each block but the last (or after the
    only one), by a forward pass of the real modules on meta."""
    mods: list[nn.Module] = []
    ch = k0
    for i, n_layers in enumerate(layers):
        block = on_meta(DenseBlock, n_layers, ch, k)
        mods.append(block)
        ch = block.out_channels
        if theta is not None and (i < len(layers) - 1 or len(layers) == 1):
            # The compressed width is an argument of the transition, as in DenseNet itself.
            mods.append(on_meta(Transition, ch, int(theta * ch)))
            ch = int(theta * ch)
    # 8×8 is enough room for one 2×2 average pool; the channels do not depend on it.
    return block_output_shape(nn.Sequential(*mods), (k0, 8, 8))[1]


@dataclass(frozen=True)
class DenseSetup:
    """Dense blocks of ``layers`` layers (growth ``k``, input ``k0``) with a transition of
    compression ``theta`` after the first, if any."""

    k0: int
    k: int
    layers: tuple[int, ...]
    theta: Fraction | None = None

    @property
    def m1(self) -> int:
        """Channels out of the first block, by the formula."""
        return self.k0 + self.layers[0] * self.k

    def compressed(self, m: int) -> int:
        """⌊θ·m⌋."""
        assert self.theta is not None
        return int(self.theta * m)


def _draw_dense(rng: random.Random, difficulty: int) -> DenseSetup:
    """One block (1), a block and its transition (2), block → transition → block from a
    DenseNet-BC stem of 2k channels (3). Blocks of at most 6 layers: building a layer costs
    milliseconds even on the meta device."""
    k = rng.choice((12, 16, 24, 32, 40, 48))
    if difficulty == 1:
        return DenseSetup(rng.choice((16, 24, 32, 48, 64, 96, 128)), k, (rng.randint(2, 6),))
    if difficulty == 2:
        return DenseSetup(32 * rng.randint(2, 16), k, (rng.randint(2, 6),), Fraction(1, 2))
    layers = (rng.randint(2, 5), rng.randint(2, 5))
    return DenseSetup(2 * k, k, layers, rng.choice(_THETAS))


def _one_block(d: DenseSetup, truth: int) -> tuple[str, list[str], list[Mistake]]:
    prompt = (
        f"A DenseNet dense block has L = {d.layers[0]} layers and growth rate k = {d.k}, and "
        f"receives k0 = {d.k0} channels. {_LAYER} How many channels does the block output?"
    )
    lines = [f"k0 + L·k = {d.k0} + {d.layers[0]}·{d.k} = "]
    mistakes = [
        DENSENET_FORGOT_K0.at(truth - d.k0),
        DENSENET_LAYER_COUNT.at(truth - d.k),
        DENSENET_LAYER_COUNT.at(truth + d.k),
    ]
    return prompt, lines, mistakes


def _block_and_transition(d: DenseSetup, truth: int) -> tuple[str, list[str], list[Mistake]]:
    theta, m1, k0 = float(d.theta or 0), d.m1, d.k0
    prompt = (
        f"A DenseNet-BC dense block has L = {d.layers[0]} layers and growth rate k = {d.k}, and "
        f"receives k0 = {k0} channels; a transition with compression θ = {theta:g} follows it. "
        f"{_LAYER} {_TRANSITION} How many channels leave the transition?"
    )
    lines = [
        f"after block 1: k0 + L·k = {k0} + {d.layers[0]}·{d.k} = {m1}",
        f"after the transition: ⌊{theta:g}·{m1}⌋ = ",
    ]
    mistakes = [
        DENSENET_NO_COMPRESSION.at(m1),
        DENSENET_FORGOT_K0.at(d.compressed(m1 - k0)),
        DENSENET_COMPRESSED_GROWTH_ONLY.at(k0 + d.compressed(m1 - k0)),
        DENSENET_LAYER_COUNT.at(d.compressed(m1 - d.k)),
        DENSENET_LAYER_COUNT.at(d.compressed(m1 + d.k)),
    ]
    return prompt, lines, mistakes


def _two_blocks(d: DenseSetup, truth: int) -> tuple[str, list[str], list[Mistake]]:
    (l1, l2), theta, m1, k0 = d.layers, float(d.theta or 0), d.m1, d.k0
    t = d.compressed(m1)
    prompt = (
        f"A DenseNet-BC starts with a stem giving k0 = 2k = {k0} channels, then dense block 1 "
        f"(L = {l1} layers), a transition with compression θ = {theta:g}, and dense block 2 "
        f"(L = {l2} layers); growth rate k = {d.k}. {_LAYER} {_TRANSITION} How many channels "
        "leave dense block 2?"
    )
    lines = [
        f"after block 1: k0 + L·k = {k0} + {l1}·{d.k} = {m1}",
        f"after the transition: ⌊{theta:g}·{m1}⌋ = {t}",
        f"after block 2: {t} + {l2}·{d.k} = ",
    ]
    mistakes = [
        DENSENET_NO_COMPRESSION.at(m1 + l2 * d.k),
        DENSENET_FORGOT_SECOND_BLOCK.at(t),
        DENSENET_FORGOT_K0.at(d.compressed(m1 - k0) + l2 * d.k),
        DENSENET_COMPRESSED_GROWTH_ONLY.at(k0 + d.compressed(m1 - k0) + l2 * d.k),
        DENSENET_LAYER_COUNT.at(truth - d.k),
        DENSENET_LAYER_COUNT.at(truth + d.k),
    ]
    return prompt, lines, mistakes


def _draft(rng: random.Random, difficulty: int) -> Draft:
    """Channels out of one block (1), after its transition (2), or after block → transition →
    block (3)."""
    d = _draw_dense(rng, difficulty)
    truth = _forward_channels(d.k0, d.k, d.layers, d.theta)
    build = (_one_block, _block_and_transition, _two_blocks)[difficulty - 1]
    prompt, lines, mistakes = build(d, truth)
    lines[-1] += expected_display(_SPEC, truth)
    params: dict[str, object] = {"in_channels": d.k0, "growth_rate": d.k, "bn_size": 4}
    params["num_layers"] = d.layers[0] if len(d.layers) == 1 else list(d.layers)
    if d.theta is not None:
        params["compression"] = float(d.theta)
    return Draft(
        prompt=prompt,
        params=params,
        answer=_SPEC,
        truth=truth,
        solution="\n".join(lines),
        mistakes=[DENSENET_INNER_WIDTH.at(4 * d.k), *mistakes],
        conventions=(CHANNELS_RULE,),
        hints=(
            "A dense block keeps everything it receives and adds k maps per layer.",
            "After a block: k0 + L·k channels; after a transition: ⌊θ·m⌋ of its m input channels.",
            "The 4k-channel bottleneck inside a layer is not part of the output.",
        ),
    )


# -- one dense layer's parameters and MACs ---------------------------------------------------

DENSENET_NO_BOTTLENECK = define(
    "densenet_no_bottleneck",
    "This leaves out the 1×1 bottleneck: in DenseNet-BC the 3×3 sees bn_size·k channels, "
    "not the layer's whole input.",
)
DENSENET_FORGOT_CONCAT = define(
    "densenet_forgot_concat",
    "The layer sees the concatenation of the block input and every earlier layer's k maps, "
    "not the block input alone.",
)
# (network, k0 of each block, layers per block), growth rate 32, DenseNet-BC (Huang et al.,
# Table 1); the blocks run at 56, 28, 14 and 7 pixels at 224×224.
_NETS = (
    ("DenseNet-121", (64, 128, 256, 512), (6, 12, 24, 16)),
    ("DenseNet-169", (64, 128, 256, 640), (6, 12, 32, 32)),
    ("DenseNet-201", (64, 128, 256, 896), (6, 12, 48, 32)),
)


def _draw_layer(rng: random.Random, difficulty: int) -> tuple[int, int, int, int, int, str]:
    """(k0, i, k, bn_size, side, where): layer i (from 0) of a block that receives k0."""
    if difficulty == 2:
        net, k0s, counts = rng.choice(_NETS)
        block = rng.randrange(4)
        i = rng.randrange(counts[block])
        where = f"{net}'s dense block {block + 1} (k0 = {k0s[block]}, k = 32), its layer {i + 1}"
        return k0s[block], i, 32, 4, 56 >> block, where
    k = rng.choice((12, 24, 32)) if difficulty == 1 else rng.randint(8, 48)
    k0 = rng.choice((16, 24, 32, 48, 64, 96, 128, 256))
    bn_size = 4 if difficulty == 1 else rng.choice((2, 4))
    i = rng.randint(0, 11)
    where = f"a dense block (k0 = {k0}, k = {k}), its layer {i + 1}"
    return k0, i, k, bn_size, rng.choice((7, 14, 28, 56)), where


@lru_cache(maxsize=2048)
def _layer_cost(c_in: int, k: int, bn_size: int, side: int) -> tuple[int, int, int, int]:
    """(params, BN params, BN buffers, MACs) of the real ``DenseLayer``, on meta."""
    counts = block_counts(DenseLayer, (c_in, k, bn_size))
    macs = measure_block(on_meta(DenseLayer, c_in, k, bn_size), (c_in, side, side)).macs
    return counts.total, counts.bn, counts.bn_buffers, macs


def _layer_draft(rng: random.Random, difficulty: int) -> Draft:
    """One DenseNet-BC layer: round widths (1), a layer of DenseNet-121/169/201 (2), any growth
    rate and bottleneck factor (3)."""
    k0, i, k, bn_size, side, where = _draw_layer(rng, difficulty)
    c_in, inner = k0 + i * k, bn_size * k
    params, bn, buffers, macs = _layer_cost(c_in, k, bn_size, side)
    truth = {"params": params, "macs": macs}
    spec = AnswerSpec.multi(
        {"params": AnswerSpec.number("params", exact=True), "macs": AnswerSpec.number("macs")}
    )
    prompt = (
        f"Take {where}, on {side}×{side} maps. It is BN-ReLU-1×1 conv to bn_size·k = "
        f"{bn_size}·{k} channels, then BN-ReLU-3×3 conv (padding 1) to k = {k} new maps, and "
        f"it receives the concatenation of the block input and every earlier layer's output. "
        f"Give (a) params, its parameters; (b) macs, its MACs. {NO_BIAS} {BN_INCLUDED} "
        f"{PARAMS_RULE} {MACS_RULE} {BATCH_1}"
    )
    area = f"{side}·{side}"
    solution = (
        f"input channels = k0 + i·k = {k0} + {i}·{k} = {c_in}\nparams = BN 2·{c_in} + 1×1 "
        f"{c_in}·{inner} + BN 2·{inner} + 3×3 9·{inner}·{k} = "
        f"{expected_display(spec.part_specs['params'], params)}\nmacs = {area}·{c_in}·{inner}"
        f" + {area}·9·{inner}·{k} = {expected_display(spec.part_specs['macs'], macs)}"
    )
    mistakes = _layer_mistakes(k0, i, k, inner, side, truth, bn, buffers)
    return Draft(
        prompt=prompt,
        params={
            "in_channels": k0,
            "layer": i + 1,
            "growth_rate": k,
            "bn_size": bn_size,
            "height": side,
            "width": side,
        },
        answer=spec,
        truth=truth,
        solution=solution,
        mistakes=mistakes,
        conventions=(NO_BIAS, BN_INCLUDED, PARAMS_RULE, MACS_RULE, BATCH_1),
        hints=(
            "First find how many channels the layer receives: the block input plus k for "
            "each earlier layer.",
            "1×1 conv: C_in·(bn_size·k) weights; 3×3 conv: 9·(bn_size·k)·k; each BatchNorm 2 "
            "per channel. MACs: H·W times each convolution's weights.",
            f"Here the layer receives {k0} + {i}·{k} channels and its bottleneck has {inner}.",
        ),
    )


def _layer_mistakes(
    k0: int, i: int, k: int, inner: int, side: int, truth: dict[str, int], bn: int, buffers: int
) -> list[Mistake | None]:
    c_in, area = k0 + i * k, side * side
    no_bottleneck = 9 * c_in * k
    only_k0 = (k0 * inner + 9 * inner * k) + 2 * (k0 + inner)
    return [
        FORGOT_BN.at({"params": truth["params"] - bn}),
        COUNTED_BN_BUFFERS.at({"params": truth["params"] + buffers}),
        DENSENET_NO_BOTTLENECK.at(
            {"params": no_bottleneck + 2 * c_in, "macs": area * no_bottleneck}
        ),
        DENSENET_FORGOT_CONCAT.at({"params": only_k0, "macs": area * (k0 * inner + 9 * inner * k)})
        if i
        else None,
        MACS_VS_FLOPS.at({"macs": 2 * truth["macs"]}, "This is the FLOP count; MACs were asked."),
    ]


DENSENET_CHANNELS = Family(
    id="densenet_channels",
    topic=TOPIC,
    title="Channels through DenseNet blocks and transitions",
    answer_kind="number",
    generator=_draft,
    expected_seconds=90.0,
    cards=("densenet-growth-rate", "densenet-transition-layer"),
)
DENSENET_LAYER_COST = Family(
    id="densenet_layer_cost",
    topic=TOPIC,
    title="Parameters and MACs of one DenseNet-BC layer",
    answer_kind="parts",
    generator=_layer_draft,
    expected_seconds=180.0,
    cards=("densenet-bottleneck", "densenet-connectivity"),
)

FAMILIES: tuple[Family, ...] = (DENSENET_CHANNELS, DENSENET_LAYER_COST)
