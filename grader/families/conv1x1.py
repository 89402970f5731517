"""1×1 convolutions: a linear layer at every pixel, and the reduction in front of a k×k
convolution (Network in Network, GoogLeNet), step by step.

Truths come from ``nn.Conv2d`` layers built on the meta device: parameters from the layers,
MACs from their profiles.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from fractions import Fraction

from torch import nn

from ..mistakes import FORGOT_BIAS, INVERTED_RATIO, MACS_VS_FLOPS, define
from ..question import Draft, Family
from ..types import AnswerSpec, Mistake, Truth
from ._base import (
    BATCH_1,
    MACS_RULE,
    NO_BIAS,
    PARAMS_RULE,
    call,
    expected_display,
    measure,
    n,
    param_count,
)

__all__ = ["Reduction", "CONV1X1_COST", "CONV1X1_REDUCTION", "FAMILIES"]

TOPIC = "conv1x1"

COUNTED_SPATIAL_KERNEL = define(
    "counted_spatial_kernel",
    "This counts a 3×3 window; a 1×1 convolution has one weight per input channel per filter.",
)
PER_PIXEL_ONLY = define(
    "per_pixel_only",
    "This is the cost at one pixel; the 1×1 convolution repeats it at every one of the H·W "
    "positions.",
)
FORGOT_REDUCTION_COST = define(
    "forgot_reduction_cost",
    "This leaves out the 1×1 reduction's own MACs: H·W·C_in·r, which the saving must pay for.",
)
REDUCED_OUTPUT_TOO = define(
    "reduced_output_too",
    "The reduction only narrows the k×k convolution's input; its output keeps C_out channels.",
)


def _cost(rng: random.Random, difficulty: int) -> Draft:
    """A 1×1 convolution read as a per-pixel linear layer: parameters (1), MACs (2), MACs of a
    batch of maps at odd sizes (3)."""
    cin = rng.choice((16, 32, 64, 96, 128, 192, 256, 384, 480, 512, 832, 1024))
    cout = rng.choice((16, 32, 48, 64, 96, 128, 160, 192, 256, 384))
    side = rng.choice((7, 14, 28, 56)) if difficulty < 3 else rng.randint(5, 60)
    bias = rng.random() < 0.5
    layer = nn.Conv2d(cin, cout, 1, bias=bias, device="meta")
    text = call("nn.Conv2d", cin, cout, kernel_size=1, bias=bias)
    scene = (
        f"A 1×1 convolution {text} is applied to a {cin}×{side}×{side} map: at every pixel it "
        f"applies the same linear map to that pixel's {cin}-channel vector."
    )
    if difficulty == 1:
        spec, truth = AnswerSpec.number("params", exact=True), param_count(layer)
        prompt = f"{scene} How many learnable parameters does it have? {PARAMS_RULE}"
        solution = f"C_out·C_in{' + C_out' if bias else ''} = {cout}·{cin}" + (
            f" + {cout}" if bias else ""
        )
        mistakes: list[Mistake | None] = [
            FORGOT_BIAS.at(truth - cout) if bias else None,
            COUNTED_SPATIAL_KERNEL.at(9 * cin * cout + (cout if bias else 0)),
            PER_PIXEL_ONLY.at(truth * side * side),
        ]
        hint = "params = C_in·C_out, plus C_out biases when bias=True: no spatial kernel."
    else:
        spec, truth = AnswerSpec.number("macs"), measure(layer, (cin, side, side)).macs
        prompt = f"{scene} How many MACs does it take? {MACS_RULE} {BATCH_1}"
        solution = f"H·W·C_in·C_out = {side}·{side}·{cin}·{cout}"
        mistakes = [
            PER_PIXEL_ONLY.at(cin * cout),
            COUNTED_SPATIAL_KERNEL.at(9 * truth),
            MACS_VS_FLOPS.at(2 * truth, "This is the FLOP count (2 per MAC); MACs were asked."),
        ]
        hint = "MACs = H·W·C_in·C_out: the per-pixel linear map, at every pixel."
    return Draft(
        prompt=prompt,
        params={
            "in_channels": cin,
            "out_channels": cout,
            "kernel_size": 1,
            "bias": bias,
            "height": side,
            "width": side,
        },
        answer=spec,
        truth=truth,
        solution=f"{solution} = {expected_display(spec, truth)}",
        mistakes=mistakes,
        conventions=(PARAMS_RULE,) if difficulty == 1 else (MACS_RULE, BATCH_1),
        hints=(
            "Treat the 1×1 convolution as a linear layer from C_in to C_out features, shared "
            "by every pixel.",
            hint,
            f"Here C_in = {cin}, C_out = {cout} and the map is {side}×{side}.",
        ),
    )


# -- a 1×1 reduction in front of a k×k convolution, step by step --------------------------------


@dataclass(frozen=True)
class Reduction:
    """A k×k convolution C_in → C_out, with or without a 1×1 reduction to r channels first."""

    cin: int
    r: int
    cout: int
    k: int
    side: int

    def direct(self) -> nn.Module:
        """The k×k convolution on all C_in channels (meta device, no bias)."""
        return nn.Conv2d(
            self.cin, self.cout, self.k, padding=self.k // 2, bias=False, device="meta"
        )

    def reduced(self) -> nn.Module:
        """The 1×1 reduction to r channels, then the k×k convolution (meta device, no bias)."""
        return nn.Sequential(
            nn.Conv2d(self.cin, self.r, 1, bias=False, device="meta"),
            nn.Conv2d(self.r, self.cout, self.k, padding=self.k // 2, bias=False, device="meta"),
        )


def _draw_reduction(rng: random.Random, difficulty: int) -> Reduction:
    """1: GoogLeNet-like round widths, 3×3; 2: 3×3 or 5×5 with milder reductions; 3: any."""
    if difficulty == 1:
        cin = rng.choice((128, 192, 256, 480, 512, 528, 832))
        return Reduction(
            cin,
            cin // rng.choice((2, 4, 8)),
            rng.choice((64, 128, 192, 256)),
            3,
            rng.choice((7, 14, 28)),
        )
    if difficulty == 2:
        cin = rng.choice((192, 256, 480, 512, 528, 832))
        r = rng.choice((16, 24, 32, 48, 64, 96, 112, 128, 144, 160))
        return Reduction(
            cin,
            r,
            rng.choice((32, 48, 64, 128, 208, 224, 256, 288, 320)),
            rng.choice((3, 5)),
            rng.choice((7, 14, 28)),
        )
    cin = 8 * rng.randint(8, 128)
    return Reduction(
        cin,
        8 * rng.randint(2, cin // 16),
        8 * rng.randint(4, 64),
        rng.choice((3, 5, 7)),
        rng.randint(7, 56),
    )


def _reduction(rng: random.Random, difficulty: int) -> Draft:
    red = _draw_reduction(rng, difficulty)
    shape = (red.cin, red.side, red.side)
    direct, reduced = measure(red.direct(), shape), measure(red.reduced(), shape)
    truth: dict[str, Truth] = {
        "direct": direct.macs,
        "reduced": reduced.macs,
        "ratio": Fraction(reduced.macs, direct.macs),
    }
    macs = AnswerSpec.number("macs")
    spec = AnswerSpec.multi({"direct": macs, "reduced": macs, "ratio": AnswerSpec.ratio()})
    k, hw = red.k, f"{red.side}·{red.side}"
    prompt = (
        f"A {k}×{k} convolution (padding {k // 2}, stride 1) maps a {red.cin}×{red.side}×"
        f"{red.side} input to {red.cout} channels. Network in Network and GoogLeNet put a 1×1 "
        f"convolution in front of it that first reduces the {red.cin} channels to {red.r}. "
        f"Give (a) direct, the MACs of the {k}×{k} convolution on all {red.cin} channels; "
        f"(b) reduced, the MACs of the 1×1 reduction plus the {k}×{k} convolution on {red.r} "
        f"channels; (c) ratio, reduced ÷ direct. {NO_BIAS} {MACS_RULE} {BATCH_1}"
    )
    reduce_macs, conv_macs = (row.macs for row in reduced.rows if row.macs)
    solution = "\n".join(
        [
            f"direct: {hw}·{red.cout}·{red.cin}·{k}·{k} = {expected_display(macs, direct.macs)}",
            f"reduced: 1×1 {hw}·{red.r}·{red.cin} = {n(reduce_macs)} + {k}×{k} "
            f"{hw}·{red.cout}·{red.r}·{k}·{k} = {n(conv_macs)}, in all "
            + expected_display(macs, reduced.macs),
            f"ratio = {n(reduced.macs)} / {n(direct.macs)} = "
            + expected_display(spec.part_specs["ratio"], truth["ratio"]),
        ]
    )
    mistakes = [
        FORGOT_REDUCTION_COST.at({"reduced": conv_macs, "ratio": Fraction(conv_macs, direct.macs)}),
        REDUCED_OUTPUT_TOO.at({"reduced": reduce_macs + red.side**2 * red.r * red.r * k * k}),
        INVERTED_RATIO.at({"ratio": Fraction(direct.macs, reduced.macs)}),
        MACS_VS_FLOPS.at({"direct": 2 * direct.macs}, "This is the FLOP count; MACs were asked."),
    ]
    return Draft(
        prompt=prompt,
        params={
            "in_channels": red.cin,
            "reduced_channels": red.r,
            "out_channels": red.cout,
            "kernel_size": k,
            "height": red.side,
            "width": red.side,
        },
        answer=spec,
        truth=truth,
        solution=solution,
        mistakes=mistakes,
        conventions=(NO_BIAS, MACS_RULE, BATCH_1),
        hints=(
            "Every layer here keeps the spatial size, so compare the work per pixel.",
            "A convolution's MACs = H·W·C_out·C_in·k²; the reduced path pays for the 1×1 "
            "(H·W·r·C_in) and then runs the k×k on r input channels.",
            f"Per pixel: direct {red.cout}·{red.cin}·{k * k}; reduced {red.r}·{red.cin} + "
            f"{red.cout}·{red.r}·{k * k}.",
        ),
    )


CONV1X1_COST = Family(
    id="conv1x1_cost",
    topic=TOPIC,
    title="A 1×1 convolution as a linear layer at every pixel: parameters and MACs",
    answer_kind="number",
    generator=_cost,
    expected_seconds=60.0,
    cards=("conv1x1-equals-linear", "conv1x1-params-example", "conv1x1-macs-example"),
)
CONV1X1_REDUCTION = Family(
    id="conv1x1_reduction",
    topic=TOPIC,
    title="A 1×1 reduction before a k×k convolution, step by step",
    answer_kind="parts",
    generator=_reduction,
    expected_seconds=180.0,
    cards=("conv1x1-dimensionality-reduction", "conv1x1-bottleneck-saving"),
)

FAMILIES: tuple[Family, ...] = (CONV1X1_COST, CONV1X1_REDUCTION)
