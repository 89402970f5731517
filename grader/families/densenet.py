"""DenseNet: channels out of a dense block (k0 + L·k) and after a transition (⌊θ·m⌋).

Truths come from ``models.DenseBlock`` and ``models.Transition`` built on the meta device and
run forward: torch does the concatenations. Those forward passes go through BatchNorm, whose
meta implementation is slow, so each configuration's shape is memoised.
"""

from __future__ import annotations

import random
from fractions import Fraction
from functools import lru_cache

from torch import nn

from models import DenseBlock, Transition

from ..mistakes import define
from ..question import Draft, Family
from ..types import AnswerSpec
from ._block_util import expected_display, keep_mistakes, on_meta, output_shape

__all__ = ["DENSENET_CHANNELS"]

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
    return output_shape(nn.Sequential(*mods), (k0, 8, 8))[1]


def _draft(rng: random.Random, difficulty: int) -> Draft:
    """Channels out of one block (1), after its transition (2), or after block → transition →
    block from a DenseNet-BC stem of 2k channels (3)."""
    # Few enough settings (16 to 24 per difficulty) that each is run once, then memoised.
    k = rng.choice((12, 32))
    theta: Fraction | None = None
    if difficulty == 1:
        k0 = rng.choice((16, 24, 64))
        layers: tuple[int, ...] = (rng.randint(3, 6),)
    elif difficulty == 2:
        k0 = rng.choice((64, 128, 256))
        layers = (rng.choice((4, 6, 8)),)
        theta = Fraction(1, 2)
    else:
        k0 = 2 * k  # DenseNet-BC's stem outputs 2k channels
        layers = (rng.choice((4, 6)), rng.choice((4, 6)))
        theta = rng.choice(_THETAS)
    truth = _forward_channels(k0, k, layers, theta)
    m1 = k0 + layers[0] * k  # the first block's output, for the text and the mistakes

    lines = [f"after block 1: k0 + L·k = {k0} + {layers[0]}·{k} = {m1}"]
    params: dict[str, object] = {"in_channels": k0, "growth_rate": k, "bn_size": 4}
    mistakes = [DENSENET_INNER_WIDTH.at(4 * k)]
    if difficulty == 1:
        prompt = (
            f"A DenseNet dense block has L = {layers[0]} layers and growth rate k = {k}, and "
            f"receives k0 = {k0} channels. {_LAYER} How many channels does the block output?"
        )
        params["num_layers"] = layers[0]
        mistakes += [
            DENSENET_FORGOT_K0.at(truth - k0),
            DENSENET_LAYER_COUNT.at(truth - k),
            DENSENET_LAYER_COUNT.at(truth + k),
        ]
        lines = [f"k0 + L·k = {k0} + {layers[0]}·{k} = {expected_display(_SPEC, truth)}"]
    elif difficulty == 2:
        assert theta is not None
        prompt = (
            f"A DenseNet-BC dense block has L = {layers[0]} layers and growth rate k = {k}, and "
            f"receives k0 = {k0} channels; a transition with compression θ = {float(theta):g} "
            f"follows it. {_LAYER} {_TRANSITION} How many channels leave the transition?"
        )
        params |= {"num_layers": layers[0], "compression": float(theta)}
        lines.append(f"after the transition: ⌊{float(theta):g}·{m1}⌋ = ")
        mistakes += [
            DENSENET_NO_COMPRESSION.at(m1),
            DENSENET_FORGOT_K0.at(int(theta * (m1 - k0))),
            DENSENET_COMPRESSED_GROWTH_ONLY.at(k0 + int(theta * (m1 - k0))),
            DENSENET_LAYER_COUNT.at(int(theta * (m1 - k))),
            DENSENET_LAYER_COUNT.at(int(theta * (m1 + k))),
        ]
    else:
        assert theta is not None
        l1, l2 = layers
        t = int(theta * m1)
        prompt = (
            f"A DenseNet-BC starts with a stem giving k0 = 2k = {k0} channels, then dense block 1 "
            f"(L = {l1} layers), a transition with compression θ = {float(theta):g}, and dense "
            f"block 2 (L = {l2} layers); growth rate k = {k}. {_LAYER} {_TRANSITION} How many "
            f"channels leave dense block 2?"
        )
        params |= {"num_layers": list(layers), "compression": float(theta)}
        lines.append(f"after the transition: ⌊{float(theta):g}·{m1}⌋ = {t}")
        lines.append(f"after block 2: {t} + {l2}·{k} = ")
        mistakes += [
            DENSENET_NO_COMPRESSION.at(m1 + l2 * k),
            DENSENET_FORGOT_SECOND_BLOCK.at(t),
            DENSENET_FORGOT_K0.at(int(theta * (m1 - k0)) + l2 * k),
            DENSENET_COMPRESSED_GROWTH_ONLY.at(k0 + int(theta * (m1 - k0)) + l2 * k),
            DENSENET_LAYER_COUNT.at(truth - k),
            DENSENET_LAYER_COUNT.at(truth + k),
        ]
    if difficulty > 1:
        lines[-1] += expected_display(_SPEC, truth)
    return Draft(
        prompt=prompt,
        params=params,
        answer=_SPEC,
        truth=truth,
        solution="\n".join(lines),
        mistakes=keep_mistakes(_SPEC, truth, mistakes),
        conventions=("Channels are counted after the concatenation, for one sample.",),
    )


DENSENET_CHANNELS = Family(
    id="densenet_channels",
    topic="densenet",
    title="Channels through DenseNet blocks and transitions",
    answer_kind="number",
    generator=_draft,
    expected_seconds=90.0,
)
