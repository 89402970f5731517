"""Variant pools: how many distinct variants a family draws, and fresh seeds for reviews.

A variant is what the student sees: two seeds that give the same prompt are the same variant.
``fresh_variant`` is what a review calls so that it never shows the variant the student saw
last (the spaced-repetition loop asks the same family again and again); ``distinct_variants``
measures a family's pool (the tests require at least 50 per level for layer and block
families, and ``bench/questions_bench.py`` prints the table).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable

from .question import MAX_SEED, Family, Question

__all__ = ["distinct_variants", "fresh_variant", "fresh_seed", "random_seed", "same_variant"]

_TRIES = 20


def random_seed() -> int:
    """A seed from the operating system's generator, in 0…MAX_SEED."""
    return secrets.randbelow(MAX_SEED + 1)


def distinct_variants(family: Family, difficulty: int, seeds: Iterable[int]) -> int:
    """How many different prompts ``family`` gives at ``difficulty`` over ``seeds``."""
    return len({family.generate(seed, difficulty).prompt for seed in seeds})


def fresh_variant(
    family: Family,
    difficulty: int,
    last: Question | None = None,
    draw: Callable[[], int] = random_seed,
) -> Question:
    """A variant of ``family`` at ``difficulty`` that differs from ``last`` (the variant the
    student saw last, at whatever difficulty): other numbers, so another prompt.

    Seeds come from ``draw`` until one differs; after 20 equal draws (a pool of one variant,
    such as a network family whose topic has one network) the last draw is returned as is.
    """
    question = family.generate(draw(), difficulty)
    for _ in range(_TRIES - 1):
        if last is None or not _same(question, last):
            break
        question = family.generate(draw(), difficulty)
    return question


def fresh_seed(
    family: Family,
    difficulty: int,
    last_seed: int | None = None,
    last_difficulty: int | None = None,
    draw: Callable[[], int] = random_seed,
) -> int:
    """The seed of ``fresh_variant``, given the last variant's seed and difficulty (what the
    database stores); ``last_difficulty`` defaults to ``difficulty``."""
    last = None
    if last_seed is not None:
        last = family.generate(
            last_seed, difficulty if last_difficulty is None else last_difficulty
        )
    return fresh_variant(family, difficulty, last, draw).seed


def same_variant(a: Question, b: Question) -> bool:
    """Whether a student would see ``a`` as ``b`` again: the same prompt or the same numbers."""
    return a.prompt == b.prompt or dict(a.params) == dict(b.params)


_same = same_variant
