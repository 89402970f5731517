"""Write cards back out in the note format, so that they parse back to the same cards."""

from __future__ import annotations

from collections.abc import Iterable

import yaml

from .parser import Card

__all__ = ["render_note"]


def render_note(topic: str, title: str, tags: Iterable[str], cards: Iterable[Card]) -> str:
    """Render a note whose parse gives back ``cards`` (ids, fronts, backs and examples)."""
    meta = yaml.safe_dump(
        {"topic": topic, "title": title, "tags": list(tags)}, allow_unicode=True, sort_keys=False
    )
    parts = [f"---\n{meta}---\n\n# {title}\n"]
    for card in cards:
        front = " ".join(card.front.split())
        block = f"Q: {front} {{#{card.id}}}\nA: {_safe_back(card.back)}\n"
        for ex in card.examples:
            block += (
                f"\n```python example\n{ex.code}\n```\n\n```output\n{ex.expected_output}\n```\n"
            )
        parts.append(block)
    return "\n".join(parts)


def _safe_back(back: str) -> str:
    """Indent answer lines that the parser would otherwise read as structure."""
    out = []
    for line in back.split("\n"):
        if line.startswith(("Q:", "A:", "#")):
            line = " " + line  # structure is read at column 0 only; indented, it stays text
        out.append(line)
    return "\n".join(out)
