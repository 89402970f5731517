"""Start-up and study-loop benchmark (a script, not a test).

Measures, in one run, on loopback only:
- cold start: launch of `flopcards serve` to the first 200 from /health, on an empty
  database and again on a restart over the same file;
- resident memory of the server process after start-up, after the study loop and once
  the background warm-up is complete;
- median and p99 latency of a `next` + `answer` pair, and of `/health` for scale.

Usage: .venv/bin/python bench/startup_bench.py [--pairs 150]
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
import psutil

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(db: Path, port: int) -> tuple[subprocess.Popen, float]:
    env = os.environ | {
        "FLOPCARDS_DATABASE_URL": f"sqlite:///{db}",
        "FLOPCARDS_HOST": "127.0.0.1",
        "FLOPCARDS_PORT": str(port),
    }
    exe = Path(sys.executable).with_name("flopcards")
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [str(exe), "serve"], env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return proc, time.perf_counter() - t0
        except httpx.HTTPError:
            pass
        if proc.poll() is not None or time.perf_counter() - t0 > 60:
            raise SystemExit("server did not start")
        time.sleep(0.02)


def rss_mb(proc: subprocess.Popen) -> float:
    return psutil.Process(proc.pid).memory_info().rss / 2**20


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--pairs", type=int, default=150)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bench.db"
        port = free_port()
        proc, cold = start(db, port)
        rss_start = rss_mb(proc)
        base = f"http://127.0.0.1:{port}"
        with httpx.Client(base_url=base, timeout=10) as c:
            token = c.post("/users", json={"name": "bench"}).json()["token"]
            h = {"Authorization": f"Bearer {token}"}
            sid = c.post("/sessions", json={"size": 500, "new_limit": 500}, headers=h).json()["id"]
            pairs, health = [], []
            for _ in range(args.pairs):
                t0 = time.perf_counter()
                item = c.get(f"/sessions/{sid}/next", headers=h).json()
                if item.get("done"):
                    raise SystemExit("ran out of cards: lower --pairs")
                r = c.post(
                    f"/sessions/{sid}/answer",
                    headers=h,
                    json={"item_id": item["item_id"], "rating": "good", "elapsed_ms": 900},
                )
                r.raise_for_status()
                pairs.append((time.perf_counter() - t0) * 1000)
                t0 = time.perf_counter()
                c.get("/health").raise_for_status()
                health.append((time.perf_counter() - t0) * 1000)
        rss_after = rss_mb(proc)
        # The background warm-up (torch, question caches, every network profiled) takes
        # about 10 s of one core; wait until the resident size stops growing.
        rss_warm, deadline = rss_after, time.monotonic() + 60
        while time.monotonic() < deadline:
            time.sleep(3)
            now_mb = rss_mb(proc)
            if now_mb - rss_warm < 1 and now_mb > rss_start + 200:
                break
            rss_warm = now_mb
        rss_warm = rss_mb(proc)
        proc.terminate()
        proc.wait()
        proc, warm = start(db, port)  # restart over the same, now populated, file
        rss_restart = rss_mb(proc)
        proc.terminate()
        proc.wait()

    print("| measure | value |")
    print("|---|---|")
    print(f"| cold start to first /health 200, empty database | {cold:.2f} s |")
    print(f"| restart to first /health 200, same database | {warm:.2f} s |")
    print(f"| resident memory after start-up | {rss_start:.0f} MB |")
    print(f"| resident memory after {len(pairs)} study pairs | {rss_after:.0f} MB |")
    print(f"| resident memory once the background warm-up is complete | {rss_warm:.0f} MB |")
    print(f"| resident memory after restart | {rss_restart:.0f} MB |")
    print(
        f"| next + answer pair, median / p99 | {statistics.median(pairs):.1f} / {pct(pairs, 0.99):.1f} ms |"
    )
    print(f"| GET /health, median | {statistics.median(health):.1f} ms |")
    print(
        f"| pair / health median ratio | {statistics.median(pairs) / statistics.median(health):.1f}× |"
    )


if __name__ == "__main__":
    main()
