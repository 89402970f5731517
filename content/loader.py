"""Load every note of a content directory: parse them and collect cards, topics and errors.

Reading files is the only side effect; what to do with the result (syncing it into the
database) is the caller's business.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from .parser import Card, ParsedNote, parse_note

__all__ = ["FileError", "LoadedContent", "Topic", "load_directory", "DEFAULT_NOTES_DIR"]

DEFAULT_NOTES_DIR = Path(__file__).resolve().parent / "notes"


@dataclass(frozen=True)
class FileError:
    """A problem in one note file, located by file name and 1-based line."""

    file: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


@dataclass(frozen=True)
class Topic:
    """A topic: one note file's title, tags and the file it came from."""

    id: str
    title: str
    tags: tuple[str, ...]
    file: str


@dataclass(frozen=True)
class LoadedContent:
    """The good notes of a directory, plus the errors of the skipped ones."""

    topics: tuple[Topic, ...]
    cards: tuple[tuple[Card, str], ...]  # (card, source file name)
    errors: tuple[FileError, ...]
    skipped_files: tuple[str, ...]
    digest: str  # hash of every note's bytes: unchanged content needs no re-sync


def load_directory(directory: Path | str) -> LoadedContent:
    """Parse every ``*.md`` note in ``directory``; a note with any error is skipped whole."""
    root = Path(directory)
    topics: list[Topic] = []
    cards: list[tuple[Card, str]] = []
    errors: list[FileError] = []
    skipped: list[str] = []
    seen_ids: dict[str, str] = {}
    seen_topics: dict[str, str] = {}
    h = hashlib.sha256()
    for path in sorted(root.glob("*.md")) if root.is_dir() else []:
        raw = path.read_bytes()
        h.update(path.name.encode() + b"\0" + raw + b"\0")
        note, note_errors = _parse_file(path.name, raw)
        if note is not None and note.topic in seen_topics:
            note_errors.append(
                FileError(
                    path.name, 1, f"topic '{note.topic}' also used by {seen_topics[note.topic]}"
                )
            )
        if note is not None:
            for card in note.cards:
                if card.id in seen_ids:
                    note_errors.append(
                        FileError(
                            path.name,
                            card.line,
                            f"card id '{card.id}' also used in {seen_ids[card.id]}",
                        )
                    )
        if note_errors or note is None or note.topic is None or note.title is None:
            errors.extend(note_errors)
            skipped.append(path.name)
            continue
        seen_topics[note.topic] = path.name
        topics.append(Topic(note.topic, note.title, note.tags, path.name))
        for card in note.cards:
            seen_ids[card.id] = f"{path.name}:{card.line}"
            cards.append((card, path.name))
    return LoadedContent(tuple(topics), tuple(cards), tuple(errors), tuple(skipped), h.hexdigest())


def _parse_file(name: str, raw: bytes) -> tuple[ParsedNote | None, list[FileError]]:
    """Decode and parse one file; undecodable bytes are an error, not an exception."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        return None, [FileError(name, line, "note is not valid UTF-8")]
    note = parse_note(text, default_topic=Path(name).stem)
    return note, [FileError(name, e.line, e.message) for e in note.errors]
