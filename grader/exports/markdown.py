"""A printable exam in markdown: the paper (prompts, choices, the rules and a blank to answer
on) or its answer key (each prompt with its answer and worked solution)."""

from __future__ import annotations

from ..kinds import kind_of
from ..types import AnswerSpec
from .base import ExportFormat, Paper, expected_text

__all__ = ["FORMAT", "write"]


def _answer_hint(spec: AnswerSpec) -> str:
    return str(kind_of(spec).fragment("markdown", spec, None))


def write(paper: Paper) -> str:
    """The paper, or (``paper.key``) its answer key."""
    lines = [f"# {paper.title}{' — answer key' if paper.key else ''}", ""]
    for item in paper.items:
        q = item.question
        lines.append(f"## Question {item.position + 1} ({q.topic}, level {q.difficulty})")
        lines.append("")
        if not paper.key:
            lines += [q.prompt, ""]
            for i, choice in enumerate(q.answer.choices or ()):
                lines.append(f"{chr(ord('a') + i)}) {choice}")
            rules = q.rules or _answer_hint(q.answer)
            lines += ["", f"*{rules}*", "", "Answer: ____________________", ""]
        else:  # the prompt too: a key is checked against the question it answers
            lines += [
                q.prompt,
                "",
                f"**Answer:** {expected_text(q)}",
                "",
                "```text",
                q.solution,
                "```",
                "",
            ]
    return "\n".join(lines).rstrip() + "\n"


FORMAT = ExportFormat(
    name="markdown",
    label="Markdown",
    media_type="text/markdown; charset=utf-8",
    extension="md",
    keyless=True,
    description="a printable exam (the questions alone) or its answer key with worked solutions",
    writer=write,
    default_part="exam",
)
