"""The refusals: every 4xx the service answers on purpose, as one tree of exceptions.

Each class carries its HTTP status, what it means, the shape of its ``detail`` and the
headers it sets; one handler (``api.errors``) turns any of them into ``{"detail": ...}`` with
that status, and each operation's OpenAPI error responses are generated from the classes it
declares (``responses=refusals(NotFound, NoHints)``, :func:`refusals`). The store, the service
modules and the routers raise these; only the ASGI middleware in front of the routes
(``api.errors``, ``api.inputs``) answers without them. A new refusal is a subclass (here, or
beside the code that raises it) of the class with its status, with a ``meaning`` that reads
as an OpenAPI description: nothing else to register.

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
    "MalformedToken",
    "TokenRequired",
    "RegistrationClosed",
    "InstructorsDoNotTake",
    "NoAdminToken",
    "UnknownArchitecture",
    "NoHints",
    "AlreadySubmitted",
    "NotStarted",
    "KeepsChanging",
    "AssessmentStarted",
    "TooLittleHistory",
    "NoteTooLarge",
    "NotUtf8",
    "WrongMediaType",
    "UnknownName",
    "OutOfRange",
    "NullField",
    "Blank",
    "Incomplete",
    "Unprofilable",
    "HintsNotAllowed",
    "KeyOnlyFormat",
    "AdminTokenRequired",
    "PracticePaused",
    "AnswersWithheld",
    "NotInExam",
    "NothingMatches",
    "InvalidSpec",
    "TEXT",
    "VALIDATION_LIST",
    "message_object",
    "refusal_classes",
    "refusals",
]


# The shapes a ``detail`` takes, for the OpenAPI schemas.
TEXT: dict[str, Any] = {"type": "string", "description": "What was refused, in a sentence"}
VALIDATION_LIST: dict[str, Any] = {
    "type": "array",
    "description": "Validation errors, each naming where (loc) and why (msg)",
    "items": {
        "type": "object",
        "properties": {
            "loc": {"type": "array", "items": {"anyOf": [{"type": "string"}, {"type": "integer"}]}},
            "msg": {"type": "string"},
            "type": {"type": "string"},
        },
        "required": ["loc", "msg", "type"],
    },
}


def message_object(**fields: dict[str, Any]) -> dict[str, Any]:
    """The schema of a structured ``detail``: a ``message`` sentence and these fields."""
    return {
        "type": "object",
        "properties": {"message": {"type": "string"}, **fields},
        "required": ["message", *fields],
    }


class Refusal(Exception):
    """A request refused on purpose: ``detail`` (a sentence, or a JSON-ready object) is
    answered with the class's ``status``; nothing was written.

    ``meaning`` describes the refusal in OpenAPI, ``detail_schema`` the shape of its detail,
    ``header_docs`` the headers it sets (name → what the value says)."""

    status: ClassVar[int] = 400
    meaning: ClassVar[str] = "The request was refused"
    detail_schema: ClassVar[dict[str, Any]] = TEXT
    header_docs: ClassVar[dict[str, str]] = {}

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


# The tree's trunk: one class per status.


class BadRequest(Refusal):
    status = 400
    meaning = "The request cannot be read (a body that is not UTF-8, a NUL in the URL)"


class Unauthorized(Refusal):
    status = 401
    meaning = "Missing or invalid bearer token"
    header_docs = {"WWW-Authenticate": "Bearer"}

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
    meaning = "The request body is over the size limit"


class Unsupported(Refusal):
    status = 415
    meaning = "Unsupported media type"


class Invalid(Refusal):
    """A value that cannot be used: a sentence, or validation errors naming where (the
    same list FastAPI's own request validation answers)."""

    status = 422
    meaning = "A value cannot be used"
    detail_schema = {"anyOf": [TEXT, VALIDATION_LIST]}


class TooMany(Refusal):
    """Over a rate or a concurrency limit; ``Retry-After`` says when to try again."""

    status = 429
    meaning = "Too many requests: over a rate limit, or too many such jobs running"
    header_docs = {"Retry-After": "Seconds to wait before trying again"}

    def __init__(self, detail: str, retry_after_s: float) -> None:
        seconds = max(1, math.ceil(retry_after_s))
        super().__init__(f"{detail}; retry after {seconds} s", {"Retry-After": str(seconds)})


class UpstreamFailed(Refusal):
    """A service this one relies on (an LMS) failed or could not be reached."""

    status = 502
    meaning = "A service this one relies on failed"


# Refusals raised by the routers (the store's and the services' live beside their code:
# ``api.store.imports``, ``api.store.tags``, ``api.anki``, …).


class MalformedToken(Unauthorized):
    meaning = "The bearer token is malformed"


class TokenRequired(Unauthorized):
    """A public operation asked for something only a signed-in user has (their schedule)."""

    meaning = "This needs your bearer token"


class AdminTokenRequired(Unauthorized):
    meaning = "The admin bearer token is required"


class RegistrationClosed(Forbidden):
    meaning = "Registration is closed on this server (an admin token may still register)"


class InstructorsDoNotTake(Forbidden):
    meaning = "Instructors do not take their own assessments"


class HintsNotAllowed(Forbidden):
    meaning = "Hints are not allowed in this exam"


class NoAdminToken(Forbidden):
    meaning = "No admin token is configured on this server"


class UnknownArchitecture(NotFound):
    meaning = "No architecture of that name"


class NoHints(Conflict):
    meaning = "The question has no hints"


class AlreadySubmitted(Conflict):
    meaning = "Already submitted (by the student, or at the deadline)"


class NotStarted(Conflict):
    meaning = "The student has not started it"


class KeepsChanging(Conflict):
    meaning = "It kept changing while being read; start again"


class AssessmentStarted(Conflict):
    meaning = "A student has started the assessment: its questions are fixed"


class PracticePaused(Conflict):
    """A family an assessment open for the user asks about: practising it would show its
    truth (the open-copy rule, ``api.assessments``)."""

    meaning = "Practice of these families is paused until you submit the open assessment"


class AnswersWithheld(Conflict):
    """A response that would carry truths an assessment open for the user asks about."""

    meaning = "Answers withheld: an assessment open for you asks about its families"


class TooLittleHistory(Conflict):
    """Too few reviews, or too few days of them, to fit FSRS parameters to."""

    meaning = "Too little review history to fit"
    detail_schema = message_object(
        usable_reviews={"type": "integer"},
        review_days={"type": "integer"},
        reviews_needed={"type": "integer"},
        days_needed={"type": "integer"},
    )


class NoteTooLarge(TooLarge):
    meaning = "The note is over the size limit"


class NotUtf8(BadRequest):
    meaning = "The body is not UTF-8 text"


class WrongMediaType(Unsupported):
    meaning = "The body is not of a media type this operation reads"


class NotInExam(Invalid):
    meaning = "An answer names a question that is not of this exam"


class UnknownName(Invalid):
    """A topic, family or architecture named in the request that does not exist."""

    meaning = "Unknown topic, family or architecture"


class OutOfRange(Invalid):
    meaning = "A value outside what the operation accepts (a date, a difficulty, a count)"


class Blank(Invalid):
    meaning = "A text that must not be blank is blank (a name, a note)"


class NullField(Invalid):
    meaning = "A field sent as null (leave it out to keep it)"


class Incomplete(Invalid):
    """Fields that go together were not given together (or one is missing)."""

    meaning = "A field is missing, or fields that go together were not given together"


class InvalidSpec(Invalid):
    """A layer spec that cannot be built: validation errors naming the layer and field."""

    meaning = "Invalid spec: validation errors naming the layer and field"
    detail_schema = VALIDATION_LIST


class NothingMatches(Invalid):
    meaning = "No questions can fill the request (too few for the count, or none match)"


class KeyOnlyFormat(Invalid):
    meaning = "No paper in this format: its files always carry the answers (use part=key)"


class Unprofilable(Invalid):
    meaning = "The network cannot be traced or profiled as given"


def refusal_classes() -> dict[int, type[Refusal]]:
    """The tree's trunk by status (the direct subclasses of ``Refusal`` defined here)."""
    return {cls.status: cls for cls in Refusal.__subclasses__() if cls.__module__ == __name__}


def refusals(*classes: type[Refusal]) -> dict[int | str, Any]:
    """The OpenAPI ``responses`` of an operation that can raise these refusals: per status,
    the classes' meanings, the shapes their details take and the headers they set.

    A 422 also admits FastAPI's list of validation errors: declaring 422 replaces the one
    FastAPI adds to operations with parameters."""
    by_status: dict[int, list[type[Refusal]]] = {}
    for cls in classes:
        group = by_status.setdefault(cls.status, [])
        if cls not in group:
            group.append(cls)
    out: dict[int | str, Any] = {}
    for status, group in sorted(by_status.items()):
        shapes: list[dict[str, Any]] = []
        declared = [c.detail_schema for c in group]
        for shape in declared + ([VALIDATION_LIST] if status == 422 else []):
            for one in shape.get("anyOf", [shape]):
                if one not in shapes:
                    shapes.append(one)
        detail = shapes[0] if len(shapes) == 1 else {"anyOf": shapes}
        answer: dict[str, Any] = {
            "description": "; or ".join(dict.fromkeys(c.meaning for c in group)),
            "content": {
                "application/json": {
                    "schema": {
                        "type": "object",
                        "properties": {"detail": detail},
                        "required": ["detail"],
                    }
                }
            },
        }
        headers = {name: doc for c in group for name, doc in c.header_docs.items()}
        if headers:
            answer["headers"] = {
                name: {"description": doc, "schema": {"type": "string"}}
                for name, doc in headers.items()
            }
        out[status] = answer
    return out
