"""Where a profile's MACs and parameters go: shares by kind of layer and by stage of the network.

A per-layer table of 150 rows hides the lesson ("MobileNet v2 spends most of its MACs in 1×1
convolutions"); these summaries state it. ``by_type`` groups the leaf rows by what a lecture
calls the layer (conv 1×1, depthwise 3×3, grouped 3×3, conv 3×3, linear, batch norm, …);
``by_stage`` groups them by the stage each row was given when it was profiled (``stage_namer``:
the paper's stages for a registry architecture, the top-level layer for anything else, so a
layer spec is summarised layer by layer).

Each share carries absolute MACs and parameters (they add up to the profile's totals exactly)
and percentages rounded to hundredths by the largest-remainder method, so the percentages of
one summary add up to exactly 100.00 (or are all 0 when the total is 0). MACs done outside every
leaf module (``unattributed_macs``) and parameters a container owns directly get a share of
their own, ``OUTSIDE``, so nothing is left out of the sums. Everything here is pure arithmetic
on a ``Profile``: no torch.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from models.nets import MOBILENET_V1_BLOCKS, MOBILENET_V2_SETTINGS

if TYPE_CHECKING:  # the profiler imports this module; the types are only for annotations
    from models.profiler import LayerRow, Profile

__all__ = [
    "Share",
    "by_type",
    "by_stage",
    "layer_kind",
    "stage_namer",
    "percentages",
    "STAGE_MAPS",
    "OUTSIDE",
    "NO_COST",
]

OUTSIDE = "outside any leaf layer"  # unattributed MACs, parameters owned by a container
NO_COST = "other (0 MACs, 0 params)"  # pooling, activations, dropout, flatten, shuffle...

StageOf = Callable[[str], str | None]


@dataclass(frozen=True)
class Share:
    """One group of layers: its MACs and parameters, absolute and as % of the profile's total."""

    name: str
    macs: int
    params: int
    percent_macs: float
    percent_params: float
    layers: int  # leaf layer calls in the group (0 for OUTSIDE)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return asdict(self)


def percentages(values: Sequence[int], total: int) -> list[float]:
    """``100 · value / total`` in hundredths, rounded so that they add up to exactly 100.00.

    Largest remainder: every share is first rounded down, then the hundredths still missing go
    to the shares that lost most in that rounding (ties to the earlier share). A share that is
    exactly 0 stays 0. With ``total == 0`` every share is 0.
    """
    if total <= 0:
        return [0.0] * len(values)
    scaled = [v * 10_000 for v in values]
    floors = [s // total for s in scaled]
    missing = 10_000 - sum(floors)
    by_loss = sorted(range(len(values)), key=lambda i: (-(scaled[i] % total), i))
    for i in by_loss[:missing]:
        floors[i] += 1
    return [f / 100 for f in floors]


def layer_kind(row: LayerRow) -> str:
    """The lecture's name for a leaf layer, e.g. ``conv 1×1``, ``depthwise 3×3``, ``linear``.

    A convolution is *depthwise* when it has as many groups as input channels (more than one),
    *grouped* when it has more than one group otherwise, and a plain ``conv`` when it has one.
    Layers with neither MACs nor parameters (pooling, activations, dropout, flatten, channel
    shuffle, LRN) are lumped together as ``NO_COST``; any other layer goes by its class name.
    """
    if row.kernel is not None and row.groups is not None:
        k = "×".join(str(side) for side in row.kernel)
        channels = row.input_shape[1] if len(row.input_shape) > 1 else 0
        if row.groups > 1 and row.groups == channels:
            return f"depthwise {k}"
        return f"grouped {k}" if row.groups > 1 else f"conv {k}"
    if row.type == "Linear":
        return "linear"
    if row.type.startswith("BatchNorm"):
        return "batch norm"
    if row.macs == 0 and row.params == 0:
        return NO_COST
    return row.type


def by_type(profile: Profile) -> list[Share]:
    """Shares of MACs and parameters per kind of layer (``layer_kind``), largest MACs first."""
    groups = _group(profile, layer_kind)
    ordered = sorted(groups.items(), key=lambda kv: (-kv[1][0], -kv[1][1], kv[0]))
    return _shares(profile, ordered)


def by_stage(profile: Profile) -> list[Share]:
    """Shares of MACs and parameters per stage, in the order the stages run."""
    return _shares(profile, list(_group(profile, lambda row: row.stage).items()))


def _group(profile: Profile, key: Callable[[LayerRow], str]) -> dict[str, list[int]]:
    """[MACs, params, layers] per key over the leaf rows, plus what no leaf row holds."""
    groups: dict[str, list[int]] = {}
    leaves = [row for row in profile.rows if row.leaf]
    for row in leaves:
        g = groups.setdefault(key(row), [0, 0, 0])
        g[0] += row.macs
        g[1] += row.params
        g[2] += 1
    outside_params = profile.params - sum(row.params for row in leaves)
    if profile.unattributed_macs or outside_params:
        groups[OUTSIDE] = [profile.unattributed_macs, outside_params, 0]
    return groups


def _shares(profile: Profile, groups: Sequence[tuple[str, list[int]]]) -> list[Share]:
    pm = percentages([g[0] for _, g in groups], profile.macs)
    pp = percentages([g[1] for _, g in groups], profile.params)
    return [
        Share(name, macs, params, pm[i], pp[i], layers)
        for i, (name, (macs, params, layers)) in enumerate(groups)
    ]


# --- stages ------------------------------------------------------------------------------------
#
# A stage map names the stage of a qualified module name, or returns None for a name it does
# not know (the profiler then falls back to the top-level layer). Stages follow each paper's own
# table: AlexNet's and VGG's conv1..fc8 (a pooling layer belongs to the convolutions before it),
# ResNet's stem, layer1..layer4 and head, MobileNet's rows of width (Table 1 of v1, Table 2 of
# v2: "64 ch × 1" is one block of 64 output channels), ShuffleNet's Stage2..Stage4.


def _patterns(*pairs: tuple[str, str]) -> StageOf:
    """Stage names from (regex, template) pairs; the first full match wins."""
    compiled = [(re.compile(pattern), template) for pattern, template in pairs]

    def stage_of(name: str) -> str | None:
        for pattern, template in compiled:
            m = pattern.fullmatch(name)
            if m:
                return m.expand(template)
        return None

    return stage_of


def _numbered_blocks(prefix: str, labels: Sequence[str], then: StageOf) -> StageOf:
    """``{prefix}.{i}`` and everything under it is in stage ``labels[i]``; other names: ``then``."""
    pattern = re.compile(rf"{re.escape(prefix)}\.(\d+)(?:\..*)?")

    def stage_of(name: str) -> str | None:
        m = pattern.fullmatch(name)
        if m and int(m.group(1)) < len(labels):
            return labels[int(m.group(1))]
        return then(name)

    return stage_of


def _runs(widths: Iterable[tuple[int, int]]) -> list[str]:
    """One label per block from (output channels, repeats): ``"128 ch × 2"`` twice, …"""
    labels: list[str] = []
    for width, repeats in widths:
        labels += [f"{width} ch × {repeats}"] * repeats
    return labels


def _mobilenet_v1_labels() -> list[str]:
    runs: list[tuple[int, int]] = []
    for width, _stride in MOBILENET_V1_BLOCKS:
        if runs and runs[-1][0] == width:
            runs[-1] = (width, runs[-1][1] + 1)
        else:
            runs.append((width, 1))
    return _runs(runs)


_HEAD = ("avgpool|flatten|dropout|fc|classifier|head(?:\\..*)?", "head")
_CLASSIFIER_67 = (
    ("avgpool|flatten|(?:drop|fc|relu)6", "fc6"),
    ("(?:drop|fc|relu)7", "fc7"),
    ("fc8", "fc8"),
)
_RESNET = _patterns(("conv1|bn1|relu|maxpool", "stem"), (r"(layer[1-4])(?:\..*)?", r"\1"), _HEAD)
_SHUFFLENET = _patterns(
    (r"conv1(?:\..*)?|maxpool", "stem"),
    (r"(stage[2-4])(?:\..*)?", r"\1"),
    (r"conv5(?:\..*)?", "conv5"),
    _HEAD,
)
_SQUEEZENET = _patterns(
    ("conv1|relu1|pool1", "conv1"),
    (r"(fire\d)(?:\..*)?", r"\1"),
    (r"pool(\d)", r"fire\1"),
    ("dropout|conv10|relu10|avgpool|flatten", "conv10"),
)
_VGG = _patterns((r"(?:conv|relu)(\d)_\d+", r"conv\1"), (r"pool(\d)", r"conv\1"), *_CLASSIFIER_67)

STAGE_MAPS: dict[str, StageOf] = {
    "alexnet": _patterns((r"(?:conv|relu|pool)([1-5])", r"conv\1"), *_CLASSIFIER_67),
    "vgg16": _VGG,
    "vgg19": _VGG,
    "googlenet": _patterns(
        ("conv1|relu1|pool1|lrn1|conv2_reduce|relu2_reduce|conv2|relu2|lrn2|pool2", "stem"),
        (r"(inception[345])[a-e](?:\..*)?", r"\1"),
        (r"pool([34])", r"inception\1"),
        _HEAD,
    ),
    "resnet18": _RESNET,
    "resnet34": _RESNET,
    "resnet50": _RESNET,
    "resnet50_v1": _RESNET,
    "resnext50_32x4d": _RESNET,
    "se_resnet50": _RESNET,
    "densenet121": _patterns(
        (r"features\.(?:conv0|norm0|relu0|pool0)", "stem"),
        (r"features\.((?:denseblock|transition)\d)(?:\..*)?", r"\1"),
        (r"features\.norm5|relu|avgpool|flatten|classifier", "head"),
    ),
    "squeezenet1_0": _SQUEEZENET,
    "squeezenet1_1": _SQUEEZENET,
    "mobilenet_v1": _numbered_blocks(
        "features",
        _mobilenet_v1_labels(),
        _patterns((r"conv1(?:\..*)?", "stem"), _HEAD),
    ),
    "mobilenet_v2": _numbered_blocks(
        "features",
        ["stem", *_runs((c, n) for _t, c, n, _s in MOBILENET_V2_SETTINGS), "conv 1×1 to 1280"],
        _patterns(_HEAD),
    ),
    "shufflenet_v1_g3": _SHUFFLENET,
    "shufflenet_v1_g8": _SHUFFLENET,
    "shufflenet_v2_x0_5": _SHUFFLENET,
    "shufflenet_v2_x1_0": _SHUFFLENET,
    "shufflenet_v2_x1_5": _SHUFFLENET,
    "shufflenet_v2_x2_0": _SHUFFLENET,
}


def stage_namer(architecture: str | None = None) -> StageOf:
    """The stage map of a registry architecture, or one that knows no names (``None``).

    The profiler gives a row the map's name for it and, where the map returns None, the name of
    the row's top-level layer (``"3 (Fire)"`` for child ``3`` of a layer spec).
    """
    if architecture is not None and architecture in STAGE_MAPS:
        return STAGE_MAPS[architecture]
    return lambda name: None
