"""The explicit registry of question families (no import scanning)."""

from __future__ import annotations

from .families import block_families, layer_families
from .question import Family

__all__ = ["FAMILIES", "get_family", "family_ids"]

FAMILIES: dict[str, Family] = {
    f.id: f for f in (*layer_families.FAMILIES, *block_families.FAMILIES)
}


def family_ids() -> list[str]:
    """Every family id, sorted."""
    return sorted(FAMILIES)


def get_family(family_id: str) -> Family:
    """The family called ``family_id``; KeyError when there is none."""
    return FAMILIES[family_id]
