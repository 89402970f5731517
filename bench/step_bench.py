"""Benchmark: server CPU per study step, a card against a generated question, per engine.

Run from the repository root:

    .venv/bin/python bench/step_bench.py [--previous COMMIT] [--rounds 5]
    scripts/with-postgres.sh .venv/bin/python bench/step_bench.py --engines sqlite,postgresql

For each engine (and, with ``--previous``, for that commit's code checked out in a temporary
worktree, started side by side) one server runs on loopback with a fresh database. After the
background warm-up (``--settle``), each round registers a new student and measures the
server's own CPU time (utime + stime from /proc, so the load generator and other processes on
the machine do not count: the figures hold on a machine others load too) over:

- card steps: ``GET /sessions/{id}/next`` + ``POST /sessions/{id}/answer`` with a rating,
  ``--steps`` of them, in a session of cards only;
- question steps: the same with an answer, in a session that lists every question family
  once (a new item each), then a second such session (reviews: each needs a fresh variant,
  other than the one the student saw last).

One client, one step at a time: the figures are CPU per step, not capacity (``load.py``
measures that). Prints the medians over ``--rounds`` as a markdown table, with the ratios.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.load import cpu_seconds, drop_pg_database, free_port, fresh_pg_database  # noqa: E402


def start(code: Path, db_url: str, log: Path) -> tuple[subprocess.Popen, str]:
    """``flopcards serve`` running ``code`` (a checkout) on ``db_url``; returns it and its URL."""
    port = free_port()
    env = os.environ | {
        "FLOPCARDS_DATABASE_URL": db_url,
        "FLOPCARDS_HOST": "127.0.0.1",
        "FLOPCARDS_PORT": str(port),
        "FLOPCARDS_RUN_EXAMPLES": "false",
        "PYTHONPATH": str(code),
    }
    proc = subprocess.Popen(
        [sys.executable, "-c", "from api.cli import app; app()", "serve"],
        env=env,
        cwd=code,
        stdout=subprocess.DEVNULL,
        stderr=log.open("wb"),
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 300  # a loaded machine starts slowly
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                return proc, base
        except httpx.HTTPError:
            time.sleep(0.05)
    proc.kill()
    raise SystemExit(f"server did not start: {log.read_text()[-2000:]}")


def settle(pids: list[int], at_least: float, idle_cpu: float = 0.05, window: float = 3.0) -> None:
    """Wait ``at_least`` seconds, then until every server is idle (under ``idle_cpu`` s of CPU
    over ``window`` s): the one-time background warm-up (torch, every family's caches and
    level-1 pools, about 10 s of one core) must not count in the rounds, and on a loaded
    machine it takes several times its own CPU time in wall time."""
    time.sleep(at_least)
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        before = [cpu_seconds(p) for p in pids]
        time.sleep(window)
        if all(cpu_seconds(p) - b < idle_cpu for p, b in zip(pids, before, strict=True)):
            return
    print("warning: a server never went idle; measuring anyway", file=sys.stderr)


def _answer_for(spec: dict) -> str:
    from bench.load import answer_for

    return answer_for(spec)


def _steps(client: httpx.Client, sid: int, headers: dict, limit: int) -> tuple[int, int]:
    """Run next + answer until the session is done or ``limit`` steps: (cards, questions)."""
    cards = questions = 0
    for _ in range(limit):
        item = client.get(f"/sessions/{sid}/next", headers=headers).json()
        if item.get("done"):
            break
        body: dict = {"item_id": item["item_id"], "elapsed_ms": 1000}
        if item["kind"] == "card":
            body["rating"] = "good"
            cards += 1
        else:
            body["answer"] = _answer_for(item["question"]["answer"])
            questions += 1
        out = client.post(f"/sessions/{sid}/answer", json=body, headers=headers)
        assert out.status_code == 200 and out.json()["recorded"], out.text[:300]
    return cards, questions


def one_round(proc: subprocess.Popen, base: str, steps: int, n: int) -> tuple[float, float]:
    """Server CPU ms per card step and per question step for one new student."""
    with httpx.Client(base_url=base, timeout=60) as client:
        token = client.post("/users", json={"name": f"bench{n}-{time.time_ns()}"}).json()["token"]
        headers = {"Authorization": f"Bearer {token}"}
        families = [f["id"] for f in client.get("/questions/families", headers=headers).json()]
        body = {"size": steps, "new_limit": steps, "include_questions": False}
        sid = client.post("/sessions", json=body, headers=headers).json()["id"]
        cpu = cpu_seconds(proc.pid)
        cards, _ = _steps(client, sid, headers, steps)
        card_ms = (cpu_seconds(proc.pid) - cpu) * 1000 / cards
        items = [f"q:{f}" for f in families][:200]
        cpu = cpu_seconds(proc.pid)
        questions = 0
        for _ in range(2):  # new items, then reviews of the same families
            body = {"item_ids": items, "size": len(items)}
            sid = client.post("/sessions", json=body, headers=headers).json()["id"]
            questions += _steps(client, sid, headers, len(items))[1]
        question_ms = (cpu_seconds(proc.pid) - cpu) * 1000 / questions
    return card_ms, question_ms


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--engines", default="sqlite", help="sqlite,postgresql")
    ap.add_argument("--pg-url", default=os.environ.get("FLOPCARDS_TEST_DATABASE_URL"))
    ap.add_argument("--previous", default=None, help="a commit to measure beside this tree")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--steps", type=int, default=150)
    ap.add_argument("--settle", type=float, default=15.0, help="seconds at least, then idle")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="flopcards-steps-"))
    codes = {"this tree": ROOT}
    if args.previous:
        prev = tmp / "previous"
        subprocess.run(
            ["git", "-C", str(ROOT), "worktree", "add", "--detach", str(prev), args.previous],
            check=True,
            capture_output=True,
        )
        codes[f"previous ({args.previous[:7]})"] = prev
    servers = []
    pg_names = []
    try:
        for engine in args.engines.split(","):
            for label, code in codes.items():
                if engine == "sqlite":
                    url = f"sqlite:///{tmp}/{len(servers)}.db"
                else:
                    if not args.pg_url:
                        sys.exit("postgresql needs --pg-url or FLOPCARDS_TEST_DATABASE_URL")
                    url, name = fresh_pg_database(args.pg_url)
                    pg_names.append(name)
                proc, base = start(code, url, tmp / f"server{len(servers)}.log")
                servers.append((engine, label, proc, base))
        settle([proc.pid for *_, proc, _ in servers], args.settle)
        samples: dict[tuple[str, str], list[tuple[float, float]]] = {}
        for r in range(args.rounds):  # interleaved, so a noisy moment hits every server
            for engine, label, proc, base in servers:
                samples.setdefault((engine, label), []).append(one_round(proc, base, args.steps, r))
    finally:
        for *_, proc, _ in servers:
            proc.terminate()
        for *_, proc, _ in servers:
            proc.wait(timeout=30)
        for name in pg_names:
            drop_pg_database(args.pg_url, name)
        if args.previous:
            subprocess.run(
                ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tmp / "previous")],
                check=False,
                capture_output=True,
            )
    print(
        f"server CPU per step, medians of {args.rounds} rounds ({args.steps} card steps, "
        "2 x every family's question steps per round)\n"
    )
    print("| engine | code | card step | question step | question / card |")
    print("|---|---|---:|---:|---:|")
    medians = {}
    for (engine, label), values in samples.items():
        card = statistics.median(v[0] for v in values)
        question = statistics.median(v[1] for v in values)
        medians[(engine, label)] = (card, question)
        print(
            f"| {engine} | {label} | {card:.2f} ms | {question:.2f} ms | {question / card:.2f}× |"
        )
    engines = args.engines.split(",")
    if "sqlite" in engines and "postgresql" in engines:
        print("\n| code | PostgreSQL / SQLite, card step | question step |")
        print("|---|---:|---:|")
        for label in codes:
            s, p = medians[("sqlite", label)], medians[("postgresql", label)]
            print(f"| {label} | {p[0] / s[0]:.2f}× | {p[1] / s[1]:.2f}× |")


if __name__ == "__main__":
    main()
