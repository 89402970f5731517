"""Grading: every status with its exact score, the precision rule, units, tolerances, shapes,
choices, multi-part answers, and the mistakes an answer is diagnosed with."""

from __future__ import annotations

import json
from decimal import Decimal
from fractions import Fraction as Fr

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from grader import grade
from grader.display import format_expected, format_number
from grader.errors import QuestionError, UnknownMistakeError
from grader.grading import check_truth, indistinguishable
from grader.mistakes import (
    CATALOGUE,
    COUNTED_BATCH,
    FORGOT_BIAS,
    FORGOT_PADDING,
    GENERIC_CODES,
    IGNORED_GROUPS,
    define,
    mistake,
)
from grader.types import AnswerSpec, Diagnosis, Grade, Mistake

FAST = settings(max_examples=200, deadline=None)

PARAMS = AnswerSpec.number("params")
KIB = AnswerSpec.number("bytes", "KiB")
FLOPS = AnswerSpec.number("flops")
MACS = AnswerSpec.number("macs")
RATIO = AnswerSpec.ratio()
COUNT = AnswerSpec.number("count")

# A 3x3 conv, 64 -> 128 channels, with bias: 73,728 weights + 128 biases.
CONV_PARAMS = 73856
CONV_MISTAKES = [FORGOT_BIAS.at(73728), IGNORED_GROUPS.at(73856 * 4)]


def _check(g: Grade, status: str, score: float, codes: list[str]) -> None:
    assert (g.status, g.score, g.codes) == (status, score, codes), g.feedback
    assert g.feedback.strip().endswith((".", ")")), g.feedback


# -- the precision rule -----------------------------------------------------------------------

PRECISION = [
    ("73856", "correct", 1.0, []),
    ("73,856", "correct", 1.0, []),
    ("73 856 params", "correct", 1.0, []),
    ("73.9k", "correct", 1.0, []),  # 3 significant figures, right to the last digit
    ("7.39e4", "correct", 1.0, []),
    ("7.39×10^4", "correct", 1.0, []),
    ("73.86k", "correct", 1.0, []),
    ("73.856k", "correct", 1.0, []),
    ("0.0739 M", "correct", 1.0, []),
    ("73856.0", "correct", 1.0, []),
    ("73.85k", "correct", 1.0, []),  # 4 figures, within half a unit of the 3rd: correct
    ("73.86k", "correct", 1.0, []),
    ("73900", "correct", 1.0, []),  # trailing zeros not claimed: 3 figures, within the band
    ("73850", "correct", 1.0, []),
    ("74k", "partial", 0.5, ["insufficient_precision"]),  # right to 2 figures: too few
    ("7.4e4", "partial", 0.5, ["insufficient_precision"]),
    ("7e4", "partial", 0.5, ["insufficient_precision"]),
    ("0.07 M", "partial", 0.5, ["insufficient_precision"]),
    ("73.8k", "incorrect", 0.0, ["truncated"]),  # truncated, not rounded
    ("74.0k", "incorrect", 0.0, []),  # 3 figures, wrong in the third
    ("74000", "partial", 0.5, ["insufficient_precision"]),  # zeros not claimed: 2 figures
    ("73800", "incorrect", 0.0, ["truncated"]),
    ("73857", "correct", 1.0, []),  # within the band, however it is written (one rule)
    ("73855", "correct", 1.0, []),
    ("73906", "correct", 1.0, []),  # the band's edge, half a unit of the 3rd figure, included
    ("73907", "incorrect", 0.0, []),
    ("73728", "incorrect", 0.0, ["forgot_bias"]),
    ("73.7k", "incorrect", 0.0, ["forgot_bias"]),  # a mistake matches to the digits given
    ("295424", "incorrect", 0.0, ["ignored_groups"]),
    ("295k", "incorrect", 0.0, ["ignored_groups"]),
    ("73.856", "incorrect", 0.0, ["unit_scale"]),
    ("73856000", "incorrect", 0.0, ["unit_scale"]),
    ("-73856", "incorrect", 0.0, []),
    ("5 MB", "incorrect", 0.0, ["wrong_dimension"]),
    ("73856 MACs", "incorrect", 0.0, ["wrong_dimension"]),
    ("12%", "incorrect", 0.0, ["wrong_dimension"]),
    ("abc", "invalid", 0.0, []),
    ("", "invalid", 0.0, []),
    ("NaN", "invalid", 0.0, []),
]


@pytest.mark.parametrize(("answer", "status", "score", "codes"), PRECISION)
def test_precision_rule(answer: str, status: str, score: float, codes: list[str]) -> None:
    _check(grade(PARAMS, CONV_PARAMS, answer, CONV_MISTAKES), status, score, codes)


def test_exact_equality_is_correct_however_few_digits() -> None:
    _check(grade(PARAMS, 74000, "74k"), "correct", 1.0, [])
    _check(grade(PARAMS, 10**6, "1e6"), "correct", 1.0, [])
    _check(grade(PARAMS, 10**6, "10^6"), "correct", 1.0, [])
    _check(grade(KIB, 2**20, "1 MiB"), "correct", 1.0, [])


def test_min_sig_figs_and_precision_credit_come_from_the_spec() -> None:
    loose = AnswerSpec.number("params", min_sig_figs=2, precision_credit=0.25)
    _check(grade(loose, CONV_PARAMS, "74k"), "correct", 1.0, [])
    _check(grade(loose, CONV_PARAMS, "7e4"), "partial", 0.25, ["insufficient_precision"])
    strict = AnswerSpec.number("params", min_sig_figs=5)
    _check(grade(strict, CONV_PARAMS, "73.86k"), "partial", 0.5, ["insufficient_precision"])
    _check(grade(strict, CONV_PARAMS, "73.856k"), "correct", 1.0, [])


def test_partial_feedback_says_how_many_figures() -> None:
    g = grade(PARAMS, CONV_PARAMS, "74k")
    assert "2 significant figures" in g.feedback and "at least 3" in g.feedback
    assert g.diagnosis[0].message in g.feedback


def test_half_a_unit_in_the_last_digit_is_inclusive() -> None:
    _check(grade(PARAMS, 73850, "73.9k"), "correct", 1.0, [])  # exactly half-way up
    _check(grade(PARAMS, 73950, "73.9k"), "correct", 1.0, [])  # exactly half-way down
    _check(grade(PARAMS, 73849, "73.9k"), "incorrect", 0.0, [])
    _check(grade(PARAMS, 73951, "73.9k"), "incorrect", 0.0, ["truncated"])


# -- units ------------------------------------------------------------------------------------

# 64 x 56 x 56 float32 activations: 802,816 bytes = 784 KiB = 802.816 KB.
ACT_BYTES = 802816

UNITS = [
    ("784", "correct", 1.0, []),  # bare: read in the question's unit
    ("784 KiB", "correct", 1.0, []),
    ("784 kibibytes", "correct", 1.0, []),
    ("0.766 MiB", "correct", 1.0, []),  # converted: 0.765625 MiB to 3 figures
    ("0.7656 MiB", "correct", 1.0, []),
    ("802816 B", "correct", 1.0, []),
    ("802,816 bytes", "correct", 1.0, []),
    ("803 KB", "correct", 1.0, []),  # KB is a unit too: 802.816 KB to 3 figures
    ("802.816 KB", "correct", 1.0, []),
    ("6422528 bits", "correct", 1.0, []),
    ("6.42 Mb", "correct", 1.0, []),
    ("0.77 MiB", "partial", 0.5, ["insufficient_precision"]),
    ("784 KB", "incorrect", 0.0, ["kib_vs_kb"]),  # KiB's number with KB's unit
    ("802.8 KiB", "incorrect", 0.0, ["kib_vs_kb"]),  # KB's number with KiB's unit
    ("803", "incorrect", 0.0, ["kib_vs_kb"]),
    ("0.803 MiB", "incorrect", 0.0, ["kib_vs_kb"]),
    ("784 Kib", "incorrect", 0.0, ["bits_vs_bytes"]),  # kibibits
    ("784 kb", "incorrect", 0.0, ["bits_vs_bytes", "kib_vs_kb"]),  # kilobits: both slips
    ("6272 KiB", "incorrect", 0.0, ["bits_vs_bytes"]),
    ("98 KiB", "incorrect", 0.0, ["bits_vs_bytes"]),
    ("802816", "incorrect", 0.0, ["unit_scale"]),  # bytes, read as KiB
    ("0.784", "incorrect", 0.0, ["unit_scale"]),
    ("784 MiB", "incorrect", 0.0, ["unit_scale"]),
    ("784 params", "incorrect", 0.0, ["wrong_dimension"]),
    ("784 KiB params", "invalid", 0.0, []),
]


@pytest.mark.parametrize(("answer", "status", "score", "codes"), UNITS)
def test_units(answer: str, status: str, score: float, codes: list[str]) -> None:
    _check(grade(KIB, ACT_BYTES, answer), status, score, codes)


def test_right_number_under_the_wrong_unit_names_each_unit_slip() -> None:
    mib = AnswerSpec.number("bytes", "MiB")
    truth = 3 * 2**20
    assert grade(mib, truth, "3.00 MB").codes == ["kib_vs_kb"]
    assert grade(mib, truth, "3.00 Mib").codes == ["bits_vs_bytes"]
    assert grade(mib, truth, "3.00 Mb").codes == ["bits_vs_bytes", "kib_vs_kb"]
    assert grade(mib, truth, "3.00 KiB").codes == ["unit_scale"]
    assert grade(mib, truth, "3.00 GB").codes == ["kib_vs_kb"]  # wrong twice: named once


def test_bare_number_in_base_units_gets_a_specific_message() -> None:
    g = grade(KIB, ACT_BYTES, "802816")
    assert "read in KiB" in g.feedback and "in B" in g.feedback


def test_wrong_dimension_names_both_quantities() -> None:
    g = grade(PARAMS, CONV_PARAMS, "5 MB")
    assert g.diagnosis == (
        Diagnosis(
            "wrong_dimension",
            "The question asks for a number of parameters, but the answer is in MB, a unit of bytes.",
        ),
    )


# -- MACs and FLOPs ---------------------------------------------------------------------------

# 3x3 conv, 64 -> 64, 56x56 output: 115,605,504 MACs = 231,211,008 FLOPs.
CONV_MACS = 115605504

OPS = [
    (FLOPS, 2 * CONV_MACS, "231211008", "correct", 1.0, []),
    (FLOPS, 2 * CONV_MACS, "231M", "correct", 1.0, []),
    (FLOPS, 2 * CONV_MACS, "0.231 GFLOPs", "correct", 1.0, []),
    (FLOPS, 2 * CONV_MACS, "231 MFLOPs", "correct", 1.0, []),
    (FLOPS, 2 * CONV_MACS, "2.31e8 FLOPs", "correct", 1.0, []),
    (FLOPS, 2 * CONV_MACS, "116M", "incorrect", 0.0, ["macs_vs_flops"]),  # MACs as FLOPs
    (
        FLOPS,
        2 * CONV_MACS,
        "116 MMACs",
        "incorrect",
        0.0,
        ["macs_vs_flops"],
    ),  # right count, MAC unit
    (
        FLOPS,
        2 * CONV_MACS,
        "231 MMACs",
        "incorrect",
        0.0,
        ["wrong_dimension"],
    ),  # FLOPs number, MAC unit
    (FLOPS, 2 * CONV_MACS, "231 MB", "incorrect", 0.0, ["wrong_dimension"]),
    (FLOPS, 2 * CONV_MACS, "231k", "incorrect", 0.0, ["unit_scale"]),
    (MACS, CONV_MACS, "115605504", "correct", 1.0, []),
    (MACS, CONV_MACS, "116M MACs", "correct", 1.0, []),
    (MACS, CONV_MACS, "0.116 GMACs", "correct", 1.0, []),
    (MACS, CONV_MACS, "231M", "incorrect", 0.0, ["macs_vs_flops"]),
    (MACS, CONV_MACS, "231 MFLOPs", "incorrect", 0.0, ["macs_vs_flops"]),
    (MACS, CONV_MACS, "116 MFLOPs", "incorrect", 0.0, ["wrong_dimension"]),
    (MACS, CONV_MACS, "0.12 GMACs", "partial", 0.5, ["insufficient_precision"]),
]


@pytest.mark.parametrize(("spec", "truth", "answer", "status", "score", "codes"), OPS)
def test_macs_and_flops(spec, truth, answer, status, score, codes) -> None:
    _check(grade(spec, truth, answer), status, score, codes)


def test_macs_unit_on_flops_question_explains_the_conversion() -> None:
    g = grade(FLOPS, 2 * CONV_MACS, "116 MMACs")
    assert "one MAC is 2 FLOPs" in g.feedback and "MMACs" in g.feedback


def test_question_asked_in_gmacs() -> None:
    spec = AnswerSpec.number("macs", "GMACs")
    _check(grade(spec, 1_823_000_000, "1.82"), "correct", 1.0, [])
    _check(grade(spec, 1_823_000_000, "1823 MMACs"), "correct", 1.0, [])
    _check(grade(spec, 1_823_000_000, "1.8"), "partial", 0.5, ["insufficient_precision"])
    _check(grade(spec, 1_823_000_000, "1823000000"), "incorrect", 0.0, ["unit_scale"])
    assert grade(spec, 1_823_000_000, "1.82").expected_display == "1.823 GMACs (1,823,000,000 MACs)"


# -- ratios -----------------------------------------------------------------------------------

NINTH = Fr(1, 9)

RATIOS = [
    ("1/9", "correct", 1.0, []),
    ("0.111", "correct", 1.0, []),
    ("0.1111", "correct", 1.0, []),
    ("0.11", "partial", 0.5, ["insufficient_precision"]),  # right to 2 figures: too few
    ("11.1%", "correct", 1.0, []),
    ("11.11 %", "correct", 1.0, []),
    ("1:9", "correct", 1.0, []),
    ("1.11e-1", "correct", 1.0, []),
    ("0.1", "partial", 0.5, ["insufficient_precision"]),  # right to its digit only
    ("0.12", "incorrect", 0.0, []),
    ("0.109", "incorrect", 0.0, []),
    ("9", "incorrect", 0.0, ["inverted_ratio"]),
    ("9x", "incorrect", 0.0, ["inverted_ratio"]),
    ("11.1", "incorrect", 0.0, ["percent_vs_fraction"]),
    ("0.111%", "incorrect", 0.0, ["percent_vs_fraction"]),
    ("8/9", "incorrect", 0.0, ["complement"]),
    ("1/0", "invalid", 0.0, []),
    ("0.111 MB", "incorrect", 0.0, ["wrong_dimension"]),
]


@pytest.mark.parametrize(("answer", "status", "score", "codes"), RATIOS)
def test_ratios(answer: str, status: str, score: float, codes: list[str]) -> None:
    complement = define("complement", "This is 1 minus the ratio asked for.")
    _check(grade(RATIO, NINTH, answer, [complement.at(1 - NINTH)]), status, score, codes)


def test_ratios_follow_the_one_significant_figure_rule() -> None:
    # A tolerance passed by a caller written before the one rule changes nothing.
    assert AnswerSpec.ratio(tolerance=0.1) == AnswerSpec.ratio() == RATIO
    assert AnswerSpec.percent(0.5) == AnswerSpec.percent() == AnswerSpec.ratio(unit="%")
    _check(grade(RATIO, NINTH, "0.1111"), "correct", 1.0, [])
    _check(grade(RATIO, NINTH, "0.1116"), "correct", 1.0, [])  # 1/9 + 0.0005 is the edge
    _check(grade(RATIO, NINTH, "0.11162"), "incorrect", 0.0, [])
    four = AnswerSpec.ratio(min_sig_figs=4)
    _check(grade(four, NINTH, "0.1111"), "correct", 1.0, [])
    _check(grade(four, NINTH, "0.111"), "partial", 0.5, ["insufficient_precision"])


def test_ratio_asked_in_percent_reads_bare_numbers_as_percent() -> None:
    spec = AnswerSpec.ratio(unit="%")
    _check(grade(spec, NINTH, "11.1"), "correct", 1.0, [])
    _check(grade(spec, NINTH, "11.1%"), "correct", 1.0, [])
    _check(grade(spec, NINTH, "1/9"), "correct", 1.0, [])
    # A bare number is read in the question's unit, here percent; one below 1 could be a
    # fraction or a percentage, and is refused rather than graded as either.
    g = grade(spec, NINTH, "0.111")
    _check(g, "invalid", 0.0, [])
    assert "write it as a percentage" in g.feedback
    _check(grade(spec, NINTH, "0.111%"), "incorrect", 0.0, ["percent_vs_fraction"])
    assert format_expected(spec, NINTH) == "11.11% (1/9)"


def test_float_truth_is_taken_at_its_shortest_repr() -> None:
    assert check_truth(RATIO, 0.25) == Fr(1, 4)
    assert check_truth(RATIO, 0.1) == Fr(1, 10)
    assert check_truth(PARAMS, Decimal("1.5")) == Fr(3, 2)
    _check(grade(RATIO, 0.125, "1/8"), "correct", 1.0, [])


# -- shapes -----------------------------------------------------------------------------------

SHAPE = AnswerSpec.shape()
OUT = (64, 56, 56)
SHAPE_MISTAKES = [FORGOT_PADDING.at((64, 54, 54)), COUNTED_BATCH.at((512, 56, 56))]

SHAPES = [
    ("(64, 56, 56)", "correct", 1.0, []),
    ("64x56x56", "correct", 1.0, []),
    ("[64, 56, 56]", "correct", 1.0, []),
    ("1×64×56×56", "correct", 1.0, []),  # leading batch of one: accepted, with a note
    ("torch.Size([1, 64, 56, 56])", "correct", 1.0, []),
    ("(64, 54, 54)", "incorrect", 0.0, ["forgot_padding"]),
    ("1x64x54x54", "incorrect", 0.0, ["forgot_padding"]),
    ("(512, 56, 56)", "incorrect", 0.0, ["counted_batch"]),
    ("8x64x56x56", "incorrect", 0.0, ["counted_batch"]),
    ("(56, 56, 64)", "incorrect", 0.0, ["channels_last"]),
    ("(64, 57, 57)", "incorrect", 0.0, ["off_by_one"]),
    ("(64, 28, 28)", "incorrect", 0.0, []),
    ("(56, 56)", "invalid", 0.0, []),  # a dimension left out: asked for all three
    ("96", "invalid", 0.0, []),
    ("(64, 56", "invalid", 0.0, []),
]


@pytest.mark.parametrize(("answer", "status", "score", "codes"), SHAPES)
def test_shapes(answer: str, status: str, score: float, codes: list[str]) -> None:
    _check(grade(SHAPE, OUT, answer, SHAPE_MISTAKES), status, score, codes)


def test_leading_batch_of_one_is_noted() -> None:
    assert "batch of one" in grade(SHAPE, OUT, "1x64x56x56").feedback
    assert "batch" not in grade(SHAPE, OUT, "64x56x56").feedback


def test_shape_with_batch() -> None:
    spec = AnswerSpec.shape(batch=True)
    _check(grade(spec, (1, 64, 56, 56), "(1, 64, 56, 56)"), "correct", 1.0, [])
    _check(grade(spec, (1, 64, 56, 56), "(64, 56, 56)"), "incorrect", 0.0, ["batch_dimension"])
    _check(grade(spec, (8, 64, 56, 56), "(8, 56, 56, 64)"), "incorrect", 0.0, ["channels_last"])
    _check(grade(spec, (8, 64, 56, 56), "(1, 8, 64, 56, 56)"), "invalid", 0.0, [])


def test_shape_of_the_wrong_rank_asks_for_every_dimension() -> None:
    g = grade(SHAPE, OUT, "96")
    assert g.status == "invalid" and "give all three dimensions, (C, H, W)" in g.feedback
    g = grade(AnswerSpec.shape(batch=True), (8, 64, 28, 28), "64x28")
    assert g.status == "invalid" and "give all four dimensions, (N, C, H, W)" in g.feedback


# -- choices ----------------------------------------------------------------------------------

CHOICE = AnswerSpec.choice("depthwise conv", "pointwise conv", "fully connected")
DW_PW = define("depthwise_vs_pointwise", "Depthwise mixes space; pointwise mixes channels.")


@pytest.mark.parametrize(
    ("answer", "status", "codes"),
    [("b", "correct", []), ("(B)", "correct", []), ("Pointwise Conv", "correct", []),
     ("a", "incorrect", ["depthwise_vs_pointwise"]), ("depthwise conv", "incorrect", ["depthwise_vs_pointwise"]),
     ("c", "incorrect", []), ("e", "invalid", []), ("conv", "invalid", [])],
)  # fmt: skip
def test_choices(answer: str, status: str, codes: list[str]) -> None:
    g = grade(CHOICE, "pointwise conv", answer, [DW_PW.at("depthwise conv")])
    _check(g, status, 1.0 if status == "correct" else 0.0, codes)
    assert g.expected_display == "(b) pointwise conv"
    assert grade(CHOICE, 1, answer, [DW_PW.at(0)]).to_dict() == {**g.to_dict(), "expected": 1}


# -- multi-part -------------------------------------------------------------------------------

MULTI = AnswerSpec.multi({"params": PARAMS, "macs": MACS, "shape": SHAPE})
MULTI_TRUTH = {"params": CONV_PARAMS, "macs": CONV_MACS, "shape": OUT}
MULTI_MISTAKES = [
    FORGOT_BIAS.at({"params": 73728}),
    FORGOT_PADDING.at({"shape": (64, 54, 54), "macs": 64 * 64 * 9 * 54 * 54}),
]

MULTIS = [
    ("73856; 116M; 64x56x56", "correct", 1.0, []),
    ("shape: (64, 56, 56); macs: 115.6M; params: 73.9k", "correct", 1.0, []),
    ("73728; 116M; 64x56x56", "partial", 2 / 3, ["forgot_bias"]),
    ("74k; 116M; 64x56x56", "partial", (0.5 + 1 + 1) / 3, ["insufficient_precision"]),
    (
        "74k; 231M; 64x54x54",
        "partial",
        0.5 / 3,
        ["insufficient_precision", "macs_vs_flops", "forgot_padding"],
    ),
    ("73856; 107.5M; 64x54x54", "partial", 1 / 3, ["forgot_padding", "forgot_padding"]),
    ("1; 2; 3x3x3", "incorrect", 0.0, []),
    ("1; 2", "invalid", 0.0, []),
    ("73856; 116M; 64x56", "invalid", 0.0, []),
    ("73856; 116M; 64x56x57", "partial", 2 / 3, ["off_by_one"]),
    ("1; 116M; 3x4x5", "partial", 1 / 3, []),
    ("a: 73856\nb: 116M\nc: 64x56x56", "correct", 1.0, []),
    ('{"params": 73856, "macs": "116M", "shape": "64x56x56"}', "correct", 1.0, []),
    ("(a) 73856; (b) 116M; (c) 64x56x56", "correct", 1.0, []),
]


@pytest.mark.parametrize(("answer", "status", "score", "codes"), MULTIS)
def test_multi_part(answer: str, status: str, score: float, codes: list[str]) -> None:
    g = grade(MULTI, MULTI_TRUTH, answer, MULTI_MISTAKES)
    assert (g.status, g.codes) == (status, codes), g.feedback
    assert g.score == pytest.approx(score)


def test_multi_part_details() -> None:
    g = grade(
        MULTI, MULTI_TRUTH, {"params": "73728", "macs": "116M", "shape": "64x54x54"}, MULTI_MISTAKES
    )
    assert [d.part for d in g.diagnosis] == ["params", "shape"]
    assert g.part("macs").status == "correct"
    assert g.part("params").codes == ["forgot_bias"]
    assert g.feedback.startswith("1 of 3 parts correct.")
    assert (
        g.expected_display == "params: 73,856 params; macs: 115,605,504 MACs; shape: (64, 56, 56)"
    )
    d = json.loads(json.dumps(g.to_dict()))
    assert d["parts"]["shape"]["expected"] == [64, 56, 56]
    assert d["diagnosis"][0] == {
        "code": "forgot_bias",
        "message": FORGOT_BIAS.message,
        "part": "params",
    }


def test_multi_part_invalid_names_the_part() -> None:
    g = grade(MULTI, MULTI_TRUTH, "73856; lots; 64x56x56")
    assert g.status == "invalid" and g.score == 0.0 and g.parts is None
    assert "part 'macs'" in g.feedback and "a number of MACs" in g.feedback


# -- invalid answers --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "truth", "answer", "form"),
    [(PARAMS, 1, "lots", "a number of parameters: digits"), (KIB, 1, "5 apples", "a bare number is read in KiB"),
     (RATIO, NINTH, "one ninth", "a ratio: a fraction (p/q), a decimal"), (SHAPE, OUT, "64 by 56", "a shape written (C, H, W)"),
     (CHOICE, 0, "f", "a letter from a to c"), (COUNT, 3, "1e999999999", "a whole number")],
)  # fmt: skip
def test_invalid_names_the_expected_form(spec, truth, answer, form) -> None:
    g = grade(spec, truth, answer)
    _check(g, "invalid", 0.0, [])
    assert g.feedback.startswith("Could not read the answer:")
    assert form in g.feedback


# -- the catalogue ----------------------------------------------------------------------------

STANDARD_CODES = ["forgot_bias", "ignored_groups", "macs_vs_flops", "kib_vs_kb", "bits_vs_bytes",
                  "forgot_padding", "ceil_vs_floor", "counted_batch", "counted_bn_buffers",
                  "wrong_dtype_size", "off_by_one", "insufficient_precision", "wrong_dimension"]  # fmt: skip


def test_catalogue_has_the_standard_codes() -> None:
    assert set(STANDARD_CODES) <= set(CATALOGUE)
    assert GENERIC_CODES <= set(CATALOGUE)
    for code, kind in CATALOGUE.items():
        assert kind.code == code
        assert kind.message[0].isupper() and kind.message.endswith(".")


def test_mistake_helper() -> None:
    assert mistake("ceil_vs_floor", 29) == Mistake(
        "ceil_vs_floor", CATALOGUE["ceil_vs_floor"].message, 29
    )
    assert mistake("off_by_one", 3, "Count the layers again.").message == "Count the layers again."
    with pytest.raises(UnknownMistakeError) as info:
        mistake("forgot_everything", 1)
    assert isinstance(info.value, LookupError) and "forgot_bias" in str(info.value)


@pytest.mark.parametrize(
    ("code", "message"), [("Bad Code", "x."), ("forgot_bias", "x."), ("ok_code", "  "), ("", "x.")]
)
def test_define_refuses_bad_codes(code: str, message: str) -> None:
    with pytest.raises(QuestionError):
        define(code, message)


def test_every_diagnosis_that_explains_an_answer_is_named() -> None:
    # 73,856,000 is a unit_scale slip, unless a family names the same value more precisely.
    family = define("per_batch_of_1000", "This counts a batch of 1000.")
    assert grade(PARAMS, CONV_PARAMS, "73856000").codes == ["unit_scale"]
    assert grade(PARAMS, CONV_PARAMS, "73856000", [family.at(CONV_PARAMS * 1000)]).codes == [
        "per_batch_of_1000"
    ]
    # Two family mistakes giving the same value are both named.
    other = define("counted_every_weight_twice", "This counts each weight twice.")
    g = grade(PARAMS, CONV_PARAMS, "147712", [FORGOT_BIAS.at(147712), other.at(147712)])
    assert g.codes == ["forgot_bias", "counted_every_weight_twice"]


def test_every_matching_mistake_is_named() -> None:
    twins = [mistake("forgot_bias", 73728), mistake("counted_bn_buffers", 73728)]
    g = grade(PARAMS, CONV_PARAMS, "73728", twins)
    assert g.codes == ["forgot_bias", "counted_bn_buffers"]
    assert all(d.message in g.feedback for d in g.diagnosis)


def test_mistakes_are_matched_at_the_answer_precision() -> None:
    m = [mistake("wrong_dtype_size", 2 * ACT_BYTES)]
    _check(grade(KIB, ACT_BYTES, "1568", m), "incorrect", 0.0, ["wrong_dtype_size"])
    _check(grade(KIB, ACT_BYTES, "1.53 MiB", m), "incorrect", 0.0, ["wrong_dtype_size"])
    _check(grade(KIB, ACT_BYTES, "1.5 MiB", m), "incorrect", 0.0, ["wrong_dtype_size"])
    _check(grade(KIB, ACT_BYTES, "1.6 MiB", m), "incorrect", 0.0, [])  # 1.53 rounds to 1.5
    _check(grade(KIB, ACT_BYTES, "1.55 MiB", m), "incorrect", 0.0, [])


# -- display ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "truth", "shown"),
    [(PARAMS, 23296, "23,296 params"), (KIB, ACT_BYTES, "784 KiB (802,816 B)"),
     (KIB, 802817, "784.001 KiB (802,817 B)"), (AnswerSpec.number("bytes", "MiB"), ACT_BYTES, "0.765625 MiB (802,816 B)"),
     (AnswerSpec.number("bytes"), ACT_BYTES, "802,816 B"), (FLOPS, 2 * CONV_MACS, "231,211,008 FLOPs"),
     (COUNT, 64, "64"), (AnswerSpec.number("channels"), 64, "64 channels"), (RATIO, NINTH, "0.1111 (1/9)"),
     (RATIO, Fr(8, 9), "0.8889 (8/9)"), (RATIO, Fr(1, 2), "0.5"), (RATIO, Fr(449, 50), "8.98"),
     (AnswerSpec.ratio(unit="×"), Fr(449, 50), "8.98×"), (SHAPE, OUT, "(64, 56, 56)"), (SHAPE, (10,), "(10,)"),
     (CHOICE, 2, "(c) fully connected"), (COUNT, Fr(3, 2), "1.5")],
)  # fmt: skip
def test_expected_display(spec, truth, shown: str) -> None:
    assert grade(spec, truth, "?").expected_display == shown


def test_format_number() -> None:
    assert format_number(Fr(1234567)) == "1,234,567"
    assert format_number(Fr(-1234567)) == "-1,234,567"
    assert format_number(Fr(2469135, 2)) == "1,234,567.5"
    assert format_number(Fr(1, 3)) == "0.333333"
    assert format_number(Fr(1, 8000)) == "0.000125"


# -- grade objects ----------------------------------------------------------------------------


def test_to_dict_is_json_ready() -> None:
    g = grade(RATIO, NINTH, "9")
    d = json.loads(json.dumps(g.to_dict()))
    assert d == {
        "status": "incorrect",
        "score": 0.0,
        "expected": pytest.approx(1 / 9),
        "expected_display": "0.1111 (1/9)",
        "feedback": "Incorrect. " + CATALOGUE["inverted_ratio"].message,
        "diagnosis": [{"code": "inverted_ratio", "message": CATALOGUE["inverted_ratio"].message}],
        "hints_used": 0,
        "max_score": 1.0,
        "cards": [],
    }


def test_feedback_does_not_give_the_answer_away() -> None:
    for answer in ("abc", "73.8k", "74k", "73728", "5 MB", "1"):
        g = grade(PARAMS, CONV_PARAMS, answer, CONV_MISTAKES)
        assert "73,856" not in g.feedback and "73856" not in g.feedback, answer


@pytest.mark.parametrize(
    ("spec", "truth"),
    [(PARAMS, "73856"), (PARAMS, True), (PARAMS, float("nan")), (PARAMS, Decimal("Infinity")), (PARAMS, None),
     (SHAPE, (64, -1)), (SHAPE, 64), (SHAPE, ()), (SHAPE, (64.0, 56)), (CHOICE, 3), (CHOICE, "conv"), (CHOICE, True),
     (MULTI, {"params": 1}), (MULTI, [1, 2, 3]), (MULTI, {**MULTI_TRUTH, "extra": 1})],
)  # fmt: skip
def test_bad_truth_is_a_question_error(spec, truth) -> None:
    with pytest.raises(QuestionError):
        grade(spec, truth, "1")


def test_bad_mistakes_are_question_errors() -> None:
    with pytest.raises(QuestionError):
        grade(PARAMS, 1, "1", [mistake("forgot_bias", (1, 2))])
    with pytest.raises(QuestionError):
        grade(PARAMS, 1, "1", ["forgot_bias"])  # type: ignore[list-item]
    with pytest.raises(QuestionError):
        grade(MULTI, MULTI_TRUTH, "1", [mistake("forgot_bias", {"flops": 1})])


# -- properties -------------------------------------------------------------------------------


@FAST
@given(st.integers(min_value=1, max_value=10**12))
def test_rounded_scientific_answers(n: int) -> None:
    three, two = f"{n:.2e}", f"{n:.1e}"  # floats hold every integer up to 10**12 exactly
    assert grade(PARAMS, n, f"{n:,}").status == "correct"
    assert grade(PARAMS, n, three).status == "correct"
    g = grade(PARAMS, n, two)
    # Two figures are correct exactly when they land within half a unit of the third.
    band = Fr(10) ** (len(str(n)) - 3) / 2
    if abs(Fr(two) - n) <= band:
        assert (g.status, g.score) == ("correct", 1.0)
    else:
        assert (g.status, g.score, g.codes) == ("partial", 0.5, ["insufficient_precision"])


@FAST
@given(
    st.integers(min_value=1, max_value=2**40),
    st.sampled_from(["B", "KB", "KiB", "MB", "MiB", "GB", "GiB", "bit", "Mbit"]),
)
def test_any_unit_with_four_figures_is_correct(n: int, unit: str) -> None:
    from grader.units import lookup_unit

    u = lookup_unit(unit)
    assert u is not None
    shown = f"{float(Fr(n) / u.multiplier):.3e} {unit}"
    assert grade(KIB, n, shown).status == "correct", shown


@FAST
@given(
    st.integers(min_value=2, max_value=10**9),
    st.integers(min_value=2, max_value=10**9),
)
def test_an_exact_family_mistake_is_always_named(truth: int, wrong: int) -> None:
    m = [mistake("ceil_vs_floor", wrong)]
    g = grade(PARAMS, truth, str(wrong), m)
    if indistinguishable(PARAMS, truth, wrong):  # e.g. 1000 for 1004: zeros not claimed
        assert g.status == "correct"
    else:
        assert g.status == "incorrect" and g.codes[0] == "ceil_vs_floor", g.codes


@FAST
@given(st.text(max_size=60))
def test_grade_never_raises_on_any_text(text: str) -> None:
    for spec, truth in [(PARAMS, CONV_PARAMS), (KIB, ACT_BYTES), (RATIO, NINTH), (SHAPE, OUT),
                        (CHOICE, 1), (MULTI, MULTI_TRUTH)]:  # fmt: skip
        g = grade(spec, truth, text)
        assert g.status in ("correct", "partial", "incorrect", "invalid")
        assert 0.0 <= g.score <= 1.0 and g.feedback
        assert (g.status == "invalid") <= (g.score == 0.0)


# -- the cases: one precision rule, stated tolerances, forms a student writes ----------


def test_more_digits_never_score_lower_than_fewer() -> None:
    kib = AnswerSpec.number("bytes", "KiB")
    truth = 30000  # 29.296875 KiB
    _check(grade(kib, truth, "29.29 KiB"), "correct", 1.0, [])
    _check(grade(kib, truth, "29.3 KiB"), "correct", 1.0, [])
    _check(grade(kib, truth, "29.297"), "correct", 1.0, [])
    _check(grade(kib, truth, "29 KiB"), "partial", 0.5, ["insufficient_precision"])
    _check(grade(kib, truth, "29.2 KiB"), "incorrect", 0.0, ["truncated"])
    mb = AnswerSpec.number("bytes", "MB")
    _check(grade(mb, 198_900, "0.1990 MB"), "correct", 1.0, [])
    _check(grade(mb, 198_900, "0.199 MB"), "correct", 1.0, [])


def test_trailing_zeros_of_a_rounded_integer_are_not_claimed() -> None:
    kb = AnswerSpec.number("bytes", "KB")
    truth = 273_998_600  # 273,998.6 KB
    _check(grade(kb, truth, "274,000 KB"), "correct", 1.0, [])
    _check(grade(kb, truth, "274 MB"), "correct", 1.0, [])
    _check(grade(kb, truth, "270,000 KB"), "partial", 0.5, ["insufficient_precision"])
    # One rule: an integer in full is judged by the band like any other writing.
    _check(grade(PARAMS, CONV_PARAMS, "73,857"), "correct", 1.0, [])
    exact = AnswerSpec.number("params", exact=True)  # a family asking for the figure exactly
    _check(grade(exact, CONV_PARAMS, "73,857"), "incorrect", 0.0, ["off_by_one"])
    _check(grade(exact, CONV_PARAMS, "73.9k"), "partial", 0.5, ["insufficient_precision"])
    _check(grade(exact, CONV_PARAMS, "73,856"), "correct", 1.0, [])
    _check(grade(PARAMS, 999, "1000"), "partial", 0.5, ["insufficient_precision"])  # 1 figure
    _check(grade(AnswerSpec.number("channels"), 1024, "1020"), "incorrect", 0.0, [])


def test_percentages_follow_the_significant_figure_rule() -> None:
    """Issue 22: for 10.16%, 10.2% is right, 10.6% wrong, 10% earns the stated partial
    credit, and 0.1016 is refused (it could be a fraction), never diagnosed as a mistake."""
    spec = AnswerSpec.percent()
    share = Fr(1016, 10000)
    share_of_other = define("share_of_other", "This is the share of the other quantity.")
    mistakes = [share_of_other.at(Fr(1016, 1_000_000))]  # 0.1016%, as the family had
    _check(grade(spec, share, "10.2%", mistakes), "correct", 1.0, [])
    _check(grade(spec, share, "10.16", mistakes), "correct", 1.0, [])
    _check(grade(spec, share, "10.21%", mistakes), "correct", 1.0, [])  # the edge, included
    _check(grade(spec, share, "10.22%", mistakes), "incorrect", 0.0, [])
    _check(grade(spec, share, "10.6%", mistakes), "incorrect", 0.0, [])
    _check(grade(spec, share, "10%", mistakes), "partial", 0.5, ["insufficient_precision"])
    g = grade(spec, share, "0.1016", mistakes)
    _check(g, "invalid", 0.0, [])
    assert "write it as a percentage" in g.feedback
    _check(grade(spec, share, "127/1250", mistakes), "correct", 1.0, [])  # a fraction, read so
    # A 2% share is graded to its own 3 figures, not ±0.5 points (±25%).
    small = Fr(204, 10000)
    _check(grade(spec, small, "2.04%"), "correct", 1.0, [])
    _check(grade(spec, small, "2.2%"), "incorrect", 0.0, [])
    _check(grade(spec, small, "2%"), "partial", 0.5, ["insufficient_precision"])


def test_pixels_are_read_with_their_unit() -> None:
    px = AnswerSpec.number("pixels")
    for text in ("9", "9 pixels", "9 px", "9 pixel"):
        _check(grade(px, 9, text), "correct", 1.0, [])
    _check(grade(px, 9, "8 pixels"), "incorrect", 0.0, ["off_by_one"])
    _check(grade(px, 9, "9 channels"), "incorrect", 0.0, ["wrong_dimension"])


def test_wrong_unit_feedback_reads_as_a_sentence() -> None:
    g = grade(MACS, CONV_MACS, "231 MFLOPs")
    assert g.codes == ["macs_vs_flops"]
    assert "the answer is in MFLOPs, a unit of FLOPs" in g.feedback
    assert "FLOPs counts FLOPs" not in g.feedback
    g = grade(FLOPS, 2 * CONV_MACS, "231 MMACs")
    assert "the answer is in MMACs, a unit of MACs" in g.feedback


def test_a_size_in_bits_and_a_float32_size_that_coincide_are_both_named() -> None:
    from grader.mistakes import BITS_VS_BYTES, WRONG_DTYPE_SIZE

    kb = AnswerSpec.number("bytes", "KB")
    count = 10_000  # parameters stored at 4 bits: 5,000 B; in bits and in float32: 40,000
    g = grade(kb, 5000, "40 KB", [BITS_VS_BYTES.at(40_000), WRONG_DTYPE_SIZE.at(40_000)])
    assert g.codes == ["bits_vs_bytes", "wrong_dtype_size"] and count * 4 == 40_000


def test_hints_cap_the_score_by_one_rule() -> None:
    from grader.hints import HINT_PENALTY, apply_hints, max_score

    assert [max_score(n) for n in range(5)] == [1.0, 0.75, 0.5, 0.25, 0.25]
    assert HINT_PENALTY == 0.25
    right = grade(PARAMS, CONV_PARAMS, "73856")
    capped = apply_hints(right, 2)
    assert (capped.status, capped.score, capped.max_score, capped.hints_used) == (
        "correct",
        0.5,
        0.5,
        2,
    )
    assert "2 hints used" in capped.feedback and capped.to_dict()["max_score"] == 0.5
    rough = apply_hints(grade(PARAMS, CONV_PARAMS, "74k"), 1)
    assert (rough.score, rough.status) == (0.5, "partial")  # under the cap: unchanged
    assert apply_hints(right, 0) is right
    with pytest.raises(ValueError):
        max_score(-1)


def test_zero_is_no_rounding_of_anything() -> None:
    """Zero has no significant figure: ``0M`` or ``0G`` once earned the half credit of "right
    to the 1 figure given" on every question under half a million (or a billion), and ``0%``
    was diagnosed as a factor-of-100 slip. Zero is a claim of exactly 0."""
    for answer in ("0M", "0G", "0e9", "0.0M", "-0M", "0 params", "0"):
        _check(grade(PARAMS, CONV_PARAMS, answer), "incorrect", 0.0, [])
    _check(grade(AnswerSpec.number("channels", exact=True), 256, "0k"), "incorrect", 0.0, [])
    _check(grade(KIB, 802_816, "0 GiB"), "incorrect", 0.0, [])
    _check(grade(AnswerSpec.percent(), Fr(1016, 10000), "0%"), "incorrect", 0.0, [])
    _check(grade(RATIO, Fr(1, 8), "0"), "incorrect", 0.0, [])
    # A zero truth is still answered by zero however it is written, and a rounding still
    # earns the stated credit.
    _check(grade(MACS, 0, "0 MMACs"), "correct", 1.0, [])
    _check(grade(PARAMS, CONV_PARAMS, "0.07M"), "partial", 0.5, ["insufficient_precision"])


def test_a_share_below_one_percent_states_that_it_needs_its_sign() -> None:
    """A bare number between 0 and 1 on a percentage is refused (it could be a fraction):
    the prompt said only "a bare number is read in %", so a student writing 0.838 for a
    0.8383 % share, as told, lost the question (in a multi-part answer, every part). The
    rule, the form line and a part's description now say it."""
    from grader.instructions import answer_instructions
    from grader.kinds import kind_of

    spec = AnswerSpec.percent()
    share = Fr(7, 835)  # 0.8383 %
    _check(grade(spec, share, "0.838%"), "correct", 1.0, [])
    g = grade(spec, share, "0.838")
    assert g.status == "invalid" and "write it as a percentage, with %" in g.feedback
    assert "one below 1 needs its % sign" in answer_instructions(spec)
    assert "one below 1 needs its % sign" in kind_of(spec).form(spec)
    parts = AnswerSpec.multi({"convs": AnswerSpec.number("count"), "smallest": spec})
    assert "(b) smallest: a percentage (below 1, with its % sign)" in answer_instructions(parts)
    _check(grade(parts, {"convs": 6, "smallest": share}, "6; 0.838%"), "correct", 1.0, [])


def test_a_final_answer_grades_each_readable_part_on_its_own() -> None:
    """The prompt says each part is graded on its own and the score is their mean; an exam's
    answer cannot be corrected, so one unreadable part once cost every part (0 for two right
    parts). In practice the whole answer is still refused, to be fixed and sent again."""
    from grader.registry import get_family
    from grader.scoring import ExamItem, score_exam

    spec = AnswerSpec.multi({"convs": AnswerSpec.number("count"), "smallest": AnswerSpec.percent()})
    truth = {"convs": 6, "smallest": Fr(7, 835)}  # 0.8383 %
    g = grade(spec, truth, "6; 0.838", final=True)
    assert (g.status, g.score) == ("partial", 0.5)
    assert [(name, p.status, p.score) for name, p in g.parts] == [
        ("convs", "correct", 1.0), ("smallest", "invalid", 0.0)]  # fmt: skip
    assert "Could not read this part" in g.feedback and "1 of 2 parts correct" in g.feedback
    assert json.loads(json.dumps(g.to_dict()))["score"] == 0.5
    assert grade(spec, truth, "6; 0.838").status == "invalid"  # practice: fix it and resend
    assert grade(spec, truth, "7; 0.838", final=True).status == "incorrect"  # scored 0
    for unsplittable in ("x; 0.838", "6", "a: 6; a: 7", ""):
        assert grade(spec, truth, unsplittable, final=True).status == "invalid", unsplittable
    # Through an exam's scoring, with a family's question.
    q = get_family("bn_params_buffers").generate(3, 1)
    right = q.expected()[0]
    text = f"{right['params']}; {right['buffers']}; zz"
    scored = score_exam([ExamItem(1, 0, q, 0)], {"1": text})
    assert (scored.items[0].status, round(scored.score, 4)) == ("partial", 0.6667)
