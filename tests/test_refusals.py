"""One refusal tree (api/refusals.py): each class carries its HTTP status, one handler
answers them all, and the OpenAPI error responses are generated from the same classes."""

from __future__ import annotations

import re
from pathlib import Path

from fastapi.testclient import TestClient

from api.main import create_app
from api.refusals import Conflict, Invalid, Refusal, TooMany, refusal_classes, response
from api.settings import Settings
from api.store import NotFound, StoreError
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
    """Every documented 4xx has the description of its own status (or the operation's own
    words), never the 404 schema reused for 400, 409, 413, 415 or 422."""
    not_found = refusal_classes()[404].meaning
    documented = 0
    for path, methods in client.get("/openapi.json").json()["paths"].items():
        for method, operation in methods.items():
            for status, answer in operation["responses"].items():
                if status.startswith("4") and status not in ("404", "422"):
                    documented += 1
                    assert answer["description"] != not_found, (method, path, status)
    assert documented > 50
    assert response(409, "Name taken")["description"] == "Name taken"
    assert response(413)["description"] == refusal_classes()[413].meaning


def test_nothing_below_the_routers_raises_http_exceptions() -> None:
    """Only the HTTP layer (routers, the error handlers, the request-reading middleware)
    knows ``HTTPException``; the store and the service modules raise refusals."""
    http_layer = {API / "errors.py", API / "inputs.py"}
    offenders = [
        str(path.relative_to(API))
        for path in API.rglob("*.py")
        if "routers" not in path.parts and path not in http_layer
        and re.search(r"\bHTTPException\b", re.sub(r'"""[\s\S]*?"""', "", path.read_text()))
    ]  # fmt: skip
    assert offenders == []
