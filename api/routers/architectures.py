"""Architectures and layer profiles: the numbers of the real torch modules, built on meta.

Every figure comes from ``models`` (the profiler runs one forward pass on the meta device:
no weights are allocated, no arithmetic is done). Profiles of the registry architectures are
cached per (name, input, batch, dtype).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Path, Query
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from ..errors import ERROR_RESPONSES

# `models` imports torch (seconds); it is imported on first use, and warmed in the background
# at start-up, so the server answers /health long before torch is loaded.

router = APIRouter(tags=["architectures"])

DType = Literal["float32", "float16", "bfloat16", "int8"]

CONVENTIONS = {
    "params": "learnable parameters (weights and biases); buffers such as BatchNorm running "
    "statistics are not parameters",
    "macs": "multiply-accumulates of convolutions and linear layers; bias additions, pooling, "
    "activations, BatchNorm and additions count 0",
    "flops": "2 × MACs (torch's flop counter)",
    "activation_bytes": "output elements × bytes per element (float32 4, float16/bfloat16 2, "
    "int8 1); KiB = 1024 B, KB = 1000 B",
    "peak_activation_bytes": "the largest single tensor any module returns",
    "shapes": "(batch, channels, height, width), batch included",
    "batch": "1 unless stated",
}


class ArchitecturePublic(BaseModel):
    """A reference architecture."""

    name: str
    title: str
    paper: dict[str, Any]
    default_input: list[int]
    variant: str


class Totals(BaseModel):
    """Whole-network figures (see ``conventions``)."""

    params: int
    macs: int
    flops: int
    activation_bytes: int
    peak_activation_bytes: int
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


class ProfilePublic(BaseModel):
    """A per-layer table and its totals."""

    name: str
    input_shape: list[int]
    output_shape: list[int]
    batch: int
    dtype: str
    conventions: dict[str, str]
    totals: Totals
    layers: list[LayerPublic]


def _public(name: str, prof: Any) -> ProfilePublic:
    return ProfilePublic(
        name=name,
        input_shape=list(prof.input_shape),
        output_shape=list(prof.output_shape),
        batch=prof.batch,
        dtype=prof.dtype,
        conventions=CONVENTIONS,
        totals=Totals(
            params=prof.params,
            macs=prof.macs,
            flops=prof.flops,
            activation_bytes=prof.activation_bytes,
            peak_activation_bytes=prof.peak_activation_bytes,
            weight_bytes=prof.weight_bytes,
        ),
        layers=[
            LayerPublic(
                name=r.name,
                type=r.type,
                input_shape=list(r.input_shape),
                output_shape=list(r.output_shape),
                params=r.params,
                macs=r.macs,
                flops=r.flops,
                activation_bytes=r.activation_bytes,
                weight_bytes=r.weight_bytes,
            )
            for r in prof.rows
        ],
    )


@router.get("/architectures", response_model=list[ArchitecturePublic])
def list_architectures() -> list[ArchitecturePublic]:
    """Every reference architecture with its paper, default input and variant."""
    from models import architecture_names, get_spec

    out = []
    for name in architecture_names():
        spec = get_spec(name)
        out.append(
            ArchitecturePublic(
                name=spec.name,
                title=spec.title,
                paper=spec.paper.to_dict(),
                default_input=list(spec.input_size),
                variant=spec.variant,
            )
        )
    return out


@router.get(
    "/architectures/{name}/profile",
    response_model=ProfilePublic,
    responses={404: ERROR_RESPONSES[404]},
)
async def architecture_profile(
    name: Annotated[str, Path(max_length=64)],
    input_size: Annotated[int | None, Query(ge=1, le=4096, description="Side H = W")] = None,
    batch: Annotated[int, Query(ge=1, le=1024)] = 1,
    dtype: DType = "float32",
    leaf_only: bool = True,
) -> ProfilePublic:
    """The per-layer table of a reference architecture at an input size, batch and dtype."""
    from models import ModelsError, architecture_names, get_spec, profile_architecture

    if name not in architecture_names():
        raise HTTPException(
            404, f"no architecture '{name}'; known: {', '.join(architecture_names())}"
        )
    spec = get_spec(name)
    size = None if input_size is None else (spec.input_size[0], input_size, input_size)
    try:
        prof = await run_in_threadpool(
            profile_architecture, name, size, batch, dtype, leaf_only=leaf_only
        )
    except (ModelsError, RuntimeError, ValueError) as exc:
        # Too small an input for the network's downsampling ends in a shape error.
        raise HTTPException(422, f"cannot profile {name} at input {input_size}: {exc}") from exc
    return _public(name, prof)


class ProfileRequest(BaseModel):
    """A stack of layers to build and profile; each layer's input comes from the one before."""

    input_shape: list[Any] = Field(description="[C, H, W], batch excluded")
    batch: Any = 1
    dtype: DType = "float32"
    layers: list[dict[str, Any]] = Field(
        description="Layers such as {type: conv2d, out_channels, kernel_size, stride, padding, "
        "dilation, groups, bias}; types: conv2d, linear, maxpool2d, avgpool2d, "
        "adaptive_avgpool2d, batchnorm2d, relu, flatten, channel_shuffle, fire, se, "
        "inverted_residual, bottleneck, …"
    )


@router.post(
    "/profile",
    response_model=ProfilePublic,
    responses={422: ERROR_RESPONSES[404] | {"description": "Invalid spec, naming the layer"}},
)
async def profile_spec(body: ProfileRequest) -> ProfilePublic:
    """Build the given layers on the meta device and profile them (nothing real is allocated)."""
    from models import SpecError, build_from_spec, profile

    try:
        module = build_from_spec(body.input_shape, body.layers, body.batch)
        prof = await run_in_threadpool(
            profile, module, tuple(body.input_shape), body.batch, body.dtype
        )
    except SpecError as exc:
        loc: list[Any] = ["body", "layers", exc.index] if exc.index is not None else ["body"]
        raise HTTPException(
            422, [{"loc": loc, "index": exc.index, "msg": exc.message, "type": "spec_error"}]
        ) from exc
    return _public("custom", prof)
