"""The conventions prompts state, worded once (docs/conventions.md), so that every prompt
states them alike.

``STANDARD`` are the conventions that hold for every question that uses them (what counts as
a parameter, a MAC, a FLOP, a byte unit, the batch): ``Family.generate`` takes them out of the
question's text and states them, once and short, in the question's foldable ``rules`` with the
answering rule, so that the question comes first. The others (``BN_INCLUDED``, ``NO_BIAS``...)
say what *this* question's layer is, and stay in its text.
"""

from __future__ import annotations

__all__ = [
    "BATCH_1",
    "PARAMS_RULE",
    "BN_INCLUDED",
    "BN_EXCLUDED",
    "CONV_BIAS_RULE",
    "NO_BIAS",
    "MACS_RULE",
    "FLOPS_RULE",
    "MEMORY_RULE",
    "UNITS_RULE",
    "CHANNELS_RULE",
    "STANDARD",
]


BATCH_1 = "Batch size 1 unless stated."
PARAMS_RULE = (
    "Parameters are the learnable weights and biases; buffers (BatchNorm's running mean and "
    "variance) are not parameters."
)
BN_INCLUDED = (
    "BatchNorm is included: its scale γ and shift β are parameters (2 per channel); its running "
    "mean and variance are buffers."
)
BN_EXCLUDED = "Leave BatchNorm out: count only the convolutions' weights."
CONV_BIAS_RULE = "Every convolution has a bias (one per output channel)."
NO_BIAS = "The convolutions have no bias."
MACS_RULE = (
    "MACs are the multiply-accumulates of convolutions and linear layers; bias additions are "
    "not counted, and BatchNorm, activations, pooling and additions cost 0 MACs."
)
FLOPS_RULE = "FLOPs = 2 × MACs (one multiply and one add per MAC)."
MEMORY_RULE = (
    "Activation memory = output elements × bytes per element (float32 4, float16 and "
    "bfloat16 2, int8 1)."
)
UNITS_RULE = "KB = 1000 B and MB = 1000² B; KiB = 1024 B and MiB = 1024² B."
CHANNELS_RULE = "Channels are counted after the concatenation, for one sample."

STANDARD = (PARAMS_RULE, MACS_RULE, FLOPS_RULE, MEMORY_RULE, UNITS_RULE, BATCH_1)
