"""Moodle XML: numerical questions (units, the grader's band as the tolerance, feedback per
named mistake), multichoice, shortanswer and Cloze, in one category named after the exam.
Always carries the answers (Moodle grades with them)."""

from __future__ import annotations

from xml.sax.saxutils import escape

from ..kinds import kind_of
from ..kinds.base import MoodleHead, xml_text
from .base import ExportFormat, ExportItem, Paper, lms_text

__all__ = ["FORMAT", "write"]


def _question(item: ExportItem) -> str:
    q = item.question
    text = lms_text(q)
    head = MoodleHead(
        name=xml_text(
            "name", f"Q{item.position + 1} {q.family} (seed {q.seed}, level {q.difficulty})"
        ),
        text=xml_text("questiontext", f"<p>{escape(text)}</p>", html=True),
        general=xml_text("generalfeedback", f"<pre>{escape(q.solution)}</pre>", html=True),
        prompt=text,
    )
    return str(
        kind_of(q.answer).fragment("moodle", q.answer, q.truth, head=head, mistakes=q.mistakes)
    )


def write(paper: Paper) -> str:
    """A Moodle XML quiz of the paper's questions."""
    category = (
        '<question type="category">\n'
        f"<category><text>$course$/flopcards/{escape(paper.title)}</text></category>\n</question>"
    )
    body = "\n".join(_question(item) for item in paper.items)
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<quiz>\n{category}\n{body}\n</quiz>\n'


FORMAT = ExportFormat(
    name="moodle",
    label="Moodle XML",
    media_type="application/xml",
    extension="xml",
    keyless=False,
    description="Moodle XML quiz: numerical (units, tolerance, feedback per mistake), "
    "multichoice, shortanswer and Cloze questions",
    writer=write,
)
