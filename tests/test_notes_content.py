"""The shipped notes: coverage of every topic, and every example run and checked."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from typer.testing import CliRunner

from api.cli import app as cli
from content import DEFAULT_NOTES_DIR, load_directory

ROOT = Path(__file__).resolve().parents[1]

TOPICS = {
    "conv-arithmetic", "pooling", "alexnet", "vgg", "googlenet", "conv1x1", "global-avg-pooling",
    "resnet", "grouped-conv", "resnext", "densenet", "senet", "squeezenet", "mobilenet-v1",
    "mobilenet-v2", "shufflenet-v1", "shufflenet-v2", "sparse-vs-dense", "nas", "quantization",
    "batch-norm", "im2col", "flop-counters",
}  # fmt: skip

# Near-duplicate cards merged by the deck audit (docs/deck-audit.md): each group kept one card,
# under its existing id; the others were retired and must not come back.
MERGED = {
    "alexnet-two-gpu-split": {"alexnet-grouped-conv-origin", "grouped-conv-origin"},
    "conv-arithmetic-bytes-per-dtype": {"quantization-bytes-per-element"},
    "shufflenet-v1-side-effect": {"grouped-conv-drawback", "resnext-stovepipes"},
    "grouped-conv-block-diagonal": {"sparse-vs-dense-grouped-density"},
    "senet-squeeze": {"global-avg-pooling-in-senet"},
    "quantization-alexnet-sizes": {"alexnet-total-params"},
    "quantization-squeezenet-6bit": {"squeezenet-deep-compression"},
    "resnext-block-params": {"resnext-params-formula"},
    "shufflenet-v2-g3-fragmentation": {"nas-fragmentation"},
    "pooling-no-params": {"global-avg-pooling-params"},
    "quantization-codebook": {"quantization-codebook-ratio"},
    "conv1x1-equals-linear": {"conv1x1-what"},
    "mobilenet-v1-cost-ratio": {"mobilenet-v1-cost-formulas"},
}


def test_every_topic_is_covered() -> None:
    loaded = load_directory(DEFAULT_NOTES_DIR)
    assert loaded.errors == ()
    assert {t.id for t in loaded.topics} == TOPICS
    per_topic = Counter(card.topic for card, _ in loaded.cards)
    assert sum(per_topic.values()) >= 150
    assert min(per_topic.values()) >= 5, per_topic
    for card, file in loaded.cards:
        assert card.topic == file.removesuffix(".md") and card.tags and card.line > 0
        assert card.id.startswith(card.topic + "-")  # explicit, stable ids
    examples = [ex for card, _ in loaded.cards for ex in card.examples]
    assert len(examples) >= 15
    with_examples = {card.topic for card, _ in loaded.cards if card.examples}
    assert len(with_examples) >= 15


def test_check_notes_runs_every_example_and_matches_its_output(tmp_path) -> None:
    # A fresh cache directory: every example really runs in its own process.
    result = CliRunner().invoke(
        cli, ["check-notes", str(DEFAULT_NOTES_DIR), "--cache-dir", str(tmp_path)]
    )
    assert result.exit_code == 0, result.output
    assert "0 problems" in result.output
    assert len(list(tmp_path.glob("*.json"))) >= 15


def test_check_notes_fails_when_an_example_drifts(tmp_path) -> None:
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "t.md").write_text(
        "---\ntopic: t\ntitle: T\ntags: [x]\n---\nQ: Six? {#t-six}\nA: 6\n\n"
        "```python example\nprint(2 * 3)\n```\n\n```output\n7\n```\n"
    )
    result = CliRunner().invoke(
        cli, ["check-notes", str(notes), "--cache-dir", str(tmp_path / "c")]
    )
    assert result.exit_code == 1
    assert "t.md:9: example of card 't-six' output differs from its expected block" in result.output
    assert "--- expected\n7\n--- got\n6" in result.output


def test_card_ids_are_unique_and_no_two_cards_ask_the_same_question() -> None:
    loaded = load_directory(DEFAULT_NOTES_DIR)
    ids = [card.id for card, _ in loaded.cards]
    assert len(ids) == len(set(ids))
    fronts = Counter(" ".join(card.front.lower().split()) for card, _ in loaded.cards)
    assert [front for front, n in fronts.items() if n > 1] == []


def test_merged_cards_keep_the_survivor_and_retire_the_rest() -> None:
    ids = {card.id for card, _ in load_directory(DEFAULT_NOTES_DIR).cards}
    for survivor, removed in MERGED.items():
        assert survivor in ids, survivor
        assert not removed & ids, removed & ids
