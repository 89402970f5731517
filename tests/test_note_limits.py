"""The note parser under hostile input: every size is bounded by ``NoteLimits``, YAML cannot
nest or alias its way into a RecursionError or an expansion, and parsing stays linear."""

from __future__ import annotations

import time

import pytest

from content import NOTE_LIMITS, NoteLimits, parse_note
from content.plain import parse_plain

# Wall-clock bounds: these run alone, after the parallel part of the suite (conftest).
pytestmark = pytest.mark.serial

HEAD = "---\ntopic: t\ntitle: T\n"


def _messages(text: str, limits: NoteLimits = NOTE_LIMITS) -> list[str]:
    return [e.message for e in parse_note(text, limits=limits).errors]


@pytest.mark.parametrize("opener", ["[", "{a: "])
def test_deep_flow_nesting_is_an_error_not_a_recursion_error(opener) -> None:
    closer = "]" if opener == "[" else "}"
    n = 3000 if opener == "[" else 800  # 3,000 brackets: the proof of concept
    for depth in (9, 600, n):
        body = f"tags: {opener * depth}{closer * depth}\n"
        if len(body) > NOTE_LIMITS.front_matter_bytes:
            limits = NoteLimits(front_matter_bytes=len(body) + 100)  # reach YAML itself
        else:
            limits = NOTE_LIMITS
        start = time.perf_counter()
        messages = _messages(HEAD + body + "---\nQ: a?\nA: b\n", limits)
        # The scanner stops at the limit instead of looking ahead over the whole collection.
        assert time.perf_counter() - start < 0.5
        assert any("nested deeper than 8 levels" in m for m in messages), messages


def test_deep_block_nesting_is_refused() -> None:
    deep = "".join("  " * i + f"k{i}:\n" for i in range(40))
    messages = _messages(HEAD + deep + "---\nQ: a?\nA: b\n")
    assert any("nested deeper than 8 levels" in m for m in messages)


def test_nesting_within_the_limit_is_still_read() -> None:
    note = parse_note(HEAD + "tags: [a, b]\nextra: {x: [1, {y: [2]}]}\n---\nQ: a?\nA: b\n")
    assert note.errors == () and note.tags == ("a", "b")


def test_yaml_aliases_are_refused() -> None:
    lol = "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
        f"{k}: &{k} [{', '.join([f'*{p}'] * 9)}]\n"
        for p, k in zip("abcdefgh", "bcdefghi", strict=True)
    )
    note = parse_note(HEAD + lol + "tags: *i\n---\nQ: a?\nA: b\n")
    assert any("aliases (*name) are not allowed" in e.message for e in note.errors)
    assert note.tags == ()


def test_front_matter_over_its_byte_limit_is_not_parsed() -> None:
    # ~1 MB of YAML, the proof of concept: refused by size before YAML reads it.
    big = "".join(f"k{i}: [{', '.join(['v'] * 20)}]\n" for i in range(13_000))
    start = time.perf_counter()
    note = parse_note(HEAD + big + "---\nQ: a?\nA: b\n")
    assert time.perf_counter() - start < 0.5
    size = len((HEAD + big).encode()) - len("---\n") - 1  # the lines between the markers
    assert (2, f"front matter is {size:,} bytes, over the limit of 8,192") in [
        (e.line, e.message) for e in note.errors
    ]
    assert note.topic is None  # nothing of it was read


def test_tags_are_bounded_in_number_and_length() -> None:
    many = ", ".join(f"t{i}" for i in range(33))
    assert "33 tags: at most 32 per note" in _messages(HEAD + f"tags: [{many}]\n---\n")
    ok = parse_note(HEAD + f"tags: [{', '.join(f't{i}' for i in range(32))}]\n---\n")
    assert len(ok.tags) == 32
    long = "x" * 41
    assert any(
        "one line of at most 40 characters" in m for m in _messages(HEAD + f"tags: [{long}]\n---\n")
    )
    assert parse_note(HEAD + f"tags: [{'x' * 40}]\n---\n").tags == ("x" * 40,)
    control = _messages(HEAD + 'tags: ["a\\nb"]\n---\n')
    assert any("one line" in m for m in control)


def test_title_is_bounded() -> None:
    assert any(
        "'title' is over the limit of 200" in m
        for m in _messages("---\ntopic: t\ntitle: " + "x" * 201 + "\n---\n")
    )


def test_examples_are_bounded_per_card_and_in_size() -> None:
    example = "```python example\nprint(1)\n```\n\n```output\n1\n```\n\n"
    note = parse_note(HEAD + "---\nQ: a?\nA: b\n\n" + example * 9)
    assert len(note.cards[0].examples) == 8
    assert [e.message for e in note.errors] == ["at most 8 examples per card"]
    huge = "```python example\n" + "#" * 20_001 + "\n```\n\n```output\n1\n```\n"
    note = parse_note(HEAD + "---\nQ: a?\nA: b\n\n" + huge)
    assert note.cards[0].examples == ()
    assert [e.message for e in note.errors] == ["example code or output over 20,000 characters"]


@pytest.mark.parametrize("parse", ["note", "plain"])
def test_a_long_run_of_spaces_is_parsed_in_linear_time(parse) -> None:
    # A trailing-id regular expression searched from every position took 6.5 s for 40,000
    # spaces (quadratic); a 1 MB line would have taken an hour.
    question = "a" + " " * 900_000 + "b? {#t-id}"
    start = time.perf_counter()
    if parse == "note":
        note = parse_note(HEAD + f"---\nQ: {question}\nA: b\n")
    else:
        note = parse_plain(f"{question.removesuffix(' {#t-id}')}\nb\n", "t")
    assert time.perf_counter() - start < 1.0
    assert note.cards == () and "card is too long" in note.errors[0].message


def test_trailing_id_is_split_as_before() -> None:
    text = (
        HEAD + "---\nQ: What {is} this?   {#t-x}\nA: b\nQ: No id {#}\nA: c\nQ: Odd {#a b}\nA: d\n"
    )
    note = parse_note(text)
    assert [c.front for c in note.cards][0] == "What {is} this?"
    assert note.cards[0].id == "t-x"
    assert any("card id ''" in e.message for e in note.errors)
    assert note.cards[-1].front == "Odd {#a b}"  # whitespace inside: not an id
