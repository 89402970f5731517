"""Self-test of the layer-level question families.

For every family, 200 seeds at each difficulty: (a) the truth (built on the meta device by the
family) equals an independent closed form written here from the question's ``params``; (b) the
truth written in several other forms is graded correct; (c) every mistake the family names is
graded wrong with its own diagnosis code; (d) garbage is graded ``invalid`` and never raises.
Also: determinism, the conventions each prompt must state, parameter names, solutions ending
at the truth, the receptive field against a real input gradient, and generation speed.
"""

from __future__ import annotations

import functools
import statistics
import time
from collections.abc import Iterator
from decimal import ROUND_HALF_EVEN, Context, Decimal
from fractions import Fraction
from typing import Any

import pytest
import torch
from torch import nn

import models
from grader.families import layer_families
from grader.mistakes import CATALOGUE
from grader.question import Question
from grader.types import AnswerSpec, Mistake
from grader.units import BASE_UNIT, lookup_unit

FAMILIES = {f.id: f for f in layer_families.FAMILIES}
SEEDS = range(200)
DIFFICULTIES = (1, 2, 3)
CASES = [(fid, d) for fid in FAMILIES for d in DIFFICULTIES]

EXPECTED_IDS = {
    "conv_output_shape",
    "conv_params",
    "conv_macs",
    "conv_flops",
    "conv_activation_memory",
    "pool_output_shape",
    "pool_params",
    "linear_params",
    "linear_macs",
    "grouped_conv_params",
    "grouped_conv_savings",
    "depthwise_separable_params",
    "depthwise_separable_cost_ratio",
    "channel_shuffle_position",
    "shufflenet_v2_mem_access",
    "gap_vs_fc_params_saved",
    "model_size_bytes",
    "receptive_field",
}
NOTE_TOPICS = {
    "conv-arithmetic", "pooling", "alexnet", "vgg", "googlenet", "conv1x1", "global-avg-pooling",
    "resnet", "grouped-conv", "resnext", "densenet", "senet", "squeezenet", "mobilenet-v1",
    "mobilenet-v2", "shufflenet-v1", "shufflenet-v2", "sparse-vs-dense", "nas", "quantization",
}  # fmt: skip

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
}
LAYER_KEYS = {"type", "kernel_size", "stride", "padding", "dilation"}

DTYPE_BYTES = {"float32": 4, "float16": 2, "bfloat16": 2, "int8": 1}

# Published parameter counts (torchvision's model cards; MobileNet v1: Howard et al. 2017 at
# α = 1, as in Keras's trainable count). Independent of our registry.
PUBLISHED_PARAMS = {
    "alexnet": 61_100_840,
    "vgg16": 138_357_544,
    "squeezenet1_0": 1_248_424,
    "squeezenet1_1": 1_235_496,
    "resnet18": 11_689_512,
    "mobilenet_v1": 4_231_976,
}

GARBAGE = [
    "",
    "   ",
    "abc",
    "NaN",
    "inf",
    "-∞",
    "(64, 56",
    "1..2",
    "five",
    "🙂",
    "--5",
    "x" * 250,
    "12 apples",
    "[[1]]",
    "0x1F",
    "1e99999",
    "None",
    "\x00\x01",
    "1/2/3",
    "()",
]


@functools.cache
def question(fid: str, seed: int, difficulty: int) -> Question:
    """Each question once per test run: the checks below share them."""
    return FAMILIES[fid].generate(seed, difficulty)


def questions(fid: str, difficulty: int) -> list[Question]:
    return [question(fid, seed, difficulty) for seed in SEEDS]


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


def closed_form(q: Question) -> Any:
    """The truth from ``q.params`` alone, by the textbook formulas (no torch)."""
    p = dict(q.params)
    fid = q.family
    if fid == "conv_output_shape":
        shape = (p["out_channels"], *conv_out(p))
        return (p["batch"], *shape) if p["batch"] > 1 else shape
    if fid in ("conv_params", "grouped_conv_params"):
        return conv_params(p)
    if fid == "conv_macs":
        return conv_macs(p)
    if fid == "conv_flops":
        return 2 * conv_macs(p)
    if fid == "conv_activation_memory":
        ho, wo = conv_out(p)
        samples = 1 if p["per_sample"] else p["batch"]
        return p["out_channels"] * ho * wo * samples * DTYPE_BYTES[p["dtype"]]
    if fid == "pool_output_shape":
        sides = [
            pool_side(p[side], p["kernel_size"], p["stride"], p["padding"], p["ceil_mode"])
            for side in ("height", "width")
        ]
        shape = (p["in_channels"], *sides)
        return (p["batch"], *shape) if p["batch"] > 1 else shape
    if fid == "pool_params":
        return 0
    if fid == "linear_params":
        return linear_in(p) * p["out_features"] + (p["out_features"] if p["bias"] else 0)
    if fid == "linear_macs":
        return linear_in(p) * p["out_features"] * (1 if p["per_sample"] else p["batch"])
    if fid == "grouped_conv_savings":
        g = p["groups"]
        if p["quantity"] == "macs":
            kept = Fraction(1, g)
        else:
            dense_w = p["out_channels"] * p["in_channels"] * p["kernel_size"] ** 2
            b = p["out_channels"] if p["bias"] else 0
            kept = Fraction(dense_w // g + b, dense_w + b)
        return in_form(kept, p["form"])
    if fid == "depthwise_separable_params":
        cin, cout, k = p["in_channels"], p["out_channels"], p["kernel_size"]
        total = cin * k * k + cin * cout
        total += (cin + cout) if p["bias"] else 0
        total += 2 * (cin + cout) if p["batch_norm"] else 0
        return total
    if fid == "depthwise_separable_cost_ratio":
        kept = Fraction(1, p["out_channels"]) + Fraction(1, p["kernel_size"] ** 2)
        return in_form(kept, p["form"])
    if fid == "channel_shuffle_position":
        c, g, i = p["in_channels"], p["groups"], p["index"]
        if p["direction"] == "dest":
            a, b = divmod(i, c // g)
            return b * g + a
        b, a = divmod(i, g)
        return a * (c // g) + b
    if fid == "shufflenet_v2_mem_access":
        h, w, g = p["height"], p["width"], p["groups"]
        unbalanced = mem_access(p["in_channels"], p["out_channels"], h, w, g)
        if "balanced_channels" in p and q.answer.dimension == "ratio":
            c = p["balanced_channels"]
            return Fraction(unbalanced, mem_access(c, c, h, w))
        return unbalanced
    if fid == "gap_vs_fc_params_saved":
        hw = p["height"] * p["width"]
        return p["out_features"] * p["in_channels"] * (hw - 1)
    if fid == "model_size_bytes":
        if "architecture" in p:
            count = PUBLISHED_PARAMS[p["architecture"]]
            assert p["num_parameters"] == count
        elif "in_features" in p:
            count = linear_in(p) * p["out_features"] + (p["out_features"] if p["bias"] else 0)
        else:
            count = conv_params(p)
        return Fraction(count * p["bits"], 8)
    if fid == "receptive_field":
        return receptive(p["layers"])
    raise AssertionError(f"no closed form for {fid}")


# -- writing answers ------------------------------------------------------------------------


def exact_text(value: Fraction) -> str | None:
    """``value`` as an exact decimal, or None when it does not terminate."""
    sign = "-" if value < 0 else ""
    value = abs(value)
    places = 0
    while (value * 10**places).denominator != 1:
        places += 1
        if places > 30:
            return None
    digits = str((value * 10**places).numerator).rjust(places + 1, "0")
    if places == 0:
        return sign + digits
    return f"{sign}{digits[:-places]}.{digits[-places:]}"


def sig(value: Fraction, figures: int, scientific: bool = True) -> str:
    """``value`` correctly rounded to ``figures`` significant figures."""
    ctx = Context(prec=figures, rounding=ROUND_HALF_EVEN)
    d = ctx.divide(Decimal(value.numerator), Decimal(value.denominator))
    if scientific:
        return f"{d:.{figures - 1}e}"
    return f"{d:f}"


_OTHER_UNIT = {"KiB": "MB", "KB": "MiB", "MiB": "KB", "MB": "KiB", "B": "KiB"}


def correct_forms(q: Question) -> list[str]:
    """The truth written several ways a student might, each of which must be graded correct."""
    spec, truth = q.answer, q.truth
    if spec.kind == "shape":
        assert isinstance(truth, tuple)
        forms = [
            "(" + ", ".join(map(str, truth)) + ")",
            "x".join(map(str, truth)),
            "[" + ",".join(map(str, truth)) + "]",
        ]
        if not spec.batch:
            forms.append("1x" + "x".join(map(str, truth)))  # torch's batch of one
        return forms
    value = Fraction(truth)  # type: ignore[arg-type]
    if spec.dimension == "ratio":
        frac = f"{value.numerator}/{value.denominator}"
        dec, pct = sig(value, 6, scientific=False), sig(value * 100, 6, scientific=False)
        if spec.unit == "%":
            return [frac, f"{pct}%", f"{pct} percent", pct]
        if spec.unit == "×":
            return [frac, f"{dec}×", f"{dec}x", dec]
        return [frac, dec, f"{pct}%"]
    base = BASE_UNIT[spec.dimension or ""]
    exact = exact_text(value)
    assert exact is not None, f"{q.family}: non-terminating truth {value}"
    if spec.dimension == "bytes":
        unit = spec.unit or "B"
        size = lookup_unit(unit).multiplier  # type: ignore[union-attr]
        other = _OTHER_UNIT[unit]
        other_size = lookup_unit(other).multiplier  # type: ignore[union-attr]
        return [
            f"{exact} bytes",
            f"{sig(value / size, 6)} {unit}",
            sig(value / size, 6),  # a bare number is read in the question's unit
            f"{sig(value / other_size, 6)} {other}",
        ]
    if base is None:  # counts and positions: bare numbers
        return [exact, f"{exact}.0", sig(value, max(3, len(exact)))]
    return [
        f"{int(value):,}" if value.denominator == 1 else exact,
        f"{exact} {base}",
        sig(value, 4) + f" {base}",  # rounded to 4 figures: within half a unit of the last
    ]


def mistake_text(q: Question, m: Mistake) -> str:
    """A mistake's value written exactly, in base units."""
    spec = q.answer
    if spec.kind == "shape":
        assert isinstance(m.value, tuple)
        return "(" + ", ".join(map(str, m.value)) + ")"
    value = Fraction(m.value)  # type: ignore[arg-type]
    if spec.dimension == "ratio":
        return f"{value.numerator}/{value.denominator}"
    text = exact_text(value) or sig(value, 15)
    base = BASE_UNIT[spec.dimension or ""]
    return f"{text} {base}" if base else text


# -- the family list ------------------------------------------------------------------------


def test_layer_family_ids_topics_and_kinds() -> None:
    assert set(FAMILIES) == EXPECTED_IDS
    assert len(layer_families.FAMILIES) == len(FAMILIES)  # no duplicate ids
    for fam in FAMILIES.values():
        assert fam.topic in NOTE_TOPICS, fam.id
        assert fam.answer_kind in ("number", "shape"), fam.id
        assert fam.title and fam.expected_seconds > 0


# -- (a) the truth from torch equals the closed form ----------------------------------------


@pytest.mark.parametrize(("fid", "difficulty"), CASES)
def test_truth_matches_closed_form(fid: str, difficulty: int) -> None:
    for q in questions(fid, difficulty):
        expected = closed_form(q)
        if q.answer.kind == "shape":
            assert q.truth == expected, (q.seed, q.params)
        else:
            assert Fraction(q.truth) == Fraction(expected), (q.seed, q.params)  # type: ignore[arg-type]
        assert q.answer.kind == FAMILIES[fid].answer_kind


# -- (b) the truth in other forms is correct ------------------------------------------------


@pytest.mark.parametrize(("fid", "difficulty"), CASES)
def test_truth_in_other_forms_is_correct(fid: str, difficulty: int) -> None:
    for q in questions(fid, difficulty):
        for text in correct_forms(q):
            g = q.grade(text)
            assert g.status == "correct", (q.seed, text, q.truth, g.feedback)
            assert g.score == 1.0


# -- (c) each mistake is diagnosed ----------------------------------------------------------


@pytest.mark.parametrize(("fid", "difficulty"), CASES)
def test_mistakes_are_diagnosed(fid: str, difficulty: int) -> None:
    named = 0
    for q in questions(fid, difficulty):
        for m in q.mistakes:
            assert m.value != q.truth
            assert m.code in CATALOGUE or (m.code.islower() and m.message.endswith(".")), m
            text = mistake_text(q, m)
            g = q.grade(text)
            assert g.status in ("incorrect", "partial"), (q.seed, m, text, g.feedback)
            assert m.code in g.codes, (q.seed, m, text, g.codes)
            named += 1
    assert named >= len(SEEDS), "a family should name at least one mistake per question"


# -- (d) garbage is invalid -----------------------------------------------------------------


@pytest.mark.parametrize("fid", sorted(FAMILIES))
def test_garbage_is_invalid_and_never_raises(fid: str) -> None:
    for difficulty in DIFFICULTIES:
        for seed in range(5):
            q = question(fid, seed, difficulty)
            for text in GARBAGE:
                g = q.grade(text)
                assert g.status == "invalid", (text, g.feedback)
                assert g.score == 0.0
                assert "Could not read" in g.feedback


# -- contract details -----------------------------------------------------------------------


@pytest.mark.parametrize("fid", sorted(FAMILIES))
def test_same_seed_same_question(fid: str) -> None:
    fam = FAMILIES[fid]
    for difficulty in DIFFICULTIES:
        for seed in range(0, 200, 20):
            again = fam.generate(seed, difficulty)
            assert again == question(fid, seed, difficulty)
        prompts = {q.prompt for q in questions(fid, difficulty)}
        assert len(prompts) >= 20, f"{fid} at difficulty {difficulty} hardly varies"


def _required_phrases(q: Question) -> list[str]:
    """What a prompt must say, given what it asks."""
    spec, p = q.answer, q.params
    need: list[str] = []
    if spec.kind == "shape":
        need += ["(N, C, H, W)" if spec.batch else "(C, H, W)", "round"]
    elif spec.dimension == "params":
        need += ["learnable weights and biases", "buffers"]
    elif spec.dimension == "macs":
        need += ["multiply-accumulates", "bias additions are not counted"]
    elif spec.dimension == "flops":
        need += ["FLOPs = 2 × MACs", "bias additions are not counted"]
    elif spec.dimension == "bytes":
        assert spec.unit is not None
        need += [f"Answer in {spec.unit}", "KiB = 1024 B", "KB = 1000 B"]
    elif spec.dimension == "elements":
        need += ["elements"]
    elif spec.dimension == "position":
        need += ["numbered from 0"]
    if "dtype" in p:
        need += [p["dtype"], "bytes per element"]
    if "bits" in p:
        need += [f"{p['bits']}-bit", "8 bits"]
    if p.get("batch", 1) > 1:
        need += [f"batch of {p['batch']}"]
    if q.family == "shufflenet_v2_mem_access":
        need += ["memory access cost", "not multiply-accumulates"]
    if q.family == "receptive_field":
        need += ["receptive field"]
    return need


@pytest.mark.parametrize("fid", sorted(FAMILIES))
def test_prompts_state_units_and_conventions(fid: str) -> None:
    for difficulty in DIFFICULTIES:
        for q in questions(fid, difficulty):
            for phrase in _required_phrases(q):
                assert phrase in q.prompt, (q.seed, phrase, q.prompt)
            assert q.conventions


@pytest.mark.parametrize("fid", sorted(FAMILIES))
def test_params_use_torch_names_and_appear_in_prompt(fid: str) -> None:
    for difficulty in DIFFICULTIES:
        for q in questions(fid, difficulty):
            keys = set(q.params)
            assert keys <= TORCH_ARGS | EXTRA_KEYS, keys - TORCH_ARGS - EXTRA_KEYS
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


@pytest.mark.parametrize("fid", sorted(FAMILIES))
def test_solution_ends_with_the_truth(fid: str) -> None:
    for difficulty in DIFFICULTIES:
        for q in questions(fid, difficulty):
            display = q.grade("").expected_display
            assert q.solution.endswith(display), (q.seed, q.solution, display)
            assert display not in q.prompt or q.answer.kind == "shape" or len(display) < 4


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
    "pool_output_shape",
    "linear_macs",
    "depthwise_separable_cost_ratio",
    "shufflenet_v2_mem_access",
}


@pytest.mark.parametrize("fid", sorted(PROFILED))
def test_profiled_truths_follow_the_profiler(fid: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Nudging every profiled number by one must change the truth: it is read, not rebuilt.

    (A nudge rather than a factor: a ratio of two doubled profiles would not move.)
    """
    real = models.profile_module

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
            q = FAMILIES[fid].generate(seed, difficulty)
            changed += q.truth != question(fid, seed, difficulty).truth
    assert changed == 30


def test_channel_shuffle_truth_comes_from_the_real_shuffle(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(models, "channel_shuffle", lambda x, groups: x)  # no shuffle at all
    moved = [
        FAMILIES["channel_shuffle_position"].generate(seed, 2).truth
        != question("channel_shuffle_position", seed, 2).truth
        for seed in range(20)
    ]
    assert any(moved)


# -- speed ----------------------------------------------------------------------------------


def test_generation_and_grading_are_fast() -> None:
    """Median over 50 warm calls; bounds well above the measured ~1-3 ms, so that a loaded
    machine passes but a tenfold regression does not."""
    models.profile_architecture("resnet18")  # warm the one slow first call
    report = []
    for fid, fam in FAMILIES.items():
        for seed in range(6):
            fam.generate(seed, 1 + seed % 3)
        gen, grade = [], []
        for i in range(50):
            start = time.process_time()
            q = fam.generate(10_000 + i, 1 + i % 3)
            gen.append(time.process_time() - start)
            start = time.process_time()
            q.grade(correct_forms(q)[0])
            grade.append(time.process_time() - start)
        report.append((fid, statistics.median(gen) * 1e3, statistics.median(grade) * 1e3))
    print("\n".join(f"{fid:32} generate {g:6.2f} ms  grade {r:5.3f} ms" for fid, g, r in report))
    for fid, g, r in report:
        assert g < 25, f"{fid}: {g:.1f} ms to generate"
        assert r < 3, f"{fid}: {r:.2f} ms to grade"


def test_spec_units_are_named() -> None:
    # Every memory question asks in a named unit, never a bare "K".
    for difficulty in DIFFICULTIES:
        for fid in ("conv_activation_memory", "model_size_bytes"):
            for q in questions(fid, difficulty):
                assert isinstance(q.answer, AnswerSpec)
                assert q.answer.unit in ("KiB", "KB", "MiB", "MB")
