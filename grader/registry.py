"""The explicit registry of question families: one list of family modules, no import scanning.

Each module in ``MODULES`` exports ``FAMILIES``, a tuple of ``Family``; nothing else is
registered anywhere. At import the registry checks that family ids are unique and that every
mistake code names exactly one kind of mistake (``check_mistake_codes``): a code defined twice,
even with the same message, is a copy that will drift.
"""

from __future__ import annotations

from collections.abc import Iterable
from types import ModuleType

from .errors import QuestionError
from .families import (
    archs,
    batchnorm,
    compression,
    conv,
    conv1x1,
    counters,
    deep_compression,
    densenet,
    depthwise,
    fire,
    gap,
    grouped,
    im2col,
    inception,
    linear,
    mbv2_memory,
    memaccess,
    mobilenet_v2,
    multipliers,
    nas,
    pool,
    receptive,
    resnet,
    se,
    shuffle,
    shuffle_cost,
    shufflenet_v2,
    sparse,
)
from .mistakes import CATALOGUE, MistakeKind
from .question import Family

__all__ = ["MODULES", "FAMILIES", "get_family", "family_ids", "warm_caches", "check_mistake_codes"]

MODULES: tuple[ModuleType, ...] = (
    conv,
    linear,
    pool,
    grouped,
    depthwise,
    shuffle,
    memaccess,
    gap,
    compression,
    receptive,
    conv1x1,
    fire,
    inception,
    resnet,
    se,
    densenet,
    mobilenet_v2,
    archs,
    batchnorm,
    nas,
    shufflenet_v2,
    shuffle_cost,
    multipliers,
    mbv2_memory,
    sparse,
    deep_compression,
    im2col,
    counters,
)


def check_mistake_codes(modules: Iterable[ModuleType]) -> dict[str, MistakeKind]:
    """Every ``MistakeKind`` the modules define or import, by code; ``QuestionError`` when two
    different objects share a code (a family redefining a standard or another family's code)."""
    kinds: dict[str, MistakeKind] = dict(CATALOGUE)
    for module in modules:
        for name, value in vars(module).items():
            if not isinstance(value, MistakeKind):
                continue
            known = kinds.setdefault(value.code, value)
            if known is not value:
                raise QuestionError(
                    f"mistake code {value.code!r} is defined twice ({module.__name__}.{name}); "
                    "import the existing kind instead"
                )
    return kinds


def _collect(modules: Iterable[ModuleType]) -> dict[str, Family]:
    families: dict[str, Family] = {}
    for module in modules:
        for family in module.FAMILIES:
            if family.id in families:
                raise QuestionError(f"family id {family.id!r} is registered twice")
            families[family.id] = family
    return families


check_mistake_codes(MODULES)
FAMILIES: dict[str, Family] = _collect(MODULES)


def family_ids() -> list[str]:
    """Every family id, sorted."""
    return sorted(FAMILIES)


def get_family(family_id: str) -> Family:
    """The family called ``family_id``; KeyError when there is none."""
    return FAMILIES[family_id]


def warm_caches(seeds: int | None = None) -> int:
    """Generate one variant per family and level (first-use costs), then each family's own
    ``warm_seeds`` (or ``seeds``) variants per level, filling its memoised block caches.
    Returns how many variants were generated."""
    made = 0
    for family in FAMILIES.values():
        count = max(1, family.warm_seeds if seeds is None else min(seeds, family.warm_seeds))
        for level in family.difficulties:
            for seed in range(count):
                family.generate(seed, level)
                made += 1
    return made
