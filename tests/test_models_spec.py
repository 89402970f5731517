"""Layer specs (POST /profile): building on meta, validation before building, error indices."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

import models.spec as spec_module
from models import (
    LAYER_TYPES,
    MAX_LAYERS,
    SpecError,
    SpecFieldError,
    SpecLimitError,
    SpecShapeError,
    build_from_spec,
    layer_types,
    profile_spec,
    validate_spec,
)

ALL_TYPES = [
    {"type": "conv2d", "out_channels": 16, "kernel_size": 3, "padding": 1, "bias": False},
    {"type": "batchnorm2d"},
    {"type": "relu", "inplace": True},
    {"type": "fire", "squeeze_planes": 4, "expand1x1_planes": 8, "expand3x3_planes": 8},
    {"type": "se", "reduction": 4},
    {"type": "inverted_residual", "out_channels": 24, "stride": 2, "expand_ratio": 6},
    {"type": "bottleneck", "planes": 8, "stride": 2, "se_reduction": 4},
    {"type": "channel_shuffle", "groups": 4},
    {"type": "shufflenet_v2_unit", "out_channels": 32, "stride": 2},
    {"type": "shufflenet_v2_unit", "out_channels": 32},
    {"type": "basic_block", "planes": 16, "stride": 2},
    {"type": "depthwise_separable", "out_channels": 32},
    {"type": "relu6"},
    {"type": "maxpool2d", "kernel_size": 2},
    {"type": "avgpool2d", "kernel_size": [1, 1]},
    {"type": "adaptive_avgpool2d", "output_size": 1},
    {"type": "flatten"},
    {"type": "dropout", "p": 0.1},
    {"type": "linear", "out_features": 10},
]


def test_every_layer_type_is_covered_by_the_sample():
    assert {layer["type"] for layer in ALL_TYPES} == set(LAYER_TYPES)


def test_build_from_spec_is_a_meta_sequential():
    model = build_from_spec((3, 64, 64), ALL_TYPES)
    assert isinstance(model, nn.Sequential) and len(model) == len(ALL_TYPES)
    assert all(p.is_meta for p in model.parameters())
    assert isinstance(model[0], nn.Conv2d) and model[0].in_channels == 3
    assert model[0].bias is None


def test_arithmetic_agrees_with_meta_profile_layer_by_layer():
    plans = validate_spec((3, 64, 64), ALL_TYPES, batch=2)
    prof = profile_spec((3, 64, 64), ALL_TYPES, batch=2, leaf_only=False)
    for plan in plans:
        row = prof.row(str(plan.index))
        assert row.output_shape == (2, *plan.output_shape), plan.type
        assert row.macs == plan.macs, plan.type
    assert prof.output_shape == (2, 10)


def test_simple_conv_spec_numbers():
    p = profile_spec((3, 32, 32), [{"type": "conv2d", "out_channels": 8, "kernel_size": 3}])
    assert p.rows[0].output_shape == (1, 8, 30, 30)
    assert p.params == 8 * 3 * 9 + 8
    assert p.macs == 30 * 30 * 8 * 27


def test_given_in_channels_must_match():
    layers = [{"type": "conv2d", "in_channels": 3, "out_channels": 8, "kernel_size": 1}]
    assert validate_spec((3, 8, 8), layers)[0].output_shape == (8, 8, 8)
    layers[0]["in_channels"] = 4
    with pytest.raises(SpecShapeError, match="in_channels 4"):
        validate_spec((3, 8, 8), layers)
    with pytest.raises(SpecShapeError, match="in_features"):
        validate_spec(
            (3, 8, 8),
            [{"type": "flatten"}, {"type": "linear", "in_features": 5, "out_features": 2}],
        )


def test_defaults_are_torch_defaults():
    plan = validate_spec((3, 8, 8), [{"type": "maxpool2d", "kernel_size": 2}])[0]
    assert plan.args["stride"] is None and plan.output_shape == (3, 4, 4)
    conv = validate_spec((3, 8, 8), [{"type": "conv2d", "out_channels": 4, "kernel_size": 3}])[0]
    assert conv.args["stride"] == (1, 1) and conv.args["bias"] is True


CONV = {"type": "conv2d", "out_channels": 8, "kernel_size": 3}


def conv(**over):
    return {**CONV, **over}


@pytest.mark.parametrize(
    ("layers", "error", "index", "needle"),
    [
        # sizes that are not positive
        ([conv(out_channels=0)], SpecShapeError, 0, "positive"),
        ([conv(kernel_size=-3)], SpecShapeError, 0, "positive"),
        ([conv(stride=0)], SpecShapeError, 0, "positive"),
        ([conv(padding=-1)], SpecShapeError, 0, ">= 0"),
        ([{"type": "linear", "out_features": 0}], SpecShapeError, 0, "positive"),
        # kernel larger than the padded input
        ([conv(kernel_size=17)], SpecShapeError, 0, "larger than the padded input"),
        ([conv(), {"type": "maxpool2d", "kernel_size": 15}], SpecShapeError, 1, "no output"),
        ([conv(kernel_size=3, dilation=9)], SpecShapeError, 0, "larger"),
        ([{"type": "maxpool2d", "kernel_size": 2, "padding": 2}], SpecShapeError, 0, "half"),
        # channels not divisible by groups
        ([conv(groups=2)], SpecShapeError, 0, "divisible"),
        (
            [conv(out_channels=8, groups=3, kernel_size=1), conv(groups=3)],
            SpecShapeError,
            0,
            "divisible",
        ),
        ([conv(), {"type": "channel_shuffle", "groups": 3}], SpecShapeError, 1, "divisible"),
        # limits
        ([conv(out_channels=65_537)], SpecLimitError, 0, "65536"),
        ([conv(out_channels=10**9)], SpecLimitError, 0, "limit"),
        (
            [conv(), {"type": "inverted_residual", "out_channels": 8, "expand_ratio": 10_000}],
            SpecLimitError,
            1,
            "expanded",
        ),
        ([conv(kernel_size=1, padding=2100)], SpecLimitError, 0, "output side"),
        # unknown type, unknown/missing fields
        ([conv(), {"type": "conv3d"}], SpecFieldError, 1, "unknown layer type"),
        ([conv(padding_mode="zeros")], SpecFieldError, 0, "padding_mode"),
        ([conv(), {"type": "linear"}], SpecFieldError, 1, "out_features"),
        ([{"out_channels": 8}], SpecFieldError, 0, "type"),
        (["conv2d"], SpecFieldError, 0, "object"),
        # wrong types: bools are not ints, floats are not ints, strings are not numbers
        ([conv(out_channels=True)], SpecFieldError, 0, "bool"),
        ([conv(out_channels=8.0)], SpecFieldError, 0, "float"),
        ([conv(kernel_size="3")], SpecFieldError, 0, "str"),
        ([conv(kernel_size=[3, 3, 3])], SpecFieldError, 0, "2 ints"),
        ([conv(kernel_size=[3, True])], SpecFieldError, 0, "bool"),
        ([conv(bias=1)], SpecFieldError, 0, "boolean"),
        ([conv(), {"type": "dropout", "p": "0.5"}], SpecFieldError, 1, "number"),
        ([conv(), {"type": "dropout", "p": True}], SpecFieldError, 1, "number"),
        ([conv(), {"type": "dropout", "p": 1.5}], SpecShapeError, 1, "[0"),
        ([conv(), {"type": "batchnorm2d", "eps": float("nan")}], SpecFieldError, 1, "finite"),
        # shapes that do not fit
        ([{"type": "flatten"}, conv()], SpecShapeError, 1, "(C, H, W)"),
        ([{"type": "flatten", "start_dim": 0}], SpecShapeError, 0, "batch"),
        (
            [conv(), {"type": "shufflenet_v2_unit", "out_channels": 16}],
            SpecShapeError,
            1,
            "stride-1",
        ),
        (
            [
                conv(),
                {
                    "type": "fire",
                    "squeeze_planes": 2,
                    "expand1x1_planes": 4,
                    "expand3x3_planes": 8,
                    "bypass": True,
                },
            ],
            SpecShapeError,
            1,
            "bypass",
        ),
        ([conv(), {"type": "se", "reduction": 16}], SpecShapeError, 1, "no channels"),
    ],
)
def test_validation_errors_name_the_layer(layers, error, index, needle):
    with pytest.raises(error) as exc:
        build_from_spec((3, 16, 16), layers)
    assert exc.value.index == index
    assert needle in exc.value.message
    assert str(exc.value).startswith(f"layer {index}: ")
    assert isinstance(exc.value, SpecError) and isinstance(exc.value, ValueError)
    assert exc.value.to_dict() == {
        "index": index,
        "field": exc.value.field,
        "message": exc.value.message,
        "kind": error.__name__,
    }


@pytest.mark.parametrize(
    ("input_shape", "batch", "layers", "error", "needle"),
    [
        ((3, 16, 16), 1, [CONV] * (MAX_LAYERS + 1), SpecLimitError, "501 layers"),
        ((3, 16, 16), 1025, [CONV], SpecLimitError, "batch"),
        ((3, 16, 16), 0, [CONV], SpecShapeError, "batch"),
        ((3, 16, 16), True, [CONV], SpecFieldError, "batch"),
        ((3, 4097, 16), 1, [CONV], SpecLimitError, "4096"),
        ((70_000, 16, 16), 1, [CONV], SpecLimitError, "channels"),
        ((3, 0, 16), 1, [CONV], SpecShapeError, "positive"),
        ((3, 16), 1, [CONV], SpecFieldError, "[C, H, W]"),
        ((3, 16.0, 16), 1, [CONV], SpecFieldError, "float"),
        ((3, 16, 16), 1, [], SpecShapeError, "at least one"),
        ((3, 16, 16), 1, "conv", SpecFieldError, "list"),
    ],
)
def test_spec_level_errors_have_no_index(input_shape, batch, layers, error, needle):
    with pytest.raises(error) as exc:
        validate_spec(input_shape, layers, batch)
    assert exc.value.index is None
    assert needle in exc.value.message
    assert str(exc.value).startswith("spec: ")


def test_exactly_500_layers_is_allowed():
    layers = [{"type": "relu"}] * MAX_LAYERS
    assert len(validate_spec((3, 4, 4), layers)) == MAX_LAYERS


def test_mac_limit_counts_the_batch():
    # 4096 x 4096 outputs x 65536 x 65536 input channels would be ~7e16 MACs; keep it in range
    # of the channel limit: 1024 batch x 4096^2 x 512 x 512 x 1 = 4.5e15 > 1e15.
    layers = [{"type": "conv2d", "out_channels": 512, "kernel_size": 1}]
    validate_spec((512, 4096, 4096), layers, batch=1)  # 4.4e12: fine
    with pytest.raises(SpecLimitError, match="MACs") as exc:
        validate_spec((512, 4096, 4096), layers, batch=1024)
    assert exc.value.index == 0


def test_huge_convolution_is_refused_before_anything_is_built(monkeypatch):
    def no_build(plan):
        raise AssertionError("built a module for an invalid spec")

    monkeypatch.setattr(spec_module, "_module", no_build)
    bad = [{"type": "relu"}, {"type": "conv2d", "out_channels": 10**9, "kernel_size": 3}]
    with pytest.raises(SpecLimitError) as exc:
        build_from_spec((3, 224, 224), bad)
    assert exc.value.index == 1
    # An error in the *last* layer also stops the first ones from being built.
    with pytest.raises(SpecFieldError):
        build_from_spec((3, 8, 8), [CONV, {"type": "nope"}])


def test_block_check_not_mirrored_by_arithmetic_still_names_the_layer(monkeypatch):
    # If a block constructor refuses something validation let through, the error still has an
    # index. Simulate by making the arithmetic accept a stride-1 v2 unit with mismatched widths.
    original = spec_module._RULES["shufflenet_v2_unit"]

    def lenient(i, shape, a):
        return (a["out_channels"], *shape[1:]), 0

    monkeypatch.setitem(spec_module._RULES, "shufflenet_v2_unit", lenient)
    with pytest.raises(SpecShapeError) as exc:
        build_from_spec((3, 8, 8), [CONV, {"type": "shufflenet_v2_unit", "out_channels": 16}])
    assert exc.value.index == 1
    assert original is not lenient


@st.composite
def conv_pool_specs(draw):
    c = draw(st.integers(1, 8))
    n = draw(st.integers(4, 40))
    layers = []
    for _ in range(draw(st.integers(1, 5))):
        kind = draw(st.sampled_from(["conv2d", "maxpool2d", "avgpool2d", "batchnorm2d", "relu"]))
        if kind == "conv2d":
            g = draw(st.sampled_from([1, 2, 4]))
            layers.append(
                {
                    "type": "conv2d",
                    "out_channels": g * draw(st.integers(1, 4)),
                    "kernel_size": draw(st.integers(1, 5)),
                    "stride": draw(st.integers(1, 3)),
                    "padding": draw(st.integers(0, 2)),
                    "dilation": draw(st.integers(1, 2)),
                    "groups": g,
                }
            )
        elif kind in ("maxpool2d", "avgpool2d"):
            layers.append(
                {
                    "type": kind,
                    "kernel_size": draw(st.integers(1, 4)),
                    "stride": draw(st.integers(1, 3)),
                    "padding": draw(st.integers(0, 2)),
                    "ceil_mode": draw(st.booleans()),
                }
            )
        else:
            layers.append({"type": kind})
    return (c, n, n), layers


@settings(max_examples=80, deadline=None)
@given(conv_pool_specs())
def test_validation_accepts_only_what_torch_builds_and_agrees_with_it(spec):
    input_shape, layers = spec
    try:
        plans = validate_spec(input_shape, layers)
    except SpecShapeError as exc:
        assert exc.index is not None
        # What validation refuses, torch refuses too: building or running the same layers
        # directly with torch fails.
        with pytest.raises((ValueError, RuntimeError)):
            _torch_model(input_shape, layers)(torch.empty(1, *input_shape, device="meta"))
        return
    prof = profile_spec(input_shape, layers)
    for plan, row in zip(plans, prof.rows, strict=True):
        assert row.output_shape == (1, *plan.output_shape)
        assert row.macs == plan.macs


def _torch_model(input_shape, layers):
    """The same layers built directly with torch on meta, channels carried by hand."""
    channels = input_shape[0]
    modules = []
    with torch.device("meta"):
        for layer in layers:
            args = {k: v for k, v in layer.items() if k != "type"}
            if layer["type"] == "conv2d":
                modules.append(nn.Conv2d(channels, **args))
                channels = args["out_channels"]
            elif layer["type"] == "maxpool2d":
                modules.append(nn.MaxPool2d(**args))
            elif layer["type"] == "avgpool2d":
                modules.append(nn.AvgPool2d(**args))
            elif layer["type"] == "batchnorm2d":
                modules.append(nn.BatchNorm2d(channels))
            else:
                modules.append(nn.ReLU())
    return nn.Sequential(*modules).eval()


# Anything a client can send: valid and invalid values of every JSON kind, for every field.
_VALUES = st.one_of(
    st.integers(-3, 9),
    st.sampled_from([0, 1, 2, 3, 4, 16, 64, 65_536, 65_537, 2**31, 10**9, 10**400]),
    st.booleans(),
    st.none(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=3),
    st.lists(st.integers(-1, 5), max_size=3),
)


_PLAUSIBLE = {
    "int": st.integers(1, 8),
    "pair": st.one_of(st.integers(1, 4), st.lists(st.integers(0, 4), min_size=2, max_size=2)),
    "bool": st.booleans(),
    "float": st.floats(0, 1),
}


@st.composite
def arbitrary_layers(draw):
    layers = []
    for _ in range(draw(st.integers(1, 6))):
        kind = draw(st.sampled_from([*sorted(LAYER_TYPES)] * 5 + ["conv3d", 7]))
        fields = LAYER_TYPES.get(kind, {})
        required = [f for f, spec in fields.items() if spec.required]
        optional = [f for f, spec in fields.items() if not spec.required]
        chosen = required if draw(st.integers(0, 19)) else []
        if optional:
            chosen += draw(st.lists(st.sampled_from(optional), max_size=3, unique=True))
        if not draw(st.integers(0, 19)):
            chosen.append("bogus")
        layer = {"type": kind}
        for f in chosen:
            plausible = f in fields and draw(st.integers(0, 19)) > 0
            layer[f] = draw(_PLAUSIBLE[fields[f].kind] if plausible else _VALUES)
        layers.append(layer)
    return layers


@settings(max_examples=150, deadline=None)
@given(
    st.tuples(st.integers(1, 32), st.integers(1, 40), st.integers(1, 40)),
    arbitrary_layers(),
    st.integers(1, 4),
)
def test_any_input_is_either_refused_with_an_index_or_profiles(input_shape, layers, batch):
    # The API's guarantee: a SpecError (422 naming the layer) or a profile, never anything else.
    try:
        plans = validate_spec(input_shape, layers, batch)
    except SpecError as exc:
        assert exc.index is None or 0 <= exc.index < len(layers)
        return
    prof = profile_spec(input_shape, layers, batch)
    assert prof.output_shape == (batch, *plans[-1].output_shape)
    assert prof.macs == sum(p.macs for p in plans)


def test_layer_types_schema_is_json_ready():
    import json

    schema = json.loads(json.dumps(layer_types()))
    assert schema["conv2d"]["out_channels"] == {
        "kind": "int",
        "required": True,
        "minimum": 1,
        "maximum": None,
        "nullable": False,
    }
    assert schema["conv2d"]["bias"]["default"] is True


def test_huge_integers_are_refused_not_crashing():
    with pytest.raises(SpecLimitError):
        validate_spec((8, 8, 8), [{"type": "bottleneck", "planes": 2, "base_width": 10**400}])
    with pytest.raises(SpecShapeError):
        validate_spec((8, 8, 8), [{"type": "dropout", "p": 10**400}])


@pytest.mark.parametrize(("ceil_mode", "side"), [(True, 1), (False, None)])
def test_ceil_mode_pooling_with_a_kernel_past_the_input(ceil_mode, side) -> None:
    # Found by the property test above: on a 2x2 map a 3x3 stride-2 max pool gives one
    # output in ceil_mode (torch counts the partial window) and none otherwise.
    layers = [{"type": "maxpool2d", "kernel_size": 3, "stride": 2, "ceil_mode": ceil_mode}]
    x = torch.empty(1, 1, 2, 2, device="meta")
    if side is None:
        with pytest.raises(SpecShapeError, match="no output"):
            validate_spec((1, 2, 2), layers)
        with pytest.raises(RuntimeError):
            _torch_model((1, 2, 2), layers)(x)
        return
    (plan,) = validate_spec((1, 2, 2), layers)
    assert plan.output_shape == (1, side, side)
    assert tuple(_torch_model((1, 2, 2), layers)(x).shape) == (1, 1, side, side)
