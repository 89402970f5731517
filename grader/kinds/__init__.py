"""Answer kinds: each kind of answer in one module that owns all of it (``AnswerKind``):
``number`` (the one precision rule), ``shape``, ``choice`` and ``parts``.

``KINDS`` is the registry; ``kind_of(spec)`` is how the rest of ``grader`` (and the API) reaches
a kind. A new kind is a module with an ``AnswerKind``, a line here, its widget on the page and
a test.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import TYPE_CHECKING

from . import choice, number, parts, shape
from .base import EXPORT_FORMATS, AnswerKind

if TYPE_CHECKING:
    from ..types import AnswerSpec

__all__ = ["KINDS", "kind_of", "AnswerKind", "EXPORT_FORMATS"]

KINDS = MappingProxyType({k.name: k for k in (number.KIND, shape.KIND, choice.KIND, parts.KIND)})


def kind_of(spec: AnswerSpec) -> AnswerKind:
    """The kind that owns ``spec``'s answers."""
    return KINDS[spec.kind]
