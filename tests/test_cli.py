"""The `flopcards` command as a self-hoster scripts it: check-notes shows progress while it
runs examples, create-user prints a token a script can read, and serve stops with one clear
line when the database server cannot be reached."""

from __future__ import annotations

import json
import time
from pathlib import Path

from fastapi.testclient import TestClient
from typer.testing import CliRunner

from api.cli import app as cli
from api.main import create_app
from api.settings import Settings

NOTE = """---
topic: t
title: T
tags: [x]
---
Q: Six? {#t-six}
A: 6

```python example
print(2 * 3)
```

```output
6
```

Q: Seven? {#t-seven}
A: 7

```python example
print(3 * 3)
```

```output
7
```
"""


def test_check_notes_reports_each_example_as_it_finishes(tmp_path: Path) -> None:
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "t.md").write_text(NOTE)
    args = ["check-notes", str(notes), "--cache-dir", str(tmp_path / "cache")]
    cold = CliRunner().invoke(cli, args)
    assert cold.exit_code == 1
    lines = cold.stderr.splitlines()
    assert lines[0] == f"running 2 examples, two at a time (cached by code in {tmp_path / 'cache'})"
    progress = sorted(line for line in lines if line.startswith("["))
    assert [p[:6] for p in progress] == ["[1/2] ", "[2/2] "]
    assert any(p.endswith(" s)") and "t.md:9 t-six: ok (" in p for p in progress), progress
    assert any(
        "t.md:20 t-seven: FAILED, output differs from its expected block" in p for p in progress
    )
    assert "2 examples, 1 problems" in cold.stdout
    warm = CliRunner().invoke(cli, args)  # the second run reads the cache
    assert {line[6:] for line in warm.stderr.splitlines() if line.startswith("[")} == {
        "t.md:9 t-six: ok (cached)",
        "t.md:20 t-seven: FAILED, output differs from its expected block (cached)",
    }


def _create_user(tmp_path: Path, *options: str):
    env = {"FLOPCARDS_DATABASE_URL": f"sqlite:///{tmp_path / 'f.db'}"}
    return CliRunner().invoke(cli, ["create-user", "ada", *options], env=env)


def _me(tmp_path: Path, token: str) -> dict:
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'f.db'}", run_examples=False, warm_up=False
    )
    with TestClient(create_app(settings)) as client:
        response = client.get("/users/me", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 200, response.text
        return response.json()


def test_create_user_names_its_database_and_refuses_one_that_does_not_exist(
    tmp_path: Path,
) -> None:
    """Run from the wrong directory, a relative SQLite path would silently make a second,
    empty database: the command refuses it unless --create asks, and always says which
    database it writes to (on stderr: stdout stays the token alone)."""
    path = (tmp_path / "f.db").resolve()
    refused = _create_user(tmp_path, "--token-only")
    assert refused.exit_code == 2 and refused.stdout == ""
    assert f"no database at {path}" in refused.stderr and "--create" in refused.stderr
    assert not path.exists()
    created = _create_user(tmp_path, "--token-only", "--create")
    assert created.exit_code == 0, created.output
    assert created.stderr == f"database: {path} (SQLite)\n"
    assert path.exists() and _me(tmp_path, created.stdout.strip())["name"] == "ada"
    again = _create_user(tmp_path)  # the file exists now: no --create needed
    assert again.exit_code == 0 and again.stderr == f"database: {path} (SQLite)\n"
    assert again.stdout.startswith("user 2 (ada) token: ")
    # A relative path is taken from the current directory, and named in full.
    relative = CliRunner().invoke(
        cli, ["create-user", "ada"], env={"FLOPCARDS_DATABASE_URL": "sqlite:///no/such.db"}
    )
    assert relative.exit_code == 2
    assert f"no database at {Path.cwd() / 'no' / 'such.db'}" in relative.stderr
    assert not (Path.cwd() / "no").exists()


def test_create_user_prints_json_or_the_bare_token(tmp_path: Path) -> None:
    as_json = _create_user(tmp_path, "--json", "--create")
    assert as_json.exit_code == 0, as_json.output
    created = json.loads(as_json.stdout)
    assert set(created) == {"id", "name", "token"} and created["name"] == "ada"
    assert _me(tmp_path, created["token"])["id"] == created["id"]
    bare = _create_user(tmp_path, "--token-only")
    assert bare.exit_code == 0 and bare.stdout.count("\n") == 1
    token = bare.stdout.strip()
    assert len(token) >= 40 and " " not in token and token != created["token"]
    assert _me(tmp_path, token)["name"] == "ada"
    both = _create_user(tmp_path, "--json", "--token-only")
    assert both.exit_code == 2 and "exclude each other" in both.output


def test_serve_stops_with_a_clear_line_when_postgres_is_not_there() -> None:
    """The compose file's URL without its postgres service (a PostgreSQL URL in .env and a
    plain `docker compose up`): one line naming the fix, the password hidden, no traceback."""
    url = "postgresql+psycopg://flopcards:s3cret@postgres:5432/flopcards"
    result = CliRunner().invoke(cli, ["serve"], env={"FLOPCARDS_DATABASE_URL": url})
    assert result.exit_code == 2
    assert result.stderr.startswith(
        "flopcards: cannot reach the database "
        "postgresql+psycopg://flopcards:***@postgres:5432/flopcards: "
    )
    assert "COMPOSE_PROFILES=postgres" in result.stderr and "s3cret" not in result.stderr
    assert "Traceback" not in result.output


def test_serve_waits_for_the_database_as_long_as_asked() -> None:
    url = "postgresql+psycopg://flopcards@127.0.0.1:9/flopcards"  # nothing listens on port 9
    start = time.monotonic()
    result = CliRunner().invoke(
        cli, ["serve", "--wait-for-database", "2"], env={"FLOPCARDS_DATABASE_URL": url}
    )
    assert 2 <= time.monotonic() - start < 10
    assert result.exit_code == 2
    assert result.stderr.startswith("waiting for the database at 127.0.0.1: ")
    assert "COMPOSE_PROFILES" not in result.stderr  # not the compose service name


def test_every_command_that_writes_refuses_a_database_that_does_not_exist(tmp_path: Path) -> None:
    """The LTI commands write to the server's database too: run from the wrong directory
    they refuse, as create-user does, and name the database they write to."""
    path = (tmp_path / "f.db").resolve()
    env = {"FLOPCARDS_DATABASE_URL": f"sqlite:///{path}"}
    refused = CliRunner().invoke(cli, ["lti", "rotate-key"], env=env)
    assert refused.exit_code == 2 and f"no database at {path}" in refused.stderr
    assert not path.exists()
    rotated = CliRunner().invoke(cli, ["lti", "rotate-key", "--create"], env=env)
    assert rotated.exit_code == 0, rotated.output
    assert rotated.stderr == f"database: {path} (SQLite)\n"
    assert rotated.stdout.startswith("new signing key ")
    args = ["lti", "add-platform", "--issuer", "https://lms.example", "--client-id", "c",
            "--deployment-id", "d", "--auth-login-url", "https://lms.example/auth",
            "--token-url", "https://lms.example/token", "--keyset-url", "https://lms.example/jwks"]  # fmt: skip
    added = CliRunner().invoke(cli, args, env=env)  # the file exists now
    assert added.exit_code == 0 and "deployments d" in added.stdout, added.output
    elsewhere = CliRunner().invoke(cli, args, env={"FLOPCARDS_DATABASE_URL": "sqlite:///no/x.db"})
    assert elsewhere.exit_code == 2 and not (Path.cwd() / "no").exists()
