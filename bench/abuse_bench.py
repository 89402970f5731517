"""Hostile requests against a real server: how much the database grows and how long `/health`
takes for another client while each runs (issue 15's proofs of concept).

Starts `flopcards serve` on a free loopback port over a fresh SQLite file, registers a user,
then for each case samples `GET /health` every 20 ms from a second client while the case's
request runs, and prints the case's status, response size, database growth and the health
latencies (median, p95, max). Run with `.venv/bin/python bench/abuse_bench.py`.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
FIXTURE_NOTES = ROOT / "tests" / "fixtures" / "notes"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(db: Path, port: int, **env: str) -> subprocess.Popen:
    environ = (
        os.environ
        | {
            "FLOPCARDS_DATABASE_URL": f"sqlite:///{db}",
            "FLOPCARDS_CONTENT_DIR": str(FIXTURE_NOTES),
            "FLOPCARDS_PORT": str(port),
            "FLOPCARDS_RUN_EXAMPLES": "false",
            "FLOPCARDS_WARM_UP": "false",
            "FLOPCARDS_ADMIN_TOKEN": "admin-secret",
            "FLOPCARDS_OPEN_REGISTRATION": "false",
        }
        | env
    )
    # `python -c` rather than the `flopcards` script, so that PYTHONPATH can point the bench
    # at another checkout (the figures "before" come from the commit before the fixes).
    command = [sys.executable, "-c", "from api.cli import app; app()", "serve"]
    proc = subprocess.Popen(
        command,
        env=environ,
        stdout=subprocess.DEVNULL,
        stderr=None if os.environ.get("BENCH_SERVER_LOG") else subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.05)
    proc.kill()
    raise SystemExit("server did not start")


def db_bytes(db: Path) -> int:
    return sum(p.stat().st_size for p in db.parent.glob(db.name + "*") if p.is_file())


def while_sampling(base: str, action) -> tuple[object, list[float]]:
    """Run ``action()`` while another client samples /health; return its result and latencies."""
    stop = threading.Event()
    samples: list[float] = []

    def sample() -> None:
        with httpx.Client(base_url=base, timeout=60) as c:
            while not stop.is_set():
                t0 = time.perf_counter()
                c.get("/health")
                samples.append((time.perf_counter() - t0) * 1000)
                time.sleep(0.02)

    t = threading.Thread(target=sample)
    t.start()
    time.sleep(0.2)
    try:
        result = action()
    finally:
        time.sleep(0.1)
        stop.set()
        t.join()
    return result, samples


def summary(samples: list[float]) -> str:
    if not samples:
        return "no samples"
    s = sorted(samples)
    p95 = s[min(len(s) - 1, int(0.95 * len(s)))]
    return f"n={len(s)} median {statistics.median(s):.1f} ms, p95 {p95:.1f} ms, max {s[-1]:.1f} ms"


def cases(auth: dict[str, str]) -> list[tuple[str, str, str, dict, bytes]]:
    """(name, method, path, headers, body) of each proof of concept."""
    md = {"content-type": "text/markdown"}
    js = {"content-type": "application/json"}
    tags = ", ".join(f"tag-ÿ{i:05d}" for i in range(9_700))
    cards = "".join(f"Q: q{i}?\nA: a\n" for i in range(1_500))
    long_tags = f"---\ntopic: tagbomb\ntitle: T\ntags: [{tags}]\n---\n{cards}"
    yaml_1mb = (
        "---\ntopic: bigyaml\ntitle: T\nextra:\n"
        + "".join(f"  k{i}: [{', '.join(['v'] * 20)}]\n" for i in range(13_000))
        + "---\nQ: q?\nA: a\n"
    )
    nested = "---\ntopic: nest\ntitle: T\ntags: " + "[" * 3000 + "]" * 3000 + "\n---\nQ: q?\nA: a\n"
    junk = "".join(f"junk line {i} without a question mark\n" for i in range(23_000))[:800_000]
    pool = {
        "input_shape": [3, 32, 32],
        "layers": [{"type": "maxpool2d", "kernel_size": 2, "dilation": 3, "padding": 2}],
    }
    heavy = {
        "input_shape": [32, 56, 56],
        "layers": [{"type": "inverted_residual", "out_channels": 32, "expand_ratio": 6}] * 50,
    }
    old_heavy = {
        "input_shape": [64, 56, 56],
        "layers": [{"type": "bottleneck", "planes": 16, "se_reduction": 4} for _ in range(500)],
    }
    tags = [f"{i:02d}" + "é" * 38 for i in range(32)]
    big = (
        f"---\ntopic: heavy\ntitle: Heavy\ntags: {json.dumps(tags, ensure_ascii=False)}\n---\n"
        + "".join(f"Q: question {i}?\nA: {'answer ' * 70}{i}\n" for i in range(2000))
    )
    return [
        (
            "148 KB note, long tags list, 1,500 cards",
            "POST",
            "/notes/import",
            auth | md,
            long_tags.encode(),
        ),
        ("~1 MB YAML front matter", "POST", "/notes/import", auth | md, yaml_1mb.encode()),
        ("3,000 nested [ in front matter", "POST", "/notes/import", auth | md, nested.encode()),
        (
            "800 KB of junk lines (plain text)",
            "POST",
            "/notes/import?topic=junk",
            auth | {"content-type": "text/plain"},
            junk.encode(),
        ),
        ("pooling padding > kernel/2 (dilated)", "POST", "/profile", js, json.dumps(pool).encode()),
        ("lone surrogate in a user name", "POST", "/users", js, b'{"name": "a\\ud800b"}'),
        (
            "lone surrogate in a topic query",
            "POST",
            "/notes/import?topic=%ED%A0%80",
            auth | {"content-type": "text/plain"},
            b"Q?\nA\n",
        ),
        (
            "non-ASCII bearer token (admin token set)",
            "POST",
            "/users",
            js | {"authorization": "Bearer tökén".encode()},
            b'{"name": "x"}',
        ),
        (
            "heaviest allowed import: 2,000 cards, 32 tags, 1 MiB",
            "POST",
            "/notes/import",
            auth | md,
            big.encode(),
        ),
        (
            "heaviest allowed profile: 50 inverted residuals (600 modules)",
            "POST",
            "/profile",
            js,
            json.dumps(heavy).encode(),
        ),
        (
            "500 bottleneck+SE blocks (allowed before, 10,000 modules)",
            "POST",
            "/profile",
            js,
            json.dumps(old_heavy).encode(),
        ),
        (
            "uncached architecture profile (resnet50, 512 px, batch 7)",
            "GET",
            "/architectures/resnet50/profile?input_size=512&batch=7",
            {},
            b"",
        ),
    ]


def main() -> None:
    tmp = Path(tempfile.mkdtemp(prefix="flopcards-abuse-"))
    db = tmp / "abuse.db"
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = start(db, port)
    try:
        with httpx.Client(base_url=base, timeout=120) as c:
            admin = {"authorization": "Bearer admin-secret"}
            token = c.post("/users", json={"name": "mallory"}, headers=admin).json()["token"]
            auth = {"authorization": f"Bearer {token}"}
            c.post("/profile", json={"input_shape": [3, 8, 8], "layers": [{"type": "relu"}]})
            _, idle = while_sampling(base, lambda: time.sleep(1.0))
            print(f"idle /health: {summary(idle)}")
            for name, method, path, headers, body in cases(auth):
                before = db_bytes(db)

                def send(method=method, path=path, headers=headers, body=body):
                    t0 = time.perf_counter()
                    r = c.request(method, path, headers=headers, content=body)
                    return r, time.perf_counter() - t0

                (r, took), samples = while_sampling(base, send)
                grew = db_bytes(db) - before
                print(
                    f"- {name}: {r.status_code} in {took * 1000:.0f} ms, response "
                    f"{len(r.content):,} B, database +{grew / 2**20:.2f} MiB; "
                    f"/health {summary(samples)}"
                )
                if r.status_code >= 400:
                    print(f"    {r.text[:160]}")
    finally:
        server.terminate()
        server.wait(timeout=10)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
