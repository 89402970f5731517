"""What each well-known counter would report for a network, computed under its own convention.

"The FLOPs of ResNet-50" is 4.09 G in one paper, 4.11 G or 4.13 G in a repository and 8.18 G
in another, because each counter counts differently: torchinfo adds biases and BatchNorm's
γ and β as mult-adds, fvcore adds BatchNorm and average pooling, thop counts BatchNorm four
times per element, ptflops counts ReLU and pooling twice (once by its module hook and once by
its patched functional), DeepSpeed's profiler and calflops report FLOPs with every element-wise
operation, and torch's ``FlopCounterMode`` counts 2 FLOPs per MAC of the matrix products only.

This module does **not** run those tools. It runs the network once on the meta device,
records every leaf module call (forward hooks) and every torch-level function call (a
``TorchFunctionMode``: ``F.conv2d``, ``F.relu``, ``torch.add``...), and applies each tool's
documented rules, read from its source at the version named in ``TOOLS``, to that record.
The tests check every figure against the real tool on several networks.

The service's own convention (docs/conventions.md): MACs are the multiply-accumulates of
convolutions and linear layers (and matrix products), biases excluded, everything else 0;
FLOPs = 2 × MACs. Each ``ToolFigure`` carries its difference from that and one line saying why.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from math import prod
from types import MappingProxyType
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torch.overrides import TorchFunctionMode
from torch.utils._pytree import tree_flatten

__all__ = [
    "Call",
    "Trace",
    "ToolFigure",
    "Tool",
    "TOOLS",
    "ELEMENTWISE_NOTE",
    "service_macs",
    "TOOL_NAMES",
    "trace_module",
    "trace_architecture",
    "tool_figures",
    "architecture_conventions",
    "spec_conventions",
]

Shape = tuple[int, ...]

# A torch function mode sees ``a + b`` and ``torch.add(a, b)`` as the same function, but
# DeepSpeed and ptflops patch only the latter. Every block in models/ writes its additions
# and products as operators (a test keeps it so), so both tools count them as 0 here.
ELEMENTWISE_NOTE = (
    "Additions and products are written as operators (a + b, a * b) in every network of the "
    "service: DeepSpeed, calflops and ptflops patch torch.add and torch.mul, not the operators,"
    " so they count 0 for them; fvcore and thop ignore them too."
)


@dataclass(frozen=True)
class Call:
    """One recorded call: a leaf module (``kind == "module"``) or a torch function.

    ``inputs`` are the shapes of the tensor arguments in order (``None`` for a non-tensor
    argument), ``output`` the first output's shape. ``in_module`` is the class name of the
    innermost leaf module running when a function was called ("" at the top level).
    """

    kind: str
    name: str
    inputs: tuple[Shape | None, ...]
    output: Shape
    attrs: Mapping[str, Any] = field(default_factory=dict)
    in_module: str = ""


@dataclass(frozen=True)
class Trace:
    """Every call of one forward pass, in order."""

    calls: tuple[Call, ...]

    def modules(self, *names: str) -> list[Call]:
        """Leaf module calls of the given classes (all when none given)."""
        return [c for c in self.calls if c.kind == "module" and (not names or c.name in names)]

    def functions(self, *names: str) -> list[Call]:
        """Torch function calls with the given names (``conv2d``, ``relu``, ``add``...)."""
        return [c for c in self.calls if c.kind == "function" and c.name in names]


def _shape(value: Any) -> Shape | None:
    return tuple(value.shape) if isinstance(value, torch.Tensor) else None


def _first_tensor(value: Any) -> torch.Tensor | None:
    flat, _ = tree_flatten(value)
    return next((v for v in flat if isinstance(v, torch.Tensor)), None)


# Torch functions worth recording, by the name the rules use. Tensor methods and their
# torch.* twins share a name; operators (``a + b``, ``a @ b``) are recorded under their own
# dunder names because some tools patch ``torch.add`` but not ``Tensor.__add__``.
def _function_names() -> dict[Any, str]:
    names: dict[Any, str] = {
        F.conv1d: "conv", F.conv2d: "conv", F.conv3d: "conv",
        F.linear: "linear", F.relu: "relu", F.relu6: "relu6", F.relu_: "relu",
        F.batch_norm: "batch_norm", F.layer_norm: "layer_norm", F.group_norm: "group_norm",
        F.instance_norm: "instance_norm",
        F.max_pool1d: "max_pool", F.max_pool2d: "max_pool", F.max_pool3d: "max_pool",
        F.avg_pool1d: "avg_pool", F.avg_pool2d: "avg_pool", F.avg_pool3d: "avg_pool",
        F.adaptive_avg_pool1d: "adaptive_avg_pool", F.adaptive_avg_pool2d: "adaptive_avg_pool",
        F.adaptive_avg_pool3d: "adaptive_avg_pool",
        F.adaptive_max_pool2d: "adaptive_max_pool", F.softmax: "softmax",
        F.sigmoid: "sigmoid", torch.sigmoid: "sigmoid", F.hardswish: "hardswish",
        torch.matmul: "matmul", torch.Tensor.matmul: "matmul", torch.mm: "mm",
        torch.Tensor.mm: "mm", torch.bmm: "bmm", torch.Tensor.bmm: "bmm",
        torch.addmm: "addmm", torch.Tensor.addmm: "addmm",
        torch.add: "add", torch.Tensor.add: "add", torch.mul: "mul", torch.Tensor.mul: "mul",
        torch.Tensor.__add__: "__add__", torch.Tensor.__iadd__: "__iadd__",
        torch.Tensor.__radd__: "__add__", torch.Tensor.__mul__: "__mul__",
        torch.Tensor.__rmul__: "__mul__", torch.Tensor.__imul__: "__imul__",
        torch.Tensor.__matmul__: "__matmul__",
        torch.cat: "cat", torch.flatten: "flatten",
    }  # fmt: skip
    return names


_NAMES = _function_names()


class _Recorder(TorchFunctionMode):
    """Records torch-level calls; nested calls made while handling one are not seen again."""

    def __init__(self, calls: list[Call], stack: list[str]) -> None:
        super().__init__()
        self.calls = calls
        self.stack = stack

    def __torch_function__(
        self, func: Any, types: Any, args: Sequence[Any] = (), kwargs: Any = None
    ) -> Any:
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        name = _NAMES.get(func)
        if name is not None:
            first = _first_tensor(out)
            attrs = {k: (_shape(v) if isinstance(v, torch.Tensor) else v)
                     for k, v in kwargs.items() if not callable(v)}  # fmt: skip
            if name in ("relu", "relu6") and len(args) > 1:
                attrs["inplace"] = args[1]
            self.calls.append(
                Call(
                    "function",
                    name,
                    tuple(_shape(a) for a in args),
                    _shape(first) or (),
                    MappingProxyType(attrs),
                    self.stack[-1] if self.stack else "",
                )
            )
        return out


def _module_attrs(m: nn.Module) -> dict[str, Any]:
    attrs: dict[str, Any] = {
        "params": {name: p.numel() for name, p in m.named_parameters(recurse=False)},
    }
    for key in ("in_channels", "out_channels", "kernel_size", "groups", "in_features",
                "out_features", "affine", "elementwise_affine", "inplace"):  # fmt: skip
        if hasattr(m, key):
            attrs[key] = getattr(m, key)
    if isinstance(m, nn.Conv1d | nn.Conv2d | nn.Conv3d | nn.Linear):
        attrs["bias"] = m.bias is not None
    return attrs


def trace_module(module: nn.Module, input_shape: Sequence[int], batch: int = 1) -> Trace:
    """Run ``module`` (built on the meta device) once on ``(batch, *input_shape)`` and record
    its leaf module calls and torch function calls, in order."""
    calls: list[Call] = []
    stack: list[str] = []
    hooks = []

    def pre(m: nn.Module, _args: Any) -> None:
        stack.append(type(m).__name__)

    def post(m: nn.Module, args: Any, out: Any) -> None:
        stack.pop()
        first = _first_tensor(out)
        calls.append(
            Call(
                "module",
                type(m).__name__,
                tuple(_shape(a) for a in args),
                _shape(first) or (),
                MappingProxyType(_module_attrs(m)),
            )
        )

    for m in module.modules():
        if next(m.children(), None) is None:  # leaf modules only
            hooks.append(m.register_forward_pre_hook(pre))
            hooks.append(m.register_forward_hook(post))
    was_training = module.training
    module.eval()
    try:
        with torch.no_grad(), _Recorder(calls, stack):
            module(torch.empty((batch, *input_shape), device="meta"))
    finally:
        for h in hooks:
            h.remove()
        module.train(was_training)
    return Trace(tuple(calls))


# -- the service's own convention ------------------------------------------------------------


def _conv_macs(inputs: tuple[Shape | None, ...], output: Shape) -> int:
    weight = inputs[1]
    assert weight is not None
    return output[0] * prod(output[2:]) * prod(weight)


def _mm_macs(a: Shape, b: Shape) -> int:
    return prod(a) * b[-1]


def service_macs(trace: Trace) -> int:
    """MACs by the service's convention: convolutions, linear layers and matrix products,
    biases excluded."""
    total = 0
    for c in trace.calls:
        if c.kind != "function":
            continue
        if c.name == "conv":
            total += _conv_macs(c.inputs, c.output)
        elif c.name == "linear":
            x, w = c.inputs[0], c.inputs[1]
            assert x is not None and w is not None
            total += prod(x) * w[0]
        elif c.name in ("matmul", "mm", "bmm", "__matmul__"):
            a, b = c.inputs[0], c.inputs[1]
            assert a is not None and b is not None
            total += _mm_macs(a, b)
        elif c.name == "addmm":
            a, b = c.inputs[1], c.inputs[2]
            assert a is not None and b is not None
            total += _mm_macs(a, b)
    return total


# -- the tools -------------------------------------------------------------------------------

Parts = dict[str, int]


def _numel(shape: Shape | None) -> int:
    return prod(shape) if shape is not None else 0


def _bias_positions(c: Call) -> int:
    """Output elements of a biased convolution or linear function call (one add each)."""
    if c.name == "conv" and len(c.inputs) > 2 and c.inputs[2] is not None:
        return _numel(c.output)
    if c.name == "conv" and c.attrs.get("bias") is not None:
        return _numel(c.output)
    if c.name == "linear" and (
        (len(c.inputs) > 2 and c.inputs[2] is not None) or c.attrs.get("bias") is not None
    ):
        return _numel(c.output)
    return 0


def _torchinfo(trace: Trace) -> Parts:
    """torchinfo 1.8: every leaf module's parameters named weight or bias count once per
    output position for a Conv (batch × spatial), once per sample otherwise."""
    parts: Parts = {"macs": 0, "bias": 0, "norm": 0, "other": 0}
    for c in trace.modules():
        for pname, count in c.attrs["params"].items():
            if pname not in ("weight", "bias"):
                continue
            if "Conv" in c.name:
                value = count * c.output[0] * prod(c.output[2:])
            else:
                value = c.output[0] * count
            if pname == "bias" and c.name in ("Linear",) or pname == "bias" and "Conv" in c.name:
                parts["bias"] += value
            elif "Norm" in c.name:
                parts["norm"] += value
            elif "Conv" in c.name or c.name == "Linear":
                parts["macs"] += value
            else:
                parts["other"] += value
    return parts


def _fvcore(trace: Trace) -> Parts:
    """fvcore 0.1.5 (``FlopCountAnalysis``, its default handles): convolutions and matrix
    products without bias; batch_norm at inference input × 2 (× 1 without affine); adaptive
    average pooling 1 per input element; everything else (ReLU, max pooling, additions) 0."""
    parts: Parts = {"macs": 0, "norm": 0, "pool": 0}
    for c in trace.calls:
        if c.kind != "function":
            continue
        if c.name == "batch_norm":
            affine = len(c.inputs) > 3 and c.inputs[3] is not None or c.attrs.get("weight")
            parts["norm"] += _numel(c.inputs[0]) * (2 if affine else 1)
        elif c.name in ("group_norm", "layer_norm"):
            parts["norm"] += _numel(c.inputs[0]) * 5  # fvcore's norm_flop_counter(2) estimate
        elif c.name == "adaptive_avg_pool":
            parts["pool"] += _numel(c.inputs[0])
    parts["macs"] = service_macs(trace)
    return parts


def _thop(trace: Trace) -> Parts:
    """thop 0.1.1: leaf module hooks only. Conv: output elements × C_in/groups × k (no bias);
    BatchNorm: 2 per element, doubled when affine; Linear: in_features per output element;
    AvgPool: 1 per output element; AdaptiveAvgPool: (kernel area + 1) per output element;
    ReLU, max pooling, dropout and any function call outside these modules: 0."""
    parts: Parts = {"macs": 0, "norm": 0, "pool": 0}
    for c in trace.modules():
        if c.name in ("Conv1d", "Conv2d", "Conv3d"):
            x = c.inputs[0]
            assert x is not None
            k = c.attrs["kernel_size"]
            parts["macs"] += _numel(c.output) * (x[1] // c.attrs["groups"]) * prod(k)
        elif c.name in ("BatchNorm1d", "BatchNorm2d", "BatchNorm3d", "LayerNorm",
                        "InstanceNorm1d", "InstanceNorm2d", "InstanceNorm3d"):  # fmt: skip
            affine = c.attrs.get("affine") or c.attrs.get("elementwise_affine")
            parts["norm"] += 2 * _numel(c.inputs[0]) * (2 if affine else 1)
        elif c.name == "Linear":
            parts["macs"] += c.attrs["in_features"] * _numel(c.output)
        elif c.name in ("AvgPool1d", "AvgPool2d", "AvgPool3d"):
            parts["pool"] += _numel(c.output)
        elif c.name in ("AdaptiveAvgPool1d", "AdaptiveAvgPool2d", "AdaptiveAvgPool3d"):
            x = c.inputs[0]
            assert x is not None
            kernel = prod(i / o for i, o in zip(x[2:], c.output[2:], strict=True))
            parts["pool"] += int((kernel + 1) * _numel(c.output))
    return parts


_PTFLOPS_MODULES_RELU = ("ReLU", "ReLU6", "PReLU", "ELU", "LeakyReLU")
_PTFLOPS_MODULES_POOL = ("MaxPool1d", "MaxPool2d", "MaxPool3d", "AvgPool1d", "AvgPool2d",
                         "AvgPool3d", "AdaptiveMaxPool1d", "AdaptiveMaxPool2d",
                         "AdaptiveMaxPool3d", "AdaptiveAvgPool1d", "AdaptiveAvgPool2d",
                         "AdaptiveAvgPool3d")  # fmt: skip
_PTFLOPS_FUNCTIONS = ("relu", "relu6", "max_pool", "avg_pool", "adaptive_avg_pool",
                      "adaptive_max_pool", "softmax")  # fmt: skip


def _ptflops_pytorch(trace: Trace) -> Parts:
    """ptflops 0.7.5, pytorch back end: module hooks (Conv: MACs + one per output element when
    biased; Linear: MACs + out_features per sample; BatchNorm: input × 2 when affine; ReLU:
    output elements; pooling: input elements) plus its patched functionals (F.relu, the
    pooling functions, softmax: input elements; matmul...), which also fire inside nn.ReLU and
    the pooling modules: those are counted twice. It patches ``torch.add`` and ``torch.mul``
    but not the ``+`` and ``*`` operators, which is how every network here adds (see
    ``ELEMENTWISE_NOTE``): residual additions cost 0."""
    parts: Parts = {"macs": 0, "bias": 0, "norm": 0, "activation": 0, "pool": 0,
                    "functional": 0}  # fmt: skip
    for c in trace.modules():
        if c.name in ("Conv1d", "Conv2d", "Conv3d"):
            x = c.inputs[0]
            assert x is not None
            per_position = (
                prod(c.attrs["kernel_size"])
                * c.attrs["in_channels"]
                * (c.attrs["out_channels"] // c.attrs["groups"])
            )
            parts["macs"] += per_position * x[0] * prod(c.output[2:])
            if c.attrs["bias"]:
                parts["bias"] += _numel(c.output)
        elif c.name == "Linear":
            x = c.inputs[0]
            assert x is not None
            rows = prod(x[:-1])
            parts["macs"] += x[-1] * c.output[-1] * rows
            if c.attrs["bias"]:
                parts["bias"] += c.output[-1] * rows
        elif c.name in ("BatchNorm1d", "BatchNorm2d", "BatchNorm3d", "InstanceNorm1d",
                        "InstanceNorm2d", "InstanceNorm3d", "GroupNorm", "LayerNorm"):  # fmt: skip
            affine = c.attrs.get("affine") or c.attrs.get("elementwise_affine")
            parts["norm"] += _numel(c.inputs[0]) * (2 if affine else 1)
        elif c.name in _PTFLOPS_MODULES_RELU:
            parts["activation"] += _numel(c.output)
        elif c.name in _PTFLOPS_MODULES_POOL:
            parts["pool"] += _numel(c.inputs[0])
    for c in trace.calls:
        if c.kind != "function":
            continue
        if c.name in _PTFLOPS_FUNCTIONS:
            parts["functional"] += _numel(c.inputs[0])
        elif c.name in ("matmul", "mm", "bmm") and c.in_module == "":
            a, b = c.inputs[0], c.inputs[1]
            assert a is not None and b is not None
            parts["macs"] += _mm_macs(a, b)
    return parts


def _ptflops_aten(trace: Trace) -> Parts:
    """ptflops 0.7.5, aten back end: only aten.convolution (MACs, + one per output element
    when biased), aten.addmm (MACs + one per output element for the bias), aten.mm, aten.bmm
    and aten.matmul; nothing else."""
    parts: Parts = {"macs": service_macs(trace), "bias": 0}
    for c in trace.functions("conv", "linear"):
        parts["bias"] += _bias_positions(c)
    return parts


def _deepspeed(trace: Trace) -> tuple[Parts, Parts]:
    """DeepSpeed's flops profiler (0.19) and calflops (0.3, the same rules): patched
    functionals. FLOPs: convolution 2 × MACs + one per output element when biased; linear
    2 × MACs (its bias is not counted); ReLU 1 per input element; BatchNorm at inference
    input × 2 (× 1 without affine); every pooling function 1 per input element; torch.add and
    torch.mul 1 per output element; matmul 2 × MACs. MACs: convolutions, linear layers and
    matrix products only. ``a + b`` written as an operator is not patched: 0, and the
    networks here write every addition and product so (``ELEMENTWISE_NOTE``)."""
    flops: Parts = {"macs": 0, "bias": 0, "norm": 0, "activation": 0, "pool": 0}
    macs = service_macs(trace)
    flops["macs"] = 2 * macs
    for c in trace.calls:
        if c.kind != "function":
            continue
        if c.name == "conv":
            flops["bias"] += _bias_positions(c)
        elif c.name in ("relu", "relu6", "softmax"):  # sigmoid and hardswish are not patched
            flops["activation"] += _numel(c.inputs[0])
        elif c.name == "batch_norm":
            affine = len(c.inputs) > 3 and c.inputs[3] is not None or c.attrs.get("weight")
            flops["norm"] += _numel(c.inputs[0]) * (2 if affine else 1)
        elif c.name in ("max_pool", "avg_pool", "adaptive_avg_pool", "adaptive_max_pool"):
            flops["pool"] += _numel(c.inputs[0])
    return flops, {"macs": macs}


def _linear_meta_extra(trace: Trace) -> int:
    """MACs of the linear layers' matrix products: on a meta-device model torch's Python meta
    kernel for ``F.linear`` calls a matrix product that ptflops and DeepSpeed have patched,
    so they count each linear layer once more (not on a CPU model)."""
    total = 0
    for c in trace.functions("linear"):
        x, w = c.inputs[0], c.inputs[1]
        assert x is not None and w is not None
        total += prod(x) * w[0]
    return total


# -- the table -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Tool:
    """A counter and how its figure is obtained, at the version its rules were read from."""

    name: str
    title: str
    version: str
    call: str
    unit: str  # "MACs" or "FLOPs": which of the service's figures it is compared with
    reports: str  # the tool's own word for its number


TOOLS: tuple[Tool, ...] = (
    Tool("torchinfo", "torchinfo", "1.8.0",
         "torchinfo.summary(model, input_size=(N, C, H, W)).total_mult_adds", "MACs",
         "Mult-Adds"),
    Tool("fvcore", "fvcore", "0.1.5",
         "fvcore.nn.FlopCountAnalysis(model, x).total()", "MACs", "flops (one per multiply-add)"),
    Tool("thop", "thop (pytorch-OpCounter)", "0.1.1",
         "thop.profile(model, inputs=(x,))[0]", "MACs", "MACs"),
    Tool("ptflops_pytorch", "ptflops, pytorch back end", "0.7.5",
         "ptflops.get_model_complexity_info(model, (C, H, W), backend='pytorch')[0]", "MACs",
         "MACs (GMac)"),
    Tool("ptflops_aten", "ptflops, aten back end", "0.7.5",
         "ptflops.get_model_complexity_info(model, (C, H, W), backend='aten')[0]", "MACs",
         "MACs (GMac)"),
    Tool("calflops_macs", "calflops (MACs)", "0.3.2",
         "calflops.calculate_flops(model, input_shape=(N, C, H, W))[1]", "MACs", "MACs"),
    Tool("calflops_flops", "calflops (FLOPs)", "0.3.2",
         "calflops.calculate_flops(model, input_shape=(N, C, H, W))[0]", "FLOPs", "FLOPs"),
    Tool("deepspeed_macs", "DeepSpeed flops profiler (MACs)", "0.19",
         "deepspeed.profiling.flops_profiler.get_model_profile(model, (N, C, H, W))[1]", "MACs",
         "MACs"),
    Tool("deepspeed_flops", "DeepSpeed flops profiler (FLOPs)", "0.19",
         "deepspeed.profiling.flops_profiler.get_model_profile(model, (N, C, H, W))[0]",
         "FLOPs", "FLOPs"),
    Tool("flop_counter_mode", "torch FlopCounterMode", "torch 2.13",
         "torch.utils.flop_counter.FlopCounterMode(); mode.get_total_flops()", "FLOPs",
         "FLOPs"),
)  # fmt: skip
TOOL_NAMES: tuple[str, ...] = tuple(t.name for t in TOOLS)

# What each part of a figure is called in the one-line explanation.
_PART_WORDS = {
    "bias": "bias additions",
    "norm": "BatchNorm",
    "activation": "activations",
    "pool": "pooling",
    "functional": "ReLU and pooling counted again by patched functionals",
    "other": "other layers' parameters",
}


@dataclass(frozen=True)
class ToolFigure:
    """One tool's figure for one network, and how it differs from the service's."""

    tool: str
    title: str
    version: str
    call: str
    reports: str
    unit: str
    figure: int  # what the tool reports for a model with real weights (CPU)
    meta_figure: int  # what it reports when handed the meta-device model
    service: int  # the service's figure in the same unit (MACs or FLOPs = 2 × MACs)
    difference: int  # figure − service
    parts: Mapping[str, int]  # the figure, split by what it counts
    explanation: str  # one line: how the convention differs, and by how much

    @property
    def relative(self) -> float:
        """difference ÷ service (0 when the service's figure is 0)."""
        return self.difference / self.service if self.service else 0.0

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "tool": self.tool,
            "title": self.title,
            "version": self.version,
            "call": self.call,
            "reports": self.reports,
            "unit": self.unit,
            "figure": self.figure,
            "meta_figure": self.meta_figure,
            "service": self.service,
            "difference": self.difference,
            "relative": self.relative,
            "parts": dict(self.parts),
            "explanation": self.explanation,
        }


def _explain(tool: Tool, parts: Mapping[str, int], service: int, figure: int) -> str:
    diff = figure - service
    extras = [(k, v) for k, v in parts.items() if k != "macs" and v]
    doubled = tool.unit == "FLOPs"
    base = (
        "2 per MAC of the convolutions and matrix products"
        if doubled
        else ("the MACs of the convolutions and matrix products")
    )
    if not extras and parts.get("macs", 0) == service:
        return f"Same as the service's {tool.unit}: {base}, nothing else."
    listed = ", ".join(f"{_PART_WORDS.get(k, k)} +{v:,}" for k, v in extras)
    sign = "+" if diff >= 0 else "−"
    share = f"{100 * abs(diff) / service:.2g}%" if service else "n/a"  # 0.0013%, 1.1%
    return (
        f"{sign}{abs(diff):,} {tool.unit} ({sign}{share}) against the service's: {base}, plus "
        f"{listed}."
    )


def tool_figures(trace: Trace) -> list[ToolFigure]:
    """Every tool's figure for the traced network."""
    macs = service_macs(trace)
    meta_extra = _linear_meta_extra(trace)
    ds_flops, ds_macs = _deepspeed(trace)
    table: dict[str, tuple[Parts, int]] = {
        "torchinfo": (_torchinfo(trace), 0),
        "fvcore": (_fvcore(trace), 0),
        "thop": (_thop(trace), 0),
        "ptflops_pytorch": (_ptflops_pytorch(trace), meta_extra),
        "ptflops_aten": (_ptflops_aten(trace), 0),
        "calflops_macs": (ds_macs, 0),
        "calflops_flops": (ds_flops, 0),
        "deepspeed_macs": (ds_macs, meta_extra),
        "deepspeed_flops": (ds_flops, 2 * meta_extra),
        "flop_counter_mode": ({"macs": 2 * macs}, 0),
    }
    out = []
    for tool in TOOLS:
        parts, extra = table[tool.name]
        figure = sum(parts.values())
        service = 2 * macs if tool.unit == "FLOPs" else macs
        line = _explain(tool, parts, service, figure)
        if extra:
            line += (
                f" Handed a meta-device model it adds {extra:,} more (the linear layers' "
                "products, counted again through torch's meta kernel)."
            )
        out.append(
            ToolFigure(
                tool=tool.name,
                title=tool.title,
                version=tool.version,
                call=tool.call,
                reports=tool.reports,
                unit=tool.unit,
                figure=figure,
                meta_figure=figure + extra,
                service=service,
                difference=figure - service,
                parts=MappingProxyType(dict(parts)),
                explanation=line,
            )
        )
    return out


def trace_architecture(name: str, input_size: Sequence[int] | None = None, batch: int = 1) -> Trace:
    """The trace of a registry architecture (built on meta) at an input, uncached: for callers
    that keep their own cache (the HTTP layer)."""
    from models.architectures import build_architecture, get_spec

    size = tuple(get_spec(name).input_size if input_size is None else input_size)
    return trace_module(build_architecture(name), size, batch)


@lru_cache(maxsize=64)
def _architecture_trace(name: str, input_size: Shape | None, batch: int) -> Trace:
    return trace_architecture(name, input_size, batch)


def architecture_conventions(
    name: str, input_size: Sequence[int] | None = None, batch: int = 1
) -> list[ToolFigure]:
    """Every tool's figure for a registry architecture (built on meta), traced once per
    (name, input, batch) and cached."""
    size = None if input_size is None else tuple(input_size)
    return tool_figures(_architecture_trace(name, size, batch))


def spec_conventions(
    input_shape: Sequence[int], layers: Sequence[Mapping[str, Any]], batch: int = 1
) -> list[ToolFigure]:
    """Every tool's figure for a layer spec (validated and built as ``POST /profile`` does)."""
    from models.spec import build_from_spec

    model = build_from_spec(input_shape, layers, batch)
    return tool_figures(trace_module(model, tuple(input_shape), batch))
