"""Build a network from a JSON layer spec (the API's ``POST /profile``), validating it first.

A spec is an input shape ``(C, H, W)`` and a list of layers such as
``{"type": "conv2d", "out_channels": 64, "kernel_size": 3, "padding": 1}``. Field names are
torch's own constructor arguments; input channels/features are not given but carried over from
the previous layer's output (``in_channels``/``in_features``/``num_features`` may be given and
must then agree).

Validation walks the whole spec with shape arithmetic *before anything is built*, so a
convolution with 10^9 channels or a layer of 10^18 MACs is refused without allocating anything.
It also refuses everything torch itself would refuse when building or running the layers (a
pooling padding over half its kernel, an empty output), so a valid spec always profiles. Every
error is a ``SpecError`` whose ``index`` is the offending layer's position in the list (``None``
for the spec as a whole) and whose ``field`` names the field at fault, when one is.

The limits bound the work of one profile, not only its numbers: profiling costs about 2 ms of
CPU per torch module on the meta device, whatever the shapes, so the built network may hold at
most ``MAX_MODULES`` modules (blocks count theirs, from ``MODULES_PER_LAYER``). Totals are
bounded so that every figure a profile reports (MACs, FLOPs, bytes) stays below 2^53, exact in
a JSON number. The arithmetic only gatekeeps: the numbers reported for a
valid spec come from building it on the meta device and profiling it, and the tests check both
agree.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from models.blocks import (
    BasicBlock,
    Bottleneck,
    ChannelShuffle,
    DepthwiseSeparable,
    Fire,
    InvertedResidual,
    ShuffleNetV2Unit,
    SqueezeExcitation,
)
from models.costs import conv2d_output_size, pool2d_output_size
from models.errors import SpecFieldError, SpecLimitError, SpecShapeError
from models.profiler import Profile, profile

__all__ = [
    "MAX_LAYERS",
    "MAX_CHANNELS",
    "MAX_SIDE",
    "MAX_BATCH",
    "MAX_LAYER_MACS",
    "MAX_TOTAL_MACS",
    "MAX_ELEMENTS",
    "MAX_MODULES",
    "MODULES_PER_LAYER",
    "LAYER_TYPES",
    "layer_types",
    "LayerPlan",
    "validate_spec",
    "build_from_spec",
    "profile_spec",
]

MAX_LAYERS = 500
MAX_CHANNELS = 65_536  # also bounds features of linear layers and hidden widths inside blocks
MAX_SIDE = 4096  # input side, and every feature map side after it
MAX_BATCH = 1024
MAX_LAYER_MACS = 10**15  # batch included
MAX_TOTAL_MACS = 10**15  # the whole spec, batch included: FLOPs and weight bytes stay < 2^53
MAX_ELEMENTS = 2**40  # any layer's output, batch included: activation bytes stay < 2^53
MAX_MODULES = 600  # torch modules built (a block counts its own): bounds the profile's time
MAX_INT = 2**31 - 1  # any integer field

# Upper bound of the torch modules one layer of each type builds (children and the block
# itself, over every option); the tests check each against the real blocks.
MODULES_PER_LAYER: dict[str, int] = {
    "fire": 7,
    "se": 7,
    "inverted_residual": 12,
    "bottleneck": 20,
    "basic_block": 10,
    "depthwise_separable": 9,
    "shufflenet_v2_unit": 22,
}  # every other type builds one module


@dataclass(frozen=True)
class _Field:
    kind: str  # "int", "pair" (int or [int, int]), "bool", "float"
    default: Any = None
    required: bool = False
    minimum: float = 1  # for int, pair and float kinds
    maximum: float | None = None
    optional: bool = False  # None is an accepted value

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready description of the field."""
        d: dict[str, Any] = {"kind": self.kind, "required": self.required}
        if not self.required:
            d["default"] = self.default
        if self.kind in ("int", "pair", "float"):
            d["minimum"] = self.minimum
            d["maximum"] = self.maximum
        d["nullable"] = self.optional
        return d


def _req(kind: str, minimum: float = 1) -> _Field:
    return _Field(kind, required=True, minimum=minimum)


def _opt(kind: str, default: Any, minimum: float = 1, maximum: float | None = None) -> _Field:
    return _Field(kind, default=default, minimum=minimum, maximum=maximum)


def _none_or(kind: str, minimum: float = 1) -> _Field:
    return _Field(kind, default=None, minimum=minimum, optional=True)


_CONV_FIELDS = {
    "out_channels": _req("int"),
    "kernel_size": _req("pair"),
    "stride": _opt("pair", 1),
    "padding": _opt("pair", 0, minimum=0),
    "dilation": _opt("pair", 1),
    "groups": _opt("int", 1),
    "bias": _opt("bool", True),
    "in_channels": _none_or("int"),
}
_POOL_FIELDS = {
    "kernel_size": _req("pair"),
    "stride": _none_or("pair"),
    "padding": _opt("pair", 0, minimum=0),
    "ceil_mode": _opt("bool", False),
}

# Fields per layer type: name -> (kind, default, bounds). "type" itself is not listed.
LAYER_TYPES: dict[str, dict[str, _Field]] = {
    "conv2d": _CONV_FIELDS,
    "linear": {
        "out_features": _req("int"),
        "bias": _opt("bool", True),
        "in_features": _none_or("int"),
    },
    "maxpool2d": {**_POOL_FIELDS, "dilation": _opt("pair", 1)},
    "avgpool2d": {**_POOL_FIELDS, "count_include_pad": _opt("bool", True)},
    "adaptive_avgpool2d": {"output_size": _req("pair")},
    "batchnorm2d": {
        "num_features": _none_or("int"),
        "eps": _opt("float", 1e-5, minimum=0),
        "momentum": _opt("float", 0.1, minimum=0, maximum=1),
        "affine": _opt("bool", True),
    },
    "relu": {"inplace": _opt("bool", False)},
    "relu6": {"inplace": _opt("bool", False)},
    "dropout": {"p": _opt("float", 0.5, minimum=0, maximum=1)},
    "flatten": {
        "start_dim": _opt("int", 1, minimum=-8),
        "end_dim": _opt("int", -1, minimum=-8),
    },
    "channel_shuffle": {"groups": _req("int")},
    "fire": {
        "squeeze_planes": _req("int"),
        "expand1x1_planes": _req("int"),
        "expand3x3_planes": _req("int"),
        "bypass": _opt("bool", False),
    },
    "se": {"reduction": _opt("int", 16)},
    "inverted_residual": {
        "out_channels": _req("int"),
        "stride": _opt("int", 1, maximum=2),
        "expand_ratio": _opt("int", 6),
    },
    "bottleneck": {
        "planes": _req("int"),
        "stride": _opt("int", 1),
        "groups": _opt("int", 1),
        "base_width": _opt("int", 64),
        "stride_in_1x1": _opt("bool", False),
        "se_reduction": _none_or("int"),
    },
    "basic_block": {"planes": _req("int"), "stride": _opt("int", 1)},
    "depthwise_separable": {"out_channels": _req("int"), "stride": _opt("int", 1)},
    "shufflenet_v2_unit": {"out_channels": _req("int"), "stride": _opt("int", 1, maximum=2)},
}


def layer_types() -> dict[str, dict[str, dict[str, Any]]]:
    """Every accepted layer type with its fields (kind, required, default, bounds), for docs."""
    return {
        kind: {k: f.to_dict() for k, f in fields.items()} for kind, fields in LAYER_TYPES.items()
    }


@dataclass(frozen=True)
class LayerPlan:
    """One validated layer: its arguments with defaults filled in, and its arithmetic cost."""

    index: int
    type: str
    args: dict[str, Any]
    input_shape: tuple[int, ...]  # batch excluded
    output_shape: tuple[int, ...]  # batch excluded
    macs: int  # batch included


def _clip(text: str, n: int = 40) -> str:
    """At most ``n`` characters of client text, to quote in a message."""
    return text if len(text) <= n else text[:n] + "…"


def _describe(value: object) -> str:
    """A value's type and (clipped) text, for messages: a 1 MB string is not echoed back."""
    if isinstance(value, (list, tuple, dict)) and len(value) > 8:
        return f"{type(value).__name__} of {len(value)} items"
    return f"{type(value).__name__} {_clip(repr(value), 60)}"


def _check_value(index: int, key: str, spec: _Field, value: object) -> Any:
    """Type- and range-check one field value; bools are never ints, floats never ints."""
    if value is None and spec.optional:
        return None
    if spec.kind == "bool":
        if type(value) is not bool:
            raise SpecFieldError(index, f"{key} must be a boolean, got {_describe(value)}", key)
        return value
    if spec.kind == "float":
        if type(value) not in (int, float):
            raise SpecFieldError(
                index, f"{key} must be a finite number, got {_describe(value)}", key
            )
        if type(value) is int and abs(value) > MAX_INT:  # float() of a huge int overflows
            raise SpecShapeError(index, f"{key} must be in [{spec.minimum}, {spec.maximum}]", key)
        number = float(value)  # type: ignore[arg-type]
        if not math.isfinite(number):
            raise SpecFieldError(
                index, f"{key} must be a finite number, got {_describe(value)}", key
            )
        if number < spec.minimum or (spec.maximum is not None and number > spec.maximum):
            raise SpecShapeError(index, f"{key} must be in [{spec.minimum}, {spec.maximum}]", key)
        return number
    items: tuple[object, ...]
    if spec.kind == "pair":
        if isinstance(value, (list, tuple)):
            if len(value) != 2:
                raise SpecFieldError(index, f"{key} must be an int or a list of 2 ints", key)
            items = tuple(value)
        else:
            items = (value,)
    else:
        items = (value,)
    for item in items:
        if type(item) is not int:
            what = "an int or a list of 2 ints" if spec.kind == "pair" else "an int"
            raise SpecFieldError(index, f"{key} must be {what}, got {_describe(item)}", key)
        if item < spec.minimum:
            qualifier = "positive" if spec.minimum == 1 else f">= {spec.minimum:g}"
            raise SpecShapeError(index, f"{key} must be {qualifier}, got {item}", key)
        if spec.maximum is not None and item > spec.maximum:
            raise SpecShapeError(index, f"{key} must be at most {spec.maximum:g}, got {item}", key)
        if item > MAX_INT:
            # No field has a sensible value this large, and floats of it would overflow.
            raise SpecLimitError(index, f"{key} {item} over the limit of {MAX_INT}", key)
    if spec.kind == "pair":
        return (items[0], items[0]) if len(items) == 1 else (items[0], items[1])
    return items[0]


def _parse_layer(index: int, layer: object) -> tuple[str, dict[str, Any]]:
    if not isinstance(layer, Mapping):
        raise SpecFieldError(index, f"a layer must be an object, got {_describe(layer)}")
    kind = layer.get("type")
    if type(kind) is not str:
        raise SpecFieldError(index, "a layer needs a string 'type'", "type")
    if kind not in LAYER_TYPES:
        known = ", ".join(sorted(LAYER_TYPES))
        raise SpecFieldError(index, f"unknown layer type {_clip(kind)!r}; known: {known}", "type")
    fields = LAYER_TYPES[kind]
    extra = sorted(str(k) for k in layer if k != "type" and k not in fields)
    if extra:
        named = ", ".join(_clip(k) for k in extra[:5]) + (", …" if len(extra) > 5 else "")
        raise SpecFieldError(
            index,
            f"unknown field(s) {named} for {kind}; allowed: {', '.join(fields)}",
            _clip(extra[0]),
        )
    args: dict[str, Any] = {}
    for key, spec in fields.items():
        if key in layer:
            args[key] = _check_value(index, key, spec, layer[key])
        elif spec.required:
            raise SpecFieldError(index, f"{kind} needs field {key!r}", key)
        elif spec.kind == "pair" and spec.default is not None:
            args[key] = (spec.default, spec.default)
        else:
            args[key] = spec.default
    return kind, args


def _check_channels(index: int, what: str, n: int, field: str | None = None) -> None:
    if n > MAX_CHANNELS:
        raise SpecLimitError(index, f"{what} {n} over the limit of {MAX_CHANNELS}", field)
    if n < 1:
        raise SpecShapeError(index, f"{what} must be positive, got {n}", field)


def _need_chw(index: int, kind: str, shape: tuple[int, ...]) -> tuple[int, int, int]:
    if len(shape) != 3:
        raise SpecShapeError(index, f"{kind} needs a (C, H, W) input, got {shape}")
    return shape[0], shape[1], shape[2]


def _match(index: int, key: str, given: int | None, actual: int) -> None:
    if given is not None and given != actual:
        raise SpecShapeError(
            index, f"{key} {given} does not match the {actual} reaching this layer", key
        )


def _divisible(index: int, channels: int, groups: int, what: str = "channels") -> None:
    if channels % groups:
        raise SpecShapeError(index, f"{what} {channels} not divisible by groups {groups}", "groups")


def _window(
    index: int,
    side: int,
    kernel: int,
    stride: int,
    padding: int,
    dilation: int = 1,
    *,
    pool: bool = False,
    ceil_mode: bool = False,
) -> int:
    """Output side of a sliding window, refusing a kernel larger than the padded input."""
    span = dilation * (kernel - 1) + 1
    if pool:
        # torch checks padding against the kernel itself (pool2d_shape_check: kernel // 2),
        # and against the dilated kernel (span // 2): the first is the stricter one.
        if padding > kernel // 2:
            raise SpecShapeError(
                index,
                f"padding {padding} more than half the kernel {kernel} (at most {kernel // 2})",
                "padding",
            )
        # Pooling has no kernel-size check of its own: torch refuses only an empty output,
        # and in ceil_mode a kernel larger than the padded input can still give one.
        try:
            out = pool2d_output_size(side, kernel, stride, padding, dilation, ceil_mode)
        except ValueError as exc:
            raise SpecShapeError(index, str(exc), "kernel_size") from exc
    else:
        if span > side + 2 * padding:
            raise SpecShapeError(
                index,
                f"kernel {kernel} (span {span}) larger than the padded input {side + 2 * padding}",
                "kernel_size",
            )
        out = conv2d_output_size(side, kernel, stride, padding, dilation)
    _check_side(index, out)
    return out


def _check_side(index: int, side: int) -> None:
    # Padding can grow a map past the input limit; meta tensors would not mind, answers would.
    if side > MAX_SIDE:
        raise SpecLimitError(index, f"output side {side} over the limit of {MAX_SIDE}")


def _conv3(index: int, side: int, stride: int) -> int:
    return _window(index, side, 3, stride, 1)


_Rule = Callable[[int, tuple[int, ...], dict[str, Any]], tuple[tuple[int, ...], int]]


def _conv2d(i: int, shape: tuple[int, ...], a: dict[str, Any]) -> tuple[tuple[int, ...], int]:
    c, h, w = _need_chw(i, "conv2d", shape)
    _match(i, "in_channels", a["in_channels"], c)
    out, g = a["out_channels"], a["groups"]
    _check_channels(i, "out_channels", out, "out_channels")
    _check_channels(i, "groups", g, "groups")
    _divisible(i, c, g, "in_channels")
    _divisible(i, out, g, "out_channels")
    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = (
        a["kernel_size"],
        a["stride"],
        a["padding"],
        a["dilation"],
    )
    ho, wo = _window(i, h, kh, sh, ph, dh), _window(i, w, kw, sw, pw, dw)
    return (out, ho, wo), ho * wo * out * (c // g) * kh * kw


def _linear(i: int, shape: tuple[int, ...], a: dict[str, Any]) -> tuple[tuple[int, ...], int]:
    n_in = shape[-1]
    _match(i, "in_features", a["in_features"], n_in)
    out = a["out_features"]
    _check_channels(i, "out_features", out, "out_features")
    return (*shape[:-1], out), math.prod(shape[:-1]) * n_in * out


def _pool(kind: str) -> _Rule:
    def rule(i: int, shape: tuple[int, ...], a: dict[str, Any]) -> tuple[tuple[int, ...], int]:
        c, h, w = _need_chw(i, kind, shape)
        (kh, kw), (ph, pw) = a["kernel_size"], a["padding"]
        sh, sw = a["stride"] if a["stride"] is not None else (kh, kw)
        dh, dw = a.get("dilation", (1, 1))
        cm = a["ceil_mode"]
        ho = _window(i, h, kh, sh, ph, dh, pool=True, ceil_mode=cm)
        wo = _window(i, w, kw, sw, pw, dw, pool=True, ceil_mode=cm)
        return (c, ho, wo), 0

    return rule


def _adaptive(i: int, shape: tuple[int, ...], a: dict[str, Any]) -> tuple[tuple[int, ...], int]:
    c, _, _ = _need_chw(i, "adaptive_avgpool2d", shape)
    for side in a["output_size"]:
        _check_side(i, side)
    return (c, *a["output_size"]), 0


def _batchnorm(i: int, shape: tuple[int, ...], a: dict[str, Any]) -> tuple[tuple[int, ...], int]:
    c, _, _ = _need_chw(i, "batchnorm2d", shape)
    _match(i, "num_features", a["num_features"], c)
    return shape, 0


def _same(i: int, shape: tuple[int, ...], a: dict[str, Any]) -> tuple[tuple[int, ...], int]:
    return shape, 0


def _flatten(i: int, shape: tuple[int, ...], a: dict[str, Any]) -> tuple[tuple[int, ...], int]:
    ndim = len(shape) + 1  # torch counts the batch dimension
    start, end = a["start_dim"], a["end_dim"]
    start = start + ndim if start < 0 else start
    end = end + ndim if end < 0 else end
    if not (0 <= start < ndim and 0 <= end < ndim):
        raise SpecShapeError(i, f"flatten dims out of range for a {ndim}-d input")
    if start == 0:
        raise SpecShapeError(
            i, "flatten must keep the batch dimension (start_dim >= 1)", "start_dim"
        )
    if start > end:
        raise SpecShapeError(i, "flatten needs start_dim <= end_dim")
    s, e = start - 1, end - 1
    return (*shape[:s], math.prod(shape[s : e + 1]), *shape[e + 1 :]), 0


def _shuffle(i: int, shape: tuple[int, ...], a: dict[str, Any]) -> tuple[tuple[int, ...], int]:
    c, _, _ = _need_chw(i, "channel_shuffle", shape)
    _check_channels(i, "groups", a["groups"], "groups")
    _divisible(i, c, a["groups"])
    return shape, 0


def _fire(i: int, shape: tuple[int, ...], a: dict[str, Any]) -> tuple[tuple[int, ...], int]:
    c, h, w = _need_chw(i, "fire", shape)
    s, e1, e3 = a["squeeze_planes"], a["expand1x1_planes"], a["expand3x3_planes"]
    for key in ("squeeze_planes", "expand1x1_planes", "expand3x3_planes"):
        _check_channels(i, key, a[key], key)
    _check_channels(i, "output channels", e1 + e3)
    if a["bypass"] and e1 + e3 != c:
        raise SpecShapeError(
            i, f"bypass needs expand1x1 + expand3x3 = {c}, got {e1 + e3}", "bypass"
        )
    return (e1 + e3, h, w), h * w * (c * s + s * e1 + 9 * s * e3)


def _se(i: int, shape: tuple[int, ...], a: dict[str, Any]) -> tuple[tuple[int, ...], int]:
    c, _, _ = _need_chw(i, "se", shape)
    squeezed = c // a["reduction"]
    if squeezed < 1:
        raise SpecShapeError(
            i, f"reduction {a['reduction']} leaves no channels out of {c}", "reduction"
        )
    return shape, 2 * c * squeezed


def _inverted(i: int, shape: tuple[int, ...], a: dict[str, Any]) -> tuple[tuple[int, ...], int]:
    c, h, w = _need_chw(i, "inverted_residual", shape)
    out, t = a["out_channels"], a["expand_ratio"]
    _check_channels(i, "out_channels", out, "out_channels")
    hidden = c * t
    _check_channels(i, "expanded channels", hidden, "expand_ratio")
    ho, wo = _conv3(i, h, a["stride"]), _conv3(i, w, a["stride"])
    expand = h * w * c * hidden if t != 1 else 0
    return (out, ho, wo), expand + ho * wo * hidden * (9 + out)


def _bottleneck(i: int, shape: tuple[int, ...], a: dict[str, Any]) -> tuple[tuple[int, ...], int]:
    c, h, w = _need_chw(i, "bottleneck", shape)
    planes, s, g = a["planes"], a["stride"], a["groups"]
    _check_channels(i, "groups", g, "groups")
    width = int(planes * (a["base_width"] / 64.0)) * g
    out = planes * Bottleneck.expansion
    _check_channels(i, "bottleneck width", width)
    _check_channels(i, "output channels", out)
    ho, wo = _conv3(i, h, s), _conv3(i, w, s)
    h1, w1 = (ho, wo) if a["stride_in_1x1"] else (h, w)
    macs = h1 * w1 * c * width + ho * wo * (9 * width * (width // g) + width * out)
    if s != 1 or c != out:
        macs += ho * wo * c * out
    if a["se_reduction"] is not None:
        squeezed = out // a["se_reduction"]
        if squeezed < 1:
            raise SpecShapeError(
                i, f"se_reduction {a['se_reduction']} leaves no channels", "se_reduction"
            )
        macs += 2 * out * squeezed
    return (out, ho, wo), macs


def _basic(i: int, shape: tuple[int, ...], a: dict[str, Any]) -> tuple[tuple[int, ...], int]:
    c, h, w = _need_chw(i, "basic_block", shape)
    p, s = a["planes"], a["stride"]
    _check_channels(i, "planes", p, "planes")
    ho, wo = _conv3(i, h, s), _conv3(i, w, s)
    macs = ho * wo * 9 * p * (c + p) + (ho * wo * c * p if s != 1 or c != p else 0)
    return (p, ho, wo), macs


def _separable(i: int, shape: tuple[int, ...], a: dict[str, Any]) -> tuple[tuple[int, ...], int]:
    c, h, w = _need_chw(i, "depthwise_separable", shape)
    out = a["out_channels"]
    _check_channels(i, "out_channels", out, "out_channels")
    ho, wo = _conv3(i, h, a["stride"]), _conv3(i, w, a["stride"])
    return (out, ho, wo), ho * wo * c * (9 + out)


def _shuffle_v2(i: int, shape: tuple[int, ...], a: dict[str, Any]) -> tuple[tuple[int, ...], int]:
    c, h, w = _need_chw(i, "shufflenet_v2_unit", shape)
    out, s = a["out_channels"], a["stride"]
    _check_channels(i, "out_channels", out, "out_channels")
    if out % 2:
        raise SpecShapeError(i, f"out_channels {out} must be even (two branches)", "out_channels")
    b = out // 2
    if s == 1:
        if c != out:
            raise SpecShapeError(
                i, f"a stride-1 unit needs out_channels = {c}, got {out}", "out_channels"
            )
        return shape, h * w * b * (2 * b + 9)
    ho, wo = _conv3(i, h, 2), _conv3(i, w, 2)
    left = ho * wo * c * (9 + b)
    right = h * w * c * b + ho * wo * b * (9 + b)
    return (out, ho, wo), left + right


_RULES: dict[str, _Rule] = {
    "conv2d": _conv2d,
    "linear": _linear,
    "maxpool2d": _pool("maxpool2d"),
    "avgpool2d": _pool("avgpool2d"),
    "adaptive_avgpool2d": _adaptive,
    "batchnorm2d": _batchnorm,
    "relu": _same,
    "relu6": _same,
    "dropout": _same,
    "flatten": _flatten,
    "channel_shuffle": _shuffle,
    "fire": _fire,
    "se": _se,
    "inverted_residual": _inverted,
    "bottleneck": _bottleneck,
    "basic_block": _basic,
    "depthwise_separable": _separable,
    "shufflenet_v2_unit": _shuffle_v2,
}


def _check_input(input_shape: object, batch: object) -> tuple[int, int, int]:
    if type(batch) is not int:
        raise SpecFieldError(None, f"batch must be an int, got {_describe(batch)}", "batch")
    if batch < 1:
        raise SpecShapeError(None, f"batch must be positive, got {batch}", "batch")
    if batch > MAX_BATCH:
        raise SpecLimitError(None, f"batch {batch} over the limit of {MAX_BATCH}", "batch")
    if not isinstance(input_shape, (list, tuple)) or len(input_shape) != 3:
        raise SpecFieldError(None, "input_shape must be [C, H, W]", "input_shape")
    for value in input_shape:
        if type(value) is not int:
            raise SpecFieldError(
                None, f"input_shape entries must be ints, got {_describe(value)}", "input_shape"
            )
        if value < 1:
            raise SpecShapeError(
                None, f"input_shape entries must be positive, got {value}", "input_shape"
            )
    c, h, w = input_shape
    if c > MAX_CHANNELS:
        raise SpecLimitError(
            None, f"input channels {c} over the limit of {MAX_CHANNELS}", "input_shape"
        )
    if max(h, w) > MAX_SIDE:
        raise SpecLimitError(
            None, f"input side {max(h, w)} over the limit of {MAX_SIDE}", "input_shape"
        )
    return c, h, w


def validate_spec(
    input_shape: Sequence[int], layers: Sequence[Mapping[str, Any]], batch: int = 1
) -> list[LayerPlan]:
    """Check a spec without building anything; returns each layer's shapes and MACs.

    Raises a ``SpecError`` subclass naming the first offending layer.
    """
    shape: tuple[int, ...] = _check_input(input_shape, batch)
    if not isinstance(layers, (list, tuple)):
        raise SpecFieldError(None, "layers must be a list", "layers")
    if not layers:
        raise SpecShapeError(None, "a spec needs at least one layer", "layers")
    if len(layers) > MAX_LAYERS:
        raise SpecLimitError(None, f"{len(layers)} layers over the limit of {MAX_LAYERS}", "layers")
    plans: list[LayerPlan] = []
    modules = total_macs = 0
    for index, layer in enumerate(layers):
        kind, args = _parse_layer(index, layer)
        modules += MODULES_PER_LAYER.get(kind, 1)
        if modules > MAX_MODULES:
            raise SpecLimitError(
                index,
                f"the layers up to this one build {modules} torch modules, over the "
                f"limit of {MAX_MODULES} (a block counts its own)",
            )
        out_shape, macs = _RULES[kind](index, shape, args)
        macs *= batch
        total_macs += macs
        _check_work(index, macs, total_macs, batch * math.prod(out_shape))
        plans.append(LayerPlan(index, kind, args, shape, out_shape, macs))
        shape = out_shape
    return plans


def _check_work(index: int, macs: int, total_macs: int, elements: int) -> None:
    """Refuse a layer whose MACs, running total of MACs or output size is over its limit."""
    if macs > MAX_LAYER_MACS:
        raise SpecLimitError(index, f"{macs:.3e} MACs over the limit of {MAX_LAYER_MACS:.0e}")
    if total_macs > MAX_TOTAL_MACS:
        raise SpecLimitError(
            index,
            f"{total_macs:.3e} MACs up to this layer, over the limit of "
            f"{MAX_TOTAL_MACS:.0e} for a whole spec",
        )
    if elements > MAX_ELEMENTS:
        raise SpecLimitError(
            index, f"output of {elements:,} elements over the limit of {MAX_ELEMENTS:,} (2^40)"
        )


def _module(plan: LayerPlan) -> nn.Module:
    a, c = plan.args, plan.input_shape[0]
    kind = plan.type
    if kind == "conv2d":
        return nn.Conv2d(
            c,
            a["out_channels"],
            a["kernel_size"],
            a["stride"],
            a["padding"],
            a["dilation"],
            a["groups"],
            a["bias"],
        )
    if kind == "linear":
        return nn.Linear(plan.input_shape[-1], a["out_features"], a["bias"])
    if kind == "maxpool2d":
        return nn.MaxPool2d(
            a["kernel_size"], a["stride"], a["padding"], a["dilation"], ceil_mode=a["ceil_mode"]
        )
    if kind == "avgpool2d":
        return nn.AvgPool2d(
            a["kernel_size"], a["stride"], a["padding"], a["ceil_mode"], a["count_include_pad"]
        )
    if kind == "adaptive_avgpool2d":
        return nn.AdaptiveAvgPool2d(a["output_size"])
    if kind == "batchnorm2d":
        return nn.BatchNorm2d(c, a["eps"], a["momentum"], a["affine"])
    if kind == "relu":
        return nn.ReLU(a["inplace"])
    if kind == "relu6":
        return nn.ReLU6(a["inplace"])
    if kind == "dropout":
        return nn.Dropout(a["p"])
    if kind == "flatten":
        return nn.Flatten(a["start_dim"], a["end_dim"])
    if kind == "channel_shuffle":
        return ChannelShuffle(a["groups"])
    if kind == "fire":
        return Fire(
            c, a["squeeze_planes"], a["expand1x1_planes"], a["expand3x3_planes"], a["bypass"]
        )
    if kind == "se":
        return SqueezeExcitation(c, a["reduction"])
    if kind == "inverted_residual":
        return InvertedResidual(c, a["out_channels"], a["stride"], a["expand_ratio"])
    if kind == "bottleneck":
        return Bottleneck(
            c,
            a["planes"],
            a["stride"],
            a["groups"],
            a["base_width"],
            a["stride_in_1x1"],
            a["se_reduction"],
        )
    if kind == "basic_block":
        return BasicBlock(c, a["planes"], a["stride"])
    if kind == "depthwise_separable":
        return DepthwiseSeparable(c, a["out_channels"], a["stride"])
    if kind == "shufflenet_v2_unit":
        return ShuffleNetV2Unit(c, a["out_channels"], a["stride"])
    raise AssertionError(f"no builder for {kind}")  # LAYER_TYPES and _RULES list every type


def build_from_spec(
    input_shape: Sequence[int], layers: Sequence[Mapping[str, Any]], batch: int = 1
) -> nn.Sequential:
    """Validate a spec, then build it on the meta device as an ``nn.Sequential``.

    Child ``str(i)`` is layer ``i`` of the spec, so profile rows map back to spec indices.
    """
    plans = validate_spec(input_shape, layers, batch)
    modules: list[nn.Module] = []
    with torch.device("meta"):
        for plan in plans:
            try:
                modules.append(_module(plan))
            except ValueError as exc:  # a block's own check that the arithmetic did not mirror
                raise SpecShapeError(plan.index, str(exc)) from exc
        return nn.Sequential(*modules)


def profile_spec(
    input_shape: Sequence[int],
    layers: Sequence[Mapping[str, Any]],
    batch: int = 1,
    dtype: str | torch.dtype = "float32",
    *,
    leaf_only: bool = True,
) -> Profile:
    """Validate, build on meta and profile a spec in one call (what ``POST /profile`` needs)."""
    model = build_from_spec(input_shape, layers, batch)
    return profile(model, tuple(input_shape), batch, dtype, leaf_only=leaf_only)
