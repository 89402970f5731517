"""What every answer kind provides (``AnswerKind``), and the pieces the kinds share.

An answer kind owns everything about one form of answer, as PrairieLearn's ``pl-number-input``
owns prepare, parse, grade and test: checking a spec and a truth, reading the student's text
(format errors only), grading it, writing the expected answer, the sentence a prompt states
and its examples, the one-line form the page shows, its public schema, its fragment of each
export format (``EXPORT_FORMATS``) and the answers its tests grade. ``grader.answers``,
``grader.grading``, ``grader.display``, ``grader.instructions`` and ``grader.exports`` only
dispatch to the kind (``grader.kinds.kind_of``): a new kind touches its module, its widget
and a test.
"""

from __future__ import annotations

import re
import unicodedata
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from xml.sax.saxutils import escape

from ..errors import AnswerFormatError
from ..types import AnswerSpec, Diagnosis, Grade, Mistake, Status, Truth

if TYPE_CHECKING:
    from ..display import Value

__all__ = [
    "AnswerKind",
    "Outcome",
    "MoodleHead",
    "EXPORT_FORMATS",
    "EXAMPLES_LEAD",
    "with_examples",
    "MAX_LENGTH",
    "normalize",
    "clip",
    "correct",
    "incorrect",
    "named",
    "unique",
    "xml_text",
    "escape_xml",
    "as_mapping",
    "gift_escape",
    "letter",
]

MAX_LENGTH = 200
# How every list of examples is introduced (the tests find the examples by it).
EXAMPLES_LEAD = "Form only, not the answer:"
# The export formats each kind writes its fragment of (``AnswerKind.fragment``).
EXPORT_FORMATS = ("moodle", "cloze", "gift", "markdown", "json")

# -- reading ------------------------------------------------------------------------------------

_SUPERSCRIPTS = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻", "0123456789+-")
_SUPERSCRIPT_RUN = re.compile("[⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻]+")
_TIMES_DOT = str.maketrans({"⋅": "·", "∙": "·", "•": "·", "−": "-"})


def normalize(text: str, form: str) -> str:
    """One answer text, folded (NFKC, superscript exponents, one kind of space), or
    ``AnswerFormatError`` when it is empty or too long."""
    if len(text) > MAX_LENGTH:
        raise AnswerFormatError(f"the answer is longer than {MAX_LENGTH} characters", form)
    # Before NFKC, which would turn 10⁶ into 106.
    s = _SUPERSCRIPT_RUN.sub(lambda m: "^" + m.group().translate(_SUPERSCRIPTS), text)
    s = unicodedata.normalize("NFKC", s).translate(_TIMES_DOT)
    s = " ".join(s.split())
    if not s:
        raise AnswerFormatError("the answer is empty", form)
    if len(s) > MAX_LENGTH:
        raise AnswerFormatError(f"the answer is longer than {MAX_LENGTH} characters", form)
    return s


def clip(s: str, n: int = 40) -> str:
    """``s`` cut to ``n`` characters for an error message."""
    return s if len(s) <= n else s[: n - 1] + "…"


def with_examples(rule: str, examples: Sequence[str]) -> str:
    """A rule followed by the examples of its form, if any."""
    return f"{rule} {EXAMPLES_LEAD} {' or '.join(examples)}." if examples else rule


def letter(i: int) -> str:
    """The letter of choice or part ``i``: a, b, c..."""
    return chr(ord("a") + i)


# -- grading ------------------------------------------------------------------------------------


@dataclass
class Outcome:
    """What grading one answer (or part) found, before it becomes a ``Grade``."""

    status: Status
    score: float
    feedback: str
    diagnosis: list[Diagnosis] = field(default_factory=list)


def correct(note: str = "") -> Outcome:
    """Full credit."""
    return Outcome("correct", 1.0, f"Correct.{note}")


def incorrect(diagnosis: list[Diagnosis]) -> Outcome:
    """No credit, with the mistakes that explain the answer, if any."""
    if not diagnosis:
        return Outcome(
            "incorrect", 0.0, "Incorrect, and no common mistake explains it: recheck each step."
        )
    feedback = " ".join(["Incorrect."] + [d.message for d in diagnosis])
    return Outcome("incorrect", 0.0, feedback, diagnosis)


def named(family: list[tuple[Mistake, Value]], matches: Callable[[Value], bool]) -> list[Diagnosis]:
    """The family's mistakes whose (checked) value ``matches``."""
    return unique(Diagnosis(m.code, m.message) for m, v in family if matches(v))


def unique(diagnoses: Iterable[Diagnosis]) -> list[Diagnosis]:
    """Each code once, in order."""
    out: list[Diagnosis] = []
    for d in diagnoses:
        if all(d.code != seen.code for seen in out):
            out.append(d)
    return out


# -- exporting ----------------------------------------------------------------------------------


def escape_xml(text: str) -> str:
    """``text`` with XML's special characters escaped."""
    return escape(text)


def xml_text(tag: str, content: str, html: bool = False) -> str:
    """``<tag><text>content</text></tag>`` as Moodle XML writes text."""
    fmt = ' format="html"' if html else ""
    return f"<{tag}{fmt}><text>{escape(content)}</text></{tag}>"


_GIFT_SPECIAL = "~=#{}:\\"


def gift_escape(text: str) -> str:
    """Escape GIFT's special characters and fold the text onto one line."""
    out = "".join("\\" + c if c in _GIFT_SPECIAL else c for c in text)
    return " ".join(out.split())


@dataclass(frozen=True)
class MoodleHead:
    """What every Moodle XML question starts with, written by ``grader.exports``."""

    name: str  # <name> element
    text: str  # <questiontext> element
    general: str  # <generalfeedback> element
    prompt: str  # the question's text, for a kind that writes its own questiontext (Cloze)

    @property
    def common(self) -> str:
        """The elements every single-answer question carries."""
        return "\n".join(
            [self.name, self.text, self.general, "<defaultgrade>1</defaultgrade>"]
            + ["<penalty>0</penalty>", "<hidden>0</hidden>"]
        )


class AnswerKind(ABC):
    """One kind of answer, all of it. Methods take the spec first; truths are as families
    give them (``check_truth`` makes them exact), checked truths as ``check_truth`` returns."""

    name: str

    # -- spec and truth --
    @abstractmethod
    def check_spec(self, spec: AnswerSpec) -> None:
        """Raise ``QuestionError`` when the spec does not fit this kind."""

    @abstractmethod
    def check_truth(self, spec: AnswerSpec, truth: Truth, partial: bool = False) -> Value:
        """The truth made exact, or ``QuestionError``."""

    # -- reading and grading --
    @abstractmethod
    def expected_form(self, spec: AnswerSpec) -> str:
        """A phrase naming the form expected, for error messages (never a number: it could
        be the answer)."""

    @abstractmethod
    def parse(self, text: object, spec: AnswerSpec) -> Any:
        """Read the answer; raises only ``AnswerFormatError``."""

    def check_parsed(self, spec: AnswerSpec, truth: Value, parsed: Any) -> None:
        """Form errors that need the truth's shape (a shape with dimensions missing)."""
        return None

    @abstractmethod
    def grade(
        self, spec: AnswerSpec, truth: Value, parsed: Any, family: list[tuple[Mistake, Value]]
    ) -> Outcome:
        """Grade a parsed answer against the checked truth and the family's mistakes."""

    def grade_answer(
        self,
        spec: AnswerSpec,
        truth: Truth,
        checked: Value,
        parsed: Any,
        family: list[tuple[Mistake, Value]],
        display: str,
    ) -> Grade:
        """The ``Grade`` of a parsed answer (a multi-part kind grades each part)."""
        out = self.grade(spec, checked, parsed, family)
        return Grade(out.status, out.score, truth, display, out.feedback, tuple(out.diagnosis))

    def grade_readable(
        self,
        spec: AnswerSpec,
        truth: Truth,
        checked: Value,
        text: object,
        family: list[tuple[Mistake, Value]],
        display: str,
    ) -> Grade | None:
        """A final answer that could not be read as a whole, graded on what can be read
        (several parts: each on its own); None when nothing can (one answer: unreadable)."""
        return None

    def verdict(self, spec: AnswerSpec, truth: Value, parsed: Any) -> Status:
        """The status alone, without diagnosing (cheap: for the examples a prompt shows)."""
        return self.grade(spec, truth, parsed, []).status

    # -- what is shown --
    @abstractmethod
    def display(self, spec: AnswerSpec, truth: Value) -> str:
        """The checked truth as a person writes it."""

    @abstractmethod
    def instructions(self, spec: AnswerSpec) -> str:
        """The sentences a prompt states: the form, the rule, the examples."""

    def part_form(self, spec: AnswerSpec) -> str:
        """What a part of this kind asks for, in a few words."""
        return self.name

    def part_rule(self, spec: AnswerSpec) -> str:
        """The rule a part of this kind follows, stated once for parts alike ('' if none)."""
        return ""

    def examples(self, spec: AnswerSpec, in_parts: bool = False) -> list[str]:
        """Answers of the form (never of the value: the same for every variant)."""
        return []

    def lms_instructions(self, spec: AnswerSpec) -> str:
        """The sentences a question exported to a learning platform that grades it (Moodle
        XML, GIFT) states in place of ``instructions``: the rule that platform applies to
        this kind's fragment, which reads fewer forms and gives no partial credit for fewer
        figures. The same as ``instructions`` where nothing differs."""
        return self.instructions(spec)

    def lms_part_form(self, spec: AnswerSpec) -> str:
        """``part_form`` as one field of an exported question asks for it."""
        return self.part_form(spec)

    def lms_part_rule(self, spec: AnswerSpec) -> str:
        """``part_rule`` as a platform grading one field of a Cloze question applies it."""
        return self.part_rule(spec)

    def examples_shown(self, spec: AnswerSpec) -> list[tuple[str | None, AnswerSpec, str]]:
        """Every example ``instructions`` shows, as (part or None, the spec it answers, text):
        what ``Family.generate`` checks against the truth."""
        return [(None, spec, text) for text in self.examples(spec)]

    @abstractmethod
    def form(self, spec: AnswerSpec) -> str:
        """How to write the answer, in a line: what the page shows under the answer box."""

    def schema(self, spec: AnswerSpec) -> dict[str, Any]:
        """The public description of the answer (no truth)."""
        return {"kind": self.name, "form": self.form(spec)}

    # -- exports --
    def fragment(self, fmt: str, spec: AnswerSpec, truth: Truth | None, **context: Any) -> Any:
        """This kind's fragment of export format ``fmt`` (one of ``EXPORT_FORMATS``)."""
        if fmt not in EXPORT_FORMATS:
            raise ValueError(f"unknown export format {fmt!r}; known: {', '.join(EXPORT_FORMATS)}")
        return getattr(self, f"export_{fmt}")(spec, truth, **context)

    @abstractmethod
    def export_moodle(
        self, spec: AnswerSpec, truth: Truth, head: MoodleHead, mistakes: Sequence[Mistake] = ()
    ) -> str:
        """A whole ``<question>`` of Moodle XML."""

    @abstractmethod
    def export_cloze(self, spec: AnswerSpec, truth: Truth) -> str:
        """One field of a Moodle Cloze (embedded answers) question."""

    @abstractmethod
    def export_gift(self, spec: AnswerSpec, truth: Truth, feedback: str = "") -> str:
        """The ``{...}`` answer of a GIFT question (``feedback`` already escaped)."""

    def export_gift_suffix(self, spec: AnswerSpec) -> str:
        """What a GIFT question adds after its text to say how to answer ('' if nothing)."""
        return ""

    def export_markdown(self, spec: AnswerSpec, truth: Truth | None = None) -> str:
        """The line a printed exam puts under the question."""
        return self.form(spec)

    def export_json(self, spec: AnswerSpec, truth: Truth | None = None) -> dict[str, Any]:
        """The answer's description in a JSON export."""
        return self.schema(spec)

    # -- tests --
    @abstractmethod
    def test_answers(self, spec: AnswerSpec, truth: Truth) -> list[tuple[Any, Status]]:
        """Answers and the status each must get: the truth in several forms, and wrong ones."""


def as_mapping(value: object) -> Mapping[str, Any]:
    """``value`` as a mapping (a multi-part truth)."""
    assert isinstance(value, Mapping)
    return value
