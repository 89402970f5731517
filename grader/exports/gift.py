"""GIFT, the plain-text quiz format of Moodle and other tools: numeric answers as
``{#answer:tolerance}``, choices as ``{=right ~wrong}``; a multi-part answer becomes one
question per part (GIFT has none). Always carries the answers."""

from __future__ import annotations

from ..kinds import kind_of
from ..kinds.base import gift_escape
from ..kinds.parts import PartsKind
from .base import ExportFormat, ExportItem, Paper, lms_text

__all__ = ["FORMAT", "write"]


def _question(item: ExportItem) -> str:
    q, spec = item.question, item.question.answer
    kind = kind_of(spec)
    prompt = gift_escape(lms_text(q))
    feedback = f"####{gift_escape(q.solution)}"
    if isinstance(kind, PartsKind):  # GIFT has no multi-part question: one per part

        def part_title(part: str) -> str:
            return f"::Q{item.position + 1}{part} {gift_escape(q.family)}::"

        return "\n\n".join(kind.export_gift_parts(spec, q.truth, part_title, prompt, feedback))
    head = f"::Q{item.position + 1} {gift_escape(q.family)}::"
    answer = kind.fragment("gift", spec, q.truth, feedback=feedback)
    return f"{head}{prompt}{kind.export_gift_suffix(spec)} {answer}"


def write(paper: Paper) -> str:
    """The paper's questions in GIFT, under a category named after it."""
    head = f"$CATEGORY: $course$/flopcards/{gift_escape(paper.title)}"
    return head + "\n\n" + "\n\n".join(_question(i) for i in paper.items) + "\n"


FORMAT = ExportFormat(
    name="gift",
    label="GIFT",
    media_type="text/plain; charset=utf-8",
    extension="gift.txt",
    keyless=False,
    description="GIFT text for Moodle and other quiz tools: {#answer:tolerance} and "
    "{=right ~wrong}",
    writer=write,
)
