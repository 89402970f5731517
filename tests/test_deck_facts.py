"""The audited deck against the truth engine: the figures a card states are recomputed here.

Each entry names a card and the numbers its answer must contain, computed now by building the
network on the meta device (``models`` or plain torch), never typed in. A note that drifts
from the models (or a model that drifts from the notes) fails here. See docs/deck-audit.md.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
import torch
from torch import nn

from content import DEFAULT_NOTES_DIR, load_directory
from models import profile, profile_architecture

CARDS = {card.id: card for card, _ in load_directory(DEFAULT_NOTES_DIR).cards}


def _arch(name: str):
    return profile_architecture(name)


def _layer(arch: str, name: str):
    return _arch(arch).row(name)


def _original_alexnet() -> nn.Module:
    """The 2012 paper's two-GPU AlexNet: 96-256-384-384-256, conv2/4/5 in two groups."""
    with torch.device("meta"):
        return nn.Sequential(
            nn.Conv2d(3, 96, 11, 4), nn.ReLU(), nn.MaxPool2d(3, 2),
            nn.Conv2d(96, 256, 5, padding=2, groups=2), nn.ReLU(), nn.MaxPool2d(3, 2),
            nn.Conv2d(256, 384, 3, padding=1), nn.ReLU(),
            nn.Conv2d(384, 384, 3, padding=1, groups=2), nn.ReLU(),
            nn.Conv2d(384, 256, 3, padding=1, groups=2), nn.ReLU(), nn.MaxPool2d(3, 2),
            nn.Flatten(), nn.Linear(9216, 4096), nn.ReLU(), nn.Linear(4096, 4096), nn.ReLU(),
            nn.Linear(4096, 1000),
        )  # fmt: skip


def _alexnet_split() -> list[int]:
    rows = _arch("alexnet").rows
    fc = sum(r.params for r in rows if r.type == "Linear")
    conv_macs = sum(r.macs for r in rows if r.type == "Conv2d")
    return [fc, _arch("alexnet").params, conv_macs, _arch("alexnet").macs]


def _original_conv1() -> list[int]:
    p = profile(nn.Conv2d(3, 96, 11, 4, device="meta"), (3, 227, 227))
    assert p.output_shape == (1, 96, 55, 55)
    return [p.params, p.params // 2, p.macs, p.macs // 2, p.activation_bytes]


def _se_overhead() -> list[int]:
    se, base = _arch("se_resnet50"), _arch("resnet50_v1")
    return [se.macs - base.macs, se.params - base.params, base.macs]


FACTS: dict[str, Callable[[], list[int]]] = {
    # the expert review's example: fc6 = 25,088 x 4,096 + 4,096, bias counted once
    "global-avg-pooling-vgg-fc6": lambda: [_layer("vgg16", "fc6").params, 25_088 * 4_096],
    "alexnet-params-where": lambda: _alexnet_split()[:2],
    "alexnet-flops-where": lambda: _alexnet_split()[2:],
    "alexnet-fc6-params": lambda: [_layer("alexnet", "fc6").params],
    "alexnet-original-conv1-cost": _original_conv1,
    "alexnet-original-params": lambda: [profile(_original_alexnet(), (3, 227, 227)).params],
    "quantization-alexnet-sizes": lambda: [
        _arch("alexnet").params,
        _arch("alexnet").params * 4,
        profile(_original_alexnet(), (3, 227, 227)).params * 4,
    ],
    "vgg-vgg16-size": lambda: [_arch("vgg16").params, _arch("vgg16").macs],
    "vgg-vgg16-memory": lambda: [max(r.activation_bytes for r in _arch("vgg16").rows)],
    "googlenet-efficiency": lambda: [_arch("googlenet").params, _arch("googlenet").macs],
    "resnet-sizes": lambda: [
        _arch("resnet18").params,
        _arch("resnet18").macs,
        _arch("resnet50").params,
        _arch("resnet50").macs,
        _arch("resnet50_v1").macs,
    ],
    "resnext-50-vs-resnet-50": lambda: [
        _arch("resnext50_32x4d").params,
        _arch("resnext50_32x4d").macs,
        _arch("resnet50").macs,
    ],
    "senet-resnet50-overhead": _se_overhead,
    "densenet-121-channels": lambda: [_arch("densenet121").params],
    "squeezenet-vs-alexnet-params": lambda: [
        _arch("squeezenet1_0").params,
        _arch("squeezenet1_0").params * 4,
    ],
    "mobilenet-v1-size": lambda: [_arch("mobilenet_v1").params, _arch("mobilenet_v1").macs],
    "mobilenet-v2-size": lambda: [_arch("mobilenet_v2").params, _arch("mobilenet_v2").macs],
    "shufflenet-v1-1x-size": lambda: [
        _arch("shufflenet_v1_g3").params,
        _arch("shufflenet_v1_g3").macs,
    ],
    "shufflenet-v2-size": lambda: [
        _arch("shufflenet_v2_x1_0").params,
        _arch("shufflenet_v2_x1_0").macs,
    ],
}


@pytest.mark.parametrize("card_id", sorted(FACTS))
def test_card_states_the_recomputed_figures(card_id: str) -> None:
    back = CARDS[card_id].back
    for value in FACTS[card_id]():
        assert f"{value:,}" in back, (card_id, f"{value:,}", back)


def test_vgg_fc6_bias_is_counted_once() -> None:
    fc6 = _layer("vgg16", "fc6").params
    assert fc6 == 25_088 * 4_096 + 4_096 == 102_764_544
    assert "102,768,640" not in CARDS["global-avg-pooling-vgg-fc6"].back


def test_resnext_deeper_wider_comparison_is_at_increased_budget() -> None:
    back = CARDS["resnext-cardinality-finding"].back
    assert "fixed parameter and FLOP budget, raising cardinality" not in back
    assert "budget is increased" in back and "ResNet-200" in back
