"""Reading a student's answer text into an exact value, following an ``AnswerSpec``: each
answer kind reads its own form (``grader.kinds``); this module dispatches and guards.

``parse_answer`` raises only ``AnswerFormatError``, whatever it is given, and the message says
what form is expected. Values are exact (``Fraction``): ``1,234,567`` is an integer and the
significant figures written are kept, because grading decides by them.

Numbers::

    73856   73,856   73 856   73_856     integer in full: exact
    274,000   73,900                       more digits than the question needs, trailing zeros:
                                           rounded (3 significant figures each), never exact
    0.5   .5   73.9k   4.1 G   1.2 million            rounded: 1, 1, 3, 2, 2 significant figures
    1.2e6   1.2E+06   1.2×10^6   1.2*10**6   1.2 · 10⁶   10^6
    784 KiB   0.77 MiB   6.4 Mbit   23.3k params   1.2 GMACs   4.1 G FLOPs   11.1%   8.9x
    1/9   8/9   1:9                                   fractions, for ratios only

A bare number in a question asked in percent is read in percent; one between 0 and 1 (``0.1016``)
could be a fraction or a percentage and is refused ("write it as a percentage"); a fraction
``p/q`` is read as one (``1/8`` is 12.5%).

Thousands separators are ``,``, ``_`` or a space (thin and no-break spaces included), used
consistently in groups of three: ``1,23,4`` and the decimal comma ``0,5`` are refused. A bare
number is read in the question's unit. A unit of another dimension is read (``5 MB`` for a
parameter count) so that grading can say what is wrong with it. NaN, infinities, magnitudes
beyond 1e300 and exponents beyond 300 are refused; so is anything over 200 characters.

Shapes: ``(64, 56, 56)``, ``[64, 56, 56]``, ``64x56x56``, ``64 × 56 × 56``, ``torch.Size([...])``;
dimensions are read as written, a leading batch dimension is the grader's business.

Choices: a letter (``b``, ``B``, ``(b)``, ``b)``, ``b.``), the choice's text (case, spaces and
dashes ignored), or both (``b) depthwise``), which must agree.

Multi-part answers: a mapping from part name to text; a JSON object (``{"params": "23.3k"}``);
or one text with the parts in order separated by ``;`` or new lines, optionally labelled by
name or by letter (``params: 23.3k; macs: 1.2M``, ``a: 23.3k; b) 1.2M``).

An integer written in full claims every digit (it is exact) unless it has more digits than the
question's required significant figures and ends in zeros: then, as graders normally read
``274,000``, the zeros are not claimed (least precise reading, 3 significant figures). A
percentage or ratio written as an integer is rounded at its last digit.
"""

from __future__ import annotations

from typing import TypeAlias

from .errors import AnswerFormatError
from .kinds import kind_of
from .kinds.base import MAX_LENGTH
from .kinds.choice import ParsedChoice
from .kinds.number import MAX_EXPONENT, ParsedNumber
from .kinds.parts import ParsedParts
from .kinds.shape import ParsedShape
from .types import AnswerSpec

__all__ = [
    "MAX_LENGTH",
    "MAX_EXPONENT",
    "ParsedNumber",
    "ParsedShape",
    "ParsedChoice",
    "ParsedParts",
    "ParsedAnswer",
    "parse_answer",
    "expected_form",
]

ParsedAnswer: TypeAlias = "ParsedNumber | ParsedShape | ParsedChoice | ParsedParts"


def parse_answer(text: object, spec: AnswerSpec) -> ParsedAnswer:
    """Read ``text`` as an answer of the form ``spec`` describes.

    Raises ``AnswerFormatError`` (and nothing else) when it cannot, with a message naming the
    expected form. ``text`` may be a mapping of part name to text for a multi-part spec.
    """
    kind = kind_of(spec)
    try:
        parsed: ParsedAnswer = kind.parse(text, spec)
        return parsed
    except AnswerFormatError:
        raise
    except Exception as exc:
        # Defence in depth: a reader bug must cost the student nothing, not a 500. The fuzz
        # tests check this message never appears, so it cannot hide a bug for long.
        form = kind.expected_form(spec)
        raise AnswerFormatError(f"could not read the answer ({type(exc).__name__})", form) from exc


def expected_form(spec: AnswerSpec) -> str:
    """A phrase naming the form ``spec`` expects, for error messages.

    It names the form in words and symbols only, never with a number: a number here could be
    the answer to the very question.
    """
    return kind_of(spec).expected_form(spec)
