"""The exam board's checks on generated questions (docs/deck-audit.md, issue 22 item 6), kept
as tests over every family, every level and several seeds: a worked solution ends at the
graded answer, its arithmetic holds at the precision it is written with, nothing is rounded
down without saying so, and a breakdown's shares are each rounded as the answer is."""

from __future__ import annotations

import re
from fractions import Fraction

import pytest

from grader.registry import FAMILIES

SEEDS = range(8)
# "a / b = c" written with numbers only (not "x × a / b", not a percentage).
_DIVISION = re.compile(
    r"(?<![\w.,·×*/^])(?<![×·*]\s)(\d[\d,]*)\s*/\s*(\d[\d,]*)\s*=\s*(\d[\d,]*(?:\.\d+)?)"
    r"(?![\d.,]*\d)(?!\s*%)"
)
_SHARE = re.compile(r"([\w.× ]+?) (\d[\d,]*) \((\d+(?:\.\d+)?)%\)")


def _variants(family_id: str):
    family = FAMILIES[family_id]
    for difficulty in family.difficulties:
        for seed in SEEDS:
            yield family.generate(seed, difficulty)


def _number(text: str) -> Fraction:
    return Fraction(text.replace(",", ""))


@pytest.mark.parametrize("family_id", sorted(FAMILIES))
def test_the_solution_ends_at_the_graded_answer(family_id: str) -> None:
    for q in _variants(family_id):
        shown = q.expected()[1]
        if q.answer.kind == "parts":
            for part in shown.split("; "):
                assert part.split(": ", 1)[1] in q.solution, (q.seed, q.difficulty, part)
        else:
            assert shown in q.solution.strip().splitlines()[-1], (q.seed, q.difficulty, shown)


@pytest.mark.parametrize("family_id", sorted(FAMILIES))
def test_divisions_hold_at_their_written_precision(family_id: str) -> None:
    """No silent flooring: ``4·56/64 = 3`` (3.5 floored) fails; a floor is written ⌊…⌋."""
    for q in _variants(family_id):
        for text in (q.prompt, q.solution, *q.hints):
            for m in _DIVISION.finditer(text):
                a, b, c = (_number(x) for x in m.groups())
                if b == 0 or text[: m.start()].rstrip().endswith("⌊"):
                    continue
                places = len(m.group(3).split(".")[1]) if "." in m.group(3) else 0
                assert abs(a / b - c) <= Fraction(1, 2) / 10**places, (q.seed, m.group(0))


def test_a_resnext_group_width_rounded_down_says_so() -> None:
    family = FAMILIES["resnext_block_params"]
    floored = 0
    for seed in range(64):
        q = family.generate(seed, 1)
        d, planes = q.params["bottleneck_width"], q.params["planes"]
        if d * planes % 64:
            floored += 1
            assert f"⌊{d}·{planes}/64⌋" in q.prompt and "rounded down" in q.prompt
            assert f"⌊{d}·{planes}/64⌋" in q.solution
        else:
            assert f"d·P/64 = {d}·{planes}/64 = {d * planes // 64}" in q.prompt
    assert floored > 0  # the draw does include widths that are not whole


@pytest.mark.parametrize(
    "family_id", sorted(f for f, fam in FAMILIES.items() if fam.id.endswith("_network"))
)
def test_breakdown_shares_are_rounded_as_the_answer_is(family_id: str) -> None:
    """Each share in a breakdown is 100·part/total rounded to 0.01 on its own, so the line
    that holds the answer shows the answer's figures (10.16 %, never 10.17 %)."""
    for q in _variants(family_id):
        lines = q.solution.splitlines()
        total = next((_number(m) for m in re.findall(r"/ (\d[\d,]*) =", lines[-1])), None)
        if total is None:
            continue  # a total question: its breakdown adds up to the answer
        for line in lines[:-2]:
            for name, value, percent in _SHARE.findall(line):
                exact = 100 * _number(value) / total
                assert abs(exact - Fraction(percent)) <= Fraction(1, 200), (q.seed, name)


def test_an_se_block_says_the_rescaling_costs_no_macs() -> None:
    for q in _variants("se_block_cost"):
        assert "rescaling" in q.prompt and "costs 0 MACs" in q.prompt


_DOUBLED = re.compile(r"\b([A-Za-z]{2,}) \1\b")


@pytest.mark.parametrize("family_id", sorted(FAMILIES))
def test_no_word_is_written_twice(family_id: str) -> None:
    """ "3,010,560 elements elements": a unit word added by the display and again by hand."""
    for q in _variants(family_id):
        for text in (q.prompt, q.solution, *q.hints):
            assert not _DOUBLED.search(text), (q.seed, q.difficulty, _DOUBLED.search(text))
