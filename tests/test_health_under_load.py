"""While one client runs the heaviest import and the heaviest profile the limits allow, another
client's ``GET /health`` keeps answering within tens of milliseconds: nothing heavy runs on
the event loop, and no full garbage collection over torch's objects holds the GIL for long.

A real server (``flopcards serve``) on 127.0.0.1, measured from a second client. The bounds
are loose enough for a shared two-core machine and tight enough to fail if the work came
back on the loop (an import held it for 10 s, a profile's build for 0.2-1 s, a collection
over torch for up to 1 s). A latency bound met in one of two runs: a stall caused by the
code repeats, one caused by a neighbour on the machine rarely does.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from .servers import free_port, spawn, wait_healthy

# Wall-clock bounds: these run alone, after the parallel part of the suite (conftest).
pytestmark = pytest.mark.serial

P95_MS = 100.0  # idle: about 10 ms here
MAX_MS = 400.0


def _serve(db: Path, port: int) -> subprocess.Popen:
    proc = spawn(f"sqlite:///{db}", port)
    wait_healthy(proc, port)
    return proc


def _health_during(
    base: str, work: Callable[[], httpx.Response]
) -> tuple[httpx.Response, list[float]]:
    """Run ``work`` while another client asks for /health every 10 ms; its latencies (ms)."""
    done = threading.Event()
    latencies: list[float] = []

    def sample() -> None:
        with httpx.Client(base_url=base, timeout=30) as c:
            while not done.is_set():
                start = time.perf_counter()
                assert c.get("/health").status_code == 200
                latencies.append((time.perf_counter() - start) * 1000)
                time.sleep(0.01)

    sampler = threading.Thread(target=sample)
    sampler.start()
    time.sleep(0.1)
    try:
        response = work()
    finally:
        done.set()
        sampler.join()
    return response, latencies


def _p95(latencies: list[float]) -> float:
    ordered = sorted(latencies)
    return ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]


def _report(what: str, latencies: list[float]) -> str:
    return (
        f"{what}: /health n={len(latencies)} median {statistics.median(latencies):.1f} ms, "
        f"p95 {_p95(latencies):.1f} ms, max {max(latencies):.1f} ms"
    )


def _heaviest_import() -> bytes:
    """The most an import may hold: 2,000 cards and the note's 32 longest tags, ~1 MiB."""
    tags = [f"{i:02d}" + "é" * 38 for i in range(32)]
    head = f"---\ntopic: heavy\ntitle: Heavy\ntags: {json.dumps(tags, ensure_ascii=False)}\n---\n"
    cards = "".join(f"Q: question {i}?\nA: {'answer ' * 70}{i}\n" for i in range(2000))
    note = (head + cards).encode()
    assert 1_000_000 < len(note) <= 1_048_576 and len(head.encode()) <= 8192
    return note


# The heaviest spec: 50 expanded inverted residuals build 600 torch modules, the limit.
HEAVIEST_PROFILE = {
    "input_shape": [32, 56, 56],
    "layers": [{"type": "inverted_residual", "out_channels": 32, "expand_ratio": 6}] * 50,
}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):
    port = free_port()
    proc = _serve(tmp_path_factory.mktemp("load") / "load.db", port)
    base = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(base_url=base, timeout=120) as c:
            token = c.post("/users", json={"name": "heavy"}).json()["token"]
            # First use of torch (seconds, once per process): measured apart, not bounded.
            r, first = _health_during(base, lambda: c.post(
                "/profile", json={"input_shape": [3, 8, 8], "layers": [{"type": "relu"}]}
            ))  # fmt: skip
            assert r.status_code == 200
            print(_report("during the first use of torch", first))
        yield base, {"Authorization": f"Bearer {token}"}
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _bounded(base: str, what: str, work: Callable[[], httpx.Response]) -> None:
    for attempt in range(2):
        response, latencies = _health_during(base, work)
        assert response.status_code == 200, response.text
        print(_report(f"{what} (run {attempt + 1})", latencies))
        if _p95(latencies) <= P95_MS and max(latencies) <= MAX_MS:
            return
    raise AssertionError(_report(what, latencies))


def test_health_answers_while_the_heaviest_import_runs(server) -> None:
    base, auth = server
    note = _heaviest_import()
    topic = iter(range(10))

    def work() -> httpx.Response:
        body = note.replace(b"topic: heavy", f"topic: heavy-{next(topic)}".encode())
        with httpx.Client(base_url=base, timeout=120) as c:
            r = c.post(
                "/notes/import", content=body, headers=auth | {"content-type": "text/markdown"}
            )
        assert r.json()["cards_added"] == 2000, r.text
        return r

    _bounded(base, "importing 2,000 cards (1 MiB)", work)


def test_health_answers_while_the_heaviest_profile_runs(server) -> None:
    base, _ = server

    def work() -> httpx.Response:
        with httpx.Client(base_url=base, timeout=120) as c:
            r = c.post("/profile", json=HEAVIEST_PROFILE)
        assert len(r.json()["layers"]) == 50 * 8, r.text[:200]  # leaf layers
        return r

    _bounded(base, "profiling 600 torch modules", work)
