"""Several parts: named sub-answers, each a number, a shape or a choice, graded on its own.

Read as a mapping from part name to text; a JSON object (``{"params": "23.3k"}``); or one text
with the parts in order separated by ``;`` or new lines, optionally labelled by name or by
letter (``params: 23.3k; macs: 1.2M``, ``a: 23.3k; b) 1.2M``). Each part is graded by its own
kind; the score is their mean, the status ``correct`` when all parts are, ``incorrect`` when all
score 0, else ``partial``. An unreadable part makes the whole answer ``invalid``, except in a
final answer (an exam's: ``grade_readable``), where it scores 0 and the others count.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from ..display import Value
from ..errors import AnswerFormatError, QuestionError
from ..types import MAX_PARTS, AnswerSpec, Diagnosis, Grade, Mistake, Status, Truth
from .base import (
    EXAMPLES_LEAD,
    MAX_LENGTH,
    AnswerKind,
    MoodleHead,
    Outcome,
    as_mapping,
    clip,
    escape_xml,
    gift_escape,
    letter,
    xml_text,
)

__all__ = ["KIND", "PartsKind", "ParsedParts", "EXAMPLES_LEAD"]

_PART_NAME = re.compile(r"[a-z][a-z0-9_]{0,31}", re.ASCII)


def kind_of(spec: AnswerSpec) -> AnswerKind:
    """The kind of a part (the registry, imported late: it imports this module)."""
    from . import kind_of as registry_kind_of

    return registry_kind_of(spec)


@dataclass(frozen=True)
class ParsedParts:
    """A multi-part answer: each part read with its own spec, in the spec's order."""

    parts: tuple[tuple[str, Any], ...]

    def __getitem__(self, name: str) -> Any:
        """The part called ``name`` (KeyError when there is none)."""
        return dict(self.parts)[name]


def _parse_part(text: object, spec: AnswerSpec) -> Any:
    from ..answers import parse_answer

    return parse_answer(text, spec)


_LABEL = re.compile(
    r"\(?([A-Za-z][A-Za-z0-9_ ]{0,31}?)\)? ?(?:[:=]|(?<=[A-Za-z0-9_])\)) ?(.*)",
    re.ASCII | re.DOTALL,
)


def _parse_parts(text: object, spec: AnswerSpec) -> ParsedParts:
    texts = _part_texts(text, spec)
    parsed: list[tuple[str, Any]] = []
    for name, part_spec in spec.part_specs.items():
        try:
            parsed.append((name, _parse_part(texts[name], part_spec)))
        except AnswerFormatError as exc:
            raise AnswerFormatError(f"part {name!r}: {exc.problem}", exc.expected) from None
    return ParsedParts(tuple(parsed))


def _part_texts(text: object, spec: AnswerSpec) -> dict[str, object]:
    """Each part's text, by name: AnswerFormatError when the answer cannot be split into
    exactly the parts (missing, doubled, unknown or unlabelled ones)."""
    specs = spec.part_specs
    form = KIND.expected_form(spec)
    texts: dict[str, object]
    if isinstance(text, str) and text.lstrip().startswith("{"):
        text = _json_parts(text, form)
    if isinstance(text, Mapping):
        texts = {_part_name(str(k), list(specs)) or str(k): v for k, v in text.items()}
        unknown = sorted(set(texts) - set(specs))
        if unknown:
            raise AnswerFormatError(f"no part named {clip(unknown[0])!r}", form)
    elif isinstance(text, str):
        texts = _split_parts(text, list(specs), form)
    else:
        raise AnswerFormatError("the answer is not text", form)
    for name in specs:
        if name not in texts:
            raise AnswerFormatError(f"part {name!r} is missing", form)
    return texts


@dataclass(frozen=True)
class Unreadable:
    """A part of a final answer that could not be read: graded 0, the other parts on their
    own (``PartsKind.grade_readable``)."""

    problem: str


def _json_parts(text: str, form: str) -> dict[str, object]:
    """A JSON object of part name (or letter) to answer; numbers are read as written."""
    if len(text) > MAX_LENGTH * MAX_PARTS:
        raise AnswerFormatError("the answer is too long", form)
    try:
        data = json.loads(text, parse_float=str, parse_int=str, parse_constant=str)
    except ValueError:
        raise AnswerFormatError("not a valid JSON object", form) from None
    if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
        raise AnswerFormatError("a JSON answer maps each part to a number or a text", form)
    return dict(data)


def _part_name(label: str, names: list[str]) -> str | None:
    """The part a label names: its name (case and spaces folded) or its letter (a, b, ...)."""
    key = label.strip().lower().replace(" ", "_")
    if key in names:
        return key
    if len(key) == 1 and "a" <= key < chr(ord("a") + len(names)):
        return names[ord(key) - ord("a")]
    return None


def _split_parts(text: str, names: list[str], form: str) -> dict[str, object]:
    if len(text) > MAX_LENGTH * len(names):
        raise AnswerFormatError(
            f"the answer is longer than {MAX_LENGTH * len(names)} characters", form
        )
    segments = [seg.strip() for seg in re.split(r"[;\n]", text)]
    segments = [seg for seg in segments if seg]
    labelled: dict[str, object] = {}
    for seg in segments:
        m = _LABEL.fullmatch(seg)
        name = _part_name(m.group(1), names) if m else None
        if m and name is not None:
            if name in labelled:
                raise AnswerFormatError(f"part {name!r} is given twice", form)
            labelled[name] = m.group(2)
    if labelled and len(labelled) != len(segments):
        raise AnswerFormatError("label every part or none", form)
    if labelled:
        return labelled
    if len(segments) != len(names):
        raise AnswerFormatError(f"{len(segments)} answers given for {len(names)} parts", form)
    return dict(zip(names, segments, strict=True))


def _part_feedback(grades: list[tuple[str, Grade]]) -> list[tuple[str, str]]:
    """Each part's feedback, a mistake's sentence written out only the first time it occurs."""
    seen: set[str] = set()
    out = []
    for name, g in grades:
        text = g.feedback
        for d in g.diagnosis:
            if d.message in seen:
                text = text.replace(d.message, f"(The same mistake as above: {d.code}.)")
            seen.add(d.message)
        out.append((name, text))
    return out


def _grade_parts(
    spec: AnswerSpec,
    truth: Truth,
    checked: Value,
    parsed: ParsedParts,
    family: list[tuple[Mistake, Value]],
    display: str,
) -> Grade:
    assert isinstance(checked, Mapping) and isinstance(truth, Mapping)
    specs = spec.part_specs
    grades: list[tuple[str, Grade]] = []
    diagnosis: list[Diagnosis] = []
    for name, part in parsed.parts:
        part_display = kind_of(specs[name]).display(specs[name], checked[name])
        if isinstance(part, Unreadable):
            feedback = f"Could not read this part: {part.problem}."
            grades.append((name, Grade("invalid", 0.0, truth[name], part_display, feedback)))
            continue
        part_family = [(m, v[name]) for m, v in family if isinstance(v, Mapping) and name in v]
        out = kind_of(specs[name]).grade(specs[name], checked[name], part, part_family)
        part_diagnosis = tuple(replace(d, part=name) for d in out.diagnosis)
        diagnosis.extend(part_diagnosis)
        grades.append(
            (
                name,
                Grade(
                    out.status, out.score, truth[name], part_display, out.feedback, part_diagnosis
                ),
            )
        )
    scores = [g.score for _, g in grades]
    score = sum(scores) / len(scores)
    n_correct = sum(g.status == "correct" for _, g in grades)
    status: Status
    if n_correct == len(grades):
        status = "correct"
    elif max(scores) == 0:
        status = "incorrect"
    else:
        status = "partial"
    feedback = f"{n_correct} of {len(grades)} parts correct. " + " ".join(
        f"{name}: {text}" for name, text in _part_feedback(grades)
    )
    return Grade(status, score, truth, display, feedback, tuple(diagnosis), tuple(grades))


def _pick(examples: list[str], part: AnswerSpec) -> str:
    """The example a part shows: the suffixed form of a count, else the first one."""
    if not examples:
        return "…"
    operations = part.dimension in ("params", "macs", "flops", "elements")
    return examples[1] if operations and len(examples) > 2 else examples[0]


class PartsKind(AnswerKind):
    """Named parts, each graded by its own kind; the score is their mean."""

    name = "parts"

    def check_spec(self, spec: AnswerSpec) -> None:
        if spec.dimension is not None or spec.unit is not None or spec.tolerance is not None:
            raise QuestionError("a parts answer has no dimension, unit or tolerance")
        if spec.exact:
            raise QuestionError("a parts answer cannot be exact")
        if spec.choices is not None:
            raise QuestionError("choices are given exactly when the kind is 'choice'")
        if spec.parts is None:
            raise QuestionError("parts are given exactly when the kind is 'parts'")
        parts = tuple(spec.parts)
        names = [name for name, _ in parts]
        if not 1 <= len(parts) <= MAX_PARTS:
            raise QuestionError(f"a multi-part answer has 1 to {MAX_PARTS} parts")
        if len(set(names)) != len(names) or not all(_PART_NAME.fullmatch(n) for n in names):
            raise QuestionError("part names are distinct lower-case identifiers")
        if any(not isinstance(s, AnswerSpec) or s.kind == "parts" for _, s in parts):
            raise QuestionError("each part is a non-multi-part AnswerSpec")
        object.__setattr__(spec, "parts", parts)

    def check_truth(self, spec: AnswerSpec, truth: Truth, partial: bool = False) -> Value:
        specs = spec.part_specs
        if not isinstance(truth, Mapping):
            raise QuestionError("a multi-part truth is a mapping from part name to truth")
        given = set(truth)
        if not given <= set(specs) or (not partial and given != set(specs)) or not given:
            raise QuestionError(f"parts {sorted(map(str, given))} do not fit {sorted(specs)}")
        return {
            name: kind_of(specs[name]).check_truth(specs[name], truth[name])
            for name in specs
            if name in truth
        }

    def expected_form(self, spec: AnswerSpec) -> str:
        names = ", ".join(name for name, _ in spec.parts or ())
        return (
            f"one answer for each of {names}, in order, one per line or separated by ';' "
            "(optionally labelled 'name: answer' or 'a: answer'), or a JSON object"
        )

    def parse(self, text: object, spec: AnswerSpec) -> ParsedParts:
        return _parse_parts(text, spec)

    def check_parsed(self, spec: AnswerSpec, truth: Value, parsed: Any) -> None:
        assert isinstance(truth, Mapping) and isinstance(parsed, ParsedParts)
        specs = spec.part_specs
        for name, part in parsed.parts:
            try:
                kind_of(specs[name]).check_parsed(specs[name], truth[name], part)
            except AnswerFormatError as exc:
                raise AnswerFormatError(f"part {name!r}: {exc.problem}", exc.expected) from None

    def grade(
        self, spec: AnswerSpec, truth: Value, parsed: Any, family: list[tuple[Mistake, Value]]
    ) -> Outcome:
        g = self.grade_answer(spec, truth, truth, parsed, family, self.display(spec, truth))
        return Outcome(g.status, g.score, g.feedback, list(g.diagnosis))

    def grade_answer(
        self,
        spec: AnswerSpec,
        truth: Truth,
        checked: Value,
        parsed: Any,
        family: list[tuple[Mistake, Value]],
        display: str,
    ) -> Grade:
        return _grade_parts(spec, truth, checked, parsed, family, display)

    def grade_readable(
        self,
        spec: AnswerSpec,
        truth: Truth,
        checked: Value,
        text: object,
        family: list[tuple[Mistake, Value]],
        display: str,
    ) -> Grade | None:
        """A final answer (an exam's) with an unreadable part: each part graded on its own,
        as the prompt states, the unreadable ones 0. None when the answer cannot be split
        into its parts or no part can be read."""
        try:
            texts = _part_texts(text, spec)
        except AnswerFormatError:
            return None
        assert isinstance(checked, Mapping)
        parts: list[tuple[str, Any]] = []
        for name, part_spec in spec.part_specs.items():
            try:
                part = _parse_part(texts[name], part_spec)
                kind_of(part_spec).check_parsed(part_spec, checked[name], part)
            except AnswerFormatError as exc:
                part = Unreadable(exc.message)
            parts.append((name, part))
        if all(isinstance(p, Unreadable) for _, p in parts):
            return None
        return _grade_parts(spec, truth, checked, ParsedParts(tuple(parts)), family, display)

    def display(self, spec: AnswerSpec, truth: Value) -> str:
        values = as_mapping(truth)
        return "; ".join(
            f"{name}: {kind_of(s).display(s, values[name])}" for name, s in spec.parts or ()
        )

    def instructions(self, spec: AnswerSpec) -> str:
        parts = spec.parts or ()
        listing = "; ".join(
            f"({letter(i)}) {name}: {kind_of(part).part_form(part)}"
            for i, (name, part) in enumerate(parts)
        )
        # In order, each once: parts alike state their rule once.
        rules = dict.fromkeys(kind_of(part).part_rule(part) for _, part in parts)
        sample = "; ".join(
            f"{letter(i)}: {_pick(kind_of(part).examples(part, True), part)}"
            for i, (_, part) in enumerate(parts)
        )
        return (
            f"Answer the {len(parts)} parts in order, one per line or separated by ';', labelled "
            f"by letter or name or not at all (JSON also works); each part is graded on its own "
            f"and the score is their mean. Parts: {listing}. {' '.join(r for r in rules if r)} "
            f"{EXAMPLES_LEAD} {sample}."
        )

    def examples(self, spec: AnswerSpec, in_parts: bool = False) -> list[str]:
        return []  # shown part by part in ``instructions``

    def lms_instructions(self, spec: AnswerSpec) -> str:
        # A Cloze question has a field per part; GIFT, a question per part.
        parts = spec.parts or ()
        listing = "; ".join(
            f"({letter(i)}) {name}: {kind_of(part).lms_part_form(part)}"
            for i, (name, part) in enumerate(parts)
        )
        rules = dict.fromkeys(kind_of(part).lms_part_rule(part) for _, part in parts)
        return (
            f"Answer each of the {len(parts)} parts on its own; each part is graded on its own "
            f"and the score is their mean. Parts: {listing}. {' '.join(r for r in rules if r)}"
        ).strip()

    def examples_shown(self, spec: AnswerSpec) -> list[tuple[str | None, AnswerSpec, str]]:
        return [
            (name, part, text)
            for name, part in spec.parts or ()
            for text in kind_of(part).examples(part, True)
        ]

    def form(self, spec: AnswerSpec) -> str:
        example = "; ".join(f"{name}: …" for name, _ in spec.parts or ())
        return f"One value per part, labelled: {example}."

    def schema(self, spec: AnswerSpec) -> dict[str, Any]:
        return {
            **super().schema(spec),
            "parts": {name: kind_of(s).schema(s) for name, s in spec.parts or ()},
        }

    def export_moodle(
        self, spec: AnswerSpec, truth: Truth, head: MoodleHead, mistakes: Sequence[Mistake] = ()
    ) -> str:
        # Moodle's embedded-answers (Cloze) question, one field per part.
        values = as_mapping(truth)
        fields = [
            f"{part}: {kind_of(pspec).export_cloze(pspec, values[part])}"
            for part, pspec in spec.parts or ()
        ]
        cloze = xml_text(
            "questiontext",
            f"<p>{escape_xml(head.prompt)}</p><p>{'<br/>'.join(fields)}</p>",
            html=True,
        )
        return f'<question type="cloze">\n{head.name}\n{cloze}\n{head.general}\n</question>'

    def export_cloze(self, spec: AnswerSpec, truth: Truth) -> str:
        raise ValueError("a multi-part question is a Cloze question of its own")

    def export_gift(self, spec: AnswerSpec, truth: Truth, feedback: str = "") -> str:
        raise ValueError("GIFT has no multi-part question: use export_gift_parts")

    def export_gift_parts(
        self,
        spec: AnswerSpec,
        truth: Truth,
        title: Callable[[str], str],
        prompt: str,
        feedback: str,
    ) -> list[str]:
        """One GIFT question per part (GIFT has no multi-part question): ``title(part)`` is
        each one's ``::title::``, ``prompt`` the escaped question text."""
        values = as_mapping(truth)
        return [
            f"{title(part)}{prompt} Part {gift_escape(part)}. "
            f"{kind_of(pspec).export_gift(pspec, values[part], feedback)}"
            for part, pspec in spec.parts or ()
        ]

    def export_markdown(self, spec: AnswerSpec, truth: Truth | None = None) -> str:
        return "Answer each part."

    def test_answers(self, spec: AnswerSpec, truth: Truth) -> list[tuple[Any, Status]]:
        values = as_mapping(truth)
        firsts = {
            name: kind_of(s).test_answers(s, values[name])[0][0] for name, s in spec.parts or ()
        }
        labelled = "; ".join(f"{letter(i)}: {text}" for i, text in enumerate(firsts.values()))
        return [(labelled, "correct"), (dict(firsts), "correct"), ("", "invalid")]


KIND = PartsKind()
