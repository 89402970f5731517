"""Units an answer may carry, with their dimension and size in the dimension's base unit.

Base units: ``B`` (bytes), ``params``, ``MACs``, ``FLOPs``, ``channels``, ``elements``,
``pixels``; counts, positions and ratios are bare numbers. Byte units follow the convention
that ``B`` is a byte and ``b`` a bit, decimal prefixes are powers of 1000 and binary ones
(``Ki``, ``Mi``, ``Gi``) powers of 1024: ``KB`` never means 1024, ``Mb`` is megabits. MACs
and FLOPs are distinct dimensions (one MAC is two FLOPs): converting silently would hide the
mix-up we want to name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction

__all__ = [
    "DIMENSIONS",
    "BASE_UNIT",
    "Unit",
    "lookup_unit",
    "SUFFIXES",
    "lookup_suffix",
]

# Every dimension a number question may ask for.
DIMENSIONS: tuple[str, ...] = (
    "count",
    "params",
    "macs",
    "flops",
    "bytes",
    "ratio",
    "channels",
    "position",
    "elements",
    "pixels",
)

# The unit a value of each dimension is stored in (truths, mistakes, parsed values).
BASE_UNIT: dict[str, str | None] = {
    "count": None,
    "params": "params",
    "macs": "MACs",
    "flops": "FLOPs",
    "bytes": "B",
    "ratio": None,
    "channels": "channels",
    "position": None,
    "elements": "elements",
    "pixels": "pixels",
}


@dataclass(frozen=True)
class Unit:
    """A unit: canonical ``name``, ``dimension``, ``multiplier`` (base units per one of it).

    ``prefixable`` units may follow a bare multiplier (``73.9k params``, ``4.1 G FLOPs``);
    already-prefixed ones may not, so ``2k KB`` is not read as 2 MB.
    """

    name: str
    dimension: str
    multiplier: Fraction
    prefixable: bool = False


def _u(name: str, dimension: str, multiplier: int | Fraction, prefixable: bool = False) -> Unit:
    return Unit(name, dimension, Fraction(multiplier), prefixable)


_BYTE_UNITS = [
    _u("B", "bytes", 1, True),
    _u("KB", "bytes", 1000),
    _u("MB", "bytes", 1000**2),
    _u("GB", "bytes", 1000**3),
    _u("TB", "bytes", 1000**4),
    _u("KiB", "bytes", 1024),
    _u("MiB", "bytes", 1024**2),
    _u("GiB", "bytes", 1024**3),
    _u("TiB", "bytes", 1024**4),
    _u("bit", "bytes", Fraction(1, 8), True),
    _u("kbit", "bytes", Fraction(1000, 8)),
    _u("Mbit", "bytes", Fraction(1000**2, 8)),
    _u("Gbit", "bytes", Fraction(1000**3, 8)),
    _u("Kibit", "bytes", Fraction(1024, 8)),
    _u("Mibit", "bytes", Fraction(1024**2, 8)),
    _u("Gibit", "bytes", Fraction(1024**3, 8)),
]
_OTHER_UNITS = [
    _u("params", "params", 1, True),
    _u("channels", "channels", 1, True),
    _u("elements", "elements", 1, True),
    _u("pixels", "pixels", 1),
    _u("%", "ratio", Fraction(1, 100)),
    _u("×", "ratio", 1),
]
_PREFIXES = {"": 1, "k": 1000, "M": 1000**2, "G": 1000**3, "T": 1000**4}
_OP_UNITS = [
    _u(f"{p}{word}", dim, mult, p == "")
    for word, dim in (("MACs", "macs"), ("FLOPs", "flops"))
    for p, mult in _PREFIXES.items()
]
UNITS: dict[str, Unit] = {u.name: u for u in _BYTE_UNITS + _OTHER_UNITS + _OP_UNITS}

# Case matters for symbols: b/B is bit/byte. Each spelling maps to a canonical name.
_SYMBOLS: dict[str, str] = {
    **{name: name for name in ("B", "KB", "MB", "GB", "TB", "KiB", "MiB", "GiB", "TiB")},
    "kB": "KB",
    "b": "bit",
    "kb": "kbit",
    "Kb": "kbit",
    "Mb": "Mbit",
    "Gb": "Gbit",
    "Kib": "Kibit",
    "Mib": "Mibit",
    "Gib": "Gibit",
    **{name: name for name in ("kbit", "Mbit", "Gbit", "Kibit", "Mibit", "Gibit")},
    "Kbit": "kbit",
    "%": "%",
    "x": "×",
    "×": "×",
}

# Words are matched case-insensitively.
_WORDS: dict[str, str] = {
    "byte": "B",
    "bytes": "B",
    "bit": "bit",
    "bits": "bit",
    "kilobyte": "KB",
    "megabyte": "MB",
    "gigabyte": "GB",
    "terabyte": "TB",
    "kibibyte": "KiB",
    "mebibyte": "MiB",
    "gibibyte": "GiB",
    "param": "params",
    "params": "params",
    "parameter": "params",
    "parameters": "params",
    "weights": "params",
    "channel": "channels",
    "channels": "channels",
    "element": "elements",
    "elements": "elements",
    "pixel": "pixels",
    "pixels": "pixels",
    "px": "pixels",
    "percent": "%",
    "times": "×",
    "mult-adds": "MACs",
    "multiply-adds": "MACs",
    "multiply-accumulates": "MACs",
}
# Plurals of the multiple-byte words.
_WORDS.update({f"{w}s": n for w, n in list(_WORDS.items()) if w.endswith("byte") and w != "byte"})

# "GMACs", "Gmac", "MFLOPS", "flop": prefix letter, then the operation word.
_OP_RE = re.compile(r"([kmgt]?)(macc?s?|flops?)", re.IGNORECASE | re.ASCII)

SUFFIXES: dict[str, int] = {"k": 10**3, "K": 10**3, "M": 10**6, "G": 10**9, "T": 10**12}
_SUFFIX_WORDS: dict[str, int] = {
    "thousand": 10**3,
    "million": 10**6,
    "billion": 10**9,
    "trillion": 10**12,
}


def lookup_unit(text: str) -> Unit | None:
    """The unit spelled ``text`` (``"MiB"``, ``"bytes"``, ``"GMACs"``, ``"%"``), or None."""
    if text in _SYMBOLS:
        return UNITS[_SYMBOLS[text]]
    if text in UNITS:
        return UNITS[text]
    word = text.casefold()
    if word in _WORDS:
        return UNITS[_WORDS[word]]
    m = _OP_RE.fullmatch(text)
    if m:
        prefix = m.group(1).upper().replace("K", "k")
        word = "MACs" if m.group(2).lower().startswith("mac") else "FLOPs"
        return UNITS[f"{prefix}{word}"]
    return None


def lookup_suffix(text: str) -> int | None:
    """The multiplier a suffix stands for (``k`` 1000, ``M``, ``G``, ``T``, ``million``), or None.

    Lower-case ``m``, ``g`` and ``t`` are refused: ``m`` reads as milli to half the readers.
    Billions are ``G`` or ``billion``, never ``B``, which is bytes.
    """
    if text in SUFFIXES:
        return SUFFIXES[text]
    return _SUFFIX_WORDS.get(text.casefold())
