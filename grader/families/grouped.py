"""Grouped convolution: its parameters, and what it saves against the dense convolution."""

from __future__ import annotations

import random
from dataclasses import replace
from fractions import Fraction
from typing import Any

from ..mistakes import FORGOT_BIAS, IGNORED_GROUPS, INVERTED_RATIO, define
from ..question import Draft, Family
from ..types import AnswerSpec, Mistake
from ._base import (
    FORMS,
    MACS_RULE,
    PARAMS_RULE,
    Comparison,
    expected_display,
    measure,
    n,
    param_count,
)
from .conv import COUNTED_BIAS, ConvSetup, params_numbers, params_solution

__all__ = ["GROUPED_CONV_PARAMS", "GROUPED_CONV_SAVINGS", "FAMILIES"]

TOPIC = "grouped-conv"

ONE_GROUP_ONLY = define(
    "one_group_only",
    "This is one group's share; the g groups together have g times as many weights.",
)
DIVIDED_GROUPS_TWICE = define(
    "divided_groups_twice",
    "This divides by the groups twice: each of the C_out filters sees C_in/g input channels, "
    "so the weights are C_out·(C_in/g)·k_h·k_w.",
)
SAVED_VS_KEPT = define(
    "saved_vs_kept",
    "This mixes up the fraction kept and the fraction saved, which add up to 1.",
)
SQUARED_GROUPS = define(
    "squared_groups",
    "This divides by g²; grouping divides the weights and MACs by g (each filter sees C_in/g "
    "channels, and there are still C_out filters).",
)
IGNORED_BIAS = define(
    "ignored_bias",
    "This is the ratio of the weights alone; the biases (one per output channel, in both "
    "layers) change the parameter ratio.",
)


def _grouped_setup(rng: random.Random, difficulty: int) -> ConvSetup:
    """A grouped convolution (g > 1) on a modest input, scaled by difficulty."""
    if difficulty == 1:
        g = rng.choice((2, 4, 8))
        cin, cout = rng.choice((32, 48, 64, 96, 128, 256)), rng.choice((32, 64, 96, 128, 256))
        k, bias = rng.choice((1, 3, 3)), rng.random() < 0.3
        size = rng.choice((14, 28, 56))
    elif difficulty == 2:
        g = rng.choice((2, 4, 8, 16, 32))
        cin, cout = rng.choice((64, 128, 256, 512)), rng.choice((64, 128, 256, 512))
        k, bias = rng.choice((1, 3, 3, 5)), rng.random() < 0.5
        size = rng.choice((7, 14, 28, 56))
    else:
        g = rng.choice((3, 5, 6, 12, 24, 32))
        cin, cout = g * rng.randint(1, 16), g * rng.randint(1, 16)
        k, bias = rng.choice((1, 3, 5, 7)), rng.random() < 0.6
        size = rng.randint(7, 60)
    return ConvSetup(
        in_channels=cin,
        out_channels=cout,
        kernel_size=k,
        padding=k // 2,
        groups=g,
        bias=bias,
        height=size,
        width=size,
    )


def _params(rng: random.Random, difficulty: int) -> Draft:
    s = _grouped_setup(rng, difficulty)
    truth = param_count(s.build())
    spec = AnswerSpec.number("params", exact=True)
    prompt = f"How many learnable parameters does the grouped convolution {s.text()} have? "
    prompt += PARAMS_RULE
    solution = f"{params_solution(s)} = {expected_display(spec, truth)}"
    g, bias = s.groups, (s.out_channels if s.bias else 0)
    dense_weights = s.out_channels * s.in_channels * s.kh * s.kw
    candidates = [
        IGNORED_GROUPS.at(dense_weights + bias),
        ONE_GROUP_ONLY.at(Fraction(truth, g)),
        DIVIDED_GROUPS_TWICE.at(Fraction(s.weights(), g) + bias),
        FORGOT_BIAS.at(truth - s.out_channels) if s.bias else None,
        COUNTED_BIAS.at(truth + s.out_channels) if not s.bias else None,
    ]
    return Draft(
        prompt=prompt,
        params=s.params(spatial=False),
        answer=spec,
        truth=truth,
        solution=solution,
        mistakes=candidates,
        conventions=(PARAMS_RULE,),
        hints=(
            "Each of the C_out filters sees only the input channels of its own group.",
            "params = C_out·(C_in/groups)·k_h·k_w, plus C_out biases when bias=True.",
            f"Here {params_numbers(s)}.",
        ),
    )


def _savings(rng: random.Random, difficulty: int) -> Draft:
    grouped = _grouped_setup(rng, difficulty)
    dense = replace(grouped, groups=1)
    quantity = rng.choice(("params", "macs"))
    form = "kept" if difficulty == 1 else rng.choice(FORMS[:2] if difficulty == 2 else FORMS)
    if quantity == "params":
        cheap, reference = param_count(grouped.build()), param_count(dense.build())
    else:
        cheap = measure(grouped.build(), grouped.input_shape).macs
        reference = measure(dense.build(), dense.input_shape).macs
    cmp = Comparison(form, cheap, reference, "grouped", "dense")
    truth, spec = cmp.as_form(cmp.kept), cmp.spec
    what = "parameters" if quantity == "params" else "MACs"
    rule = PARAMS_RULE if quantity == "params" else MACS_RULE
    prompt = (
        f"Compare the grouped convolution {grouped.text()} with the dense one {dense.text()}, "
        f"both applied to a {grouped.in_channels}×{grouped.height}×{grouped.width} input. "
        f"{cmp.ask(what, 'the grouped layer', 'the dense layer')} {rule}"
    )
    formula = (
        "params = C_out·(C_in/groups)·k_h·k_w (+ C_out with bias)"
        if quantity == "params"
        else "MACs = H_out·W_out·C_out·(C_in/groups)·k_h·k_w"
    )
    g = grouped.groups
    solution = (
        f"{formula}; dense: {n(reference)} {what}; grouped (groups={g}): {n(cheap)} {what}; "
        f"{cmp.last_step()} = {expected_display(spec, truth)}"
    )
    biased = quantity == "params" and grouped.bias
    candidates: list[Mistake | None] = [
        INVERTED_RATIO.at(1 / truth) if truth else None,
        SAVED_VS_KEPT.at(1 - truth) if form != "times" else None,
        SQUARED_GROUPS.at(cmp.as_form(Fraction(1, g * g))),
        IGNORED_BIAS.at(cmp.as_form(Fraction(1, g))) if biased else None,  # weights alone
    ]
    params: dict[str, Any] = {**grouped.params(), "quantity": quantity, "form": form}
    params.pop("batch")
    return Draft(
        prompt=prompt,
        params=params,
        answer=spec,
        truth=truth,
        solution=solution,
        mistakes=candidates,
        conventions=(rule,),
        hints=(
            f"Write both layers' {what} with the same formula; only the groups differ.",
            f"{formula}: grouping divides the weight term by the groups.",
            f"Here groups = {g}" + (", and both layers have biases." if biased else "."),
        ),
    )


GROUPED_CONV_PARAMS = Family(
    id="grouped_conv_params",
    topic=TOPIC,
    title="Parameters of a grouped convolution",
    answer_kind="number",
    generator=_params,
    expected_seconds=60.0,
    cards=("grouped-conv-weight-shape", "grouped-conv-params-example"),
)
GROUPED_CONV_SAVINGS = Family(
    id="grouped_conv_savings",
    topic=TOPIC,
    title="What grouping saves against a dense convolution",
    answer_kind="number",
    generator=_savings,
    expected_seconds=60.0,
    cards=("grouped-conv-ops-divided",),
)

FAMILIES: tuple[Family, ...] = (GROUPED_CONV_PARAMS, GROUPED_CONV_SAVINGS)
