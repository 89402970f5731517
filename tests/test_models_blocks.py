"""Blocks: exact params, shapes and MACs against closed-form arithmetic; closed-form helpers.

Blocks are built on the meta device and profiled with ``profile_module``; every expected
number below is written out as arithmetic from the block's definition.
"""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from models import (
    BasicBlock,
    Bottleneck,
    ChannelShuffle,
    ConvBNReLU,
    DenseBlock,
    DenseLayer,
    DepthwiseSeparable,
    Fire,
    GroupedConv,
    Inception,
    InceptionConfig,
    InvertedResidual,
    NaiveInception,
    ResNeXtBlock,
    ShuffleNetV1Unit,
    ShuffleNetV2Unit,
    SqueezeExcitation,
    Transition,
    bytes_in,
    bytes_per_element,
    channel_shuffle,
    conv2d_output_size,
    dtype_name,
    mem_access_1x1,
    pool2d_output_size,
    profile_module,
)


def meta(factory, *args, **kwargs):
    with torch.device("meta"):
        return factory(*args, **kwargs)


def run(block, c, h, w=None, batch=1):
    return profile_module(block, (c, h, h if w is None else w), batch)


def test_conv_bn_relu():
    p = run(meta(ConvBNReLU, 16, 32, 3, 2), 16, 28)
    # weights 32*16*3*3, BN gamma+beta 2*32; output 14x14 (padding 1, stride 2)
    assert p.params == 32 * 16 * 9 + 2 * 32
    assert p.output_shape == (1, 32, 14, 14)
    assert p.macs == 14 * 14 * 32 * 16 * 9
    assert [r.type for r in p.rows] == ["Conv2d", "BatchNorm2d", "ReLU"]


def test_conv_bn_relu6_and_linear():
    block = meta(ConvBNReLU, 8, 8, 1, activation="relu6")
    assert isinstance(block.relu, nn.ReLU6)
    linear = meta(ConvBNReLU, 8, 8, 1, activation=None)
    assert [type(m).__name__ for m in linear] == ["Conv2d", "BatchNorm2d"]
    with pytest.raises(ValueError):
        ConvBNReLU(8, 8, activation="gelu")


def test_grouped_conv_divides_weights_and_macs_by_groups():
    dense = run(meta(GroupedConv, 64, 128, 3, groups=1), 64, 16)
    grouped = run(meta(GroupedConv, 64, 128, 3, groups=4), 64, 16)
    assert grouped.macs == 16 * 16 * 128 * (64 // 4) * 9
    assert dense.macs == 4 * grouped.macs
    assert grouped.params == 128 * 16 * 9 + 2 * 128
    with pytest.raises(ValueError, match="divisible"):
        GroupedConv(30, 64, groups=4)


def test_depthwise_separable():
    p = run(meta(DepthwiseSeparable, 32, 64, 2), 32, 112)
    # depthwise 3x3: 9 weights per channel; pointwise 1x1: 32*64; each followed by BN
    assert p.params == 9 * 32 + 2 * 32 + 32 * 64 + 2 * 64
    assert p.output_shape == (1, 64, 56, 56)
    assert p.macs == 56 * 56 * 32 * 9 + 56 * 56 * 32 * 64
    # The MobileNet paper's reduction vs a standard 3x3 conv: 1/N + 1/9.
    standard = 56 * 56 * 32 * 64 * 9
    assert p.macs / standard == pytest.approx(1 / 64 + 1 / 9)


@pytest.mark.parametrize(
    ("t", "stride", "cin", "cout"), [(6, 1, 24, 24), (6, 2, 24, 32), (1, 1, 32, 16)]
)
def test_inverted_residual(t, stride, cin, cout):
    n = 28
    block = meta(InvertedResidual, cin, cout, stride, t)
    p = run(block, cin, n)
    hid, m = cin * t, n // stride
    expand_params = cin * hid + 2 * hid if t != 1 else 0
    assert p.params == expand_params + 9 * hid + 2 * hid + hid * cout + 2 * cout
    assert p.output_shape == (1, cout, m, m)
    expand_macs = n * n * cin * hid if t != 1 else 0
    assert p.macs == expand_macs + m * m * hid * 9 + m * m * hid * cout
    assert block.use_residual == (stride == 1 and cin == cout)
    # Linear bottleneck: the projection ends in BN, no activation.
    assert [type(x).__name__ for x in block.project] == ["Conv2d", "BatchNorm2d"]


def test_basic_block_with_projection():
    p = run(meta(BasicBlock, 64, 128, 2), 64, 56)
    convs = 128 * 64 * 9 + 128 * 128 * 9 + 64 * 128  # two 3x3 and the 1x1 shortcut
    assert p.params == convs + 3 * 2 * 128
    assert p.macs == 28 * 28 * convs
    assert p.output_shape == (1, 128, 28, 28)


def test_basic_block_identity():
    block = meta(BasicBlock, 64, 64)
    assert block.downsample is None
    assert run(block, 64, 56).params == 2 * (64 * 64 * 9 + 128)


@pytest.mark.parametrize("stride_in_1x1", [False, True])
def test_bottleneck_stride_placement(stride_in_1x1):
    p = run(meta(Bottleneck, 256, 128, 2, stride_in_1x1=stride_in_1x1), 256, 56)
    w, out = 128, 512
    params = 256 * w + 9 * w * w + w * out + 256 * out + 2 * (w + w + out + out)
    assert p.params == params
    assert p.output_shape == (1, out, 28, 28)
    conv1_side = 28 if stride_in_1x1 else 56  # v1 strides the first 1x1, v1.5 the 3x3
    assert p.row("conv1").output_shape == (1, w, conv1_side, conv1_side)
    macs = conv1_side**2 * 256 * w + 28 * 28 * (9 * w * w + w * out + 256 * out)
    assert p.macs == macs


def test_resnext_block_cardinality_and_width():
    block = meta(ResNeXtBlock, 256, 64, 1, cardinality=32, bottleneck_width=4)
    assert block.conv2.groups == 32 and block.conv2.out_channels == 32 * 4
    p = run(block, 256, 56)
    w = 128
    assert p.params == 256 * w + 9 * w * (w // 32) + w * 256 + 2 * (w + w + 256)
    assert p.macs == 56 * 56 * (256 * w + 9 * w * (w // 32) + w * 256)


def test_squeeze_excitation():
    p = run(meta(SqueezeExcitation, 256, 16), 256, 14)
    # two FC layers with biases: 256->16 and 16->256
    assert p.params == 256 * 16 + 16 + 16 * 256 + 256
    assert p.macs == 2 * 256 * 16  # the channel-wise multiply costs nothing by convention
    assert p.output_shape == (1, 256, 14, 14)
    assert p.unattributed_macs == 0


def test_se_bottleneck_adds_se_params():
    plain = run(meta(Bottleneck, 256, 64), 256, 56)
    se = run(meta(Bottleneck, 256, 64, se_reduction=16), 256, 56)
    assert se.params - plain.params == 2 * 256 * 16 + 16 + 256
    assert se.macs - plain.macs == 2 * 256 * 16


def test_dense_layer_block_transition():
    k = 32
    layer = run(meta(DenseLayer, 64, k), 64, 56)
    assert layer.params == 2 * 64 + 64 * 4 * k + 2 * 4 * k + 4 * k * k * 9
    assert layer.output_shape == (1, k, 56, 56)
    block = run(meta(DenseBlock, 6, 64, k), 64, 56)
    assert block.output_shape == (1, 64 + 6 * k, 56, 56)
    layer_params = [2 * c + c * 4 * k + 2 * 4 * k + 4 * k * k * 9 for c in range(64, 64 + 6 * k, k)]
    assert block.params == sum(layer_params)
    layer_macs = [56 * 56 * (c * 4 * k + 4 * k * k * 9) for c in range(64, 64 + 6 * k, k)]
    assert block.macs == sum(layer_macs)
    trans = run(meta(Transition, 256, 128), 256, 56)
    assert trans.params == 2 * 256 + 256 * 128
    assert trans.output_shape == (1, 128, 28, 28)
    assert trans.macs == 56 * 56 * 256 * 128


def test_fire_module():
    p = run(meta(Fire, 96, 16, 64, 64), 96, 55)
    assert p.params == (96 * 16 + 16) + (16 * 64 + 64) + (16 * 64 * 9 + 64)
    assert p.output_shape == (1, 128, 55, 55)
    assert p.macs == 55 * 55 * (96 * 16 + 16 * 64 + 16 * 64 * 9)


def test_fire_bypass():
    block = meta(Fire, 128, 16, 64, 64, bypass=True)
    assert run(block, 128, 27).output_shape == (1, 128, 27, 27)
    with pytest.raises(ValueError, match="bypass"):
        Fire(96, 16, 64, 64, bypass=True)


def test_naive_inception_grows_width():
    p = run(meta(NaiveInception, 192, 64, 128, 32), 192, 28)
    assert p.output_shape == (1, 64 + 128 + 32 + 192, 28, 28)
    assert p.macs == 28 * 28 * 192 * (64 + 128 * 9 + 32 * 25)


def test_inception_3a():
    cfg = InceptionConfig(192, 64, 96, 128, 16, 32, 32)
    p = run(meta(Inception, cfg), 192, 28)
    weights = 192 * 64 + 192 * 96 + 96 * 128 * 9 + 192 * 16 + 16 * 32 * 25 + 192 * 32
    biases = 64 + 96 + 128 + 16 + 32 + 32
    assert p.params == weights + biases == 163_696
    assert p.macs == 28 * 28 * weights  # GoogLeNet Table 1 row 3(a): 128M ops
    assert p.output_shape == (1, 256, 28, 28)
    assert cfg.out_channels == 256


def test_channel_shuffle_permutation_on_real_data():
    # With g = 3 groups of 2 channels [a0 a1 | b0 b1 | c0 c1] the shuffle gives
    # [a0 b0 c0 a1 b1 c1]: channel i of group j moves to position i*g + j.
    x = torch.arange(6.0).view(1, 6, 1, 1)
    out = ChannelShuffle(3)(x)
    assert out.flatten().tolist() == [0.0, 2.0, 4.0, 1.0, 3.0, 5.0]
    assert torch.equal(channel_shuffle(x, 3), out)
    # Shuffling with g and then with C/g restores the order.
    assert torch.equal(channel_shuffle(out, 2), x)


def test_channel_shuffle_on_meta_and_errors():
    p = run(meta(ChannelShuffle, 4), 16, 8)
    assert p.output_shape == (1, 16, 8, 8) and p.params == 0 and p.macs == 0
    with pytest.raises(Exception, match="divisible"):
        run(meta(ChannelShuffle, 3), 16, 8)


def test_shufflenet_v1_units():
    g = 3
    s1 = run(meta(ShuffleNetV1Unit, 240, 240, g, 1), 240, 28)
    mid = 60
    params = 240 * mid // g + 2 * mid + 9 * mid + 2 * mid + mid * 240 // g + 2 * 240
    assert s1.params == params
    assert s1.macs == 28 * 28 * (240 * mid // g + 9 * mid + mid * 240 // g)
    assert s1.output_shape == (1, 240, 28, 28)
    s2 = run(meta(ShuffleNetV1Unit, 240, 480, g, 2), 240, 28)
    mid, branch = 120, 480 - 240  # the avg-pooled input fills the other 240 channels
    assert s2.output_shape == (1, 480, 14, 14)
    assert s2.macs == 28 * 28 * 240 * mid // g + 14 * 14 * (9 * mid + mid * branch // g)
    assert s2.row("shortcut").output_shape == (1, 240, 14, 14)


def test_shufflenet_v2_units():
    s1 = run(meta(ShuffleNetV2Unit, 116, 116, 1), 116, 28)
    b = 58  # channel split: half passes through untouched
    assert s1.params == 3 * (2 * b) + b * b + 9 * b + b * b
    assert s1.macs == 28 * 28 * (b * b + 9 * b + b * b)
    assert s1.output_shape == (1, 116, 28, 28)
    s2 = run(meta(ShuffleNetV2Unit, 24, 116, 2), 24, 56)
    assert s2.output_shape == (1, 116, 28, 28)
    left = 28 * 28 * (9 * 24 + 24 * b)
    right = 56 * 56 * 24 * b + 28 * 28 * (9 * b + b * b)
    assert s2.macs == left + right
    with pytest.raises(ValueError):
        ShuffleNetV2Unit(116, 232, 1)


def test_blocks_run_on_real_cpu_tensors():
    # Meta shapes are the real shapes: run a few blocks on actual data and compare.
    torch.manual_seed(0)
    cases = [
        (ShuffleNetV2Unit(24, 48, 2), (2, 24, 16, 16)),
        (ShuffleNetV1Unit(24, 240, 3, 2, first_group_conv=False), (2, 24, 16, 16)),
        (Fire(32, 8, 16, 16, bypass=True), (2, 32, 9, 9)),
        (Bottleneck(32, 8, 2, se_reduction=4), (2, 32, 9, 9)),
        (Inception(InceptionConfig(16, 4, 4, 8, 2, 4, 4)), (2, 16, 7, 7)),
    ]
    for block, shape in cases:
        block.eval()
        with torch.no_grad():
            real = block(torch.randn(shape))
        prof = profile_module(block, shape[1:], batch=shape[0])
        assert prof.output_shape == tuple(real.shape)
        assert all(p.device.type == "cpu" for p in block.parameters())  # caller's block intact


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(1, 64),
    k=st.integers(1, 7),
    s=st.integers(1, 4),
    p=st.integers(0, 3),
    d=st.integers(1, 3),
)
def test_conv_output_size_matches_torch(n, k, s, p, d):
    span = d * (k - 1) + 1
    layer = nn.Conv2d(1, 1, k, s, p, d, device="meta")
    x = torch.empty(1, 1, n, n, device="meta")
    if span > n + 2 * p:
        with pytest.raises(ValueError):
            conv2d_output_size(n, k, s, p, d)
        return
    assert conv2d_output_size(n, k, s, p, d) == layer(x).shape[-1]


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(1, 64),
    k=st.integers(1, 7),
    s=st.integers(1, 4),
    p=st.integers(0, 3),
    ceil=st.booleans(),
)
def test_pool_output_size_matches_torch(n, k, s, p, ceil):
    if 2 * p > k or k > n + 2 * p:
        return  # torch refuses these; the spec validator refuses them first
    layer = nn.MaxPool2d(k, s, p, ceil_mode=ceil)
    x = torch.empty(1, 1, n, n, device="meta")
    assert pool2d_output_size(n, k, s, p, ceil_mode=ceil) == layer(x).shape[-1]


def test_bytes_per_element_and_units():
    assert [bytes_per_element(n) for n in ("float32", "float16", "bfloat16", "int8")] == [
        4,
        2,
        2,
        1,
    ]
    assert bytes_per_element(torch.float16) == 2
    assert dtype_name("torch.bfloat16") == "bfloat16"
    with pytest.raises(ValueError):
        bytes_per_element("float64")
    with pytest.raises(ValueError):
        bytes_per_element(torch.int64)
    # AlexNet conv1 at 227: 64*56*56 float32 values = 802,816 bytes = 784 KiB = 802.816 KB.
    assert bytes_in(802_816, "KiB") == 784
    assert bytes_in(802_816, "KB") == 802.816
    assert bytes_in(2**20, "MiB") == 1 and bytes_in(10**6, "MB") == 1
    with pytest.raises(ValueError):
        bytes_in(1, "kb")


def test_mem_access_1x1():
    # ShuffleNet v2, Sec. 2 (G1): MAC = hw(c1 + c2) + c1*c2 for a 1x1 conv.
    assert mem_access_1x1(56, 56, 128, 128) == 56 * 56 * 256 + 128 * 128 == 819_200
    # G2: a grouped 1x1 reads c1*c2/g weights.
    assert mem_access_1x1(28, 28, 240, 240, groups=3) == 28 * 28 * 480 + 240 * 240 // 3
    # G1: for equal FLOPs (hw*c1*c2 fixed), equal widths minimise the memory access cost.
    assert mem_access_1x1(56, 56, 128, 128) < mem_access_1x1(56, 56, 64, 256)
    with pytest.raises(ValueError):
        mem_access_1x1(56, 56, 130, 128, groups=3)
    with pytest.raises(ValueError):
        mem_access_1x1(0, 56, 128, 128)
