"""Closed forms of the layer-level question families, and what only layers have.

``CLOSED_FORMS`` holds, for each layer family, the truth from the question's ``params`` by the
textbook formulas, without torch; ``test_families_contract`` runs it over the shared variants
of every level (and fails for a registered family that no table covers). Also: parameter
names, the receptive field against a real input gradient, truths that follow the profiler,
and generation speed.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Iterator
from fractions import Fraction
from typing import Any

import pytest
import torch
from torch import nn

import models
from grader.question import Question
from grader.registry import FAMILIES as REGISTRY
from grader.types import AnswerSpec

from .family_cases import Check, correct_forms, question, questions

# The layer families: those whose closed form is in this module's table (``CLOSED_FORMS``;
# ``test_families_contract`` checks every registered family has one somewhere).
DIFFICULTIES = (1, 2, 3)


# torch's own argument names, plus the few keys that name what a prompt asks or describes.
TORCH_ARGS = {
    "in_channels", "out_channels", "kernel_size", "stride", "padding", "dilation", "groups",
    "bias", "height", "width", "batch", "dtype", "in_features", "out_features", "ceil_mode",
    "output_size",
}  # fmt: skip
EXTRA_KEYS = {
    "per_sample",  # bool: the question asks for one sample of a batch
    "mode",  # pooling: max, avg or adaptive_avg
    "quantity",  # params or macs
    "form",  # kept, times or saved
    "batch_norm",  # bool
    "index",  # channel shuffle: the channel or position asked about
    "direction",  # channel shuffle: dest or source
    "balanced_channels",  # ShuffleNet v2 G1: the balanced width
    "architecture",  # registry name
    "num_parameters",  # stated parameter count of a registry network
    "bits",  # storage bit width
    "layers",  # receptive field: the stack, one dict per layer
    "reduced_channels",  # 1×1 reduction: its width
    "first_groups",  # ShuffleNet unit: the groups of its first 1×1 (1 at stage 2's entry)
}
LAYER_KEYS = {"type", "kernel_size", "stride", "padding", "dilation"}

DTYPE_BYTES = {"float32": 4, "float16": 2, "bfloat16": 2, "int8": 1}

# Published parameter counts (torchvision's model cards; MobileNet v1: Howard et al. 2017 at
# α = 1, as in Keras's trainable count; GoogLeNet with 5×5 branches: the paper's network,
# torchvision's layout differs). Independent of our registry.
PUBLISHED_PARAMS = {
    "alexnet": 61_100_840,
    "vgg16": 138_357_544,
    "vgg19": 143_667_240,
    "squeezenet1_0": 1_248_424,
    "squeezenet1_1": 1_235_496,
    "resnet18": 11_689_512,
    "resnet34": 21_797_672,
    "resnet50": 25_557_032,
    "mobilenet_v1": 4_231_976,
    "mobilenet_v2": 3_504_872,
    "shufflenet_v2_x1_0": 2_278_604,
    "densenet121": 7_978_856,
    "resnext50_32x4d": 25_028_904,
}


# -- independent closed forms ---------------------------------------------------------------


def pair(v: Any) -> tuple[int, int]:
    return (v, v) if isinstance(v, int) else (int(v[0]), int(v[1]))


def conv_side(size: int, k: int, s: int, p: int, d: int) -> int:
    return (size + 2 * p - d * (k - 1) - 1) // s + 1


def conv_out(p: dict[str, Any]) -> tuple[int, int]:
    (kh, kw), (ph, pw) = pair(p["kernel_size"]), pair(p["padding"])
    return (
        conv_side(p["height"], kh, p["stride"], ph, p["dilation"]),
        conv_side(p["width"], kw, p["stride"], pw, p["dilation"]),
    )


def conv_params(p: dict[str, Any]) -> int:
    kh, kw = pair(p["kernel_size"])
    weights = p["out_channels"] * (p["in_channels"] // p["groups"]) * kh * kw
    return weights + (p["out_channels"] if p["bias"] else 0)


def conv_macs(p: dict[str, Any]) -> int:
    kh, kw = pair(p["kernel_size"])
    ho, wo = conv_out(p)
    samples = 1 if p["per_sample"] else p["batch"]
    return ho * wo * p["out_channels"] * (p["in_channels"] // p["groups"]) * kh * kw * samples


def pool_side(size: int, k: int, s: int, p: int, ceil: bool) -> int:
    if not ceil:
        return (size + 2 * p - k) // s + 1
    out = -(-(size + 2 * p - k) // s) + 1
    # PyTorch: the last window must start inside the input or the left padding.
    return out - 1 if (out - 1) * s >= size + p else out


def linear_in(p: dict[str, Any]) -> int:
    if "in_channels" in p:
        assert p["in_features"] == p["in_channels"] * p["height"] * p["width"]
    return p["in_features"]


def in_form(kept: Fraction, form: str) -> Fraction:
    return {"kept": kept, "times": 1 / kept, "saved": 1 - kept}[form]


def mem_access(c1: int, c2: int, h: int, w: int, g: int = 1) -> int:
    return h * w * (c1 + c2) + c1 * c2 // g


def receptive(layers: list[dict[str, Any]]) -> int:
    field, jump = 1, 1
    for layer in layers:
        field += layer["dilation"] * (layer["kernel_size"] - 1) * jump
        jump *= layer["stride"]
    return field


def _conv_output_shape(p: dict[str, Any], q: Question) -> Any:
    shape = (p["out_channels"], *conv_out(p))
    return (p["batch"], *shape) if p["batch"] > 1 else shape


def _conv_activation_memory(p: dict[str, Any], q: Question) -> Any:
    ho, wo = conv_out(p)
    samples = 1 if p["per_sample"] else p["batch"]
    return p["out_channels"] * ho * wo * samples * DTYPE_BYTES[p["dtype"]]


def _pool_output_shape(p: dict[str, Any], q: Question) -> Any:
    sides = [
        pool_side(p[side], p["kernel_size"], p["stride"], p["padding"], p["ceil_mode"])
        for side in ("height", "width")
    ]
    shape = (p["in_channels"], *sides)
    return (p["batch"], *shape) if p["batch"] > 1 else shape


def _linear_params(p: dict[str, Any], q: Question) -> Any:
    return linear_in(p) * p["out_features"] + (p["out_features"] if p["bias"] else 0)


def _linear_macs(p: dict[str, Any], q: Question) -> Any:
    return linear_in(p) * p["out_features"] * (1 if p["per_sample"] else p["batch"])


def _grouped_conv_savings(p: dict[str, Any], q: Question) -> Any:
    g = p["groups"]
    if p["quantity"] == "macs":
        kept = Fraction(1, g)
    else:
        dense_w = p["out_channels"] * p["in_channels"] * p["kernel_size"] ** 2
        b = p["out_channels"] if p["bias"] else 0
        kept = Fraction(dense_w // g + b, dense_w + b)
    return in_form(kept, p["form"])


def _depthwise_separable_params(p: dict[str, Any], q: Question) -> Any:
    cin, cout, k = p["in_channels"], p["out_channels"], p["kernel_size"]
    total = cin * k * k + cin * cout
    total += (cin + cout) if p["bias"] else 0
    total += 2 * (cin + cout) if p["batch_norm"] else 0
    return total


def _depthwise_separable_cost_ratio(p: dict[str, Any], q: Question) -> Any:
    kept = Fraction(1, p["out_channels"]) + Fraction(1, p["kernel_size"] ** 2)
    return in_form(kept, p["form"])


def _channel_shuffle_position(p: dict[str, Any], q: Question) -> Any:
    c, g, i = p["in_channels"], p["groups"], p["index"]
    if p["direction"] == "dest":
        a, b = divmod(i, c // g)
        return b * g + a
    b, a = divmod(i, g)
    return a * (c // g) + b


def _shufflenet_v2_mem_access(p: dict[str, Any], q: Question) -> Any:
    h, w, g = p["height"], p["width"], p["groups"]
    unbalanced = mem_access(p["in_channels"], p["out_channels"], h, w, g)
    if "balanced_channels" in p and q.answer.dimension == "ratio":
        c = p["balanced_channels"]
        return Fraction(unbalanced, mem_access(c, c, h, w))
    return unbalanced


def _gap_vs_fc_params_saved(p: dict[str, Any], q: Question) -> Any:
    hw = p["height"] * p["width"]
    return p["out_features"] * p["in_channels"] * (hw - 1)


def _model_size_bytes(p: dict[str, Any], q: Question) -> Any:
    if "architecture" in p:
        count = PUBLISHED_PARAMS[p["architecture"]]
        assert p["num_parameters"] == count
    else:
        count = layer_params(p)
    return Fraction(count * p["bits"], 8)


def _conv_layer_steps(p: dict[str, Any], q: Question) -> Any:
    ho, wo = conv_out(p)
    return {"output": (p["out_channels"], ho, wo), "params": conv_params(p),
            "macs": conv_macs({**p, "per_sample": True})}  # fmt: skip


def _codebook_compression(p: dict[str, Any], q: Question) -> Any:
    count = layer_params(p)
    original = 4 * count
    compressed = Fraction(count * p["bits"], 8) + 4 * 2 ** p["bits"]
    return {"original": original, "compressed": compressed, "ratio": original / compressed}


def _conv1x1_cost(p: dict[str, Any], q: Question) -> Any:
    cin, cout, hw = p["in_channels"], p["out_channels"], p["height"] * p["width"]
    if q.answer.dimension == "params":
        return cin * cout + (cout if p["bias"] else 0)
    return hw * cin * cout


def _conv1x1_reduction(p: dict[str, Any], q: Question) -> Any:
    cin, r, cout, k = p["in_channels"], p["reduced_channels"], p["out_channels"], p["kernel_size"]
    hw = p["height"] * p["width"]
    direct, reduced = hw * cout * cin * k * k, hw * (r * cin + cout * r * k * k)
    return {"direct": direct, "reduced": reduced, "ratio": Fraction(reduced, direct)}


# The truth of each layer family from ``q.params`` alone, by the textbook formulas (no torch).
TRUTHS: dict[str, Callable[[dict[str, Any], Question], Any]] = {
    "conv_output_shape": _conv_output_shape,
    "conv_params": lambda p, q: conv_params(p),
    "grouped_conv_params": lambda p, q: conv_params(p),
    "conv_macs": lambda p, q: conv_macs(p),
    "conv_flops": lambda p, q: 2 * conv_macs(p),
    "conv_activation_memory": _conv_activation_memory,
    "conv_layer_steps": _conv_layer_steps,
    "pool_output_shape": _pool_output_shape,
    "pool_params": lambda p, q: 0,
    "linear_params": _linear_params,
    "linear_macs": _linear_macs,
    "grouped_conv_savings": _grouped_conv_savings,
    "depthwise_separable_params": _depthwise_separable_params,
    "depthwise_separable_cost_ratio": _depthwise_separable_cost_ratio,
    "channel_shuffle_position": _channel_shuffle_position,
    "shufflenet_unit_macs": lambda p, q: shuffle_unit_macs(p),
    "shufflenet_v2_mem_access": _shufflenet_v2_mem_access,
    "gap_vs_fc_params_saved": _gap_vs_fc_params_saved,
    "model_size_bytes": _model_size_bytes,
    "codebook_compression": _codebook_compression,
    "receptive_field": lambda p, q: receptive(p["layers"]),
    "conv1x1_cost": _conv1x1_cost,
    "conv1x1_reduction": _conv1x1_reduction,
}


def check_truth(q: Question) -> None:
    """``q``'s truth equals its family's closed form (exactly: fractions, shapes, parts)."""
    expected = TRUTHS[q.family](dict(q.params), q)
    if isinstance(expected, dict):
        assert dict(q.truth) == expected, (q.seed, q.params)  # type: ignore[arg-type]
    elif q.answer.kind == "shape":
        assert q.truth == expected, (q.seed, q.params)
    else:
        assert Fraction(q.truth) == Fraction(expected), (q.seed, q.params)  # type: ignore[arg-type]


CLOSED_FORMS: dict[str, Check] = dict.fromkeys(TRUTHS, check_truth)


def layer_params(p: dict[str, Any]) -> int:
    """A linear or convolution layer's parameters from its params."""
    if "in_features" in p:
        return linear_in(p) * p["out_features"] + (p["out_features"] if p["bias"] else 0)
    return conv_params({**p, "groups": p.get("groups", 1)})


def shuffle_unit_macs(p: dict[str, Any]) -> dict[str, int]:
    """The three convolutions of a ShuffleNet v1 unit by the paper's arithmetic."""
    cin, cout, g, s, h = (p[k] for k in ("in_channels", "out_channels", "groups", "stride",
                                          "height"))  # fmt: skip
    mid, h2 = cout // 4, (h - 1) // s + 1
    branch = cout - cin if s == 2 else cout
    g1 = p["first_groups"]  # 1 at ShuffleNet's stage-2 entry: its first 1×1 is not grouped
    macs = {"gconv1": h * h * mid * cin // g1, "dwconv": h2 * h2 * mid * 9,
            "gconv2": h2 * h2 * branch * mid // g}  # fmt: skip
    return {**macs, "total": sum(macs.values())}


# -- parameters ------------------------------------------------------------------------------


@pytest.mark.parametrize("fid", sorted(CLOSED_FORMS))
def test_params_use_torch_names_and_appear_in_prompt(fid: str) -> None:
    for difficulty in DIFFICULTIES:
        for q in questions(fid, difficulty):
            keys = set(q.params)
            assert keys <= TORCH_ARGS | EXTRA_KEYS, keys - TORCH_ARGS - EXTRA_KEYS
            if fid == "codebook_compression":
                continue  # the bit width's 2^b is worked out, not stated
            for layer in q.params.get("layers", []):
                assert set(layer) == LAYER_KEYS
            if "dtype" in q.params:
                assert q.params["dtype"] in DTYPE_BYTES
            for key, value in q.params.items():
                if isinstance(value, bool) or not isinstance(value, int) or value < 2:
                    continue
                if key == "in_features" and "in_channels" in q.params:
                    continue  # the flattened width, asked to be worked out
                assert str(value) in q.prompt or f"{value:,}" in q.prompt, (key, value, q.prompt)


# -- the receptive field against a real gradient --------------------------------------------


def _gradient_extent(layers: list[dict[str, Any]], size: int) -> int:
    """Length of the input span with a non-zero gradient from the first output unit.

    The stack's square kernels act on each axis alike, so one axis suffices: a one-channel
    CPU stack of Conv1d (all-ones weights) and AvgPool1d (the geometry of max pooling, but a
    gradient on every window element), without padding.
    """
    modules: list[nn.Module] = []
    for layer in layers:
        k, s = layer["kernel_size"], layer["stride"]
        if layer["type"] == "conv":
            conv = nn.Conv1d(1, 1, k, s, 0, layer["dilation"], bias=False).double()
            nn.init.ones_(conv.weight)
            modules.append(conv)
        else:
            modules.append(nn.AvgPool1d(k, s))
    x = torch.ones(1, 1, size, dtype=torch.float64, requires_grad=True)
    nn.Sequential(*modules)(x)[0, 0, 0].backward()
    assert x.grad is not None
    hit = (x.grad[0, 0] != 0).nonzero()[:, 0]
    assert int(hit.min()) == 0
    return int(hit.max()) + 1


@pytest.fixture
def one_thread() -> Iterator[None]:
    """Tiny CPU ops run 20× slower when torch's intra-op threads fight a busy machine."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


@pytest.mark.parametrize("difficulty", DIFFICULTIES)
def test_receptive_field_matches_input_gradient(difficulty: int, one_thread: None) -> None:
    for q in questions("receptive_field", difficulty):
        layers = q.params["layers"]
        # Comfortably longer than any field of these stacks; a wrong truth cannot shrink it.
        size = 4 * receptive(layers) + 8
        assert _gradient_extent(layers, size) == q.truth, (q.seed, layers)


# -- the truth really comes from torch ------------------------------------------------------

PROFILED = {
    "conv_output_shape",
    "conv_macs",
    "conv_flops",
    "conv_activation_memory",
    "conv_layer_steps",
    "pool_output_shape",
    "linear_macs",
    "depthwise_separable_cost_ratio",
    "shufflenet_v2_mem_access",
    "conv1x1_reduction",
}


@pytest.mark.parametrize("fid", sorted(PROFILED))
def test_profiled_truths_follow_the_profiler(fid: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Nudging every profiled number by one must change the truth: it is read, not rebuilt.

    (A nudge rather than a factor: a ratio of two doubled profiles would not move.)
    """
    real = models.profile_module
    # The unnudged truths first (generated now, before the patch).
    before = {(seed, d): question(fid, seed, d).truth for seed in range(10) for d in DIFFICULTIES}

    def nudged(*args: Any, **kwargs: Any) -> models.Profile:
        prof = real(*args, **kwargs)
        return models.Profile(
            input_shape=prof.input_shape,
            output_shape=tuple(d + 1 for d in prof.output_shape),
            batch=prof.batch,
            dtype=prof.dtype,
            bytes_per_element=prof.bytes_per_element,
            rows=prof.rows,
            params=prof.params + 1,
            macs=prof.macs + 1,
            flops=prof.flops + 1,
            activation_bytes=prof.activation_bytes + 1,
            peak_activation_bytes=prof.peak_activation_bytes,
            weight_bytes=prof.weight_bytes,
            unattributed_macs=prof.unattributed_macs,
            leaf_only=prof.leaf_only,
        )

    monkeypatch.setattr(models, "profile_module", nudged)
    changed = 0
    for seed in range(10):
        for difficulty in DIFFICULTIES:
            q = REGISTRY[fid].generate(seed, difficulty)
            changed += q.truth != before[seed, difficulty]
    assert changed == 30


def test_channel_shuffle_truth_comes_from_the_real_shuffle(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The real truths first: taken after the patch they would come from the patched shuffle.
    real = [REGISTRY["channel_shuffle_position"].generate(seed, 2).truth for seed in range(20)]
    monkeypatch.setattr(models, "channel_shuffle", lambda x, groups: x)  # no shuffle at all
    moved = [
        REGISTRY["channel_shuffle_position"].generate(seed, 2).truth != real[seed]
        for seed in range(20)
    ]
    assert any(moved)


# -- speed ----------------------------------------------------------------------------------


def test_generation_and_grading_are_fast() -> None:
    """Median over 30 warm calls; bounds well above the measured medians (1 to 10 ms to
    generate, well under 1 ms to grade), so that a loaded machine passes but a tenfold
    regression does not."""
    models.profile_architecture("resnet18")  # warm the one slow first call
    report = []
    for fid in sorted(CLOSED_FORMS):
        fam = REGISTRY[fid]
        for seed in range(6):
            fam.generate(seed, 1 + seed % 3)
        gen, grade = [], []
        for i in range(30):
            start = time.process_time()
            q = fam.generate(10_000 + i, 1 + i % 3)
            gen.append(time.process_time() - start)
            answer = correct_forms(q.answer, q.truth)[0] if q.answer.kind != "parts" else "1;1;1"
            start = time.process_time()
            q.grade(answer)
            grade.append(time.process_time() - start)
        report.append((fid, statistics.median(gen) * 1e3, statistics.median(grade) * 1e3))
    print("\n".join(f"{fid:32} generate {g:6.2f} ms  grade {r:5.3f} ms" for fid, g, r in report))
    for fid, g, r in report:
        assert g < 100, f"{fid}: {g:.1f} ms to generate"
        assert r < 5, f"{fid}: {r:.2f} ms to grade"


def test_spec_units_are_named() -> None:
    # Every memory question asks in a named unit, never a bare "K".
    for difficulty in DIFFICULTIES:
        for fid in ("conv_activation_memory", "model_size_bytes"):
            for q in questions(fid, difficulty):
                assert isinstance(q.answer, AnswerSpec)
                assert q.answer.unit in ("KiB", "KB", "MiB", "MB")
