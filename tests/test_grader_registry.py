"""The registry (one list of family modules, unique mistake codes), exam plans that spread over
families, fresh variants for reviews, and the instructions every prompt ends with."""

from __future__ import annotations

import types
from collections import Counter
from itertools import count
from pathlib import Path

import pytest

from grader import families
from grader.errors import QuestionError
from grader.exam import plan_exam
from grader.families import conv, pool
from grader.instructions import EXAMPLES_LEAD, answer_instructions, example_answers
from grader.mistakes import CATALOGUE, MistakeKind, define
from grader.registry import FAMILIES, MODULES, check_mistake_codes, warm_caches
from grader.types import AnswerSpec
from grader.variants import distinct_variants, fresh_seed, fresh_variant


def test_every_mistake_code_names_one_kind() -> None:
    kinds = check_mistake_codes(MODULES)
    assert set(CATALOGUE) <= set(kinds)
    assert len(kinds) > len(CATALOGUE) + 50  # the families' own codes
    assert kinds["forgot_bn"].message.startswith("This leaves out BatchNorm's learnable")


def test_a_code_defined_twice_is_refused() -> None:
    copy = types.ModuleType("grader.families.copy")
    copy.FORGOT_PADDING = MistakeKind("forgot_padding", "A drifted copy.")  # type: ignore[attr-defined]
    with pytest.raises(QuestionError, match="'forgot_padding' is defined twice"):
        check_mistake_codes([conv, copy])
    twin = types.ModuleType("grader.families.twin")
    twin.USED_INPUT_SIZE = define("used_input_size", conv.USED_INPUT_SIZE.message)  # type: ignore[attr-defined]
    with pytest.raises(QuestionError):  # even with the same message: a copy that will drift
        check_mistake_codes([conv, twin])
    check_mistake_codes([conv, pool])  # pool imports conv's kinds: the same objects


def test_registry_lists_modules_not_ids() -> None:
    assert len(FAMILIES) == sum(len(m.FAMILIES) for m in MODULES)
    warmed = warm_caches()
    expected = sum(max(1, f.warm_seeds) * len(f.difficulties) for f in FAMILIES.values())
    assert warmed == expected
    assert any(f.warm_seeds for f in FAMILIES.values())


def test_every_family_module_is_registered() -> None:
    """A module under grader/families/ left out of ``MODULES`` would register nothing, and no
    family test would see its families."""
    folder = Path(families.__file__).parent
    on_disk = {path.stem for path in folder.glob("*.py") if not path.stem.startswith("_")}
    assert {m.__name__.rsplit(".", 1)[-1] for m in MODULES} == on_disk


def test_exams_spread_over_the_families_of_a_topic() -> None:
    for topic in ("conv-arithmetic", "resnet", "mobilenet-v2", "squeezenet"):
        fams = [f.id for f in FAMILIES.values() if f.topic == topic]
        plan = plan_exam(FAMILIES, seed=3, count=2 * len(fams) + 1, topics=[topic])
        per_family = Counter(p.family for p in plan)
        assert set(per_family) == set(fams), (topic, per_family)
        assert max(per_family.values()) - min(per_family.values()) <= 1
    plan = plan_exam(FAMILIES, seed=5, count=12, topics=["resnet", "senet"])
    assert Counter(p.topic for p in plan) == {"resnet": 6, "senet": 6}
    assert len({(p.family, p.seed, p.difficulty) for p in plan}) == 12


def test_a_review_never_repeats_the_last_variant() -> None:
    fam = FAMILIES["se_block_params"]
    last = fam.generate(7, 1)
    seeds = iter([7, 7, 7, 8])
    fresh = fresh_variant(fam, 1, last, draw=lambda: next(seeds))
    assert fresh.seed == 8 and fresh.prompt != last.prompt
    assert fresh_seed(fam, 1, 7, 1, draw=iter([7, 9]).__next__) == 9
    # A pool of one (a topic with one network, at one level) cannot change: the draw is kept.
    one = FAMILIES["alexnet_network"]
    draws = count(1)
    assert fresh_variant(one, 1, one.generate(0, 1), draw=lambda: next(draws)).seed == 20
    assert distinct_variants(fam, 1, range(12)) >= 10


def test_instructions_state_the_rule_with_fixed_examples() -> None:
    spec = AnswerSpec.number("params")
    text = answer_instructions(spec)
    assert "3rd significant figure" in text and "half a unit" in text and EXAMPLES_LEAD in text
    # The examples are the same for every truth: they never depend on the answer.
    assert example_answers(spec, 23_296) == example_answers(spec, 5) == example_answers(spec)
    assert answer_instructions(spec, 23_296) == text
    assert answer_instructions(AnswerSpec.number("channels"), 64).startswith(
        "Answer with the exact whole number of channels: only the exact value is correct"
    )
    choice = answer_instructions(AnswerSpec.choice("conv1", "fc6"), 1)
    assert choice == "Choices: (a) conv1; (b) fc6. Answer with the letter or the text of a choice."
    percent = answer_instructions(AnswerSpec.percent())
    assert percent.startswith(
        "Answer in percent (a bare number is read in %; one below 1 needs its % sign): correct"
    )
    assert "percentage points" not in percent
