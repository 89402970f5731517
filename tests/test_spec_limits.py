"""The spec validator's second job: refuse, before anything is built, every spec torch would
refuse and every spec whose profile would cost too much (modules) or report numbers past 2^53
(MACs, elements); and name the field at fault."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from models.errors import SpecError, SpecLimitError, SpecShapeError
from models.spec import (
    LAYER_TYPES,
    MAX_ELEMENTS,
    MAX_MODULES,
    MAX_TOTAL_MACS,
    MODULES_PER_LAYER,
    build_from_spec,
    profile_spec,
    validate_spec,
)

# Every option that changes a block's structure, for the module-count bounds.
BLOCK_OPTIONS = {
    "fire": [
        {"squeeze_planes": 4, "expand1x1_planes": 8, "expand3x3_planes": 8, "bypass": b}
        for b in (False, True)
    ],
    "se": [{"reduction": 4}],
    "inverted_residual": [
        {"out_channels": o, "stride": s, "expand_ratio": t}
        for o in (16, 32)
        for s in (1, 2)
        for t in (1, 6)
    ],
    "bottleneck": [
        {"planes": p, "stride": s, "se_reduction": r, "stride_in_1x1": x, "groups": g}
        for p in (4, 8)
        for s in (1, 2)
        for r in (None, 4)
        for x in (False, True)
        for g in (1, 2)
    ],
    "basic_block": [{"planes": p, "stride": s} for p in (16, 32) for s in (1, 2)],
    "depthwise_separable": [{"out_channels": o, "stride": s} for o in (16, 32) for s in (1, 2)],
    "shufflenet_v2_unit": [{"out_channels": 16, "stride": 1}, {"out_channels": 32, "stride": 2}],
}


def _modules(layer: dict) -> int:
    return sum(1 for _ in build_from_spec((16, 16, 16), [layer]).modules()) - 1  # not the root


@pytest.mark.parametrize("kind", sorted(BLOCK_OPTIONS))
def test_module_bound_of_each_block_is_tight(kind) -> None:
    counts = [_modules({"type": kind, **options}) for options in BLOCK_OPTIONS[kind]]
    assert max(counts) == MODULES_PER_LAYER[kind], counts


def test_every_other_layer_type_builds_one_module() -> None:
    assert set(BLOCK_OPTIONS) == set(MODULES_PER_LAYER)
    simple = {
        "conv2d": {"out_channels": 4, "kernel_size": 3},
        "linear": {"out_features": 4},
        "maxpool2d": {"kernel_size": 2},
        "avgpool2d": {"kernel_size": 2},
        "adaptive_avgpool2d": {"output_size": 2},
        "channel_shuffle": {"groups": 2},
    }
    for kind in set(LAYER_TYPES) - set(MODULES_PER_LAYER):
        assert _modules({"type": kind, **simple.get(kind, {})}) == 1, kind


def test_module_budget_is_counted_before_building() -> None:
    block = {"type": "bottleneck", "planes": 16}
    per = MODULES_PER_LAYER["bottleneck"]
    fits = MAX_MODULES // per
    assert len(validate_spec((64, 8, 8), [block] * fits)) == fits
    with pytest.raises(SpecLimitError, match="torch modules") as exc:
        validate_spec((64, 8, 8), [block] * (fits + 1))
    assert exc.value.index == fits


def test_total_macs_and_elements_are_bounded() -> None:
    conv = {"type": "conv2d", "out_channels": 1024, "kernel_size": 3, "padding": 1}
    # Each layer of 1024 -> 1024 channels at 512x512, batch 8: 2.5e12 MACs, under the
    # per-layer limit; the running total passes MAX_TOTAL_MACS after a few hundred of them.
    plans_macs = validate_spec((1024, 512, 512), [conv], 8)[0].macs
    n = MAX_TOTAL_MACS // plans_macs + 1
    with pytest.raises(SpecLimitError, match="for a whole spec") as exc:
        validate_spec((1024, 512, 512), [conv] * n, 8)
    assert exc.value.index == n - 1
    # No MACs at all, but 2^50 output elements: the bytes would pass 2^53.
    with pytest.raises(SpecLimitError, match="elements") as exc:
        validate_spec((65_536, 4096, 4096), [{"type": "relu"}], 1024)
    assert exc.value.index == 0 and 1024 * 65_536 * 4096 * 4096 > MAX_ELEMENTS


@pytest.mark.parametrize(
    ("kernel", "dilation", "padding"), [(2, 3, 2), (3, 2, 2), (1, 4, 1), (4, 1, 3)]
)
def test_pool_padding_over_half_the_kernel_is_refused_like_torch(kernel, dilation, padding):
    # The first two passed the old check (padding against the dilated kernel) and reached
    # torch's own check on the meta device: a 500.
    layer = {"type": "maxpool2d", "kernel_size": kernel, "dilation": dilation, "padding": padding}
    with pytest.raises(SpecShapeError) as exc:
        validate_spec((3, 32, 32), [layer])
    assert (exc.value.index, exc.value.field) == (0, "padding")
    assert "more than half the kernel" in exc.value.message
    pool = nn.MaxPool2d(kernel, padding=padding, dilation=dilation)
    with pytest.raises(RuntimeError, match="half of"):
        pool(torch.empty(1, 3, 32, 32, device="meta"))


@st.composite
def window_specs(draw):
    """Convolutions and poolings with sizes drawn near the boundaries torch checks: padding
    around half the (dilated) kernel, kernels around the padded input, any dilation."""
    side = draw(st.integers(1, 24))
    layers = []
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(["conv2d", "maxpool2d", "avgpool2d"]))
        k = draw(st.integers(1, 7))
        d = draw(st.integers(1, 4)) if kind != "avgpool2d" else 1
        span = d * (k - 1) + 1
        pad = draw(st.sampled_from([0, k // 2, k // 2 + 1, span // 2, span // 2 + 1, k]))
        layer = {"type": kind, "kernel_size": k, "padding": pad, "stride": draw(st.integers(1, 3))}
        if kind != "avgpool2d":
            layer["dilation"] = d
        if kind == "conv2d":
            layer["out_channels"] = draw(st.integers(1, 4))
        else:
            layer["ceil_mode"] = draw(st.booleans())
        if kind == "avgpool2d":
            layer["count_include_pad"] = draw(st.booleans())
        layers.append(layer)
    return (draw(st.integers(1, 4)), side, draw(st.integers(1, 24))), layers


def _torch_stack(input_shape, layers) -> nn.Module:
    channels, modules = input_shape[0], []
    with torch.device("meta"):
        for layer in layers:
            args = {k: v for k, v in layer.items() if k != "type"}
            if layer["type"] == "conv2d":
                modules.append(nn.Conv2d(channels, **args))
                channels = args["out_channels"]
            elif layer["type"] == "maxpool2d":
                modules.append(nn.MaxPool2d(**args))
            else:
                modules.append(nn.AvgPool2d(**args))
    return nn.Sequential(*modules).eval()


@settings(max_examples=150, deadline=None)
@given(window_specs())
def test_window_layers_valid_exactly_when_torch_runs_them(spec) -> None:
    input_shape, layers = spec
    try:
        plans = validate_spec(input_shape, layers)
    except SpecError as exc:
        assert isinstance(exc, SpecShapeError) and exc.index is not None
        with pytest.raises((ValueError, RuntimeError)):
            _torch_stack(input_shape, layers)(torch.empty(1, *input_shape, device="meta"))
        return
    prof = profile_spec(input_shape, layers)
    assert prof.output_shape == (1, *plans[-1].output_shape)
