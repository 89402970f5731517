"""Parse one note (markdown with YAML front matter) into cards, examples and errors.

The parser is a pure function: text in, a :class:`ParsedNote` out. It never raises on bad
input; every problem becomes a :class:`NoteError` carrying the 1-based line it was found on,
so ``flopcards check-notes`` and the import endpoint can report all of them at once.

Format::

    ---
    topic: grouped-conv
    title: Grouped convolution
    tags: [convolution]
    ---
    Q: One-line question? {#grouped-conv-why}
    A: Answer, possibly over
    several lines.

    ```python example
    print(1 + 1)
    ```

    ```output
    2
    ```

An answer runs until the next ``Q:`` line, a heading, or an example fence (``Q:``, ``A:`` and
``#`` count only at the start of a line). An example belongs to the card directly above it.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field

import yaml

__all__ = [
    "Card",
    "Example",
    "NoteError",
    "ParsedNote",
    "parse_note",
    "card_id_for",
    "MAX_FRONT_LEN",
    "MAX_BACK_LEN",
]

MAX_FRONT_LEN = 2_000
MAX_BACK_LEN = 20_000

_ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,119}$")
_TOPIC_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
_ID_SUFFIX_RE = re.compile(r"\s*\{#([^}\s]*)\}\s*$")
_FENCE_RE = re.compile(r"^(`{3,}|~{3,})\s*([^`\s]*)\s*(\S*)\s*$")


@dataclass(frozen=True)
class Example:
    """An executable example: python code and the stdout it is expected to print."""

    code: str
    expected_output: str
    line: int


@dataclass(frozen=True)
class Card:
    """One flashcard parsed from a note."""

    id: str
    topic: str
    front: str
    back: str
    tags: tuple[str, ...]
    line: int
    examples: tuple[Example, ...] = ()


@dataclass(frozen=True)
class NoteError:
    """A problem found in a note, with the 1-based line it was found on."""

    line: int
    message: str


@dataclass(frozen=True)
class ParsedNote:
    """Everything read from one note."""

    topic: str | None
    title: str | None
    tags: tuple[str, ...]
    cards: tuple[Card, ...]
    errors: tuple[NoteError, ...] = field(default=())

    @property
    def ok(self) -> bool:
        """True when the note parsed without any error."""
        return not self.errors


def card_id_for(topic: str, front: str) -> str:
    """Derive a stable id for a card written without ``{#id}``.

    The id depends on the topic and the question text only, so editing the answer keeps the
    card (and its review history); rewording the question makes it a new card.
    """
    normalised = " ".join(front.lower().split())
    digest = hashlib.sha1(f"{topic}\n{normalised}".encode()).hexdigest()[:12]
    return f"{topic}-{digest}"


def _front_matter(lines: list[str], errors: list[NoteError]) -> tuple[dict, int]:
    """Read the YAML block between the first two ``---`` lines; return it and the body start."""
    if not lines or lines[0].strip() != "---":
        errors.append(NoteError(1, "note must start with YAML front matter ('---' line)"))
        return {}, 0
    for i in range(1, len(lines)):
        if lines[i].strip() == "---":
            try:
                data = yaml.safe_load("\n".join(lines[1:i])) or {}
            except yaml.YAMLError as exc:
                mark = getattr(exc, "problem_mark", None)
                line = 2 + (mark.line if mark is not None else 0)
                errors.append(NoteError(line, f"front matter is not valid YAML: {exc}"))
                return {}, i + 1
            if not isinstance(data, dict):
                errors.append(NoteError(2, "front matter must be a mapping of keys to values"))
                return {}, i + 1
            return data, i + 1
    errors.append(NoteError(1, "front matter is not closed by a '---' line"))
    return {}, len(lines)


def _meta(data: dict, errors: list[NoteError], default_topic: str | None):
    """Validate topic, title and tags from the front matter."""
    topic = data.get("topic", default_topic)
    if not isinstance(topic, str) or not _TOPIC_RE.match(topic):
        errors.append(
            NoteError(1, "front matter needs 'topic': lowercase letters, digits and dashes")
        )
        topic = None
    title = data.get("title")
    if not isinstance(title, str) or not title.strip():
        errors.append(NoteError(1, "front matter needs a non-empty 'title'"))
        title = None
    raw_tags = data.get("tags", [])
    if isinstance(raw_tags, str):
        raw_tags = [t.strip() for t in raw_tags.split(",")]
    if not isinstance(raw_tags, list) or not all(isinstance(t, str) for t in raw_tags):
        errors.append(NoteError(1, "'tags' must be a list of strings"))
        raw_tags = []
    tags = tuple(dict.fromkeys(t.strip() for t in raw_tags if t.strip()))
    return topic, title, tags


@dataclass
class _Draft:
    front: str
    explicit_id: str | None
    line: int
    back: list[str] = field(default_factory=list)
    examples: list[Example] = field(default_factory=list)
    has_answer: bool = False


def parse_note(text: str, default_topic: str | None = None) -> ParsedNote:
    """Parse a note's text into cards, their examples and every error found (never raises)."""
    errors: list[NoteError] = []
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    data, body_start = _front_matter(lines, errors)
    topic, title, tags = _meta(data, errors, default_topic)

    drafts: list[_Draft] = []
    current: _Draft | None = None
    in_answer = False
    i = body_start
    while i < len(lines):
        line = lines[i]
        lineno = i + 1
        fence = _FENCE_RE.match(line)
        if fence:
            i = _read_fence(lines, i, fence, current, errors)
            in_answer = False
            continue
        # Structure is only read at column 0, so an indented line is always answer text.
        stripped = line.strip()
        if line.startswith("Q:"):
            question = stripped[2:].strip()
            explicit_id = None
            m = _ID_SUFFIX_RE.search(question)
            if m:
                explicit_id = m.group(1)
                question = question[: m.start()].strip()
                if not _ID_RE.match(explicit_id):
                    errors.append(
                        NoteError(
                            lineno,
                            f"card id '{explicit_id}' must be lowercase letters, digits and "
                            "dashes (at most 120)",
                        )
                    )
                    explicit_id = None
            if not question:
                errors.append(NoteError(lineno, "question after 'Q:' is empty"))
            current = _Draft(front=question, explicit_id=explicit_id, line=lineno)
            drafts.append(current)
            in_answer = False
        elif line.startswith("A:"):
            if current is None:
                errors.append(NoteError(lineno, "'A:' without a 'Q:' before it"))
            elif current.has_answer:
                errors.append(NoteError(lineno, "second 'A:' for the same question"))
            else:
                current.has_answer = True
                current.back.append(stripped[2:].strip())
                in_answer = True
        elif line.startswith("#"):
            in_answer = False
        elif in_answer and current is not None:
            current.back.append(line.rstrip())
        i += 1

    cards: list[Card] = []
    seen: dict[str, int] = {}
    for d in drafts:
        back = "\n".join(d.back).strip()
        if not d.has_answer:
            errors.append(NoteError(d.line, "question has no 'A:' answer"))
            continue
        if not back:
            errors.append(NoteError(d.line, "answer after 'A:' is empty"))
            continue
        if not d.front or topic is None:
            continue
        if len(d.front) > MAX_FRONT_LEN or len(back) > MAX_BACK_LEN:
            errors.append(NoteError(d.line, "card is too long"))
            continue
        cid = d.explicit_id or card_id_for(topic, d.front)
        if cid in seen:
            errors.append(
                NoteError(d.line, f"duplicate card id '{cid}' (first used on line {seen[cid]})")
            )
            continue
        seen[cid] = d.line
        cards.append(Card(cid, topic, d.front, back, tags, d.line, tuple(d.examples)))
    errors.sort(key=lambda e: e.line)
    return ParsedNote(topic, title, tags, tuple(cards), tuple(errors))


def _read_fence(
    lines: list[str], start: int, fence: re.Match[str], current: _Draft | None, errors: list
) -> int:
    """Consume a fenced block starting at ``start``; attach python examples to ``current``.

    Returns the index of the first line after everything consumed.
    """
    marker, lang, info = fence.group(1), fence.group(2).lower(), fence.group(3).lower()
    body, end = _fence_body(lines, start, marker)
    if end is None:
        errors.append(NoteError(start + 1, "code fence is never closed"))
        return len(lines)
    if not (lang == "python" and info == "example"):
        # An ordinary code block: keep it in the answer text when inside one.
        if current is not None and current.has_answer:
            current.back.extend(lines[start : end + 1])
        return end + 1
    j = end + 1
    while j < len(lines) and not lines[j].strip():
        j += 1
    out = _FENCE_RE.match(lines[j]) if j < len(lines) else None
    if out is None or out.group(2).lower() != "output":
        errors.append(
            NoteError(start + 1, "example must be followed by an ```output block (expected stdout)")
        )
        return end + 1
    expected, out_end = _fence_body(lines, j, out.group(1))
    if out_end is None:
        errors.append(NoteError(j + 1, "output fence is never closed"))
        return len(lines)
    if current is None:
        errors.append(NoteError(start + 1, "example comes before any card; put it under a card"))
    elif not body.strip():
        errors.append(NoteError(start + 1, "example has no code"))
    else:
        current.examples.append(Example(body, expected.rstrip(), start + 1))
    return out_end + 1


def _fence_body(lines: list[str], start: int, marker: str) -> tuple[str, int | None]:
    """Return the text inside a fence opened at ``start`` and the index of its closing line."""
    for k in range(start + 1, len(lines)):
        if lines[k].strip() == marker[0] * len(marker) or (
            lines[k].strip().startswith(marker) and set(lines[k].strip()) == {marker[0]}
        ):
            return "\n".join(lines[start + 1 : k]), k
    return "", None
