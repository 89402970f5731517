"""The deployment files, checked without a Docker engine (there is none here): the compose
file and the Dockerfile are parsed and what they name is checked against what the app
honours; the image's command is run outside a container with /data in a temporary folder;
and HAProxy (Debian's, when installed) runs the shipped deploy/haproxy.cfg in front of two
real app processes."""

from __future__ import annotations

import csv
import io
import ipaddress
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
import tomllib
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml

from api.routers import health
from api.settings import Settings

from .servers import free_port

ROOT = Path(__file__).resolve().parents[1]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]
DOCKERFILE = (ROOT / "Dockerfile").read_text()
HAPROXY_CFG = (ROOT / "deploy" / "haproxy.cfg").read_text()
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
HAPROXY = shutil.which("haproxy") or ("/usr/sbin/haproxy" if Path("/usr/sbin/haproxy").exists() else None)  # fmt: skip


# --- compose -----------------------------------------------------------------------------------


def _interpolate(value: object, env: dict[str, str] | None = None) -> str:
    """Resolve ${VAR}, ${VAR:-default}, ${VAR-default} and $$ the way compose does. A
    `${VAR:?message}` raises, as compose does when VAR is unset: the test below shows that a
    plain `docker compose up` with no .env never meets one."""
    env = env or {}

    def one(m: re.Match[str]) -> str:
        name, op, arg = m.group(1), m.group(2) or "", m.group(3) or ""
        value = env.get(name)
        if op in (":?", "?") and (value is None or (op == ":?" and not value)):
            raise LookupError(f"required variable {name} is missing a value: {arg}")
        if op == ":-" and not value or op == "-" and value is None:
            return arg
        return value or ""

    pattern = r"\$\{([A-Za-z_][A-Za-z0-9_]*)(:-|-|:\?|\?)?([^}]*)\}"
    return re.sub(pattern, one, str(value).replace("$$", "\0")).replace("\0", "$")


def _env(service: str, env: dict[str, str] | None = None) -> dict[str, str]:
    """The service's environment as the container gets it (unset values left out)."""
    raw = SERVICES[service]["environment"]
    resolved = {k: _interpolate(v, env) for k, v in raw.items()}
    return {k: v for k, v in resolved.items() if v}


def _settings(service: str, env: dict[str, str] | None = None) -> Settings:
    values = _env(service, env)
    fields = {f"FLOPCARDS_{name.upper()}" for name in Settings.model_fields}
    assert set(values) <= fields, set(values) - fields  # nothing the app would ignore
    return Settings(**{k.removeprefix("FLOPCARDS_").lower(): v for k, v in values.items()})


def test_a_plain_compose_up_needs_no_variable_and_starts_one_sqlite_app() -> None:
    for _path, value in _leaves(COMPOSE):
        _interpolate(value)  # raises on a required variable: compose would refuse to start
    always = {name for name, svc in SERVICES.items() if not svc.get("profiles")}
    assert always == {"flopcards"}
    settings = _settings("flopcards")
    assert settings.database_url == "sqlite:////data/flopcards.db"  # the file lives in the volume
    assert settings.example_cache_dir == Path("/data/cache/examples")
    assert (settings.host, settings.port) == ("0.0.0.0", 8000)
    assert settings.open_registration is False and settings.admin_token is None
    svc = SERVICES["flopcards"]
    assert svc["ports"] == ["8000:8000"]
    assert svc["volumes"] == ["flopcards-data:/data"] and "flopcards-data" in COMPOSE["volumes"]
    scripts = PYPROJECT["project"]["scripts"]
    assert svc["command"][0] in scripts and svc["command"][1] == "serve"
    assert svc["depends_on"] == {"postgres": {"condition": "service_healthy", "required": False}}


def _leaves(node: object, path: str = "") -> Iterator[tuple[str, object]]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _leaves(value, f"{path}.{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _leaves(value, f"{path}[{i}]")
    else:
        yield path, node


def test_every_app_service_builds_this_checkout_and_checks_health() -> None:
    for name in ("flopcards", "app"):
        svc = SERVICES[name]
        # No `image:` beside `build:`, and a build on every `up`: never a stale image.
        assert svc["build"] == "." and "image" not in svc and svc["pull_policy"] == "build"
        assert "http://127.0.0.1:8000/health" in " ".join(svc["healthcheck"]["test"])
        assert svc["restart"] == "unless-stopped"
        assert svc["command"][:2] == ["flopcards", "serve"]
        i = svc["command"].index("--wait-for-database")
        assert 10 <= float(svc["command"][i + 1]) <= 120
    assert "/health" in {route.path for route in health.router.routes}  # type: ignore[attr-defined]


def test_the_postgres_profile_waits_for_a_healthy_server_with_a_required_password() -> None:
    pg = SERVICES["postgres"]
    assert set(pg["profiles"]) == {"postgres", "replicas"}
    env = pg["environment"]
    assert pg["healthcheck"]["test"] == [
        "CMD", "pg_isready", "-U", env["POSTGRES_USER"], "-d", env["POSTGRES_DB"]
    ]  # fmt: skip
    # No default password: unset, it stays empty, and the service refuses to start.
    assert _interpolate(env["POSTGRES_PASSWORD"]) == ""
    assert _interpolate(env["POSTGRES_PASSWORD"], {"POSTGRES_PASSWORD": "pw"}) == "pw"
    assert pg["volumes"] == ["postgres-data:/var/lib/postgresql/data"]
    # The URL docs/deployment.md puts in .env reaches this service with its user and database.
    url = "postgresql+psycopg://flopcards:${POSTGRES_PASSWORD}@postgres:5432/flopcards"
    assert url in (ROOT / "docker-compose.yml").read_text() and url in _readme()
    settings = _settings("flopcards", {"FLOPCARDS_DATABASE_URL": url.replace("${POSTGRES_PASSWORD}", "pw")})  # fmt: skip
    assert settings.database_url == (
        f"postgresql+psycopg://{env['POSTGRES_USER']}:pw@postgres:5432/{env['POSTGRES_DB']}"
    )


def test_the_postgres_entrypoint_refuses_an_empty_password(tmp_path: Path) -> None:
    """The entrypoint's guard, run by sh here; docker-entrypoint.sh (the image's own) is
    replaced by a script that prints its arguments."""
    entrypoint = [_interpolate(part) for part in SERVICES["postgres"]["entrypoint"]]
    assert entrypoint[:2] == ["sh", "-c"]
    fake = tmp_path / "docker-entrypoint.sh"
    fake.write_text('#!/bin/sh\necho "started: $*"\n')
    fake.chmod(0o755)
    path = f"{tmp_path}:{os.environ['PATH']}"
    for password, code, output in [("", 1, "POSTGRES_PASSWORD is not set"), ("pw", 0, "started: postgres")]:  # fmt: skip
        env = {"PATH": path, "POSTGRES_PASSWORD": password}
        run = subprocess.run(entrypoint, env=env, capture_output=True, text=True, timeout=10)
        assert run.returncode == code and output in run.stdout + run.stderr


def test_the_replicas_profile_runs_several_apps_on_postgres_behind_haproxy() -> None:
    app, proxy, pg = SERVICES["app"], SERVICES["proxy"], SERVICES["postgres"]["environment"]
    assert app["profiles"] == proxy["profiles"] == ["replicas"]
    assert int(_interpolate(app["deploy"]["replicas"])) == 3
    assert int(_interpolate(app["deploy"]["replicas"], {"FLOPCARDS_REPLICAS": "5"})) == 5
    assert app["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    assert "ports" not in app  # reached only through the proxy
    assert app["volumes"] == ["flopcards-data:/data"]  # the example cache, shared
    settings = _settings("app", {"POSTGRES_PASSWORD": "pw"})
    assert settings.database_url == (
        f"postgresql+psycopg://{pg['POSTGRES_USER']}:pw@postgres:5432/{pg['POSTGRES_DB']}"
    )
    assert settings.example_cache_dir == Path("/data/cache/examples")
    assert proxy["image"].startswith("haproxy:")
    assert proxy["depends_on"] == {"app": {"condition": "service_healthy"}}
    assert proxy["ports"] == ["8000:8000"]
    source, target, mode = proxy["volumes"][0].split(":")
    assert (ROOT / source).resolve() == ROOT / "deploy" / "haproxy.cfg" and mode == "ro"
    assert target == "/usr/local/etc/haproxy/haproxy.cfg"  # where the official image reads it
    assert "http://127.0.0.1:8000/health" in " ".join(proxy["healthcheck"]["test"])


def test_the_haproxy_config_checks_health_and_names_the_replicas() -> None:
    lines = [line.split("#")[0].strip() for line in HAPROXY_CFG.splitlines()]
    assert "http-check send meth GET uri /health" in lines
    assert "http-check expect status 200" in lines and "option httpchk" in lines
    template = next(line for line in lines if line.startswith("server-template"))
    _, prefix, slots, address, *options = template.split()
    port = _settings("app", {"POSTGRES_PASSWORD": "x"}).port
    assert address == f"app:{port}" and "check" in options and int(slots) >= 3
    assert "resolvers docker" in template and "nameserver dns 127.0.0.11:53" in lines
    assert "bind :8000" in lines  # the proxy service publishes 8000:8000
    if HAPROXY:
        check = subprocess.run([HAPROXY, "-c", "-f", str(ROOT / "deploy" / "haproxy.cfg")],
                               capture_output=True, text=True, timeout=30)  # fmt: skip
        assert check.returncode == 0, check.stdout + check.stderr


def _readme() -> str:
    """The deployment guide (the README links to it)."""
    return (ROOT / "docs" / "deployment.md").read_text()


def test_the_readme_walks_through_compose_with_create_user() -> None:
    readme = _readme()
    assert "docker compose exec flopcards flopcards create-user" in readme
    assert "docker compose up -d proxy" in readme
    assert "COMPOSE_PROFILES=postgres" in readme


# --- the Dockerfile -------------------------------------------------------------------------


def _instructions() -> list[tuple[str, str]]:
    joined = re.sub(r"\\\n\s*", " ", DOCKERFILE)
    found = []
    for line in joined.splitlines():
        if line.strip() and not line.startswith("#"):
            word, _, rest = line.strip().partition(" ")
            found.append((word, rest.strip()))
    return found


def _docker_env() -> dict[str, str]:
    env: dict[str, str] = {}
    for word, rest in _instructions():
        if word == "ENV":
            env |= dict(part.split("=", 1) for part in shlex.split(rest))
    return env


def test_the_image_runs_as_its_own_user_and_writes_only_to_data() -> None:
    steps = _instructions()
    users = [rest for word, rest in steps if word == "USER"]
    assert users == ["flopcards"]
    useradd = next(rest for word, rest in steps if word == "RUN" and "useradd" in rest)
    assert "--uid 1000 flopcards" in useradd
    assert "mkdir -p /data/cache/examples" in useradd and "chown -R flopcards /data" in useradd
    assert ("VOLUME", '["/data"]') in steps
    env = _docker_env()
    settings = Settings(**{k.removeprefix("FLOPCARDS_").lower(): v for k, v in env.items() if k.startswith("FLOPCARDS_")})  # fmt: skip
    assert settings.database_url == "sqlite:////data/flopcards.db"
    assert settings.example_cache_dir == Path("/data/cache/examples")
    health = next(rest for word, rest in steps if word == "HEALTHCHECK")
    assert "http://127.0.0.1:8000/health" in health
    assert steps[-1] == ("CMD", '["flopcards", "serve"]')


def test_the_image_copies_what_the_package_build_needs_and_the_context_allows_it() -> None:
    copies = [rest.split()[:-1] for word, rest in _instructions() if word == "COPY"]
    sources = {src for srcs in copies for src in srcs}
    project = PYPROJECT["project"]
    needed = {project["readme"], "pyproject.toml", *project["license-files"]}
    needed |= {p.rstrip("*") for p in PYPROJECT["tool"]["setuptools"]["packages"]["find"]["include"]}  # fmt: skip
    assert needed <= sources, needed - sources
    for src in sources:
        assert (ROOT / src).exists(), src
    ignore = [line for line in (ROOT / ".dockerignore").read_text().splitlines() if line and not line.startswith("#")]  # fmt: skip
    assert ignore[0] == "*"  # everything out, then the sources back in
    allowed = {line[1:].rstrip("/") for line in ignore if line.startswith("!")}
    assert sources <= allowed, sources - allowed
    assert not allowed & {".venv", ".env", "var", ".git"}


# --- the image's command, outside a container -------------------------------------------------


def _wait_for(url: str, proc: subprocess.Popen, seconds: float = 60) -> bytes:
    deadline = time.monotonic() + seconds  # a generous ceiling, not a measurement (see bench/)
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                return response.read()
        except OSError:
            if proc.poll() is not None:
                raise AssertionError(f"the server exited with {proc.returncode}") from None
            assert time.monotonic() < deadline, f"{url} did not answer"
            time.sleep(0.1)


def _serve(env: dict[str, str], log: Path, cwd: Path | None = None) -> subprocess.Popen:
    exe = Path(sys.executable).with_name("flopcards")
    with log.open("wb") as out:
        return subprocess.Popen([str(exe), "serve"], env=os.environ | env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT)  # fmt: skip


def _stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def test_the_image_command_serves_and_writes_only_under_data(tmp_path: Path) -> None:
    """The Dockerfile's ENV and the compose service's environment, with /data moved to a
    temporary folder: /health answers, the database and the example cache land there."""
    data = tmp_path / "data"
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "t.md").write_text(
        "---\ntopic: t\ntitle: T\ntags: [x]\n---\nQ: Six? {#t-six}\nA: 6\n\n"
        "```python example\nprint(2 * 3)\n```\n\n```output\n6\n```\n"
    )
    env = _docker_env() | _env("flopcards")
    env = {k: v.replace("/data", str(data)) for k, v in env.items()}
    port = free_port()
    env |= {"FLOPCARDS_HOST": "127.0.0.1", "FLOPCARDS_PORT": str(port)}
    env |= {"FLOPCARDS_CONTENT_DIR": str(notes), "FLOPCARDS_WARM_UP": "false"}
    workdir = tmp_path / "app"  # the image's WORKDIR: anything written relative lands here
    workdir.mkdir()
    proc = _serve(env, tmp_path / "log", cwd=workdir)
    try:
        body = json.loads(_wait_for(f"http://127.0.0.1:{port}/health", proc))
        assert body["status"] == "ok" and body["cards"] == 1
        assert (data / "flopcards.db").exists()
        deadline = time.monotonic() + 60
        while not list((data / "cache" / "examples").glob("*.json")):
            assert time.monotonic() < deadline, "the example was not run and cached under /data"
            time.sleep(0.2)
    finally:
        _stop(proc)
    assert list(workdir.iterdir()) == []
    written = {p.relative_to(tmp_path).parts[0] for p in tmp_path.rglob("*")}
    assert written == {"data", "notes", "log", "app"}


# --- HAProxy with the shipped config in front of two app processes ------------------------------


def _local_haproxy_cfg(apps: list[int], port: int, stats: int) -> str:
    """The shipped config with Docker's names swapped for this machine: the replicas' DNS
    template becomes one server line per local app, the binds move to free ports."""
    cfg = re.sub(r"\nresolvers docker\n(?:    .*\n)+", "\n", HAPROXY_CFG)
    template = next(line for line in cfg.splitlines() if line.strip().startswith("server-template"))
    options = template.split("app:8000", 1)[1].replace("resolvers docker", "").replace("init-addr none", "")  # fmt: skip
    servers = "\n".join(
        f"    server app-{i + 1} 127.0.0.1:{p}{options}" for i, p in enumerate(apps)
    )
    cfg = cfg.replace(template, servers)
    cfg = cfg.replace("bind :8000", f"bind 127.0.0.1:{port}").replace("bind :8404", f"bind 127.0.0.1:{stats}")  # fmt: skip
    assert "resolvers" not in cfg and cfg.count("server app-") == len(apps)
    # Checks every 0.5 s instead of 2 s, so that the test sees a dead replica go in seconds.
    assert "default-server inter 2s fall 2 rise 2" in cfg
    return cfg.replace("default-server inter 2s", "default-server inter 500ms")


def _servers(stats: int) -> dict[str, dict[str, str]]:
    with urllib.request.urlopen(f"http://127.0.0.1:{stats}/stats;csv", timeout=5) as r:
        rows = csv.DictReader(io.StringIO(r.read().decode().lstrip("# ")))
        return {row["svname"]: row for row in rows if row["pxname"] == "app" and row["svname"].startswith("app-")}  # fmt: skip


def _until(condition, seconds: float = 20) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.2)


@pytest.mark.skipif(HAPROXY is None, reason="no haproxy (apt-get install haproxy)")
def test_haproxy_with_the_shipped_config_balances_and_drops_a_dead_replica(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'shared.db'}"
    apps, procs = [free_port(), free_port()], []
    base = {"FLOPCARDS_DATABASE_URL": db, "FLOPCARDS_RUN_EXAMPLES": "false", "FLOPCARDS_WARM_UP": "false", "FLOPCARDS_HOST": "127.0.0.1"}  # fmt: skip
    port, stats = free_port(), free_port()
    (tmp_path / "haproxy.cfg").write_text(_local_haproxy_cfg(apps, port, stats))
    proxy = None
    try:
        # Both at once on an empty database, as replicas start (start-up takes turns on a lock).
        for i, app_port in enumerate(apps):
            procs.append(_serve(base | {"FLOPCARDS_PORT": str(app_port)}, tmp_path / f"app{i}.log"))
        for app_port, proc in zip(apps, procs, strict=True):
            _wait_for(f"http://127.0.0.1:{app_port}/topics", proc)
        with (tmp_path / "haproxy.log").open("wb") as log:
            proxy = subprocess.Popen([HAPROXY, "-db", "-f", str(tmp_path / "haproxy.cfg")], stdout=log, stderr=subprocess.STDOUT)  # fmt: skip
        _until(lambda: _up(stats) and all(s["check_status"] == "L7OK" for s in _servers(stats).values()))  # fmt: skip
        # Requests pass through to both replicas, which share one database.
        front = f"http://127.0.0.1:{port}"
        request = urllib.request.Request(f"{front}/users", json.dumps({"name": "ada"}).encode(), {"Content-Type": "application/json"})  # fmt: skip
        token = json.loads(urllib.request.urlopen(request, timeout=10).read())["token"]
        for _ in range(6):
            me = urllib.request.Request(f"{front}/users/me", headers={"Authorization": f"Bearer {token}"})  # fmt: skip
            assert json.loads(urllib.request.urlopen(me, timeout=10).read())["name"] == "ada"
        served = {name: int(row["stot"]) for name, row in _servers(stats).items()}
        assert served["app-1"] >= 3 and served["app-2"] >= 3, served
        # The health checks are the app's /health (the test itself never asked for it).
        for i in range(2):
            assert re.search(
                r'"GET /health HTTP/1.[01]" 200', (tmp_path / f"app{i}.log").read_text()
            )
        # A replica that dies is taken out after its failed checks; requests keep working.
        _stop(procs[1])
        _until(lambda: _servers(stats)["app-2"]["status"] == "DOWN")
        assert _servers(stats)["app-1"]["status"] == "UP"
        for _ in range(4):
            assert urllib.request.urlopen(f"{front}/topics", timeout=10).status == 200
    finally:
        if proxy is not None:
            _stop(proxy)
        for proc in procs:
            _stop(proc)


def _up(stats: int) -> bool:
    try:
        return len(_servers(stats)) == 2
    except OSError:
        return False


# --- per-address limits behind the proxy see the real client ----------------------------------

PROXY_ADDRESS = "127.0.0.2"  # HAProxy connects to the app from here; clients from others


def _wrong_join(base: str, auth: dict[str, str], source: str, forwarded: str | None = None) -> int:
    """POST /courses/join with a wrong code from the local address ``source``."""
    headers = auth | ({"X-Forwarded-For": forwarded} if forwarded else {})
    transport = httpx.HTTPTransport(local_address=source)
    with httpx.Client(transport=transport, timeout=10) as client:
        r = client.post(f"{base}/courses/join", json={"join_code": "WRONG234"}, headers=headers)
    return r.status_code


@pytest.mark.skipif(HAPROXY is None, reason="no haproxy (apt-get install haproxy)")
def test_behind_haproxy_each_client_has_its_own_bucket_and_spoofing_changes_nothing(
    tmp_path: Path,
) -> None:
    """The shipped config in front of an app that trusts only the proxy's address: two
    clients behind the proxy (127.0.0.3 and .4) are limited apart, a client's own
    X-Forwarded-For (through the proxy or straight to the app) changes nothing."""
    app_port, port, stats = free_port(), free_port(), free_port()
    cfg = _local_haproxy_cfg([app_port], port, stats)
    cfg = re.sub(r"(    server app-1 127\.0\.0\.1:\d+)", rf"\1 source {PROXY_ADDRESS}", cfg)
    assert f"source {PROXY_ADDRESS}" in cfg and "option forwardfor" in cfg
    (tmp_path / "haproxy.cfg").write_text(cfg)
    env = {"FLOPCARDS_DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite'}",
           "FLOPCARDS_RUN_EXAMPLES": "false", "FLOPCARDS_WARM_UP": "false",
           "FLOPCARDS_HOST": "127.0.0.1", "FLOPCARDS_PORT": str(app_port),
           "FLOPCARDS_FORWARDED_ALLOW_IPS": PROXY_ADDRESS,
           "FLOPCARDS_JOIN_ADDRESS_FAILURE_BURST": "2",
           "FLOPCARDS_JOIN_ADDRESS_FAILURES_PER_MINUTE": "0.01",
           "FLOPCARDS_JOIN_FAILURE_BURST": "100"}  # fmt: skip
    app = _serve(env, tmp_path / "app.log")
    proxy = None
    try:
        _wait_for(f"http://127.0.0.1:{app_port}/health", app)
        with (tmp_path / "haproxy.log").open("wb") as log:
            proxy = subprocess.Popen([HAPROXY, "-db", "-f", str(tmp_path / "haproxy.cfg")], stdout=log, stderr=subprocess.STDOUT)  # fmt: skip
        _until(lambda: _up_n(stats, 1) and _servers(stats)["app-1"]["check_status"] == "L7OK")
        front, direct = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{app_port}"
        r = httpx.post(f"{front}/users", json={"name": "ada"}, timeout=10)
        auth = {"Authorization": f"Bearer {r.json()['token']}"}
        # Client A behind the proxy: two wrong codes, then 429, whatever it claims to be.
        a = [_wrong_join(front, auth, "127.0.0.3", f"10.9.{n}.1") for n in range(3)]
        assert a == [404, 404, 429], a
        # Client B behind the same proxy has a bucket of its own.
        assert _wrong_join(front, auth, "127.0.0.4") == 404
        # Straight to the app from an address it does not trust: X-Forwarded-For is ignored,
        # a fresh made-up address per request still draws from 127.0.0.1's one bucket.
        spoofed = [_wrong_join(direct, auth, "127.0.0.1", f"10.8.{n}.1") for n in range(4)]
        assert spoofed == [404, 404, 429, 429], spoofed
        # The proxy's own address, had it been limited as a client, would have stopped B.
        assert _wrong_join(front, auth, "127.0.0.5") == 404
    finally:
        if proxy is not None:
            _stop(proxy)
        _stop(app)


def _up_n(stats: int, n: int) -> bool:
    try:
        return len(_servers(stats)) == n
    except OSError:
        return False


def test_the_compose_apps_trust_only_the_proxys_fixed_address() -> None:
    """The replicas read X-Forwarded-For from the proxy alone; the plain service, reached
    directly, reads it from no one; HAProxy writes it."""
    proxy_ip = SERVICES["proxy"]["networks"]["default"]["ipv4_address"]
    subnet = COMPOSE["networks"]["default"]["ipam"]["config"][0]["subnet"]
    assert ipaddress.ip_address(proxy_ip) in ipaddress.ip_network(subnet)
    assert _settings("app", {"POSTGRES_PASSWORD": "x"}).forwarded_allow_ips == proxy_ip
    assert _settings("flopcards").forwarded_allow_ips == ""
    assert Settings().forwarded_allow_ips == ""  # nobody by default: `make run`, the image
    assert "FLOPCARDS_FORWARDED_ALLOW_IPS" not in _docker_env()
    lines = [line.split("#")[0].strip() for line in HAPROXY_CFG.splitlines()]
    assert "option forwardfor" in lines
    with pytest.raises(ValueError, match="not an IP address or network: 'proxy'"):
        Settings(forwarded_allow_ips="10.0.0.1, proxy")
