"""Profiles as the API shows them: the per-layer table, totals, shares, conventions; and
profiling a layer stack (``POST /profile``, course architectures) with its errors as 422s.

No routing here: the architectures and courses routers both answer with these shapes.
"""

from __future__ import annotations

import logging
from typing import Any, Literal

from pydantic import BaseModel, Field

from ..refusals import InvalidSpec

log = logging.getLogger("flopcards")

__all__ = [
    "DType",
    "CONVENTIONS",
    "Totals",
    "LayerPublic",
    "Share",
    "ProfilePublic",
    "totals",
    "shares",
    "profile_public",
    "profile_layers",
    "spec_error",
]

DType = Literal["float32", "float16", "bfloat16", "int8"]

CONVENTIONS = {
    "params": "learnable parameters (weights and biases); buffers such as BatchNorm running "
    "statistics are not parameters",
    "macs": "multiply-accumulates of convolutions and linear layers; bias additions, pooling, "
    "activations, BatchNorm and additions count 0",
    "flops": "2 × MACs (torch's flop counter)",
    "activation_bytes": "a layer's output elements × bytes per element (float32 4, "
    "float16/bfloat16 2, int8 1); the total is the sum over leaf layers, an in-place output "
    "(ReLU(inplace=True)) or a view (Flatten) counted again: the column's sum, not memory in "
    "use; KiB = 1024 B, KB = 1000 B",
    "peak_activation_bytes": "the largest single tensor any module returns",
    "peak_live_activation_bytes": "the most activation memory alive at once: each tensor from "
    "the op that writes it to the last op that reads it (the input from the start, the output "
    "to the end), in-place results and views sharing their input's memory; no weights, no "
    "allocator or workspace",
    "percent_macs": "100 × MACs / the network's MACs (percent_params likewise), to 0.01; the "
    "shares of by_type and by_stage are rounded by largest remainder so each list adds up to "
    "exactly 100.00",
    "by_type": "leaf layers grouped by kind: conv k×k (groups 1), grouped k×k, depthwise k×k "
    "(groups = input channels), linear, batch norm, other (0 MACs, 0 params); MACs and "
    "parameters outside every leaf layer, if any, in a share of their own",
    "by_stage": "leaf layers grouped by the stages of the architecture's paper (stem, layer1, "
    "…, head); a layer stack is grouped by its top-level layers",
    "shapes": "(batch, channels, height, width), batch included",
    "batch": "1 unless stated",
}


class Totals(BaseModel):
    """Whole-network figures (see ``conventions``)."""

    params: int
    macs: int
    flops: int
    activation_bytes: int
    peak_activation_bytes: int
    peak_live_activation_bytes: int
    weight_bytes: int


class LayerPublic(BaseModel):
    """One module call of the forward pass."""

    name: str
    type: str
    input_shape: list[int]
    output_shape: list[int]
    params: int
    macs: int
    flops: int
    activation_bytes: int
    weight_bytes: int
    percent_macs: float
    percent_params: float
    kernel: list[int] | None
    stride: list[int] | None
    padding: list[int] | None
    dilation: list[int] | None
    groups: int | None
    aliases_input: bool = Field(description="in place or a view: the output is the input's memory")
    kind: str = Field(description="the by_type group of the layer ('' for a container)")
    stage: str = Field(description="the by_stage group of the layer")


class Share(BaseModel):
    """A group of layers and its part of the network's MACs and parameters."""

    name: str
    macs: int
    params: int
    percent_macs: float
    percent_params: float
    layers: int


class ProfilePublic(BaseModel):
    """A per-layer table, its totals and where the MACs and parameters go."""

    name: str
    input_shape: list[int]
    output_shape: list[int]
    batch: int
    dtype: str
    conventions: dict[str, str]
    totals: Totals
    by_type: list[Share]
    by_stage: list[Share]
    layers: list[LayerPublic]


def totals(prof: Any) -> Totals:
    return Totals(
        params=prof.params,
        macs=prof.macs,
        flops=prof.flops,
        activation_bytes=prof.activation_bytes,
        peak_activation_bytes=prof.peak_activation_bytes,
        peak_live_activation_bytes=prof.peak_live_activation_bytes,
        weight_bytes=prof.weight_bytes,
    )


def shares(shares: list[Any]) -> list[Share]:
    return [Share(**s.to_dict()) for s in shares]


def profile_public(name: str, prof: Any) -> ProfilePublic:
    from models.breakdown import by_stage, by_type, layer_kind

    return ProfilePublic(
        name=name,
        input_shape=list(prof.input_shape),
        output_shape=list(prof.output_shape),
        batch=prof.batch,
        dtype=prof.dtype,
        conventions=CONVENTIONS,
        totals=totals(prof),
        by_type=shares(by_type(prof)),
        by_stage=shares(by_stage(prof)),
        # A container row (leaf_only=false) is no kind of layer: its children are.
        layers=[
            LayerPublic(**r.to_dict(), kind=layer_kind(r) if r.leaf else "") for r in prof.rows
        ],
    )


def profile_layers(input_shape: list[Any], layers: list[dict[str, Any]], batch: Any, dtype: str):
    """Validate, build and profile a layer stack (CPU work: call it in a worker thread);
    a spec torch would refuse is a 422 naming the layer and field."""
    from models import ProfileError, SpecError, build_from_spec, profile

    try:
        module = build_from_spec(input_shape, layers, batch)
        return profile(module, tuple(input_shape), batch, dtype)
    except SpecError as exc:
        raise InvalidSpec([spec_error(exc)]) from exc
    except ProfileError as exc:
        # Validation refuses everything torch refuses (the property tests check it); should a
        # case slip through, it is still the client's input, not a server fault.
        log.warning("a validated spec failed on the meta device: %s", exc)
        detail = {"loc": ["body", "layers"], "msg": str(exc)[:500], "type": "profile_error"}
        raise InvalidSpec([detail]) from exc


def spec_error(exc: Any) -> dict[str, Any]:
    """A SpecError as a validation error: ``loc`` ends with the layer and the field at fault."""
    loc: list[Any] = ["body"]
    if exc.index is not None:
        loc += ["layers", exc.index]
    if exc.field is not None:
        loc.append(exc.field)
    return {
        "loc": loc,
        "index": exc.index,
        "field": exc.field,
        "msg": exc.message,
        "type": "spec_error",
    }
