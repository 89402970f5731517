"""Many variants of every family, for the fairness properties (``test_families_fairness``).

Generating 200 variants of every family at every level costs minutes of CPU (each variant
profiles real torch modules), so the variants are kept on disk between runs, keyed by a digest
of every source file of ``grader`` and ``models``: any change to the code that generates
them regenerates them. The cache is only ever a copy of what the current code generates.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import re
from collections.abc import Iterator, Mapping
from fractions import Fraction
from pathlib import Path
from typing import Any

from grader.question import Question
from grader.registry import FAMILIES

ROOT = Path(__file__).resolve().parent.parent
FAIRNESS_SEEDS = range(200)
_CACHE_DIR = ROOT / ".pytest_cache" / "flopcards-variants"


def _digest() -> str:
    h = hashlib.sha256()
    for package in ("grader", "models"):
        for path in sorted((ROOT / package).rglob("*.py")):
            h.update(str(path.relative_to(ROOT)).encode())
            h.update(path.read_bytes())
    return h.hexdigest()[:20]


# Taken once, at import: the code this process runs, even if the files change under it.
_DIGEST = _digest()
_MEMORY: dict[tuple[str, int], list[Question]] = {}


def variants(fid: str, level: int) -> list[Question]:
    """The family's variants over ``FAIRNESS_SEEDS`` at ``level`` (disk-cached)."""
    key = (fid, level)
    if key in _MEMORY:
        return _MEMORY[key]
    path = _CACHE_DIR / _DIGEST / f"{fid}-{level}.pickle"
    found: list[Question] | None = None
    if path.exists():
        try:
            found = pickle.loads(path.read_bytes())
        except Exception:  # a torn or stale file: generate again
            found = None
    if found is None or len(found) != len(FAIRNESS_SEEDS):
        found = [FAMILIES[fid].generate(seed, level) for seed in FAIRNESS_SEEDS]
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")  # parallel workers write their own
        tmp.write_bytes(pickle.dumps(found))
        tmp.replace(path)
    _MEMORY[key] = found
    return found


# -- the numbers a text shows -----------------------------------------------------------------

_SUFFIX = {"k": 10**3, "K": 10**3, "M": 10**6, "G": 10**9, "T": 10**12}
_NUMBER = re.compile(
    r"(?<![\w.])(?P<int>\d{1,3}(?:,\d{3})+|\d+)?(?:\.(?P<frac>\d+))?"
    r"(?:[eE](?P<exp>[+-]?\d+))?(?P<suffix>[kKMGT](?![a-zA-Z]))?"
)


def numbers_in(text: str) -> list[Fraction]:
    """Every number written in ``text``: ``2,036,982``, ``2.04M``, ``1.23e6``, ``12.3%`` (as
    12.3), the dimensions of ``64×56×56`` one by one."""
    out = []
    for m in _NUMBER.finditer(text):
        if not (m.group("int") or m.group("frac")):
            continue
        value = Fraction((m.group("int") or "0").replace(",", ""))
        if m.group("frac"):
            value += Fraction(int(m.group("frac")), 10 ** len(m.group("frac")))
        if m.group("exp"):
            value *= Fraction(10) ** int(m.group("exp"))
        if m.group("suffix"):
            value *= _SUFFIX[m.group("suffix")]
        out.append(value)
    return out


def givens(params: Any) -> set[Fraction]:
    """The numbers of a question's ``params`` (its givens), flattened."""
    out: set[Fraction] = set()
    if isinstance(params, bool) or params is None or isinstance(params, str):
        return out
    if isinstance(params, int | float | Fraction):
        out.add(Fraction(params))
    elif isinstance(params, Mapping):
        for v in params.values():
            out |= givens(v)
    elif isinstance(params, tuple | list | set | frozenset):
        for v in params:
            out |= givens(v)
    return out


def truth_slots(q: Question) -> Iterator[tuple[str, Fraction]]:
    """The numbers the answer consists of, each named: a number in its base unit and in the
    question's unit, each dimension of a shape, each numeric part."""
    yield from _slots("", q.answer, q.truth)


def _slots(prefix: str, spec: Any, truth: Any) -> Iterator[tuple[str, Fraction]]:
    from grader.grading import check_truth
    from grader.units import lookup_unit

    if spec.kind == "parts":
        for name, part in spec.parts or ():
            yield from _slots(f"{prefix}{name}.", part, truth[name])
    elif spec.kind == "shape":
        for i, d in enumerate(truth):
            yield f"{prefix}dim{i}", Fraction(d)
    elif spec.kind == "number":
        value = check_truth(spec, truth)
        assert isinstance(value, Fraction)
        yield f"{prefix}value", value
        unit = lookup_unit(spec.unit) if spec.unit else None
        if unit is not None and unit.multiplier != 1:
            yield f"{prefix}in_unit", value / unit.multiplier


def fixed_relations(
    seen: list[tuple[Fraction, list[Fraction]]], share: float = 0.5, min_truths: int = 5
) -> list[str]:
    """The fixed ratios and offsets between a truth and a number shown with it.

    ``seen`` holds, for each variant, the truth and the numbers shown (givens left out). A
    ratio (within 1%) or an offset (exact) that holds in at least ``share`` of the variants,
    over at least ``min_truths`` different truths (for a ratio, spread over more than 10%),
    is a rule a student can invert: reported.
    """
    truths = {t for t, _ in seen}
    if len(truths) < min_truths:
        return []
    found = []
    offsets: dict[Fraction, set[int]] = {}
    ratios: list[tuple[float, int, Fraction]] = []
    for i, (t, shown) in enumerate(seen):
        for v in set(shown):
            offsets.setdefault(v - t, set()).add(i)
            if t > 0 and v > 0:
                ratios.append((float(v / t), i, t))
    need = share * len(seen)
    for offset, where in offsets.items():
        if len(where) >= need and len({seen[i][0] for i in where}) >= min_truths:
            found.append(f"shown = truth {'+' if offset >= 0 else '-'} {abs(offset)}")
    ratios.sort()
    lo = 0
    for hi in range(len(ratios)):
        while ratios[hi][0] > ratios[lo][0] * 1.01:
            lo += 1
        window = ratios[lo : hi + 1]
        seeds = {i for _, i, _ in window}
        spread = {t for _, _, t in window}
        # A truth that barely varies (a ratio always near 1) keeps any constant near a fixed
        # ratio: only truths spread wider than the window can show a rule.
        if len(seeds) >= need and len(spread) >= min_truths and max(spread) >= 1.1 * min(spread):
            found.append(f"shown ≈ truth × {ratios[hi][0]:.4g}")
            break
    return found
