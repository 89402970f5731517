"""Memory traffic: the elements each operator reads and writes, measured on the meta device.

ShuffleNet v2's guidelines weigh memory access, not FLOPs: a channel shuffle or an element-wise
addition multiplies nothing and still moves every element through memory. ``memory_traffic``
runs a function on meta tensors under a ``TorchDispatchMode`` and records, for every aten
operator that produces data, the elements of its tensor inputs (read) and of its outputs
(written). Views (reshape of a contiguous tensor, transpose, chunk, slicing) move nothing and
are not recorded; an in-place operator (``relu_``) reads and writes its tensor once each.
Only shapes are used: the meta device allocates nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten

__all__ = ["OpTraffic", "memory_traffic", "total_traffic"]


@dataclass(frozen=True)
class OpTraffic:
    """One operator's traffic: its aten name and the elements it reads and writes."""

    op: str
    read: int
    written: int

    @property
    def total(self) -> int:
        """Elements moved: read + written."""
        return self.read + self.written


def _tensors(values: Iterable[Any]) -> list[torch.Tensor]:
    flat, _ = tree_flatten(list(values))
    return [v for v in flat if isinstance(v, torch.Tensor)]


class _Recorder(TorchDispatchMode):
    def __init__(self) -> None:
        super().__init__()
        self.ops: list[OpTraffic] = []

    def __torch_dispatch__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
        out = func(*args, **(kwargs or {}))
        schema = func._schema
        # Views and aliases share their input's storage: nothing is read or written.
        is_view = any(
            r.alias_info is not None and not r.alias_info.is_write for r in schema.returns
        )
        if is_view or func in _FREE:
            return out
        read = sum(t.numel() for t in _tensors([args, kwargs or {}]))
        written = sum(t.numel() for t in _tensors([out]))
        self.ops.append(OpTraffic(func.overloadpacket.__name__, read, written))
        return out


# Operators that create or describe tensors without moving data worth counting.
_FREE = {
    torch.ops.aten.empty.memory_format,
    torch.ops.aten.empty_strided.default,
    torch.ops.aten.detach.default,
    # A reshape whose result replaces its input (copy-free in practice, as ``view``).
    torch.ops.aten._unsafe_view.default,
}


def memory_traffic(fn: Callable[..., Any], *inputs: torch.Tensor) -> list[OpTraffic]:
    """The traffic of every data-moving operator ``fn(*inputs)`` runs, in order.

    Pass meta tensors (and a module built on the meta device): shapes are all that is read.
    """
    recorder = _Recorder()
    with torch.no_grad(), recorder:
        fn(*inputs)
    return recorder.ops


def total_traffic(fn: Callable[..., Any], *inputs: torch.Tensor) -> int:
    """Elements read plus written over every operator of ``fn(*inputs)``."""
    return sum(op.total for op in memory_traffic(fn, *inputs))
