"""Concurrent study load on loopback (bounded: stops by itself).

Starts `flopcards serve` on 127.0.0.1 over a temporary SQLite file, registers N students
and has each run next → answer cycles for a fixed time, then reports throughput, latency
percentiles and errors. Question items are included when the server offers them.

Usage: .venv/bin/python bench/load.py [--students 50] [--seconds 30] [--questions]
                                      [--think 0.2] [--workers 1]

Replicas on PostgreSQL: `--replicas 1,2,3` runs, for each N, N separate server processes
on one fresh PostgreSQL database (the URL from --pg-url or FLOPCARDS_TEST_DATABASE_URL, as
`scripts/with-postgres.sh` provides) and prints one table row per N. Students are spread
over the replicas round-robin, as a load balancer would; with --proxy, through nginx.

    scripts/with-postgres.sh .venv/bin/python bench/load.py --replicas 1,2,3 --think 0.2
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
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


def start_server(db_url: str, port: int, workers: int, log: IO[bytes]) -> subprocess.Popen:
    """Start ``flopcards serve`` on loopback over ``db_url``; its stderr goes to ``log``."""
    env = os.environ | {
        "FLOPCARDS_DATABASE_URL": db_url,
        "FLOPCARDS_HOST": "127.0.0.1",
        "FLOPCARDS_PORT": str(port),
        "FLOPCARDS_RUN_EXAMPLES": "false",
        # Every simulated student registers from this one address: not a registration flood.
        "FLOPCARDS_REGISTER_BURST": "1000000",
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


async def run(
    students: int, seconds: float, ports: list[int], questions: bool, think: float
) -> dict:
    """Run ``students`` study loops for ``seconds``, student n on server ``n % len(ports)``;
    gather the stats."""
    stats: dict = {"steps": 0, "questions": 0, "latency": [], "errors": []}
    # aiohttp rather than httpx: the load generator shares the 2 cores with the server, and
    # aiohttp spends several times less CPU per request.
    timeout = aiohttp.ClientTimeout(total=30)
    clients = [
        aiohttp.ClientSession(
            base_url=f"http://127.0.0.1:{port}",
            connector=aiohttp.TCPConnector(limit=students + 5),
            timeout=timeout,
        )
        for port in ports
    ]
    try:
        t0 = time.monotonic()
        stop_at = t0 + seconds
        await asyncio.gather(
            *(
                student(clients[n % len(clients)], n, stop_at, questions, stats, think)
                for n in range(students)
            )
        )
        stats["wall"] = time.monotonic() - t0
    finally:
        for client in clients:
            await client.close()
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


def measure(args: argparse.Namespace, db_url: str, replicas: int, tmp: Path) -> dict:
    """Start ``replicas`` servers (each with ``args.workers`` processes) on ``db_url``,
    optionally behind nginx, run the load and gather stats, CPU and locked-database errors."""
    logs = [open(tmp / f"server{i}.log", "w+b") for i in range(replicas)]  # noqa: SIM115
    procs: list[subprocess.Popen] = []
    proxy = None
    try:
        ports = [free_port() for _ in range(replicas)]
        # The log goes to a file: a pipe nobody reads during the run would fill and stall it.
        procs = [
            start_server(db_url, port, args.workers, log)
            for port, log in zip(ports, logs, strict=True)
        ]
        if args.proxy:
            proxy, port = start_nginx(ports, tmp)
            ports = [port]
        # A running service has long finished its one-time background warm-up (torch import,
        # question-family caches, about 5 s); measure that steady state.
        time.sleep(args.settle)
        server_cpu0, client_cpu0 = sum(cpu_seconds(p.pid) for p in procs), time.process_time()
        stats = asyncio.run(run(args.students, args.seconds, ports, args.questions, args.think))
        stats["server_cpu"] = sum(cpu_seconds(p.pid) for p in procs) - server_cpu0
        stats["client_cpu"] = time.process_time() - client_cpu0
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=30)
        if proxy is not None:
            proxy.terminate()
            proxy.wait(timeout=10)
    stats["locked"] = 0
    for log in logs:
        log.seek(0)
        stats["locked"] += log.read().decode(errors="replace").count("database is locked")
        log.close()
    return stats


NGINX_CONF = """worker_processes 1;
pid {tmp}/nginx.pid;
error_log {tmp}/nginx-error.log;
events {{ worker_connections 1024; }}
http {{
  access_log off;
  client_body_temp_path {tmp}; proxy_temp_path {tmp};
  fastcgi_temp_path {tmp}; uwsgi_temp_path {tmp}; scgi_temp_path {tmp};
  upstream flopcards {{ {servers} keepalive 64; }}
  server {{
    listen 127.0.0.1:{port};
    location / {{
      proxy_pass http://flopcards;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }}
  }}
}}
"""


def start_nginx(ports: list[int], tmp: Path) -> tuple[subprocess.Popen, int]:
    """nginx on loopback in front of the replicas (round-robin); its process and port."""
    exe = shutil.which("nginx") or "/usr/sbin/nginx"
    if not Path(exe).exists():
        raise SystemExit("--proxy needs nginx (apt-get install nginx)")
    port = free_port()
    servers = " ".join(f"server 127.0.0.1:{p};" for p in ports)
    conf = tmp / "nginx.conf"
    conf.write_text(NGINX_CONF.format(tmp=tmp, servers=servers, port=port))
    proc = subprocess.Popen([exe, "-c", str(conf), "-g", "daemon off;"])
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return proc, port
        except httpx.HTTPError:
            time.sleep(0.05)
    proc.kill()
    raise SystemExit("nginx did not start")


def report(args: argparse.Namespace, stats: dict, replicas: int) -> None:
    """The detailed table of one run."""
    lat = stats["latency"]
    print(f"| students | {args.students} for {stats['wall']:.1f} s, think time {args.think} s |")
    print(f"| server processes | {replicas} x {args.workers} |")
    print(f"| completed study steps (next + answer) | {stats['steps']} |")
    print(f"| of which generated questions | {stats['questions']} |")
    print(f"| throughput | {stats['steps'] / stats['wall']:.0f} steps/s |")
    print(f"| step latency p50 / p99 | {pct(lat, 0.5):.0f} / {pct(lat, 0.99):.0f} ms |")
    print(f"| mean latency | {statistics.mean(lat) if lat else float('nan'):.0f} ms |")
    steps = max(1, stats["steps"])
    print(f"| server CPU per step | {stats['server_cpu'] / steps * 1000:.1f} ms |")
    print(f"| load-client CPU per step | {stats['client_cpu'] / steps * 1000:.1f} ms |")
    print(f"| errors | {len(stats['errors'])} |")
    print(f"| 'database is locked' in server log | {stats['locked']} |")
    for e in stats["errors"][:5]:
        print("  error:", e)


def row(stats: dict, replicas: int) -> str:
    """One line of the replicas table."""
    lat, steps = stats["latency"], max(1, stats["steps"])
    share = 100 * stats["questions"] / steps
    return (
        f"| {replicas} | {stats['steps'] / stats['wall']:.0f} | {pct(lat, 0.5):.0f} / "
        f"{pct(lat, 0.99):.0f} ms | {stats['server_cpu'] / steps * 1000:.1f} ms | "
        f"{share:.0f}% | {len(stats['errors'])} |"
    )


def fresh_pg_database(admin_url: str) -> tuple[str, str]:
    """A new empty database on the PostgreSQL server of ``admin_url``: (its URL, its name)."""
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    name = f"flopcards_load_{os.getpid()}_{int(time.time() * 1000) % 10**8}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    admin.dispose()
    return make_url(admin_url).set(database=name).render_as_string(hide_password=False), name


def drop_pg_database(admin_url: str, name: str) -> None:
    from sqlalchemy import create_engine

    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.dispose()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--students", type=int, default=50)
    ap.add_argument("--seconds", type=float, default=30)
    ap.add_argument("--questions", action="store_true", help="include generated questions")
    ap.add_argument("--workers", type=int, default=1, help="server processes per replica")
    ap.add_argument("--think", type=float, default=0.0, help="seconds a student pauses per step")
    ap.add_argument("--settle", type=float, default=10.0, help="seconds to wait after start-up")
    ap.add_argument("--replicas", default=None, help="e.g. 1,2,3: replicas on PostgreSQL")
    ap.add_argument("--pg-url", default=os.environ.get("FLOPCARDS_TEST_DATABASE_URL"))
    ap.add_argument("--proxy", action="store_true", help="put nginx in front of the replicas")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        if args.replicas is None:
            report(args, measure(args, f"sqlite:///{tmp / 'load.db'}", 1, tmp), 1)
            return
        if not args.pg_url:
            raise SystemExit("--replicas needs --pg-url or FLOPCARDS_TEST_DATABASE_URL")
        print("| replicas | steps/s | p50 / p99 | server CPU per step | questions | errors |")
        print("|---:|---:|---:|---:|---:|---:|")
        for n in (int(x) for x in args.replicas.split(",")):
            url, name = fresh_pg_database(args.pg_url)
            try:
                stats = measure(args, url, n, tmp)
            finally:
                drop_pg_database(args.pg_url, name)
            print(row(stats, n), flush=True)
            for e in stats["errors"][:3]:
                print("  error:", e)


if __name__ == "__main__":
    main()
