"""MobileNet v1's width multiplier α and resolution multiplier ρ on a depthwise separable layer.

Both layers, the full one and the thinned one on the smaller map, are built on the meta
device (``models.DepthwiseSeparable``) and profiled; the truth is their measured MACs and the
measured ratio. The paper's "cost ∝ α²ρ²" is exact for the pointwise part only (the depthwise
part scales by αρ²), which the solution and a named mistake say.
"""

from __future__ import annotations

import random
from fractions import Fraction

import models

from ..mistakes import define
from ..question import Draft, Family
from ..types import AnswerSpec, Mistake, Truth
from ._base import MACS_RULE, expected_display, measure_block, n, on_meta

__all__ = ["MOBILENET_V1_MULTIPLIERS", "FAMILIES"]

TOPIC = "mobilenet-v1"

ALPHA_NOT_SQUARED = define(
    "alpha_not_squared",
    "α thins both the input and the output channels, so the pointwise cost scales by α², not α.",
)
RHO_NOT_SQUARED = define(
    "rho_not_squared",
    "ρ scales both the height and the width, so the cost scales by ρ², not ρ.",
)
FORGOT_RHO = define("forgot_rho", "This leaves out the resolution multiplier ρ (ρ² on MACs).")
FORGOT_ALPHA = define("forgot_alpha", "This leaves out the width multiplier α.")
ALPHA_SQUARED_EVERYWHERE = define(
    "alpha_squared_everywhere",
    "α² holds for the pointwise part only: the depthwise part has one filter per channel, so "
    "it scales by α (times ρ²).",
)

_RESOLUTIONS = (224, 192, 160, 128)


def _draw(rng: random.Random, difficulty: int) -> tuple[int, int, int, int, Fraction, int]:
    """(M, N, stride, side at 224, α, resolution)."""
    if difficulty == 1:
        alpha = rng.choice((Fraction(1, 2), Fraction(3, 4), Fraction(1, 4), Fraction(1)))
        res = 224 if alpha != 1 else rng.choice(_RESOLUTIONS[1:])
        stride = 1
    else:
        alpha = rng.choice((Fraction(1, 2), Fraction(3, 4), Fraction(1, 4)))
        res = rng.choice(_RESOLUTIONS[1:])
        stride = 1 if difficulty == 2 else rng.choice((1, 2))
    m = rng.choice((32, 64, 128, 256, 512, 1024))
    out = rng.choice((m, 2 * m) if m < 1024 else (m,))
    side = rng.choice((112, 56, 28, 14) if difficulty < 3 else (112, 56, 28, 14, 7))
    return m, out, stride, side, alpha, res


def _macs(cin: int, cout: int, stride: int, side: int) -> int:
    block = on_meta(models.DepthwiseSeparable, cin, cout, stride)
    return measure_block(block, (cin, side, side)).macs


def _multipliers(rng: random.Random, difficulty: int) -> Draft:
    m, out, stride, side, alpha, res = _draw(rng, difficulty)
    rho = Fraction(res, 224)
    am, an, small = int(alpha * m), int(alpha * out), int(side * rho)
    base = _macs(m, out, stride, side)
    thin = _macs(am, an, stride, small)
    ratio = Fraction(thin, base)
    spec = AnswerSpec.multi({"macs": AnswerSpec.number("macs"), "ratio": AnswerSpec.ratio(0.005)})
    truth: dict[str, Truth] = {"macs": thin, "ratio": ratio}
    ho = -(-side // stride)
    prompt = (
        f"In MobileNet v1 (224×224 input, α = 1) a depthwise separable layer maps M = {m} to "
        f"N = {out} channels on a {side}×{side} map: a 3×3 depthwise convolution (stride "
        f"{stride}, padding 1) then a 1×1 pointwise convolution. The network is shrunk with "
        f"width multiplier α = {_frac(alpha)} and resolution multiplier ρ = {res}/224 (input "
        f"{res}×{res}). (a) macs: the layer's MACs in the shrunk network; (b) ratio: shrunk "
        f"MACs ÷ original MACs. {MACS_RULE}"
    )
    hs = -(-small // stride)
    solution = (
        f"αM = {am}, αN = {an}, map ρ·{side} = {small}, output {hs}×{hs}; MACs = "
        f"{hs}²·αM·(9 + αN) = {hs}²·{am}·(9 + {an}) = "
        f"{expected_display(spec.part_specs['macs'], thin)}; original "
        f"{ho}²·{m}·(9 + {out}) = {n(base)}; ratio = "
        f"{expected_display(spec.part_specs['ratio'], ratio)} (α²ρ² = "
        f"{n(alpha**2 * rho**2)} for the pointwise part, αρ² for the depthwise part)"
    )
    a2r2 = alpha**2 * rho**2
    mistakes: list[Mistake | None] = [
        ALPHA_SQUARED_EVERYWHERE.at({"macs": base * a2r2, "ratio": a2r2}),
        ALPHA_NOT_SQUARED.at({"macs": base * alpha * rho**2, "ratio": alpha * rho**2})
        if alpha != 1
        else None,
        RHO_NOT_SQUARED.at({"macs": base * alpha**2 * rho, "ratio": alpha**2 * rho})
        if rho != 1
        else None,
        FORGOT_RHO.at({"macs": base * alpha**2, "ratio": alpha**2}) if rho != 1 else None,
        FORGOT_ALPHA.at({"macs": base * rho**2, "ratio": rho**2}) if alpha != 1 else None,
    ]
    return Draft(
        prompt=prompt,
        params={
            "in_channels": m,
            "out_channels": out,
            "stride": stride,
            "height": side,
            "width": side,
            "alpha": str(alpha),
            "resolution": res,
        },  # fmt: skip
        answer=spec,
        truth=truth,
        solution=solution,
        mistakes=mistakes,
        conventions=(MACS_RULE,),
        hints=(
            "Shrink the layer first: α multiplies both channel counts, ρ the side of the map; "
            "then count its MACs as usual.",
            "Depthwise separable MACs = H_out·W_out·M·(k² + N) with k = 3; here with αM, αN "
            "and the ρ-scaled map.",
            f"Here αM = {am}, αN = {an}, and the map is {small}×{small} before the stride.",
        ),
    )


def _frac(value: Fraction) -> str:
    return str(value.numerator) if value.denominator == 1 else f"{float(value):g}"


MOBILENET_V1_MULTIPLIERS = Family(
    id="mobilenet_v1_multipliers",
    topic=TOPIC,
    title="MobileNet v1 width and resolution multipliers (α, ρ) on a layer's MACs",
    answer_kind="parts",
    generator=_multipliers,
    expected_seconds=150.0,
    cards=("mobilenet-v1-multipliers", "mobilenet-v1-cost-ratio"),
)

FAMILIES: tuple[Family, ...] = (MOBILENET_V1_MULTIPLIERS,)
