"""Run a note's executable examples in a separate Python process and compare their output.

Each example runs in a fresh interpreter (``python -I``), in an empty temporary working
directory, with a time limit, and with the network switched off from inside: socket
connections and name look-ups raise before any packet leaves. Results are cached on disk by
a hash of the code and the interpreter, so a restart or a new database never runs the same
code twice.

Only notes of the content directory are ever run; imported notes' code is shown, never
executed (the caller decides what to pass here).
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

__all__ = ["RunResult", "run_example", "outputs_match", "ExampleCache", "example_key"]

DEFAULT_TIMEOUT_S = 30.0
MAX_OUTPUT_CHARS = 20_000

# Prepended to every example: blocks the network at the socket layer. A guard inside the
# process needs no privileges, unlike network namespaces, so it works in any container.
_GUARD = """\
import socket as _s
def _no_network(*args, **kwargs):
    raise OSError("network access is disabled in examples")
_s.socket.connect = _no_network
_s.socket.connect_ex = _no_network
_s.socket.sendto = _no_network
_s.create_connection = _no_network
_s.getaddrinfo = _no_network
del _s, _no_network
"""


@dataclass(frozen=True)
class RunResult:
    """What one run of an example printed and how it ended."""

    output: str
    exit_code: int | None  # None when the run was killed at the time limit
    duration_ms: int
    timed_out: bool = False

    @property
    def succeeded(self) -> bool:
        """True when the process exited 0 within the time limit."""
        return self.exit_code == 0 and not self.timed_out


def _normalise(text: str) -> str:
    """Trailing spaces on each line and trailing blank lines are not part of the output."""
    return "\n".join(line.rstrip() for line in text.replace("\r\n", "\n").split("\n")).strip("\n")


def outputs_match(actual: str, expected: str) -> bool:
    """Compare an example's real stdout with its expected block."""
    return _normalise(actual) == _normalise(expected)


def example_key(code: str, python: str = sys.executable) -> str:
    """Cache key: the code and the interpreter (a different torch may print differently)."""
    ident = f"{python}\n{platform.python_version()}\n{_torch_version()}\n{code}"
    return hashlib.sha256(ident.encode()).hexdigest()


def _torch_version() -> str:
    # Read the installed version without importing torch (which takes seconds).
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("torch")
    except PackageNotFoundError:
        return "none"


def run_example(
    code: str, timeout_s: float = DEFAULT_TIMEOUT_S, python: str = sys.executable
) -> RunResult:
    """Run ``code`` in a separate, isolated interpreter and capture stdout (and stderr)."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONHASHSEED": "0",
        "PYTHONDONTWRITEBYTECODE": "1",
        "OMP_NUM_THREADS": "1",
        "LANG": "C.UTF-8",
        "no_proxy": "*",
    }
    with tempfile.TemporaryDirectory(prefix="flopcards-example-") as workdir:
        script = Path(workdir) / "example.py"
        script.write_text(_GUARD + code + "\n", encoding="utf-8")
        start = time.perf_counter()
        proc = subprocess.Popen(
            [python, "-I", "-X", "utf8", str(script)],
            cwd=workdir,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        _lower_priority(proc.pid)
        try:
            stdout, stderr = proc.communicate(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            stdout, _ = proc.communicate()
            ms = int((time.perf_counter() - start) * 1000)
            out = stdout.decode("utf-8", "replace")
            return RunResult(_clip(out + f"\n[timed out after {timeout_s:g} s]"), None, ms, True)
        ms = int((time.perf_counter() - start) * 1000)
    out = stdout.decode("utf-8", "replace")
    if proc.returncode != 0:
        err = stderr.decode("utf-8", "replace")
        out = out + ("\n" if out and not out.endswith("\n") else "") + err
    return RunResult(_clip(out), proc.returncode, ms)


def _lower_priority(pid: int) -> None:
    """Examples are background work: they must never slow the service down."""
    try:
        os.setpriority(os.PRIO_PROCESS, pid, 10)
    except (AttributeError, OSError):  # not on this platform, or already gone
        pass


def _clip(text: str) -> str:
    return text if len(text) <= MAX_OUTPUT_CHARS else text[:MAX_OUTPUT_CHARS] + "\n[…]"


class ExampleCache:
    """Results of earlier runs, one JSON file per cache key, in a directory."""

    def __init__(self, directory: Path | str | None) -> None:
        self.directory = Path(directory) if directory else None

    def get(self, key: str) -> RunResult | None:
        """The cached result for ``key``, if any."""
        if self.directory is None:
            return None
        path = self.directory / f"{key}.json"
        try:
            return RunResult(**json.loads(path.read_text()))
        except (OSError, ValueError, TypeError):
            return None

    def put(self, key: str, result: RunResult) -> None:
        """Store a result; a failure to write only costs a re-run later."""
        if self.directory is None or result.timed_out:
            return
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            tmp = self.directory / f".{key}.tmp"
            tmp.write_text(json.dumps(asdict(result)))
            tmp.replace(self.directory / f"{key}.json")
        except OSError:
            pass

    def run(self, code: str, timeout_s: float = DEFAULT_TIMEOUT_S) -> tuple[RunResult, bool]:
        """Run ``code`` unless a cached result exists; return it and whether it was cached."""
        key = example_key(code)
        cached = self.get(key)
        if cached is not None:
            return cached, True
        result = run_example(code, timeout_s)
        self.put(key, result)
        return result, False
