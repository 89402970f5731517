"""Variant pools (api.services.questions): a study step takes a fresh variant drawn ahead, never the
student's last one, and a pooled variant is exactly what its stored seed regenerates."""

from __future__ import annotations

import time

from api.services import questions
from grader.registry import FAMILIES
from grader.variants import same_variant


def _filled(pools: questions._Pools, family: str, difficulty: int) -> list:
    assert pools.draw(family, difficulty, None) is None  # empty: the caller generates
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        members = list(pools._members.get((family, difficulty), ()))
        if len(members) >= pools.SIZE:
            return members
        time.sleep(0.02)
    raise AssertionError(f"pool of {family} did not fill: {len(members)}")


def test_a_pool_fills_in_the_background_and_serves_fresh_variants() -> None:
    pools = questions._Pools()
    members = _filled(pools, "conv_params", 2)
    assert len({m.seed for m in members}) == pools.SIZE
    for m in members:  # each member is what its seed regenerates: the stored seed suffices
        assert m.prompt == FAMILIES["conv_params"].generate(m.seed, 2).prompt
    last = members[0]
    questions._VARIANTS.put(("conv_params", last.seed, 2), last)
    drawn = [pools.draw("conv_params", 2, (last.seed, 2)) for _ in range(200)]
    assert all(q is not None for q in drawn) and len({q.seed for q in drawn}) > 5
    assert not any(same_variant(q, last) for q in drawn)  # never the last one again


def test_a_pool_answers_none_when_it_cannot_compare_with_the_last_variant() -> None:
    pools = questions._Pools()
    members = _filled(pools, "linear_params", 1)
    unknown_seed = max(m.seed for m in members) + 1
    questions._VARIANTS._items.pop(("linear_params", unknown_seed, 1), None)
    assert pools.draw("linear_params", 1, (unknown_seed, 1)) is None


def test_a_full_pool_rotates_slowly() -> None:
    pools = questions._Pools()
    before = {m.seed for m in _filled(pools, "pool_params", 1)}
    for _ in range(pools.ROTATE * 20):
        pools.draw("pool_params", 1, None)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        after = {m.seed for m in pools._members[("pool_params", 1)]}
        if after != before:
            break
        time.sleep(0.02)
    assert len(after) == pools.SIZE and after != before and len(after & before) > 0


def test_fresh_adds_what_it_generates_to_the_pool() -> None:
    pools = questions._POOLS
    q = questions.fresh("conv_macs", 3, None)
    assert any(m.seed == q.seed for m in pools._members[("conv_macs", 3)])


def test_no_pool_for_an_unknown_family() -> None:
    pools = questions._Pools()
    assert pools.draw("no_such_family", 1, None) is None
    time.sleep(0.2)
    assert pools._members.get(("no_such_family", 1)) is None


def test_fill_fills_a_pool_here_and_now() -> None:
    pools = questions._Pools()
    assert pools.fill("conv_flops", 1) == pools.SIZE
    assert pools.fill("conv_flops", 1) == 0
    assert pools.draw("conv_flops", 1, None) is not None
