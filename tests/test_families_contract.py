"""The contract every question family keeps, checked on every family at every difficulty over
the same seeds (``family_cases.SEEDS``):

- the truth written the ways a student writes it is graded correct (parts: in every natural
  multi-part form); each mistake the family names is graded wrong and named;
- no example in a prompt is graded correct, and prompts carry no other examples;
- the precision rule is stated in the prompt; hints (two or more) never contain the answer;
  solutions end at the truth; unreadable answers are ``invalid`` and nothing raises;
- the truth equals an independent closed form, written in the tests from the question's
  ``params`` and the papers (the tables ``CLOSED_FORMS`` of test_families_layers, _blocks and
  _efficiency): a registered family without one fails here, it is not skipped;
- variant pools: at least 50 distinct variants per level for every layer and block family;
- every card a family names exists in the content deck; network families only ask about the
  networks of their own topic; at least eight families are multi-part.
"""

from __future__ import annotations

import re
from fractions import Fraction
from typing import Any

import pytest

from content import DEFAULT_NOTES_DIR, load_directory
from grader.display import format_expected
from grader.families.archs import NETWORKS
from grader.grading import check_truth
from grader.instructions import EXAMPLES_LEAD
from grader.question import Draft, Family, Question
from grader.registry import FAMILIES
from grader.types import AnswerSpec, Mistake, Truth

from . import test_families_blocks, test_families_efficiency, test_families_layers
from .family_cases import (
    ALL_IDS,
    LAYER_BLOCK_IDS,
    SEEDS,
    Check,
    correct_forms,
    mistake_answer,
    parts_forms,
    question,
    questions,
)

NOTE_TOPICS = {
    "conv-arithmetic", "pooling", "alexnet", "vgg", "googlenet", "conv1x1", "global-avg-pooling",
    "resnet", "grouped-conv", "resnext", "densenet", "senet", "squeezenet", "mobilenet-v1",
    "mobilenet-v2", "shufflenet-v1", "shufflenet-v2", "sparse-vs-dense", "nas", "quantization", "batch-norm",
}  # fmt: skip
GARBAGE = ["", "   ", "banana", "NaN", "-∞", "1..2", "1.5.5", "(64, 56", "1e99999", "@#$%",
           "9" * 5000, "12 apples", "\x00\x01", "DROP TABLE questions;"]  # fmt: skip


def _forms(q: Question) -> list[Any]:
    if q.answer.kind == "parts":
        return parts_forms(q.answer, q.truth)
    return correct_forms(q.answer, q.truth)


CLOSED_FORM_TABLES = {
    module.__name__: module.CLOSED_FORMS
    for module in (test_families_layers, test_families_blocks, test_families_efficiency)
}
CLOSED_FORMS: dict[str, Check] = {
    fid: check for table in CLOSED_FORM_TABLES.values() for fid, check in table.items()
}


def test_closed_form_tables_name_registered_families_once() -> None:
    listed = [fid for table in CLOSED_FORM_TABLES.values() for fid in table]
    assert len(listed) == len(set(listed)), sorted(f for f in listed if listed.count(f) > 1)
    assert set(listed) <= set(FAMILIES), set(listed) - set(FAMILIES)


@pytest.mark.parametrize("fid", ALL_IDS)
def test_truth_matches_an_independent_closed_form(fid: str) -> None:
    check = CLOSED_FORMS.get(fid)
    assert check is not None, (
        f"{fid} has no closed form: add a check to CLOSED_FORMS in tests/test_families_layers.py, "
        "_blocks.py or _efficiency.py, from its params and the paper, not from its own code"
    )
    for q in questions(fid):
        check(q)


def test_generate_keeps_only_the_mistakes_a_variant_can_make() -> None:
    """A generator lists every mistake that may apply; ``Family.generate`` keeps, in one place
    for every family, those this variant can make, in the order listed."""

    def gen(rng: Any, difficulty: int) -> Draft:
        twice = Mistake("twice", "Counted twice.", 2000)
        return Draft(
            "How many parameters?",
            {},
            AnswerSpec.number("params"),
            1000,
            "1000",
            mistakes=[
                None,  # does not apply to this variant
                Mistake("zero", "A layer that cannot exist.", 0),
                Mistake("negative", "A layer that cannot exist.", -5),
                Mistake("same", "Changes nothing here.", 1000),
                twice,
                Mistake("half", "Half of it.", 500),
                twice,  # listed again: kept once
                Mistake("doubled", "Another way to 2000.", 2000),  # another code: kept
            ],
        )

    q = Family("kept", "t", "Kept", "number", gen).generate(0)
    assert [(m.code, m.value) for m in q.mistakes] == [
        ("twice", 2000),
        ("half", 500),
        ("doubled", 2000),
    ]


@pytest.mark.parametrize("fid", ALL_IDS)
def test_truth_in_other_forms_is_correct(fid: str) -> None:
    for q in questions(fid):
        for text in _forms(q):
            g = q.grade(text)
            assert (g.status, g.score) == ("correct", 1.0), (q.seed, text, q.truth, g.feedback)
            if q.answer.kind == "parts":
                assert g.parts is not None and len(g.parts) == len(q.answer.parts or ())
                assert all(part.status == "correct" for _, part in g.parts)


@pytest.mark.parametrize("fid", ALL_IDS)
def test_each_mistake_is_graded_wrong_and_named(fid: str) -> None:
    named = 0
    for q in questions(fid):
        for m in q.mistakes:
            assert m.message.endswith("."), m
            g = q.grade(mistake_answer(q, m))
            assert g.status in ("incorrect", "partial"), (q.seed, m, g.feedback)
            assert m.code in g.codes, (q.seed, m.code, g.codes, g.feedback)
            named += 1
    assert named >= len(SEEDS), "a family names at least one mistake per question"


def _examples(prompt: str) -> list[str]:
    tail = prompt.split(EXAMPLES_LEAD)[1].strip()
    assert tail.endswith("."), tail
    return tail[:-1].split(" or ")


@pytest.mark.parametrize("fid", ALL_IDS)
def test_no_example_in_a_prompt_is_graded_correct(fid: str) -> None:
    shown = 0
    for q in questions(fid):
        assert "e.g." not in q.text and "such as" not in q.text, q.text
        assert q.text.count(EXAMPLES_LEAD) <= 1 and EXAMPLES_LEAD not in q.prompt
        if EXAMPLES_LEAD not in q.rules:
            assert q.answer.kind == "choice" or q.answer.exact, q.text
            continue
        for example in _examples(q.rules):
            g = q.grade(example)
            assert g.status != "invalid", (example, g.feedback)  # it shows a readable form
            assert g.status != "correct", (q.seed, example, q.truth)
            for name, part in g.parts or ():
                assert part.status != "correct", (q.seed, name, example)
            shown += 1
    exact = all(q.answer.kind == "number" and q.answer.exact for q in questions(fid))
    assert shown or exact or FAMILIES[fid].answer_kind == "choice"


def _rule_phrases(spec: AnswerSpec) -> list[str]:
    if spec.kind == "parts":
        return ["parts in order", "graded on its own"] + [
            p for _, part in spec.parts or () for p in _rule_phrases(part)[:1]
        ]
    if spec.kind == "choice":
        return ["(a) ", "letter"]
    if spec.kind == "shape":
        return ["(N, C, H, W)" if spec.batch else "(C, H, W)"]
    if spec.exact:
        return ["exact", "only the exact value is correct"]
    return [f"{spec.min_sig_figs} significant figures", "half a unit"]


@pytest.mark.parametrize("fid", ALL_IDS)
def test_prompts_state_the_precision_rule_and_solutions_end_at_the_truth(fid: str) -> None:
    for q in questions(fid):
        for phrase in _rule_phrases(q.answer):
            assert phrase in q.rules, (phrase, q.rules)
        assert q.conventions and all(c.strip() for c in q.conventions)
        shown = format_expected(q.answer, check_truth(q.answer, q.truth))
        if q.answer.kind == "parts":
            for name, part in q.answer.parts or ():
                assert format_expected(part, check_truth(part, q.truth[name])) in q.solution
        else:
            assert q.solution.endswith(shown) or q.solution.rstrip(")").endswith(shown), (
                q.solution,
                shown,
            )


_NUMBER = re.compile(r"\d[\d,]*(?:\.\d+)?")


def _leaks(hint: str, spec: AnswerSpec, truth: Truth) -> bool:
    """Whether ``hint`` states ``truth``: its display, its shape, or its value as a number."""
    if spec.kind == "parts":
        assert isinstance(truth, dict)
        return any(_leaks(hint, part, truth[name]) for name, part in spec.parts or ())
    if spec.kind == "choice":
        return False  # a hint may name layers; the choice is the comparison
    if spec.kind == "shape":
        return ", ".join(map(str, truth)) in hint or "×".join(map(str, truth)) in hint  # type: ignore[arg-type]
    value = Fraction(truth)  # type: ignore[arg-type]
    numbers = {Fraction(t.replace(",", "")) for t in _NUMBER.findall(hint)}
    # Small whole numbers (a group count, a side, 4 bytes) appear in any working; a value in
    # the question's unit leaks only when the hint writes it with that unit.
    small = value.denominator == 1 and value < 100
    shown = format_expected(spec, check_truth(spec, truth)).split(" (")[0]
    return (not small and value in numbers) or (not small and shown in hint)


@pytest.mark.parametrize("fid", ALL_IDS)
def test_hints_go_step_by_step_and_never_give_the_answer(fid: str) -> None:
    for q in questions(fid):
        assert len(q.hints) >= 2 and len(set(q.hints)) == len(q.hints), q.hints
        for hint in q.hints:
            assert hint.strip().endswith((".", "?")), hint
            assert not _leaks(hint, q.answer, q.truth), (q.seed, hint, q.truth)


@pytest.mark.parametrize("fid", ALL_IDS)
def test_garbage_is_invalid_and_nothing_raises(fid: str) -> None:
    fam = FAMILIES[fid]
    for d in fam.difficulties:
        for seed in SEEDS[:4]:
            q = question(fid, seed, d)
            assert fam.generate(seed, d) == q  # deterministic
            for text in GARBAGE:
                g = q.grade(text)
                assert (g.status, g.score) == ("invalid", 0.0), (text, g.feedback)
                assert g.feedback.startswith("Could not read"), g.feedback


@pytest.mark.parametrize("fid", LAYER_BLOCK_IDS)
def test_at_least_fifty_distinct_variants_per_level(fid: str) -> None:
    for d in FAMILIES[fid].difficulties:
        distinct = len({q.prompt for q in questions(fid, d)})
        assert distinct >= 50, f"{fid} at difficulty {d}: {distinct} distinct in {len(SEEDS)}"


def test_every_card_a_family_names_is_in_the_deck() -> None:
    deck = {card.id for card, _ in load_directory(DEFAULT_NOTES_DIR).cards}
    missing = {(f.id, card) for f in FAMILIES.values() for card in f.cards if card not in deck}
    assert not missing
    assert all(f.cards for f in FAMILIES.values())
    q = question("conv_params", 0, 1)
    assert q.cards == FAMILIES["conv_params"].cards == q.grade("1").cards


def test_family_topics_kinds_and_parts() -> None:
    for fam in FAMILIES.values():
        assert fam.topic in NOTE_TOPICS, fam.id
        assert fam.answer_kind in ("number", "shape", "choice", "parts"), fam.id
        assert fam.title and fam.expected_seconds > 0 and fam.difficulties == (1, 2, 3)
        for d in fam.difficulties:
            assert question(fam.id, 0, d).answer.kind == fam.answer_kind
    parts = [f.id for f in FAMILIES.values() if f.answer_kind == "parts"]
    assert len(parts) >= 8, parts
    topics = {f.topic for f in FAMILIES.values()}
    single = [t for t in topics if sum(f.topic == t for f in FAMILIES.values()) == 1]
    assert not single, single


def test_network_families_ask_only_about_their_topics_networks() -> None:
    for fam in FAMILIES.values():
        if not fam.architecture_level or fam.id == "arch_fc_param_share":
            continue
        allowed = set(NETWORKS[fam.topic])
        for q in questions(fam.id):
            assert q.params["architecture"] in allowed, (fam.id, q.params)
            assert "_" not in q.prompt.split("?")[0], q.prompt  # named, not by registry id


def test_network_solutions_break_the_total_down() -> None:
    for topic in NETWORKS:
        fid = f"{topic.replace('-', '_')}_network"
        for q in questions(fid):
            assert "by stage:" in q.solution and "by kind of layer:" in q.solution, q.solution
