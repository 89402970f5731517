"""im2col: the column buffer a convolution lowered to one matrix product needs.

The truth unfolds a meta tensor with ``torch.nn.functional.unfold`` (PyTorch's im2col) using
the convolution's kernel, stride, padding and dilation: its shape is (N, C_in·k_h·k_w,
H_out·W_out), and its bytes are that many elements of the dtype. The product of the
C_out × C_in·k² weight matrix with it does exactly the convolution's MACs, which the
solution shows.
"""

from __future__ import annotations

import random

import torch
import torch.nn.functional as F

from ..mistakes import KIB_VS_KB, define
from ..question import Draft, Family
from ..types import AnswerSpec, Mistake
from ._base import BATCH_1, MEMORY_RULE, UNITS_RULE, expected_display, n, unit_phrase
from .conv import FORGOT_BATCH, draw_conv, kib_vs_kb_value

__all__ = ["IM2COL_BUFFER", "FAMILIES", "unfold_shape"]

TOPIC = "conv-arithmetic"

ROWS_FROM_OUTPUT = define(
    "rows_from_output",
    "A column holds one receptive field: C_in·k_h·k_w input values, not C_out.",
)
FORGOT_KERNEL_AREA = define(
    "forgot_kernel_area",
    "Each column repeats the k_h·k_w window of every input channel: C_in·k_h·k_w rows.",
)
COLUMNS_FROM_INPUT = define(
    "columns_from_input",
    "There is one column per OUTPUT position (H_out·W_out), not per input pixel.",
)
GAVE_INPUT_SIZE = define(
    "gave_input_size",
    "This is the input tensor's size; im2col copies each input value into up to k_h·k_w columns.",
)

_DTYPES = {"float32": (torch.float32, 4), "float16": (torch.float16, 2)}


def unfold_shape(
    batch: int, cin: int, h: int, w: int, k: tuple[int, int], stride: int, padding: tuple[int, int],
    dilation: int,
) -> tuple[int, int, int]:  # fmt: skip
    """(N, C_in·k_h·k_w, L) of ``F.unfold`` on a meta tensor: PyTorch's im2col matrix."""
    x = torch.empty((batch, cin, h, w), device="meta")
    cols = F.unfold(x, k, dilation=dilation, padding=padding, stride=stride)
    n_, rows, length = cols.shape
    return n_, rows, length


def _buffer(rng: random.Random, difficulty: int) -> Draft:
    s = draw_conv(rng, difficulty, groups=False)
    dtype = "float32" if difficulty == 1 else rng.choice(tuple(_DTYPES))
    unit = rng.choice(("KiB", "KB") if difficulty == 1 else ("KiB", "KB", "MiB", "MB"))
    _, bpe = _DTYPES[dtype]
    nb, rows, cols = unfold_shape(
        s.batch, s.in_channels, s.height, s.width, (s.kh, s.kw), s.stride, (s.ph, s.pw),
        s.dilation,
    )  # fmt: skip
    buffer = nb * rows * cols * bpe
    part = AnswerSpec.number("bytes", unit)
    count = AnswerSpec.number("count")
    spec = AnswerSpec.multi({"rows": count, "cols": count, "bytes": part})
    truth = {"rows": rows, "cols": cols, "bytes": buffer}
    batch_text = f"a batch of {s.batch} inputs" if s.batch > 1 else "one input"
    prompt = (
        f"The convolution {s.text()} is run as one matrix product after im2col (PyTorch's "
        f"unfold), on {batch_text} of {s.in_channels}×{s.height}×{s.width} (C×H×W), {dtype}. "
        "The column matrix of one sample has one row per value of a receptive field and one "
        "column per output position. (a) rows: its rows; (b) cols: its columns; (c) bytes: "
        f"the whole buffer for the {'batch' if s.batch > 1 else 'input'}, in "
        f"{unit_phrase(unit)}. {MEMORY_RULE} {UNITS_RULE} {BATCH_1}"
    )
    macs = rows * cols * s.out_channels * nb
    solution = (
        f"rows = C_in·k_h·k_w = {s.in_channels}·{s.kh}·{s.kw} = {expected_display(count, rows)}; "
        f"cols = H_out·W_out = {expected_display(count, cols)}; bytes = N·rows·cols·{bpe} = "
        f"{nb}·{n(rows)}·{n(cols)}·{bpe} = {n(buffer)} B = {expected_display(part, buffer)} "
        f"(the GEMM of the {s.out_channels}×{n(rows)} weight matrix with it does "
        f"{n(macs)} MACs, the convolution's own)"
    )
    in_bytes = nb * s.in_channels * s.height * s.width * bpe
    mistakes: list[Mistake | None] = [
        ROWS_FROM_OUTPUT.at({"rows": s.out_channels * s.kh * s.kw,
                             "bytes": nb * s.out_channels * s.kh * s.kw * cols * bpe}),
        FORGOT_KERNEL_AREA.at({"rows": s.in_channels, "bytes": nb * s.in_channels * cols * bpe}),
        COLUMNS_FROM_INPUT.at({"cols": s.height * s.width,
                               "bytes": nb * rows * s.height * s.width * bpe}),
        GAVE_INPUT_SIZE.at({"bytes": in_bytes}),
        FORGOT_BATCH.at({"bytes": rows * cols * bpe}) if nb > 1 else None,
        KIB_VS_KB.at({"bytes": kib_vs_kb_value(buffer, unit)}),
    ]  # fmt: skip
    return Draft(
        prompt=prompt,
        params={**s.params(), "dtype": dtype, "unit": unit},
        answer=spec,
        truth=truth,
        solution=solution,
        mistakes=mistakes,
        conventions=(MEMORY_RULE, UNITS_RULE, BATCH_1),
        hints=(
            "Find the output size first: each output position gets one column holding its "
            "whole receptive field.",
            "rows = C_in·k_h·k_w; cols = H_out·W_out with H_out = floor((H + 2p − d(k − 1) − 1)"
            " / s) + 1; bytes = N·rows·cols·bytes per element.",
            f"Here the kernel is {s.kh}×{s.kw}, stride {s.stride}, padding "
            f"{s.padding}, dilation {s.dilation}; {dtype} takes {bpe} B.",
        ),
    )


IM2COL_BUFFER = Family(
    id="im2col_buffer",
    topic=TOPIC,
    title="im2col: the column buffer of a convolution run as a matrix product",
    answer_kind="parts",
    generator=_buffer,
    expected_seconds=180.0,
    cards=("im2col-buffer", "im2col-why-gemm"),
)

FAMILIES: tuple[Family, ...] = (IM2COL_BUFFER,)
