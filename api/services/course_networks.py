"""Course architectures as question families.

An instructor's network (a layer spec, ``POST /courses/{id}/architectures``) gets a family of
its own, ``course_network:<architecture id>``, asking the same totals and shares as the
registry networks' families (``grader.families.archs.stack_family``) with the truth from its
profile. Those families are not in the registry: each process builds one the first time it
meets its id (in a stored question, an exam or an assessment) from the spec in the database,
and keeps it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import anyio.to_thread

from ..db import Database
from ..store.courses import ArchitectureRecord, architectures_by_id

if TYPE_CHECKING:
    from grader.question import Family

__all__ = [
    "COURSE_FAMILY",
    "course_family_id",
    "course_topic",
    "course_family",
    "ensure_families",
    "register",
    "profile_of",
]

COURSE_FAMILY = "course_network"  # POST /questions {family: "course_network", architecture}
_FAMILIES: dict[str, Family] = {}
_PROFILES: dict[str, Any] = {}  # models.Profile by family id
_LOCK = threading.Lock()


def course_family_id(architecture_id: int) -> str:
    return f"{COURSE_FAMILY}:{architecture_id}"


def course_topic(course_id: int) -> str:
    """The topic a course's own networks are filed under."""
    return f"course-{course_id}"


def course_family(family_id: str) -> Family | None:
    """The family of a course network this process has built, if it has."""
    return _FAMILIES.get(family_id)


def register(record: ArchitectureRecord) -> Family:
    """Build (profile on meta) and keep the family of a course network: CPU work, so call
    it in a worker thread."""
    from grader.families.archs import stack_family, stack_network
    from models import build_from_spec, profile

    family_id = course_family_id(record.id)
    with _LOCK:
        found = _FAMILIES.get(family_id)
    if found is not None:
        return found
    spec: dict[str, Any] = record.spec
    module = build_from_spec(spec["input_shape"], spec["layers"], 1)
    prof = profile(module, tuple(spec["input_shape"]), 1, "float32")
    title = f"the course network {record.name}"
    net = stack_network(record.name, title, module, prof)
    family = stack_family(family_id, course_topic(record.course_id), title, net)
    with _LOCK:
        _PROFILES.setdefault(family_id, prof)
        return _FAMILIES.setdefault(family_id, family)


def profile_of(record: ArchitectureRecord) -> Any:
    """The course network's profile (batch 1, float32), the one its questions use."""
    register(record)
    return _PROFILES[course_family_id(record.id)]


async def ensure_families(db: Database, family_ids: Iterable[str]) -> None:
    """Build the families of the course networks among ``family_ids`` that this process
    has not met yet (read from the database, profiled in a worker thread)."""
    prefix = COURSE_FAMILY + ":"
    wanted = {f for f in family_ids if f.startswith(prefix) and f not in _FAMILIES}
    if not wanted:
        return
    ids = [int(f.removeprefix(prefix)) for f in wanted if f.removeprefix(prefix).isdigit()]
    for record in await db.run(architectures_by_id, ids):
        await anyio.to_thread.run_sync(register, record)
