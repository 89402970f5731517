"""Text the service could not store or compare is refused at the door, with a 422 naming
where it was.

JSON allows ``"\\ud800"``: an escape for half of a UTF-16 surrogate pair, which Python decodes
to a string that no UTF-8 encoder (SQLite's, PostgreSQL's, the response's) accepts; the
first one to meet it raised, and the client got a 500. PostgreSQL also refuses NUL in text.
Query strings carry percent-escaped bytes, and Starlette quietly turns escapes that are not
UTF-8 into U+FFFD, so a client's text would be changed rather than refused.

:class:`RejectUnencodable` checks every JSON body (any field, at any depth, keys included)
and every query string before a handler sees them. The body check costs a byte search per
request: only a body holding a ``\\u`` escape of a surrogate or of NUL is parsed to find the
field, and Python's JSON decoder is the one FastAPI uses, so both read the same strings.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import unquote_to_bytes

from fastapi import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["RejectUnencodable", "unencodable_path", "bad_query"]

# An escape that can decode to a surrogate (\ud800-\udfff) or to NUL; any case of hex digits.
_SUSPECT = re.compile(rb"\\u(?:[dD][89a-fA-F][0-9a-fA-F]{2}|0000)")
_BAD_TEXT = re.compile("[\ud800-\udfff\x00]")


def _is_json(scope: Scope) -> bool:
    for name, value in scope.get("headers", []):
        if name == b"content-type":
            media = value.split(b";", 1)[0].strip().lower()
            return media == b"application/json" or media.endswith(b"+json")
    return False


def unencodable_path(value: Any) -> list[Any] | None:
    """Where in a decoded JSON value a string (or key) holds a lone surrogate or NUL, as a
    path of keys and indexes; None when there is none. Iterative: depth costs no stack."""
    stack: list[tuple[list[Any], Any]] = [([], value)]
    while stack:
        path, item = stack.pop()
        if isinstance(item, str):
            if _BAD_TEXT.search(item):
                return path
        elif isinstance(item, dict):
            for key, child in item.items():
                if _BAD_TEXT.search(key):
                    return [*path, key.encode("utf-8", "backslashreplace").decode()]
                stack.append(([*path, key], child))
        elif isinstance(item, list):
            stack.extend(([*path, i], child) for i, child in enumerate(item))
    return None


def _body_error(body: bytes) -> HTTPException | None:
    """A 422 for a JSON body holding unencodable text, or None (including for a body that is
    not JSON at all, which FastAPI itself answers)."""
    if not _SUSPECT.search(body):
        return None
    try:
        path = unencodable_path(json.loads(body))
    except (ValueError, RecursionError):
        return None
    if path is None:
        return None
    detail = {
        "loc": ["body", *path],
        "msg": "text holds a lone UTF-16 surrogate (\\ud800-\\udfff) or a NUL character, "
        "which cannot be stored",
        "type": "unencodable_text",
    }
    return HTTPException(422, [detail])


def bad_query(query: bytes) -> str | None:
    """The name of the first query parameter whose name or value is not UTF-8 once
    percent-decoded, or None."""
    for part in query.split(b"&"):
        name, _, value = part.partition(b"=")
        for raw in (name, value):
            try:
                unquote_to_bytes(raw.replace(b"+", b" ")).decode("utf-8")
            except UnicodeDecodeError:
                return unquote_to_bytes(name).decode("utf-8", "replace")[:64]
    return None


async def _answer(send: Send, status: int, body: bytes) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class RejectUnencodable:
    """ASGI middleware: 422 for a query string that is not UTF-8, or a JSON body with text
    that cannot be stored (see the module's docstring).

    The body is checked as the application reads it: the last chunk is handed over only
    once the whole body has been checked, and a refusal is raised from ``receive`` as an
    ``HTTPException``, which FastAPI passes on to the app's JSON error handler. This is the
    HTTP layer, in front of the routes, and it must be an ``HTTPException``: FastAPI re-raises
    only that from a body read and turns anything else (a ``Refusal`` included) into a 400
    "There was an error parsing the body".
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        name = bad_query(scope.get("query_string", b""))
        if name is not None:
            msg = "query parameter is not UTF-8 text once percent-decoded"
            detail = [{"loc": ["query", name], "msg": msg, "type": "unencodable_text"}]
            await _answer(send, 422, json.dumps({"detail": detail}).encode())
            return
        if not _is_json(scope):
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []

        async def checked_receive() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                chunks.append(message.get("body", b""))
                if not message.get("more_body", False):
                    error = _body_error(b"".join(chunks))
                    chunks.clear()
                    if error is not None:
                        raise error
            return message

        await self.app(scope, checked_receive, send)
