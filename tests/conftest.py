"""Shared fixtures: every test gets its own app and its own temporary SQLite file."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from api.settings import Settings

FIXTURE_NOTES = Path(__file__).parent / "fixtures" / "notes"


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    """A fresh SQLite file for this test."""
    return f"sqlite:///{tmp_path / 'flopcards.db'}"


@pytest.fixture
def make_client(db_url: str) -> Callable[..., object]:
    """Open a TestClient on a new app over this test's database (lifespan included)."""

    @contextmanager
    def _open(content_dir: Path = FIXTURE_NOTES, **overrides: object) -> Iterator[TestClient]:
        overrides.setdefault("run_examples", False)  # tests that need runs start them
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
