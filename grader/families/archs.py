"""Architecture-level questions, answered from the real networks' cached profiles.

Which AlexNet / VGG-16 layer has the most parameters, MACs or activation memory; how many
parameters and MACs a named network has; what share of the parameters sits in the fully
connected layers. Every truth is read from ``models.profile_architecture`` (cached per network,
so only the first question about a network pays for its profile) or ``models.alexnet_table``.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache

from models import (
    ALEXNET_TABLE_LAYERS,
    ARCHITECTURES,
    LayerRow,
    Profile,
    alexnet_table,
    build_architecture,
    profile_architecture,
)

from ..mistakes import COUNTED_BN_BUFFERS, FORGOT_BIAS, MACS_VS_FLOPS, define
from ..question import Draft, Family
from ..types import AnswerSpec, Mistake
from ._block_util import (
    BATCH_1,
    FORGOT_BN,
    MACS_RULE,
    PARAMS_RULE,
    RATIO_HINT,
    THREE_SIG_FIGS,
    bias_count,
    bn_buffer_count,
    bn_param_count,
    expected_display,
    keep_mistakes,
    n,
)

__all__ = ["ARCH_LARGEST_LAYER", "ARCH_TOTAL_PARAMS", "ARCH_TOTAL_MACS", "ARCH_FC_PARAM_SHARE"]

_METRICS = {
    "params": "the most parameters",
    "macs": "the most MACs",
    "activation": "the most activation memory",
}
_SECOND = {
    "params": "the second most parameters",
    "macs": "the second most MACs",
    "activation": "the second most activation memory",
}
_PICKED = {
    "params": define(
        "arch_picked_most_params",
        "This layer has the most parameters: fully connected layers hold the weights, one per "
        "input-output pair, but use each only once.",
    ),
    "macs": define(
        "arch_picked_most_macs",
        "This layer does the most MACs: convolutions reuse their few weights at every output "
        "position, so they dominate the compute.",
    ),
    "activation": define(
        "arch_picked_most_activation",
        "This layer has the largest output: activations are largest early, at high resolution, "
        "not where the weights or the compute are.",
    ),
}
ARCH_PICKED_FIRST = define(
    "arch_picked_first",
    "This is the largest one; the question asks for the second largest.",
)
ARCH_FORGOT_FC = define(
    "arch_forgot_fc",
    "This leaves out the fully connected (Linear) layers.",
)
ARCH_WRONG_INPUT_SIZE = define(
    "arch_wrong_input_size",
    "This is the count at 224×224; at 227×227 every feature map is larger (conv1 gives 56×56, "
    "not 55×55).",
)
ARCH_CONV_SHARE = define(
    "arch_conv_share",
    "This is the share of the other layers; the question asks for the fully connected ones.",
)
ARCH_FC_OVER_CONV = define(
    "arch_fc_over_conv",
    "This divides by the other layers' parameters; the share divides by the total.",
)
ARCH_FIRST_FC_ONLY = define(
    "arch_first_fc_only",
    "This counts only the first fully connected layer; every Linear layer counts.",
)

_RULES = {
    "params": "Parameters are the learnable weights and biases.",
    "macs": "MACs are the multiply-accumulates of the convolutions and fully connected layers "
    "(bias additions, pooling and activations count 0).",
    "activation": "Activation memory is the layer's output: elements × 4 bytes (float32).",
}
_MEMBERS = ("Conv2d", "MaxPool2d", "Linear")


def _net_text(name: str, prof: Profile | None = None) -> str:
    """The network's title and variant, and its input size when ``prof`` is given."""
    spec = ARCHITECTURES[name]
    # The registry's first clause says which variant it is; the rest is provenance.
    variant = spec.variant.split(";")[0].rstrip(". ")
    if prof is None:
        return f"{spec.title} ({variant}; 1000 classes)"
    c, h, w = prof.input_shape[1:]
    return f"{spec.title} ({variant}; 1000 classes) on a {c}×{h}×{w} input"


def _value(row: LayerRow, metric: str) -> int:
    return {"params": row.params, "macs": row.macs, "activation": row.activation_bytes}[metric]


@lru_cache(maxsize=4)
def _layer_rows(name: str) -> tuple[LayerRow, ...]:
    """The table layers of ``name``: AlexNet's lecture table, VGG's conv, pool and FC layers."""
    if name == "alexnet":
        rows = tuple(alexnet_table())
        assert tuple(r.name for r in rows) == ALEXNET_TABLE_LAYERS
        return rows
    return tuple(r for r in profile_architecture(name).rows if r.type in _MEMBERS)


def _unique_at(rows: list[LayerRow], metric: str, rank: int) -> LayerRow | None:
    """The layer ranked ``rank`` (1 = largest) by ``metric``, if no other layer ties it."""
    values = sorted((_value(r, metric) for r in rows), reverse=True)
    target = values[rank - 1]
    if values.count(target) != 1 or target == 0:
        return None
    return next(r for r in rows if _value(r, metric) == target)


def _largest_draft(rng: random.Random, difficulty: int) -> Draft:
    """The AlexNet layer with the most of a metric (1); the VGG-16 layer among a few (2); the
    second largest, in AlexNet or among VGG-16 layers (3). Ties are never asked."""
    rank = 2 if difficulty == 3 else 1
    net = "alexnet" if difficulty == 1 or (difficulty == 3 and rng.random() < 0.5) else "vgg16"
    all_rows = list(_layer_rows(net))
    choices: list[LayerRow] = []
    answer: LayerRow | None = None
    metric = "params"
    for _ in range(100):
        metric = rng.choice(tuple(_METRICS))
        if net == "alexnet":
            choices = all_rows
        else:
            size = rng.randint(5, 8)
            picked = sorted(rng.sample(range(len(all_rows)), size))
            choices = [all_rows[i] for i in picked]
        answer = _unique_at(choices, metric, rank)
        if answer is not None:
            break
    else:  # never reached in practice: AlexNet's fc6 and fc7 always rank 1 and 2 by params
        metric, choices = "params", all_rows
        answer = _unique_at(choices, metric, rank)
    assert answer is not None
    prof = profile_architecture(net)
    names = [r.name for r in choices]
    spec = AnswerSpec.choice(*names)
    asked = (_SECOND if rank == 2 else _METRICS)[metric]
    prompt = (
        f"In {_net_text(net, prof)}, batch 1, which of these layers has {asked}: "
        f"{', '.join(names)}? {_RULES[metric]} Pooling layers have no parameters and no MACs. "
        "Answer with the letter or the layer's name."
    )
    unit = {"params": "params", "macs": "MACs", "activation": "B"}[metric]
    lines = [f"{r.name}: {n(_value(r, metric))} {unit}" for r in choices]
    lines.append(f"{'second ' if rank == 2 else ''}largest: {expected_display(spec, answer.name)}")
    mistakes: list[Mistake] = []
    for other, kind in _PICKED.items():
        if other != metric:
            top = _unique_at(choices, other, 1)
            if top is not None:
                mistakes.append(kind.at(top.name))
    if rank == 2:
        top = _unique_at(choices, metric, 1)
        if top is not None:
            mistakes.append(ARCH_PICKED_FIRST.at(top.name))
    return Draft(
        prompt=prompt,
        params={
            "architecture": net,
            "in_channels": prof.input_shape[1],
            "height": prof.input_shape[2],
            "width": prof.input_shape[3],
            "batch": 1,
            "dtype": "float32",
            "metric": metric,
            "rank": rank,
        },
        answer=spec,
        truth=answer.name,
        solution="\n".join(lines),
        mistakes=keep_mistakes(spec, answer.name, mistakes),
        conventions=(_RULES[metric], BATCH_1),
    )


# -- totals -----------------------------------------------------------------------------------

# Grouped by difficulty: the classic large networks, the efficient ones, and variants.
_PARAM_NETS = (
    ("alexnet", "vgg16", "vgg19", "resnet18", "resnet34", "resnet50"),
    ("squeezenet1_0", "squeezenet1_1", "mobilenet_v1", "mobilenet_v2", "densenet121"),
    ("resnext50_32x4d", "se_resnet50", "shufflenet_v2_x1_0", "shufflenet_v2_x2_0"),
)
_MAC_NETS = (
    _PARAM_NETS[0],
    _PARAM_NETS[1],
    (*_PARAM_NETS[2], "resnet50_v1", "shufflenet_v1_g3"),
)


@dataclass(frozen=True)
class _Counts:
    """What counting mistakes would change, read from the real network built on meta."""

    biases: int
    bn_params: int
    bn_buffers: int


@lru_cache(maxsize=32)
def _counts(name: str) -> _Counts:
    net = build_architecture(name)
    return _Counts(bias_count(net), bn_param_count(net), bn_buffer_count(net))


def _by_type(prof: Profile, attr: str) -> dict[str, int]:
    """Totals of the leaf rows by layer type (Conv2d, BatchNorm2d, Linear), non-zero only."""
    out: dict[str, int] = {}
    for r in prof.rows:
        value = getattr(r, attr)
        if value:
            out[r.type] = out.get(r.type, 0) + value
    return out


def _sum_text(groups: dict[str, int]) -> str:
    """``"Conv2d layers 1,234 + Linear layers 5,678 = "``: the totals by type, before the sum."""
    if len(groups) == 1:
        return f"all in the {next(iter(groups))} layers: "
    return " + ".join(f"{t} layers {n(v)}" for t, v in groups.items()) + " = "


def _total_params_draft(rng: random.Random, difficulty: int) -> Draft:
    """Total parameters of a classic (1), efficient (2) or variant (3) network."""
    name = rng.choice(_PARAM_NETS[difficulty - 1])
    prof = profile_architecture(name)
    spec = AnswerSpec.number("params", min_sig_figs=3)
    truth = prof.params
    counts = _counts(name)
    prompt = (
        f"How many parameters does {_net_text(name)} have? "
        f"{PARAMS_RULE} Batch norm's γ and β count; its running mean and variance are buffers, "
        f"not parameters. {THREE_SIG_FIGS}"
    )
    groups = _by_type(prof, "params")
    solution = _sum_text(groups) + expected_display(spec, truth)
    mistakes = [
        COUNTED_BN_BUFFERS.at(truth + counts.bn_buffers),
        FORGOT_BN.at(truth - counts.bn_params),
        FORGOT_BIAS.at(truth - counts.biases),
        ARCH_FORGOT_FC.at(truth - groups.get("Linear", 0)),
    ]
    return Draft(
        prompt=prompt,
        params={"architecture": name, "num_classes": 1000},
        answer=spec,
        truth=truth,
        solution=solution,
        mistakes=keep_mistakes(spec, truth, mistakes),
        conventions=(PARAMS_RULE, "BatchNorm running statistics are buffers, not parameters."),
    )


def _total_macs_draft(rng: random.Random, difficulty: int) -> Draft:
    """MACs of one forward pass of a classic (1), efficient (2) or variant (3) network."""
    name = rng.choice(_MAC_NETS[difficulty - 1])
    prof = profile_architecture(name)
    spec = AnswerSpec.number("macs", min_sig_figs=3)
    truth = prof.macs
    prompt = (
        f"How many MACs does one forward pass of {_net_text(name, prof)} take? {MACS_RULE} "
        f"{BATCH_1} {THREE_SIG_FIGS.replace('25.6M', '4.09G or 4.09 GMACs')}"
    )
    groups = _by_type(prof, "macs")
    solution = _sum_text(groups) + expected_display(spec, truth)
    mistakes = [
        MACS_VS_FLOPS.at(2 * truth),
        ARCH_FORGOT_FC.at(truth - groups.get("Linear", 0)),
    ]
    if prof.input_shape[-1] != 224:
        mistakes.append(ARCH_WRONG_INPUT_SIZE.at(profile_architecture(name, (3, 224, 224)).macs))
    c, h, w = prof.input_shape[1:]
    return Draft(
        prompt=prompt,
        params={
            "architecture": name,
            "in_channels": c,
            "height": h,
            "width": w,
            "batch": 1,
            "num_classes": 1000,
        },
        answer=spec,
        truth=truth,
        solution=solution,
        mistakes=keep_mistakes(spec, truth, mistakes),
        conventions=(MACS_RULE, BATCH_1),
    )


# -- share of the fully connected layers ------------------------------------------------------

# AlexNet and VGG, whose FC layers hold most of the weights; ResNets, whose global average
# pooling leaves one FC layer; efficient networks, where that one layer is a large share again.
_FC_NETS = (
    ("alexnet", "vgg16", "vgg19"),
    ("resnet18", "resnet34", "resnet50", "resnext50_32x4d"),
    ("mobilenet_v1", "mobilenet_v2", "densenet121", "shufflenet_v2_x1_0"),
)


def _fc_share_draft(rng: random.Random, difficulty: int) -> Draft:
    """Share of the parameters in Linear layers: AlexNet or VGG (1), a ResNet (2), an efficient
    network (3)."""
    name = rng.choice(_FC_NETS[difficulty - 1])
    prof = profile_architecture(name)
    spec = AnswerSpec.ratio()
    fc_rows = [r for r in prof.rows if r.type == "Linear"]
    fc = sum(r.params for r in fc_rows)
    truth = Fraction(fc, prof.params)
    other = prof.params - fc
    prompt = (
        f"What share of the parameters of {_net_text(name)} is in its "
        f"fully connected (nn.Linear) layers? {PARAMS_RULE} Batch norm's γ and β count as "
        f"parameters. {RATIO_HINT}"
    )
    solution = (
        f"fully connected: {' + '.join(f'{r.name} {n(r.params)}' for r in fc_rows)} = {n(fc)}\n"
        f"total: {n(prof.params)}\n"
        f"share = {n(fc)} / {n(prof.params)} = {expected_display(spec, truth)}"
    )
    mistakes = [
        ARCH_CONV_SHARE.at(1 - truth),
        ARCH_FC_OVER_CONV.at(Fraction(fc, other)),
        ARCH_FIRST_FC_ONLY.at(Fraction(fc_rows[0].params, prof.params)),
    ]
    return Draft(
        prompt=prompt,
        params={"architecture": name, "num_classes": 1000},
        answer=spec,
        truth=truth,
        solution=solution,
        mistakes=keep_mistakes(spec, truth, mistakes),
        conventions=(PARAMS_RULE, "A share is a ratio: within 1% (relative) is correct."),
    )


ARCH_LARGEST_LAYER = Family(
    id="arch_largest_layer",
    topic="alexnet",
    title="Which AlexNet or VGG-16 layer has the most parameters, MACs or activation memory",
    answer_kind="choice",
    generator=_largest_draft,
    expected_seconds=45.0,
    architecture_level=True,
)

ARCH_TOTAL_PARAMS = Family(
    id="arch_total_params",
    topic="squeezenet",
    title="Total parameters of a named architecture",
    answer_kind="number",
    generator=_total_params_draft,
    expected_seconds=60.0,
    architecture_level=True,
)

ARCH_TOTAL_MACS = Family(
    id="arch_total_macs",
    topic="mobilenet-v1",
    title="Total MACs of a named architecture",
    answer_kind="number",
    generator=_total_macs_draft,
    expected_seconds=60.0,
    architecture_level=True,
)

ARCH_FC_PARAM_SHARE = Family(
    id="arch_fc_param_share",
    topic="global-avg-pooling",
    title="Share of the parameters in the fully connected layers",
    answer_kind="number",
    generator=_fc_share_draft,
    expected_seconds=90.0,
    architecture_level=True,
)
