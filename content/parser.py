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

Notes also come from users (``POST /notes/import``), so every size the parser reads is bounded
by :class:`NoteLimits`, and the work it does is linear in the note's length: the front matter is
size-checked before YAML reads it, YAML aliases and deep nesting are refused (an alias bomb or
3,000 nested brackets are errors, not a RecursionError), and no regular expression can
backtrack over a long line.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from typing import Any

import yaml

__all__ = [
    "Card",
    "Example",
    "NoteError",
    "ParsedNote",
    "parse_note",
    "card_id_for",
    "NoteLimits",
    "NOTE_LIMITS",
]


@dataclass(frozen=True)
class NoteLimits:
    """The sizes a note may reach. The defaults are the service's (README, "Limits").

    A card carries its note's tags (the format has no tags of its own per card), so the
    per-note bound on tags is also the per-card bound.
    """

    front_matter_bytes: int = 8_192  # UTF-8 bytes between the two '---' lines: room for the
    # longest title and tags (800 + 5,120 bytes of 4-byte characters)
    yaml_depth: int = 8  # nested lists/mappings in the front matter
    tags: int = 32  # tags per note, and so per card
    tag_chars: int = 40  # characters per tag
    title_chars: int = 200
    front_chars: int = 2_000  # a card's question
    back_chars: int = 20_000  # a card's answer
    examples_per_card: int = 8
    example_chars: int = 20_000  # an example's code, and its expected output


NOTE_LIMITS = NoteLimits()

_ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,119}$")
_TOPIC_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f-\x9f]")
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


class _FrontMatterLoader(yaml.SafeLoader):
    """PyYAML's safe loader, refusing aliases and nesting deeper than ``max_depth``.

    Front matter holds a topic, a title and a list of tags: it never needs an alias (the
    building block of "billion laughs" documents) nor deep nesting, and PyYAML composes
    nested collections by recursion, so 3,000 nested brackets would raise RecursionError.
    """

    max_depth = NOTE_LIMITS.yaml_depth

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def fetch_flow_collection_start(self, TokenClass: Any) -> None:
        # The scanner looks ahead over a whole flow collection (it might be a mapping key),
        # at a cost growing with the square of its depth: stop at the limit, here.
        if self.flow_level >= self.max_depth:
            raise yaml.scanner.ScannerError(
                None, None, f"nested deeper than {self.max_depth} levels", self.get_mark()
            )
        super().fetch_flow_collection_start(TokenClass)

    def compose_node(self, parent: Any, index: Any) -> Any:
        event = self.peek_event()
        mark: Any = event.start_mark
        if isinstance(event, yaml.AliasEvent):
            raise yaml.composer.ComposerError(
                None, None, "aliases (*name) are not allowed in front matter", mark
            )
        if self._depth >= self.max_depth:
            raise yaml.composer.ComposerError(
                None, None, f"nested deeper than {self.max_depth} levels", mark
            )
        self._depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def _load_yaml(text: str, max_depth: int) -> Any:
    loader = _FrontMatterLoader(text)
    loader.max_depth = max_depth
    try:
        return loader.get_single_data()
    finally:
        loader.dispose()


def _front_matter(
    lines: list[str], errors: list[NoteError], limits: NoteLimits
) -> tuple[dict, int]:
    """Read the YAML block between the first two ``---`` lines; return it and the body start."""
    if not lines or lines[0].strip() != "---":
        errors.append(NoteError(1, "note must start with YAML front matter ('---' line)"))
        return {}, 0
    for i in range(1, len(lines)):
        if lines[i].strip() == "---":
            return _read_yaml("\n".join(lines[1:i]), errors, limits), i + 1
    errors.append(NoteError(1, "front matter is not closed by a '---' line"))
    return {}, len(lines)


def _read_yaml(block: str, errors: list[NoteError], limits: NoteLimits) -> dict:
    """The front matter's mapping, or {} with an error; YAML only reads bounded input."""
    size = len(block.encode("utf-8", "surrogatepass"))
    if size > limits.front_matter_bytes:
        limit = limits.front_matter_bytes
        errors.append(NoteError(2, f"front matter is {size:,} bytes, over the limit of {limit:,}"))
        return {}
    try:
        data = _load_yaml(block, limits.yaml_depth) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = 2 + (mark.line if mark is not None else 0)
        errors.append(NoteError(line, f"front matter is not valid YAML: {exc}"))
        return {}
    except RecursionError:  # the depth limit stops nesting first; this is the backstop
        errors.append(NoteError(2, "front matter is nested too deeply"))
        return {}
    if not isinstance(data, dict):
        errors.append(NoteError(2, "front matter must be a mapping of keys to values"))
        return {}
    return data


def _meta(
    data: dict, errors: list[NoteError], default_topic: str | None, limits: NoteLimits
) -> tuple[str | None, str | None, tuple[str, ...]]:
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
    elif len(title) > limits.title_chars:
        errors.append(NoteError(1, f"'title' is over the limit of {limits.title_chars} characters"))
        title = None
    return topic, title, _tags(data.get("tags", []), errors, limits)


def _tags(raw: object, errors: list[NoteError], limits: NoteLimits) -> tuple[str, ...]:
    """The note's tags: a list of short one-line strings (or one comma-separated string)."""
    if isinstance(raw, str):
        raw = [t.strip() for t in raw.split(",")]
    if not isinstance(raw, list) or not all(isinstance(t, str) for t in raw):
        errors.append(NoteError(1, "'tags' must be a list of strings"))
        return ()
    tags = tuple(dict.fromkeys(t.strip() for t in raw if t.strip()))
    if len(tags) > limits.tags:
        errors.append(NoteError(1, f"{len(tags)} tags: at most {limits.tags} per note"))
        return ()
    for tag in tags:
        if len(tag) > limits.tag_chars or _CONTROL_RE.search(tag):
            message = f"tag {_clip(tag)!r}: one line of at most {limits.tag_chars} characters"
            errors.append(NoteError(1, message))
            return ()
    return tags


def _clip(text: str, n: int = 40) -> str:
    """Quote at most ``n`` characters of user text in a message."""
    return text if len(text) <= n else text[:n] + "…"


@dataclass
class _Draft:
    front: str
    explicit_id: str | None
    line: int
    back: list[str] = field(default_factory=list)
    examples: list[Example] = field(default_factory=list)
    has_answer: bool = False


def parse_note(
    text: str, default_topic: str | None = None, limits: NoteLimits = NOTE_LIMITS
) -> ParsedNote:
    """Parse a note's text into cards, their examples and every error found (never raises)."""
    errors: list[NoteError] = []
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    data, body_start = _front_matter(lines, errors, limits)
    topic, title, tags = _meta(data, errors, default_topic, limits)

    drafts: list[_Draft] = []
    current: _Draft | None = None
    in_answer = False
    i = body_start
    while i < len(lines):
        line = lines[i]
        lineno = i + 1
        fence = _FENCE_RE.match(line)
        if fence:
            i = _read_fence(lines, i, fence, current, errors, limits)
            in_answer = False
            continue
        # Structure is only read at column 0, so an indented line is always answer text.
        stripped = line.strip()
        if line.startswith("Q:"):
            current = _question(stripped[2:].strip(), lineno, errors)
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
    cards = _cards(drafts, topic, tags, errors, limits)
    errors.sort(key=lambda e: e.line)
    return ParsedNote(topic, title, tags, tuple(cards), tuple(errors))


def _question(question: str, lineno: int, errors: list[NoteError]) -> _Draft:
    """A new card draft from the text after ``Q:``, with its ``{#id}`` split off."""
    question, explicit_id = _split_id(question)
    if explicit_id is not None and not _ID_RE.match(explicit_id):
        errors.append(
            NoteError(
                lineno,
                f"card id '{_clip(explicit_id)}' must be lowercase letters, digits and dashes "
                "(at most 120)",
            )
        )
        explicit_id = None
    if not question:
        errors.append(NoteError(lineno, "question after 'Q:' is empty"))
    return _Draft(front=question, explicit_id=explicit_id, line=lineno)


def _split_id(question: str) -> tuple[str, str | None]:
    """Split a trailing ``{#card-id}`` off a question: ``("text", "card-id")``.

    The id is the run of characters other than whitespace and ``}`` before the final ``}``,
    from its first ``{#``. Written as a scan rather than a regular expression searched from
    every position, which backtracks quadratically over a long run of spaces.
    """
    if not question.endswith("}"):
        return question, None
    body = question[:-1]
    start = len(body)
    while start > 0 and not body[start - 1].isspace() and body[start - 1] != "}":
        start -= 1
    mark = body.find("{#", start)
    if mark < 0:
        return question, None
    return body[:mark].strip(), body[mark + 2 :]


def _cards(
    drafts: list[_Draft],
    topic: str | None,
    tags: tuple[str, ...],
    errors: list[NoteError],
    limits: NoteLimits,
) -> list[Card]:
    """Turn drafts into cards, reporting the ones that cannot be cards."""
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
        if len(d.front) > limits.front_chars or len(back) > limits.back_chars:
            errors.append(
                NoteError(
                    d.line,
                    f"card is too long (question at most {limits.front_chars:,} characters, "
                    f"answer at most {limits.back_chars:,})",
                )
            )
            continue
        cid = d.explicit_id or card_id_for(topic, d.front)
        if cid in seen:
            errors.append(
                NoteError(d.line, f"duplicate card id '{cid}' (first used on line {seen[cid]})")
            )
            continue
        seen[cid] = d.line
        cards.append(Card(cid, topic, d.front, back, tags, d.line, tuple(d.examples)))
    return cards


def _read_fence(
    lines: list[str],
    start: int,
    fence: re.Match[str],
    current: _Draft | None,
    errors: list,
    limits: NoteLimits = NOTE_LIMITS,
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
    _add_example(current, Example(body, expected.rstrip(), start + 1), errors, limits)
    return out_end + 1


def _add_example(
    current: _Draft | None, example: Example, errors: list, limits: NoteLimits
) -> None:
    """Attach an example to the card above it, or report why it cannot be."""
    line = example.line
    if current is None:
        errors.append(NoteError(line, "example comes before any card; put it under a card"))
    elif not example.code.strip():
        errors.append(NoteError(line, "example has no code"))
    elif len(current.examples) >= limits.examples_per_card:
        errors.append(NoteError(line, f"at most {limits.examples_per_card} examples per card"))
    elif max(len(example.code), len(example.expected_output)) > limits.example_chars:
        errors.append(
            NoteError(line, f"example code or output over {limits.example_chars:,} characters")
        )
    else:
        current.examples.append(example)


def _fence_body(lines: list[str], start: int, marker: str) -> tuple[str, int | None]:
    """Return the text inside a fence opened at ``start`` and the index of its closing line."""
    for k in range(start + 1, len(lines)):
        if lines[k].strip() == marker[0] * len(marker) or (
            lines[k].strip().startswith(marker) and set(lines[k].strip()) == {marker[0]}
        ):
            return "\n".join(lines[start + 1 : k]), k
    return "", None
