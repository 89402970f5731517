"""Shared fixtures: every test gets its own app and its own temporary SQLite file."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from hypothesis import settings as hypothesis_settings
from sqlalchemy import create_engine
from sqlalchemy.engine import make_url

from api.main import create_app
from api.settings import Settings

FIXTURE_NOTES = Path(__file__).parent / "fixtures" / "notes"

# `make test` (and so CI) runs the property tests derandomized: the same examples every
# run, so a red build always means a change broke something. A plain `pytest` keeps
# exploring new examples, which is where new bugs are found.
hypothesis_settings.register_profile("ci", derandomize=True, print_blob=True)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


# When FLOPCARDS_TEST_DATABASE_URL names a PostgreSQL server (scripts/with-postgres.sh
# starts one for `make test`), every database test runs on it as well as on SQLite.
PG_URL = os.environ.get("FLOPCARDS_TEST_DATABASE_URL")
BACKENDS = ["sqlite"] + (["postgresql"] if PG_URL else [])


@contextmanager
def pg_database(prefix: str = "flopcards_t") -> Iterator[str]:
    """A new, empty database on the test PostgreSQL server; dropped afterwards."""
    assert PG_URL is not None
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh database for this test: a SQLite file, or a new PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'flopcards.db'}"
        return
    with pg_database() as url:
        yield url


@pytest.fixture
def make_client(db_url: str) -> Callable[..., object]:
    """Open a TestClient on a new app over this test's database (lifespan included)."""

    @contextmanager
    def _open(content_dir: Path = FIXTURE_NOTES, **overrides: object) -> Iterator[TestClient]:
        overrides.setdefault("run_examples", False)  # tests that need runs start them
        overrides.setdefault("warm_up", False)
        settings = Settings(database_url=db_url, content_dir=content_dir, **overrides)
        with TestClient(create_app(settings)) as client:
            yield client

    return _open


@pytest.fixture
def client(make_client: Callable[..., object]) -> Iterator[TestClient]:
    """A client on the fixture notes."""
    with make_client() as c:  # type: ignore[attr-defined]
        yield c


def register(client: TestClient, name: str = "ada") -> dict[str, str]:
    """Register a user and return the Authorization header for them."""
    r = client.post("/users", json={"name": name})
    assert r.status_code == 201, r.text
    return {"Authorization": f"Bearer {r.json()['token']}"}


def pytest_unconfigure(config: pytest.Config) -> None:
    """Leave with pytest's own exit status, skipping native extensions' static teardown.

    After torch's meta-device ops have run in worker threads, a C++ static destructor can
    abort the process once Python has finalised (``terminate called without an active
    exception``), after every result is already reported. Exiting here keeps the real status
    (what pytest decided) and avoids that teardown.
    """
    import sys

    status = getattr(config, "_flopcards_exitstatus", None)
    if status is None:
        return
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(int(status))


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Remember the session's exit status for :func:`pytest_unconfigure`."""
    session.config._flopcards_exitstatus = exitstatus  # type: ignore[attr-defined]
