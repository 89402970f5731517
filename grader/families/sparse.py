"""Sparse against dense storage: a weight matrix in CSR at a given density, and the density
below which CSR is the smaller format.

The CSR truth is a real ``torch.sparse_csr_tensor`` holding exactly the given number of
nonzeros, with the question's value and index dtypes: its three arrays' bytes are summed. The
dense size is that of the same matrix as a dense tensor (on the meta device). The break-even
density solves nnz·(v + i) + (rows + 1)·i = rows·cols·v for the element sizes torch reports.
"""

from __future__ import annotations

import random
import warnings
from fractions import Fraction

import torch

from ..mistakes import KIB_VS_KB, define
from ..question import Draft, Family
from ..types import AnswerSpec, Mistake
from ._base import UNITS_RULE, expected_display, n, unit_phrase
from .conv import kib_vs_kb_value

__all__ = ["CSR_STORAGE", "CSR_BREAK_EVEN", "FAMILIES", "csr_bytes", "element_size"]

TOPIC = "sparse-vs-dense"

FORGOT_COLUMN_INDICES = define(
    "forgot_column_indices",
    "Each nonzero stores its column index as well as its value.",
)
FORGOT_ROW_POINTERS = define(
    "forgot_row_pointers",
    "CSR also stores rows + 1 row pointers, in the index dtype.",
)
INDEX_AS_VALUE_SIZE = define(
    "index_as_value_size",
    "The indices have their own dtype: an int64 index takes 8 bytes and an int32 4, whatever "
    "the values' dtype.",
)
INVERTED_BREAK_EVEN = define(
    "inverted_break_even",
    "This is the share of a nonzero's bytes taken by its index; the break-even density is the "
    "value's share, v / (v + i).",
)
INDEX_ONLY_BREAK_EVEN = define(
    "index_only_break_even",
    "A nonzero costs its value AND its index (v + i bytes) against v bytes per dense entry.",
)

_DTYPES = {"float32": torch.float32, "float16": torch.float16, "int8": torch.int8}
_INDEX = {"int32": torch.int32, "int64": torch.int64}


def element_size(dtype: str) -> int:
    """Bytes per element of a torch dtype, as torch reports it."""
    table = {**_DTYPES, **_INDEX}
    return torch.empty(0, dtype=table[dtype]).element_size()


def csr_bytes(rows: int, cols: int, nnz: int, dtype: str, index: str) -> int:
    """Bytes of a real CSR tensor of rows×cols with ``nnz`` nonzeros (spread row by row)."""
    per_row = [nnz // rows + (1 if r < nnz % rows else 0) for r in range(rows)]
    crow = torch.tensor([0, *per_row], dtype=_INDEX[index]).cumsum(0).to(_INDEX[index])
    col = torch.cat([torch.arange(k, dtype=_INDEX[index]) for k in per_row])
    values = torch.ones(nnz, dtype=_DTYPES[dtype])
    with warnings.catch_warnings():  # "sparse CSR support is in beta": known, and harmless here
        warnings.simplefilter("ignore", UserWarning)
        csr = torch.sparse_csr_tensor(crow, col, values, (rows, cols), check_invariants=True)
    arrays = (csr.crow_indices(), csr.col_indices(), csr.values())
    return sum(a.numel() * a.element_size() for a in arrays)


def _dense_bytes(rows: int, cols: int, dtype: str) -> int:
    t = torch.empty((rows, cols), dtype=_DTYPES[dtype], device="meta")
    return t.numel() * t.element_size()


def _draw(rng: random.Random, difficulty: int) -> tuple[int, int, Fraction, str, str]:
    rows = rng.choice((64, 96, 128, 192, 256, 384, 512, 768, 1000, 1024))
    cols = rng.choice((64, 128, 256, 576, 1152, 2304, 4096) if difficulty > 1 else (64, 128, 256))
    density = Fraction(rng.choice((1, 2, 5, 10, 20, 25, 30, 40, 50, 60)), 100)
    dtype = "float32" if difficulty == 1 else rng.choice(("float32", "float16", "int8"))
    index = rng.choice(("int32", "int64"))
    return rows, cols, density, dtype, index


_RULE = (
    "CSR stores the nonzero values, one column index per nonzero and rows + 1 row pointers; "
    "the indices and pointers use the index dtype."
)


def _storage(rng: random.Random, difficulty: int) -> Draft:
    rows, cols, density, dtype, index = _draw(rng, difficulty)
    nnz = int(rows * cols * density)
    unit = rng.choice(("KiB", "KB"))
    v, i = element_size(dtype), element_size(index)
    csr = csr_bytes(rows, cols, nnz, dtype, index)
    dense = _dense_bytes(rows, cols, dtype)
    part = AnswerSpec.number("bytes", unit)
    spec = AnswerSpec.multi({"csr": part, "dense": part})
    truth = {"csr": csr, "dense": dense}
    prompt = (
        f"A {rows}×{cols} weight matrix has {n(nnz)} nonzeros ({float(density * 100):g}% "
        f"density), {dtype} values. It is stored in CSR with {index} indices. {_RULE} "
        f"(a) csr: the CSR size in {unit_phrase(unit)}; (b) dense: the dense matrix's size in "
        f"{unit}. {UNITS_RULE}"
    )
    solution = (
        f"CSR = nnz·({v} + {i}) + (rows + 1)·{i} = {n(nnz)}·{v + i} + {rows + 1}·{i} = "
        f"{n(csr)} B = {expected_display(part, csr)}; dense = {rows}·{cols}·{v} = {n(dense)} B "
        f"= {expected_display(part, dense)}"
    )
    mistakes: list[Mistake | None] = [
        FORGOT_COLUMN_INDICES.at({"csr": nnz * v + (rows + 1) * i}),
        FORGOT_ROW_POINTERS.at({"csr": nnz * (v + i)}),
        INDEX_AS_VALUE_SIZE.at({"csr": nnz * 2 * v + (rows + 1) * v}) if v != i else None,
        KIB_VS_KB.at({"csr": kib_vs_kb_value(csr, unit), "dense": kib_vs_kb_value(dense, unit)}),
    ]
    return Draft(
        prompt=prompt,
        params={
            "rows": rows,
            "cols": cols,
            "nnz": nnz,
            "dtype": dtype,
            "index": index,
            "unit": unit,
        },  # fmt: skip
        answer=spec,
        truth=truth,
        solution=solution,
        mistakes=mistakes,
        conventions=(_RULE, UNITS_RULE),
        hints=(
            "List CSR's three arrays and their lengths; each has its own element size.",
            "CSR bytes = nnz·(value + index bytes) + (rows + 1)·index bytes; dense bytes = "
            "rows·cols·value bytes.",
            f"Here {dtype} takes {v} B and {index} {i} B.",
        ),
    )


def _break_even(rng: random.Random, difficulty: int) -> Draft:
    rows, cols, _, dtype, index = _draw(rng, 2)  # every dtype at every level: enough variants
    v, i = element_size(dtype), element_size(index)
    with_pointers = difficulty > 1
    if with_pointers:
        truth = Fraction(rows * cols * v - (rows + 1) * i, rows * cols * (v + i))
        scope = "counting the row pointers"
    else:
        truth = Fraction(v, v + i)
        scope = "ignoring the row-pointer array"
    spec = AnswerSpec.percent(0.5)
    prompt = (
        f"A {rows}×{cols} matrix of {dtype} values may be stored dense or in CSR with {index} "
        f"indices. {_RULE} Below what density (nonzeros ÷ all entries) is CSR the smaller "
        f"format, {scope}?"
    )
    formula = (
        f"(rows·cols·{v} − (rows + 1)·{i}) / (rows·cols·({v} + {i})) = "
        f"({n(rows * cols * v)} − {n((rows + 1) * i)}) / {n(rows * cols * (v + i))}"
        if with_pointers
        else f"v / (v + i) = {v} / ({v} + {i})"
    )
    pointers = "+ (rows + 1)·i " if with_pointers else ""
    solution = (
        f"CSR = dense when nnz·(v + i) {pointers}= rows·cols·v: density = {formula} = "
        f"{expected_display(spec, truth)}"
    )
    mistakes: list[Mistake | None] = [
        INVERTED_BREAK_EVEN.at(1 - truth),
        INDEX_ONLY_BREAK_EVEN.at(Fraction(v, i)) if v < i else None,
        INDEX_AS_VALUE_SIZE.at(Fraction(1, 2)) if v != i else None,
    ]
    return Draft(
        prompt=prompt,
        params={
            "rows": rows,
            "cols": cols,
            "dtype": dtype,
            "index": index,
            "row_pointers": with_pointers,
        },  # fmt: skip
        answer=spec,
        truth=truth,
        solution=solution,
        mistakes=mistakes,
        conventions=(_RULE,),
        hints=(
            "Write both sizes as functions of the number of nonzeros and set them equal.",
            "Dense: rows·cols·v bytes; CSR: nnz·(v + i) bytes"
            + (" + (rows + 1)·i for the row pointers." if with_pointers else "."),
            f"Here v = {v} B ({dtype}) and i = {i} B ({index}).",
        ),
    )


CSR_STORAGE = Family(
    id="csr_storage",
    topic=TOPIC,
    title="CSR against dense storage of a sparse weight matrix",
    answer_kind="parts",
    generator=_storage,
    expected_seconds=150.0,
    cards=("sparse-vs-dense-csr-format", "sparse-vs-dense-memory-break-even"),
)
CSR_BREAK_EVEN = Family(
    id="csr_break_even",
    topic=TOPIC,
    title="Density at which CSR storage breaks even with dense",
    answer_kind="number",
    generator=_break_even,
    expected_seconds=120.0,
    cards=("sparse-vs-dense-memory-break-even", "sparse-vs-dense-csr-format"),
)

FAMILIES: tuple[Family, ...] = (CSR_STORAGE, CSR_BREAK_EVEN)
