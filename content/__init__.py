"""Notes → cards: the pure note parser and the directory loader."""

from .loader import DEFAULT_NOTES_DIR, FileError, LoadedContent, Topic, load_directory
from .parser import Card, Example, NoteError, ParsedNote, card_id_for, parse_note

__all__ = [
    "Card",
    "Example",
    "NoteError",
    "ParsedNote",
    "parse_note",
    "card_id_for",
    "FileError",
    "LoadedContent",
    "Topic",
    "load_directory",
    "DEFAULT_NOTES_DIR",
]
