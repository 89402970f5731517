"""Examples run in a separate, isolated process; results are cached by content hash."""

from __future__ import annotations

from pathlib import Path

from sqlmodel import Session, select

from api.tables import CardExample
from content.runner import ExampleCache, example_key, outputs_match, run_example

from .conftest import FIXTURE_NOTES


def test_runs_in_empty_dir_without_network() -> None:
    code = (
        "import os, socket\n"
        "print(sorted(os.listdir('.')))\n"
        "try:\n"
        "    socket.create_connection(('127.0.0.1', 9), timeout=1)\n"
        "except OSError as e:\n"
        "    print('blocked:', e)\n"
    )
    r = run_example(code, timeout_s=20)
    assert r.succeeded
    assert r.output == "['example.py']\nblocked: network access is disabled in examples\n"


def test_failure_timeout_and_output_comparison() -> None:
    bad = run_example("print('x')\nraise SystemExit(3)", timeout_s=20)
    assert (bad.exit_code, bad.succeeded) == (3, False) and bad.output.startswith("x\n")
    slow = run_example("import time\nprint('start', flush=True)\ntime.sleep(5)", timeout_s=1)
    assert slow.timed_out and slow.exit_code is None and "timed out after 1 s" in slow.output
    assert outputs_match("a  \nb\n\n", "a\nb")
    assert not outputs_match("a\nb", "a\nc")


def test_cache_by_content_hash(tmp_path: Path) -> None:
    cache = ExampleCache(tmp_path)
    first, cached = cache.run("print(6 * 7)")
    assert (first.output, cached) == ("42\n", False)
    again, cached = cache.run("print(6 * 7)")
    assert (again, cached) == (first, True)
    assert (tmp_path / f"{example_key('print(6 * 7)')}.json").exists()
    assert cache.run("print(6 * 8)")[1] is False


def test_app_runs_examples_in_background_and_serves_them(make_client, tmp_path) -> None:
    with make_client(run_examples=True, example_cache_dir=tmp_path / "cache") as client:
        assert client.app.state.example_runner.join(timeout=60)
        ex = client.get("/cards/alpha-one-by-one").json()["examples"][0]
        assert (ex["output"], ex["ok"]) == ("73728\n", True)
        assert ex["ran_at"] is not None and ex["duration_ms"] >= 0
        assert client.app.state.example_runner.ran == 1


def test_drifted_example_is_flagged(make_client, tmp_path) -> None:
    notes = tmp_path / "notes"
    notes.mkdir()
    text = (FIXTURE_NOTES / "alpha.md").read_text().replace("73728", "73729")
    (notes / "alpha.md").write_text(text)
    with make_client(
        content_dir=notes, run_examples=True, example_cache_dir=tmp_path / "c"
    ) as client:
        assert client.app.state.example_runner.join(timeout=60)
        with Session(client.app.state.engine) as s:
            ex = s.exec(select(CardExample)).one()
        assert (ex.output, ex.expected_output, ex.ok) == ("73728\n", "73729", False)
