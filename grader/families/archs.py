"""Whole-network questions, answered from the real networks' cached profiles.

One family per topic that has networks (``NETWORKS``), carrying that topic, so an exam restricted
to a topic only meets that topic's networks: total parameters or MACs (1), the share of the MACs
or parameters in one kind of layer (2) or in one stage (3). Every solution breaks the total down
by stage and by kind of layer (``models.breakdown``). Also: which AlexNet or VGG-16 layer has the
most parameters, MACs or activation memory, and what share of a network's parameters sits in its
fully connected layers (the lesson of global average pooling). Every truth is read from
``models.profile_architecture`` (cached per network) or ``models.alexnet_table``.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache

from torch import nn

from models import (
    ALEXNET_TABLE_LAYERS,
    ARCHITECTURES,
    LayerRow,
    Profile,
    alexnet_table,
    build_architecture,
    profile_architecture,
)
from models.breakdown import NO_COST, OUTSIDE, Share, by_stage, by_type

from ..mistakes import COUNTED_BN_BUFFERS, FORGOT_BIAS, MACS_VS_FLOPS, define
from ..question import Draft, Family
from ..types import AnswerSpec, Mistake
from ._base import (
    BATCH_1,
    FORGOT_BN,
    MACS_RULE,
    PARAMS_RULE,
    bias_count,
    bn_buffer_count,
    bn_param_count,
    expected_display,
    figures_to_tell_apart,
    n,
    outside_band,
)

__all__ = [
    "Network",
    "registry_network",
    "stack_network",
    "stack_family",
    "network_draft",
    "NETWORKS",
    "ARCH_LARGEST_LAYER",
    "VGG_LARGEST_LAYER",
    "ARCH_FC_PARAM_SHARE",
    "FAMILIES",
]

# The registry's networks by the note topic that teaches them.
NETWORKS: dict[str, tuple[str, ...]] = {
    "alexnet": ("alexnet",),
    "vgg": ("vgg16", "vgg19"),
    "googlenet": ("googlenet",),
    "resnet": ("resnet18", "resnet34", "resnet50", "resnet50_v1"),
    "resnext": ("resnext50_32x4d",),
    "senet": ("se_resnet50",),
    "densenet": ("densenet121",),
    "squeezenet": ("squeezenet1_0", "squeezenet1_1"),
    "mobilenet-v1": ("mobilenet_v1",),
    "mobilenet-v2": ("mobilenet_v2",),
    "shufflenet-v1": ("shufflenet_v1_g3", "shufflenet_v1_g8"),
    "shufflenet-v2": (
        "shufflenet_v2_x0_5",
        "shufflenet_v2_x1_0",
        "shufflenet_v2_x1_5",
        "shufflenet_v2_x2_0",
    ),
}
# What the registry's title leaves unsaid, in a few words.
_NOTES = {
    "alexnet": "torchvision's single-tower version, 64-192-384-256-256 filters",
    "googlenet": "the paper's network with 5×5 branches, no auxiliary classifiers",
    "se_resnet50": "ResNet-50 v1 with an SE block (r = 16) in every residual block",
    "densenet121": "DenseNet-BC, growth rate 32",
    "resnet50": "stride on the 3×3 of each bottleneck",
    "resnet50_v1": "stride on the first 1×1 of each bottleneck",
    "vgg16": "configuration D, no batch norm",
    "vgg19": "configuration E, no batch norm",
}

ARCH_FORGOT_FC = define(
    "arch_forgot_fc",
    "This leaves out the fully connected (Linear) layers.",
)
ARCH_WRONG_INPUT_SIZE = define(
    "arch_wrong_input_size",
    "This is the count at 224×224; at 227×227 every feature map is larger (conv1 gives 56×56, "
    "not 55×55).",
)
ARCH_SHARE_OF_THE_REST = define(
    "arch_share_of_the_rest",
    "This is the share of everything else; the question asks for the group named.",
)
ARCH_SHARE_OTHER_QUANTITY = define(
    "arch_share_other_quantity",
    "This is the group's share of the other quantity: where the parameters sit is not where "
    "the MACs are spent.",
)
_TOTAL_HINT = {
    "params": "Count the parameters stage by stage (or kind of layer by kind of layer) and add "
    "them up; batch norm's γ and β count, its running statistics do not.",
    "macs": "Count the MACs stage by stage and add them up: each convolution costs "
    "H_out·W_out·C_out·(C_in/groups)·k_h·k_w, each linear layer in·out; the rest costs 0.",
}


@dataclass(frozen=True)
class _Counts:
    """What counting mistakes would change, read from the real network built on meta."""

    biases: int
    bn_params: int
    bn_buffers: int


def net_name(name: str) -> str:
    """The network as a prompt names it: ``ResNet-50 (v1.5; stride on the 3×3 ...)``."""
    spec = ARCHITECTURES[name]
    note = _NOTES.get(name)
    if note is None:
        return spec.title
    return f"{spec.title}, {note}," if spec.title.endswith(")") else f"{spec.title} ({note})"


@dataclass(frozen=True)
class Network:
    """The network a question is about: how prompts name it, its profile, and the counts
    that counting mistakes change. A registry network (``registry_network``) or any layer
    stack, such as an instructor's course network (``stack_network``)."""

    key: str  # the registry name, or the caller's key for a stack
    title: str  # as a prompt names it, variant included
    prof: Profile
    counts: _Counts
    classes: int | None = 1000  # output classes to state, if any
    at_224_macs: int | None = None  # the MACs at 224×224 when the input is another size

    def text(self) -> str:
        """The network and its input, for a prompt."""
        c, h, w = self.prof.input_shape[1:]
        classes = f", {self.classes} classes" if self.classes else ""
        return f"{self.title}{classes}, on a {c}×{h}×{w} input"

    def params(self) -> dict[str, object]:
        """The variant's parameters, as stored with a question."""
        c, h, w = self.prof.input_shape[1:]
        out: dict[str, object] = {"architecture": self.key, "in_channels": c, "height": h,
                                  "width": w, "batch": 1}  # fmt: skip
        return out | ({"num_classes": self.classes} if self.classes else {})


@lru_cache(maxsize=32)
def registry_network(name: str) -> Network:
    """A registry network at its default input (cached: profiles are)."""
    prof = profile_architecture(name)
    net = build_architecture(name)
    counts = _Counts(bias_count(net), bn_param_count(net), bn_buffer_count(net))
    at_224 = None
    if prof.input_shape[-1] != 224:
        at_224 = profile_architecture(name, (3, 224, 224)).macs
    return Network(name, net_name(name), prof, counts, 1000, at_224)


def stack_network(key: str, title: str, module: nn.Module, prof: Profile) -> Network:
    """Any layer stack built on meta (``models.build_from_spec``) and its profile."""
    counts = _Counts(bias_count(module), bn_param_count(module), bn_buffer_count(module))
    return Network(key, title, prof, counts, classes=None)


def _shares(shares: list[Share]) -> list[Share]:
    return [s for s in shares if s.name not in (NO_COST, OUTSIDE) and (s.macs or s.params)]


def _percent(value: int, total: int) -> str:
    """100·value/total to 0.01, rounded half up, without trailing zeros."""
    hundredths = (Fraction(100 * 100 * value, total) + Fraction(1, 2)).__floor__()
    return f"{Fraction(hundredths, 100).__float__():g}" if total else "0"


def breakdown_text(prof: Profile, metric: str) -> str:
    """The total split by stage and by kind of layer, for solutions (and their checks)."""
    unit = "MACs" if metric == "macs" else "params"

    total = prof.macs if metric == "macs" else prof.params

    def one(s: Share) -> str:
        # Each share rounded on its own (half up, to 0.01 %), as the answer is: the
        # profile's largest-remainder rounding (shares adding up to 100 %) could show 10.17 %
        # beside an answer of 10.16 %.
        value = s.macs if metric == "macs" else s.params
        return f"{s.name} {n(value)} ({_percent(value, total)}%)"

    stages = "; ".join(one(s) for s in _shares(by_stage(prof)))
    kinds = "; ".join(one(s) for s in _shares(by_type(prof)))
    return f"by stage: {stages}\nby kind of layer: {kinds}\n(all in {unit})"


# -- one family per topic: totals and shares --------------------------------------------------


def _network_generator(topic: str) -> Callable[[random.Random, int], Draft]:
    names = NETWORKS[topic]

    def generate(rng: random.Random, difficulty: int) -> Draft:
        return network_draft(rng, difficulty, registry_network(rng.choice(names)))

    return generate


def network_draft(rng: random.Random, difficulty: int, net: Network) -> Draft:
    """A question on ``net``: its total parameters or MACs (1), the share of one kind of
    layer (2) or of one stage (3) in them. A quantity the network has none of is not asked."""
    metrics = [m for m in ("params", "macs") if _total_of(net.prof, m)]
    if difficulty == 1:
        return _total(net, rng.choice(metrics))
    return _share(rng, net, "kind" if difficulty == 2 else "stage", metrics)


def _total(net: Network, metric: str) -> Draft:
    prof = net.prof
    spec = AnswerSpec.number(metric)
    truth = prof.params if metric == "params" else prof.macs
    if metric == "params":
        rules = f"{PARAMS_RULE} Batch norm's γ and β count as parameters."
        classes = f" ({net.classes} classes)" if net.classes else ""
        ask = f"How many parameters does {net.title}{classes} have?"
    else:
        rules = f"{MACS_RULE} {BATCH_1}"
        ask = f"How many MACs does one forward pass of {net.text()} take?"
    kinds = {s.name: (s.macs, s.params) for s in by_type(prof)}
    fc = kinds.get("linear", (0, 0))[metric == "params"]
    largest = max(_shares(by_stage(prof)), key=lambda s: _value(s, metric)).name
    # Up to 4 figures to tell the classifier, BatchNorm and buffers apart; a mistake smaller
    # still (a network's few classifier biases) is below the precision asked, so not named.
    candidates = _total_mistakes(net, metric, truth, fc)
    spec = figures_to_tell_apart(spec, truth, candidates, most=4)
    candidates = outside_band(spec, truth, candidates)
    return Draft(
        prompt=f"{ask} {rules}",
        params=net.params(),
        answer=spec,
        truth=truth,
        solution=f"{breakdown_text(prof, metric)}\ntotal = {expected_display(spec, truth)}",
        mistakes=candidates,
        conventions=(PARAMS_RULE,) if metric == "params" else (MACS_RULE, BATCH_1),
        hints=(_TOTAL_HINT[metric], f"The largest stage here is {largest}."),
    )


def _total_mistakes(net: Network, metric: str, truth: int, fc: int) -> list[Mistake | None]:
    out: list[Mistake | None] = [ARCH_FORGOT_FC.at(truth - fc) if fc else None]
    if metric == "macs":
        out.append(MACS_VS_FLOPS.at(2 * truth))
        if net.at_224_macs is not None:
            out.append(ARCH_WRONG_INPUT_SIZE.at(net.at_224_macs))
        return out
    counts = net.counts
    return out + [
        COUNTED_BN_BUFFERS.at(truth + counts.bn_buffers) if counts.bn_buffers else None,
        FORGOT_BN.at(truth - counts.bn_params) if counts.bn_params else None,
        FORGOT_BIAS.at(truth - counts.biases) if counts.biases else None,
    ]


def _share(rng: random.Random, net: Network, by: str, metrics: list[str]) -> Draft:
    prof = net.prof
    metric = rng.choice(metrics)
    groups = _shares(by_stage(prof) if by == "stage" else by_type(prof))
    total = _total_of(prof, metric)
    group = rng.choice([g for g in groups if _value(g, metric) * 50 >= total])
    truth = Fraction(_value(group, metric), total)
    spec = AnswerSpec.percent(0.5)
    what = "MACs" if metric == "macs" else "parameters"
    where = f"in its stage {group.name}" if by == "stage" else f"in its {group.name} layers"
    other = "params" if metric == "macs" else "macs"
    prompt = (
        f"What percentage of the {what} of {net.text()} "
        f"{'is spent' if metric == 'macs' else 'sits'} {where}? "
        + (f"{MACS_RULE} {BATCH_1}" if metric == "macs" else PARAMS_RULE)
        + (
            f" Stages: {', '.join(g.name for g in _shares(by_stage(prof)))}."
            if by == "stage"
            else " Kinds of layer are named by kernel: conv 1×1, conv 3×3, depthwise 3×3, "
            "grouped 1×1, linear..."
        )
    )
    solution = (
        f"{breakdown_text(prof, metric)}\nshare = {n(_value(group, metric))} / {n(total)} = "
        + expected_display(spec, truth)
    )
    mistakes = [
        ARCH_SHARE_OF_THE_REST.at(1 - truth),
        ARCH_SHARE_OTHER_QUANTITY.at(Fraction(_value(group, other), _total_of(prof, other)))
        if _value(group, other)
        else None,
    ]
    return Draft(
        prompt=prompt,
        params=net.params() | {"metric": metric, "group": group.name},
        answer=spec,
        truth=truth,
        solution=solution,
        mistakes=mistakes,
        conventions=(MACS_RULE, BATCH_1) if metric == "macs" else (PARAMS_RULE,),
        hints=(
            f"Count the {what} of that group and divide by the network's total.",
            f"The network has {n(total)} {what} in all.",
        ),
    )


def _value(s: Share, metric: str) -> int:
    return s.macs if metric == "macs" else s.params


def _total_of(prof: Profile, metric: str) -> int:
    return prof.macs if metric == "macs" else prof.params


# -- the largest layer of AlexNet or VGG-16 ---------------------------------------------------

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
_RULES = {
    "params": PARAMS_RULE,
    "macs": MACS_RULE,
    "activation": "Activation memory is the layer's output: elements × 4 bytes (float32).",
}
_MEMBERS = ("Conv2d", "MaxPool2d", "Linear")


def _row_value(row: LayerRow, metric: str) -> int:
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
    values = sorted((_row_value(r, metric) for r in rows), reverse=True)
    target = values[rank - 1]
    if values.count(target) != 1 or target == 0:
        return None
    return next(r for r in rows if _row_value(r, metric) == target)


def _pick(rng: random.Random, net: str, rank: int) -> tuple[str, list[LayerRow], LayerRow]:
    """(metric, the layers offered, the answer), drawn until the answer is not a tie."""
    all_rows = list(_layer_rows(net))
    for _ in range(100):
        metric = rng.choice(tuple(_METRICS))
        size = rng.randint(5, min(8, len(all_rows)))
        rows = [all_rows[i] for i in sorted(rng.sample(range(len(all_rows)), size))]
        answer = _unique_at(rows, metric, rank)
        if answer is not None:
            return metric, rows, answer
    answer = _unique_at(all_rows, "params", rank)  # fc6, then fc7: never a tie
    assert answer is not None
    return "params", all_rows, answer


def _largest_generator(net: str) -> Callable[[random.Random, int], Draft]:
    def generate(rng: random.Random, difficulty: int) -> Draft:
        """Among all the layers (1), among a few (2), the second largest among a few (3)."""
        rank = 2 if difficulty == 3 else 1
        if difficulty == 1:
            metric = rng.choice(tuple(_METRICS))
            rows = list(_layer_rows(net))
            answer = _unique_at(rows, metric, 1)
            if answer is None:
                metric, rows, answer = _pick(rng, net, 1)
        else:
            metric, rows, answer = _pick(rng, net, rank)
        return _largest_draft(net, metric, rows, answer, rank)

    return generate


def _largest_draft(
    net: str, metric: str, rows: list[LayerRow], answer: LayerRow, rank: int
) -> Draft:
    names = [r.name for r in rows]
    spec = AnswerSpec.choice(*names)
    asked = (_SECOND if rank == 2 else _METRICS)[metric]
    prompt = (
        f"In {registry_network(net).text()}, batch 1, which of these layers has {asked}? "
        f"{_RULES[metric]} Pooling layers have no parameters and no MACs."
    )
    unit = {"params": "params", "macs": "MACs", "activation": "B"}[metric]
    lines = [f"{r.name}: {n(_row_value(r, metric))} {unit}" for r in rows]
    lines.append(f"{'second ' if rank == 2 else ''}largest: {expected_display(spec, answer.name)}")
    mistakes: list[Mistake] = []
    for other, kind in _PICKED.items():
        top = _unique_at(rows, other, 1) if other != metric else None
        if top is not None:
            mistakes.append(kind.at(top.name))
    top = _unique_at(rows, metric, 1) if rank == 2 else None
    if top is not None:
        mistakes.append(ARCH_PICKED_FIRST.at(top.name))
    return Draft(
        prompt=prompt,
        params=registry_network(net).params()
        | {"dtype": "float32", "metric": metric, "rank": rank},
        answer=spec,
        truth=answer.name,
        solution="\n".join(lines),
        mistakes=mistakes,
        conventions=(_RULES[metric], BATCH_1),
        hints=(
            "Work out the quantity for each layer offered; compare only those.",
            {
                "params": "Convolution: C_out·C_in·k² + C_out; linear: in·out + out.",
                "macs": "Convolution: H_out·W_out·C_out·C_in·k²; linear: in·out.",
                "activation": "Output elements × 4 bytes: C·H·W of the layer's output.",
            }[metric],
        ),
    )


# -- share of the parameters in the fully connected layers ------------------------------------

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
    spec = AnswerSpec.percent(0.5)
    fc_rows = [r for r in prof.rows if r.type == "Linear"]
    fc = sum(r.params for r in fc_rows)
    truth = Fraction(fc, prof.params)
    prompt = (
        f"What percentage of the parameters of {net_name(name)} (1000 classes) is in its fully "
        f"connected (nn.Linear) layers? {PARAMS_RULE} Batch norm's γ and β count as parameters."
    )
    solution = (
        f"fully connected: {' + '.join(f'{r.name} {n(r.params)}' for r in fc_rows)} = {n(fc)}\n"
        f"total: {n(prof.params)}\n"
        f"share = {n(fc)} / {n(prof.params)} = {expected_display(spec, truth)}"
    )
    mistakes = [
        ARCH_CONV_SHARE.at(1 - truth),
        ARCH_FC_OVER_CONV.at(Fraction(fc, prof.params - fc)),
        ARCH_FIRST_FC_ONLY.at(Fraction(fc_rows[0].params, prof.params)),
    ]
    return Draft(
        prompt=prompt,
        params={"architecture": name, "num_classes": 1000},
        answer=spec,
        truth=truth,
        solution=solution,
        mistakes=mistakes,
        conventions=(PARAMS_RULE,),
        hints=(
            "Add up the parameters of every nn.Linear layer, then divide by the total.",
            "A linear layer has in·out weights and out biases; "
            f"the network has {n(prof.params)} parameters in all.",
        ),
    )


# -- the families -----------------------------------------------------------------------------

_NETWORK_CARDS = {
    "alexnet": ("alexnet-params-where", "alexnet-flops-where"),
    "vgg": ("vgg-vgg16-size",),
    "googlenet": ("googlenet-efficiency",),
    "resnet": ("resnet-sizes",),
    "resnext": ("resnext-50-vs-resnet-50",),
    "senet": ("senet-resnet50-overhead",),
    "densenet": ("densenet-121-channels",),
    "squeezenet": ("squeezenet-vs-alexnet-params",),
    "mobilenet-v1": ("mobilenet-v1-size",),
    "mobilenet-v2": ("mobilenet-v2-size",),
    "shufflenet-v1": ("shufflenet-v1-pointwise-dominates",),
    "shufflenet-v2": ("shufflenet-v2-size",),
}


def _network_family(topic: str) -> Family:
    titles = ", ".join(ARCHITECTURES[name].title for name in NETWORKS[topic])
    return Family(
        id=f"{topic.replace('-', '_')}_network",
        topic=topic,
        title=f"{titles}: parameters, MACs and where they go",
        answer_kind="number",
        generator=_network_generator(topic),
        expected_seconds=90.0,
        architecture_level=True,
        cards=_NETWORK_CARDS[topic],
        # Enough seeds that the start-up warm-up profiles and breaks down every network.
        warm_seeds=6 * len(NETWORKS[topic]),
    )


NETWORK_FAMILIES: tuple[Family, ...] = tuple(_network_family(topic) for topic in NETWORKS)
ARCH_LARGEST_LAYER = Family(
    id="arch_largest_layer",
    topic="alexnet",
    title="Which AlexNet layer has the most parameters, MACs or activation memory",
    answer_kind="choice",
    generator=_largest_generator("alexnet"),
    expected_seconds=45.0,
    architecture_level=True,
    cards=("alexnet-params-where", "alexnet-flops-where", "alexnet-memory-where"),
)
VGG_LARGEST_LAYER = Family(
    id="vgg_largest_layer",
    topic="vgg",
    title="Which VGG-16 layer has the most parameters, MACs or activation memory",
    answer_kind="choice",
    generator=_largest_generator("vgg16"),
    expected_seconds=45.0,
    architecture_level=True,
    cards=("vgg-vgg16-size", "vgg-vgg16-memory"),
)
ARCH_FC_PARAM_SHARE = Family(
    id="arch_fc_param_share",
    topic="global-avg-pooling",
    title="Share of the parameters in the fully connected layers",
    answer_kind="number",
    generator=_fc_share_draft,
    expected_seconds=90.0,
    architecture_level=True,
    cards=("global-avg-pooling-resnet-head", "global-avg-pooling-what"),
)

FAMILIES: tuple[Family, ...] = (
    *NETWORK_FAMILIES,
    ARCH_LARGEST_LAYER,
    VGG_LARGEST_LAYER,
    ARCH_FC_PARAM_SHARE,
)


def stack_family(family_id: str, topic: str, title: str, net: Network) -> Family:
    """Network questions on a layer stack of the caller's (a course's own network): the
    same totals and shares as the registry networks' families, truth from its profile."""
    return Family(
        id=family_id,
        topic=topic,
        title=f"{title}: parameters, MACs and where they go",
        answer_kind="number",
        generator=lambda rng, difficulty: network_draft(rng, difficulty, net),
        expected_seconds=90.0,
        architecture_level=True,
    )
