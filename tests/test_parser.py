"""The note parser: cards, ids, multi-line answers, examples and errors with line numbers."""

from __future__ import annotations

from content import card_id_for, parse_note

GOOD = """---
topic: demo
title: Demo note
tags: [a, b]
---

# Heading

Intro prose is not a card.

Q: First question? {#demo-first}
A: First answer.

Q: Second question?
A: Line one
line two

- a list item

```python example
print(2 * 3)
```

```output
6
```

## Next section

Q: Third? {#demo-third}
A: Has a plain code block:
```text
not an example
```
"""


def test_parses_cards_examples_and_metadata() -> None:
    note = parse_note(GOOD)
    assert note.errors == ()
    assert (note.topic, note.title, note.tags) == ("demo", "Demo note", ("a", "b"))
    ids = [c.id for c in note.cards]
    assert ids == ["demo-first", card_id_for("demo", "Second question?"), "demo-third"]
    first, second, third = note.cards
    assert (first.front, first.back, first.line) == ("First question?", "First answer.", 11)
    assert second.back == "Line one\nline two\n\n- a list item"
    assert second.line == 14
    assert len(second.examples) == 1
    ex = second.examples[0]
    assert (ex.code, ex.expected_output, ex.line) == ("print(2 * 3)", "6", 20)
    assert first.examples == () and third.examples == ()
    assert third.back == "Has a plain code block:\n```text\nnot an example\n```"
    assert all(c.tags == ("a", "b") and c.topic == "demo" for c in note.cards)


def test_derived_id_depends_on_question_only() -> None:
    a = card_id_for("demo", "What is   a KiB?")
    assert a == card_id_for("demo", "what is a kib?")
    assert a != card_id_for("demo", "What is a KB?")
    assert a != card_id_for("other", "What is a KiB?")
    assert a.startswith("demo-") and len(a) == len("demo-") + 12


def _errors(text: str) -> list[tuple[int, str]]:
    return [(e.line, e.message) for e in parse_note(text).errors]


def test_missing_front_matter() -> None:
    errs = _errors("Q: x?\nA: y\n")
    assert errs[0][0] == 1 and "front matter" in errs[0][1]


def test_unclosed_front_matter_and_bad_yaml() -> None:
    assert "not closed" in _errors("---\ntopic: a\n")[0][1]
    errs = _errors("---\ntopic: [a\ntitle: x\n---\n")
    assert any("not valid YAML" in m for _, m in errs)


def test_missing_title_and_bad_topic() -> None:
    msgs = [m for _, m in _errors("---\ntopic: Bad Topic!\n---\nQ: a?\nA: b\n")]
    assert any("topic" in m for m in msgs) and any("title" in m for m in msgs)


def test_card_errors_carry_their_line() -> None:
    text = "---\ntopic: t\ntitle: T\n---\nA: orphan\nQ: no answer?\n\nQ: ok? {#t-ok}\nA: yes\nA: again\nQ: {#t-empty}\nA: x\nQ: bad id? {#Bad_Id}\nA: z\n"
    errs = _errors(text)
    assert (5, "'A:' without a 'Q:' before it") in errs
    assert (6, "question has no 'A:' answer") in errs
    assert (10, "second 'A:' for the same question") in errs
    assert (11, "question after 'Q:' is empty") in errs
    assert any(line == 13 and "card id 'Bad_Id'" in m for line, m in errs)


def test_duplicate_ids() -> None:
    text = "---\ntopic: t\ntitle: T\n---\nQ: a? {#t-x}\nA: 1\nQ: b? {#t-x}\nA: 2\n"
    note = parse_note(text)
    assert [c.id for c in note.cards] == ["t-x"]
    assert [(e.line, e.message) for e in note.errors] == [
        (7, "duplicate card id 't-x' (first used on line 5)")
    ]


def test_example_errors() -> None:
    head = "---\ntopic: t\ntitle: T\n---\n"
    no_output = head + "Q: a?\nA: b\n```python example\nprint(1)\n```\nmore text\n"
    assert _errors(no_output) == [
        (7, "example must be followed by an ```output block (expected stdout)")
    ]
    unclosed = head + "Q: a?\nA: b\n```python example\nprint(1)\n"
    assert _errors(unclosed) == [(7, "code fence is never closed")]
    orphan = head + "```python example\nprint(1)\n```\n```output\n1\n```\n"
    assert _errors(orphan) == [(5, "example comes before any card; put it under a card")]


def test_crlf_and_never_raises_on_junk() -> None:
    note = parse_note("---\r\ntopic: t\r\ntitle: T\r\n---\r\nQ: a? {#t-a}\r\nA: b\r\n")
    assert [(c.id, c.back) for c in note.cards] == [("t-a", "b")]
    for junk in ["", "---", "\x00\x01", "---\n- 1\n- 2\n---\n", "```", "Q:\nA:"]:
        assert parse_note(junk).errors  # every one is reported, none raises
