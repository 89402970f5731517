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
    """Choose ``count`` distinct variants, round-robin over the topics (then their families).

    Topics take turns so each gets ``count / len(topics)`` questions (±1); inside a topic the
    families take turns in an order shuffled by the seed. Every variant is distinct.
    """
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
    rng = random.Random(f"exam:{seed}")
    by_topic: dict[str, list[Family]] = {}
    for fam in sorted(chosen, key=lambda f: f.id):
        by_topic.setdefault(fam.topic, []).append(fam)
    topic_order = sorted(by_topic)
    rng.shuffle(topic_order)
    for fams in by_topic.values():
        rng.shuffle(fams)
    turns = dict.fromkeys(topic_order, 0)
    plan: list[PlannedQuestion] = []
    seen: set[tuple[str, int, int]] = set()
    attempts = 0
    while len(plan) < count:
        topic = topic_order[len(plan) % len(topic_order)]
        fams = by_topic[topic]
        fam = fams[turns[topic] % len(fams)]
        turns[topic] += 1
        level = difficulty if difficulty is not None else rng.choice(fam.difficulties)
        variant = (fam.id, rng.randrange(MAX_SEED + 1), level)
        attempts += 1
        if variant in seen:
            if attempts > 20 * count:
                raise ExamPlanError("could not find enough distinct variants")
            continue
        seen.add(variant)
        plan.append(PlannedQuestion(len(plan), fam.id, fam.topic, variant[1], level))
    return plan
