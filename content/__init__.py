"""Notes → cards: the pure note parser and the directory loader."""

from .loader import DEFAULT_NOTES_DIR, FileError, LoadedContent, Topic, load_directory
from .parser import (
    NOTE_LIMITS,
    Card,
    Example,
    NoteError,
    NoteLimits,
    ParsedNote,
    card_id_for,
    parse_note,
)

__all__ = [
    "Card",
    "Example",
    "NoteError",
    "NoteLimits",
    "NOTE_LIMITS",
    "ParsedNote",
    "parse_note",
    "card_id_for",
    "FileError",
    "LoadedContent",
    "Topic",
    "load_directory",
    "DEFAULT_NOTES_DIR",
]
