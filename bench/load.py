"""Concurrent study load on loopback (bounded: stops by itself).

Starts `flopcards serve` on 127.0.0.1 over a temporary SQLite file, registers N students
and has each run next → answer cycles for a fixed time, then reports throughput, latency
percentiles and errors. Question items are included when the server offers them.

Usage: .venv/bin/python bench/load.py [--students 50] [--seconds 30] [--questions]
                                      [--think 0.2] [--workers 1]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import IO

import aiohttp
import httpx

ROOT = Path(__file__).resolve().parents[1]
MAX_STEPS = 1_000_000  # a hard bound, whatever the duration


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(db: Path, port: int, workers: int, log: IO[bytes]) -> subprocess.Popen:
    """Start ``flopcards serve`` on loopback over ``db``; its stderr goes to ``log``."""
    env = os.environ | {
        "FLOPCARDS_DATABASE_URL": f"sqlite:///{db}",
        "FLOPCARDS_HOST": "127.0.0.1",
        "FLOPCARDS_PORT": str(port),
        "FLOPCARDS_RUN_EXAMPLES": "false",
    }
    exe = Path(sys.executable).with_name("flopcards")
    proc = subprocess.Popen(
        [str(exe), "serve", "--workers", str(workers)],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=log,
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


def answer_for(spec: dict) -> str:
    """A well-formed (and most likely wrong) answer to a question of this public form."""
    if spec["kind"] == "number":
        return f"42 {spec['unit']}" if spec.get("unit") else "42"
    if spec["kind"] == "shape":
        return "(1, 1, 1)"
    if spec["kind"] == "choice":
        return "a"
    return "; ".join(answer_for(part) for part in spec["parts"].values())


async def student(
    client: aiohttp.ClientSession,
    n: int,
    stop_at: float,
    questions: bool,
    stats: dict,
    think: float,
) -> None:
    async def call(method: str, path: str, **kw) -> tuple[int, dict]:
        async with client.request(method, path, **kw) as r:
            return r.status, await r.json()

    _, user = await call("POST", "/users", json={"name": f"student{n}"})
    h = {"Authorization": f"Bearer {user['token']}"}
    body = {"size": 500, "new_limit": 500, "include_questions": questions}
    sid = (await call("POST", "/sessions", json=body, headers=h))[1]["id"]
    ratings = ["good", "easy", "hard", "again"]
    i = 0
    while time.monotonic() < stop_at and stats["steps"] < MAX_STEPS:
        t0 = time.perf_counter()
        try:
            status, item = await call("GET", f"/sessions/{sid}/next", headers=h)
            if status != 200:
                stats["errors"].append(f"next {status}: {str(item)[:100]}")
                continue
            if item.get("done"):
                sid = (await call("POST", "/sessions", json=body, headers=h))[1]["id"]
                continue
            answer: dict = {"item_id": item["item_id"], "elapsed_ms": 1000}
            if item["kind"] == "card":
                answer["rating"] = ratings[i % 4]
            else:
                answer["answer"] = answer_for(item["question"]["answer"])
            status, out = await call("POST", f"/sessions/{sid}/answer", json=answer, headers=h)
            if status != 200:
                stats["errors"].append(f"answer {status}: {str(out)[:100]}")
                continue
            if not out["recorded"]:  # unreadable: would repeat the same question forever
                stats["errors"].append(f"answer not recorded: {str(out)[:100]}")
                continue
        except (TimeoutError, aiohttp.ClientError) as exc:
            stats["errors"].append(f"{type(exc).__name__}: {exc}")
            continue
        stats["latency"].append((time.perf_counter() - t0) * 1000)
        stats["steps"] += 1
        stats["questions"] += item["kind"] == "question"
        i += 1
        if think:
            await asyncio.sleep(think)


async def run(students: int, seconds: float, port: int, questions: bool, think: float) -> dict:
    """Run ``students`` study loops against the server for ``seconds``; gather the stats."""
    stats: dict = {"steps": 0, "questions": 0, "latency": [], "errors": []}
    # aiohttp rather than httpx: the load generator shares the 2 cores with the server, and
    # aiohttp spends several times less CPU per request.
    connector = aiohttp.TCPConnector(limit=students + 5)
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(
        base_url=f"http://127.0.0.1:{port}", connector=connector, timeout=timeout
    ) as client:
        t0 = time.monotonic()
        stop_at = t0 + seconds
        await asyncio.gather(
            *(student(client, n, stop_at, questions, stats, think) for n in range(students))
        )
        stats["wall"] = time.monotonic() - t0
    return stats


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process and its children so far (Linux /proc)."""
    total = 0.0
    tick = os.sysconf("SC_CLK_TCK")
    for p in [pid, *children(pid)]:
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / tick  # utime, stime
    return total


def children(pid: int) -> list[int]:
    """Direct child processes (uvicorn workers) of ``pid``."""
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(c) for c in text.split()]


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))] if values else float("nan")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--students", type=int, default=50)
    ap.add_argument("--seconds", type=float, default=30)
    ap.add_argument("--questions", action="store_true", help="include generated questions")
    ap.add_argument("--workers", type=int, default=1, help="server processes")
    ap.add_argument("--think", type=float, default=0.0, help="seconds a student pauses per step")
    ap.add_argument("--settle", type=float, default=10.0, help="seconds to wait after start-up")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp, open(Path(tmp) / "server.log", "w+b") as log:
        port = free_port()
        # The log goes to a file: a pipe nobody reads during the run would fill and stall it.
        proc = start_server(Path(tmp) / "load.db", port, args.workers, log)
        # A running service has long finished its one-time background warm-up (torch import,
        # question-family caches, about 5 s); measure that steady state.
        time.sleep(args.settle)
        server_cpu0, client_cpu0 = cpu_seconds(proc.pid), time.process_time()
        try:
            stats = asyncio.run(run(args.students, args.seconds, port, args.questions, args.think))
            server_cpu = cpu_seconds(proc.pid) - server_cpu0
            client_cpu = time.process_time() - client_cpu0
        finally:
            proc.terminate()
            proc.wait(timeout=30)
        log.seek(0)
        locked = log.read().decode(errors="replace").count("database is locked")
    lat = stats["latency"]
    print(f"| students | {args.students} for {stats['wall']:.1f} s, think time {args.think} s |")
    print(f"| server processes | {args.workers} |")
    print(f"| completed study steps (next + answer) | {stats['steps']} |")
    print(f"| of which generated questions | {stats['questions']} |")
    print(f"| throughput | {stats['steps'] / stats['wall']:.0f} steps/s |")
    print(f"| step latency p50 / p99 | {pct(lat, 0.5):.0f} / {pct(lat, 0.99):.0f} ms |")
    print(f"| mean latency | {statistics.mean(lat) if lat else float('nan'):.0f} ms |")
    steps = max(1, stats["steps"])
    print(f"| server CPU per step | {server_cpu / steps * 1000:.1f} ms |")
    print(f"| load-client CPU per step | {client_cpu / steps * 1000:.1f} ms |")
    print(f"| errors | {len(stats['errors'])} |")
    print(f"| 'database is locked' in server log | {locked} |")
    for e in stats["errors"][:5]:
        print("  error:", e)


if __name__ == "__main__":
    main()
