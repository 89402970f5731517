"""The store: every query of the service, one module per aggregate.

- ``users``: accounts and token lookups.
- ``cards``: cards, topics, and the one rule of which cards a user may see and study.
- ``study``: study sessions, review states and the review log (and progress read from them).
- ``questions``: generated question instances and their graded attempts.
- ``exams``: exams, their questions and submissions.
- ``courses``: courses, members, invitations, assessments and each student's copy of them.
- ``uploads``: the lease that runs a user's uploads one at a time across server processes.

Rules every module follows:

- Functions take a ``Session`` first and do one unit of work; handlers call them through
  ``Database.run`` (``api.db``), never directly on the event loop.
- Rows come back as small frozen dataclasses built from rows by column name
  (``Row._mapping``), never by position.
- A rule that must hold under concurrency is kept by the database: a conditional ``UPDATE``
  checked by its row count, ``INSERT … ON CONFLICT``, a unique constraint or a row lock
  (``SELECT … FOR UPDATE`` on PostgreSQL; SQLite's single writer serialises the same
  transaction). A lost race raises :class:`Conflict`, which the HTTP layer answers with 409.
"""

from __future__ import annotations

from typing import Any, TypeVar

__all__ = ["Conflict", "Forbidden", "Gone", "NotFound", "StoreError", "from_row"]

T = TypeVar("T")


class StoreError(Exception):
    """Base of the store's refusals (the HTTP layer maps them to 4xx)."""


class NotFound(StoreError):
    """No such row, or not the caller's: answered 404 so existence does not leak."""


class Conflict(StoreError):
    """The row's state forbids the change (already submitted, session full, answered)."""


class Forbidden(StoreError):
    """A member of a course asked for what only its instructors may do (403)."""


class Gone(StoreError):
    """A stored question whose family no longer exists (410): it cannot be regenerated."""


def from_row(cls: type[T], row: Any) -> T:
    """Build ``cls`` (a dataclass) from a row, by column name."""
    return cls(**row._mapping)
