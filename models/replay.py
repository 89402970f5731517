"""The profiler's fast pass: each distinct (module configuration, input) runs once.

A network repeats itself: ResNet-50 runs eight of its sixteen bottlenecks on an input some
identical bottleneck has already seen, and most of its batch norms and convolutions repeat an
earlier (configuration, input shape) pair. On the meta device a module's outputs, MACs and
memory traffic are a pure function of its configuration and the shapes of its inputs, so the
first call of each pair runs for real (through torch's layers, with torch's flop formulas) and
is recorded as a *fragment*: its rows, its MACs, the aten-op steps it took, the storages it
created and when they died, and when it last read its inputs. Every later call with the same
key replays the fragment instead of running: new meta tensors of the recorded shapes come out,
the rows are copied under the new module names, and the step counter, the MAC total and the
liveness spans advance exactly as the real pass would have advanced them. The result is the
plain pass's result, figure for figure (``tests/test_profiler.py`` compares the two on every
reference architecture).

What makes two calls "the same": the module's class, its train flag, every plain attribute
(numbers, strings, tuples, dtypes, frozen dataclasses by value; any other object by identity),
its parameters' and buffers' shapes and dtypes, its children's keys by name, and the inputs'
shapes, strides, offsets, dtypes and aliasing. A module with hooks of its own, a tensor held as
a plain attribute, or an argument that is neither a tensor nor a plain value is never replayed
(it runs every time). A call is recorded only if everything it read came in through its
arguments or was created inside it, and everything it returned is new or a view of an argument.
"""

from __future__ import annotations

import dataclasses
import enum
import itertools
import threading
from collections.abc import Callable, Iterable
from typing import Any

import torch
from torch import Tensor, nn
from torch.nn.modules import module as _module_globals
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils.flop_counter import FlopCounterMode, flop_registry
from torch.utils.module_tracker import ModuleTracker

__all__ = ["FastCall", "FastTrace", "fast_trace", "can_replay"]

_SKIP_ATTRS = frozenset(
    {
        "_parameters",
        "_buffers",
        "_modules",
        "_non_persistent_buffers_set",
        "_state_dict_hooks",
        "_state_dict_pre_hooks",
        "_load_state_dict_pre_hooks",
        "_load_state_dict_post_hooks",
        "_forward_hooks_with_kwargs",
        "_forward_hooks_always_called",
        "_forward_pre_hooks_with_kwargs",
        "_is_full_backward_hook",
        "training",
    }
)
_HOOK_ATTRS = ("_forward_hooks", "_forward_pre_hooks", "_backward_hooks", "_backward_pre_hooks")
_VALUE_TYPES = (
    int,
    float,
    str,
    bool,
    type(None),
    torch.dtype,
    torch.device,
    torch.layout,
    torch.memory_format,
)
_UNSAFE = object()  # a value that makes a module or a call never replayable


def _canon(value: Any) -> Any:
    """A hashable stand-in for an attribute value that two equal configurations share."""
    kind = type(value)
    if kind in _VALUE_TYPES:
        return (kind, value)
    if kind is tuple or kind is list:
        parts = tuple(_canon(v) for v in value)
        return _UNSAFE if _UNSAFE in parts else (kind, parts)
    if isinstance(value, Tensor):
        return _UNSAFE  # a plain tensor attribute could be read by forward: not a config value
    if isinstance(value, enum.Enum):
        return (kind, value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        if kind.__dataclass_params__.frozen:  # type: ignore[attr-defined]
            fields = tuple(_canon(getattr(value, f.name)) for f in dataclasses.fields(value))
            return _UNSAFE if _UNSAFE in fields else (kind, fields)
    return ("id", id(value))  # anything else: only the very same object is the same


class _Keys:
    """Interns module fingerprints to small ints; None marks a module that is never replayed."""

    def __init__(self, root: nn.Module) -> None:
        self._ids: dict[tuple[Any, ...], int] = {}
        self.of: dict[int, int | None] = {}
        self._visit(root)

    def _visit(self, m: nn.Module) -> int | None:
        seen = self.of.get(id(m), _UNSAFE)
        if seen is not _UNSAFE:
            return seen  # type: ignore[return-value]
        children = tuple((name, self._visit(child)) for name, child in m._modules.items() if child)
        key: int | None = None
        if all(k is not None for _, k in children) and not any(
            getattr(m, attr, None) for attr in _HOOK_ATTRS
        ):
            attrs = tuple(
                (k, _canon(v))
                for k, v in sorted(m.__dict__.items())
                if k not in _SKIP_ATTRS and "hook" not in k
            )
            if not any(v is _UNSAFE for _, v in attrs):
                params = tuple(
                    (n, None if p is None else (tuple(p.shape), p.dtype, p.requires_grad))
                    for n, p in m._parameters.items()
                )
                buffers = tuple(
                    (n, None if b is None else (tuple(b.shape), b.dtype))
                    for n, b in m._buffers.items()
                )
                full = (type(m), m.training, attrs, params, buffers, children)
                key = self._ids.setdefault(full, len(self._ids))
        self.of[id(m)] = key
        return key


def can_replay(module: nn.Module) -> bool:
    """Whether the fast pass may run on ``module``: no global module hooks, no TorchScript.

    Global hooks (another thread's ``FlopCounterMode`` module tracking, for instance) would see
    the calls that run but not the ones replayed; a scripted module cannot take a wrapper.
    """
    if (
        _module_globals._global_forward_hooks
        or _module_globals._global_forward_pre_hooks
        or _module_globals._global_backward_hooks
        or _module_globals._global_backward_pre_hooks
    ):
        return False
    return not any(isinstance(m, torch.jit.ScriptModule) for m in module.modules())


def _tensors(obj: object) -> Iterable[Tensor]:
    if isinstance(obj, Tensor):
        yield obj
    elif isinstance(obj, (tuple, list)):
        for item in obj:
            yield from _tensors(item)
    elif isinstance(obj, dict):
        for item in obj.values():
            yield from _tensors(item)


def _storage(t: Tensor) -> int:
    return int(t.untyped_storage()._cdata)


@dataclasses.dataclass
class FastCall:
    """One module call, as the plain pass's recorder writes it (see models.profiler._Call)."""

    name: str
    module: nn.Module
    depth: int
    leaf: bool
    call: int
    input_shape: tuple[int, ...]
    flops: int = 0
    output_shape: tuple[int, ...] = ()
    output_elements: int = 0
    aliases_input: bool = False


@dataclasses.dataclass(frozen=True)
class FastTrace:
    calls: list[FastCall]
    flops: int
    output: Any
    live_peak_elements: int
    replayed_calls: int  # how many module calls were replayed rather than run (for the bench)


class _Recording:
    """A call being recorded: where it started, what it may read, whether it can be replayed."""

    __slots__ = ("step", "span_index", "call_index", "flops", "args", "arg_last", "valid")

    def __init__(self, step: int, span_index: int, call_index: int, flops: int) -> None:
        self.step = step
        self.span_index = span_index
        self.call_index = call_index
        self.flops = flops
        self.args: dict[int, int] = {}  # storage -> index of the first argument holding it
        self.arg_last: dict[int, int] = {}  # argument index -> last step that read it
        self.valid = True


@dataclasses.dataclass(frozen=True)
class _Fragment:
    steps: int
    flops: int
    # (relative name, leaf, input shape, flops, output shape, output elements, aliases input)
    calls: tuple[tuple[str, bool, tuple[int, ...], int, tuple[int, ...], int, bool], ...]
    spans: tuple[tuple[int, int, int], ...]  # first, last (relative steps), elements
    arg_last: tuple[tuple[int, int], ...]  # argument index, last step that read it (relative)
    # Per output tensor: ("arg", i, ...) a view of argument i; ("span", j, ...) a new storage,
    # the j-th of ``spans``; ("new", -1, ...) a new untracked storage (integer outputs).
    outputs: tuple[tuple[Any, ...], ...]
    tuple_type: type | None  # None: one tensor came out; else tuple or list of them


# Ops the flop counter declines (metadata queries of tensor subclasses): not counted.
_NOT_COUNTED = {
    torch.ops.aten.sym_is_contiguous.default,
    torch.ops.aten.is_contiguous.default,
    torch.ops.aten.is_contiguous.memory_format,
    torch.ops.aten.is_strides_like_format.default,
    torch.ops.aten.is_non_overlapping_and_dense.default,
    torch.ops.aten.size.default,
    torch.ops.aten.sym_size.default,
    torch.ops.aten.stride.default,
    torch.ops.aten.sym_stride.default,
    torch.ops.aten.storage_offset.default,
    torch.ops.aten.sym_storage_offset.default,
    torch.ops.aten.numel.default,
    torch.ops.aten.sym_numel.default,
    torch.ops.aten.dim.default,
    torch.ops.prim.layout.default,
}
_decomposable: dict[Any, bool] = {}


def _has_decomposition(func: Any) -> bool:
    """Whether ``FlopCounterMode`` would decompose ``func`` before counting (it tries every op)."""
    known = _decomposable.get(func)
    if known is None:
        key = torch._C.DispatchKey.CompositeImplicitAutograd
        known = func is not torch.ops.prim.device.default and (
            key in func.py_kernels
            or torch._C._dispatch_has_kernel_for_dispatch_key(func.name(), key)
        )
        _decomposable[func] = known
    return known


class _GlobalOnly(ModuleTracker):
    def __enter__(self) -> _GlobalOnly:
        return self

    def __exit__(self, *args: object) -> None:
        return None


class _Pass(TorchDispatchMode):
    """Counts MACs with torch's flop formulas and tracks storage lifetimes, in one dispatch."""

    def __init__(self, root: nn.Module, x: Tensor) -> None:
        super().__init__()
        self.owner = threading.get_ident()
        self.names = {id(m): name for name, m in root.named_modules()}
        self.by_name = dict(root.named_modules())
        self.leaf = {id(m): next(iter(m.children()), None) is None for m in root.modules()}
        self.keys = _Keys(root).of
        self.weights = {_storage(t) for t in (*root.parameters(), *root.buffers())}
        self.calls: list[FastCall] = []
        self.seen: dict[int, int] = {}
        self.flops = 0
        self.step = 0
        self.keep: list[Tensor] = [x]  # keeps storages alive: a freed address could be reused
        # first step, last step, elements, index in ``spans``, storage (-1: none to look up)
        first = [0, 0, x.numel(), 0, _storage(x)]
        self.spans: list[list[int]] = [first]
        self.live: dict[int, list[int]] = {_storage(x): first}
        self.stack: list[_Recording] = []
        self.fragments: dict[tuple[Any, ...], _Fragment] = {}
        self.replayed = 0
        self.muted = False

    # -- the dispatch: every aten op of the calls that really run -----------------------------
    def __torch_dispatch__(
        self, func: Any, types: Any, args: tuple[Any, ...] = (), kwargs: Any = None
    ) -> Any:
        kwargs = kwargs or {}
        if self.muted:  # the replay's own tensors: not part of the network's pass
            return func(*args, **kwargs)
        out = self._run_and_count(func, args, kwargs)
        step = self.step
        live = self.live
        for t in _tensors((args, kwargs)):
            span = live.get(_storage(t))
            if span is not None:
                span[1] = step
                if self.stack:
                    self._read(span, step)
        for t in _tensors(out):
            key = _storage(t)
            span = live.get(key)
            if span is not None:
                span[1] = step
                if self.stack:
                    self._read(span, step)
            elif t.is_floating_point() and key not in self.weights:
                size = t.untyped_storage().nbytes() // t.element_size()
                span = [step, step, size, len(self.spans), key]
                self.spans.append(span)
                live[key] = span
                self.keep.append(t)
        self.step = step + 1
        return out

    def _run_and_count(self, func: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """What ``FlopCounterMode`` does with one op, with its count added to ``self.flops``."""
        if func in _NOT_COUNTED:
            return func(*args, **kwargs)
        if _has_decomposition(func):
            counter = FlopCounterMode(display=False)
            counter.mod_tracker = _GlobalOnly()
            with counter:
                result = func.decompose(*args, **kwargs)
            if result is not NotImplemented:
                self.flops += sum(counter.flop_counts["Global"].values())
                return result
        out = func(*args, **kwargs)
        formula = flop_registry.get(func._overloadpacket)
        if formula is not None:
            self.flops += formula(*args, **kwargs, out_val=out)
        return out

    def _read(self, span: list[int], step: int) -> None:
        """A storage was read at ``step``: record it for each call being recorded."""
        index = span[3]
        for rec in self.stack:
            if index >= rec.span_index:
                continue  # created inside the recorded call
            arg = rec.args.get(span[4])
            if arg is None:
                rec.valid = False  # read something that did not come in through its arguments
            else:
                rec.arg_last[arg] = step

    # -- module calls --------------------------------------------------------------------------
    def wrap(self, m: nn.Module) -> Callable[..., Any]:
        original = m.forward

        def forward(*args: Any, **kwargs: Any) -> Any:
            if threading.get_ident() != self.owner:
                return original(*args, **kwargs)
            return self.call(m, original, args, kwargs)

        return forward

    def call(
        self, m: nn.Module, original: Callable[..., Any], args: tuple[Any, ...], kwargs: Any
    ) -> Any:
        key = self._key(m, args, kwargs)
        if key is not None:
            fragment = self.fragments.get(key)
            if fragment is not None:
                out = self._replay(m, fragment, args)
                if out is not _UNSAFE:
                    return out
        name = self.names[id(m)]
        n = self.seen.get(id(m), 0)
        self.seen[id(m)] = n + 1
        rec = FastCall(
            name=name,
            module=m,
            depth=0 if name == "" else name.count(".") + 1,
            leaf=self.leaf[id(m)],
            call=n,
            input_shape=_first_shape(args),
        )
        self.calls.append(rec)
        flops_before = self.flops
        recording = None
        if key is not None:
            recording = _Recording(self.step, len(self.spans), len(self.calls) - 1, self.flops)
            for i, t in enumerate(args):
                if isinstance(t, Tensor):
                    recording.args.setdefault(_storage(t), i)
            self.stack.append(recording)
        try:
            out = original(*args, **kwargs)
        finally:
            if recording is not None:
                self.stack.pop()
        rec.flops = self.flops - flops_before
        outs = list(_tensors(out))
        rec.output_shape = tuple(outs[0].shape) if outs else ()
        rec.output_elements = sum(t.numel() for t in outs)
        ins = {_storage(t) for t in _tensors(args)}
        rec.aliases_input = bool(outs) and all(_storage(t) in ins for t in outs)
        if recording is not None and recording.valid and key not in self.fragments:
            fragment = self._fragment(recording, name, args, out)
            if fragment is not None:
                self.fragments[key] = fragment  # type: ignore[index]
        return out

    def _key(self, m: nn.Module, args: tuple[Any, ...], kwargs: Any) -> tuple[Any, ...] | None:
        module_key = self.keys.get(id(m))
        if module_key is None or kwargs:
            return None
        parts: list[Any] = [module_key]
        storages: dict[int, int] = {}
        for i, a in enumerate(args):
            if isinstance(a, Tensor):
                key = _storage(a)
                parts.append(
                    (
                        tuple(a.shape),
                        a.stride(),
                        a.storage_offset(),
                        a.dtype,
                        a.device,
                        storages.setdefault(key, i),
                        key in self.live,
                    )
                )
            else:
                value = _canon(a)
                if value is _UNSAFE or value[0] == "id":
                    return None
                parts.append(value)
        return tuple(parts)

    def _fragment(
        self, rec: _Recording, name: str, args: tuple[Any, ...], out: Any
    ) -> _Fragment | None:
        start = rec.step
        prefix = name + "." if name else ""
        calls = []
        for c in self.calls[rec.call_index :]:
            if c.name == name:
                rel = ""
            elif c.name.startswith(prefix):
                rel = c.name[len(prefix) :]
            else:
                return None  # a module outside this one's subtree ran inside it
            calls.append(
                (
                    rel,
                    c.leaf,
                    c.input_shape,
                    c.flops,
                    c.output_shape,
                    c.output_elements,
                    c.aliases_input,
                )
            )
        if calls[0][0] != "" or sum(1 for c in calls if c[0] == "") != 1:
            return None
        inside = self.spans[rec.span_index :]
        position = {id(span): j for j, span in enumerate(inside)}
        if isinstance(out, Tensor):
            outs, tuple_type = [out], None
        elif type(out) in (tuple, list) and all(isinstance(t, Tensor) for t in out):
            outs, tuple_type = list(out), type(out)
        else:
            return None
        specs = []
        for t in outs:
            key = _storage(t)
            geometry = (tuple(t.shape), t.stride(), t.storage_offset(), t.dtype)
            span = self.live.get(key)
            if key in rec.args:
                specs.append(("arg", rec.args[key], *geometry, 0))
            elif span is not None and id(span) in position:
                specs.append(("span", position[id(span)], *geometry, span[2]))
            elif span is None and key not in self.weights:
                elements = t.untyped_storage().nbytes() // t.element_size()
                specs.append(("new", -1, *geometry, elements))
            else:
                return None  # returns a weight or an earlier activation it was not given
        return _Fragment(
            steps=self.step - start,
            flops=self.flops - rec.flops,
            calls=tuple(calls),
            spans=tuple((s[0] - start, s[1] - start, s[2]) for s in inside),
            arg_last=tuple((i, last - start) for i, last in rec.arg_last.items()),
            outputs=tuple(specs),
            tuple_type=tuple_type,
        )

    def _replay(self, m: nn.Module, fragment: _Fragment, args: tuple[Any, ...]) -> Any:
        name = self.names[id(m)]
        prefix = name + "." if name else ""
        modules = []
        for call in fragment.calls:
            full = prefix + call[0] if call[0] else name
            target = self.by_name.get(full)
            if target is None:
                return _UNSAFE  # a shared module elsewhere in the tree: run it for real
            modules.append((full, target))
        start = self.step
        for i, rel in fragment.arg_last:
            span = self.live.get(_storage(args[i]))
            if span is not None:
                span[1] = start + rel
                if self.stack:
                    self._read(span, start + rel)
        base = len(self.spans)
        for first, last, size in fragment.spans:
            self.spans.append([start + first, start + last, size, len(self.spans), -1])
        self.muted = True  # the replay's own tensors are not ops of the network
        try:
            outs = self._outputs(fragment, args, base)
        finally:
            self.muted = False
        for (full, target), call in zip(modules, fragment.calls, strict=True):
            n = self.seen.get(id(target), 0)
            self.seen[id(target)] = n + 1
            _, leaf, input_shape, flops, output_shape, elements, aliases = call
            self.calls.append(
                FastCall(
                    name=full,
                    module=target,
                    depth=0 if full == "" else full.count(".") + 1,
                    leaf=leaf,
                    call=n,
                    input_shape=input_shape,
                    flops=flops,
                    output_shape=output_shape,
                    output_elements=elements,
                    aliases_input=aliases,
                )
            )
        self.step = start + fragment.steps
        self.flops += fragment.flops
        self.replayed += len(fragment.calls)
        if fragment.tuple_type is None:
            return outs[0]
        return fragment.tuple_type(outs)

    def _outputs(self, fragment: _Fragment, args: tuple[Any, ...], base: int) -> list[Tensor]:
        """New meta tensors shaped as the recorded outputs; their storages join the spans."""
        made: dict[int, Tensor] = {}
        outs = []
        for kind, index, shape, stride, offset, dtype, elements in fragment.outputs:
            if kind == "arg":
                outs.append(args[index].as_strided(shape, stride, offset))
                continue
            if kind == "span" and index in made:
                storage = made[index]
            else:
                storage = torch.empty(elements, dtype=dtype, device="meta")
                self.keep.append(storage)
                if kind == "span":
                    made[index] = storage
                    span = self.spans[base + index]
                    span[4] = _storage(storage)
                    self.live[span[4]] = span
            outs.append(storage.as_strided(shape, stride, offset))
        return outs

    def peak_elements(self, output: object) -> int:
        """The largest number of activation elements alive at once during the pass."""
        end = max(self.step - 1, 0)
        for t in _tensors(output):
            span = self.live.get(_storage(t))
            if span is not None:
                span[1] = end
        delta = [0] * (end + 2)
        for first, last, size, _, _ in self.spans:
            delta[first] += size
            delta[last + 1] -= size
        return max(itertools.accumulate(delta))


def _first_shape(obj: object) -> tuple[int, ...]:
    for t in _tensors(obj):
        return tuple(t.shape)
    return ()


def fast_trace(mod: nn.Module, x: Tensor) -> FastTrace:
    """One forward pass of ``mod`` (already in eval mode, on meta) on ``x``, repeats replayed."""
    state = _Pass(mod, x)
    patched = []
    try:
        for m in mod.modules():
            had = m.__dict__.get("forward")
            m.__dict__["forward"] = state.wrap(m)
            patched.append((m, had))
        with torch.no_grad(), state:
            out = mod(x)
    finally:
        for m, had in patched:
            if had is None:
                del m.__dict__["forward"]
            else:
                m.__dict__["forward"] = had
    return FastTrace(state.calls, state.flops, out, state.peak_elements(out), state.replayed)
