"""Question generation and grading speed, and variant pools (a script, not a test).

Warm medians per family, in one run: generation of a fresh variant (new seed, so the
variant cache does not help) and grading of a correct answer; then, over HTTP on loopback,
the median of POST /questions against the median of GET /health. With ``--variants N``, the
number of distinct variants (distinct prompts) each family gives per difficulty over N seeds.

Usage: .venv/bin/python bench/questions_bench.py [--calls 50] [--variants 200] [--no-http]
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from grader.registry import FAMILIES, warm_caches
from grader.variants import distinct_variants
from models import warm_up

ROOT = Path(__file__).resolve().parents[1]


def median_ms(fn, n: int) -> float:
    times = []
    for i in range(n):
        t0 = time.perf_counter()
        fn(i)
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_ratio(calls: int) -> tuple[float, float]:
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        env = os.environ | {
            "FLOPCARDS_DATABASE_URL": f"sqlite:///{tmp}/q.db",
            "FLOPCARDS_PORT": str(port),
            "FLOPCARDS_RUN_EXAMPLES": "false",
        }
        exe = Path(sys.executable).with_name("flopcards")
        proc = subprocess.Popen(
            [str(exe), "serve"],
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            base = f"http://127.0.0.1:{port}"
            for _ in range(600):
                try:
                    httpx.get(f"{base}/health", timeout=1)
                    break
                except httpx.HTTPError:
                    time.sleep(0.05)
            time.sleep(20)  # let the background warm-up finish, as in a running service
            with httpx.Client(base_url=base, timeout=30) as c:
                h = {
                    "Authorization": "Bearer "
                    + c.post("/users", json={"name": "b"}).json()["token"]
                }
                fams = sorted(f for f, fam in FAMILIES.items() if not fam.architecture_level)
                for f in fams:
                    c.post("/questions", json={"family": f, "seed": 1}, headers=h)
                post = median_ms(
                    lambda i: c.post(
                        "/questions",
                        json={"family": fams[i % len(fams)], "seed": 10_000 + i},
                        headers=h,
                    ).raise_for_status(),
                    calls * 2,
                )
                health = median_ms(lambda i: c.get("/health").raise_for_status(), calls * 2)
        finally:
            proc.terminate()
            proc.wait()
    return post, health


def variant_table(seeds: int) -> None:
    """Distinct variants per family and difficulty over ``seeds`` seeds, as a markdown table."""
    print(f"| family | level | kind | distinct variants over {seeds} seeds (1 / 2 / 3) |")
    print("|---|---|---|---|")
    lowest = seeds
    for fid, fam in sorted(FAMILIES.items()):
        counts = [distinct_variants(fam, d, range(seeds)) for d in fam.difficulties]
        level = "network" if fam.architecture_level else "layer/block"
        if not fam.architecture_level:
            lowest = min(lowest, *counts)
        print(f"| {fid} | {level} | {fam.answer_kind} | {' / '.join(map(str, counts))} |")
    print(f"\nlayer and block families: at least {lowest} distinct variants per level")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--calls", type=int, default=50)
    ap.add_argument("--variants", type=int, default=0, help="seeds for the variant table")
    ap.add_argument("--no-http", action="store_true", help="skip the HTTP comparison")
    args = ap.parse_args()
    warm_up()
    warm_caches()  # what the service does in the background at start-up
    if args.variants:
        variant_table(args.variants)
    rows = []
    for fid, fam in sorted(FAMILIES.items()):
        gen = median_ms(lambda i, fam=fam: fam.generate(1000 + i, 1 + i % 3), args.calls)
        questions = [fam.generate(5000 + i, 1 + i % 3) for i in range(args.calls)]
        answers = [q.expected()[1].split(" (")[0] for q in questions]
        grade = median_ms(lambda i, qs=questions, ans=answers: qs[i].grade(ans[i]), args.calls)
        kind = "architecture" if fam.architecture_level else "layer/block"
        rows.append((fid, kind, gen, grade))
    print("| family | level | generate, median | grade, median |")
    print("|---|---|---:|---:|")
    for fid, kind, gen, grade in rows:
        print(f"| {fid} | {kind} | {gen:.2f} ms | {grade:.3f} ms |")
    lb = [g for _, k, g, _ in rows if k == "layer/block"]
    ar = [g for _, k, g, _ in rows if k == "architecture"]
    print(
        f"\nlayer/block generation: worst median {max(lb):.2f} ms; architecture: worst {max(ar):.2f} ms; "
        f"grading: worst median {max(r[3] for r in rows):.3f} ms"
    )
    if args.no_http:
        return
    post, health = http_ratio(args.calls)
    print(
        f"HTTP: POST /questions median {post:.1f} ms, GET /health median {health:.1f} ms, ratio {post / health:.2f}×"
    )


if __name__ == "__main__":
    main()
