"""One refusal tree (api/refusals.py): each class carries its HTTP status, one handler
answers them all, and the OpenAPI error responses are generated from the same classes."""

from __future__ import annotations

import ast
import inspect
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from api.main import create_app
from api.refusals import (
    Conflict,
    Invalid,
    NoHints,
    NotFound,
    Refusal,
    TooLittleHistory,
    TooMany,
    refusal_classes,
    refusals,
)
from api.settings import Settings
from api.store import StoreError
from api.store.imports import ImportInvalid, ImportRefused, ImportTooLarge

API = Path(__file__).resolve().parents[1] / "api"


def test_each_class_carries_its_status_once() -> None:
    classes = refusal_classes()
    assert sorted(classes) == [400, 401, 403, 404, 409, 410, 413, 415, 422, 429, 502]
    assert all(cls.status == status and cls.meaning for status, cls in classes.items())
    assert StoreError is Refusal and NotFound.status == 404
    assert (ImportTooLarge.status, ImportInvalid.status) == (413, 422)
    assert issubclass(ImportTooLarge, ImportRefused) and issubclass(ImportInvalid, Invalid)
    assert TooMany("busy", 1.2).headers == {"Retry-After": "2"}


def test_one_handler_answers_every_refusal_even_a_new_one(tmp_path: Path) -> None:
    """A refusal added later (a subclass, registered nowhere) is answered at its status,
    with its detail (a sentence or an object) and headers."""

    class NoteLocked(Conflict):
        """A note being edited elsewhere (an example of a new refusal)."""

    app = create_app(Settings(database_url=f"sqlite:///{tmp_path / 'r.db'}",
                              run_examples=False, warm_up=False))  # fmt: skip

    async def locked() -> None:
        raise NoteLocked("the note is being edited")

    async def structured() -> None:
        raise ImportInvalid({"message": "nothing to import", "errors": []})

    async def busy() -> None:
        raise TooMany("too many imports", 3)

    for path, fn in (("/_locked", locked), ("/_structured", structured), ("/_busy", busy)):
        app.add_api_route(path, fn)
    with TestClient(app) as client:
        r = client.get("/_locked")
        assert (r.status_code, r.json()) == (409, {"detail": "the note is being edited"})
        r = client.get("/_structured")
        assert r.status_code == 422
        assert r.json() == {"detail": {"message": "nothing to import", "errors": []}}
        r = client.get("/_busy")
        assert r.status_code == 429 and r.headers["retry-after"] == "3"
        assert r.json() == {"detail": "too many imports; retry after 3 s"}


def test_openapi_error_responses_come_from_the_tree(client) -> None:
    """Every documented 4xx is described by the refusals the operation declares, with the
    shape of their details: never the 404 schema reused for 400, 409, 413, 415 or 422."""
    not_found = refusal_classes()[404].meaning
    documented = 0
    for path, methods in client.get("/openapi.json").json()["paths"].items():
        for method, operation in methods.items():
            for status, answer in operation["responses"].items():
                if status.startswith("4") and status != "404":
                    documented += 1
                    assert not_found not in answer["description"], (method, path, status)
                    json_schema = answer["content"].get("application/json", {}).get("schema")
                    if json_schema is not None and "$ref" not in json_schema:  # FastAPI's 422
                        assert json_schema["required"] == ["detail"], (method, path, status)
    assert documented > 100
    generated = refusals(NotFound, NoHints, Conflict, TooLittleHistory, TooMany, Invalid)
    assert generated[404]["description"] == NotFound.meaning
    assert generated[409]["description"] == "; or ".join(
        (NoHints.meaning, Conflict.meaning, TooLittleHistory.meaning)
    )
    detail = generated[409]["content"]["application/json"]["schema"]["properties"]["detail"]
    assert detail["anyOf"][0] == {
        "type": "string",
        "description": "What was refused, in a sentence",
    }
    assert detail["anyOf"][1]["required"][:2] == ["message", "usable_reviews"]
    assert set(generated[429]["headers"]) == {"Retry-After"}
    # A 422 admits FastAPI's validation list too (declaring one replaces FastAPI's own).
    shapes = generated[422]["content"]["application/json"]["schema"]["properties"]["detail"]
    assert [s["type"] for s in shapes["anyOf"]] == ["string", "array"]


def _refusals_raised(fn: Callable[..., Any], seen: set[Any]) -> set[type[Refusal]]:
    """The refusal classes ``fn`` raises by name (``raise NoHints(...)``), following the
    functions of its own module it calls or hands on (``run_in_threadpool(_check, …)``)."""
    target = inspect.unwrap(fn)
    code = getattr(target, "__code__", None)
    if code is None or code in seen:
        return set()
    seen.add(code)
    module = sys.modules[target.__module__]
    tree = ast.parse(inspect.getsource(module))
    node = next(
        n
        for n in ast.walk(tree)
        if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)
        and n.name == target.__name__
        and min([n.lineno] + [d.lineno for d in n.decorator_list]) == code.co_firstlineno
    )
    raised: set[type[Refusal]] = set()
    for sub in ast.walk(node):
        if isinstance(sub, ast.Raise) and isinstance(sub.exc, ast.Call):
            func = sub.exc.func
            cls = getattr(module, func.id, None) if isinstance(func, ast.Name) else None
            if isinstance(cls, type) and issubclass(cls, Refusal):
                raised.add(cls)
        if isinstance(sub, ast.Call):
            for name in [sub.func, *sub.args]:
                value = getattr(module, name.id, None) if isinstance(name, ast.Name) else None
                if inspect.isfunction(value) and value.__module__ == module.__name__:
                    raised |= _refusals_raised(value, seen)
    return raised


def _dependencies(dependant: Any) -> list[Callable[..., Any]]:
    calls = [dependant.call] if dependant.call is not None else []
    for sub in dependant.dependencies:
        calls += _dependencies(sub)
    return calls


def test_every_refusal_a_route_raises_is_in_its_openapi_responses(tmp_path: Path) -> None:
    """Read from the source: a refusal a route's handler (or a helper of its module, or a
    dependency) raises by name is declared with its status; so a new ``raise`` without its
    declaration fails here. (Refusals from the store and the services are declared by hand
    and checked by the schema fuzzer, ``tests/test_fuzz.py``, which refuses any status an
    operation does not declare.)"""
    app = create_app(Settings(database_url=f"sqlite:///{tmp_path / 'o.db'}",
                              run_examples=False, warm_up=False))  # fmt: skip
    operations = {
        operation["operationId"]: (f"{method.upper()} {path}", operation["responses"])
        for path, methods in app.openapi()["paths"].items()
        for method, operation in methods.items()
    }
    checked, missing = 0, []
    routes: list[Any] = list(app.routes)
    while routes:
        route = routes.pop()
        routes += getattr(getattr(route, "original_router", None), "routes", [])
        if not isinstance(route, APIRoute) or not route.include_in_schema:
            continue
        raised: set[type[Refusal]] = set()
        seen: set[Any] = set()
        for call in _dependencies(route.dependant):
            if getattr(call, "__module__", "").startswith("api."):
                raised |= _refusals_raised(call, seen)
        where, responses = operations[route.unique_id]
        for cls in raised:
            checked += 1
            if str(cls.status) not in responses:
                missing.append(f"{where}: {cls.__name__} ({cls.status})")
            elif cls.meaning not in responses[str(cls.status)]["description"]:
                missing.append(f"{where}: {cls.__name__} undescribed")
    assert missing == [], missing
    assert checked >= 50


def test_only_the_middleware_in_front_of_the_routes_knows_http_exceptions() -> None:
    """The routers, the services and the store raise refusals; ``HTTPException`` is left to
    the ASGI middleware that answers before a route runs (the error handlers and body limit,
    ``api/errors.py``; the request-reading check, ``api/inputs.py``, whose exception FastAPI
    re-raises only if it is an ``HTTPException``)."""
    middleware = {API / "errors.py", API / "inputs.py"}
    offenders = [
        str(path.relative_to(API))
        for path in API.rglob("*.py")
        if path not in middleware
        and re.search(r"\bHTTPException\b", re.sub(r'"""[\s\S]*?"""', "", path.read_text()))
    ]  # fmt: skip
    assert offenders == []
