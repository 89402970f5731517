"""Error responses: every failure is JSON ``{"detail": ...}`` with a 4xx status, never a 500.

- ``RequestValidationError`` (malformed JSON, wrong types) → 422 with pydantic's detail list.
- ``HTTPException`` → its status and detail (Starlette's own: 404 for an unknown path, 405;
  and the request-reading middleware's, ``api.inputs``).
- Every refusal (``api.refusals``: the store's ``NotFound``, ``Conflict``, …, quotas, rates,
  bad notes) → the status its class carries, by one handler.
- Bodies over the configured limit → 413, checked before the body is read into memory.
- The database unreachable (``OperationalError``: a restart, the network) → 503 with
  ``Retry-After``; nothing was written.
- Anything unexpected → 500 JSON, logged; tests treat any 500 as a defect.
"""

from __future__ import annotations

import logging
import math
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .refusals import BadRequest, Refusal, TooLarge, refusals

__all__ = [
    "install_error_handlers",
    "widen_validation_schema",
    "BodySizeLimit",
    "RejectNul",
    "GLOBAL_RESPONSES",
]

log = logging.getLogger("flopcards")


# Declared on every operation: any request can be unreadable (a NUL in the URL) or too large
# (``BodySizeLimit``); an operation's own 400 or 413 replaces these.
GLOBAL_RESPONSES: dict[int | str, dict[str, Any]] = refusals(BadRequest, TooLarge)


def widen_validation_schema(app: FastAPI) -> None:
    """Document that a 422's ``detail`` is either pydantic's error list or a sentence.

    Semantic checks (an unknown topic, a card answered without a rating) answer 422 with a
    message; the generated schema would otherwise claim every 422 carries a list.
    """
    original = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = original()
            errors = schema.get("components", {}).get("schemas", {}).get("HTTPValidationError")
            if errors is not None:
                errors["properties"]["detail"] = {
                    "title": "Detail",
                    "anyOf": [
                        {
                            "type": "array",
                            "items": {"$ref": "#/components/schemas/ValidationError"},
                        },
                        {"type": "string"},
                    ],
                }
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def install_error_handlers(app: FastAPI) -> None:
    """Register the JSON error handlers on ``app``."""

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        headers = exc.headers
        if exc.status_code == 405:  # Starlette names only the first route's methods
            headers = {**(headers or {}), "Allow": _allowed_methods(request)}
        return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = jsonable_encoder(exc.errors(), custom_encoder={BaseException: str})
        return JSONResponse({"detail": [_safe(err) for err in errors]}, status_code=422)

    @app.exception_handler(Refusal)
    async def _refused(_: Request, exc: Refusal) -> JSONResponse:
        # Every refusal, at the status its class carries (NotFound also for others' rows).
        return JSONResponse({"detail": exc.detail}, status_code=exc.status, headers=exc.headers)

    @app.exception_handler(OperationalError)
    async def _unavailable(_: Request, exc: OperationalError) -> JSONResponse:
        # The database went away (a restart, the network): nothing was written; retry.
        log.warning("database unavailable: %s", str(exc).splitlines()[0][:200])
        return JSONResponse(
            {"detail": "the database is unavailable; try again"},
            status_code=503,
            headers={"Retry-After": "1"},
        )

    @app.exception_handler(DataError)
    async def _data(_: Request, exc: DataError) -> JSONResponse:
        # A value the database cannot store (PostgreSQL refuses NUL characters in text).
        return JSONResponse(
            {"detail": "a value cannot be stored (NUL characters are not allowed)"}, status_code=422
        )

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", exc_info=exc)
        return JSONResponse({"detail": "internal error"}, status_code=500)


def _allowed_methods(request: Request) -> str:
    """Every method some route answers on this path (a path served by two routes, say GET
    and PATCH, allows both). A fixed path (``/courses/join``) is not also the
    ``/courses/{id}`` template's: when routes spell the path out, only theirs count."""
    from starlette.routing import Match

    matched: list[tuple[str, set[str]]] = []
    routes = list(request.app.router.routes)
    while routes:
        route = routes.pop()
        included = getattr(route, "original_router", None)  # an included APIRouter
        if included is not None:
            routes.extend(included.routes)
        elif route.matches(request.scope)[0] != Match.NONE:
            matched.append((getattr(route, "path", ""), getattr(route, "methods", None) or set()))
    literal = [m for path, m in matched if path == request.url.path]
    return ", ".join(sorted(set().union(*(literal or [m for _p, m in matched]))))


def _safe(value: Any, depth: int = 0) -> Any:
    """Make an echoed input JSON-safe and small: NaN and infinities become strings (JSON has
    neither), long strings and deep structures are cut."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, str):
        return value if len(value) <= 200 else value[:200] + "…"
    if depth > 5:
        return "…"
    if isinstance(value, dict):
        return {str(k)[:200]: _safe(v, depth + 1) for k, v in list(value.items())[:50]}
    if isinstance(value, list | tuple):
        return [_safe(v, depth + 1) for v in list(value)[:50]]
    if isinstance(value, int) and abs(value) > 10**30:
        return "a very large integer"
    return value


class RejectNul:
    """ASGI middleware answering 400 to a URL carrying a NUL character (``%00``).

    No id, topic or search contains one, and some databases cannot even compare them.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            raw = scope.get("raw_path") or scope.get("path", "").encode()
            query = scope.get("query_string", b"")
            if (
                b"%00" in raw
                or b"\x00" in raw
                or b"%00" in query
                or "\x00" in scope.get("path", "")
            ):
                body = b'{"detail":"NUL characters are not allowed in URLs"}'
                await send(
                    {
                        "type": "http.response.start",
                        "status": 400,
                        "headers": [
                            (b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode()),
                        ],
                    }
                )
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)


class BodySizeLimit:
    """ASGI middleware answering 413 when a request body exceeds ``max_bytes``.

    Checks Content-Length up front and counts streamed chunks, so a chunked upload cannot
    slip past the limit.
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    too_big = int(value) > self.max_bytes
                except ValueError:
                    too_big = False
                if too_big:
                    await _send_413(send, self.max_bytes)
                    return
        received = 0
        responded = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise _TooLarge(self.max_bytes)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal responded
            if message["type"] == "http.response.start":
                responded = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except _TooLarge:
            if not responded:
                await _send_413(send, self.max_bytes)


class _TooLarge(StarletteHTTPException):
    """Raised from ``receive``: FastAPI re-raises HTTP exceptions met while reading a body."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"request body larger than {limit} bytes")


async def _send_413(send: Send, limit: int) -> None:
    body = f'{{"detail":"request body larger than {limit} bytes"}}'.encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
