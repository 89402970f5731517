"""Schema fuzzing: schemathesis drives every operation of the app's own OpenAPI schema with a
fixed seed and a bounded number of examples. No response may be a 5xx, use an undeclared
status code, or break its declared schema. ``POST /profile`` gets many more examples, all
valid by its schema (every layer type with its fields and bounds, from ``models.spec``): no
spec the schema allows may reach a 500."""

from __future__ import annotations

import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi import checks

from api.main import create_app
from api.settings import Settings

from .conftest import FIXTURE_NOTES

# The app is built once for this module. Its database folder is only named here: the
# engine creates it when the module's fixture starts the app, and the fixture removes it
# (the test run ends with os._exit, so nothing left to finalizers would ever run).
FUZZ_DIR = Path(tempfile.gettempdir()) / f"flopcards-fuzz-{uuid.uuid4().hex[:12]}"
APP = create_app(
    Settings(
        database_url=f"sqlite:///{FUZZ_DIR / 'fuzz.db'}",
        content_dir=FIXTURE_NOTES,
        run_examples=False,
        warm_up=False,
        # The fuzzer is one client sending hundreds of requests: it tests answers, not rates.
        profile_rate_per_minute=1e9,
        profile_burst=1_000_000,
        import_rate_per_minute=1e9,
        import_burst=1_000_000,
    )
)
schema = schemathesis.openapi.from_asgi("/openapi.json", APP)

# Semantic validation (an unknown topic, an empty note) rightly rejects some schema-valid
# input, and public endpoints accept an optional token; those two checks do not apply.
EXCLUDED = [checks.positive_data_acceptance, checks.negative_data_rejection, checks.ignored_auth]


@pytest.fixture(scope="module")
def token() -> Iterator[str]:
    """Run the app's lifespan for this module (closed at the end) and register a user; then
    remove the module's database folder."""
    try:
        with TestClient(APP) as client:
            yield client.post("/users", json={"name": "fuzz"}).json()["token"]
    finally:
        shutil.rmtree(FUZZ_DIR, ignore_errors=True)


@schema.parametrize()
@settings(max_examples=10, derandomize=True, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_server_errors_and_responses_match_schema(case, token) -> None:
    # A first exam over many architecture families profiles each network once (cached after);
    # this test is about correctness, so latency gets a generous limit.
    response = case.call_and_validate(
        headers={"Authorization": f"Bearer {token}"}, excluded_checks=EXCLUDED, timeout=120
    )
    assert response.status_code < 500


PROFILE = schema["/profile"]["POST"]


@settings(
    max_examples=120, derandomize=True, deadline=None, suppress_health_check=list(HealthCheck)
)
@given(case=PROFILE.as_strategy(GenerationMode.POSITIVE))
def test_every_spec_valid_by_schema_profiles_or_is_refused_by_name(case, token) -> None:
    # JSON Schema counts 3.0 as an integer, the spec validator does not (a float is refused
    # by name, tested elsewhere): send the integers as such, so examples reach the layers.
    case.body = _integers(case.body)
    response = case.call_and_validate(excluded_checks=EXCLUDED, timeout=120)
    assert response.status_code in (200, 422), response.text
    if response.status_code == 422:
        (error,) = response.json()["detail"]
        # Validation's refusal naming where (or text no database stores), never torch's.
        assert error["type"] in ("spec_error", "unencodable_text"), error
        assert error["loc"][0] == "body"


def _integers(value: object) -> object:
    """``value`` with every integral float made an int, at any depth."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: _integers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_integers(v) for v in value]
    return value
