"""Exam exports over HTTP, derived from the export registry (``grader.exports.FORMATS``):
the ``format`` and ``part`` query parameters (OpenAPI lists the registered formats), the
OpenAPI content of a download, the download itself (media type and file name from the
format's entry) and the list the page shows. Both export routes (``GET /exams/{id}/export``,
``GET /assessments/{id}/export``) use these; ``api/`` names a format only as a route's
default.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import Query
from fastapi.responses import Response
from pydantic import BaseModel

from grader.exports import FORMATS, ExportFormat, FormatName

from ..refusals import KeyOnlyFormat

__all__ = [
    "FormatQuery",
    "PART_HELP",
    "DOWNLOAD",
    "FormatOut",
    "formats_out",
    "export_format",
    "download",
]

FormatQuery = Annotated[
    FormatName, Query(description="An export format (`GET /exams/formats` lists them).")
]
PART_HELP = (
    "key: with the answers; exam: the questions only (the formats whose `keyless` is true "
    "in `GET /exams/formats`)."
)
# The 200 response of an export route: one content entry per registered media type.
DOWNLOAD: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The file, as an attachment",
        "content": {fmt.media_type: {} for fmt in FORMATS.values()},
    }
}


class FormatOut(BaseModel):
    """One export format as the page lists it."""

    name: str
    label: str
    description: str
    media_type: str
    extension: str
    keyless: bool
    default_part: Literal["exam", "key"]


def formats_out() -> list[FormatOut]:
    """Every registered format, in the registry's order."""
    return [
        FormatOut(**{k: getattr(f, k) for k in FormatOut.model_fields}) for f in FORMATS.values()
    ]


def export_format(name: str, part: str) -> ExportFormat:
    """The format to write ``part`` in: 422 for a paper (``part=exam``) of a format that
    always carries the answers."""
    fmt = FORMATS[name]
    if part == "exam" and not fmt.keyless:
        raise KeyOnlyFormat(f"{fmt.name} files always carry the answers; use part=key")
    return fmt


def download(fmt: ExportFormat, text: str, stem: str, key: bool) -> Response:
    """The written file as an attachment named after ``stem``."""
    name = fmt.filename(stem, key)
    return Response(
        text,
        media_type=fmt.media_type,
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
