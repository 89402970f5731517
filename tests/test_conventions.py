"""Counter conventions: the engine's figure for each tool against the issue's ResNet-50 figures
and against the real tools run on several networks.

The engine never runs the tools (models/conventions.py applies their rules to one meta-device
trace); these tests do, on CPU models at a small input so that they stay fast. A tool that
cannot be imported is skipped, by name.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import io
import logging
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import torch

import models
from models.conventions import (
    TOOL_NAMES,
    architecture_conventions,
    service_macs,
    spec_conventions,
    trace_module,
)

ROOT = Path(__file__).resolve().parents[1]

# The figures of issue 28 for resnet50 at 224 (registry "resnet50", v1.5), as the tools print
# them; ptflops' and DeepSpeed's were taken on a meta-device model.
ISSUE_RESNET50 = {
    "torchinfo": 4_089_238_376,
    "ptflops_pytorch": 4_134_484_968,  # meta
    "thop": 4_133_742_592,
    "fvcore": 4_111_512_576,
    "calflops_macs": 4_089_184_256,
    "deepspeed_macs": 4_091_232_256,  # meta
    "flop_counter_mode": 8_178_368_512,
}
META = {"ptflops_pytorch", "deepspeed_macs"}


def test_resnet50_figures_are_the_issues() -> None:
    figures = {f.tool: f for f in architecture_conventions("resnet50")}
    assert set(figures) == set(TOOL_NAMES)
    for tool, expected in ISSUE_RESNET50.items():
        f = figures[tool]
        assert (f.meta_figure if tool in META else f.figure) == expected, tool
    # Meta against CPU: exactly the fc layer's 2048 × 1000 products, for these two tools only.
    for tool in ("ptflops_pytorch", "deepspeed_macs"):
        assert figures[tool].meta_figure - figures[tool].figure == 2048 * 1000
    assert (
        figures["deepspeed_flops"].meta_figure - figures["deepspeed_flops"].figure
        == 2 * 2048 * 1000
    )
    for tool in ("torchinfo", "fvcore", "thop", "ptflops_aten", "calflops_macs"):
        assert figures[tool].meta_figure == figures[tool].figure
    # The service's own figures: MACs without bias, FLOPs = 2 × MACs, as the profiler says.
    prof = models.profile_architecture("resnet50")
    assert figures["calflops_macs"].service == prof.macs == 4_089_184_256
    assert figures["flop_counter_mode"].figure == prof.flops == 2 * prof.macs
    # Each figure's explanation names the difference and its parts.
    torchinfo = figures["torchinfo"]
    assert torchinfo.difference == 1_000 + 53_120  # fc bias + BatchNorm's γ and β
    assert "+54,120" in torchinfo.explanation and "BatchNorm" in torchinfo.explanation
    assert figures["ptflops_aten"].difference == 1_000
    assert "Same as the service's" in figures["flop_counter_mode"].explanation


def test_service_macs_of_the_trace_is_the_profilers() -> None:
    for name in ("alexnet", "mobilenet_v2", "densenet121", "shufflenet_v2_x1_0"):
        trace = trace_module(models.build_architecture(name), models.get_spec(name).input_size)
        assert service_macs(trace) == models.profile_architecture(name).macs, name


def test_models_write_additions_as_operators() -> None:
    """The rules assume ``a + b``: DeepSpeed and ptflops would count ``torch.add`` calls."""
    for path in (ROOT / "models").glob("*.py"):
        if path.name == "conventions.py":
            continue
        text = path.read_text()
        for call in ("torch.add(", ".add(", "torch.mul(", ".mul(", "torch.matmul(", ".mm("):
            assert call not in text, (path.name, call)


def test_spec_conventions_of_a_layer() -> None:
    layers = [
        {"type": "conv2d", "out_channels": 16, "kernel_size": 3, "padding": 1, "bias": True},
        {"type": "batchnorm2d"},
        {"type": "relu"},
    ]
    figures = {f.tool: f for f in spec_conventions((3, 8, 8), layers)}
    macs = 8 * 8 * 16 * 3 * 9
    bias = 16 * 8 * 8
    assert figures["flop_counter_mode"].figure == 2 * macs
    assert figures["torchinfo"].figure == macs + bias + 2 * 16  # weights + biases + γ, β
    assert figures["thop"].figure == macs + 4 * 16 * 8 * 8
    assert figures["fvcore"].figure == macs + 2 * 16 * 8 * 8
    assert figures["ptflops_aten"].figure == macs + bias
    # ptflops: bias, BN (2 per element), ReLU twice (module hook and patched F.relu).
    assert figures["ptflops_pytorch"].figure == macs + bias + 2 * 1024 + 2 * 1024
    assert figures["deepspeed_flops"].figure == 2 * macs + bias + 2 * 1024 + 1024


# -- against the real tools ---------------------------------------------------------------------

# Between them: biased and bias-free convolutions, depthwise and grouped convolutions,
# BatchNorm, ReLU and ReLU6, max and adaptive average pooling, residual additions,
# concatenations, squeeze-and-excitation (many small linear layers and sigmoids). Small inputs
# keep the tools quick; the conventions do not depend on the size.
NETWORKS = [
    ("resnet18", (3, 64, 64)),
    ("mobilenet_v2", (3, 32, 32)),
    ("se_resnet50", (3, 32, 32)),
    ("squeezenet1_1", (3, 64, 64)),
]


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    logging.disable(logging.WARNING)
    try:
        with (
            warnings.catch_warnings(),
            contextlib.redirect_stdout(io.StringIO()),
            contextlib.redirect_stderr(io.StringIO()),
        ):
            warnings.simplefilter("ignore")
            yield
    finally:
        logging.disable(logging.NOTSET)


@functools.cache
def _prototype(name: str) -> torch.nn.Module:
    return models.build_architecture(name, device="cpu").eval()


def _model(name: str, device: str = "cpu") -> torch.nn.Module:
    """A fresh model for each tool (they attach counters to it); copying the prototype is
    cheaper than initialising its weights again."""
    if device == "meta":
        return models.build_architecture(name).eval()
    return copy.deepcopy(_prototype(name))


def _torchinfo(name: str, size: tuple[int, ...], device: str) -> int:
    torchinfo = pytest.importorskip("torchinfo")
    return int(torchinfo.summary(_model(name), input_size=(1, *size), verbose=0).total_mult_adds)


def _fvcore(name: str, size: tuple[int, ...], device: str) -> int:
    flop_count = pytest.importorskip("fvcore.nn")
    analysis = flop_count.FlopCountAnalysis(_model(name), torch.zeros(1, *size))
    analysis.unsupported_ops_warnings(False)
    analysis.uncalled_modules_warnings(False)
    return int(analysis.total())


def _thop(name: str, size: tuple[int, ...], device: str) -> int:
    thop = pytest.importorskip("thop")
    return int(thop.profile(_model(name), inputs=(torch.zeros(1, *size),), verbose=False)[0])


def _ptflops(backend: str) -> Callable[[str, tuple[int, ...], str], int]:
    def run(name: str, size: tuple[int, ...], device: str) -> int:
        ptflops = pytest.importorskip("ptflops")
        macs, _ = ptflops.get_model_complexity_info(
            _model(name, device), size, as_strings=False, print_per_layer_stat=False,
            backend=backend,
        )  # fmt: skip
        return int(macs)

    return run


def _calflops(index: int) -> Callable[[str, tuple[int, ...], str], int]:
    def run(name: str, size: tuple[int, ...], device: str) -> int:
        calflops = pytest.importorskip("calflops")
        out = calflops.calculate_flops(
            model=_model(name, device), input_shape=(1, *size), output_as_string=False,
            print_results=False, print_detailed=False,
        )  # fmt: skip
        return int(out[index])

    return run


def _deepspeed(index: int) -> Callable[[str, tuple[int, ...], str], int]:
    def run(name: str, size: tuple[int, ...], device: str) -> int:
        profiler = pytest.importorskip("deepspeed.profiling.flops_profiler")
        out = profiler.get_model_profile(
            _model(name, device), input_shape=(1, *size), print_profile=False, detailed=False,
            as_string=False,
        )  # fmt: skip
        return int(out[index])

    return run


def _flop_counter_mode(name: str, size: tuple[int, ...], device: str) -> int:
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as counter:
        _model(name, "meta")(torch.empty((1, *size), device="meta"))
    return int(counter.get_total_flops())


# ptflops' aten back end runs first: its pytorch back end leaves torch's functions wrapped
# in a way torch._numpy (imported lazily by the aten engine) cannot introspect.
RUNNERS: list[tuple[str, Callable[[str, tuple[int, ...], str], int], tuple[str, ...]]] = [
    ("torchinfo", _torchinfo, ("cpu",)),
    ("fvcore", _fvcore, ("cpu",)),
    ("thop", _thop, ("cpu",)),
    ("ptflops_aten", _ptflops("aten"), ("cpu",)),
    ("ptflops_pytorch", _ptflops("pytorch"), ("cpu", "meta")),
    ("calflops_flops", _calflops(0), ("cpu",)),
    ("calflops_macs", _calflops(1), ("cpu",)),
    ("deepspeed_flops", _deepspeed(0), ("cpu", "meta")),
    ("deepspeed_macs", _deepspeed(1), ("cpu", "meta")),
    ("flop_counter_mode", _flop_counter_mode, ("meta",)),
]


@pytest.mark.parametrize(("name", "size"), NETWORKS, ids=[n for n, _ in NETWORKS])
def test_each_figure_is_what_the_real_tool_reports(name: str, size: tuple[int, ...]) -> None:
    figures = {f.tool: f for f in architecture_conventions(name, size)}
    checked: list[Any] = []
    for tool, run, devices in RUNNERS:
        for device in devices:
            with _quiet():
                real = run(name, size, device)
            f = figures[tool]
            expected = (
                f.meta_figure if device == "meta" and tool != "flop_counter_mode" else f.figure
            )
            assert real == expected, (name, tool, device, real, expected, dict(f.parts))
            checked.append((tool, device))
    assert len(checked) == 13


# -- over HTTP ---------------------------------------------------------------------------------


def test_conventions_over_http(client) -> None:
    body = client.get("/architectures/resnet50/conventions").json()
    assert body["architecture"] == "resnet50" and body["input_shape"] == [3, 224, 224]
    assert body["macs"] == 4_089_184_256 and body["flops"] == 2 * body["macs"]
    tools = {t["tool"]: t for t in body["tools"]}
    assert list(tools) == list(TOOL_NAMES)
    assert tools["thop"]["figure"] == ISSUE_RESNET50["thop"]
    assert tools["ptflops_pytorch"]["meta_figure"] == ISSUE_RESNET50["ptflops_pytorch"]
    assert all(t["explanation"].endswith(".") and t["call"] for t in body["tools"])
    small = client.get("/architectures/resnet18/conventions", params={"input_size": 64}).json()
    assert small["input_shape"] == [3, 64, 64]
    assert client.get("/architectures/nope/conventions").status_code == 404
    assert client.get("/architectures/resnet18/conventions?batch=0").status_code == 422

    layers = [
        {"type": "conv2d", "out_channels": 8, "kernel_size": 3, "padding": 1},
        {"type": "relu"},
    ]
    spec = {"input_shape": [3, 16, 16], "layers": layers}
    out = client.post("/profile/conventions", json=spec).json()
    assert out["architecture"] == "custom" and out["macs"] == 16 * 16 * 8 * 27
    ptflops = next(t for t in out["tools"] if t["tool"] == "ptflops_pytorch")
    # weights, one bias add per output, the ReLU twice (module hook and patched F.relu)
    assert ptflops["figure"] == out["macs"] + 2048 + 2 * 2048
    bad = client.post("/profile/conventions", json={**spec, "layers": [{"type": "conv2d"}]})
    assert bad.status_code == 422
