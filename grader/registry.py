"""The explicit registry of question families (no import scanning)."""

from __future__ import annotations

from .families import block_families, layer_families
from .question import Family

__all__ = ["FAMILIES", "get_family", "family_ids", "warm_caches"]

# Families whose truths come from blocks with a bounded set of configurations, each profiled
# once and cached; warming walks enough seeds to meet nearly all of them.
_BOUNDED = ("densenet_channels", "inverted_residual_macs")

FAMILIES: dict[str, Family] = {
    f.id: f for f in (*layer_families.FAMILIES, *block_families.FAMILIES)
}


def family_ids() -> list[str]:
    """Every family id, sorted."""
    return sorted(FAMILIES)


def get_family(family_id: str) -> Family:
    """The family called ``family_id``; KeyError when there is none."""
    return FAMILIES[family_id]


def warm_caches(seeds: int = 150) -> int:
    """Generate one variant per family and level (first-use costs), then ``seeds`` variants
    of the families with bounded block configurations; returns how many were generated."""
    made = 0
    for family in FAMILIES.values():
        for level in family.difficulties:
            family.generate(0, level)
            made += 1
    for family_id in _BOUNDED:
        family = FAMILIES[family_id]
        for seed in range(seeds):
            for level in family.difficulties:
                family.generate(seed, level)
                made += 1
    return made
