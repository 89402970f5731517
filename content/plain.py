"""Parse a plain-text flashcard list (the shape many apps export) into cards.

A line ending in ``?`` starts a question; the lines after it, up to the next question, are
its answer. Pure: text in, a :class:`content.parser.ParsedNote` out, errors with line numbers.
"""

from __future__ import annotations

from .parser import NOTE_LIMITS, Card, NoteError, NoteLimits, ParsedNote, card_id_for

__all__ = ["parse_plain"]


def parse_plain(
    text: str, topic: str, title: str | None = None, limits: NoteLimits = NOTE_LIMITS
) -> ParsedNote:
    """Read ``question?`` lines and the answer lines under each; never raises."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    drafts: list[tuple[int, str, list[str]]] = []
    errors: list[NoteError] = []
    for i, raw in enumerate(lines, start=1):
        line = raw.strip()
        if line.endswith("?"):
            drafts.append((i, line, []))
        elif drafts:
            drafts[-1][2].append(raw.rstrip())
        elif line:
            errors.append(NoteError(i, "text before the first question (a line ending in '?')"))
    cards: list[Card] = []
    seen: dict[str, int] = {}
    for line_no, front, back_lines in drafts:
        back = "\n".join(back_lines).strip()
        if not back:
            errors.append(NoteError(line_no, "question has no answer lines under it"))
            continue
        if len(front) > limits.front_chars or len(back) > limits.back_chars:
            errors.append(
                NoteError(
                    line_no,
                    f"card is too long (question at most {limits.front_chars:,} characters, "
                    f"answer at most {limits.back_chars:,})",
                )
            )
            continue
        cid = card_id_for(topic, front)
        if cid in seen:
            errors.append(NoteError(line_no, f"same question as line {seen[cid]}"))
            continue
        seen[cid] = line_no
        cards.append(Card(cid, topic, front, back, (), line_no))
    if not drafts:
        errors.append(NoteError(1, "no question found: a question is a line ending in '?'"))
    return ParsedNote(topic, title or topic, (), tuple(cards), tuple(errors))
