"""Shared fixtures: every test gets its own app and its own temporary SQLite file."""

from __future__ import annotations

import os
import shutil
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
def pg_database(prefix: str = "flopcards_t", template: str | None = None) -> Iterator[str]:
    """A new database on the test PostgreSQL server (empty, or a copy of ``template``);
    dropped afterwards."""
    assert PG_URL is not None
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    copy = f' TEMPLATE "{template}"' if template else ""
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"{copy}')
    try:
        yield make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


@pytest.fixture(scope="session")
def migrated_templates(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """One database per engine migrated to the newest revision, once per run: each test's
    database starts as a copy of it (a file copy on SQLite, ``CREATE DATABASE … TEMPLATE``
    on PostgreSQL), since running every migration for every test's app was about half of
    an app's start-up. Start-up then finds the schema current, exactly as on a restart;
    tests of the migrations themselves ask for an empty database (``empty_db`` mark)."""
    from api.db import make_engine
    from api.migrate import upgrade

    path = tmp_path_factory.mktemp("template") / "flopcards.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()
    templates = {"sqlite": str(path)}
    if not PG_URL:
        yield templates
        return
    with pg_database("flopcards_tmpl") as url:
        engine = make_engine(url)
        upgrade(engine)
        engine.dispose()
        templates["postgresql"] = make_url(url).database or ""
        yield templates


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database for this test, already at the newest schema revision (a copy of the run's
    migrated template), or empty for a test marked ``empty_db``: a SQLite file, or a new
    PostgreSQL database."""
    empty = request.node.get_closest_marker("empty_db") is not None
    templates = {} if empty else request.getfixturevalue("migrated_templates")
    if request.param == "sqlite":
        path = tmp_path / "flopcards.db"
        if not empty:
            shutil.copyfile(templates["sqlite"], path)
        yield f"sqlite:///{path}"
        return
    with pg_database(template=templates.get("postgresql")) as url:
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
