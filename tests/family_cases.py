"""What the family tests share: the variants (each generated once per test run), and answers
written the ways a student writes them.

Every family is tested on the same ``SEEDS`` at every difficulty, so the three family test
modules pay for each variant once.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from decimal import ROUND_HALF_EVEN, Context, Decimal
from fractions import Fraction
from typing import Any

from grader.question import Question
from grader.registry import FAMILIES
from grader.types import AnswerSpec, Mistake, Truth
from grader.units import BASE_UNIT, lookup_unit

SEEDS = range(64)
LAYER_BLOCK_IDS = sorted(f.id for f in FAMILIES.values() if not f.architecture_level)
ARCH_IDS = sorted(f.id for f in FAMILIES.values() if f.architecture_level)
ALL_IDS = sorted(FAMILIES)

# Asserts that one variant's truth equals an independent closed form: written in the tests from
# the question's ``params`` and the papers, never by calling the family's own code. Each of
# test_families_layers, _blocks and _efficiency has a table ``CLOSED_FORMS`` of them by family
# id; ``test_families_contract`` requires one for every registered family.
Check = Callable[[Question], None]


@functools.cache
def question(fid: str, seed: int, difficulty: int) -> Question:
    """Each variant once per test run."""
    return FAMILIES[fid].generate(seed, difficulty)


def questions(fid: str, difficulty: int | None = None) -> list[Question]:
    """The family's variants over ``SEEDS``, at one difficulty or at all of them: the first
    of the fairness tests' variants (``fairness_cases``, generated once and kept on disk)."""
    from .fairness_cases import FAIRNESS_SEEDS, variants

    assert SEEDS == range(len(SEEDS)) and len(SEEDS) <= len(FAIRNESS_SEEDS)
    levels = FAMILIES[fid].difficulties if difficulty is None else (difficulty,)
    return [q for d in levels for q in variants(fid, d)[: len(SEEDS)]]


# -- writing numbers --------------------------------------------------------------------------


def exact_text(value: Fraction) -> str | None:
    """``value`` as an exact decimal, or None when it does not terminate."""
    sign = "-" if value < 0 else ""
    value = abs(value)
    places = 0
    while (value * 10**places).denominator != 1:
        places += 1
        if places > 30:
            return None
    digits = str((value * 10**places).numerator).rjust(places + 1, "0")
    if places == 0:
        return sign + digits
    return f"{sign}{digits[:-places]}.{digits[-places:]}"


def sig(value: Fraction, figures: int, scientific: bool = True) -> str:
    """``value`` correctly rounded to ``figures`` significant figures."""
    ctx = Context(prec=figures, rounding=ROUND_HALF_EVEN)
    d = ctx.divide(Decimal(value.numerator), Decimal(value.denominator))
    return f"{d:.{figures - 1}e}" if scientific else f"{d:f}"


_OTHER_UNIT = {"KiB": "MB", "KB": "MiB", "MiB": "KB", "MB": "KiB", "B": "KiB"}


def correct_forms(spec: AnswerSpec, truth: Truth) -> list[str]:
    """The truth written several ways a student might; each must be graded correct."""
    if spec.kind == "shape":
        assert isinstance(truth, tuple)
        forms = ["(" + ", ".join(map(str, truth)) + ")", "x".join(map(str, truth))]
        return forms + ([] if spec.batch else ["1x" + "x".join(map(str, truth))])
    if spec.kind == "choice":
        choices = list(spec.choices or ())
        index = choices.index(str(truth)) if isinstance(truth, str) else int(truth)  # type: ignore[arg-type]
        letter = chr(ord("a") + index)
        return [letter, f"({letter.upper()})", choices[index].upper()]
    value = Fraction(truth)  # type: ignore[arg-type]
    # Rounded forms keep more figures than the question asks (a family that tells its
    # mistakes apart by asking 7 figures gets 7 or more here).
    d = spec.min_sig_figs or 3
    f6, f5, f4 = max(6, d + 3), max(5, d + 2), max(4, d + 1)
    if spec.dimension == "ratio":
        frac = f"{value.numerator}/{value.denominator}"
        dec, pct = sig(value, f6, False), sig(value * 100, f6, False)
        # A bare number below 1 in a percent question is ambiguous (0.84 or 0.84 %?) and
        # refused as unreadable, so the bare form is written only from 1 % up.
        bare_pct = pct if value * 100 >= 1 else f"{pct} %"
        return {"%": [frac, f"{pct}%", bare_pct], "×": [frac, f"{dec}×", dec]}.get(
            spec.unit or "", [frac, dec, f"{pct}%"]
        )
    exact = exact_text(value)
    assert exact is not None, f"non-terminating truth {value}"
    if spec.dimension == "bytes":
        size = lookup_unit(spec.unit or "B").multiplier  # type: ignore[union-attr]
        other = _OTHER_UNIT[spec.unit or "B"]
        other_size = lookup_unit(other).multiplier  # type: ignore[union-attr]
        return [
            f"{exact} bytes",
            f"{sig(value / size, f5)} {spec.unit}",
            sig(value / size, f4),  # a bare number is read in the question's unit
            f"{sig(value / other_size, f6)} {other}",
        ]
    base = BASE_UNIT[spec.dimension or ""]
    if spec.exact:
        return [exact] + ([f"{exact} {base}"] if base else [])
    figures = spec.min_sig_figs
    return [
        f"{int(value):,}",
        f"{exact} {base}",
        sig(value, figures) + f" {base}",
        sig(value, figures + 2),
    ]


def parts_forms(spec: AnswerSpec, truth: Any) -> list[str | dict[str, str]]:
    """A multi-part truth in the natural forms: ``a: …; b: …``, one per line, by name, JSON."""
    names = [name for name, _ in spec.parts or ()]
    firsts = {name: correct_forms(spec.part_specs[name], truth[name])[0] for name in names}
    lasts = {name: correct_forms(spec.part_specs[name], truth[name])[-1] for name in names}
    json_values = ", ".join(f'"{name}": "{firsts[name]}"' for name in names)
    return [
        "; ".join(f"{chr(97 + i)}: {firsts[name]}" for i, name in enumerate(names)),
        "\n".join(lasts[name] for name in names),
        "; ".join(f"{name}: {lasts[name]}" for name in names),
        "{" + json_values + "}",
        dict(firsts),
    ]


def mistake_text(spec: AnswerSpec, value: Truth) -> str:
    """A mistake's value written exactly (in base units); a fraction as p/q."""
    if spec.kind == "shape":
        assert isinstance(value, tuple)
        return "(" + ", ".join(map(str, value)) + ")"
    if spec.kind == "choice":
        return str(value)
    v = Fraction(value)  # type: ignore[arg-type]
    if spec.dimension == "ratio":
        return f"{v.numerator}/{v.denominator}"
    text = exact_text(v) or sig(v, 15)
    base = BASE_UNIT[spec.dimension or ""]
    return f"{text} {base}" if base else text


def mistake_answer(q: Question, m: Mistake) -> str | dict[str, str]:
    """The answer a student making mistake ``m`` gives; other parts right."""
    if q.answer.kind != "parts":
        return mistake_text(q.answer, m.value)
    assert isinstance(m.value, dict) and isinstance(q.truth, dict)
    specs = q.answer.part_specs
    return {
        name: mistake_text(specs[name], m.value[name])
        if name in m.value
        else correct_forms(specs[name], q.truth[name])[0]
        for name in specs
    }
