"""Neural architecture search: how large a search space is, and what a search costs in GPU-days.

There is no torch layer to build here: a search space is a product of independent choices and
a budget a product of GPUs and time. The truth counts the choices decision by decision (each
layer's, or each block's inputs and operations) and multiplies them; the closed forms
(k^L, the cell formula) are checked against it in the tests.
"""

from __future__ import annotations

import math
import random

from ..mistakes import define
from ..question import Draft, Family
from ..types import AnswerSpec, Mistake
from ._base import expected_display, n

__all__ = ["NAS_SEARCH_SPACE", "NAS_GPU_DAYS", "FAMILIES", "space_size", "cell_space_size"]

TOPIC = "nas"

ADDED_CHOICES = define(
    "added_choices",
    "This adds the choices; independent choices multiply: k options in each of L layers give "
    "k^L candidates.",
)
SWAPPED_EXPONENT = define(
    "swapped_exponent",
    "This raises the number of layers to the power of the choices (L^k); it is k^L.",
)
ONE_CHOICE_PER_LAYER = define(
    "one_choice_per_layer",
    "This counts only one of the layer's decisions; every decision of a layer multiplies in.",
)
ONE_INPUT_ONE_OP = define(
    "one_input_one_op",
    "Each block picks TWO inputs and TWO operations: its factor is squared.",
)
NEWEST_INPUT_MISSED = define(
    "newest_input_missed",
    "Block i may take any of the cell's inputs and the i − 1 earlier blocks' outputs: "
    "(inputs + i − 1) choices per input.",
)
GAVE_GPU_HOURS = define("gave_gpu_hours", "This is in GPU-hours; a GPU-day is 24 GPU-hours.")
DIVIDED_BY_GPUS = define(
    "divided_by_gpus",
    "GPU-days count every GPU's time: they do not shrink when more GPUs share the work; the "
    "wall-clock time does.",
)
MULTIPLIED_BY_GPUS = define(
    "multiplied_by_gpus",
    "This multiplies by the GPUs; running in parallel divides the wall-clock time by them.",
)

_COUNT = AnswerSpec.number("count")


def space_size(choices_per_layer: list[int]) -> int:
    """Candidates of a layer-wise space: the product of every layer's choices."""
    return math.prod(choices_per_layer)


def cell_space_size(blocks: int, ops: int, inputs: int = 2) -> int:
    """Candidates of one cell of ``blocks`` blocks: block i picks two inputs among the
    ``inputs`` cell inputs and the i − 1 earlier blocks, and one of ``ops`` operations for
    each (NASNet's search space, one cell)."""
    return math.prod(((inputs + i - 1) * ops) ** 2 for i in range(1, blocks + 1))


_OPS = ("3×3 convolution", "5×5 convolution", "3×3 separable convolution", "5×5 separable "
        "convolution", "3×3 max pooling", "3×3 average pooling", "identity", "7×7 separable "
        "convolution", "3×3 dilated convolution", "1×7 then 7×1 convolution", "1×1 "
        "convolution", "5×5 dilated convolution")  # fmt: skip
_LIMIT = 10**8  # spaces small enough to write out in full


def _space(rng: random.Random, difficulty: int) -> Draft:
    if difficulty == 1:
        while True:
            k, layers = rng.randint(2, 10), rng.randint(2, 12)
            if k**layers <= _LIMIT:
                break
        truth = space_size([k] * layers)
        ops = ", ".join(rng.sample(_OPS, k))
        prompt = (
            f"A layer-wise search space stacks {layers} layers; each layer picks one operation "
            f"among {k} ({ops}), independently of the others. How many different networks "
            "does the space hold?"
        )
        solution = f"{k} choices in each of {layers} layers: {k}^{layers} = "
        mistakes: list[Mistake | None] = [
            ADDED_CHOICES.at(k * layers),
            SWAPPED_EXPONENT.at(layers**k),
        ]
        hints = (
            "Each layer's choice is independent of the others: count the combinations.",
            "With k choices per layer and L layers there are k^L networks.",
            f"Here k = {k} and L = {layers}.",
        )
        params = {"ops": k, "layers": layers}
    elif difficulty == 2:
        while True:
            k, f, layers = rng.randint(2, 8), rng.randint(2, 5), rng.randint(2, 7)
            if (k * f) ** layers <= _LIMIT:
                break
        widths = ", ".join(str(w) for w in sorted(rng.sample((16, 24, 32, 48, 64, 96, 128), f)))
        truth = space_size([k * f] * layers)
        prompt = (
            f"A search space stacks {layers} layers; each layer picks one of {k} operations and, "
            f"independently, one of {f} widths ({widths} filters). How many different "
            "networks does the space hold?"
        )
        solution = f"({k}·{f})^{layers} = {k * f}^{layers} = "
        mistakes = [
            ADDED_CHOICES.at((k + f) * layers),
            ADDED_CHOICES.at(
                (k + f) ** layers,
                "The two decisions of a layer multiply: k·f combinations per layer, not k + f.",
            ),  # fmt: skip
            ONE_CHOICE_PER_LAYER.at(k**layers),
            ONE_CHOICE_PER_LAYER.at(f**layers),
            SWAPPED_EXPONENT.at(layers ** (k * f)),
        ]
        hints = (
            "Count one layer's combinations first, then combine the layers.",
            "A layer has k·f combinations; L independent layers give (k·f)^L networks.",
            f"Here k = {k}, f = {f} and L = {layers}.",
        )
        params = {"ops": k, "widths": f, "layers": layers}
    else:
        while True:
            blocks, k, inputs = rng.randint(2, 4), rng.randint(2, 8), rng.choice((1, 2))
            truth = cell_space_size(blocks, k, inputs)
            if truth <= _LIMIT * 100:
                break
        ops = ", ".join(rng.sample(_OPS, k))
        prompt = (
            f"A NASNet-style cell has {inputs} input{'s' if inputs > 1 else ''} and {blocks} "
            f"blocks. Block i (i = 1…{blocks}) picks two inputs, each among the cell's "
            f"input{'s' if inputs > 1 else ''} and the outputs of the blocks before it (the two "
            f"picks may be equal), and one of {k} operations ({ops}) for each input; the pair "
            "is then added. How many different cells does the space hold?"
        )
        factors = [f"({inputs + i - 1}·{k})²" for i in range(1, blocks + 1)]
        solution = f"{' · '.join(factors)} = "
        one = math.prod((inputs + i - 1) * k for i in range(1, blocks + 1))
        missed = math.prod(((inputs + i - 2) * k) ** 2 for i in range(1, blocks + 1))
        mistakes = [
            ONE_INPUT_ONE_OP.at(one),
            NEWEST_INPUT_MISSED.at(missed),
            ADDED_CHOICES.at(sum(((inputs + i - 1) * k) ** 2 for i in range(1, blocks + 1))),
        ]
        hints = (
            "Count block by block, then multiply the blocks: each block's decisions are "
            "independent.",
            "Block i has (cell inputs + i − 1) possible inputs and k operations for each of its "
            "two inputs: ((inputs + i − 1)·k)² choices.",
            f"Here there are {blocks} blocks, {inputs} cell input{'s' if inputs > 1 else ''} "
            f"and k = {k}.",
        )
        params = {"blocks": blocks, "ops": k, "inputs": inputs}
    return Draft(
        prompt=prompt,
        params=params,
        answer=_COUNT,
        truth=truth,
        solution=solution + expected_display(_COUNT, truth),
        mistakes=mistakes,
        conventions=("Independent choices multiply.",),
        hints=hints,
    )


_BUDGET_RULE = (
    "A GPU-day is one GPU busy for 24 hours; GPUs run in parallel with no overhead, so the "
    "wall-clock time is the GPU time divided by the number of GPUs."
)


def _budget(rng: random.Random, difficulty: int) -> Draft:
    gpus = rng.choice((8, 16, 50, 64, 100, 128, 200, 400, 500, 800))
    days = rng.randint(2, 30)
    gpu_days = gpus * days
    if difficulty == 1:
        prompt = (
            f"A search runs on {gpus} GPUs for {days} days. (a) gpu_days: what does it cost in "
            "GPU-days? (b) gpu_hours: and in GPU-hours?"
        )
        truth = {"gpu_days": gpu_days, "gpu_hours": gpu_days * 24}
        spec = AnswerSpec.multi({"gpu_days": _COUNT, "gpu_hours": _COUNT})
        solution = (
            f"GPU-days = GPUs × days = {gpus} × {days} = {expected_display(_COUNT, gpu_days)}; "
            f"GPU-hours = 24 × {n(gpu_days)} = {expected_display(_COUNT, gpu_days * 24)}"
        )
        mistakes: list[Mistake | None] = [
            GAVE_GPU_HOURS.at({"gpu_days": gpu_days * 24}),
            DIVIDED_BY_GPUS.at({"gpu_days": days}),
        ]
        hints = (
            "GPU time adds up over every GPU.",
            "GPU-days = GPUs × days; GPU-hours = 24 × GPU-days.",
            f"Here {gpus} GPUs run for {days} days.",
        )
        params: dict[str, int | None] = {"gpus": gpus, "days": days}
    else:
        while True:  # a whole number of candidates that fills the budget exactly
            hours = rng.choice((1, 2, 3, 4, 6, 8, 12)) if difficulty == 2 else None
            epochs, minutes = rng.choice((5, 10, 20, 25, 50)), rng.choice((6, 12, 24, 36, 48))
            per_model_minutes = hours * 60 if hours else epochs * minutes
            if gpu_days * 24 * 60 % per_model_minutes == 0:
                break
        candidates = gpu_days * 24 * 60 // per_model_minutes
        if hours:
            each = f"each trained for {hours} GPU-hour{'s' if hours > 1 else ''}"
        else:
            each = f"each trained for {epochs} epochs of {minutes} GPU-minutes"
        prompt = (
            f"A search trains {n(candidates)} candidate networks, {each}, on {gpus} GPUs. "
            "(a) gpu_days: what does the search cost in GPU-days? (b) days: how many days "
            f"does it take? {_BUDGET_RULE}"
        )
        truth = {"gpu_days": gpu_days, "days": days}
        spec = AnswerSpec.multi({"gpu_days": _COUNT, "days": _COUNT})
        per = f"{hours} h" if hours else f"{epochs} × {minutes} min"
        solution = (
            f"GPU time = {n(candidates)} × {per} = {n(candidates * per_model_minutes)} "
            f"GPU-minutes = {expected_display(_COUNT, gpu_days)} GPU-days; wall-clock = "
            f"{n(gpu_days)} / {gpus} GPUs = {expected_display(_COUNT, days)}"
        )
        mistakes = [
            GAVE_GPU_HOURS.at({"gpu_days": gpu_days * 24, "days": days * 24}),
            DIVIDED_BY_GPUS.at({"gpu_days": days}),
            MULTIPLIED_BY_GPUS.at({"days": gpu_days * gpus}),
        ]
        hints = (
            "Find the GPU time of one candidate, then of all of them; parallel GPUs only "
            "shorten the wall-clock time.",
            "GPU-days = candidates × GPU-hours per candidate / 24; days = GPU-days / GPUs.",
            f"Here each candidate takes {per}, and the GPUs number {gpus}.",
        )
        params = {"candidates": candidates, "gpus": gpus, "hours": hours, "epochs": epochs,
                  "minutes": minutes}  # fmt: skip
    return Draft(
        prompt=prompt,
        params=params,
        answer=spec,
        truth=truth,
        solution=solution,
        mistakes=mistakes,
        conventions=(_BUDGET_RULE,),
        hints=hints,
    )


NAS_SEARCH_SPACE = Family(
    id="nas_search_space",
    topic=TOPIC,
    title="Size of a NAS search space",
    answer_kind="number",
    generator=_space,
    expected_seconds=90.0,
    cards=("nas-search-space-size", "nas-why-expensive"),
)
NAS_GPU_DAYS = Family(
    id="nas_gpu_days",
    topic=TOPIC,
    title="Compute budget of a search in GPU-days",
    answer_kind="parts",
    generator=_budget,
    expected_seconds=120.0,
    cards=("nas-original-cost", "nas-cheaper-methods"),
)

FAMILIES: tuple[Family, ...] = (NAS_SEARCH_SPACE, NAS_GPU_DAYS)
