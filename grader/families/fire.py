"""SqueezeNet's fire module: its parameters and its output channels.

A fire module squeezes with s1x1 1×1 filters, then expands with e1x1 1×1 and e3x3 3×3 filters
(padding 1) whose outputs are concatenated; every convolution has a bias. Truths come from
``models.Fire`` built on the meta device: parameters from the module, channels from a forward
pass.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass, replace
from fractions import Fraction
from functools import lru_cache

from models import Fire, build_architecture, profile_architecture

from ..mistakes import FORGOT_BIAS, define
from ..question import Draft, Family
from ..types import AnswerSpec
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

__all__ = ["FIRE_MODULE_PARAMS", "FIRE_OUTPUT_CHANNELS", "FIRE_MODULE_STEPS", "FAMILIES"]

TOPIC = "squeezenet"

FIRE_FORGOT_EXPAND3X3 = define(
    "fire_forgot_expand3x3",
    "This leaves out the 3×3 expand branch: the squeezed map feeds both a 1×1 and a 3×3 expand "
    "convolution, and their outputs are concatenated.",
)
FIRE_FORGOT_EXPAND1X1 = define(
    "fire_forgot_expand1x1",
    "This leaves out the 1×1 expand branch: its maps are concatenated with the 3×3 branch's.",
)
FIRE_FORGOT_SQUEEZE = define(
    "fire_forgot_squeeze",
    "This leaves out the squeeze layer: a 1×1 convolution from the input channels to s1x1.",
)
FIRE_3X3_AS_1X1 = define(
    "fire_3x3_as_1x1",
    "This counts the 3×3 expand filters as 1×1: each has 3·3·s1x1 weights, not s1x1.",
)
FIRE_EXPAND_FROM_INPUT = define(
    "fire_expand_from_input",
    "The expand filters see the s1x1 squeezed channels, not the module's input channels: that "
    "is where the fire module saves its parameters.",
)
FIRE_PCT_SWAPPED = define(
    "fire_pct_swapped",
    "This swaps the 1×1 and 3×3 expand filters: pct3x3 is the share of 3×3 filters.",
)
FIRE_COUNTED_SQUEEZE = define(
    "fire_counted_squeeze",
    "The squeeze layer's maps are not part of the output: only the two expand outputs are "
    "concatenated.",
)
FIRE_SQUEEZE_ONLY = define(
    "fire_squeeze_only",
    "This is the squeeze layer's width; the module outputs the concatenated expand maps.",
)
FIRE_META_INDEX = define(
    "fire_meta_index",
    "This uses the wrong index i: fire2 is module i = 0, so fireN has i = N − 2.",
)

_SPEC_PARAMS = AnswerSpec.number("params", exact=True)
_SPEC_CHANNELS = AnswerSpec.number("channels")
_PCTS = (Fraction(1, 4), Fraction(1, 2), Fraction(3, 4))
_SQUEEZE_RATIOS = (Fraction(1, 8), Fraction(1, 4), Fraction(1, 2), Fraction(3, 4))


@lru_cache(maxsize=1)
def _squeezenet_fires() -> tuple[tuple[str, str, tuple[int, int, int], int, int, int], ...]:
    """(network, module, input (C, H, W), s1x1, e1x1, e3x3) of every fire of SqueezeNet 1.0/1.1.

    Read from the real networks built on meta and their cached profiles (the input sizes).
    """
    out = []
    for version in ("1_0", "1_1"):
        arch = f"squeezenet{version}"
        prof = profile_architecture(arch)
        for name, m in build_architecture(arch).named_children():
            if isinstance(m, Fire):
                c, h, w = prof.row(f"{name}.squeeze").input_shape[1:]
                out.append(
                    (
                        f"SqueezeNet {version.replace('_', '.')}",
                        name,
                        (c, h, w),
                        m.squeeze.out_channels,
                        m.expand1x1.out_channels,
                        m.expand3x3.out_channels,
                    )
                )
    return tuple(out)


def _pct_text(p: Fraction) -> str:
    return f"{float(p):g}"


@dataclass(frozen=True)
class FireSetup:
    """One fire module (``models.Fire(c, s, e1, e3)``), its input side and how it is put."""

    c: int
    s: int
    e1: int
    e3: int
    side: int
    what: str  # the sentence that describes it (widths, or the meta-parameters)
    params: Mapping[str, object]  # every number of that sentence
    derive: str = ""  # how the widths follow from meta-parameters, for the solution
    asked: str = "the module"  # "the module", or "fire5" when a network's index is asked
    who: str = "A fire module"  # or "SqueezeNet 1.0's fire2"

    def widths_text(self) -> str:
        """``s1x1 = 16 squeeze filters, e1x1 = 64 and e3x3 = 64 expand filters``."""
        return (
            f"s1x1 = {self.s} squeeze filters, e1x1 = {self.e1} and e3x3 = {self.e3} expand filters"
        )


def _widths_params(c: int, s: int, e1: int, e3: int) -> dict[str, object]:
    return {"in_channels": c, "squeeze_planes": s, "expand1x1_planes": e1, "expand3x3_planes": e3}


def _real_fire(rng: random.Random) -> FireSetup:
    """A fire module of SqueezeNet 1.0 or 1.1, at its own input size."""
    net, name, (c, h, _), s, e1, e3 = rng.choice(_squeezenet_fires())
    arch = "squeezenet" + net.removeprefix("SqueezeNet ").replace(".", "_")
    params = {"architecture": arch, "module": name, **_widths_params(c, s, e1, e3)}
    setup = FireSetup(c, s, e1, e3, h, "", params, who=f"{net}'s {name}")
    return replace(setup, what=f"{setup.who} has {c} input channels, {setup.widths_text()}.")


def _drawn_fire(rng: random.Random, proportional: bool, c_max: int) -> FireSetup:
    """A fire module of round widths: SqueezeNet's e1x1 = e3x3 = 4·s1x1, or any widths."""
    s = 8 * rng.randint(1, 12)
    e1 = 4 * s if proportional else 16 * rng.randint(1, 24)
    e3 = 4 * s if proportional else 16 * rng.randint(1, 24)
    c, side = 32 * rng.randint(2, c_max), rng.choice((13, 14, 27, 28, 55, 56))
    setup = FireSetup(c, s, e1, e3, side, "", _widths_params(c, s, e1, e3))
    return replace(setup, what=f"A fire module has {c} input channels, {setup.widths_text()}.")


def _meta_fire(rng: random.Random) -> FireSetup:
    """A fire module given by the paper's e, pct3x3 and SR (s1x1 = SR·e, e3x3 = pct3x3·e)."""
    e, pct, sr = (
        rng.choice((128, 192, 256, 384, 512, 768)),
        rng.choice(_PCTS),
        rng.choice(_SQUEEZE_RATIOS),
    )
    c, e3, s = 32 * rng.randint(2, 24), int(pct * e), int(sr * e)
    what = (
        f"A fire module has {c} input channels and e = {e} expand filters in all, a share "
        f"pct3x3 = {_pct_text(pct)} of them 3×3 (the rest 1×1), and squeeze ratio "
        f"SR = {_pct_text(sr)} (s1x1 = SR·e)."
    )
    params = {
        "in_channels": c,
        "expand_planes": e,
        "pct3x3": float(pct),
        "squeeze_ratio": float(sr),
    }
    derive = (
        f"s1x1 = SR·e = {_pct_text(sr)}·{e} = {s}; e3x3 = pct3x3·e = {_pct_text(pct)}·{e} "
        f"= {e3}; e1x1 = e − e3x3 = {e - e3}.\n"
    )
    return FireSetup(c, s, e - e3, e3, 13, what, params, derive)


def _network_fire(rng: random.Random) -> tuple[FireSetup, list[int]]:
    """Fire module i of a SqueezeNet given by its meta-parameters (e_i = base_e +
    incr_e·⌊i/freq⌋), and the widths a wrong index i would give."""
    base_e, incr_e, freq = rng.choice((64, 128)), rng.choice((32, 64, 128)), rng.choice((1, 2, 3))
    pct, sr, i = rng.choice(_PCTS), rng.choice(_SQUEEZE_RATIOS), rng.randint(1, 7)

    def e_of(j: int) -> int:
        return base_e + incr_e * (j // freq)

    e, c = e_of(i), e_of(i - 1)  # fire modules follow each other (pooling keeps the channels)
    e3, s, side = int(pct * e), int(sr * e), rng.choice((13, 27, 55))
    what = (
        f"A SqueezeNet is specified by its meta-parameters base_e = {base_e}, incr_e = {incr_e}, "
        f"freq = {freq}, pct3x3 = {_pct_text(pct)} and SR = {_pct_text(sr)}: fire module i "
        f"(i = 0 for fire2, 1 for fire3, ...) has e_i = base_e + incr_e·⌊i/freq⌋ expand "
        f"filters, a share pct3x3 of them 3×3 and the rest 1×1, and s1x1 = SR·e_i squeeze "
        f"filters. fire{i + 2} receives a {c}×{side}×{side} input."
    )
    params = {
        "base_e": base_e,
        "incr_e": incr_e,
        "freq": freq,
        "pct3x3": float(pct),
        "squeeze_ratio": float(sr),
        "module": f"fire{i + 2}",
        "in_channels": c,
    }
    derive = (
        f"fire{i + 2} is module i = {i}: e_{i} = {base_e} + {incr_e}·⌊{i}/{freq}⌋ = {e}, "
        f"so e3x3 = {_pct_text(pct)}·{e} = {e3}, e1x1 = {e - e3}, s1x1 = {s}.\n"
    )
    setup = FireSetup(c, s, e - e3, e3, side, what, params, derive, f"fire{i + 2}")
    # Counting fire2 as i = 1, or using the module's number as i.
    return setup, [e_of(i + 1), e_of(i + 2)]


# -- parameters -------------------------------------------------------------------------------


def _draw_for_params(rng: random.Random, difficulty: int) -> FireSetup:
    """SqueezeNet's own fires or its proportions (1), any widths (2), meta-parameters (3)."""
    if difficulty == 1:
        return _real_fire(rng) if rng.random() < 0.2 else _drawn_fire(rng, True, 24)
    return _drawn_fire(rng, False, 16) if difficulty == 2 else _meta_fire(rng)


def _params_draft(rng: random.Random, difficulty: int) -> Draft:
    """Parameters of one fire module."""
    f = _draw_for_params(rng, difficulty)
    k = block_counts(Fire, (f.c, f.s, f.e1, f.e3), ("squeeze", "expand1x1", "expand3x3"))
    truth = k.total
    sq, x1, x3 = (k.parts[p] for p in ("squeeze", "expand1x1", "expand3x3"))
    solution = (
        f"{f.derive}squeeze 1×1 ({f.c}→{f.s}): {f.c}·{f.s} + {f.s} = {n(sq)}\n"
        f"expand1x1 ({f.s}→{f.e1}): {f.s}·{f.e1} + {f.e1} = {n(x1)}\n"
        f"expand3x3 ({f.s}→{f.e3}): 3·3·{f.s}·{f.e3} + {f.e3} = {n(x3)}\n"
        f"total = {n(sq)} + {n(x1)} + {n(x3)} = {expected_display(_SPEC_PARAMS, truth)}"
    )
    w3 = x3 - f.e3  # the 3×3 weights, without their biases
    mistakes = [
        FORGOT_BIAS.at(truth - k.biases),
        FIRE_FORGOT_EXPAND3X3.at(truth - x3),
        FIRE_FORGOT_SQUEEZE.at(truth - sq),
        FIRE_3X3_AS_1X1.at(truth - w3 + w3 // 9),
        FIRE_EXPAND_FROM_INPUT.at(sq + (f.c * f.e1 + f.e1) + (9 * f.c * f.e3 + f.e3)),
        # Swapping the shares of 1×1 and 3×3 filters (the formula will do for a mistake).
        FIRE_PCT_SWAPPED.at(sq + (f.s * f.e3 + f.e3) + (9 * f.s * f.e1 + f.e1))
        if f.derive
        else None,
    ]
    return Draft(
        prompt=f"{f.what} How many parameters does the module have? {CONV_BIAS_RULE} "
        f"{PARAMS_RULE} ReLUs and the concatenation have none.",
        params={**f.params, "bias": True},
        answer=_SPEC_PARAMS,
        truth=truth,
        solution=solution,
        mistakes=mistakes,
        conventions=(PARAMS_RULE, CONV_BIAS_RULE),
        hints=_param_hints(f.c, f.s, f.e1, f.e3),
    )


def _param_hints(c: int, s: int, e1: int, e3: int) -> tuple[str, ...]:
    return (
        "Count the three convolutions: the squeeze sees the module's input, both expand "
        "layers see only the squeezed channels.",
        "A k×k convolution from a to b channels with bias has k·k·a·b + b parameters.",
        f"Here: squeeze 1×1 {c}→{s}; expand 1×1 {s}→{e1}; expand 3×3 {s}→{e3}.",
    )


# -- output channels --------------------------------------------------------------------------


def _channels_draft(rng: random.Random, difficulty: int) -> Draft:
    """Output channels of a fire module: SqueezeNet's own or its proportions (1), any widths
    (2), or from the paper's meta-parameters e_i = base_e + incr_e·⌊i/freq⌋ (3)."""
    wrong_index: list[int] = []
    if difficulty == 3:
        f, wrong_index = _network_fire(rng)
    elif difficulty == 1 and rng.random() < 0.3:
        f = _real_fire(rng)
    else:
        f = _drawn_fire(rng, difficulty == 1, 16)
    if not f.derive:  # the input's size is part of the sentence
        size = f"{f.c}×{f.side}×{f.side}"
        f = replace(f, what=f"{f.who} receives a {size} input and has {f.widths_text()}.")
    out = _fire_out_channels(f.c, f.s, f.e1, f.e3, f.side, f.side)
    truth = out[1]
    prompt = (
        f"{f.what} The 3×3 expand convolution has padding 1, and the two expand outputs are "
        f"concatenated along the channel dimension. How many channels does {f.asked} output?"
    )
    solution = (
        f"{f.derive}The squeeze output ({f.s} channels) feeds both expand layers; their outputs "
        f"({'×'.join(map(str, out))} with the batch first) are concatenated: e1x1 + e3x3 = "
        f"{f.e1} + {f.e3} = {expected_display(_SPEC_CHANNELS, truth)}"
    )
    mistakes = [
        FIRE_COUNTED_SQUEEZE.at(f.s + truth),
        FIRE_FORGOT_EXPAND3X3.at(truth - f.e3),
        FIRE_FORGOT_EXPAND1X1.at(truth - f.e1),
        FIRE_SQUEEZE_ONLY.at(f.s),
        *(FIRE_META_INDEX.at(v) for v in wrong_index),
    ]
    index = (f"First work out e_i for {f.asked}: it is module i = {f.asked[4:]} − 2.",)
    return Draft(
        prompt=prompt,
        params={**f.params, "height": f.side, "width": f.side},
        answer=_SPEC_CHANNELS,
        truth=truth,
        solution=solution,
        mistakes=mistakes,
        conventions=(CHANNELS_RULE,),
        hints=(
            "Follow the squeezed map: it feeds both expand layers, and only their outputs "
            "are concatenated.",
            "The output has e1x1 + e3x3 channels (the 3×3 padding keeps the two maps the same "
            "size).",
        )
        + (index if f.asked != "the module" else ()),
    )


@lru_cache(maxsize=1024)
def _fire_out_channels(c: int, s: int, e1: int, e3: int, h: int, w: int) -> tuple[int, ...]:
    """The output shape of ``Fire(c, s, e1, e3)`` on a (1, c, h, w) input, by a meta forward."""
    return output_shape(on_meta(Fire, c, s, e1, e3), (c, h, w))


# -- step by step: squeeze, expand, output --------------------------------------------------

FIRE_STEP_PARTS = ("squeeze", "expand", "channels")


def _steps_draft(rng: random.Random, difficulty: int) -> Draft:
    """A fire module's squeeze and expand parameters and its output channels: SqueezeNet's
    proportions (1), any widths (2), from the meta-parameters e, pct3x3 and SR (3)."""
    if difficulty == 3:
        e, pct, sr = (
            rng.choice((128, 192, 256, 384, 512)),
            rng.choice(_PCTS),
            rng.choice(_SQUEEZE_RATIOS),
        )
        s, e3 = int(sr * e), int(pct * e)
        e1, derive = e - e3, f" (e = {e}, pct3x3 = {_pct_text(pct)}, SR = {_pct_text(sr)})"
        meta: dict[str, object] = {
            "expand_planes": e,
            "pct3x3": float(pct),
            "squeeze_ratio": float(sr),
        }
    else:
        s = 8 * rng.randint(1, 12)
        e1 = 4 * s if difficulty == 1 else 16 * rng.randint(1, 24)
        e3 = 4 * s if difficulty == 1 else 16 * rng.randint(1, 24)
        derive, meta = "", {}
    c, side = 32 * rng.randint(2, 16), rng.choice((13, 27, 55))
    k = block_counts(Fire, (c, s, e1, e3), ("squeeze", "expand1x1", "expand3x3"))
    out = _fire_out_channels(c, s, e1, e3, side, side)
    expand = k.parts["expand1x1"] + k.parts["expand3x3"]
    truth = {"squeeze": k.parts["squeeze"], "expand": expand, "channels": out[1]}
    spec = AnswerSpec.multi(
        {"squeeze": _SPEC_PARAMS, "expand": _SPEC_PARAMS, "channels": _SPEC_CHANNELS}
    )
    widths = (
        f"s1x1 = SR·e, e3x3 = pct3x3·e and e1x1 = e − e3x3{derive}"
        if derive
        else f"s1x1 = {s}, e1x1 = {e1}, e3x3 = {e3}"
    )
    prompt = (
        f"A fire module receives a {c}×{side}×{side} input; {widths}. Give (a) squeeze, the "
        f"parameters of the squeeze layer; (b) expand, the parameters of both expand layers "
        f"together; (c) channels, the channels it outputs. The 3×3 expand has padding 1. "
        f"{CONV_BIAS_RULE} {PARAMS_RULE}"
    )
    solution = (
        (f"s1x1 = {s}, e3x3 = {e3}, e1x1 = {e1}\n" if derive else "")
        + f"squeeze: {c}·{s} + {s} = {expected_display(_SPEC_PARAMS, truth['squeeze'])}\n"
        f"expand: ({s}·{e1} + {e1}) + (3·3·{s}·{e3} + {e3}) = "
        f"{expected_display(_SPEC_PARAMS, expand)}\n"
        f"channels: {e1} + {e3} = {expected_display(_SPEC_CHANNELS, out[1])}"
    )
    mistakes = [
        FORGOT_BIAS.at({"squeeze": truth["squeeze"] - s, "expand": expand - e1 - e3}),
        FIRE_EXPAND_FROM_INPUT.at({"expand": (c * e1 + e1) + (9 * c * e3 + e3)}),
        FIRE_3X3_AS_1X1.at({"expand": (s * e1 + e1) + (s * e3 + e3)}),
        FIRE_FORGOT_EXPAND3X3.at({"expand": s * e1 + e1, "channels": e1}),
        FIRE_COUNTED_SQUEEZE.at({"channels": s + out[1]}),
    ]
    return Draft(
        prompt=prompt,
        params={"in_channels": c, "height": side, "width": side}
        | (meta or {"squeeze_planes": s, "expand1x1_planes": e1, "expand3x3_planes": e3}),
        answer=spec,
        truth=truth,
        solution=solution,
        mistakes=mistakes,
        conventions=(PARAMS_RULE, CONV_BIAS_RULE, CHANNELS_RULE),
        hints=_param_hints(c, s, e1, e3)[:2]
        + ("The output concatenates the two expand outputs; the squeezed map is not in it.",),
    )


FIRE_MODULE_PARAMS = Family(
    id="fire_module_params",
    topic=TOPIC,
    title="Parameters of a SqueezeNet fire module",
    answer_kind="number",
    generator=_params_draft,
    expected_seconds=120.0,
    cards=("squeezenet-fire-module", "squeezenet-fire2-params"),
)
FIRE_OUTPUT_CHANNELS = Family(
    id="fire_output_channels",
    topic=TOPIC,
    title="Output channels of a SqueezeNet fire module",
    answer_kind="number",
    generator=_channels_draft,
    expected_seconds=45.0,
    cards=("squeezenet-fire-module",),
)
FIRE_MODULE_STEPS = Family(
    id="fire_module_steps",
    topic=TOPIC,
    title="A fire module step by step: squeeze, expand, output channels",
    answer_kind="parts",
    generator=_steps_draft,
    expected_seconds=180.0,
    cards=("squeezenet-fire-module", "squeezenet-squeeze-ratio", "squeezenet-pct-3x3"),
)

FAMILIES: tuple[Family, ...] = (FIRE_MODULE_PARAMS, FIRE_OUTPUT_CHANNELS, FIRE_MODULE_STEPS)
