"""Every registry architecture against independent arithmetic and published reference figures.

Three layers of evidence per architecture:

1. exact params and MACs from closed-form arithmetic written here (no torch involved), walking
   each network's configuration by hand;
2. torchvision's published ``num_params`` (exact) and ``_ops`` GMACs (within 0.5%) where
   torchvision has the model;
3. the paper's own figures (within 2%) where it does not.

Each architecture is profiled once per session (``profile_architecture`` caches).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from models import (
    ARCHITECTURES,
    UnknownArchitectureError,
    build_architecture,
    profile_architecture,
)

EXPECTED_NAMES = {
    "alexnet",
    "vgg16",
    "vgg19",
    "googlenet",
    "resnet18",
    "resnet34",
    "resnet50",
    "resnet50_v1",
    "resnext50_32x4d",
    "se_resnet50",
    "densenet121",
    "squeezenet1_0",
    "squeezenet1_1",
    "mobilenet_v1",
    "mobilenet_v2",
    "shufflenet_v1_g3",
    "shufflenet_v1_g8",
    "shufflenet_v2_x0_5",
    "shufflenet_v2_x1_0",
    "shufflenet_v2_x1_5",
    "shufflenet_v2_x2_0",
}


# --------------------------------------------------------------------------------------------
# Closed-form arithmetic. A Tally adds up learnable parameters (weights, biases, BN gamma/beta)
# and MACs (k*k*C_in/g MACs per output element of a conv, in*out per linear; biases, BN,
# pooling, activations and additions count 0 MACs: docs/conventions.md).
# --------------------------------------------------------------------------------------------


class Tally:
    def __init__(self) -> None:
        self.params = 0
        self.macs = 0

    def conv(self, cin, cout, k, side_out, groups=1, bias=False):
        weights = cout * (cin // groups) * k * k
        self.params += weights + (cout if bias else 0)
        self.macs += side_out * side_out * weights

    def bn(self, c):
        self.params += 2 * c

    def linear(self, fin, fout, bias=True):
        self.params += fin * fout + (fout if bias else 0)
        self.macs += fin * fout


def side(n, k, s=1, p=0, ceil=False):
    """Output side of a conv/pool: floor or ceil of (n + 2p - k)/s, plus one."""
    span = n + 2 * p - k
    return (-(-span // s) if ceil else span // s) + 1


def alexnet_cost(n=224):
    t = Tally()
    s1 = side(n, 11, 4, 2)
    t.conv(3, 64, 11, s1, bias=True)
    s2 = side(s1, 3, 2)
    t.conv(64, 192, 5, s2, bias=True)
    s3 = side(s2, 3, 2)
    t.conv(192, 384, 3, s3, bias=True)
    t.conv(384, 256, 3, s3, bias=True)
    t.conv(256, 256, 3, s3, bias=True)
    t.linear(256 * 6 * 6, 4096)
    t.linear(4096, 4096)
    t.linear(4096, 1000)
    return t


def vgg_cost(convs_per_stage):
    t = Tally()
    cin, n = 3, 224
    for width, count in zip((64, 128, 256, 512, 512), convs_per_stage, strict=True):
        for _ in range(count):
            t.conv(cin, width, 3, n, bias=True)
            cin = width
        n //= 2
    t.linear(512 * 7 * 7, 4096)
    t.linear(4096, 4096)
    t.linear(4096, 1000)
    return t


def resnet_cost(block, layers, groups=1, base_width=64, stride_in_1x1=False, se=None):
    t = Tally()
    t.conv(3, 64, 7, 112)
    t.bn(64)
    n, cin = 56, 64  # after the 3x3/2 max pool
    for i, (planes, count) in enumerate(zip((64, 128, 256, 512), layers, strict=True)):
        for j in range(count):
            stride = 2 if i > 0 and j == 0 else 1
            out_n = n // stride
            if block == "basic":
                cout = planes
                t.conv(cin, planes, 3, out_n)
                t.bn(planes)
                t.conv(planes, planes, 3, out_n)
                t.bn(planes)
            else:
                width = planes * base_width // 64 * groups
                cout = planes * 4
                t.conv(cin, width, 1, out_n if stride_in_1x1 else n)
                t.bn(width)
                t.conv(width, width, 3, out_n, groups=groups)
                t.bn(width)
                t.conv(width, cout, 1, out_n)
                t.bn(cout)
                if se:
                    t.linear(cout, cout // se)
                    t.linear(cout // se, cout)
            if stride != 1 or cin != cout:
                t.conv(cin, cout, 1, out_n)
                t.bn(cout)
            cin, n = cout, out_n
    t.linear(cin, 1000)
    return t


def densenet121_cost():
    t = Tally()
    t.conv(3, 64, 7, 112)
    t.bn(64)
    n, c, k = 56, 64, 32
    blocks = (6, 12, 24, 16)
    for b, count in enumerate(blocks):
        for layer in range(count):
            cin = c + layer * k
            t.bn(cin)
            t.conv(cin, 4 * k, 1, n)
            t.bn(4 * k)
            t.conv(4 * k, k, 3, n)
        c += count * k
        if b < len(blocks) - 1:
            t.bn(c)
            t.conv(c, c // 2, 1, n)
            c, n = c // 2, n // 2
    t.bn(c)
    t.linear(c, 1000)
    return t


def fire(t, cin, s, e1, e3, n):
    t.conv(cin, s, 1, n, bias=True)
    t.conv(s, e1, 1, n, bias=True)
    t.conv(s, e3, 3, n, bias=True)
    return e1 + e3


def squeezenet_cost(version):
    t = Tally()
    if version == "1_0":
        n = side(224, 7, 2)  # 109
        t.conv(3, 96, 7, n, bias=True)
        n = side(n, 3, 2, ceil=True)  # 54
        c = 96
        for s, e in ((16, 64), (16, 64), (32, 128)):
            c = fire(t, c, s, e, e, n)
        n = side(n, 3, 2, ceil=True)  # 27
        for s, e in ((32, 128), (48, 192), (48, 192), (64, 256)):
            c = fire(t, c, s, e, e, n)
        n = side(n, 3, 2, ceil=True)  # 13
        c = fire(t, c, 64, 256, 256, n)
    else:
        n = side(224, 3, 2)  # 111
        t.conv(3, 64, 3, n, bias=True)
        n = side(n, 3, 2, ceil=True)  # 55
        c = 64
        for s, e in ((16, 64), (16, 64)):
            c = fire(t, c, s, e, e, n)
        n = side(n, 3, 2, ceil=True)  # 27
        for s, e in ((32, 128), (32, 128)):
            c = fire(t, c, s, e, e, n)
        n = side(n, 3, 2, ceil=True)  # 13
        for s, e in ((48, 192), (48, 192), (64, 256), (64, 256)):
            c = fire(t, c, s, e, e, n)
    t.conv(512, 1000, 1, n, bias=True)  # conv10, no FC layer
    return t


def mobilenet_v1_cost():
    t = Tally()
    t.conv(3, 32, 3, 112)
    t.bn(32)
    n, cin = 112, 32
    body = [(64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2)]
    body += [(512, 1)] * 5 + [(1024, 2), (1024, 1)]
    for cout, stride in body:
        n //= stride
        t.conv(cin, cin, 3, n, groups=cin)  # depthwise: 9 weights per channel
        t.bn(cin)
        t.conv(cin, cout, 1, n)  # pointwise
        t.bn(cout)
        cin = cout
    t.linear(1024, 1000)
    return t


def mobilenet_v2_cost():
    t = Tally()
    t.conv(3, 32, 3, 112)
    t.bn(32)
    n, cin = 112, 32
    for tt, c, reps, s in (
        (1, 16, 1, 1),
        (6, 24, 2, 2),
        (6, 32, 3, 2),
        (6, 64, 4, 2),
        (6, 96, 3, 1),
        (6, 160, 3, 2),
        (6, 320, 1, 1),
    ):
        for r in range(reps):
            stride = s if r == 0 else 1
            hidden = cin * tt
            if tt != 1:
                t.conv(cin, hidden, 1, n)
                t.bn(hidden)
            n //= stride
            t.conv(hidden, hidden, 3, n, groups=hidden)
            t.bn(hidden)
            t.conv(hidden, c, 1, n)
            t.bn(c)
            cin = c
    t.conv(320, 1280, 1, 7)
    t.bn(1280)
    t.linear(1280, 1000)
    return t


def shufflenet_v1_cost(g):
    stages = {3: (240, 480, 960), 8: (384, 768, 1536)}[g]
    t = Tally()
    t.conv(3, 24, 3, 112)
    t.bn(24)
    n, cin = 56, 24
    for si, cout in enumerate(stages):
        for u in range(4 if si != 1 else 8):
            stride = 2 if u == 0 else 1
            mid = cout // 4
            branch = cout - cin if stride == 2 else cout
            g1 = 1 if (si == 0 and u == 0) else g
            t.conv(cin, mid, 1, n, groups=g1)
            t.bn(mid)
            n_out = n // stride
            t.conv(mid, mid, 3, n_out, groups=mid)
            t.bn(mid)
            t.conv(mid, branch, 1, n_out, groups=g)
            t.bn(branch)
            cin, n = cout, n_out
    t.linear(cin, 1000)
    return t


def shufflenet_v2_cost(widths):
    c2, c3, c4, c5 = widths
    t = Tally()
    t.conv(3, 24, 3, 112)
    t.bn(24)
    n, cin = 56, 24
    for cout in (c2, c3, c4):
        b = cout // 2
        for u in range(4 if cout != c3 else 8):
            if u == 0:  # stride 2: both branches see the full input
                n_out = n // 2
                t.conv(cin, cin, 3, n_out, groups=cin)
                t.bn(cin)
                t.conv(cin, b, 1, n_out)
                t.bn(b)
                t.conv(cin, b, 1, n)
            else:  # stride 1: the right branch sees half the channels
                n_out = n
                t.conv(b, b, 1, n)
            t.bn(b)
            t.conv(b, b, 3, n_out, groups=b)
            t.bn(b)
            t.conv(b, b, 1, n_out)
            t.bn(b)
            cin, n = cout, n_out
    t.conv(cin, c5, 1, 7)
    t.bn(c5)
    t.linear(c5, 1000)
    return t


GOOGLENET_TABLE1 = {  # in, #1x1, #3x3 reduce, #3x3, #5x5 reduce, #5x5, pool proj; side
    "3a": (192, 64, 96, 128, 16, 32, 32, 28),
    "3b": (256, 128, 128, 192, 32, 96, 64, 28),
    "4a": (480, 192, 96, 208, 16, 48, 64, 14),
    "4b": (512, 160, 112, 224, 24, 64, 64, 14),
    "4c": (512, 128, 128, 256, 24, 64, 64, 14),
    "4d": (512, 112, 144, 288, 32, 64, 64, 14),
    "4e": (528, 256, 160, 320, 32, 128, 128, 14),
    "5a": (832, 256, 160, 320, 32, 128, 128, 7),
    "5b": (832, 384, 192, 384, 48, 128, 128, 7),
}


def googlenet_cost():
    t = Tally()
    t.conv(3, 64, 7, 112, bias=True)
    t.conv(64, 64, 1, 56, bias=True)
    t.conv(64, 192, 3, 56, bias=True)
    for cin, c1, r3, c3, r5, c5, pp, n in GOOGLENET_TABLE1.values():
        t.conv(cin, c1, 1, n, bias=True)
        t.conv(cin, r3, 1, n, bias=True)
        t.conv(r3, c3, 3, n, bias=True)
        t.conv(cin, r5, 1, n, bias=True)
        t.conv(r5, c5, 5, n, bias=True)
        t.conv(cin, pp, 1, n, bias=True)
    t.linear(1024, 1000)
    return t


CLOSED_FORM = {
    "alexnet": lambda: alexnet_cost(227),
    "vgg16": lambda: vgg_cost((2, 2, 3, 3, 3)),
    "vgg19": lambda: vgg_cost((2, 2, 4, 4, 4)),
    "googlenet": googlenet_cost,
    "resnet18": lambda: resnet_cost("basic", (2, 2, 2, 2)),
    "resnet34": lambda: resnet_cost("basic", (3, 4, 6, 3)),
    "resnet50": lambda: resnet_cost("bottleneck", (3, 4, 6, 3)),
    "resnet50_v1": lambda: resnet_cost("bottleneck", (3, 4, 6, 3), stride_in_1x1=True),
    "resnext50_32x4d": lambda: resnet_cost("bottleneck", (3, 4, 6, 3), groups=32, base_width=4),
    "se_resnet50": lambda: resnet_cost("bottleneck", (3, 4, 6, 3), stride_in_1x1=True, se=16),
    "densenet121": densenet121_cost,
    "squeezenet1_0": lambda: squeezenet_cost("1_0"),
    "squeezenet1_1": lambda: squeezenet_cost("1_1"),
    "mobilenet_v1": mobilenet_v1_cost,
    "mobilenet_v2": mobilenet_v2_cost,
    "shufflenet_v1_g3": lambda: shufflenet_v1_cost(3),
    "shufflenet_v1_g8": lambda: shufflenet_v1_cost(8),
    "shufflenet_v2_x0_5": lambda: shufflenet_v2_cost((48, 96, 192, 1024)),
    "shufflenet_v2_x1_0": lambda: shufflenet_v2_cost((116, 232, 464, 1024)),
    "shufflenet_v2_x1_5": lambda: shufflenet_v2_cost((176, 352, 704, 1024)),
    "shufflenet_v2_x2_0": lambda: shufflenet_v2_cost((244, 488, 976, 2048)),
}

# torchvision's weight metadata, torchvision/models/<family>.py on main (2024), fields
# "num_params" and "_ops" (labelled GFLOPS in the docs, but they are GMACs: resnet50's 4.089
# is the well-known 4.09 G multiply-adds). All measured at 224x224.
TORCHVISION = {
    # name: (num_params, _ops GMACs)     # file, weights entry
    "alexnet": (61_100_840, 0.714),  # alexnet.py, AlexNet_Weights.IMAGENET1K_V1
    "vgg16": (138_357_544, 15.47),  # vgg.py, VGG16_Weights.IMAGENET1K_V1
    "vgg19": (143_667_240, 19.632),  # vgg.py, VGG19_Weights.IMAGENET1K_V1
    "resnet18": (11_689_512, 1.814),  # resnet.py, ResNet18_Weights.IMAGENET1K_V1
    "resnet34": (21_797_672, 3.664),  # resnet.py, ResNet34_Weights.IMAGENET1K_V1
    "resnet50": (25_557_032, 4.089),  # resnet.py, ResNet50_Weights.IMAGENET1K_V1/V2
    "resnext50_32x4d": (25_028_904, 4.23),  # resnet.py, ResNeXt50_32X4D_Weights.IMAGENET1K_V1
    "densenet121": (7_978_856, 2.834),  # densenet.py, DenseNet121_Weights.IMAGENET1K_V1
    "squeezenet1_0": (1_248_424, 0.819),  # squeezenet.py, SqueezeNet1_0_Weights.IMAGENET1K_V1
    "squeezenet1_1": (1_235_496, 0.349),  # squeezenet.py, SqueezeNet1_1_Weights.IMAGENET1K_V1
    "mobilenet_v2": (3_504_872, 0.301),  # mobilenetv2.py, MobileNet_V2_Weights.IMAGENET1K_V1
    "shufflenet_v2_x0_5": (1_366_792, 0.04),  # shufflenetv2.py, ShuffleNet_V2_X0_5_Weights
    "shufflenet_v2_x1_0": (2_278_604, 0.145),  # shufflenetv2.py, ShuffleNet_V2_X1_0_Weights
    "shufflenet_v2_x1_5": (3_503_624, 0.296),  # shufflenetv2.py, ShuffleNet_V2_X1_5_Weights
    "shufflenet_v2_x2_0": (7_393_996, 0.583),  # shufflenetv2.py, ShuffleNet_V2_X2_0_Weights
}


def at_224(name):
    return profile_architecture(name, (3, 224, 224))


def test_registry_has_exactly_the_required_names():
    assert set(ARCHITECTURES) == EXPECTED_NAMES


@pytest.mark.parametrize("name", sorted(EXPECTED_NAMES))
def test_spec_is_complete(name):
    spec = ARCHITECTURES[name]
    assert spec.name == name
    assert spec.title and spec.variant and len(spec.variant) > 20
    assert spec.paper.authors and spec.paper.title and 2012 <= spec.paper.year <= 2018
    assert len(spec.input_size) == 3 and spec.input_size[0] == 3
    d = spec.to_dict()
    assert d["name"] == name and "builder" not in d


@pytest.mark.parametrize("name", sorted(EXPECTED_NAMES))
def test_params_and_macs_match_closed_form_exactly(name):
    prof = profile_architecture(name)
    expected = CLOSED_FORM[name]()
    assert prof.params == expected.params
    assert prof.macs == expected.macs
    assert prof.flops == 2 * prof.macs
    assert prof.output_shape == (1, 1000)
    # Everything is done inside leaf modules: shuffles, concatenations, residual additions and
    # SE scaling are functional but cost no MACs.
    assert prof.unattributed_macs == 0
    assert sum(r.macs for r in prof.rows) == prof.macs
    assert sum(r.params for r in prof.rows) == prof.params


@pytest.mark.parametrize("name", sorted(TORCHVISION))
def test_matches_torchvision_metadata(name):
    num_params, gmacs = TORCHVISION[name]
    prof = at_224(name)
    assert prof.params == num_params
    ours = prof.macs / 1e9
    if name == "shufflenet_v2_x0_5":
        # "0.04" has one significant digit: it stands for anything in [0.0395, 0.0405).
        # Our 0.04048 is inside that rounding interval; the exact check is the closed form.
        assert 0.0395 <= ours < 0.0405
    else:
        assert ours == pytest.approx(gmacs, rel=0.005)


def test_alexnet_at_224_closed_form():
    # torchvision's 0.714 is at 224, where conv1 gives 55x55 (the lecture's 227 gives 56x56).
    assert at_224("alexnet").macs == alexnet_cost(224).macs


def test_mobilenet_v1_matches_paper():
    # MobileNets paper (Howard et al. 2017), Table 8: 1.0 MobileNet-224, 569 million
    # mult-adds, 4.2 million parameters.
    prof = profile_architecture("mobilenet_v1")
    assert prof.macs == pytest.approx(569e6, rel=0.02)
    assert prof.params == pytest.approx(4.2e6, rel=0.02)


@pytest.mark.parametrize("name", ["shufflenet_v1_g3", "shufflenet_v1_g8"])
def test_shufflenet_v1_matches_paper(name):
    # ShuffleNet paper (Zhang et al. 2018, arXiv 1707.01083), Table 2: "ShuffleNet 1x" is the
    # 140 MFLOPs model for every number of groups (the paper's FLOPs are multiply-adds).
    prof = profile_architecture(name)
    assert prof.macs == pytest.approx(140e6, rel=0.02)


def test_shufflenet_v1_g3_params_match_mmclassification():
    # MMClassification model zoo (docs, papers/shufflenet_v1): ShuffleNetV1 1.0x (group=3),
    # 1.87M params. (The paper gives no parameter counts.)
    assert profile_architecture("shufflenet_v1_g3").params == pytest.approx(1.87e6, rel=0.005)


def test_se_resnet50_matches_paper():
    # SENet paper (Hu et al., arXiv 1709.01507), Table 2: SE-ResNet-50 at 3.87 GFLOPs (vs
    # ResNet-50 at 3.86, the v1 layout); Table 7 (reduction ratio r = 16): 28.1M params.
    prof = profile_architecture("se_resnet50")
    assert prof.macs == pytest.approx(3.87e9, rel=0.02)
    assert prof.params == pytest.approx(28.1e6, rel=0.02)
    # SE adds sum over blocks of 2*C*C/16 weights plus C/16 + C biases, exactly.
    added = sum(
        n * (2 * c * (c // 16) + c // 16 + c) for c, n in ((256, 3), (512, 4), (1024, 6), (2048, 3))
    )
    assert prof.params - profile_architecture("resnet50_v1").params == added == 2_530_992


def test_resnet50_v1_matches_paper():
    # ResNet paper (He et al. 2016), Table 1: 50-layer, 3.8 x 10^9 FLOPs (multiply-adds);
    # SENet's Table 2 reports the same network at 3.86 GFLOPs.
    prof = profile_architecture("resnet50_v1")
    assert prof.macs == pytest.approx(3.86e9, rel=0.02)
    assert prof.params == profile_architecture("resnet50").params  # the stride moves, no weight
    assert prof.macs < profile_architecture("resnet50").macs


def test_googlenet_matches_paper_table1():
    # GoogLeNet paper (Szegedy et al. 2015), Table 1. Its "params" column is in units of 1024
    # (conv2: 64*64 + 64*192*9 = 114,688 = 112K * 1024; linear: 1024*1000 = 1000K * 1024) and
    # sums to 6797.7K = 6.96M parameters; the often-quoted "6.8M" is that sum read as decimal.
    table_params_k = [2.7, 112, 159, 380, 364, 437, 463, 580, 840, 1072, 1388, 1000]
    prof = profile_architecture("googlenet")
    model = build_architecture("googlenet")
    biases = sum(m.bias.numel() for m in model.modules() if getattr(m, "bias", None) is not None)
    assert prof.params - biases == pytest.approx(sum(table_params_k) * 1024, rel=0.02)
    assert prof.params == pytest.approx(sum(table_params_k) * 1024, rel=0.02)
    # Its "ops" column (decimal M) sums to 1502M, the paper's "1.5 billion multiply-adds". The
    # conv1 row says 34M, but 7x7x3 filters x 64 x 112x112 outputs is 118.0M; every other row
    # agrees with our layers, so compare everything after conv1 and check conv1 by hand.
    table_ops_m = [34, 360, 128, 304, 73, 88, 100, 119, 170, 54, 71, 1]
    conv1 = prof.row("conv1").macs
    assert conv1 == 112 * 112 * 64 * 7 * 7 * 3 == 118_013_952
    assert prof.macs - conv1 == pytest.approx(sum(table_ops_m[1:]) * 1e6, rel=0.02)


def test_googlenet_uses_5x5_branch_and_no_aux_heads():
    model = build_architecture("googlenet")
    assert model.inception3a.branch3.conv.conv.kernel_size == (5, 5)
    assert not any("aux" in name for name, _ in model.named_modules())


def test_resnet_stride_placement():
    v15 = build_architecture("resnet50")
    v1 = build_architecture("resnet50_v1")
    assert v15.layer2[0].conv2.stride == (2, 2) and v15.layer2[0].conv1.stride == (1, 1)
    assert v1.layer2[0].conv1.stride == (2, 2) and v1.layer2[0].conv2.stride == (1, 1)


def test_shufflenet_v1_first_pointwise_is_not_grouped():
    model = build_architecture("shufflenet_v1_g3")
    assert model.stage2[0].gconv1.conv.groups == 1
    assert model.stage2[1].gconv1.conv.groups == 3
    assert model.stage3[0].gconv1.conv.groups == 3


def test_default_input_sizes():
    assert ARCHITECTURES["alexnet"].input_size == (3, 227, 227)
    assert all(s.input_size == (3, 224, 224) for n, s in ARCHITECTURES.items() if n != "alexnet")


def test_unknown_architecture():
    with pytest.raises(UnknownArchitectureError) as exc:
        build_architecture("lenet")
    assert isinstance(exc.value, LookupError)
    assert "resnet50" in str(exc.value)
    with pytest.raises(UnknownArchitectureError):
        profile_architecture("lenet")


def test_build_on_cpu_has_real_weights():
    model = build_architecture("squeezenet1_1", device="cpu")
    assert all(p.device.type == "cpu" for p in model.parameters())


def test_models_package_respects_the_layer_rule():
    # models never imports the API, FastAPI, content or grader, and never reads settings/env.
    forbidden = {"api", "fastapi", "starlette", "content", "grader", "pydantic_settings"}
    root = Path(__file__).resolve().parents[1] / "models"
    for path in root.glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                tops = {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom):
                tops = {(node.module or "").split(".")[0]}
            else:
                tops = set()
            assert not tops & forbidden, f"{path.name} imports {tops & forbidden}"
            if isinstance(node, ast.Attribute):
                assert node.attr not in {"environ", "getenv"}, f"{path.name} reads the env"
