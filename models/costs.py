"""Small closed-form helpers: element sizes, byte units, output sizes, memory access cost.

These are conveniences for generating and explaining questions. The numbers the service states
about a layer come from building it on the meta device (``models.profiler``); the tests check
that these formulas agree with torch.
"""

from __future__ import annotations

import torch

__all__ = [
    "DTYPE_BYTES",
    "BYTE_UNITS",
    "bytes_per_element",
    "dtype_name",
    "bytes_in",
    "conv2d_output_size",
    "pool2d_output_size",
    "mem_access_1x1",
]

# Only the dtypes the course talks about; anything else is a caller error, not a guess.
DTYPE_BYTES: dict[str, int] = {"float32": 4, "float16": 2, "bfloat16": 2, "int8": 1}

_TORCH_DTYPES: dict[torch.dtype, str] = {
    torch.float32: "float32",
    torch.float16: "float16",
    torch.bfloat16: "bfloat16",
    torch.int8: "int8",
}

# Decimal and binary units are both first-class, and always named: "KB" never means 1024.
BYTE_UNITS: dict[str, int] = {
    "B": 1,
    "KB": 1000,
    "MB": 1000**2,
    "GB": 1000**3,
    "KiB": 1024,
    "MiB": 1024**2,
    "GiB": 1024**3,
}


def dtype_name(dtype: str | torch.dtype) -> str:
    """Canonical name (``"float32"``, ``"float16"``, ``"bfloat16"``, ``"int8"``) of a dtype."""
    if isinstance(dtype, torch.dtype):
        if dtype not in _TORCH_DTYPES:
            raise ValueError(f"unsupported dtype {dtype}; supported: {', '.join(DTYPE_BYTES)}")
        return _TORCH_DTYPES[dtype]
    name = dtype.removeprefix("torch.")
    if name not in DTYPE_BYTES:
        raise ValueError(f"unsupported dtype {dtype!r}; supported: {', '.join(DTYPE_BYTES)}")
    return name


def bytes_per_element(dtype: str | torch.dtype) -> int:
    """Bytes per tensor element: float32 4, float16 and bfloat16 2, int8 1."""
    return DTYPE_BYTES[dtype_name(dtype)]


def bytes_in(n_bytes: int, unit: str) -> float:
    """``n_bytes`` expressed in ``unit`` (B, KB, MB, GB = powers of 1000; KiB, MiB, GiB of 1024)."""
    if unit not in BYTE_UNITS:
        raise ValueError(f"unknown unit {unit!r}; known: {', '.join(BYTE_UNITS)}")
    return n_bytes / BYTE_UNITS[unit]


def conv2d_output_size(
    size: int, kernel_size: int, stride: int = 1, padding: int = 0, dilation: int = 1
) -> int:
    """One spatial side after a convolution: floor((size + 2p - d(k-1) - 1) / s) + 1."""
    span = size + 2 * padding - dilation * (kernel_size - 1) - 1
    if span < 0:
        raise ValueError(f"kernel {kernel_size} (dilation {dilation}) exceeds padded input")
    return span // stride + 1


def pool2d_output_size(
    size: int,
    kernel_size: int,
    stride: int | None = None,
    padding: int = 0,
    dilation: int = 1,
    ceil_mode: bool = False,
) -> int:
    """One spatial side after max/avg pooling, with torch's ceil_mode rule."""
    stride = kernel_size if stride is None else stride
    span = size + 2 * padding - dilation * (kernel_size - 1) - 1
    # torch rounds down (toward minus infinity) or, in ceil_mode, up; so in ceil_mode a
    # kernel a little larger than the padded input still gives one output.
    out = (span + (stride - 1 if ceil_mode else 0)) // stride + 1
    # torch drops a last window that would start in the right padding (ceil_mode only).
    if ceil_mode and (out - 1) * stride >= size + padding:
        out -= 1
    if out < 1:
        raise ValueError(
            f"kernel {kernel_size} leaves no output from the padded input {size + 2 * padding}"
        )
    return out


def mem_access_1x1(h: int, w: int, c1: int, c2: int, groups: int = 1) -> int:
    """Memory access cost of a 1x1 convolution in ShuffleNet v2's sense: h·w·(c1+c2) + c1·c2/g.

    Counts elements read and written (input and output feature maps plus the weights), not
    bytes and not MACs. ``c1`` and ``c2`` must be divisible by ``groups``.
    """
    for name, value in (("h", h), ("w", w), ("c1", c1), ("c2", c2), ("groups", groups)):
        if value <= 0:
            raise ValueError(f"{name} must be positive, got {value}")
    if c1 % groups or c2 % groups:
        raise ValueError(f"channels {c1} and {c2} must be divisible by groups {groups}")
    return h * w * (c1 + c2) + c1 * c2 // groups
