"""The export registry: every exam export format, one module each, listed once here.

Each module in ``MODULES`` defines ``FORMAT``, an :class:`ExportFormat`: its name, the label
the page shows, media type, file extension, whether it can be written without the answer key
(``keyless``), what a download gives by default, a one-line description and its writer. Every
writer takes one :class:`Paper` (title, questions, key or not, metadata) and returns the text.
The API's routes, the ``format`` parameter they accept (``FormatName``, listed in OpenAPI),
their responses' media types and file names, and the page's list of downloads
(``GET /exams/formats``) all derive from ``FORMATS``: a new format is its module, a line in
``MODULES``, a test and a line in ``docs/guide.md``.

Each question's answer is written by its answer kind (``grader.kinds``, ``AnswerKind.fragment``
by format name): numbers in the unit the question asks in, with the grader's own band as the
tolerance (``grader.kinds.number.tolerance_for``); a format module writes what every question
shares.
"""

from __future__ import annotations

from enum import StrEnum
from types import MappingProxyType, ModuleType

from ..kinds.base import gift_escape
from ..kinds.number import tolerance_for, units_for, value_in_unit
from . import gift, jsondoc, markdown, moodle
from .base import ExportFormat, ExportItem, Paper, Part, Writer, expected_text, jsonable

__all__ = [
    "MODULES",
    "FORMATS",
    "FormatName",
    "ExportFormat",
    "ExportItem",
    "Paper",
    "Part",
    "Writer",
    "get_format",
    "expected_text",
    "jsonable",
    "value_in_unit",
    "tolerance_for",
    "units_for",
    "gift_escape",
]

MODULES: tuple[ModuleType, ...] = (moodle, gift, markdown, jsondoc)


def _registry(modules: tuple[ModuleType, ...]) -> MappingProxyType[str, ExportFormat]:
    formats: dict[str, ExportFormat] = {}
    for module in modules:
        fmt = module.FORMAT
        if fmt.name in formats:
            raise ValueError(f"export format {fmt.name!r} is registered twice")
        formats[fmt.name] = fmt
    return MappingProxyType(formats)


FORMATS = _registry(MODULES)

# The format names as a type: what the API's ``format`` parameter accepts (and OpenAPI lists).
FormatName = StrEnum("FormatName", {name: name for name in FORMATS})  # type: ignore[misc]


def get_format(name: str) -> ExportFormat:
    """The registered format ``name`` (KeyError names the known ones)."""
    try:
        return FORMATS[name]
    except KeyError:
        raise KeyError(f"unknown export format {name!r}; known: {', '.join(FORMATS)}") from None
