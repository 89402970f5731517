"""grader.leaks: which figures a text states, and hints that never state an answer of
their copy (the open-copy rule's check on hints; tests/test_open_copy.py runs it over HTTP)."""

from __future__ import annotations

from fractions import Fraction

import pytest

from grader.leaks import figures, safe_hints, shapes, states_truth
from grader.registry import FAMILIES
from grader.types import AnswerSpec


def test_figures_keep_their_precision_and_unit() -> None:
    found = {f.text.split()[0]: f for f in figures("61.1 M parameters, 784 KiB, 10.16%, 6.1e7")}
    assert found["61.1"].value * found["61.1"].multiplier == 61_100_000
    assert found["61.1"].half_ulp == Fraction(1, 20) and found["61.1"].dimension == "params"
    assert found["784"].multiplier == 1024 and found["784"].dimension == "bytes"
    assert found["10.16%"].value * found["10.16%"].multiplier == Fraction(1016, 10000)
    assert found["6.1e7"].value == 61_000_000 and found["6.1e7"].half_ulp == 500_000
    assert shapes("(1, 64, 56, 56) or 64×56×56, kernel 3x3") == {(1, 64, 56, 56), (64, 56, 56),
                                                                 (3, 3)}  # fmt: skip


@pytest.mark.parametrize(
    ("text", "stated"),
    [
        ("The network has 61,100,840 parameters in all.", True),
        ("It has about 61.1 M parameters.", True),  # rounds to the truth at its precision
        ("It has 61 million parameters.", True),
        ("It has 62 M parameters.", False),
        ("It has 61,100,840 MACs.", False),  # another quantity
        ("Multiply 64·3·3 = 576 by 256.", False),
    ],
)
def test_a_text_states_a_count_at_its_own_precision(text: str, stated: bool) -> None:
    answers = [(AnswerSpec.number("params"), 61_100_840)]
    assert states_truth(text, answers) is stated


def test_a_given_of_the_copy_states_nothing() -> None:
    answers = [(AnswerSpec.number("params"), 576)]
    assert states_truth("Each filter has 576 weights.", answers)
    assert not states_truth("Each filter has 576 weights.", answers, ["A layer with 576 inputs"])


def test_a_share_hint_is_dropped_when_the_copy_asks_the_total() -> None:
    family = FAMILIES["alexnet_network"]
    share = family.generate(3, 2)
    totals = [family.generate(s, 1) for s in range(8)]
    total = next(t for t in totals if f"{t.truth:,}" in share.hints[-1])
    assert safe_hints(share, [share]) == share.hints  # alone, the total is no answer
    assert safe_hints(share, [share, total]) == share.hints[:-1]


@pytest.mark.parametrize("family_id", sorted(FAMILIES))
def test_no_hint_states_its_own_answer(family_id: str) -> None:
    """A hint is a step, never the result (a small exact count equal to a step's number by
    chance is dropped when served, see ``safe_hints``)."""
    family = FAMILIES[family_id]
    for difficulty in family.difficulties:
        for seed in range(3):
            q = family.generate(seed, difficulty)
            if q.answer.kind == "number" and q.answer.exact:
                continue  # a small count may equal a step's number by chance: served without
            assert safe_hints(q) == q.hints, (seed, difficulty, q.hints, q.truth)
