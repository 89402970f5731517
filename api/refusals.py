"""The refusals: every 4xx the service answers on purpose, as one tree of exceptions.

Each class carries its HTTP status and what it means; one handler (``api.errors``) turns any
of them into ``{"detail": ...}`` with that status, and the OpenAPI error responses are
generated from the same classes (:func:`responses`). The store and the service modules raise
these and know nothing else of HTTP; the routers raise them too. A new refusal is a subclass
here (or in its own module) of the class with its status: nothing else to register.

    Refusal
    ├── BadRequest (400)      the body cannot be read
    ├── Unauthorized (401)    no valid bearer token
    ├── Forbidden (403)       only a course's instructors may
    ├── NotFound (404)        no such thing, or not yours
    ├── Conflict (409)        the state forbids it (already submitted, a lost race, …)
    ├── Gone (410)            a stored question whose family no longer exists
    ├── TooLarge (413)        over a size or a quota
    ├── Unsupported (415)     a media type the endpoint does not read
    ├── Invalid (422)         a value that cannot be used (unknown topic, bad note, …)
    ├── TooMany (429)         over a rate; says when to retry
    └── UpstreamFailed (502)  a service this one relies on (an LMS) failed
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

__all__ = [
    "Refusal",
    "BadRequest",
    "Unauthorized",
    "Forbidden",
    "NotFound",
    "Conflict",
    "Gone",
    "TooLarge",
    "Unsupported",
    "Invalid",
    "UpstreamFailed",
    "TooMany",
    "refusal_classes",
    "response",
    "responses",
]


class Refusal(Exception):
    """A request refused on purpose: ``detail`` (a sentence, or a JSON-ready object) is
    answered with the class's ``status``; nothing was written."""

    status: ClassVar[int] = 400
    meaning: ClassVar[str] = "The request was refused"

    def __init__(self, detail: Any = None, headers: dict[str, str] | None = None) -> None:
        self.detail = self.meaning if detail is None else detail
        self.headers = headers
        super().__init__(detail if isinstance(detail, str) else self.meaning)

    @property
    def message(self) -> str:
        """The detail as one sentence (a structured detail's ``message``)."""
        if isinstance(self.detail, dict) and "message" in self.detail:
            return str(self.detail["message"])
        return str(self)


class BadRequest(Refusal):
    status = 400
    meaning = "The body could not be read (e.g. not UTF-8)"


class Unauthorized(Refusal):
    status = 401
    meaning = "Missing or invalid bearer token"

    def __init__(self, detail: Any = None) -> None:
        super().__init__(detail, {"WWW-Authenticate": "Bearer"})


class Forbidden(Refusal):
    """A member of a course asked for what only its instructors may do (403)."""

    status = 403
    meaning = "Not allowed for you (e.g. only a course's instructors may)"


class NotFound(Refusal):
    """No such row, or not the caller's: answered 404 so existence does not leak."""

    status = 404
    meaning = "Not found (or not yours)"


class Conflict(Refusal):
    """The row's state forbids the change (already submitted, session full, answered)."""

    status = 409
    meaning = "The current state forbids it (already done, or a lost race)"


class Gone(Refusal):
    """A stored question whose family no longer exists (410): it cannot be regenerated."""

    status = 410
    meaning = "It existed but can no longer be served"


class TooLarge(Refusal):
    status = 413
    meaning = "Request body too large, or over a quota"


class Unsupported(Refusal):
    status = 415
    meaning = "Unsupported media type"


class Invalid(Refusal):
    status = 422
    meaning = "A value cannot be used"


class UpstreamFailed(Refusal):
    """A service this one relies on (an LMS) failed or could not be reached."""

    status = 502
    meaning = "A service this one relies on failed"


class TooMany(Refusal):
    """Over a rate or a concurrency limit; ``Retry-After`` says when to try again."""

    status = 429
    meaning = "Too many requests; retry after Retry-After seconds"

    def __init__(self, detail: str, retry_after_s: float) -> None:
        seconds = max(1, math.ceil(retry_after_s))
        super().__init__(f"{detail}; retry after {seconds} s", {"Retry-After": str(seconds)})


def refusal_classes() -> dict[int, type[Refusal]]:
    """The tree's classes by status (the direct subclasses of ``Refusal``)."""
    return {cls.status: cls for cls in Refusal.__subclasses__()}


_DETAIL_SCHEMA = {
    "type": "object",
    "properties": {"detail": {"description": "A sentence, or an object with a message"}},
    "required": ["detail"],
}


def responses(*refusals: type[Refusal] | tuple[type[Refusal], str]) -> dict[int | str, Any]:
    """OpenAPI ``responses`` for the refusals an operation can answer: each class (or
    ``(class, what it means here)``) gives its status, description and the error schema."""
    out: dict[int | str, Any] = {}
    for item in refusals:
        cls, description = item if isinstance(item, tuple) else (item, item.meaning)
        out[cls.status] = {
            "description": description,
            "content": {"application/json": {"schema": _DETAIL_SCHEMA}},
        }
    return out


def response(status: int, description: str | None = None) -> dict[str, Any]:
    """The OpenAPI response of the tree's refusal with this status, described for one
    operation (``responses`` for several classes at once)."""
    cls = refusal_classes()[status]
    return responses((cls, description or cls.meaning))[status]
