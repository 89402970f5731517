"""Closed forms of the efficiency families (batch norm, NAS, ShuffleNet v2's guidelines,
MobileNet multipliers and memory, sparse storage, Deep Compression, im2col, counters): each
truth computed here from the question's ``params``, without torch and without the family's
own code. ``CLOSED_FORMS`` is run by ``test_families_contract`` over the shared variants of
every level (the contract tests' seeds)."""

from __future__ import annotations

import math
from fractions import Fraction

import pytest

from grader.families import nas as nas_family
from grader.families.mbv2_memory import peak_elements
from grader.question import Question

from .family_cases import Check


def bn_fold_values(q: Question) -> None:
    p = {k: Fraction(v) for k, v in q.params.items() if isinstance(v, str)}
    s = math.sqrt(p["var"] + p["eps"])
    weight = float(p["w"] * p["gamma"]) / s
    bias = float(p["beta"]) + float(p["gamma"]) * float(p["b"] - p["mean"]) / s
    assert float(q.truth["weight"]) == pytest.approx(weight, rel=1e-9)
    assert float(q.truth["bias"]) == pytest.approx(bias, rel=1e-9)
    assert q.truth["bias"] >= Fraction(1, 20)


def bn_params_buffers(q: Question) -> None:
    p = q.params
    cin, cout = p["in_channels"], p["out_channels"]
    if "block" in p:  # depthwise separable: dw 3×3 (C_in) + BN(C_in), pw 1×1 + BN(C_out)
        weights, channels, layers = 9 * cin + cin * cout, cin + cout, 2
    else:
        weights, channels, layers = cout * cin * p["kernel_size"] ** 2, cout, 1
        weights += cout if p["bias"] else 0
    conv_weights = weights - (cout if p.get("bias") else 0)
    assert q.truth == {"params": weights + 2 * channels, "buffers": 2 * channels + layers,
                       "folded": conv_weights + channels}  # fmt: skip


def nas_search_space(q: Question) -> None:
    p = q.params
    if q.difficulty == 1:
        assert q.truth == p["ops"] ** p["layers"]
    elif q.difficulty == 2:
        assert q.truth == (p["ops"] * p["widths"]) ** p["layers"]
    else:
        expected = 1
        for i in range(1, p["blocks"] + 1):
            expected *= ((p["inputs"] + i - 1) * p["ops"]) ** 2
        assert q.truth == expected


def nas_gpu_days(q: Question) -> None:
    p = q.params
    if q.difficulty == 1:
        assert q.truth == {"gpu_days": p["gpus"] * p["days"],
                           "gpu_hours": 24 * p["gpus"] * p["days"]}  # fmt: skip
        return
    minutes = p["hours"] * 60 if p["hours"] else p["epochs"] * p["minutes"]
    gpu_days = Fraction(p["candidates"] * minutes, 24 * 60)
    assert q.truth == {"gpu_days": gpu_days, "days": gpu_days / p["gpus"]}


def shufflenet_v2_unit_cost(q: Question) -> None:
    b, hw = q.params["channels"] // 2, q.params["height"] * q.params["width"]
    assert q.truth == {"params": 2 * b * b + 9 * b, "macs": hw * (2 * b * b + 9 * b)}


def shufflenet_v2_fragmentation(q: Question) -> None:
    p = q.params
    hw, cin = p["height"] * p["width"], p["in_channels"]
    each = [
        hw * cin * p["ch1x1"],
        hw * cin * p["ch3x3red"],
        hw * 9 * p["ch3x3red"] * p["ch3x3"],
        hw * cin * p["ch5x5red"],
        hw * 25 * p["ch5x5red"] * p["ch5x5"],
        hw * cin * p["pool_proj"],
    ]
    assert q.truth == {"convs": 6, "macs": sum(each),
                       "smallest": Fraction(min(each), sum(each))}  # fmt: skip


def shufflenet_v2_elementwise(q: Question) -> None:
    c, hw = q.params["channels"], q.params["height"] * q.params["width"]
    m = c // 4
    bpe = 4 if q.params["dtype"] == "float32" else 2
    elementwise = 4 * m * hw + 5 * c * hw
    convs = (c * hw + c * m + m * hw) + (m * hw + 9 * m * m + m * hw) + (m * hw + m * c + c * hw)
    assert q.truth == {"bytes": elementwise * bpe,
                       "share": Fraction(elementwise, elementwise + convs)}  # fmt: skip


def channel_shuffle_cost(q: Question) -> None:
    p = q.params
    elements = 2 * p["batch"] * p["channels"] * p["height"] * p["width"]
    bpe = {"float32": 4, "float16": 2, "int8": 1}[p["dtype"]]
    assert q.truth == {"elements": elements, "bytes": elements * bpe}


def _separable_macs(m: int, n: int, side: int, stride: int) -> int:
    out = -(-side // stride)
    return out * out * m * (9 + n)


def mobilenet_v1_multipliers(q: Question) -> None:
    p = q.params
    alpha, rho = Fraction(p["alpha"]), Fraction(p["resolution"], 224)
    base = _separable_macs(p["in_channels"], p["out_channels"], p["height"], p["stride"])
    thin = _separable_macs(int(alpha * p["in_channels"]), int(alpha * p["out_channels"]),
                           int(p["height"] * rho), p["stride"])  # fmt: skip
    assert q.truth == {"macs": thin, "ratio": Fraction(thin, base)}


def live_peak(x: int, e: int, d: int, y: int, residual: bool) -> int:
    """Peak elements of one inverted residual block under the prompt's schedule, replayed op
    by op: each operator holds its inputs and its output; a tensor is freed after its last
    reader (the block's input, with a residual, after the addition)."""
    size = {"x": x, "e": e, "d": d, "y": y, "sum": y}
    ops = [("x", "e"), ("e", "d"), ("d", "y")] + ([("x+y", "sum")] if residual else [])
    reads = [set(ins.split("+")) for ins, _ in ops]
    live, peak = {"x"}, 0
    for i, (_, out) in enumerate(ops):
        live.add(out)
        peak = max(peak, sum(size[t] for t in live))
        live = {t for t in live if t == out or any(t in r for r in reads[i + 1 :])}
    return peak


def mobilenet_v2_peak_memory(q: Question) -> None:
    bpe = 2 if q.params["dtype"] == "float16" else 4
    naive = fused = 0
    for cin, cout, stride, t, side in q.params["blocks"]:
        out = -(-side // stride)
        x, e, d, y = (
            cin * side * side,
            t * cin * side * side,
            t * cin * out * out,
            cout * out * out,
        )
        residual = stride == 1 and cin == cout
        naive = max(naive, live_peak(x, e, d, y, residual))
        fused = max(fused, x + y)
    assert q.truth == {"naive": naive * bpe, "fused": fused * bpe}


_SIZE = {"float32": 4, "float16": 2, "int8": 1, "int32": 4, "int64": 8}


def csr_storage(q: Question) -> None:
    p = q.params
    v, i = _SIZE[p["dtype"]], _SIZE[p["index"]]
    assert q.truth == {"csr": p["nnz"] * (v + i) + (p["rows"] + 1) * i,
                       "dense": p["rows"] * p["cols"] * v}  # fmt: skip


def csr_break_even(q: Question) -> None:
    p = q.params
    v, i, rc = _SIZE[p["dtype"]], _SIZE[p["index"]], p["rows"] * p["cols"]
    expected = Fraction(rc * v - (p["rows"] + 1) * i, rc * (v + i)) if p["row_pointers"] \
        else Fraction(v, v + i)  # fmt: skip
    assert q.truth == expected


def deep_compression_size(q: Question) -> None:
    p = q.params
    kept = p["weights"] * Fraction(p["keep"])
    kept = kept.numerator // kept.denominator
    b, r = p["bits"], p["index_bits"]
    huff = kept * (Fraction(p["huffman_value"]) + Fraction(p["huffman_index"])) + 2**b * 32
    assert q.truth == {"pruned": Fraction(kept * (32 + r), 8),
                       "quantised": Fraction(kept * (b + r) + 2**b * 32, 8),
                       "ratio": Fraction(32 * p["weights"]) / huff}  # fmt: skip


def im2col_buffer(q: Question) -> None:
    p = q.params
    k = p["kernel_size"]
    kh, kw = (k, k) if isinstance(k, int) else k
    pad = p["padding"]
    ph, pw = (pad, pad) if isinstance(pad, int) else pad
    d, s = p["dilation"], p["stride"]
    ho = (p["height"] + 2 * ph - d * (kh - 1) - 1) // s + 1
    wo = (p["width"] + 2 * pw - d * (kw - 1) - 1) // s + 1
    rows, cols = p["in_channels"] * kh * kw, ho * wo
    bpe = 4 if p["dtype"] == "float32" else 2
    assert q.truth == {"rows": rows, "cols": cols, "bytes": p["batch"] * rows * cols * bpe}


def counter_conventions(q: Question) -> None:
    c, h, w = q.params["input_shape"]
    conv, *rest = q.params["layers"]
    kinds = {layer["type"] for layer in rest}
    k, cout = conv["kernel_size"], conv["out_channels"]
    macs, out = h * w * cout * c * k * k, cout * h * w
    bias = out if conv["bias"] else 0
    bn = "batchnorm2d" in kinds
    pool = out if "maxpool2d" in kinds else 0  # the pool reads the ReLU's output
    expected = {
        "torchinfo": macs + bias + (2 * cout if bn else 0),
        "fvcore": macs + (2 * out if bn else 0),
        "thop": macs + (4 * out if bn else 0),
        "ptflops_pytorch": macs + bias + (2 * out if bn else 0) + 2 * out + 2 * pool,
        "ptflops_aten": macs + bias,
        "calflops_macs": macs,
        "deepspeed_macs": macs,
        "calflops_flops": 2 * macs + bias + (2 * out if bn else 0) + out + pool,
        "deepspeed_flops": 2 * macs + bias + (2 * out if bn else 0) + out + pool,
        "flop_counter_mode": 2 * macs,
    }[q.params["tool"]]
    assert q.truth == expected, (q.params, q.truth, expected)


CLOSED_FORMS: dict[str, Check] = {
    "bn_fold_values": bn_fold_values,
    "bn_params_buffers": bn_params_buffers,
    "nas_search_space": nas_search_space,
    "nas_gpu_days": nas_gpu_days,
    "shufflenet_v2_unit_cost": shufflenet_v2_unit_cost,
    "shufflenet_v2_fragmentation": shufflenet_v2_fragmentation,
    "shufflenet_v2_elementwise": shufflenet_v2_elementwise,
    "channel_shuffle_cost": channel_shuffle_cost,
    "mobilenet_v1_multipliers": mobilenet_v1_multipliers,
    "mobilenet_v2_peak_memory": mobilenet_v2_peak_memory,
    "csr_storage": csr_storage,
    "csr_break_even": csr_break_even,
    "deep_compression_size": deep_compression_size,
    "im2col_buffer": im2col_buffer,
    "counter_conventions": counter_conventions,
}


def test_the_families_own_helpers_agree_with_the_closed_forms() -> None:
    """What the families reuse in hints and mistakes: NASNet's one-cell count, and the
    inverted residual schedule (a residual block keeps its input through every step)."""
    assert nas_family.cell_space_size(1, 4) == (2 * 4) ** 2
    assert nas_family.cell_space_size(3, 5, 2) == (2 * 5) ** 2 * (3 * 5) ** 2 * (4 * 5) ** 2
    assert live_peak(10, 60, 60, 10, True) == peak_elements(10, 60, 60, 10, True) == 60 + 60 + 10
    assert live_peak(10, 60, 60, 10, False) == peak_elements(10, 60, 60, 10, False) == 120
    assert live_peak(4, 24, 6, 8, True) == peak_elements(4, 24, 6, 8, True) == 4 + 24 + 6
    assert live_peak(4, 24, 6, 30, True) == peak_elements(4, 24, 6, 30, True) == 4 + 30 + 30


def test_memory_traffic_counts_copies_not_views() -> None:
    import torch

    import models
    from models.traffic import memory_traffic, total_traffic

    x = torch.empty((2, 12, 5, 5), device="meta")
    # View, transpose, view: free; the contiguous copy reads and writes every element once.
    assert total_traffic(lambda t: models.channel_shuffle(t, 3), x) == 2 * x.numel()
    assert total_traffic(lambda t: t.view(2, 3, 4, 25).transpose(1, 2), x) == 0
    ops = memory_traffic(lambda a, b: torch.relu_(a + b), x, x)
    assert [(o.op, o.read, o.written) for o in ops] == [
        ("add", 2 * x.numel(), x.numel()),
        ("relu_", x.numel(), x.numel()),
    ]
    # A convolution reads its input and its weights and writes its output.
    conv = torch.nn.Conv2d(12, 8, 3, padding=1, bias=False, device="meta")
    (op,) = memory_traffic(conv, x)
    assert (op.read, op.written) == (x.numel() + 8 * 12 * 9, 2 * 8 * 5 * 5)
