"""The catalogue of known mistakes: a code, and the sentence a student sees when an answer
matches it.

A question family computes the value each mistake would give and passes ``Mistake`` objects
to ``grade``::

    FORGOT_BIAS.at(params - c_out)                 # or mistake("forgot_bias", params - c_out)
    SWAPPED_HW = define("swapped_hw", "This swaps height and width.")   # a family's own code
    SWAPPED_HW.at((64, 28, 56))

Some codes are also found by the grader itself, without a family's help (``GENERIC_CODES``):
factors of 1000, 1024, 8 and 2, rounding slips, wrong units, batch dimensions.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from .errors import QuestionError, UnknownMistakeError
from .types import Mistake, Truth

__all__ = [
    "MistakeKind",
    "CATALOGUE",
    "GENERIC_CODES",
    "mistake",
    "define",
    "FORGOT_BIAS",
    "IGNORED_GROUPS",
    "MACS_VS_FLOPS",
    "KIB_VS_KB",
    "BITS_VS_BYTES",
    "FORGOT_PADDING",
    "CEIL_VS_FLOOR",
    "COUNTED_BATCH",
    "COUNTED_BN_BUFFERS",
    "WRONG_DTYPE_SIZE",
    "OFF_BY_ONE",
    "INSUFFICIENT_PRECISION",
    "WRONG_DIMENSION",
    "UNIT_SCALE",
    "TRUNCATED",
    "PERCENT_VS_FRACTION",
    "INVERTED_RATIO",
    "BATCH_DIMENSION",
    "CHANNELS_LAST",
]

_CODE = re.compile(r"[a-z][a-z0-9_]{0,39}", re.ASCII)


@dataclass(frozen=True)
class MistakeKind:
    """A kind of mistake: its ``code`` and the default ``message`` shown when it is matched."""

    code: str
    message: str

    def at(self, value: Truth, message: str | None = None) -> Mistake:
        """The mistake giving ``value``; ``message`` overrides the default, e.g. with numbers."""
        return Mistake(self.code, message or self.message, value)


def _kind(code: str, message: str) -> MistakeKind:
    return MistakeKind(code, message)


FORGOT_BIAS = _kind(
    "forgot_bias",
    "This leaves out the bias: a layer with bias adds one parameter per output channel.",
)
IGNORED_GROUPS = _kind(
    "ignored_groups",
    "This ignores the groups: with groups=g each filter sees only C_in/g input channels, "
    "so weights and MACs shrink by a factor g (depthwise: g = C_in).",
)
MACS_VS_FLOPS = _kind(
    "macs_vs_flops",
    "This is off by a factor of 2, the MACs/FLOPs mix-up: one multiply-accumulate is 2 FLOPs.",
)
KIB_VS_KB = _kind(
    "kib_vs_kb",
    "This mixes decimal and binary units: KB, MB are powers of 1000, KiB, MiB powers of 1024.",
)
BITS_VS_BYTES = _kind(
    "bits_vs_bytes",
    "This is off by a factor of 8, the bits/bytes mix-up: a byte (B) is 8 bits (b).",
)
FORGOT_PADDING = _kind(
    "forgot_padding",
    "This leaves out the padding: out = floor((in + 2·pad − dilation·(k − 1) − 1) / stride) + 1.",
)
CEIL_VS_FLOOR = _kind(
    "ceil_vs_floor",
    "This rounds the wrong way: output sizes round down (floor) unless ceil_mode=True.",
)
COUNTED_BATCH = _kind(
    "counted_batch",
    "This counts the whole batch; the question asks for one sample.",
)
COUNTED_BN_BUFFERS = _kind(
    "counted_bn_buffers",
    "This counts BatchNorm's running mean and variance, which are buffers, not parameters; "
    "BatchNorm has 2 parameters per channel (weight and bias).",
)
WRONG_DTYPE_SIZE = _kind(
    "wrong_dtype_size",
    "This uses the wrong element size: float32 is 4 bytes, float16 and bfloat16 2, int8 1.",
)
OFF_BY_ONE = _kind("off_by_one", "This is off by one.")
INSUFFICIENT_PRECISION = _kind(
    "insufficient_precision",
    "This agrees with the answer only to the few digits given; give more significant figures.",
)
WRONG_DIMENSION = _kind(
    "wrong_dimension",
    "This answer's unit measures a different quantity from the one asked for.",
)
UNIT_SCALE = _kind(
    "unit_scale",
    "This is off by a power of 1000 or 1024: check the unit prefix (k, M, G, Ki, Mi, Gi).",
)
TRUNCATED = _kind(
    "truncated",
    "This was truncated, not rounded: round the last digit to the nearest value.",
)
PERCENT_VS_FRACTION = _kind(
    "percent_vs_fraction",
    "This is off by a factor of 100: a percentage needs the % sign, a plain fraction does not.",
)
INVERTED_RATIO = _kind(
    "inverted_ratio",
    "This is the reciprocal of the ratio asked for: check which quantity goes on top.",
)
BATCH_DIMENSION = _kind(
    "batch_dimension",
    "The shape asked for starts with the batch dimension: (N, C, H, W).",
)
CHANNELS_LAST = _kind(
    "channels_last",
    "This puts channels last; PyTorch tensors are channels-first: (C, H, W).",
)

CATALOGUE: Mapping[str, MistakeKind] = MappingProxyType(
    {
        k.code: k
        for k in (
            FORGOT_BIAS,
            IGNORED_GROUPS,
            MACS_VS_FLOPS,
            KIB_VS_KB,
            BITS_VS_BYTES,
            FORGOT_PADDING,
            CEIL_VS_FLOOR,
            COUNTED_BATCH,
            COUNTED_BN_BUFFERS,
            WRONG_DTYPE_SIZE,
            OFF_BY_ONE,
            INSUFFICIENT_PRECISION,
            WRONG_DIMENSION,
            UNIT_SCALE,
            TRUNCATED,
            PERCENT_VS_FRACTION,
            INVERTED_RATIO,
            BATCH_DIMENSION,
            CHANNELS_LAST,
        )
    }
)

# Found by ``grade`` without a family naming them (only when no family mistake matched).
GENERIC_CODES: frozenset[str] = frozenset(
    {
        "macs_vs_flops",
        "kib_vs_kb",
        "bits_vs_bytes",
        "counted_batch",
        "off_by_one",
        "insufficient_precision",
        "wrong_dimension",
        "unit_scale",
        "truncated",
        "percent_vs_fraction",
        "inverted_ratio",
        "batch_dimension",
        "channels_last",
    }
)


def mistake(code: str, value: Truth, message: str | None = None) -> Mistake:
    """The standard mistake ``code`` giving ``value`` (``UnknownMistakeError`` if no such code)."""
    if code not in CATALOGUE:
        raise UnknownMistakeError(code, sorted(CATALOGUE))
    return CATALOGUE[code].at(value, message)


def define(code: str, message: str) -> MistakeKind:
    """A family's own kind of mistake; the code must be new and snake_case, the message a sentence.

    Nothing is registered globally: the family keeps the returned object and calls ``.at``.
    """
    if not isinstance(code, str) or not _CODE.fullmatch(code):
        raise QuestionError(f"mistake code {code!r} is not snake_case (a-z, 0-9, _; 40 at most)")
    if code in CATALOGUE:
        raise QuestionError(f"mistake code {code!r} is a standard code; use mistake({code!r}, ...)")
    if not isinstance(message, str) or not message.strip():
        raise QuestionError("a mistake needs a message")
    return MistakeKind(code, message.strip())
