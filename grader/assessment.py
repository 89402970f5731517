"""Assessments set for a class: each student's own variants, and item statistics.

Pure. Variants come from a secret the service keeps (never shown to anyone): the families,
positions and difficulties are planned once from it, so every student gets the same
families at the same positions, and each student's seeds are an HMAC of the secret, their
id and the position. A student can neither see nor choose anything that fixes their
variants, so no other endpoint can recreate them.

Item statistics follow classical test theory: facility (mean item score), the corrected
point-biserial discrimination (the correlation of the item with the rest of the score) and
the upper–lower 27 % index, with the grader's named mistakes counted per item.
"""

from __future__ import annotations

import hashlib
import hmac
import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from .exam import PlannedQuestion, plan_exam
from .question import MAX_SEED, Family

__all__ = [
    "class_plan",
    "student_plan",
    "derived_seed",
    "ItemResult",
    "ItemStats",
    "item_statistics",
    "DISCRIMINATION_METHOD",
]


def derived_seed(secret: str, *parts: object) -> int:
    """A seed from the secret and ``parts`` (HMAC-SHA256, reduced to the seed range)."""
    message = ":".join(str(p) for p in parts).encode()
    digest = hmac.new(secret.encode(), message, hashlib.sha256).digest()
    return int.from_bytes(digest[:8], "big") % (MAX_SEED + 1)


def class_plan(
    families: Mapping[str, Family],
    secret: str,
    *,
    count: int,
    topics: Iterable[str] | None = None,
    family_ids: Iterable[str] | None = None,
    difficulty: int | None = None,
) -> list[PlannedQuestion]:
    """The assessment's positions: which family at which difficulty (its seeds unused)."""
    return plan_exam(
        families,
        seed=derived_seed(secret, "plan"),
        count=count,
        topics=topics,
        family_ids=family_ids,
        difficulty=difficulty,
    )


def student_plan(
    plan: Sequence[PlannedQuestion], secret: str, who: object
) -> list[PlannedQuestion]:
    """``who``'s variants of the class plan: the same families and difficulties, their own
    seeds (``who`` is a student id, or a label such as "export" for a copy nobody takes).
    Two positions of one family never share a variant."""
    seen: set[tuple[str, int, int]] = set()
    out = []
    for p in plan:
        attempt = 0
        while True:
            seed = derived_seed(secret, "variant", who, p.position, attempt)
            if (p.family, seed, p.difficulty) not in seen:
                break
            attempt += 1
        seen.add((p.family, seed, p.difficulty))
        out.append(PlannedQuestion(p.position, p.family, p.topic, seed, p.difficulty))
    return out


DISCRIMINATION_METHOD = (
    "point-biserial: Pearson correlation of the item score with the rest score "
    "(total minus the item), over students who submitted; null when either has no variance"
)


@dataclass(frozen=True)
class ItemResult:
    """One student's result on one item."""

    student: int
    position: int
    score: float
    status: str
    mistakes: tuple[str, ...] = ()


@dataclass(frozen=True)
class ItemStats:
    """How one position of an assessment went across the class."""

    position: int
    family: str
    n: int
    mean_score: float | None
    facility_percent: float | None
    sd: float | None
    discrimination: float | None
    upper_lower_index: float | None
    statuses: dict[str, int]
    top_mistakes: list[tuple[str, int]]


def _pearson(xs: Sequence[float], ys: Sequence[float]) -> float | None:
    n = len(xs)
    if n < 2:
        return None
    mx, my = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mx) ** 2 for x in xs)
    syy = sum((y - my) ** 2 for y in ys)
    if sxx == 0 or syy == 0:
        return None
    sxy = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True))
    return sxy / math.sqrt(sxx * syy)


def _upper_lower(item: Mapping[int, float], totals: Mapping[int, float]) -> float | None:
    """Mean item score of the top 27 % of students by total minus that of the bottom 27 %."""
    ranked = sorted(item, key=lambda s: (totals[s], s))
    k = round(0.27 * len(ranked))
    if k < 1:
        return None
    low, high = ranked[:k], ranked[-k:]
    return sum(item[s] for s in high) / k - sum(item[s] for s in low) / k


def item_statistics(
    positions: Mapping[int, str], results: Iterable[ItemResult], top: int = 3
) -> list[ItemStats]:
    """Statistics per position (``positions`` maps a position to its family) over the
    results of submitted attempts; students missing a position score 0 there."""
    results = list(results)
    students = sorted({r.student for r in results})
    by = {(r.student, r.position): r for r in results}
    totals = {s: sum(by[s, p].score for p in positions if (s, p) in by) for s in students}
    out = []
    for position, family in sorted(positions.items()):
        item = {s: by[s, position].score if (s, position) in by else 0.0 for s in students}
        xs = [item[s] for s in students]
        n = len(xs)
        mean = sum(xs) / n if n else None
        sd = math.sqrt(sum((x - mean) ** 2 for x in xs) / n) if mean is not None else None
        rest = [totals[s] - item[s] for s in students]
        statuses = Counter(by[s, position].status for s in students if (s, position) in by)
        mistakes = Counter(
            code for s in students if (s, position) in by for code in by[s, position].mistakes
        )
        out.append(
            ItemStats(
                position=position,
                family=family,
                n=n,
                mean_score=None if mean is None else round(mean, 4),
                facility_percent=None if mean is None else round(100 * mean, 1),
                sd=None if sd is None else round(sd, 4),
                discrimination=_round(_pearson(xs, rest)),
                upper_lower_index=_round(_upper_lower(item, totals)),
                statuses=dict(sorted(statuses.items())),
                top_mistakes=sorted(mistakes.items(), key=lambda kv: (-kv[1], kv[0]))[:top],
            )
        )
    return out


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)
