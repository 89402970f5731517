"""Answer kinds: each kind in one module (``grader.kinds``) owns its reading, grading, display,
instructions, examples, public schema, export fragments and test answers.

- every registered kind writes its fragment of every export format (or says why it cannot);
- each kind's own test answers get the status it states, on real questions of every family;
- the modules that used to switch on the kind now only dispatch to it.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from grader.kinds import EXPORT_FORMATS, KINDS, kind_of
from grader.kinds.base import MoodleHead
from grader.registry import FAMILIES
from grader.types import AnswerSpec

ROOT = Path(__file__).resolve().parent.parent
SPECS = {
    "number": AnswerSpec.number("bytes", "KiB"),
    "shape": AnswerSpec.shape(batch=True),
    "choice": AnswerSpec.choice("conv1", "fc6", "pool5"),
    "parts": AnswerSpec.multi({"params": AnswerSpec.number("params"), "out": AnswerSpec.shape()}),
}
TRUTHS = {"number": 802_816, "shape": (8, 64, 56, 56), "choice": 1,
          "parts": {"params": 73_856, "out": (64, 56, 56)}}  # fmt: skip
HEAD = MoodleHead("<name><text>Q</text></name>", "<questiontext/>", "<generalfeedback/>", "Q?")


def test_the_registry_has_a_module_per_kind() -> None:
    assert set(KINDS) == {"number", "shape", "choice", "parts"} == set(SPECS)
    for name, kind in KINDS.items():
        assert kind.name == name and kind_of(SPECS[name]) is kind
        assert type(kind).__module__ == f"grader.kinds.{name}"


@pytest.mark.parametrize("name", sorted(SPECS))
def test_each_kind_writes_every_export_fragment(name: str) -> None:
    kind, spec, truth = KINDS[name], SPECS[name], TRUTHS[name]
    for fmt in EXPORT_FORMATS:
        if name == "parts" and fmt in ("cloze", "gift"):  # parts are a question of their own
            with pytest.raises(ValueError):
                kind.fragment(fmt, spec, truth)
            continue
        extra = {"head": HEAD} if fmt == "moodle" else {}
        out = kind.fragment(fmt, spec, truth, **extra)
        assert out, (name, fmt)
    assert kind.fragment("json", spec, truth) == kind.schema(spec)
    assert kind.schema(spec)["kind"] == name and kind.schema(spec)["form"] == kind.form(spec)
    with pytest.raises(ValueError):
        kind.fragment("docx", spec, truth)


@pytest.mark.parametrize("name", sorted(SPECS))
def test_each_kind_grades_its_own_test_answers(name: str) -> None:
    kind, spec, truth = KINDS[name], SPECS[name], TRUTHS[name]
    from grader.grading import grade

    answers = kind.test_answers(spec, truth)
    assert {status for _, status in answers} >= {"correct"}
    for text, status in answers:
        assert grade(spec, truth, text).status == status, (name, text)


@pytest.mark.parametrize("fid", sorted(FAMILIES))
def test_test_answers_on_every_family(fid: str) -> None:
    family = FAMILIES[fid]
    for level in family.difficulties:
        q = family.generate(0, level)
        kind = kind_of(q.answer)
        for text, status in kind.test_answers(q.answer, q.truth):
            assert q.grade(text).status == status, (fid, level, text, q.truth)
        assert q.rules.endswith(kind.instructions(q.answer))


DISPATCHERS = ["grader/answers.py", "grader/grading.py", "grader/display.py",
               "grader/instructions.py", "grader/types.py",
               "api/services/questions.py", "api/static/js/questions.js",
               *sorted(str(p.relative_to(ROOT)) for p in (ROOT / "grader/exports").glob("*.py"))]  # fmt: skip
SWITCH = re.compile(r"""\.kind\s*(?:==|!=|===|!==|\bin\b)|switch\s*\(\s*spec\.kind""")


def test_no_module_switches_on_the_answer_kind() -> None:
    for path in DISPATCHERS:
        text = (ROOT / path).read_text()
        assert not SWITCH.findall(text), (path, SWITCH.findall(text))


def test_the_form_line_shows_only_the_examples_a_variant_is_checked_against() -> None:
    """The line under the answer box (``form``) is seen before submitting, like the prompt's
    examples: every value in it must be one ``Family.generate`` checks the truth against
    (``examples_shown``). It once showed 12.5% for every percentage and 1,234,567 for every
    exact count and every size, values no variant was checked against."""
    specs = [
        AnswerSpec.number(dim, unit, exact=exact)
        for dim, unit in [("params", None), ("macs", None), ("flops", None), ("elements", None),
                          ("bytes", "KiB"), ("bytes", "KB"), ("bytes", "MiB"), ("bytes", "B"),
                          ("channels", None), ("pixels", None), ("count", None)]
        for exact in (True, False)
    ] + [AnswerSpec.percent(), AnswerSpec.ratio(), AnswerSpec.ratio(unit="×")]  # fmt: skip
    for spec in specs:
        kind = kind_of(spec)
        kind.check_spec(spec)
        checked = {text for _part, _spec, text in kind.examples_shown(spec)}
        values = re.findall(r"\d[\d,./]*(?:e\d+)?", kind.form(spec))
        stray = [v for v in values if not any(v.rstrip(".,") in t for t in checked)]
        assert not stray, (spec, kind.form(spec), checked)
