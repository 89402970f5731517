"""Benchmark: architecture name -> per-layer counts, ours against every peer, on one device.

Run from the repository root:  .venv/bin/python bench/profile_bench.py [--repeats 7]

Every tool starts from the architecture name and builds the same model on the ``meta`` device
(``build_architecture``: no weights, no arithmetic), so each column pays the same build and
differs only in how it walks the forward pass:

- ours: ``profile_architecture_uncached`` (the fast pass of ``models/replay.py``: each distinct
  module configuration and input runs once, repeats are replayed);
- ours, plain pass: the same with ``reuse_repeats=False``: every call runs under torch's
  ``FlopCounterMode``, which is how the previous release profiled (the algorithm is unchanged);
- floor: build and a bare ``model(x)`` under ``no_grad``, counting nothing;
- torchinfo: ``summary(model, input_size=(1, 3, 224, 224), device="meta")``;
- FlopCounterMode: ``with FlopCounterMode(display=False): model(x)`` (module tracking on, as
  a user runs it);
- ptflops: ``get_model_complexity_info(model, (3, 224, 224), backend="aten")``;
- fvcore: ``FlopCountAnalysis`` traces with TorchScript, which cannot run on meta (the trace
  checks a tensor condition); it runs on the CPU with real weights, a separate column timed
  once per model (it is 10-100x slower than the rest).

Times are CPU seconds of this process (``time.process_time``), the median of ``--repeats``
rounds; each round runs every tool once, in turn, so a noisy neighbour hits all of them alike.
Each tool's count is checked against ours under its own convention (asserted, not printed):
parameters everywhere; torchinfo's MACs recomputed from its per-layer table (conv and linear
weights only); FlopCounterMode's FLOPs equal ours (2 x MACs); ptflops adds one MAC per output
element for every bias of a convolution or linear layer; fvcore's ``conv`` plus ``linear``
operators equal our MACs (it adds batch norm and pooling under its own keys). Prints markdown.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import io
import json
import statistics
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402
import torchinfo  # noqa: E402
from torch import nn  # noqa: E402
from torch.utils.flop_counter import FlopCounterMode  # noqa: E402

from models import (  # noqa: E402
    Profile,
    build_architecture,
    clear_profile_cache,
    profile_architecture,
    warm_up,
)
from models.profiler import profile_architecture_uncached  # noqa: E402

NAMES = ("resnet50", "mobilenet_v2", "shufflenet_v2_x1_0", "vgg16")
INPUT = (3, 224, 224)

try:
    from ptflops import get_model_complexity_info
except ImportError:  # pragma: no cover - the dev extra installs it
    get_model_complexity_info = None
try:
    from fvcore.nn import FlopCountAnalysis
except ImportError:  # pragma: no cover - the dev extra installs it
    FlopCountAnalysis = None


def meta_input() -> torch.Tensor:
    return torch.empty(1, *INPUT, device="meta")


def run_ours(name: str) -> Profile:
    return profile_architecture_uncached(name)


def run_plain(name: str) -> Profile:
    return profile_architecture_uncached(name, reuse_repeats=False)


def run_floor(name: str) -> None:
    model = build_architecture(name).eval()
    with torch.no_grad():
        model(meta_input())


def run_torchinfo(name: str) -> torchinfo.ModelStatistics:
    model = build_architecture(name)
    return torchinfo.summary(model, input_size=(1, *INPUT), device="meta", verbose=0)


def run_flop_counter(name: str) -> int:
    model = build_architecture(name).eval()
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model(meta_input())
    return counter.get_total_flops()


def run_ptflops(name: str) -> tuple[int, int]:
    model = build_architecture(name)
    with contextlib.redirect_stdout(io.StringIO()):
        macs, params = get_model_complexity_info(
            model, INPUT, as_strings=False, print_per_layer_stat=False, backend="aten"
        )
    return int(macs), int(params)


def run_fvcore_cpu(name: str) -> dict[str, int]:
    model = build_architecture(name, device="cpu").eval()
    with torch.no_grad():
        analysis = FlopCountAnalysis(model, (torch.zeros(1, *INPUT),))
        analysis.unsupported_ops_warnings(False)
        analysis.uncalled_modules_warnings(False)
        return dict(analysis.by_operator())


def fvcore_on_meta_error(name: str) -> str | None:
    """None if fvcore runs on meta, else its error (the reason it gets a CPU column)."""
    model = build_architecture(name).eval()
    try:
        with torch.no_grad():
            FlopCountAnalysis(model, (meta_input(),)).total()
    except Exception as exc:  # whatever the tracer raises is the finding
        return f"{type(exc).__name__}: {str(exc).splitlines()[0][:90]}"
    return None


def torchinfo_macs_our_convention(stats: torchinfo.ModelStatistics) -> int:
    """Re-derive MACs from torchinfo's layer table: conv/linear weights only, no bias."""
    total = 0
    for layer in stats.summary_list:
        module = layer.module
        if isinstance(module, nn.Conv2d):
            out_spatial = layer.output_size[0] * layer.output_size[2] * layer.output_size[3]
            total += out_spatial * module.weight.numel()
        elif isinstance(module, nn.Linear):
            rows = 1
            for d in layer.output_size[:-1]:
                rows *= d
            total += rows * module.weight.numel()
    return total


def bias_macs(name: str, prof: Profile) -> int:
    """ptflops' convention adds one MAC per output element of a conv or linear with a bias."""
    modules = dict(build_architecture(name).named_modules())
    extra = 0
    for row in prof.rows:
        module = modules[row.name]
        if isinstance(module, (nn.Conv2d, nn.Linear)) and module.bias is not None:
            n = 1
            for d in row.output_shape:
                n *= d
            extra += n
    return extra


def timed(fn: Callable[[str], Any], name: str) -> tuple[float, Any]:
    gc.collect()
    start = time.process_time()
    result = fn(name)
    return time.process_time() - start, result


def rss_growth_vgg16() -> dict[str, int]:
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
        prof = models.profile_architecture("vgg16", (3, 224, 224))
        print(json.dumps({"growth": hwm() - before, "weight_bytes": prof.weight_bytes}))
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--names", nargs="*", default=list(NAMES))
    args = parser.parse_args()
    if get_model_complexity_info is None or FlopCountAnalysis is None:
        sys.exit("install the dev extra (ptflops, fvcore): pip install -e '.[dev]'")
    import fvcore
    import ptflops

    print(
        f"torch {torch.__version__}, torchinfo {torchinfo.__version__}, ptflops"
        f" {getattr(ptflops, '__version__', '0.7.5')}, fvcore {fvcore.__version__},"
        f" {torch.get_num_threads()} threads, input 1x{'x'.join(map(str, INPUT))},"
        f" {args.repeats} rounds, medians of CPU time"
    )
    warm = warm_up()
    print(f"warm_up(): {warm * 1000:.0f} ms (one-time, in a background thread at start-up)\n")
    meta_tools: dict[str, Callable[[str], Any]] = {
        "ours": run_ours,
        "plain": run_plain,
        "floor": run_floor,
        "torchinfo": run_torchinfo,
        "fcm": run_flop_counter,
        "ptflops": run_ptflops,
    }
    results = []
    for name in args.names:
        for fn in (*meta_tools.values(), run_fvcore_cpu):  # first calls pay one-time costs
            fn(name)
        times: dict[str, list[float]] = {tool: [] for tool in meta_tools}
        out: dict[str, Any] = {}
        for _ in range(args.repeats):
            for tool, fn in meta_tools.items():
                t, out[tool] = timed(fn, name)
                times[tool].append(t)
        # fvcore does the real arithmetic on the CPU, 10-100x slower: one timed run.
        t, out["fvcore"] = timed(run_fvcore_cpu, name)
        times["fvcore"] = [t]
        prof: Profile = out["ours"]
        assert out["plain"] == prof, "the fast pass must equal the plain pass"
        stats = out["torchinfo"]
        assert stats.total_params == prof.params, (stats.total_params, prof.params)
        assert torchinfo_macs_our_convention(stats) == prof.macs
        assert out["fcm"] == prof.flops, (out["fcm"], prof.flops)
        pt_macs, pt_params = out["ptflops"]
        assert pt_params == prof.params, (pt_params, prof.params)
        assert pt_macs == prof.macs + bias_macs(name, prof), (pt_macs, prof.macs)
        fv = out["fvcore"]
        fv_macs = sum(v for k, v in fv.items() if k in ("conv", "linear", "addmm", "matmul"))
        assert fv_macs == prof.macs, (fv, prof.macs)
        medians = {tool: statistics.median(ts) * 1000 for tool, ts in times.items()}
        results.append((name, prof, medians, stats, pt_macs, fv))
        print(
            f"{name}: params {prof.params:,} (all tools); MACs ours {prof.macs:,}; torchinfo"
            f" total_mult_adds {stats.total_mult_adds:,}; ptflops {pt_macs:,}; fvcore"
            f" {sum(fv.values()):,} ({', '.join(f'{k} {v:,}' for k, v in sorted(fv.items()))})"
        )

    reason = fvcore_on_meta_error(args.names[0])
    print(f"\nfvcore on meta: {reason or 'runs'}")
    print(
        "\n| model | ours | ours, plain pass (previous release) | build + bare forward"
        " | torchinfo | FlopCounterMode | ptflops (aten) | fvcore (CPU) | ours faster than"
        " torchinfo / FlopCounterMode / ptflops |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for name, _, m, _, _, _ in results:
        print(
            f"| {name} | {m['ours']:.0f} ms | {m['plain']:.0f} ms | {m['floor']:.0f} ms"
            f" | {m['torchinfo']:.0f} ms | {m['fcm']:.0f} ms | {m['ptflops']:.0f} ms"
            f" | {m['fvcore']:.0f} ms | {m['torchinfo'] / m['ours']:.2f}×"
            f" / {m['fcm'] / m['ours']:.2f}× / {m['ptflops'] / m['ours']:.2f}× |"
        )

    for name in ("resnet50", "vgg16"):
        clear_profile_cache()
        profile_architecture(name, INPUT)
        start = time.perf_counter()
        for _ in range(1000):
            profile_architecture(name, INPUT)
        cached = (time.perf_counter() - start) / 1000
        print(f"\n{name}, cached (LRU hit, mean of 1000): {cached * 1e6:.1f} µs")
    rss = rss_growth_vgg16()
    print(
        f"\nProfiling vgg16 (weights: {rss['weight_bytes'] / 2**20:.0f} MiB in float32) raised"
        f" the peak RSS of a fresh process by {rss['growth'] / 2**20:.1f} MiB."
    )


if __name__ == "__main__":
    main()
