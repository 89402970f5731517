"""The profiler: the AlexNet lecture table, conventions, attribution, meta device, cache, speed."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from models import (
    ALEXNET_TABLE_LAYERS,
    ProfileError,
    alexnet_table,
    architecture_names,
    build_architecture,
    clear_profile_cache,
    profile,
    profile_architecture,
    profile_module,
    warm_up,
)
from models.profiler import profile_architecture_uncached
from models.replay import fast_trace

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module", autouse=True)
def _warm() -> None:
    warm_up()


# ------------------------------------------------------------------------------------------
# The classic AlexNet table (input 3x227x227, float32, batch 1).
# Output side: floor((n + 2p - k) / s) + 1. Conv params: k*k*C_in*C_out + C_out.
# Conv MACs: H_out*W_out*C_out*k*k*C_in. FC params: in*out + out, MACs: in*out.
# Memory: output elements * 4 bytes, in KiB (1024 bytes).
# ------------------------------------------------------------------------------------------
ALEXNET_ROWS = {
    # name: (output shape, output KiB, params, MACs)
    # conv1: 11x11/4 pad 2 on 227: (227 + 4 - 11)//4 + 1 = 56
    "conv1": (
        (64, 56, 56),
        64 * 56 * 56 * 4 / 1024,
        11 * 11 * 3 * 64 + 64,
        56 * 56 * 64 * 11 * 11 * 3,
    ),
    # pool1: 3x3/2 on 56: (56 - 3)//2 + 1 = 27
    "pool1": ((64, 27, 27), 64 * 27 * 27 * 4 / 1024, 0, 0),
    # conv2: 5x5/1 pad 2 keeps 27
    "conv2": (
        (192, 27, 27),
        192 * 27 * 27 * 4 / 1024,
        5 * 5 * 64 * 192 + 192,
        27 * 27 * 192 * 5 * 5 * 64,
    ),
    # pool2: (27 - 3)//2 + 1 = 13
    "pool2": ((192, 13, 13), 192 * 13 * 13 * 4 / 1024, 0, 0),
    # conv3-5: 3x3/1 pad 1 keep 13
    "conv3": (
        (384, 13, 13),
        384 * 13 * 13 * 4 / 1024,
        3 * 3 * 192 * 384 + 384,
        13 * 13 * 384 * 3 * 3 * 192,
    ),
    "conv4": (
        (256, 13, 13),
        256 * 13 * 13 * 4 / 1024,
        3 * 3 * 384 * 256 + 256,
        13 * 13 * 256 * 3 * 3 * 384,
    ),
    "conv5": (
        (256, 13, 13),
        256 * 13 * 13 * 4 / 1024,
        3 * 3 * 256 * 256 + 256,
        13 * 13 * 256 * 3 * 3 * 256,
    ),
    # pool5: (13 - 3)//2 + 1 = 6
    "pool5": ((256, 6, 6), 256 * 6 * 6 * 4 / 1024, 0, 0),
    "fc6": ((4096,), 4096 * 4 / 1024, 256 * 6 * 6 * 4096 + 4096, 256 * 6 * 6 * 4096),
    "fc7": ((4096,), 4096 * 4 / 1024, 4096 * 4096 + 4096, 4096 * 4096),
    "fc8": ((1000,), 1000 * 4 / 1024, 4096 * 1000 + 1000, 4096 * 1000),
}


def test_alexnet_lecture_table_row_by_row():
    rows = alexnet_table()
    assert [r.name for r in rows] == list(ALEXNET_TABLE_LAYERS) == list(ALEXNET_ROWS)
    for row in rows:
        shape, kib, params, macs = ALEXNET_ROWS[row.name]
        assert row.output_shape == (1, *shape), row.name
        assert row.activation_bytes / 1024 == kib, row.name
        assert row.params == params, row.name
        assert row.macs == macs, row.name
        assert row.weight_bytes == 4 * params
    conv1 = rows[0]
    # The lecture's headline numbers, literally.
    assert conv1.activation_bytes == 784 * 1024
    assert conv1.params == 23_296
    assert conv1.macs == 72_855_552


def test_alexnet_table_in_half_precision():
    rows = {r.name: r for r in alexnet_table(dtype="float16")}
    assert rows["conv1"].activation_bytes == 392 * 1024
    assert rows["fc8"].weight_bytes == 2 * (4096 * 1000 + 1000)


# ------------------------------------------------------------------------------------------
# Conventions (docs/conventions.md).
# ------------------------------------------------------------------------------------------


def meta(factory, *args, **kwargs):
    with torch.device("meta"):
        return factory(*args, **kwargs)


def test_linear_bias_is_not_a_mac_but_is_a_param():
    p = profile(meta(nn.Linear, 10, 5), (10,))
    assert p.macs == 50 and p.flops == 100 and p.params == 55


def test_pooling_activation_bn_and_additions_cost_zero():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.bn = nn.BatchNorm2d(8)
            self.relu = nn.ReLU()
            self.pool = nn.MaxPool2d(2)
            self.avg = nn.AvgPool2d(2)
            self.gap = nn.AdaptiveAvgPool2d(3)
            self.gap1 = nn.AdaptiveAvgPool2d(1)

        def forward(self, x):
            y = self.relu(self.bn(x)) + x  # residual addition: 0
            y = y * torch.sigmoid(y)  # elementwise: 0
            return self.gap1(self.gap(self.avg(self.pool(y))))

    p = profile(meta(Net), (8, 16, 16))
    assert p.macs == 0 and p.flops == 0
    # BN has 2 learnable params per channel; running mean/var are buffers, not parameters.
    assert p.params == 16


def test_dtype_sets_bytes_only():
    model = meta(nn.Conv2d, 3, 8, 3)
    f32 = profile(model, (3, 10, 10))
    f16 = profile(model, (3, 10, 10), dtype=torch.float16)
    bf16 = profile(model, (3, 10, 10), dtype="bfloat16")
    i8 = profile(model, (3, 10, 10), dtype="int8")
    assert f32.macs == f16.macs == i8.macs
    assert f32.activation_bytes == 8 * 8 * 8 * 4
    assert f16.activation_bytes == bf16.activation_bytes == f32.activation_bytes // 2
    assert i8.activation_bytes == f32.activation_bytes // 4
    assert i8.weight_bytes == 8 * 3 * 9 + 8
    with pytest.raises(ValueError):
        profile(model, (3, 10, 10), dtype=torch.float64)


def test_batch_scales_macs_and_activations_not_params():
    one = profile_architecture("squeezenet1_1")
    eight = profile_architecture("squeezenet1_1", batch=8)
    assert eight.macs == 8 * one.macs
    assert eight.activation_bytes == 8 * one.activation_bytes
    assert eight.params == one.params
    assert eight.input_shape == (8, 3, 224, 224)
    assert eight.rows[0].output_shape[0] == 8


def test_totals_are_consistent():
    p = profile_architecture("resnet50")
    assert p.activation_bytes == sum(r.activation_bytes for r in p.rows)
    assert p.peak_activation_bytes == max(r.activation_bytes for r in p.rows)
    # ResNet-50's largest map: 64 x 112 x 112 after conv1, in float32.
    assert p.peak_activation_bytes == 64 * 112 * 112 * 4
    assert p.weight_bytes == 4 * p.params


def test_peak_counts_concatenations_inside_containers():
    # Fire's output is a torch.cat, produced by no leaf: the peak must still see it.
    p = profile_architecture("squeezenet1_0")
    full = profile_architecture("squeezenet1_0", leaf_only=False)
    assert p.peak_activation_bytes == full.peak_activation_bytes
    assert full.row("fire9").activation_bytes == 512 * 13 * 13 * 4


# ------------------------------------------------------------------------------------------
# Attribution: our per-call counter deltas agree with FlopCounterMode's own module tracking,
# and with a fresh FlopCounterMode opened around each leaf.
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["resnet18", "shufflenet_v2_x0_5", "squeezenet1_1"])
def test_attribution_agrees_with_flop_counter_module_tracking(name):
    model = build_architecture(name).eval()
    x = torch.empty(1, 3, 224, 224, device="meta")
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model(x)
    tracked = counter.get_flop_counts()
    root = type(model).__name__
    per_module: dict[str, int] = {}
    for key, ops in tracked.items():
        if key == "Global":
            continue
        name_ = "" if key == root else key.removeprefix(root + ".")
        per_module[name_] = sum(ops.values())
    prof = profile_architecture(name, leaf_only=False)
    ours: dict[str, int] = {}
    for row in prof.rows:
        ours[row.name] = ours.get(row.name, 0) + row.flops
    # The tracker only lists modules that did some counted op.
    assert per_module == {k: v for k, v in ours.items() if v}
    assert sum(tracked["Global"].values()) == prof.flops


def test_attribution_agrees_with_a_counter_per_leaf():
    model = build_architecture("mobilenet_v2").eval()
    counts: dict[str, int] = {}
    opened: list[FlopCounterMode] = []

    def pre(m, args):
        opened.append(FlopCounterMode(display=False))
        opened[-1].__enter__()

    def post(m, args, out):
        c = opened.pop()
        c.__exit__(None, None, None)
        counts[names[m]] = counts.get(names[m], 0) + c.get_total_flops()

    names = {}
    handles = []
    for n, m in model.named_modules():
        if next(m.children(), None) is None:
            names[m] = n
            handles += [m.register_forward_pre_hook(pre), m.register_forward_hook(post)]
    with torch.no_grad():
        model(torch.empty(1, 3, 224, 224, device="meta"))
    for h in handles:
        h.remove()
    prof = profile_architecture("mobilenet_v2")
    assert counts == {r.name: r.flops for r in prof.rows}


def test_functional_macs_outside_leaves_are_reported_unattributed():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(8, 4)
            self.w = nn.Parameter(torch.empty(4, 3))

        def forward(self, x):
            return self.fc(x) @ self.w  # a matmul done by the container itself

    p = profile(meta(Net), (8,))
    assert p.macs == 8 * 4 + 4 * 3
    assert p.unattributed_macs == 4 * 3
    assert p.row("fc").macs == 32
    assert p.params == 8 * 4 + 4 + 12


def test_functional_ops_do_not_break_profiling():
    # ShuffleNet's view/transpose/flatten, channel split, cat; SE's multiply; residual add.
    for name in ("shufflenet_v1_g8", "shufflenet_v2_x1_0", "se_resnet50", "densenet121"):
        p = profile_architecture(name)
        assert p.output_shape == (1, 1000)
    shuffle = profile_architecture("shufflenet_v2_x1_0").row("stage2.0.shuffle")
    assert shuffle.type == "ChannelShuffle"
    assert shuffle.input_shape == shuffle.output_shape == (1, 116, 28, 28)


# ------------------------------------------------------------------------------------------
# Rows.
# ------------------------------------------------------------------------------------------


def test_leaf_rows_and_container_rows():
    leaves = profile_architecture("resnet18")
    full = profile_architecture("resnet18", leaf_only=False)
    assert all(r.leaf for r in leaves.rows)
    assert full.rows[0].name == "" and full.rows[0].type == "ResNet" and full.rows[0].depth == 0
    assert full.rows[0].macs == full.macs and full.rows[0].params == full.params
    block = full.row("layer2.0")
    children = [r for r in full.rows if r.name.startswith("layer2.0.") and r.leaf]
    assert block.macs == sum(r.macs for r in children)
    assert block.params == sum(r.params for r in children)
    names = [r.name for r in full.rows]
    assert names.index("layer2") < names.index("layer2.0") < names.index("layer2.0.conv1")
    assert [r.name for r in full.rows if r.leaf] == [r.name for r in leaves.rows]
    assert full.row("layer1.0.conv1").depth == 3


def test_reused_module_has_one_row_per_call_and_params_once():
    relu = nn.ReLU()
    lin = nn.Linear(4, 4)
    model = nn.Sequential(lin, relu, lin, relu).to("meta")
    p = profile(model, (4,))
    assert [(r.name, r.call) for r in p.rows] == [("0", 0), ("1", 0), ("0", 1), ("1", 1)]
    assert [r.params for r in p.rows] == [20, 0, 0, 0]
    assert p.params == 20 and p.macs == 2 * 16


def test_to_dict_is_json_ready_and_dataclasses_are_frozen():
    p = profile_architecture("squeezenet1_1")
    d = json.loads(json.dumps(p.to_dict()))
    assert d["params"] == p.params and d["rows"][0]["output_shape"] == list(p.rows[0].output_shape)
    assert set(d["rows"][0]) >= {
        "name",
        "type",
        "input_shape",
        "output_shape",
        "params",
        "macs",
        "flops",
        "activation_bytes",
        "weight_bytes",
    }
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.macs = 0  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.rows[0].macs = 0  # type: ignore[misc]


def test_forward_failure_is_a_profile_error():
    model = meta(nn.Sequential, nn.Linear(10, 5), nn.Linear(6, 2))
    with pytest.raises(ProfileError, match="meta device"):
        profile(model, (10,))


@pytest.mark.parametrize("bad", [(), (3, 0, 4), (3, -1, 4), (3.0, 4, 4), (True, 4, 4)])
def test_bad_input_shapes(bad):
    with pytest.raises(ValueError):
        profile(meta(nn.ReLU), bad)


def test_bad_batch():
    with pytest.raises(ValueError):
        profile(meta(nn.ReLU), (3,), batch=0)
    with pytest.raises(ValueError):
        profile(meta(nn.ReLU), (3,), batch=True)


# ------------------------------------------------------------------------------------------
# The meta device, really.
# ------------------------------------------------------------------------------------------


def test_registry_builds_on_meta():
    model = build_architecture("vgg16")
    assert all(p.is_meta for p in model.parameters())
    assert all(b.is_meta for b in model.buffers())


def test_cpu_module_is_profiled_through_a_meta_copy_and_left_untouched():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.Dropout())
    model.train()
    before = [p.detach().clone() for p in model.parameters()]
    p = profile_module(model, (3, 8, 8))
    assert p.macs == 6 * 6 * 4 * 27
    assert all(q.device.type == "cpu" for q in model.parameters())
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters(), strict=True))
    assert model.training and model[1].training
    assert int(model[1].num_batches_tracked) == 0


def test_meta_module_training_flags_are_restored():
    model = meta(nn.Sequential, nn.BatchNorm2d(4), nn.Dropout())
    model.train()
    model[1].eval()
    profile(model, (4, 2, 2))
    assert model.training and model[0].training and not model[1].training


def _vm_hwm() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmHWM")


@pytest.mark.serial  # a wall-clock bound: run alone (conftest)
def test_profiling_vgg16_does_not_allocate_its_weights():
    # vgg16 has 528 MB of float32 weights; building it on CPU raises the peak RSS by ~527 MiB.
    # Reset the peak (VmHWM) of this process, build + profile vgg16, read the peak again.
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return _vgg16_peak_in_subprocess()
    before = _vm_hwm()
    prof = profile(build_architecture("vgg16"), (3, 224, 224))
    growth = _vm_hwm() - before
    assert prof.params == 138_357_544
    assert growth < 50 * 2**20, growth


def _vgg16_peak_in_subprocess() -> None:
    # Where the peak cannot be reset, a fresh process (imports and warm-up done first) does it.
    script = textwrap.dedent(
        """
        import json
        from pathlib import Path
        import models

        def hwm():
            for line in Path("/proc/self/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024

        models.warm_up()
        before = hwm()
        prof = models.profile_architecture("vgg16")
        print(json.dumps({"growth": hwm() - before, "params": prof.params}))
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True
    )
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["params"] == 138_357_544
    assert result["growth"] < 50 * 2**20, result


# ------------------------------------------------------------------------------------------
# Cache, warm-up, threads, speed.
# ------------------------------------------------------------------------------------------


def test_cache_returns_the_same_profile():
    a = profile_architecture("resnet18")
    assert profile_architecture("resnet18", (3, 224, 224)) is a
    assert profile_architecture("resnet18", dtype="float32") is a
    assert profile_architecture("resnet18", dtype=torch.float16) is not a
    assert profile_architecture("resnet18", (3, 160, 160)) is not a


def test_clear_cache():
    a = profile_architecture("squeezenet1_1")
    clear_profile_cache()
    b = profile_architecture("squeezenet1_1")
    assert a is not b and a == b


def test_warm_up_is_idempotent():
    first = warm_up()
    assert isinstance(first, float) and first >= 0
    assert warm_up() == first


def test_other_input_sizes():
    p = profile_architecture("resnet50", (3, 160, 160))
    assert p.row("conv1").output_shape == (1, 64, 80, 80)
    assert p.output_shape == (1, 1000)


def test_concurrent_profiles_agree():
    results: list[tuple[int, int]] = []

    def work() -> None:
        p = profile(build_architecture("shufflenet_v2_x0_5"), (3, 224, 224))
        results.append((p.macs, p.params))

    threads = [threading.Thread(target=work) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    expected = profile_architecture("shufflenet_v2_x0_5")
    assert results == [(expected.macs, expected.params)] * 3


def test_one_module_profiled_from_several_threads():
    # Hooks sit on the shared module; each profile must keep only its own thread's calls.
    model = build_architecture("squeezenet1_1")
    expected = profile(model, (3, 224, 224))
    results = []
    barrier = threading.Barrier(3)

    def work() -> None:
        barrier.wait()
        results.append(profile(model, (3, 224, 224)))

    threads = [threading.Thread(target=work) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [expected] * 3


@pytest.mark.serial  # a wall-clock bound: run alone (conftest)
def test_profiling_is_fast():
    # Loose bounds for CI; bench/profile_bench.py compares against torchinfo properly.
    start = time.perf_counter()
    profile(build_architecture("vgg16"), (3, 224, 224))
    vgg = time.perf_counter() - start
    start = time.perf_counter()
    profile(build_architecture("resnet50"), (3, 224, 224))
    resnet = time.perf_counter() - start
    assert vgg < 0.5 and resnet < 2.0, (vgg, resnet)


# ------------------------------------------------------------------------------------------
# Activation memory: the column's sum, the largest tensor, and the peak alive at once.
# ------------------------------------------------------------------------------------------


def _conv_relu_conv(inplace: bool) -> nn.Module:
    return meta(
        nn.Sequential, nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(inplace=inplace), nn.Conv2d(8, 4, 1)
    )


def test_live_peak_does_not_count_in_place_outputs_twice():
    # Input 3·8·8 = 192 elements, conv1 out a = 8·8·8 = 512, conv2 out b = 4·8·8 = 256.
    p = profile(_conv_relu_conv(inplace=True), (3, 8, 8))
    # conv1: x + a = 704; relu_ writes into a: 512; conv2: a + b = 768.
    assert p.peak_live_activation_bytes == 4 * 768
    assert p.activation_bytes == 4 * (512 + 512 + 256)  # the ReLU's output counted again
    assert p.peak_activation_bytes == 4 * 512
    assert [r.aliases_input for r in p.rows] == [False, True, False]
    # Out of place, a and relu(a) are alive together: 1024.
    q = profile(_conv_relu_conv(inplace=False), (3, 8, 8))
    assert q.peak_live_activation_bytes == 4 * 1024
    assert q.activation_bytes == p.activation_bytes
    assert [r.aliases_input for r in q.rows] == [False, False, False]


def test_live_peak_keeps_a_residual_input_alive():
    class Residual(nn.Module):
        def __init__(self, skip: bool) -> None:
            super().__init__()
            self.conv1 = nn.Conv2d(8, 8, 3, padding=1)
            self.relu = nn.ReLU()
            self.conv2 = nn.Conv2d(8, 8, 3, padding=1)
            self.skip = skip

        def forward(self, x):
            y = self.conv2(self.relu(self.conv1(x)))
            return y + x if self.skip else y

    # Every map is 8·4·4 = 128 elements. With the skip, x lives to the addition: 3 maps at once.
    assert profile(meta(Residual, True), (8, 4, 4)).peak_live_activation_bytes == 4 * 384
    assert profile(meta(Residual, False), (8, 4, 4)).peak_live_activation_bytes == 4 * 256
    # dtype sets the bytes, batch the elements.
    assert profile(meta(Residual, True), (8, 4, 4), 2, "float16").peak_live_activation_bytes == (
        2 * 2 * 384
    )


def test_live_peak_of_real_networks():
    alex = profile_architecture("alexnet")
    # conv1 reads the 3×227×227 input while writing its 64×56×56 output.
    assert alex.peak_live_activation_bytes == 4 * (3 * 227 * 227 + 64 * 56 * 56)
    vgg = profile_architecture("vgg16")
    # conv1_2 reads and writes 64×224×224 maps; relu1_1 is in place.
    assert vgg.peak_live_activation_bytes == 4 * 2 * 64 * 224 * 224
    for name in ("resnet50", "mobilenet_v2", "densenet121", "squeezenet1_0"):
        p = profile_architecture(name)
        assert p.peak_activation_bytes <= p.peak_live_activation_bytes < p.activation_bytes


# ------------------------------------------------------------------------------------------
# What rows carry besides the counts: geometry, percentages, stages.
# ------------------------------------------------------------------------------------------


def test_rows_carry_their_geometry():
    model = meta(
        nn.Sequential,
        nn.Conv2d(8, 16, (3, 5), stride=2, padding=(1, 2), dilation=1, groups=4),
        nn.MaxPool2d(3, 2, 1),
        nn.AvgPool2d(2),
        nn.Flatten(),
        nn.Linear(16 * 2 * 2, 10),
    )
    rows = profile(model, (8, 16, 16)).rows
    conv, maxpool, avgpool, flatten, linear = rows
    assert (conv.kernel, conv.stride, conv.padding, conv.dilation, conv.groups) == (
        (3, 5), (2, 2), (1, 2), (1, 1), 4
    )  # fmt: skip
    assert (maxpool.kernel, maxpool.stride, maxpool.padding, maxpool.dilation) == (
        (3, 3), (2, 2), (1, 1), (1, 1)
    )  # fmt: skip
    assert maxpool.groups is None
    assert (avgpool.kernel, avgpool.stride, avgpool.dilation) == ((2, 2), (2, 2), None)
    assert flatten.kernel is None and flatten.aliases_input
    assert linear.kernel is linear.groups is None
    assert conv.to_dict()["kernel"] == [3, 5]


def test_row_percentages():
    p = profile_architecture("vgg16")
    fc6 = p.row("fc6")
    assert fc6.percent_params == round(100 * (25088 * 4096 + 4096) / 138_357_544, 2) == 74.27
    assert fc6.percent_macs == round(100 * 25088 * 4096 / p.macs, 2)
    assert p.row("relu1_1").percent_macs == p.row("relu1_1").percent_params == 0.0
    full = profile_architecture("resnet18", leaf_only=False)
    assert full.rows[0].percent_macs == full.rows[0].percent_params == 100.0
    assert profile(meta(nn.ReLU), (4,)).rows[0].percent_macs == 0.0  # 0 of 0 MACs


def test_rows_carry_their_stage():
    p = profile_architecture("resnet18")
    assert p.row("conv1").stage == "stem" and p.row("layer3.1.bn2").stage == "layer3"
    assert p.row("fc").stage == "head"
    # Without a stage map, the top-level layer; a numbered one also names its class.
    seq = meta(nn.Sequential, nn.Conv2d(3, 4, 1), nn.Sequential(nn.ReLU(), nn.Flatten()))
    assert [r.stage for r in profile(seq, (3, 2, 2)).rows] == [
        "0 (Conv2d)", "1 (Sequential)", "1 (Sequential)"
    ]  # fmt: skip
    assert profile(meta(nn.Linear, 4, 2), (4,)).rows[0].stage == "Linear"
    custom = profile(seq, (3, 2, 2), stage_of=lambda n: "all" if n.startswith("1") else None)
    assert [r.stage for r in custom.rows] == ["0 (Conv2d)", "all", "all"]


# ------------------------------------------------------------------------------------------
# The fast pass (models/replay.py) replays repeated (configuration, input) calls; every figure
# must equal the plain pass, which runs every call under torch's FlopCounterMode.
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", architecture_names())
def test_fast_pass_equals_the_plain_pass(name):
    fast = profile_architecture_uncached(name, leaf_only=False)
    plain = profile_architecture_uncached(name, leaf_only=False, reuse_repeats=False)
    assert fast.to_dict() == plain.to_dict()
    assert fast == plain


def test_fast_pass_replays_repeats_and_runs_the_rest():
    model = build_architecture("resnet50").eval()
    trace = fast_trace(model, torch.empty(1, 3, 224, 224, device="meta"))
    # layer1.2 repeats layer1.1 (same configuration, same input): replayed, not run.
    names = [c.name for c in trace.calls]
    assert names.count("layer1.2.conv2") == 1 and names.count("layer1.1.conv2") == 1
    assert trace.replayed_calls >= 60  # 8 of 16 bottlenecks, and repeated layers elsewhere
    assert len(trace.calls) == 1 + len(list(model.modules())) - 1  # every module called once


class _Scaled(nn.Module):
    """Its forward depends on a plain attribute: equal children, different results."""

    def __init__(self, repeat: int) -> None:
        super().__init__()
        self.repeat = repeat
        self.conv = nn.Conv2d(4, 4, 3, padding=1)

    def forward(self, x):
        for _ in range(self.repeat):
            x = self.conv(x)  # one module called several times: one row per call
        return x


class _ReadsOutside(nn.Module):
    """Reads a tensor that is not its argument: must never be replayed from another call."""

    def __init__(self, store: dict) -> None:
        super().__init__()
        self.store = store  # the same dict in both copies: their configurations are equal

    def forward(self, x):
        return x + self.store["t"]


class _Odd(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.store: dict = {}
        self.a = _Scaled(1)
        self.b = _Scaled(2)
        self.c = _Scaled(1)
        self.shared = nn.Conv2d(4, 4, 1)
        self.r1 = _ReadsOutside(self.store)
        self.r2 = _ReadsOutside(self.store)
        self.hooked = nn.ReLU()
        self.hooked2 = nn.ReLU()
        self.hooked.register_forward_hook(lambda m, a, out: None)
        self.tail = nn.ModuleList([nn.Conv2d(4, 4, 1) for _ in range(3)])

    def forward(self, x):
        x = self.c(self.b(self.a(x)))
        y = self.shared(x)
        self.store["t"] = y
        x = self.r1(x)
        self.store["t"] = self.shared(y)  # the same module again, a second call
        x = self.r2(x) + self.hooked(x) + self.hooked2(x)
        for conv in self.tail:
            x = conv(x)
        return x, x[:, :2]


def test_fast_pass_on_attributes_shared_modules_outside_reads_and_hooks():
    model = meta(_Odd)
    fast = profile(model, (4, 6, 6), leaf_only=False)
    plain = profile(model, (4, 6, 6), leaf_only=False, reuse_repeats=False)
    assert fast == plain
    assert [r.call for r in fast.rows if r.name == "shared"] == [0, 1]
    assert fast.row("b").macs == 2 * fast.row("a").macs
    model.eval()
    trace = fast_trace(model, torch.empty(1, 4, 6, 6, device="meta"))
    # Replayed: both calls of b.conv and c (with its conv) from a, the second call of shared,
    # and tail.0-2 (the same 1x1 convolution as shared). Not r2, whose twin read a tensor it
    # was not given, and not the hooked ReLU: the plain pass above agrees figure for figure.
    assert trace.replayed_calls == 8
