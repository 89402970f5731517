"""Exceptions raised by ``models``.

Our exception hierarchy::

    * ModelsError
      + UnknownArchitectureError   (also a LookupError)
      + SpecError                  (also a ValueError; carries .index, .field and .message)
        - SpecFieldError           unknown type, unknown or missing field, wrong value type
        - SpecShapeError           a size that is not positive, a kernel larger than its padded
                                   input, channels not divisible by groups, shapes that don't fit
        - SpecLimitError           over a service limit: layers, modules, channels, input side,
                                   batch, MACs, elements
      + ProfileError               the forward pass on the meta device failed

Callers that only need "bad input" can catch ``SpecError``; the API maps every ``SpecError`` to
a 422 naming the offending layer and, where one field is to blame, that field.
"""

from __future__ import annotations

__all__ = [
    "ModelsError",
    "UnknownArchitectureError",
    "SpecError",
    "SpecFieldError",
    "SpecShapeError",
    "SpecLimitError",
    "ProfileError",
]


class ModelsError(Exception):
    """Base class of every exception raised by ``models``."""


class UnknownArchitectureError(ModelsError, LookupError):
    """An architecture name that is not in the registry."""

    def __init__(self, name: str, known: list[str]) -> None:
        self.name = name
        self.known = known
        super().__init__(f"unknown architecture {name!r}; known: {', '.join(known)}")


class SpecError(ModelsError, ValueError):
    """A layer spec that cannot be built; ``index`` is the layer's position, None for the spec.

    ``field`` names the one field at fault (``"padding"``, ``"batch"``) when there is one, so
    a client can point at it; None when the fault is a combination (shapes that don't fit).
    """

    def __init__(self, index: int | None, message: str, field: str | None = None) -> None:
        self.index = index
        self.message = message
        self.field = field
        where = "spec" if index is None else f"layer {index}"
        super().__init__(f"{where}: {message}")

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form: ``{"index": ..., "field": ..., "message": ..., "kind": ...}``."""
        return {
            "index": self.index,
            "field": self.field,
            "message": self.message,
            "kind": type(self).__name__,
        }


class SpecFieldError(SpecError):
    """Unknown layer type, unknown or missing field, or a value of the wrong type."""


class SpecShapeError(SpecError):
    """Sizes that are not positive or do not fit together."""


class SpecLimitError(SpecError):
    """A spec over one of the service's limits."""


class ProfileError(ModelsError):
    """The module's forward pass failed on the meta device (e.g. mismatched shapes)."""
