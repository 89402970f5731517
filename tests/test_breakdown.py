"""Where the compute goes: by_type and by_stage shares, checked against the module structure.

The expected figures are computed here from the networks themselves (forward hooks read each
convolution's output shape; MACs = output elements × input channels per group × kernel area,
parameters from ``module.parameters()``), not from the profiler or torch's flop counter.
"""

from __future__ import annotations

import re

import pytest
import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from models import build_architecture, profile, profile_architecture, profile_spec
from models.breakdown import (
    NO_COST,
    OUTSIDE,
    STAGE_MAPS,
    Share,
    by_stage,
    by_type,
    layer_kind,
    percentages,
)


def _independent_costs(name: str) -> dict[str, tuple[nn.Module, int]]:
    """Every conv and linear layer of a registry network with its MACs, from its output shape."""
    model = build_architecture(name).eval()
    costs: dict[str, tuple[nn.Module, int]] = {}

    def hook(name_: str):
        def record(m: nn.Module, args: tuple, out: torch.Tensor) -> None:
            if isinstance(m, nn.Conv2d):
                kh, kw = m.kernel_size
                per_output = int(m.in_channels) // int(m.groups) * kh * kw
                costs[name_] = (m, out.numel() * per_output)
            elif isinstance(m, nn.Linear):
                costs[name_] = (m, m.in_features * m.out_features)

        return record

    for n, m in model.named_modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            m.register_forward_hook(hook(n))
    spec_input = profile_architecture(name).input_shape
    with torch.no_grad():
        model(torch.empty(spec_input, device="meta"))
    return costs


def _percent(part: int, whole: int) -> float:
    return 100 * part / whole


def _is_pointwise(m: nn.Module) -> bool:
    return isinstance(m, nn.Conv2d) and m.kernel_size == (1, 1) and m.groups == 1


def test_mobilenet_v2_spends_most_macs_in_1x1_convolutions() -> None:
    costs = _independent_costs("mobilenet_v2")
    total = sum(macs for _, macs in costs.values())
    pointwise = sum(macs for m, macs in costs.values() if _is_pointwise(m))
    depthwise = sum(
        macs
        for m, macs in costs.values()
        if isinstance(m, nn.Conv2d) and m.groups == m.in_channels > 1
    )
    expand = sum(macs for n, (_, macs) in costs.items() if re.search(r"\.expand\.conv$", n))
    project = sum(macs for n, (_, macs) in costs.items() if re.search(r"\.project\.conv$", n))

    prof = profile_architecture("mobilenet_v2")
    assert prof.macs == total
    shares = {s.name: s for s in by_type(prof)}
    assert shares["conv 1×1"].macs == pointwise
    assert shares["depthwise 3×3"].macs == depthwise
    assert shares["conv 1×1"].percent_macs == pytest.approx(_percent(pointwise, total), abs=0.01)
    assert shares["depthwise 3×3"].percent_macs == pytest.approx(
        _percent(depthwise, total), abs=0.01
    )
    # The figures: ~89 % in 1×1 convolutions (expand ~43 %, project ~39 %), ~7 % depthwise.
    assert round(_percent(pointwise, total)) == 89 and round(_percent(depthwise, total)) == 7
    assert round(_percent(expand, total)) == 43 and round(_percent(project, total)) == 39
    rows = [r for r in prof.rows if r.name.endswith(".expand.conv")]
    assert sum(r.macs for r in rows) == expand
    assert sum(r.percent_macs for r in rows) == pytest.approx(_percent(expand, total), abs=0.2)


def test_alexnet_fc6_holds_most_parameters() -> None:
    model = build_architecture("alexnet")
    total = sum(p.numel() for p in model.parameters())
    fc6 = sum(p.numel() for p in model.get_submodule("fc6").parameters())
    assert fc6 == 256 * 6 * 6 * 4096 + 4096
    prof = profile_architecture("alexnet")
    assert prof.row("fc6").percent_params == round(_percent(fc6, total), 2) == 61.79
    stages = {s.name: s for s in by_stage(prof)}
    assert stages["fc6"].params == fc6 and stages["fc6"].percent_params == 61.79
    linear = {s.name: s for s in by_type(prof)}["linear"]
    fcs = [model.get_submodule(f"fc{i}") for i in (6, 7, 8)]
    fc = sum(p.numel() for m in fcs for p in m.parameters())
    assert linear.params == fc and linear.layers == 3


def test_kinds_of_convolution() -> None:
    prof = profile_architecture("shufflenet_v1_g3")
    kinds = {s.name for s in by_type(prof)}
    assert {"grouped 1×1", "depthwise 3×3", "conv 1×1", "conv 3×3", "linear"} <= kinds
    # Stage 2's first 1×1 is not grouped (24 input channels): the one dense 1×1 of the network.
    dense = [r.name for r in prof.rows if layer_kind(r) == "conv 1×1"]
    assert dense == ["stage2.0.gconv1.conv"]
    resnext = {s.name: s for s in by_type(profile_architecture("resnext50_32x4d"))}
    grouped = [
        m for m in build_architecture("resnext50_32x4d").modules()
        if isinstance(m, nn.Conv2d) and m.groups == 32
    ]  # fmt: skip
    assert resnext["grouped 3×3"].layers == len(grouped) == 16
    assert resnext["grouped 3×3"].params == sum(m.weight.numel() for m in grouped)
    assert NO_COST in resnext and resnext[NO_COST].macs == resnext[NO_COST].params == 0


def test_resnet50_stages_match_its_containers() -> None:
    # torch's own counter, tracking modules, gives each stage's MACs independently.
    model = build_architecture("resnet50").eval()
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model(torch.empty(1, 3, 224, 224, device="meta"))
    tracked = counter.get_flop_counts()
    stages = by_stage(profile_architecture("resnet50"))
    assert [s.name for s in stages] == ["stem", "layer1", "layer2", "layer3", "layer4", "head"]
    for s in stages[1:5]:
        assert s.macs == sum(tracked[f"ResNet.{s.name}"].values()) // 2
        assert s.params == sum(p.numel() for p in getattr(model, s.name).parameters())
    assert stages[0].macs == 112 * 112 * 64 * 3 * 7 * 7
    assert stages[-1].params == 2048 * 1000 + 1000


EXPECTED_STAGES = {
    "alexnet": ["conv1", "conv2", "conv3", "conv4", "conv5", "fc6", "fc7", "fc8"],
    "vgg19": ["conv1", "conv2", "conv3", "conv4", "conv5", "fc6", "fc7", "fc8"],
    "googlenet": ["stem", "inception3", "inception4", "inception5", "head"],
    "densenet121": [
        "stem", "denseblock1", "transition1", "denseblock2", "transition2", "denseblock3",
        "transition3", "denseblock4", "head",
    ],
    "squeezenet1_1": ["conv1", *(f"fire{i}" for i in range(2, 10)), "conv10"],
    "mobilenet_v1": [
        "stem", "64 ch × 1", "128 ch × 2", "256 ch × 2", "512 ch × 6", "1024 ch × 2", "head",
    ],
    "mobilenet_v2": [
        "stem", "16 ch × 1", "24 ch × 2", "32 ch × 3", "64 ch × 4", "96 ch × 3", "160 ch × 3",
        "320 ch × 1", "conv 1×1 to 1280", "head",
    ],
    "shufflenet_v2_x1_0": ["stem", "stage2", "stage3", "stage4", "conv5", "head"],
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(STAGE_MAPS))
def test_every_architecture_has_named_stages_that_add_up(name: str) -> None:
    prof = profile_architecture(name)
    stage_of = STAGE_MAPS[name]
    unnamed = [r.name for r in prof.rows if stage_of(r.name) is None]
    assert not unnamed, f"{name}: no stage for {unnamed[:5]}"
    for shares in (by_type(prof), by_stage(prof)):
        assert sum(s.macs for s in shares) == prof.macs
        assert sum(s.params for s in shares) == prof.params
        assert sum(round(s.percent_macs * 100) for s in shares) == 10_000
        assert sum(round(s.percent_params * 100) for s in shares) == 10_000
        assert sum(s.layers for s in shares) == len(prof.rows)
    stages = [s.name for s in by_stage(prof)]
    # Stages run in order: each appears as one contiguous run of rows.
    runs = [r.stage for i, r in enumerate(prof.rows) if i == 0 or prof.rows[i - 1].stage != r.stage]
    assert runs == stages
    if name in EXPECTED_STAGES:
        assert stages == EXPECTED_STAGES[name]


def test_registry_and_stage_maps_agree() -> None:
    from models import architecture_names

    assert set(STAGE_MAPS) == set(architecture_names())


def test_a_layer_stack_is_summarised_layer_by_layer() -> None:
    layers = [
        {"type": "conv2d", "out_channels": 16, "kernel_size": 3, "padding": 1},
        {"type": "relu", "inplace": True},
        {"type": "fire", "squeeze_planes": 4, "expand1x1_planes": 8, "expand3x3_planes": 8},
        {"type": "conv2d", "out_channels": 16, "kernel_size": 3, "groups": 16},
    ]
    prof = profile_spec([3, 8, 8], layers)
    stages = by_stage(prof)
    assert [s.name for s in stages] == ["0 (Conv2d)", "1 (ReLU)", "2 (Fire)", "3 (Conv2d)"]
    assert stages[0].macs == 8 * 8 * 16 * 27 and stages[0].params == 16 * 27 + 16
    fire_macs = 8 * 8 * (16 * 4 + 4 * 8 + 9 * 4 * 8)
    assert stages[2].macs == fire_macs and stages[2].layers == 6
    assert stages[3].macs == 6 * 6 * 16 * 9
    kinds = {s.name: s.macs for s in by_type(prof)}
    assert kinds == {
        "conv 3×3": 8 * 8 * 16 * 27 + 8 * 8 * 9 * 4 * 8,
        "conv 1×1": 8 * 8 * (16 * 4 + 4 * 8),
        "depthwise 3×3": 6 * 6 * 16 * 9,
        NO_COST: 0,
    }


def test_work_outside_leaf_layers_gets_its_own_share() -> None:
    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc = nn.Linear(8, 4)
            self.w = nn.Parameter(torch.empty(4, 3))  # owned by the container itself

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.fc(x) @ self.w

    with torch.device("meta"):
        net = Net()
    prof = profile(net, (8,))
    for shares in (by_type(prof), by_stage(prof)):
        outside = next(s for s in shares if s.name == OUTSIDE)
        assert (outside.macs, outside.params, outside.layers) == (12, 12, 0)
        assert outside.percent_macs == 27.27 and outside.percent_params == 25.0  # 12/44, 12/48
        assert sum(s.macs for s in shares) == 44


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ([1, 1, 1], [33.34, 33.33, 33.33]),  # the hundredth left over goes to the first tie
        ([2, 1], [66.67, 33.33]),
        ([0, 5, 0], [0.0, 100.0, 0.0]),
        ([1, 999_999], [0.0, 100.0]),
        ([1, 2, 3, 4], [10.0, 20.0, 30.0, 40.0]),
    ],
)
def test_percentages_add_up_to_exactly_100(values: list[int], expected: list[float]) -> None:
    result = percentages(values, sum(values))
    assert result == expected
    assert sum(round(p * 100) for p in result) == 10_000


def test_percentages_of_nothing_are_zero() -> None:
    assert percentages([0, 0], 0) == [0.0, 0.0]
    prof = profile_spec([3, 8, 8], [{"type": "relu"}, {"type": "flatten"}])
    (share,) = by_type(prof)
    assert share == Share(NO_COST, 0, 0, 0.0, 0.0, 2)
    assert share.to_dict()["percent_macs"] == 0.0
