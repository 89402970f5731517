"""Architectures and layer profiles: the numbers of the real torch modules, built on meta.

Every figure comes from ``models`` (the profiler runs one forward pass on the meta device:
no weights are allocated, no arithmetic is done). Profiles of the registry architectures are
cached per (name, input, batch, dtype).

Profiling costs CPU (about 2 ms per torch module) and these endpoints are public, so work
that is not cached runs in a worker thread, limited per client address and in number at once
(``api.limits``); answers are encoded to JSON in the worker thread too. The HTTP layer keeps
its own cache of architecture profiles: clients' choices never evict the question
generator's.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Annotated, Any, NamedTuple

import anyio.to_thread
from fastapi import APIRouter, Path, Query, Request, Response
from pydantic import BaseModel, ConfigDict

from ..limits import limiters, run_profile
from ..refusals import (
    InvalidSpec,
    OutOfRange,
    TooMany,
    UnknownArchitecture,
    Unprofilable,
    refusals,
)
from ..services.profiles import (
    CONVENTIONS,
    DType,
    ProfilePublic,
    Share,
    Totals,
    profile_layers,
    profile_public,
    shares,
    totals,
)

# `models` imports torch (seconds); it is imported on first use, and warmed in the background
# at start-up, so the server answers /health long before torch is loaded.

router = APIRouter(tags=["architectures"])
log = logging.getLogger("flopcards")


class ArchitecturePublic(BaseModel):
    """A reference architecture."""

    name: str
    title: str
    paper: dict[str, Any]
    default_input: list[int]
    variant: str


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


MAX_COMPARE = 4  # architectures per comparison


class ArchitectureSummary(BaseModel):
    """One network of a comparison: its totals and where its MACs and parameters go."""

    name: str
    title: str
    variant: str
    input_shape: list[int]
    totals: Totals
    by_type: list[Share]
    by_stage: list[Share]


class ComparisonPublic(BaseModel):
    """The same summaries for a few architectures, side by side, in the order asked."""

    batch: int
    dtype: str
    conventions: dict[str, str]
    architectures: list[ArchitectureSummary]


def _compare_names(names: str) -> list[str]:
    """The comma-separated names, checked: 1 to MAX_COMPARE distinct registry names."""
    from models import architecture_names

    wanted = [n.strip() for n in names.split(",")]
    if any(not n for n in wanted) or len(wanted) > MAX_COMPARE:
        raise OutOfRange(f"names: 1 to {MAX_COMPARE} architecture names, comma-separated")
    if len(set(wanted)) != len(wanted):
        raise OutOfRange("names: each architecture at most once")
    unknown = [n for n in wanted if n not in architecture_names()]
    if unknown:
        known = ", ".join(architecture_names())
        raise UnknownArchitecture(f"no architecture {', '.join(unknown)}; known: {known}")
    return wanted


def _summary(spec: Any, prof: Any) -> ArchitectureSummary:
    from models.breakdown import by_stage, by_type

    return ArchitectureSummary(
        name=spec.name,
        title=spec.title,
        variant=spec.variant,
        input_shape=list(prof.input_shape),
        totals=totals(prof),
        by_type=shares(by_type(prof)),
        by_stage=shares(by_stage(prof)),
    )


@router.get(
    "/architectures/compare",
    response_model=ComparisonPublic,
    responses=refusals(OutOfRange, UnknownArchitecture, Unprofilable, TooMany),
)
async def compare_architectures(
    request: Request,
    names: Annotated[str, Query(max_length=200, description="e.g. mobilenet_v2,resnet50")],
    input_size: Annotated[int | None, Query(ge=1, le=4096, description="Side H = W")] = None,
    batch: Annotated[int, Query(ge=1, le=1024)] = 1,
    dtype: DType = "float32",
) -> Response:
    """By-type and by-stage shares and totals of up to four architectures, side by side."""
    from models import get_spec

    wanted = _compare_names(names)
    keys = [_ProfileKey(name, input_size, batch, dtype, True) for name in wanted]
    profiles = await _profiles(request, keys)

    def encode() -> bytes:
        summaries = [_summary(get_spec(n), p) for n, p in zip(wanted, profiles, strict=True)]
        comparison = ComparisonPublic(
            batch=batch, dtype=dtype, conventions=CONVENTIONS, architectures=summaries
        )
        return comparison.model_dump_json().encode()

    return _json(await anyio.to_thread.run_sync(encode))


@router.get(
    "/architectures/{name}/profile",
    response_model=ProfilePublic,
    responses=refusals(UnknownArchitecture, Unprofilable, TooMany),
)
async def architecture_profile(
    request: Request,
    name: Annotated[str, Path(max_length=64)],
    input_size: Annotated[int | None, Query(ge=1, le=4096, description="Side H = W")] = None,
    batch: Annotated[int, Query(ge=1, le=1024)] = 1,
    dtype: DType = "float32",
    leaf_only: bool = True,
) -> Response:
    """The per-layer table of a reference architecture at an input size, batch and dtype."""
    from models import architecture_names

    if name not in architecture_names():
        raise UnknownArchitecture(
            f"no architecture '{name}'; known: {', '.join(architecture_names())}"
        )
    key = _ProfileKey(name, input_size, batch, dtype, leaf_only)
    cache = limiters(request).profiles
    body: str | None = cache.get(("json", key))
    if body is None:
        (prof,) = await _profiles(request, [key])
        body = await anyio.to_thread.run_sync(lambda: profile_public(name, prof).model_dump_json())
        cache.put(("json", key), body)
    return _json(body)


class _ProfileKey(NamedTuple):
    """What an architecture profile depends on (``input_size`` is the side, None: default)."""

    name: str
    input_size: int | None
    batch: int
    dtype: str
    leaf_only: bool


async def _profiles(request: Request, keys: list[_ProfileKey]) -> list[Any]:
    """Architecture profiles from the HTTP layer's cache; the missing ones are computed
    together, as one uncached profile of the client's (``api.limits.run_profile``)."""
    cache = limiters(request).profiles
    found = {key: cache.get(("profile", key)) for key in keys}
    missing = [key for key, prof in found.items() if prof is None]
    if missing:
        computed = await run_profile(request, _compute_profiles, missing)
        for key, prof in zip(missing, computed, strict=True):
            cache.put(("profile", key), prof)
            found[key] = prof
    return [found[key] for key in keys]


def _compute_profiles(keys: list[_ProfileKey]) -> list[Any]:
    """Profile each architecture (in a worker thread), outside the models' shared cache."""
    from models import ModelsError, get_spec
    from models.profiler import profile_architecture_uncached

    out = []
    for name, side, batch, dtype, leaf_only in keys:
        size = None if side is None else (get_spec(name).input_size[0], side, side)
        try:
            out.append(profile_architecture_uncached(name, size, batch, dtype, leaf_only=leaf_only))
        except (ModelsError, RuntimeError, ValueError) as exc:
            # Too small an input for the network's downsampling ends in a shape error.
            raise Unprofilable(f"cannot profile {name} at input {side}: {exc}") from exc
    return out


class CounterFigure(BaseModel):
    """What one counter reports for the network, under its own documented convention."""

    tool: str
    title: str
    version: str
    call: str
    reports: str
    unit: str
    figure: int
    meta_figure: int
    service: int
    difference: int
    relative: float
    parts: dict[str, int]
    explanation: str


class ConventionsPublic(BaseModel):
    """Every counter's figure for one network, against the service's MACs and FLOPs."""

    architecture: str
    input_shape: list[int]
    batch: int
    macs: int
    flops: int
    note: str
    tools: list[CounterFigure]


def _conventions_public(name: str, input_shape: list[int], batch: int, figures: list[Any]) -> str:
    from models.conventions import ELEMENTWISE_NOTE

    macs = next(f.service for f in figures if f.unit == "MACs")
    return ConventionsPublic(
        architecture=name,
        input_shape=input_shape,
        batch=batch,
        macs=macs,
        flops=2 * macs,
        note=(
            "Computed by the service under each tool's documented convention (the tools are "
            "not run here); figure: a model with real weights, meta_figure: the same model on "
            f"the meta device. {ELEMENTWISE_NOTE}"
        ),
        tools=[CounterFigure(**f.as_dict()) for f in figures],
    ).model_dump_json()


def _architecture_conventions_json(key: _ProfileKey) -> str:
    """Trace a registry architecture and apply every counter's rules (a worker thread)."""
    from models import ModelsError, get_spec
    from models.conventions import tool_figures, trace_architecture

    spec = get_spec(key.name)
    size = (
        spec.input_size if key.input_size is None else (spec.input_size[0],) + (key.input_size,) * 2
    )
    try:
        figures = tool_figures(trace_architecture(key.name, size, key.batch))
    except (ModelsError, RuntimeError, ValueError) as exc:
        raise Unprofilable(f"cannot trace {key.name} at input {key.input_size}: {exc}") from exc
    return _conventions_public(key.name, list(size), key.batch, figures)


@router.get(
    "/architectures/{name}/conventions",
    response_model=ConventionsPublic,
    responses=refusals(UnknownArchitecture, Unprofilable, TooMany),
)
async def architecture_conventions(
    request: Request,
    name: Annotated[str, Path(max_length=64)],
    input_size: Annotated[int | None, Query(ge=1, le=4096, description="Side H = W")] = None,
    batch: Annotated[int, Query(ge=1, le=1024)] = 1,
) -> Response:
    """What torchinfo, fvcore, thop, ptflops (both back ends), calflops, DeepSpeed's profiler
    and torch's FlopCounterMode would report for a reference architecture, each computed
    under the tool's own convention, with how and by how much it differs from the service's."""
    from models import architecture_names

    if name not in architecture_names():
        raise UnknownArchitecture(
            f"no architecture '{name}'; known: {', '.join(architecture_names())}"
        )
    key = _ProfileKey(name, input_size, batch, "float32", True)
    cache = limiters(request).profiles
    body: str | None = cache.get(("conventions", key))
    if body is None:
        body = await run_profile(request, _architecture_conventions_json, key)
        cache.put(("conventions", key), body)
    return _json(body)


def _json(body: str | bytes) -> Response:
    """An answer already encoded (in a worker thread) as JSON."""
    return Response(body, media_type="application/json")


# One stack that uses every layer type models/spec.py accepts: the example body of POST /profile
# (each type's schema shows its layer from here). The tests check that it covers every type and
# profiles.
PROFILE_EXAMPLE: dict[str, Any] = {
    "input_shape": [3, 64, 64],
    "batch": 1,
    "dtype": "float32",
    "layers": [
        {"type": "conv2d", "out_channels": 32, "kernel_size": 3, "stride": 2, "padding": 1,
         "bias": False},
        {"type": "batchnorm2d"},
        {"type": "relu", "inplace": True},
        {"type": "maxpool2d", "kernel_size": 3, "stride": 2, "padding": 1},
        {"type": "fire", "squeeze_planes": 8, "expand1x1_planes": 32, "expand3x3_planes": 32},
        {"type": "se", "reduction": 16},
        {"type": "inverted_residual", "out_channels": 64, "expand_ratio": 6},
        {"type": "bottleneck", "planes": 16},
        {"type": "basic_block", "planes": 64, "stride": 2},
        {"type": "depthwise_separable", "out_channels": 128},
        {"type": "shufflenet_v2_unit", "out_channels": 128},
        {"type": "channel_shuffle", "groups": 4},
        {"type": "conv2d", "out_channels": 128, "kernel_size": [3, 3], "padding": 1, "groups": 4},
        {"type": "relu6"},
        {"type": "avgpool2d", "kernel_size": 2},
        {"type": "adaptive_avgpool2d", "output_size": 1},
        {"type": "flatten"},
        {"type": "dropout", "p": 0.2},
        {"type": "linear", "out_features": 10},
    ],
}  # fmt: skip


class _SpecSchema:
    """Pydantic metadata that gives a field the JSON schema built from ``models.spec``.

    Built when the OpenAPI document is first asked for, not at import (``models`` imports
    torch, which takes seconds). Validation itself stays with ``models.spec``, whose errors name
    the offending layer; the schema documents the same definitions.
    """

    def __init__(self, build: Callable[[], dict[str, Any]]) -> None:
        self.build = build

    def __get_pydantic_json_schema__(self, core_schema: Any, handler: Any) -> dict[str, Any]:
        return self.build()


def _field_schema(field: dict[str, Any]) -> dict[str, Any]:
    """One spec field (from ``models.layer_types()``) as JSON schema."""
    from models.spec import MAX_INT

    schema: dict[str, Any] = {"type": "boolean"}
    if field["kind"] != "bool":
        integer = field["kind"] != "float"
        top = field["maximum"] if field["maximum"] is not None else MAX_INT if integer else None
        schema = {"type": "integer" if integer else "number", "minimum": field["minimum"]}
        schema |= {"maximum": top} if top is not None else {}
    if field["kind"] == "pair":
        pair = {"type": "array", "items": schema, "minItems": 2, "maxItems": 2}
        schema = {"anyOf": [schema, pair]}
    if field["nullable"]:
        schema = {"anyOf": [schema, {"type": "null"}]}
    return schema if field["required"] else schema | {"default": field["default"]}


def _layers_schema() -> dict[str, Any]:
    """Every layer type with its fields, each with its layer of PROFILE_EXAMPLE as example."""
    from models import MAX_LAYERS, layer_types

    examples = {layer["type"]: layer for layer in reversed(PROFILE_EXAMPLE["layers"])}
    variants = []
    for kind, fields in layer_types().items():
        variants.append(
            {
                "title": f"{kind} layer",
                "type": "object",
                "properties": {"type": {"const": kind}}
                | {name: _field_schema(f) for name, f in fields.items()},
                "required": ["type", *(name for name, f in fields.items() if f["required"])],
                "additionalProperties": False,
                "examples": [examples[kind]] if kind in examples else [],
            }
        )
    return {
        "type": "array",
        "minItems": 1,
        "maxItems": MAX_LAYERS,
        "items": {"oneOf": variants},
        "description": "The layers in order; each one's input channels or features come from "
        "the layer before (in_channels, in_features, num_features may be given and must agree). "
        "Field names are torch's constructor arguments.",
    }


def _input_shape_schema() -> dict[str, Any]:
    from models import MAX_CHANNELS, MAX_SIDE

    return {
        "type": "array",
        "items": {"type": "integer", "minimum": 1, "maximum": max(MAX_CHANNELS, MAX_SIDE)},
        "minItems": 3,
        "maxItems": 3,
        "description": f"[C, H, W], batch excluded; C at most {MAX_CHANNELS:,}, H and W at "
        f"most {MAX_SIDE:,}",
    }


def _batch_schema() -> dict[str, Any]:
    from models import MAX_BATCH

    return {"type": "integer", "minimum": 1, "maximum": MAX_BATCH, "default": 1}


class ProfileRequest(BaseModel):
    """A stack of layers to build and profile; each layer's input comes from the one before."""

    model_config = ConfigDict(json_schema_extra={"examples": [PROFILE_EXAMPLE]})

    input_shape: Annotated[list[Any], _SpecSchema(_input_shape_schema)]
    batch: Annotated[Any, _SpecSchema(_batch_schema)] = 1
    dtype: DType = "float32"
    layers: Annotated[list[dict[str, Any]], _SpecSchema(_layers_schema)]


@router.post(
    "/profile",
    response_model=ProfilePublic,
    responses=refusals(InvalidSpec, TooMany),
)
async def profile_spec(request: Request, body: ProfileRequest) -> Response:
    """Build the given layers on the meta device and profile them (nothing real is allocated)."""
    return _json(await run_profile(request, _profile_spec_json, body))


@router.post(
    "/profile/conventions",
    response_model=ConventionsPublic,
    responses=refusals(InvalidSpec, TooMany),
)
async def profile_spec_conventions(request: Request, body: ProfileRequest) -> Response:
    """What each well-known counter would report for the given layers (the body of
    ``POST /profile``), under its own convention, against the service's MACs and FLOPs."""
    return _json(await run_profile(request, _spec_conventions_json, body))


def _spec_conventions_json(body: ProfileRequest) -> str:
    """Validate, build, trace and encode a spec's counter figures (in a worker thread)."""
    from models import SpecError
    from models.conventions import spec_conventions

    from ..services.profiles import spec_error

    try:
        figures = spec_conventions(body.input_shape, body.layers, body.batch)
    except SpecError as exc:
        raise InvalidSpec([spec_error(exc)]) from exc
    return _conventions_public("custom", list(body.input_shape), body.batch, figures)


def _profile_spec_json(body: ProfileRequest) -> str:
    """Validate, build, profile and encode a spec (in a worker thread): the answer's JSON."""
    prof = profile_layers(body.input_shape, body.layers, body.batch, body.dtype)
    return profile_public("custom", prof).model_dump_json()
