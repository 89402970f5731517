"""The question contract: a family turns ``(seed, difficulty)`` into a :class:`Question`.

PrairieLearn's shape: ``generate`` (params and truth from a seed) → ``parse`` (format errors
cost no attempt) → ``grade`` (score 0–1, feedback). A family's generator receives its own
``random.Random(seed)`` (never the global RNG) and the difficulty, and returns a
:class:`Draft`; the truth in it must come from building the real torch layer, block or network
on the meta device (``models``), never from a formula alone.

``Family.generate`` closes every prompt with ``grader.instructions.answer_instructions``: the
form of the answer, the precision rule and examples of the form (never of the value), worded
in one place for every family. A draft's hints go from the first step to the numbers to put
in the formula, and never contain the answer; its family names the note cards that teach it.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from .display import format_expected
from .grading import check_truth, grade
from .instructions import answer_instructions
from .types import AnswerSpec, Grade, Mistake, Truth, _jsonable

__all__ = ["Draft", "Question", "Family", "MAX_SEED", "DIFFICULTIES"]

MAX_SEED = 2**31 - 1
DIFFICULTIES = (1, 2, 3)


@dataclass(frozen=True)
class Draft:
    """What a generator returns; :meth:`Family.generate` wraps it into a Question."""

    prompt: str  # states every convention it relies on (units, batch, what counts)
    params: Mapping[str, Any]  # every number in the prompt, with torch's own argument names
    answer: AnswerSpec
    truth: Truth  # from the real module on the meta device
    solution: str  # the formula with the numbers put in, ending at the truth
    mistakes: tuple[Mistake, ...] = ()  # answers that known mistakes would give
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

    def expected(self) -> tuple[Any, str]:
        """The truth as JSON-ready data and as a person writes it (for answer keys)."""
        checked = check_truth(self.answer, self.truth)
        return _jsonable(checked), format_expected(self.answer, checked)

    def grade(self, answer_text: str | Mapping[str, str]) -> Grade:
        """Grade a student's answer against this question's truth; never raises.

        The grade carries the ids of the cards that teach the question. To charge for hints,
        pass it through ``grader.hints.apply_hints``.
        """
        out = grade(self.answer, self.truth, answer_text, list(self.mistakes))
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

    def generate(self, seed: int, difficulty: int = 1) -> Question:
        """The variant for ``seed`` and ``difficulty``: same inputs, same question."""
        if not 0 <= seed <= MAX_SEED:
            raise ValueError(f"seed must be in 0…{MAX_SEED}")
        if difficulty not in self.difficulties:
            raise ValueError(f"difficulty must be one of {self.difficulties}")
        draft = self.generator(random.Random(f"{self.id}:{seed}:{difficulty}"), difficulty)
        return Question(
            family=self.id,
            topic=self.topic,
            seed=seed,
            difficulty=difficulty,
            prompt=f"{draft.prompt} {answer_instructions(draft.answer, draft.truth)}",
            params=dict(draft.params),
            answer=draft.answer,
            truth=draft.truth,
            solution=draft.solution,
            mistakes=draft.mistakes,
            conventions=draft.conventions,
            expected_seconds=self.expected_seconds,
            hints=draft.hints,
            cards=self.cards,
        )
