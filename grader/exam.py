"""Seeded exam plans: which variants an exam holds, spread evenly over topics.

Pure and deterministic: the same request with the same seed gives the same plan, so a class
can share one exam by sharing its seed.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from .question import MAX_SEED, Family

__all__ = ["PlannedQuestion", "plan_exam", "ExamPlanError"]


class ExamPlanError(ValueError):
    """The request cannot be met (no family matches, or too few distinct variants)."""


@dataclass(frozen=True)
class PlannedQuestion:
    """One slot of an exam: the variant to generate."""

    position: int
    family: str
    topic: str
    seed: int
    difficulty: int


def plan_exam(
    families: Mapping[str, Family],
    *,
    seed: int,
    count: int,
    topics: Iterable[str] | None = None,
    family_ids: Iterable[str] | None = None,
    difficulty: int | None = None,
) -> list[PlannedQuestion]:
    """Choose ``count`` distinct variants, round-robin over the topics, then over each topic's
    families.

    Topics take turns so each gets ``count / len(topics)`` questions (±1); inside a topic the
    families take turns in an order shuffled by the seed, so a topic's questions spread over
    its families (±1 each) rather than repeating one. Every variant is distinct: a family whose
    pool is exhausted passes its turn to the next.
    """
    chosen = _chosen(families, topics, family_ids, difficulty)
    rng = random.Random(f"exam:{seed}")
    by_topic: dict[str, list[Family]] = {}
    for fam in sorted(chosen, key=lambda f: f.id):
        by_topic.setdefault(fam.topic, []).append(fam)
    topic_order = sorted(by_topic)
    rng.shuffle(topic_order)
    for fams in by_topic.values():
        rng.shuffle(fams)
    turns = dict.fromkeys(topic_order, 0)
    seen: set[tuple[str, int, int]] = set()
    plan: list[PlannedQuestion] = []
    for position in range(count):
        topic = topic_order[position % len(topic_order)]
        fam, variant = _next_variant(rng, by_topic[topic], turns[topic], difficulty, seen)
        turns[topic] = by_topic[topic].index(fam) + 1
        seen.add(variant)
        plan.append(PlannedQuestion(position, fam.id, fam.topic, variant[1], variant[2]))
    return plan


def _chosen(
    families: Mapping[str, Family],
    topics: Iterable[str] | None,
    family_ids: Iterable[str] | None,
    difficulty: int | None,
) -> list[Family]:
    chosen = (
        [families[f] for f in sorted(set(family_ids))] if family_ids else list(families.values())
    )
    wanted_topics = set(topics or ())
    if wanted_topics:
        chosen = [f for f in chosen if f.topic in wanted_topics]
    if difficulty is not None:
        chosen = [f for f in chosen if difficulty in f.difficulties]
    if not chosen:
        raise ExamPlanError("no question family matches the requested topics and families")
    return chosen


_SEEDS_PER_TURN = 10


def _next_variant(
    rng: random.Random,
    fams: list[Family],
    turn: int,
    difficulty: int | None,
    seen: set[tuple[str, int, int]],
) -> tuple[Family, tuple[str, int, int]]:
    """The next family in turn with a variant not yet in the exam, and that variant."""
    for step in range(len(fams)):
        fam = fams[(turn + step) % len(fams)]
        for _ in range(_SEEDS_PER_TURN):
            level = difficulty if difficulty is not None else rng.choice(fam.difficulties)
            variant = (fam.id, rng.randrange(MAX_SEED + 1), level)
            if variant not in seen:
                return fam, variant
    raise ExamPlanError("could not find enough distinct variants")
