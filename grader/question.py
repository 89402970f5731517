"""The question contract: a family turns ``(seed, difficulty)`` into a :class:`Question`.

PrairieLearn's shape: ``generate`` (params and truth from a seed) → ``parse`` (format errors
cost no attempt) → ``grade`` (score 0–1, feedback). A family's generator receives its own
``random.Random(seed)`` (never the global RNG) and the difficulty, and returns a
:class:`Draft`; the truth in it must come from building the real torch layer, block or network
on the meta device (``models``), never from a formula alone.

A generator lists every mistake that may apply to its variant (``None`` where one cannot);
``Family.generate`` keeps those the variant can make (``keep_mistakes``), once, for every
family.

``Family.generate`` writes a question as its text first (``Question.prompt``) and its rules
apart (``Question.rules``, short, stated once, for a page to fold): the standard conventions
the family's text stated (``grader.conventions.STANDARD``) and
``grader.instructions.answer_instructions``, the form of the answer, the precision rule and
examples of the form (never of the value: they depend on the spec alone), worded in one place
for every family. ``Question.text`` is both together, for exports and print. A variant that
would make the question unfair (``unfair``) is redrawn from the same seed, deterministically.
A draft's hints go from the first step to the numbers to put in the formula, and never contain the
answer; its family names the note cards that teach it.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from fractions import Fraction
from typing import Any

from .conventions import STANDARD
from .display import format_expected
from .errors import QuestionError
from .grading import check_truth, grade, indistinguishable
from .instructions import answer_instructions, examples_graded_correct
from .types import AnswerSpec, Grade, Mistake, Truth, _jsonable

__all__ = [
    "Draft",
    "Question",
    "Family",
    "MAX_SEED",
    "DIFFICULTIES",
    "MAX_REDRAWS",
    "unfair",
    "keep_mistakes",
    "possible",
    "same_as_truth",
    "inside_band",
]

MAX_SEED = 2**31 - 1
DIFFICULTIES = (1, 2, 3)
MAX_REDRAWS = 64


def split_conventions(prompt: str) -> tuple[str, list[str]]:
    """``prompt`` without the standard conventions it states (``grader.conventions.STANDARD``),
    and those conventions in order: the question comes first, the conventions go to the
    question's foldable rules."""
    moved = [c for c in STANDARD if c in prompt]
    for c in moved:
        prompt = prompt.replace(c, " ")
    return " ".join(prompt.split()), sorted(moved, key=STANDARD.index)


def same_as_truth(spec: AnswerSpec, truth: Truth, value: Truth) -> bool:
    """Whether a mistake's ``value`` equals the truth (for several parts: in every part it
    names): the mistake changes nothing in this variant, so it is not one to name."""
    t, v = check_truth(spec, truth), check_truth(spec, value, partial=True)
    if isinstance(t, Mapping) and isinstance(v, Mapping):
        return all(v[name] == t[name] for name in v)
    return t == v


def inside_band(spec: AnswerSpec, truth: Truth, value: Truth) -> list[str]:
    """The parts (``""`` for a single answer) where a mistake's ``value`` differs from the
    truth yet would be graded correct: inside the precision band (``grader.kinds.number``)."""
    t, v = check_truth(spec, truth), check_truth(spec, value, partial=True)
    if isinstance(t, Mapping) and isinstance(v, Mapping):
        specs = spec.part_specs
        return [
            name
            for name in v
            if v[name] != t[name] and indistinguishable(specs[name], t[name], v[name])
        ]
    return [""] if t != v and indistinguishable(spec, truth, value) else []


def possible(spec: AnswerSpec, value: Truth) -> bool:
    """Whether ``value`` could be an answer at all: no non-positive number or shape dimension
    (a formula applied where the layer could not exist), except a position, which may be 0."""
    if isinstance(value, Mapping):
        return all(possible(s, value[k]) for k, s in spec.part_specs.items() if k in value)
    if isinstance(value, tuple):
        return all(d > 0 for d in value)
    if isinstance(value, int | Fraction | float) and not isinstance(value, bool):
        return value > 0 or spec.dimension in ("position",) and value == 0
    return True


def keep_mistakes(
    spec: AnswerSpec, truth: Truth, candidates: Iterable[Mistake | None]
) -> tuple[Mistake, ...]:
    """The mistakes this variant can make, from those its generator listed.

    Dropped: ``None`` (not applicable to this variant), impossible values (``possible``),
    values equal to the truth (the mistake changes nothing here), and repeats of the same code
    and value. Two *different* mistakes giving one value are both kept: the grader names every
    mistake that explains an answer. A mistake inside the precision band of the truth is kept:
    the variant is then unfair (``unfair``), and ``Family.generate`` draws another.
    """
    kept: list[Mistake] = []
    for m in candidates:
        if m is None or not possible(spec, m.value):
            continue
        if same_as_truth(spec, truth, m.value):
            continue
        if any(k.code == m.code and k.value == m.value for k in kept):
            continue
        kept.append(m)
    return tuple(kept)


def unfair(draft: Draft) -> str | None:
    """Why ``draft`` cannot be shown, or None: a mistake it names that the precision rule
    cannot tell from the answer (inside the band), or an example of the answer's form (the
    same for every variant) that its truth would grade as right. ``Family.generate`` then
    draws again, deterministically, as PrairieLearn authors choose parameters so that
    distractors differ."""
    for m in draft.mistakes:
        if m is None or same_as_truth(draft.answer, draft.truth, m.value):
            continue
        where = inside_band(draft.answer, draft.truth, m.value)
        if where:
            part = f" (part {where[0]})" if where[0] else ""
            return f"the mistake {m.code!r}{part} lies within the precision band of the truth"
    shown = examples_graded_correct(draft.answer, draft.truth)
    if shown:
        return f"the example {shown[0]!r} would be graded right"
    return None


@dataclass(frozen=True)
class Draft:
    """What a generator returns; :meth:`Family.generate` wraps it into a Question."""

    prompt: str  # states every convention it relies on (units, batch, what counts)
    params: Mapping[str, Any]  # every number in the prompt, with torch's own argument names
    answer: AnswerSpec
    truth: Truth  # from the real module on the meta device
    solution: str  # the formula with the numbers put in, ending at the truth
    # Answers that known mistakes would give; None where one does not apply. Family.generate
    # keeps those the variant can make (keep_mistakes), so a generator need not filter them.
    mistakes: Sequence[Mistake | None] = ()
    conventions: tuple[str, ...] = ()  # short statements of the conventions used
    hints: tuple[str, ...] = ()  # first step, formula, numbers: never the answer


@dataclass(frozen=True)
class Question:
    """One generated variant of a family."""

    family: str
    topic: str
    seed: int
    difficulty: int
    prompt: str
    params: Mapping[str, Any]
    answer: AnswerSpec
    truth: Truth
    solution: str
    mistakes: tuple[Mistake, ...]
    conventions: tuple[str, ...]
    expected_seconds: float
    hints: tuple[str, ...] = ()
    cards: tuple[str, ...] = ()  # ids of the note cards that teach this family
    # The standard conventions the question relies on and how to answer (form, precision
    # rule, examples), short and once: what a page may fold under the question.
    rules: str = ""

    @property
    def text(self) -> str:
        """The question with its rules, in one text: what a printed exam or an export shows."""
        return f"{self.prompt} {self.rules}" if self.rules else self.prompt

    def expected(self) -> tuple[Any, str]:
        """The truth as JSON-ready data and as a person writes it (for answer keys)."""
        checked = check_truth(self.answer, self.truth)
        return _jsonable(checked), format_expected(self.answer, checked)

    def grade(self, answer_text: str | Mapping[str, str], final: bool = False) -> Grade:
        """Grade a student's answer against this question's truth; never raises.

        The grade carries the ids of the cards that teach the question. To charge for hints,
        pass it through ``grader.hints.apply_hints``. ``final``: an exam's answer, which
        cannot be corrected (``grader.grading.grade``).
        """
        out = grade(self.answer, self.truth, answer_text, list(self.mistakes), final)
        return replace(out, cards=self.cards)


Generator = Callable[[random.Random, int], Draft]


@dataclass(frozen=True)
class Family:
    """A kind of question: its id, topic (a note topic id), title and generator."""

    id: str
    topic: str
    title: str
    answer_kind: str  # number, shape, choice or parts
    generator: Generator = field(repr=False)
    difficulties: tuple[int, ...] = DIFFICULTIES
    expected_seconds: float = 90.0  # slower correct answers are rated "hard"
    architecture_level: bool = False
    cards: tuple[str, ...] = ()  # ids ({#id}) of the content/notes cards that teach it
    warm_seeds: int = 0  # seeds per level the start-up warm-up walks (memoised block caches)

    def _draw(self, key: str, difficulty: int) -> Draft:
        """The generator's draft for ``key``, with the mistakes this variant can make: the one
        place every family's listed mistakes are filtered (``keep_mistakes``)."""
        draft = self.generator(random.Random(key), difficulty)
        return replace(draft, mistakes=keep_mistakes(draft.answer, draft.truth, draft.mistakes))

    def generate(self, seed: int, difficulty: int = 1) -> Question:
        """The variant for ``seed`` and ``difficulty``: same inputs, same question."""
        if not 0 <= seed <= MAX_SEED:
            raise ValueError(f"seed must be in 0…{MAX_SEED}")
        if difficulty not in self.difficulties:
            raise ValueError(f"difficulty must be one of {self.difficulties}")
        key = f"{self.id}:{seed}:{difficulty}"
        draft = self._draw(key, difficulty)
        redraws = 0
        while (problem := unfair(draft)) is not None:
            # Deterministic: the same seed always lands on the same fair variant.
            redraws += 1
            if redraws > MAX_REDRAWS:
                raise QuestionError(
                    f"{self.id} (level {difficulty}, seed {seed}): no fair variant in "
                    f"{MAX_REDRAWS} draws; the last one: {problem}"
                )
            draft = self._draw(f"{key}:{redraws}", difficulty)
        question, moved = split_conventions(draft.prompt)
        return Question(
            family=self.id,
            topic=self.topic,
            seed=seed,
            difficulty=difficulty,
            prompt=question,
            rules=" ".join([*moved, answer_instructions(draft.answer)]),
            params=dict(draft.params),
            answer=draft.answer,
            truth=draft.truth,
            solution=draft.solution,
            mistakes=tuple(m for m in draft.mistakes if m is not None),
            conventions=draft.conventions,
            expected_seconds=self.expected_seconds,
            hints=draft.hints,
            cards=self.cards,
        )
