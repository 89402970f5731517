"""GoogLeNet's inception module (v1): output channels and parameters, naive and with 1×1
reductions.

Branches: 1×1; 1×1 reduce → 3×3; 1×1 reduce → 5×5; 3×3 max pool → 1×1 projection (the naive
module has no reductions and passes the pooled input through). GoogLeNet predates BatchNorm:
every convolution has a bias. Truths come from ``models.Inception`` / ``models.NaiveInception``
built on the meta device: parameters from the module, channels from a forward pass.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from functools import lru_cache

from models import (
    Inception,
    InceptionConfig,
    NaiveInception,
    build_architecture,
    profile_architecture,
)

from ..mistakes import FORGOT_BIAS, define
from ..question import Draft, Family
from ..types import AnswerSpec, Mistake
from ._base import (
    CHANNELS_RULE,
    CONV_BIAS_RULE,
    PARAMS_RULE,
    block_counts,
    expected_display,
    n,
    on_meta,
    output_shape,
)

__all__ = ["INCEPTION_OUTPUT_CHANNELS", "INCEPTION_PARAMS", "FAMILIES"]

TOPIC = "googlenet"

INCEPTION_FORGOT_POOL_BRANCH = define(
    "inception_forgot_pool_branch",
    "This leaves out the pooling branch: its output is concatenated with the three "
    "convolution branches.",
)
INCEPTION_COUNTED_REDUCTIONS = define(
    "inception_counted_reductions",
    "The 1×1 reductions feed the 3×3 and 5×5 convolutions; their outputs are not concatenated.",
)
INCEPTION_POOL_PASSTHROUGH = define(
    "inception_pool_passthrough",
    "With reductions, the pooled map goes through a 1×1 projection: the pool branch outputs "
    "pool_proj channels, not the input's.",
)
INCEPTION_REDUCE_WIDTHS = define(
    "inception_reduce_widths",
    "This adds the reduction widths instead of the 3×3 and 5×5 outputs.",
)
INCEPTION_FORGOT_REDUCTIONS = define(
    "inception_forgot_reductions",
    "This leaves out the 1×1 reduction convolutions themselves: they have weights and biases too.",
)
INCEPTION_NO_REDUCTION = define(
    "inception_no_reduction",
    "This applies the 3×3 and 5×5 filters to all input channels, as the naive module does; "
    "here they see only the reduced channels.",
)
INCEPTION_5X5_AS_3X3 = define(
    "inception_5x5_as_3x3",
    "This counts the 5×5 filters as 3×3: each has 5·5 = 25 weights per input channel.",
)

_SPEC_PARAMS = AnswerSpec.number("params", exact=True)
_SPEC_CHANNELS = AnswerSpec.number("channels")
_SAME = "Every convolution uses 'same' padding (k // 2) and stride 1"
_POOL = "the max pool is 3×3 with stride 1 and padding 1"


@lru_cache(maxsize=1)
def _googlenet_modules() -> tuple[tuple[str, InceptionConfig, int], ...]:
    """(module name, config, input side) of GoogLeNet's nine inception modules, read from the
    real network built on meta and its cached profile."""
    prof = profile_architecture("googlenet")
    out = []
    for name, m in build_architecture("googlenet").named_children():
        if isinstance(m, Inception):
            out.append((name, m.cfg, prof.row(f"{name}.branch1.conv").input_shape[-1]))
    return tuple(out)


def _random_config(rng: random.Random) -> InceptionConfig:
    return InceptionConfig(
        in_channels=32 * rng.randint(4, 28),
        ch1x1=16 * rng.randint(2, 24),
        ch3x3red=16 * rng.randint(2, 12),
        ch3x3=16 * rng.randint(4, 24),
        ch5x5red=8 * rng.randint(1, 6),
        ch5x5=16 * rng.randint(1, 8),
        pool_proj=16 * rng.randint(1, 8),
    )


def _reduced_text(cfg: InceptionConfig) -> str:
    return (
        f"(1) a 1×1 conv with {cfg.ch1x1} filters; (2) a 1×1 conv to {cfg.ch3x3red} channels, "
        f"then a 3×3 conv with {cfg.ch3x3} filters; (3) a 1×1 conv to {cfg.ch5x5red} channels, "
        f"then a 5×5 conv with {cfg.ch5x5} filters; (4) a 3×3 max pool, then a 1×1 conv with "
        f"{cfg.pool_proj} filters. {_SAME}, {_POOL}; the four branch outputs are concatenated "
        "along the channel dimension."
    )


def _naive_text(c1: int, c3: int, c5: int) -> str:
    return (
        f"(1) a 1×1 conv with {c1} filters; (2) a 3×3 conv with {c3} filters; (3) a 5×5 conv "
        f"with {c5} filters; (4) a 3×3 max pool; all four applied to the input directly. "
        f"{_SAME}, {_POOL}; the four branch outputs are concatenated along the channel dimension."
    )


def _config_params(cfg: InceptionConfig) -> dict[str, object]:
    return {
        "in_channels": cfg.in_channels,
        "ch1x1": cfg.ch1x1,
        "ch3x3red": cfg.ch3x3red,
        "ch3x3": cfg.ch3x3,
        "ch5x5red": cfg.ch5x5red,
        "ch5x5": cfg.ch5x5,
        "pool_proj": cfg.pool_proj,
    }


@lru_cache(maxsize=1024)
def _reduced_out(cfg: InceptionConfig, side: int) -> tuple[int, ...]:
    """Output shape of the real module with reductions, by a forward pass on meta."""
    return output_shape(on_meta(Inception, cfg), (cfg.in_channels, side, side))


@lru_cache(maxsize=1024)
def _naive_out(c: int, c1: int, c3: int, c5: int, side: int) -> tuple[int, ...]:
    """Output shape of the real naive module, by a forward pass on meta."""
    return output_shape(on_meta(NaiveInception, c, c1, c3, c5), (c, side, side))


# -- output channels --------------------------------------------------------------------------


def _channels_draft(rng: random.Random, difficulty: int) -> Draft:
    """Output channels: a GoogLeNet module (1), a random one with reductions (2), a naive one
    whose pool branch passes every input channel through (3)."""
    mistakes: list[Mistake]
    if difficulty in (1, 2):
        if difficulty == 1 and rng.random() < 0.3:
            name, cfg, side = rng.choice(_googlenet_modules())
            who = f"GoogLeNet's {name}"
            params: dict[str, object] = {"architecture": "googlenet", "module": name}
        else:
            cfg, side = _random_config(rng), rng.choice((7, 14, 28))
            who = "An inception module"
            params = {}
        params |= {**_config_params(cfg), "height": side, "width": side}
        out = _reduced_out(cfg, side)
        truth = out[1]
        body = f"{who} receives a {cfg.in_channels}×{side}×{side} input. Its branches: " + (
            _reduced_text(cfg)
        )
        terms = f"{cfg.ch1x1} + {cfg.ch3x3} + {cfg.ch5x5} + {cfg.pool_proj}"
        why = "The 1×1 reductions only feed the 3×3 and 5×5 convolutions, and the pool branch "
        why += "outputs pool_proj channels after its 1×1 projection."
        mistakes = [
            INCEPTION_FORGOT_POOL_BRANCH.at(truth - cfg.pool_proj),
            INCEPTION_COUNTED_REDUCTIONS.at(truth + cfg.ch3x3red + cfg.ch5x5red),
            INCEPTION_POOL_PASSTHROUGH.at(truth - cfg.pool_proj + cfg.in_channels),
            INCEPTION_REDUCE_WIDTHS.at(cfg.ch1x1 + cfg.ch3x3red + cfg.ch5x5red + cfg.pool_proj),
        ]
    else:
        c = 32 * rng.randint(2, 16)
        c1, c3, c5 = (16 * rng.randint(1, 16) for _ in range(3))
        side = rng.choice((7, 14, 28, 56))
        params = {
            "in_channels": c,
            "ch1x1": c1,
            "ch3x3": c3,
            "ch5x5": c5,
            "height": side,
            "width": side,
        }
        out = _naive_out(c, c1, c3, c5, side)
        truth = out[1]
        body = (
            f"A naive inception module (no 1×1 reductions) receives a {c}×{side}×{side} input. "
            f"Its branches: {_naive_text(c1, c3, c5)}"
        )
        terms = f"{c1} + {c3} + {c5} + {c}"
        why = "The max pool keeps all its input channels, so the pool branch adds the input's "
        why += f"{c} channels."
        mistakes = [INCEPTION_FORGOT_POOL_BRANCH.at(truth - c)]
    prompt = f"{body} How many channels does the module output?"
    solution = (
        f"{why} The output is the concatenation of the four branches ({'×'.join(map(str, out))} "
        f"with the batch first): {terms} = {expected_display(_SPEC_CHANNELS, truth)}"
    )
    return Draft(
        prompt=prompt,
        params=params,
        answer=_SPEC_CHANNELS,
        truth=truth,
        solution=solution,
        mistakes=mistakes,
        conventions=(CHANNELS_RULE,),
        hints=(
            "Find what each of the four branches outputs; the module concatenates them.",
            "A branch outputs the channels of its last layer: the 1×1 reductions only feed the "
            "3×3 and 5×5 convolutions, and a max pool keeps its input's channels.",
        ),
    )


# -- parameters -------------------------------------------------------------------------------


def _conv_line(label: str, k: int, c_in: int, c_out: int, count: int) -> str:
    kk = "" if k == 1 else f"{k}·{k}·"
    return f"{label} ({c_in}→{c_out}): {kk}{c_in}·{c_out} + {c_out} = {n(count)}"


@dataclass(frozen=True)
class _Counted:
    """An inception module's parameter count, worked out: body text, lines, terms, mistakes."""

    truth: int
    body: str
    params: dict[str, object]
    lines: list[str]
    terms: list[int]
    mistakes: list[Mistake]


def _naive_params(rng: random.Random) -> _Counted:
    """A naive module: every branch sees all the input channels."""
    c = 16 * rng.randint(4, 16)
    c1, c3, c5 = (16 * rng.randint(1, 8) for _ in range(3))
    k = block_counts(NaiveInception, (c, c1, c3, c5), ("branch1", "branch2", "branch3"))
    terms = [k.parts[b] for b in ("branch1", "branch2", "branch3")]
    lines = [
        _conv_line("1×1 conv", 1, c, c1, terms[0]),
        _conv_line("3×3 conv", 3, c, c3, terms[1]),
        _conv_line("5×5 conv", 5, c, c5, terms[2]),
        "max pool: 0",
    ]
    w5 = terms[2] - c5  # the 5×5 weights, without their biases
    mistakes = [
        FORGOT_BIAS.at(k.total - k.biases),
        INCEPTION_5X5_AS_3X3.at(k.total - w5 + w5 * 9 // 25),
    ]
    body = (
        f"A naive inception module (no 1×1 reductions) receives {c} input channels. Its "
        f"branches: {_naive_text(c1, c3, c5)}"
    )
    params: dict[str, object] = {"in_channels": c, "ch1x1": c1, "ch3x3": c3, "ch5x5": c5}
    return _Counted(k.total, body, params, lines, terms, mistakes)


def _reduced_params(rng: random.Random, difficulty: int) -> _Counted:
    """A module with 1×1 reductions: one of GoogLeNet's (sometimes at level 2), or drawn."""
    params: dict[str, object] = {}
    who, cfg = "An inception module", None
    if difficulty == 2 and rng.random() < 0.3:
        name, cfg, _ = rng.choice(_googlenet_modules())
        who, params = f"GoogLeNet's {name}", {"architecture": "googlenet", "module": name}
    cfg = cfg or _random_config(rng)
    names = ("branch1", "branch2.reduce", "branch2.conv", "branch3.reduce", "branch3.conv")
    k = block_counts(Inception, (cfg,), (*names, "branch4"))
    c, (b1, r3, k3, r5, k5), pp = cfg.in_channels, (k.parts[p] for p in names), k.parts["branch4"]
    lines = [
        _conv_line("1×1 conv", 1, c, cfg.ch1x1, b1),
        _conv_line("3×3 reduce (1×1)", 1, c, cfg.ch3x3red, r3),
        _conv_line("3×3 conv", 3, cfg.ch3x3red, cfg.ch3x3, k3),
        _conv_line("5×5 reduce (1×1)", 1, c, cfg.ch5x5red, r5),
        _conv_line("5×5 conv", 5, cfg.ch5x5red, cfg.ch5x5, k5),
        _conv_line("pool proj (1×1)", 1, c, cfg.pool_proj, pp),
    ]
    # The naive module's count with the same outputs (a mistake: the formula will do).
    naive = sum(kk * kk * c * w + w for kk, w in ((1, cfg.ch1x1), (3, cfg.ch3x3), (5, cfg.ch5x5)))
    w5 = k5 - cfg.ch5x5  # the 5×5 weights, without their biases
    mistakes = [
        FORGOT_BIAS.at(k.total - k.biases),
        INCEPTION_FORGOT_REDUCTIONS.at(k.total - r3 - r5),
        INCEPTION_NO_REDUCTION.at(naive + pp),
        INCEPTION_FORGOT_POOL_BRANCH.at(k.total - pp),
        INCEPTION_5X5_AS_3X3.at(k.total - w5 + w5 * 9 // 25),
    ]
    body = f"{who} receives {c} input channels. Its branches: {_reduced_text(cfg)}"
    terms = [b1, r3, k3, r5, k5, pp]
    return _Counted(k.total, body, params | _config_params(cfg), lines, terms, mistakes)


def _params_draft(rng: random.Random, difficulty: int) -> Draft:
    """Parameters: a naive module (1), a module with 1×1 reductions, sometimes GoogLeNet's
    own (2), a random module with reductions (3)."""
    m = _naive_params(rng) if difficulty == 1 else _reduced_params(rng, difficulty)
    solution = (
        "\n".join(m.lines)
        + f"\ntotal = {' + '.join(n(t) for t in m.terms)} = "
        + expected_display(_SPEC_PARAMS, m.truth)
    )
    return Draft(
        prompt=f"{m.body} How many parameters does the module have? {CONV_BIAS_RULE} "
        f"{PARAMS_RULE} Pooling, ReLUs and the concatenation have none.",
        params=m.params | {"bias": True},
        answer=_SPEC_PARAMS,
        truth=m.truth,
        solution=solution,
        mistakes=m.mistakes,
        conventions=(PARAMS_RULE, CONV_BIAS_RULE),
        hints=(
            "List every convolution of every branch, with the channels it sees and the "
            "filters it has; pooling has no parameters.",
            "A k×k convolution from a to b channels with bias has k·k·a·b + b parameters.",
            "With reductions, the 3×3 and 5×5 see only the reduced channels; the pool "
            "projection is a 1×1 from the module's input."
            if difficulty > 1
            else "Without reductions, every convolution sees all the input channels.",
        ),
    )


INCEPTION_OUTPUT_CHANNELS = Family(
    id="inception_output_channels",
    topic=TOPIC,
    title="Output channels of an inception module",
    answer_kind="number",
    generator=_channels_draft,
    expected_seconds=60.0,
    cards=("googlenet-inception-module", "googlenet-inception-3a-channels"),
)
INCEPTION_PARAMS = Family(
    id="inception_params",
    topic=TOPIC,
    title="Parameters of an inception module, naive or with 1×1 reductions",
    answer_kind="number",
    generator=_params_draft,
    expected_seconds=180.0,
    cards=("googlenet-1x1-reductions", "googlenet-naive-vs-reduced"),
)

FAMILIES: tuple[Family, ...] = (INCEPTION_OUTPUT_CHANNELS, INCEPTION_PARAMS)
