"""Reading answers: every notation to its exact value, unit and significant figures; anything
unreadable to AnswerFormatError and nothing else."""

from __future__ import annotations

import time
from fractions import Fraction as Fr

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from grader.answers import (
    MAX_LENGTH,
    ParsedChoice,
    ParsedNumber,
    ParsedParts,
    ParsedShape,
    expected_form,
    parse_answer,
)
from grader.errors import AnswerFormatError, GraderError, QuestionError
from grader.types import AnswerSpec

FAST = settings(max_examples=200, deadline=None)

SPECS = {
    "params": AnswerSpec.number("params"),
    "count": AnswerSpec.number("count"),
    "B": AnswerSpec.number("bytes"),
    "KiB": AnswerSpec.number("bytes", "KiB"),
    "MB": AnswerSpec.number("bytes", "MB"),
    "flops": AnswerSpec.number("flops"),
    "macs": AnswerSpec.number("macs"),
    "GMACs": AnswerSpec.number("macs", "GMACs"),
    "ratio": AnswerSpec.ratio(),
    "percent": AnswerSpec.ratio(unit="%"),
    "channels": AnswerSpec.number("channels"),
}

# text, spec, value in base units, unit applied (canonical), significant figures (None: exact)
NOTATIONS = [
    # integers in full: exact
    ("73856", "params", 73856, "params", None),
    ("1,234,567", "params", 1234567, "params", None),
    ("1 234 567", "params", 1234567, "params", None),
    ("1\u2009234\u2009567", "params", 1234567, "params", None),
    ("1\u00a0234\u00a0567", "params", 1234567, "params", None),
    ("1\u202f234\u202f567", "params", 1234567, "params", None),
    ("1_234_567", "params", 1234567, "params", None),
    ("74000", "params", 74000, "params", 2),  # zeros of a long integer are not claimed
    ("740", "params", 740, "params", None),  # 3 digits: never needs rounding, so exact
    ("  73856  ", "params", 73856, "params", None),
    ("+64", "count", 64, None, None),
    ("-5", "count", -5, None, None),
    ("0", "count", 0, None, None),
    ("１２３", "count", 123, None, None),
    ("73,856 params", "params", 73856, "params", None),
    ("73856 parameters", "params", 73856, "params", None),
    ("64 channels", "channels", 64, "channels", None),
    # decimals
    ("0.5", "count", Fr(1, 2), None, 1),
    (".5", "count", Fr(1, 2), None, 1),
    ("73856.0", "params", 73856, "params", 6),
    ("0.00123", "count", Fr(123, 100000), None, 3),
    ("1,234.5", "params", Fr(12345, 10), "params", 5),
    # scientific notation
    ("7.39e4", "params", 73900, "params", 3),
    ("1.2e6", "params", 1200000, "params", 2),
    ("1.2E+06", "params", 1200000, "params", 2),
    ("1.20e6", "params", 1200000, "params", 3),
    ("5e-3", "count", Fr(5, 1000), None, 1),
    ("1.2×10^6", "params", 1200000, "params", 2),
    ("1.2*10^6", "params", 1200000, "params", 2),
    ("1.2x10^6", "params", 1200000, "params", 2),
    ("1.2 x 10^6", "params", 1200000, "params", 2),
    ("1.2 · 10^6", "params", 1200000, "params", 2),
    ("1.2⋅10^6", "params", 1200000, "params", 2),
    ("1.2*10**6", "params", 1200000, "params", 2),
    ("1.2×10⁶", "params", 1200000, "params", 2),
    ("1.5×10⁻³", "count", Fr(15, 10000), None, 2),
    ("10^6", "params", 10**6, "params", 1),
    ("10**6", "params", 10**6, "params", 1),
    ("10^(6)", "params", 10**6, "params", 1),
    ("10⁹", "flops", 10**9, "FLOPs", 1),
    # suffixes and words
    ("73.9k", "params", 73900, "params", 3),
    ("73.9K", "params", 73900, "params", 3),
    ("73.9 k", "params", 73900, "params", 3),
    ("74k", "params", 74000, "params", 2),
    ("740k", "params", 740000, "params", 2),  # least precise reading
    ("4.1 G", "flops", 4100000000, "FLOPs", 2),
    ("3.5M", "params", 3500000, "params", 2),
    ("2T", "flops", 2 * 10**12, "FLOPs", 1),
    ("1.2 million", "params", 1200000, "params", 2),
    ("1.2 Million params", "params", 1200000, "params", 2),
    ("3 thousand", "count", 3000, None, 1),
    ("1.5 billion", "flops", 1500000000, "FLOPs", 2),
    ("73.9k params", "params", 73900, "params", 3),
    ("3.5 M parameters", "params", 3500000, "params", 2),
    # operation units
    ("1.2 GMACs", "macs", 1200000000, "GMACs", 2),
    ("1.2 G MACs", "macs", 1200000000, "MACs", 2),
    ("300 MMACs", "macs", 300000000, "MMACs", 1),
    ("300.0 MMACs", "macs", 300000000, "MMACs", 4),
    ("1204224 MACs", "macs", 1204224, "MACs", None),
    ("2.41 MFLOPs", "flops", 2410000, "MFLOPs", 3),
    ("2.41 Mflops", "flops", 2410000, "MFLOPs", 3),
    ("4.1 GFLOPs", "flops", 4100000000, "GFLOPs", 2),
    ("4.1 GFLOPS", "flops", 4100000000, "GFLOPs", 2),
    ("1.8 GMACs", "flops", 1800000000, "GMACs", 2),  # read as MACs; grading objects
    ("1.2", "GMACs", 1200000000, "GMACs", 2),  # bare: the question's unit
    ("3", "GMACs", 3000000000, "GMACs", 1),
    # bytes, bits and prefixes
    ("802816", "B", 802816, "B", None),
    ("802816 B", "KiB", 802816, "B", None),
    ("802,816 bytes", "KiB", 802816, "B", None),
    ("784", "KiB", 802816, "KiB", 3),
    ("784 KiB", "KiB", 802816, "KiB", 3),
    ("784 kibibytes", "KiB", 802816, "KiB", 3),
    ("0.766 MiB", "KiB", Fr(766 * 2**20, 1000), "MiB", 3),
    ("784 KB", "KiB", 784000, "KB", 3),
    ("784 kB", "KiB", 784000, "KB", 3),
    ("1.5 GB", "MB", 1500000000, "GB", 2),
    ("1.5 GiB", "MB", Fr(3 * 2**30, 2), "GiB", 2),
    ("2 MB", "MB", 2000000, "MB", 1),
    ("6422528 bits", "B", 802816, "bit", None),
    ("6422528 b", "B", 802816, "bit", None),
    ("6.4 Mb", "B", 800000, "Mbit", 2),
    ("8 Kib", "B", 1024, "Kibit", 1),
    ("1.2k B", "B", 1200, "B", 2),
    # ratios
    ("0.111", "ratio", Fr(111, 1000), None, 3),
    ("1/9", "ratio", Fr(1, 9), None, None),
    ("8/9", "ratio", Fr(8, 9), None, None),
    ("1 / 9", "ratio", Fr(1, 9), None, None),
    ("1:9", "ratio", Fr(1, 9), None, None),
    ("11.1%", "ratio", Fr(111, 1000), "%", 3),
    ("11.1 %", "ratio", Fr(111, 1000), "%", 3),
    ("11.1", "percent", Fr(111, 1000), "%", 3),
    ("1/9", "percent", Fr(1, 9), None, None),
    ("8.9x", "ratio", Fr(89, 10), "×", 2),
    ("9×", "ratio", 9, "×", 1),  # a ratio is always rounded at its last digit
    ("5 MB", "params", 5000000, "MB", 1),  # wrong dimension is graded, not refused
    ("12%", "params", Fr(12, 100), "%", None),
]


def _parse_number(text: str, spec: AnswerSpec) -> ParsedNumber:
    parsed = parse_answer(text, spec)
    assert isinstance(parsed, ParsedNumber)
    return parsed


def test_notation_table_is_large_enough() -> None:
    assert len(NOTATIONS) >= 60
    assert len({t for t, *_ in NOTATIONS}) >= 60


@pytest.mark.parametrize(("text", "spec", "value", "unit", "sig_figs"), NOTATIONS)
def test_notation(
    text: str, spec: str, value: int | Fr, unit: str | None, sig_figs: int | None
) -> None:
    p = _parse_number(text, SPECS[spec])
    assert (p.value, p.unit, p.sig_figs) == (Fr(value), unit, sig_figs)
    assert isinstance(p.value, Fr)
    assert p.exact is (sig_figs is None)
    assert (p.resolution is None) is (sig_figs is None)


def test_resolution_is_one_unit_in_the_last_digit() -> None:
    cases = {
        ("73.9k", "params"): 100,
        ("7.39e4", "params"): 100,
        ("74k", "params"): 1000,
        ("784", "KiB"): 1024,
        ("0.766 MiB", "KiB"): Fr(2**20, 1000),
        ("11.1%", "ratio"): Fr(1, 1000),
        ("10^6", "params"): 10**6,
        ("1.2 GMACs", "macs"): 10**8,
    }
    for (text, spec), resolution in cases.items():
        assert _parse_number(text, SPECS[spec]).resolution == resolution, text


def test_bare_number_is_read_in_the_question_unit() -> None:
    p = _parse_number("784", SPECS["KiB"])
    assert (p.implied, p.number, p.multiplier, p.dimension) == (True, 784, 1024, "bytes")
    q = _parse_number("784 KiB", SPECS["KiB"])
    assert (q.implied, q.value) == (False, p.value)
    assert _parse_number("73856", SPECS["params"]).implied is True


def test_unit_dimension_is_recorded() -> None:
    assert _parse_number("5 MB", SPECS["params"]).dimension == "bytes"
    assert _parse_number("1.8 GMACs", SPECS["flops"]).dimension == "macs"
    assert _parse_number("12%", SPECS["params"]).dimension == "ratio"
    assert _parse_number("12", SPECS["params"]).dimension == "params"


GARBAGE = [
    ("", "empty"),
    ("   ", "empty"),
    ("abc", "does not start with a number"),
    ("1.2.3", "misplaced"),
    ("NaN", "NaN"),
    ("nan", "NaN"),
    ("inf", "NaN"),
    ("-inf", "NaN"),
    ("Infinity", "NaN"),
    ("∞", "NaN"),
    ("1e400", "exponent"),
    ("10^400", "exponent"),
    ("1e-400", "exponent"),
    ("1e999999999", "exponent"),
    ("1e000000000000000000000000000000400", "exponent"),
    ("9" * 150 + "e299", "out of range"),
    ("--5", "does not start with a number"),
    ("+-5", "does not start with a number"),
    ("5 apples", "unknown unit"),
    ("(1,2", "does not start with a number"),
    ("1,23,4", "misplaced"),
    ("12,34,567", "misplaced"),
    ("0,5", "misplaced"),
    ("1234 567", "misplaced"),
    ("1," * 120, "longer than"),
    ("1" * (MAX_LENGTH + 1), "longer than"),
    ("1 234 5", "misplaced"),
    ("e6", "does not start with a number"),
    ("1e", "unknown unit"),
    ("1.2 x 10", "unknown unit"),
    ("10^(6", "unbalanced"),
    ("5 m", "unknown unit"),  # milli or mega? refused
    ("1.2B params", "billions"),
    ("2k KB", "cannot be combined"),
    ("\x00\x01", "does not start with a number"),
    ("١٢٣", "does not start with a number"),  # Arabic-Indic digits
    ("𝟙𝟚𝟛 apples", "unknown unit"),
    ("1/9", "only accepted for a ratio"),
    ("0x1F", "unknown unit"),
    ("1_000,000", "misplaced"),
    ("\u200b5", "does not start with a number"),
    ("五", "does not start with a number"),
]


def test_garbage_table_is_large_enough() -> None:
    assert len(GARBAGE) >= 20


@pytest.mark.parametrize(("text", "problem"), GARBAGE)
def test_garbage_is_refused_with_the_expected_form(text: str, problem: str) -> None:
    spec = SPECS["params"]
    with pytest.raises(AnswerFormatError) as info:
        parse_answer(text, spec)
    assert problem in info.value.problem
    assert info.value.expected == expected_form(spec)
    assert str(info.value).endswith("expected " + expected_form(spec))
    assert isinstance(info.value, GraderError) and isinstance(info.value, ValueError)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("1/0", "zero denominator"),
        ("1/9/3", "two whole numbers"),
        ("0.5/2", "two whole numbers"),
        ("1:0", "zero"),
        ("1/", "two whole numbers"),
        ("/9", "does not start"),
    ],
)
def test_bad_fractions(text: str, problem: str) -> None:
    with pytest.raises(AnswerFormatError) as info:
        parse_answer(text, SPECS["ratio"])
    assert problem in info.value.problem


def test_non_text_is_refused() -> None:
    for value in (None, 5, 1.5, b"5", ["5"]):
        with pytest.raises(AnswerFormatError, match="not text"):
            parse_answer(value, SPECS["params"])


@pytest.mark.serial  # a wall-clock bound: run alone (conftest)
def test_huge_exponents_are_refused_fast() -> None:
    nasty = [
        "1e999999999",
        "1e" + "9" * 190,
        "10^" + "9" * 190,
        "9" * 199,
        "1," * 66 + "1",
        "1 " * 99,
        "(" * 199,
        "1x" * 99,
        "1" + "0" * 150 + "e-299",
    ]
    for text in nasty:
        start = time.perf_counter()
        for spec in SPECS.values():
            try:
                parse_answer(text, spec)
            except AnswerFormatError:
                pass
        assert time.perf_counter() - start < 0.2, text


# -- shapes -----------------------------------------------------------------------------------

SHAPES = [
    ("(64, 56, 56)", (64, 56, 56)),
    ("[64, 56, 56]", (64, 56, 56)),
    ("64x56x56", (64, 56, 56)),
    ("64×56×56", (64, 56, 56)),
    ("64 x 56 x 56", (64, 56, 56)),
    ("64 X 56 X 56", (64, 56, 56)),
    ("64*56*56", (64, 56, 56)),
    ("64, 56, 56", (64, 56, 56)),
    ("(64,56,56)", (64, 56, 56)),
    ("1×64×56×56", (1, 64, 56, 56)),  # as written: the batch rule belongs to grading
    ("torch.Size([1, 64, 56, 56])", (1, 64, 56, 56)),
    ("Size([64, 56, 56])", (64, 56, 56)),
    ("(64,)", (64,)),
    ("(64)", (64,)),
    ("( 64 , 56 , 56 , )", (64, 56, 56)),
]


@pytest.mark.parametrize(("text", "dims"), SHAPES)
def test_shape(text: str, dims: tuple[int, ...]) -> None:
    parsed = parse_answer(text, AnswerSpec.shape())
    assert isinstance(parsed, ParsedShape)
    assert parsed.dims == dims


@pytest.mark.parametrize(
    "text",
    ["", "(1,2", "[64, 56, 56)", "64 56 56", "(64, 56.5, 56)", "(64, -1)", "()", "(,)", "(a, b)",
     "(1,2,3,4,5,6,7,8,9)", "64x", "1,234x5", "(64, 56, 56))", "64x56x56 params"],
)  # fmt: skip
def test_bad_shape(text: str) -> None:
    with pytest.raises(AnswerFormatError) as info:
        parse_answer(text, AnswerSpec.shape())
    assert "a shape written (C, H, W)" in info.value.message


# -- choices ----------------------------------------------------------------------------------

CHOICE = AnswerSpec.choice("Depthwise conv", "Pointwise (1x1) conv", "Fully connected")


@pytest.mark.parametrize(
    ("text", "index"),
    [
        ("b", 1),
        ("B", 1),
        ("(b)", 1),
        ("b)", 1),
        ("b.", 1),
        (" c ", 2),
        ("pointwise (1x1) conv", 1),
        ("POINTWISE (1 x 1) CONV", 1),
        ("depth-wise conv", 0),
        ("fully connected.", 2),
        ("b) pointwise (1x1) conv", 1),
        ("(a) Depthwise conv", 0),
    ],
)
def test_choice(text: str, index: int) -> None:
    parsed = parse_answer(text, CHOICE)
    assert isinstance(parsed, ParsedChoice)
    assert parsed.index == index
    assert parsed.letter == "abc"[index]


@pytest.mark.parametrize(
    ("text", "problem"),
    [("d", "no choice (d)"), ("z)", "no choice (z)"), ("depthwise", "not one of the choices"),
     ("a) fully connected", "different choices"), ("", "empty"), ("ab", "not one of")],
)  # fmt: skip
def test_bad_choice(text: str, problem: str) -> None:
    with pytest.raises(AnswerFormatError) as info:
        parse_answer(text, CHOICE)
    assert problem in info.value.problem
    assert "a letter from a to c" in info.value.message


def test_choice_text_wins_over_a_letter() -> None:
    spec = AnswerSpec.choice("x", "a")  # a choice spelt like a letter
    parsed = parse_answer("a", spec)
    assert isinstance(parsed, ParsedChoice) and parsed.index == 1
    parsed = parse_answer("(a)", spec)
    assert isinstance(parsed, ParsedChoice) and parsed.index == 0


# -- multi-part -------------------------------------------------------------------------------

MULTI = AnswerSpec.multi({"params": SPECS["params"], "macs": SPECS["macs"]})


@pytest.mark.parametrize(
    "text",
    ["23.3k; 1.2M", "23.3k\n1.2M", "params: 23.3k; macs: 1.2M", "macs = 1.2M; params = 23.3k",
     "MACs: 1.2M; Params: 23.3k;", {"params": "23.3k", "macs": "1.2M"}],
)  # fmt: skip
def test_multi_part(text: object) -> None:
    parsed = parse_answer(text, MULTI)
    assert isinstance(parsed, ParsedParts)
    assert [name for name, _ in parsed.parts] == ["params", "macs"]
    params, macs = parsed["params"], parsed["macs"]
    assert isinstance(params, ParsedNumber) and isinstance(macs, ParsedNumber)
    assert (params.value, params.dimension, macs.value, macs.dimension) == (
        23300,
        "params",
        1200000,
        "macs",
    )


@pytest.mark.parametrize(
    ("text", "problem"),
    [("23.3k", "1 answers given for 2 parts"), ("1; 2; 3", "3 answers"),
     ("params: 1; 2", "label every part or none"), ("params: 1; params: 2", "given twice"),
     ("1; abc", "part 'macs': 'abc' does not start"), ({"params": "1"}, "part 'macs' is missing"),
     ({"params": "1", "macs": "2", "flops": "3"}, "no part named 'flops'"),
     ({"params": 1, "macs": "2"}, "part 'params': the answer is not text"), (None, "not text"),
     ("1;" * 300, "longer than")],
)  # fmt: skip
def test_bad_multi_part(text: object, problem: str) -> None:
    with pytest.raises(AnswerFormatError) as info:
        parse_answer(text, MULTI)
    assert problem in info.value.message


# -- specs ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "make",
    [
        lambda: AnswerSpec.number("furlongs"),
        lambda: AnswerSpec.number("params", "MiB"),
        lambda: AnswerSpec.number("bytes", "parsecs"),
        lambda: AnswerSpec.number("params", min_sig_figs=0),
        lambda: AnswerSpec.number("params", precision_credit=2),
        lambda: AnswerSpec("number", dimension="ratio", tolerance=0.01),
        lambda: AnswerSpec.ratio(min_sig_figs=0),
        lambda: AnswerSpec("number"),
        lambda: AnswerSpec("shape", dimension="params"),
        lambda: AnswerSpec("essay"),
        lambda: AnswerSpec.choice("only one"),
        lambda: AnswerSpec.choice("a b", "A-B"),
        lambda: AnswerSpec.choice("x", " "),
        lambda: AnswerSpec("choice"),
        lambda: AnswerSpec("number", dimension="count", choices=("a", "b")),
        lambda: AnswerSpec.multi({}),
        lambda: AnswerSpec.multi({"Bad Name": AnswerSpec.shape()}),
        lambda: AnswerSpec.multi({"a": AnswerSpec.multi({"b": AnswerSpec.shape()})}),
    ],
)
def test_inconsistent_spec_is_a_question_error(make) -> None:
    with pytest.raises(QuestionError):
        make()


def test_spec_defaults() -> None:
    assert AnswerSpec.number("bytes").unit == "B"
    assert AnswerSpec.number("bytes", "bytes").unit == "B"
    assert AnswerSpec.number("params").unit == "params"
    assert AnswerSpec.number("count").unit is None
    # One rule for every number: no spec carries a tolerance of its own.
    assert AnswerSpec.ratio().tolerance is None and AnswerSpec.ratio().min_sig_figs == 3
    assert AnswerSpec.percent(0.5) == AnswerSpec.ratio(unit="%")
    assert AnswerSpec.number("channels").exact and not AnswerSpec.number("params").exact
    with pytest.raises(QuestionError):
        AnswerSpec.number("flops", tolerance=0.05)  # no number carries a tolerance
    assert MULTI.part_specs["macs"] == SPECS["macs"]


# -- properties -------------------------------------------------------------------------------

SEPARATORS = [",", "_", " ", "\u2009", "\u00a0", "\u202f"]


def _grouped(n: int, sep: str) -> str:
    return f"{n:,}".replace(",", sep)


@FAST
@given(st.integers(min_value=-(10**30), max_value=10**30), st.sampled_from(SEPARATORS))
def test_grouped_integers_round_trip(n: int, sep: str) -> None:
    for spec in (SPECS["params"], SPECS["count"], SPECS["B"]):
        p = _parse_number(_grouped(n, sep), spec)
        digits = str(abs(n))
        # Trailing zeros of an integer longer than 3 digits are not claimed (count is exact).
        zeros = len(digits) - len(digits.rstrip("0")) if n else 0
        claimed = spec.exact or zeros == 0 or len(digits) <= 3
        assert (p.value, p.sig_figs) == (n, None if claimed else len(digits) - zeros)


@FAST
@given(
    st.integers(min_value=1, max_value=10**40),
    st.sampled_from(["e{}", "E+{}", "×10^{}", " x 10^{}", "*10**{}", " · 10^{}", "×10^({})"]),
)
def test_scientific_with_all_digits_round_trips(n: int, exp_form: str) -> None:
    digits = str(n)
    text = f"{digits[0]}.{digits[1:] or '0'}" + exp_form.format(len(digits) - 1)
    p = _parse_number(text, SPECS["flops"])
    assert p.value == n
    assert p.sig_figs == max(2, len(digits))
    assert p.resolution == Fr(10) ** (len(digits) - 1 - max(1, len(digits) - 1))


_SUPER = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")


@FAST
@given(st.integers(min_value=1, max_value=999), st.integers(min_value=-30, max_value=30))
def test_superscript_exponents(mantissa: int, exponent: int) -> None:
    text = f"{mantissa}×10{str(exponent).translate(_SUPER)}"
    assert _parse_number(text, SPECS["ratio"]).value == mantissa * Fr(10) ** exponent


@FAST
@given(
    st.decimals(
        allow_nan=False, allow_infinity=False, min_value=-(10**12), max_value=10**12, places=6
    )
)
def test_decimals_are_exact(d) -> None:
    text = f"{d:f}"
    p = _parse_number(text, SPECS["count"])
    assert p.value == Fr(d)
    # Any point makes the answer a rounded one, except for zero, which rounds nothing.
    assert p.exact is ("." not in text or d == 0)


def _only_format_errors(text: object, spec: AnswerSpec) -> None:
    try:
        parse_answer(text, spec)
    except AnswerFormatError as exc:
        # The reader's catch-all must never be what answered.
        assert "could not read the answer" not in exc.message
        forms = {expected_form(spec)} | {expected_form(s) for s in spec.part_specs.values()}
        assert exc.expected in forms


ALL_SPECS = [*SPECS.values(), AnswerSpec.shape(), AnswerSpec.shape(batch=True), CHOICE, MULTI]
NUMBERISH = "0123456789.,_ eE+-xX×*·^()[]{}/:%kKMGTBbiKMGparmsFLOPsMACs⁰¹²³⁴⁵⁶⁷⁸⁹⁻\u2009\u00a0;\n"


@FAST
@given(st.text(max_size=250))
def test_any_text_only_raises_format_errors(text: str) -> None:
    for spec in ALL_SPECS:
        _only_format_errors(text, spec)


@FAST
@given(st.text(alphabet=NUMBERISH, max_size=40))
def test_numberish_text_only_raises_format_errors(text: str) -> None:
    for spec in ALL_SPECS:
        _only_format_errors(text, spec)


@FAST
@given(
    st.lists(
        st.sampled_from(["1", "23", "456", ",", "_", " ", ".", "e", "-", "+", "^", "10", "×",
                         "k", "M", "KiB", "%", "/", "(", ")", "x", "**", "⁶", "nan", "B", "million"]),
        max_size=12,
    )
)  # fmt: skip
def test_token_soup_only_raises_format_errors(tokens: list[str]) -> None:
    text = "".join(tokens)
    for spec in ALL_SPECS:
        _only_format_errors(text, spec)


@FAST
@given(
    st.dictionaries(st.text(max_size=8), st.one_of(st.text(max_size=20), st.integers()), max_size=4)
)
def test_any_mapping_only_raises_format_errors(mapping: dict[str, object]) -> None:
    _only_format_errors(mapping, MULTI)
