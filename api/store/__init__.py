"""The store: every query of the service, one module per aggregate.

- ``users``: accounts and token lookups.
- ``cards``: cards, topics, and the one rule of which cards a user may see and study.
- ``study``: study sessions, review states and the review log (and progress read from them).
- ``questions``: generated question instances and their graded attempts.
- ``exams``: exams, their questions and submissions.
- ``hints``: showing a question one more hint, under its exam's and the open-copy rules.
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
  transaction). A lost race raises :class:`Conflict` (409, ``api.refusals``).
"""

from __future__ import annotations

from typing import Any, TypeVar

from ..refusals import Conflict, Forbidden, Gone, NotFound, Refusal

__all__ = ["Conflict", "Forbidden", "Gone", "NotFound", "StoreError", "from_row"]

T = TypeVar("T")


# The store's refusals are the service's one tree (``api.refusals``): each carries its HTTP
# status, and one handler answers them all. ``StoreError`` is the tree's root.
StoreError = Refusal


def from_row(cls: type[T], row: Any) -> T:
    """Build ``cls`` (a dataclass) from a row, by column name."""
    return cls(**row._mapping)
