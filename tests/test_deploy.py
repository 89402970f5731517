"""The compose file and Dockerfile name only things the app honours, and the compose command
serves /health when run outside a container (no Docker engine here)."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import tomllib
import urllib.request
from pathlib import Path

import yaml

from api.settings import Settings

ROOT = Path(__file__).resolve().parents[1]


def _compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def _interpolate(value: str) -> str:
    """Resolve ${VAR:-default} the way compose does when VAR is unset."""
    return re.sub(r"\$\{[A-Z_]+:-([^}]*)\}", r"\1", str(value)) or None


def test_compose_names_what_the_app_honours() -> None:
    svc = _compose()["services"]["flopcards"]
    env = {k: v for k, v in ((k, _interpolate(v)) for k, v in svc["environment"].items()) if v}
    fields = {f"FLOPCARDS_{name.upper()}" for name in Settings.model_fields}
    assert set(env) <= fields, set(env) - fields
    settings = Settings(**{k.removeprefix("FLOPCARDS_").lower(): v for k, v in env.items()})
    assert settings.port == 8000 and settings.host == "0.0.0.0"
    assert settings.open_registration is False  # users come from create-user or the admin token
    assert settings.admin_token is None
    assert svc["ports"] == [f"{settings.port}:{settings.port}"]
    volume_name, target = svc["volumes"][0].split(":")
    assert target == "/data" and volume_name in _compose()["volumes"]
    assert settings.database_url == "sqlite:////data/flopcards.db"  # the file lives in the volume
    pg = _compose()["services"]["postgres"]
    assert pg["profiles"] == ["postgres"] and pg["environment"]["POSTGRES_DB"] == "flopcards"
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert svc["command"][0] in scripts and svc["command"][1] == "serve"
    assert "/health" in " ".join(svc["healthcheck"]["test"])
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert dockerfile.startswith("# flopcards") and "FROM python:3.11-slim" in dockerfile
    assert "torch==2.13.0" in dockerfile and 'CMD ["flopcards", "serve"]' in dockerfile
    for path in re.findall(r"^COPY (\S+)", dockerfile, flags=re.M):
        assert (ROOT / path).exists(), path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_compose_command_serves_health_outside_a_container(tmp_path) -> None:
    svc = _compose()["services"]["flopcards"]
    port = _free_port()
    env = {k: v for k, v in ((k, _interpolate(v)) for k, v in svc["environment"].items()) if v}
    env |= {
        # /data is the container's volume; here a temporary folder stands in for it.
        "FLOPCARDS_DATABASE_URL": env["FLOPCARDS_DATABASE_URL"].replace("/data", str(tmp_path)),
        "FLOPCARDS_HOST": "127.0.0.1",
        "FLOPCARDS_PORT": str(port),
    }
    exe = Path(sys.executable).with_name(svc["command"][0])
    proc = subprocess.Popen([str(exe), *svc["command"][1:]], env=os.environ | env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)  # fmt: skip
    try:
        body = None
        deadline = time.monotonic() + 60  # a generous ceiling, not a measurement (see bench/)
        while time.monotonic() < deadline and body is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as r:
                    body = r.read().decode()
            except OSError:
                assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
                time.sleep(0.1)
        assert body is not None and '"status":"ok"' in body
        assert (tmp_path / "flopcards.db").exists()
    finally:
        proc.terminate()
        proc.wait(timeout=10)
