"""What every export format shares: the question it writes, the one writer input
(:class:`Paper`) and the registry entry (:class:`ExportFormat`).

Every writer has the same signature, ``write(paper) -> str``: the title, the questions, whether
the answer key goes in and the format's own metadata all travel in one ``Paper``, so the API
calls every format the same way and a new format needs no new branch anywhere.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from types import MappingProxyType
from typing import Any, Literal

from ..display import format_expected
from ..grading import check_truth
from ..kinds import kind_of
from ..question import Question

__all__ = [
    "ExportItem",
    "Paper",
    "ExportFormat",
    "Writer",
    "Part",
    "expected_text",
    "jsonable",
    "lms_text",
]

Part = Literal["exam", "key"]


@dataclass(frozen=True)
class ExportItem:
    """One exam question with its stored id and position."""

    question_id: int
    position: int
    question: Question


@dataclass(frozen=True)
class Paper:
    """What a writer writes: ``title``, the questions in order, ``key`` (the answers, worked
    solutions and named mistakes go in; False: the questions alone) and ``meta`` (where the
    exam comes from: ids, seed, request; written by formats that carry metadata)."""

    title: str
    items: Sequence[ExportItem]
    key: bool = True
    meta: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))


Writer = Callable[[Paper], str]


@dataclass(frozen=True)
class ExportFormat:
    """One export format, everything the API and the page need to know about it.

    ``keyless``: the format can be written without the answer key (``Paper.key=False``): a
    printable paper. A format that is not keyless carries the answers by design (Moodle XML
    and GIFT are answer-checking quiz formats): it is only ever written as a key, so it is
    never served where a key may not be. ``default_part``: what a download that names no part
    gives a student (``"exam"``: the paper, for a format people print)."""

    name: str
    label: str
    media_type: str
    extension: str
    keyless: bool
    description: str
    writer: Writer
    default_part: Part = "key"

    def __post_init__(self) -> None:
        if self.default_part == "exam" and not self.keyless:
            raise ValueError(f"{self.name}: a format always written with its key has no paper")

    def write(self, paper: Paper) -> str:
        """The file's text. Refuses a keyless paper of a format that always carries the
        answers (it would be a key under another name)."""
        if not paper.key and not self.keyless:
            raise ValueError(f"{self.name} files always carry the answers")
        return self.writer(paper)

    def filename(self, stem: str, key: bool) -> str:
        """The download's file name: a format printed as a paper by default names its key
        ``-key``, so the paper and the key of one exam never overwrite each other."""
        suffix = "-key" if key and self.default_part == "exam" else ""
        return f"{stem}{suffix}.{self.extension}"


def expected_text(q: Question) -> str:
    """The expected answer as a person writes it."""
    return format_expected(q.answer, check_truth(q.answer, q.truth))


def jsonable(value: Any) -> Any:
    """A parameter or truth as JSON writes it (fractions as numbers, tuples as lists)."""
    if isinstance(value, Fraction):
        return value.numerator if value.denominator == 1 else float(value)
    if isinstance(value, tuple | list):
        return [jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    return value


def lms_text(q: Question) -> str:
    """The question as a platform that grades the export (Moodle XML, GIFT) shows it: the
    prompt, its conventions, and the answer kind's rule as that platform applies it
    (``AnswerKind.lms_instructions``) in place of this service's rule, which it does not
    apply (no partial credit for fewer figures, fewer forms read): the rule stated is the
    rule applied, there too."""
    kind = kind_of(q.answer)
    own = kind.instructions(q.answer)
    if not q.rules.endswith(own):  # rules written some other way: state them as they are
        return q.text
    conventions = q.rules[: len(q.rules) - len(own)].strip()
    return " ".join(t for t in (q.prompt, conventions, kind.lms_instructions(q.answer)) if t)
