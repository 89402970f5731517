"""Anki packages built with genanki. Note GUIDs derive from card ids, so importing a newer
package into Anki updates the notes instead of duplicating them."""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Iterable

import genanki
from markdown_it import MarkdownIt

from .store.cards import CardRecord

__all__ = ["build_apkg", "MODEL_ID", "deck_id"]

# Fixed forever: Anki matches note types by id, so changing it would fork users' decks.
MODEL_ID = 1_734_069_001
_md = MarkdownIt("commonmark", {"html": False})  # raw HTML in notes is escaped, not rendered

MODEL = genanki.Model(
    MODEL_ID,
    "flopcards basic",
    fields=[{"name": "Front"}, {"name": "Back"}, {"name": "Source"}, {"name": "CardId"}],
    templates=[
        {
            "name": "Card 1",
            "qfmt": "{{Front}}",
            "afmt": '{{FrontSide}}<hr id="answer">{{Back}}<div class="source">{{Source}}</div>',
        }
    ],
    css=(
        ".card { font-family: sans-serif; font-size: 18px; }\n"
        ".source { color: #888; font-size: 12px; }"
    ),
)


def deck_id(topic: str) -> int:
    """A stable deck id per topic (Anki wants a positive 31-bit-ish integer)."""
    return int(hashlib.sha256(f"flopcards:{topic}".encode()).hexdigest()[:7], 16) + (1 << 30)


def _html(text: str) -> str:
    return _md.render(text).strip()


def build_apkg(topic: str, title: str, cards: Iterable[CardRecord]) -> bytes:
    """An .apkg with one deck ``flopcards::<title>`` holding ``cards``."""
    deck = genanki.Deck(deck_id(topic), f"flopcards::{title}")
    for card in cards:
        deck.add_note(
            genanki.Note(
                model=MODEL,
                fields=[_html(card.front), _html(card.back), _html(card.source), card.id],
                tags=[t.replace(" ", "_") for t in card.tags] + [f"topic::{topic}"],
                guid=genanki.guid_for(card.id),
            )
        )
    fd, path = tempfile.mkstemp(suffix=".apkg")
    os.close(fd)
    try:
        genanki.Package(deck).write_to_file(path)
        with open(path, "rb") as fh:
            return fh.read()
    finally:
        os.unlink(path)
