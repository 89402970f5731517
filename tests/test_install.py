"""What `make run` and `make test` install: the CPU build of torch at exactly the pinned
version, from a local wheel when pip's find-links has one, and a quick, clear failure (never
a hang) when PyTorch's index cannot be reached. Also the licence the package declares."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "install-torch.sh"
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
PIN = next(d for d in PYPROJECT["project"]["dependencies"] if d.startswith("torch"))


def _run(python: Path | str, *args: str, env: dict[str, str] | None = None, timeout: float = 60):
    return subprocess.run(
        [str(SCRIPT), str(python), *args],
        env=os.environ | (env or {}),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.fixture(scope="module")
def bare_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A new virtual environment without torch: what a fresh clone starts from."""
    venv = tmp_path_factory.mktemp("venv")
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    return venv / "bin" / "python"


def test_the_pin_is_exact_and_the_installed_torch_is_the_cpu_build() -> None:
    import torch

    assert re.fullmatch(r"torch==\d+\.\d+\.\d+", PIN), PIN
    assert torch.__version__.split("+")[0] == PIN.removeprefix("torch==")
    assert not torch.version.cuda, "the CUDA build of torch is installed"


def test_an_installed_torch_at_the_pinned_version_is_kept() -> None:
    result = _run(sys.executable, "--dry-run", env={"TORCH_INDEX": "http://127.0.0.1:9/"})
    assert result.returncode == 0, result.stderr
    assert "already installed" in result.stdout


def test_a_local_wheel_is_preferred_to_any_download(bare_venv: Path) -> None:
    wheels = [
        p
        for d in os.environ.get("PIP_FIND_LINKS", "/opt/wheels").split()
        for p in Path(d).glob("torch-*.whl")
    ]
    if not wheels:
        pytest.skip("no torch wheel in pip's find-links on this machine")
    result = _run(bare_venv, "--dry-run", env={"TORCH_INDEX": ""})
    assert result.returncode == 0, result.stderr
    assert f"{PIN} from a local wheel" in result.stdout


def test_an_unreachable_index_fails_fast_and_says_what_to_do(bare_venv: Path) -> None:
    """No find-links, no pip.conf: the index is the only source, and it refuses connections
    (a closed port on this machine). pip's retries are bounded: seconds, not minutes."""
    env = {"PIP_CONFIG_FILE": os.devnull, "PIP_FIND_LINKS": "", "PIP_EXTRA_INDEX_URL": ""}
    result = _run(bare_venv, "--dry-run", env=env | {"TORCH_INDEX": "http://127.0.0.1:9/"})
    assert result.returncode == 1
    assert f"could not install {PIN} from http://127.0.0.1:9/" in result.stderr
    assert "TORCH_INDEX" in result.stderr and "PIP_FIND_LINKS" in result.stderr


def test_make_installs_torch_through_the_script_before_the_project() -> None:
    makefile = (ROOT / "Makefile").read_text()
    for stamp in ("$(STAMP):", "$(DEVSTAMP):"):
        recipe = makefile.split(stamp, 1)[1].split("\n\n", 1)[0]
        assert recipe.index("scripts/install-torch.sh") < recipe.index("pip install -q -e")
    # The Dockerfile takes the same version from PyTorch's CPU index.
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "ARG TORCH_INDEX=https://download.pytorch.org/whl/cpu" in dockerfile
    assert f'--index-url "$TORCH_INDEX" {PIN}' in dockerfile


def test_the_licence_file_matches_the_declared_licence() -> None:
    assert PYPROJECT["project"]["license"] == "MIT"
    assert PYPROJECT["project"]["license-files"] == ["LICENSE"]
    text = (ROOT / "LICENSE").read_text()
    assert text.startswith("MIT License\n")
    assert "Permission is hereby granted, free of charge" in text


@pytest.mark.skipif(os.geteuid() != 0 or not Path("/usr/sbin/runuser").exists(), reason="needs root to become another user")  # fmt: skip
def test_apt_installs_are_skipped_with_a_message_when_not_root() -> None:
    """`make test` as an ordinary user: no apt error and no sudo prompt, one line saying
    what was not installed and which tests will be skipped; make goes on (exit 0)."""
    script = ROOT / "scripts" / "apt-install.sh"
    result = subprocess.run(
        ["runuser", "-u", "nobody", "--", str(script), "the browser tests will be skipped", "flopcards-no-such-package"],
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert result.returncode == 0
    assert result.stderr == (
        "apt-install: not root, so not running apt-get install flopcards-no-such-package: "
        "the browser tests will be skipped (install them as root to run those tests)\n"
    )
