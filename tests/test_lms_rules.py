"""A question exported to a platform that grades it (Moodle XML, GIFT) states the rule that
platform applies, not this service's: Moodle's numerical question and GIFT's
``{#answer:tolerance}`` read a plain number, take the band of half a unit of the d-th
significant figure and give no partial credit for fewer figures, so the exported text says
exactly that (the study rule's "half credit" and its k/M forms would be a promise the
platform does not keep); its examples are outside the band it grades with."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from fractions import Fraction

from grader.exports import FORMATS, ExportItem, Paper
from grader.registry import get_family

# Every answer kind and every number form: exact counts, bytes, MACs, percent, fraction,
# shapes, choices, parts with whole numbers and with a ratio.
CASES = [
    ("conv_params", 1), ("model_size_bytes", 1), ("alexnet_network", 1), ("alexnet_network", 2),
    ("depthwise_separable_cost_ratio", 1), ("pool_output_shape", 1), ("arch_largest_layer", 1),
    ("bn_params_buffers", 1), ("mobilenet_v1_multipliers", 1), ("shufflenet_v2_fragmentation", 1),
]  # fmt: skip
STUDY_ONLY = ("half credit", "Form only", "right only to fewer figures", "JSON", "labelled")


def _paper() -> Paper:
    items = [
        ExportItem(i, i, get_family(f).generate(seed, level))
        for i, (f, level) in enumerate(CASES)
        for seed in (3, 11)
    ]
    return Paper("lms", items, key=True)


def _text(question: ET.Element) -> str:
    node = question.find("questiontext/text")
    assert node is not None and node.text
    return re.sub(r"<[^>]+>", " ", node.text)


def test_moodle_questions_state_the_rule_moodle_applies() -> None:
    paper = _paper()
    root = ET.fromstring(FORMATS["moodle"].write(paper))
    questions = [q for q in root.iter("question") if q.get("type") != "category"]
    assert len(questions) == len(paper.items)
    for item, q in zip(paper.items, questions, strict=True):
        text = _text(q)
        assert item.question.prompt in text  # the question itself, unchanged
        assert not [s for s in STUDY_ONLY if s in text], text
        if q.get("type") != "numerical":
            continue
        answers = q.findall("answer")
        # The platform gives full or no credit: no answer between, as the text says.
        assert {a.get("fraction") for a in answers} <= {"0", "100"}
        right = next(a for a in answers if a.get("fraction") == "100")
        value = Fraction(right.findtext("text") or "")
        band = Fraction(right.findtext("tolerance") or "")
        if band == 0:
            assert "only the exact value is correct." in text and "digits only" in text
            continue
        assert "significant figure; no credit otherwise." in text
        shown = re.search(r"for example ([0-9.e]+)(?: or ([0-9.e]+))?\)", text)
        assert shown is not None, text
        for example in filter(None, shown.groups()):
            assert abs(Fraction(example) - value) > band, (example, value, band)
    # The study rule, in the service, is unchanged: fewer figures earn half credit there.
    assert any("half credit" in i.question.rules for i in paper.items)


def test_moodle_cloze_and_shortanswer_fields_match_their_sentences() -> None:
    paper = _paper()
    root = ET.fromstring(FORMATS["moodle"].write(paper))
    questions = [q for q in root.iter("question") if q.get("type") != "category"]
    for item, q in zip(paper.items, questions, strict=True):
        if q.get("type") == "cloze":
            text = _text(q)
            assert "on its own" in text and "one per line" not in text
            assert text.count("{1:") == len(item.question.answer.parts or ())
        if q.get("type") == "shortanswer":
            text = _text(q)
            assert "written like 12x34x56 (x between the dimensions, no spaces)" in text
            dims = "x".join(str(d) for d in item.question.truth)
            assert dims in [a.findtext("text") for a in q.findall("answer")]


def test_gift_questions_state_the_rule_gift_applies() -> None:
    text = FORMATS["gift"].write(_paper())
    questions = [b for b in text.split("\n\n") if b.startswith("::")]
    assert len(questions) > len(CASES)
    for block in questions:
        assert not [s for s in STUDY_ONLY if s in block], block
        if "{#" in block:
            assert "no credit otherwise" in block or "only the exact value" in block
