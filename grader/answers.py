"""Reading a student's answer text into an exact value, following an ``AnswerSpec``.

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

import json
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import TypeAlias

from .errors import AnswerFormatError
from .types import MAX_PARTS, AnswerSpec, choice_key
from .units import Unit, lookup_suffix, lookup_unit

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

MAX_LENGTH = 200
MAX_EXPONENT = 300
_MAX_MAGNITUDE = Fraction(10) ** MAX_EXPONENT
_MIN_MAGNITUDE = 1 / _MAX_MAGNITUDE
_MAX_SHAPE_DIMS = 8


@dataclass(frozen=True)
class ParsedNumber:
    """A number as read.

    ``value`` is in the base unit of ``dimension``; ``number`` is the figure written before
    the unit (suffix and exponent applied). ``unit`` is the canonical unit applied: written, or
    the question's when ``implied``; None for a pure number (a fraction, a count).
    ``sig_figs`` and ``resolution`` (one unit in the last digit written, in base units) are
    None when the answer is exact: an integer written in full in a unit no larger than the base
    unit, or a fraction.
    """

    text: str
    value: Fraction
    number: Fraction
    unit: str | None
    implied: bool
    dimension: str
    multiplier: Fraction
    sig_figs: int | None
    resolution: Fraction | None

    @property
    def exact(self) -> bool:
        """Whether the answer claims an exact value rather than a rounded one."""
        return self.sig_figs is None


@dataclass(frozen=True)
class ParsedShape:
    """A tensor shape as written, batch dimension included if the student wrote one."""

    text: str
    dims: tuple[int, ...]


@dataclass(frozen=True)
class ParsedChoice:
    """A choice, by its position in the spec's ``choices``."""

    text: str
    index: int

    @property
    def letter(self) -> str:
        """The choice's letter: a, b, c..."""
        return chr(ord("a") + self.index)


@dataclass(frozen=True)
class ParsedParts:
    """A multi-part answer: each part read with its own spec, in the spec's order."""

    parts: tuple[tuple[str, ParsedAnswer], ...]

    def __getitem__(self, name: str) -> ParsedAnswer:
        """The part called ``name`` (KeyError when there is none)."""
        return dict(self.parts)[name]


ParsedAnswer: TypeAlias = "ParsedNumber | ParsedShape | ParsedChoice | ParsedParts"


def parse_answer(text: object, spec: AnswerSpec) -> ParsedAnswer:
    """Read ``text`` as an answer of the form ``spec`` describes.

    Raises ``AnswerFormatError`` (and nothing else) when it cannot, with a message naming the
    expected form. ``text`` may be a mapping of part name to text for a multi-part spec.
    """
    form = expected_form(spec)
    try:
        if spec.kind == "parts":
            return _parse_parts(text, spec)
        if not isinstance(text, str):
            raise AnswerFormatError("the answer is not text", form)
        s = _normalize(text, form)
        if spec.kind == "number":
            return _parse_number(s, text, spec, form)
        if spec.kind == "shape":
            return _parse_shape(s, text, form)
        return _parse_choice(s, text, spec, form)
    except AnswerFormatError:
        raise
    except Exception as exc:
        # Defence in depth: a reader bug must cost the student nothing, not a 500. The fuzz
        # tests check this message never appears, so it cannot hide a bug for long.
        raise AnswerFormatError(f"could not read the answer ({type(exc).__name__})", form) from exc


def expected_form(spec: AnswerSpec) -> str:
    """A phrase naming the form ``spec`` expects, for error messages.

    It names the form in words and symbols only, never with a number: a number here could be
    the answer to the very question (``grader.instructions`` derives wrong-valued examples).
    """
    if spec.kind == "number":
        return _NUMBER_FORMS.get(spec.dimension or "", "a whole number").format(unit=spec.unit)
    if spec.kind == "shape":
        batch = "(N, C, H, W), batch dimension first" if spec.batch else "(C, H, W)"
        return f"a shape written {batch}, with commas or x between the dimensions"
    if spec.kind == "choice":
        last = chr(ord("a") + len(spec.choices or ()) - 1)
        return f"a letter from a to {last}, or the text of a choice"
    names = ", ".join(name for name, _ in spec.parts or ())
    return (
        f"one answer for each of {names}, in order, one per line or separated by ';' "
        "(optionally labelled 'name: answer' or 'a: answer'), or a JSON object"
    )


_DIGITS = "digits with an optional suffix (k, M, G) or power of ten (e6, ×10^6)"
_NUMBER_FORMS = {
    "params": f"a number of parameters: {_DIGITS}",
    "macs": f"a number of MACs: {_DIGITS}, or a unit (MACs, MMACs, GMACs)",
    "flops": f"a number of FLOPs: {_DIGITS}, or a unit (FLOPs, MFLOPs, GFLOPs)",
    "bytes": "a size with its unit (B, KB, KiB, MB, MiB...); a bare number is read in {unit}",
    "ratio": "a ratio: a fraction (p/q), a decimal, a percentage (%) or a factor (×)",
    "elements": f"a number of elements: {_DIGITS}",
    "pixels": "a whole number of pixels",
    "channels": "a whole number of channels",
    "position": "a whole number (a position counted from 0)",
}

# -- normalising --------------------------------------------------------------------------------

_SUPERSCRIPTS = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻", "0123456789+-")
_SUPERSCRIPT_RUN = re.compile("[⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻]+")
_TIMES_DOT = str.maketrans({"⋅": "·", "∙": "·", "•": "·", "−": "-"})
_NON_FINITE = re.compile(r"[+-]?(?:(?:nan|inf|infinity)\b|∞)", re.IGNORECASE)


def _normalize(text: str, form: str) -> str:
    if len(text) > MAX_LENGTH:
        raise AnswerFormatError(f"the answer is longer than {MAX_LENGTH} characters", form)
    # Before NFKC, which would turn 10⁶ into 106.
    s = _SUPERSCRIPT_RUN.sub(lambda m: "^" + m.group().translate(_SUPERSCRIPTS), text)
    s = unicodedata.normalize("NFKC", s).translate(_TIMES_DOT)
    s = " ".join(s.split())
    if not s:
        raise AnswerFormatError("the answer is empty", form)
    if len(s) > MAX_LENGTH:
        raise AnswerFormatError(f"the answer is longer than {MAX_LENGTH} characters", form)
    return s


# -- numbers ------------------------------------------------------------------------------------

_EXP = r"[({]?\ ?[+-]?\d+\ ?[)}]?"
_NUMBER_RE = re.compile(
    rf"""
    (?P<sign>[+-])?
    (?:
        10\ ?(?:\^|\*\*)\ ?(?P<pow>{_EXP})
      |
        (?P<int>\d{{1,3}}(?P<sep>[,_\ ])\d{{3}}(?:(?P=sep)\d{{3}})*(?!\d)|\d+)?
        (?:\.(?P<frac>\d+))?
        (?:
            [eE](?P<e>[+-]?\d+)
          | \ ?[x×*·]\ ?10\ ?(?:\^|\*\*)\ ?(?P<pow2>{_EXP})
        )?
    )
    """,
    re.VERBOSE | re.ASCII,
)
_FRACTION_RE = re.compile(r"(?P<p>[+-]?\d{1,30}) ?[/:] ?(?P<q>\d{1,30})", re.ASCII)


def _parse_number(s: str, text: str, spec: AnswerSpec, form: str) -> ParsedNumber:
    assert spec.dimension is not None  # the spec checked it
    if _NON_FINITE.match(s):
        raise AnswerFormatError("NaN and infinity are not answers", form)
    frac_m = _FRACTION_RE.fullmatch(s)
    if frac_m:
        return _parse_fraction(frac_m, text, spec, form)
    m = _NUMBER_RE.match(s)
    if m is None or not (m.group("pow") or m.group("int") or m.group("frac")):
        raise AnswerFormatError(f"{_clip(s)!r} does not start with a number", form)
    suffix, unit = _read_unit(s[m.end() :].strip(), form)
    if unit is None and spec.unit is not None:
        applied, implied = lookup_unit(spec.unit), True
    else:
        applied, implied = unit, False
    multiplier = applied.multiplier if applied else Fraction(1)
    dimension = applied.dimension if applied else spec.dimension

    sign = -1 if m.group("sign") == "-" else 1
    if m.group("pow"):
        int_digits, frac_digits, exponent = "1", "", _exponent(m.group("pow"), form)
    else:
        int_digits = (m.group("int") or "").replace(m.group("sep") or " ", "")
        frac_digits = m.group("frac") or ""
        written_exp = m.group("e") or m.group("pow2")
        exponent = _exponent(written_exp, form) if written_exp else 0
    mantissa = Fraction(int(int_digits or "0")) + (
        Fraction(int(frac_digits), 10 ** len(frac_digits)) if frac_digits else 0
    )
    number = sign * mantissa * Fraction(10) ** exponent * suffix
    value = number * multiplier
    if value and not _MIN_MAGNITUDE <= abs(value) <= _MAX_MAGNITUDE:
        raise AnswerFormatError(f"{_clip(s)!r} is out of range (beyond 1e{MAX_EXPONENT})", form)

    if implied and spec.unit == "%" and 0 < abs(number) < 1:
        # 0.1016 may be a share written as a fraction (10.16%) or 0.1016%: refused, so that it
        # is never graded (or diagnosed) as a figure the student did not mean.
        raise AnswerFormatError(
            f"{_clip(s)!r} could be a fraction or a percentage: write it as a percentage, with %",
            form,
        )
    sig_figs, resolution = _precision(m, int_digits, frac_digits, exponent, suffix, applied, spec)
    return ParsedNumber(
        text=text,
        value=value,
        number=number,
        unit=applied.name if applied else None,
        implied=implied,
        dimension=dimension,
        multiplier=multiplier,
        sig_figs=sig_figs,
        resolution=resolution,
    )


def _precision(
    m: re.Match[str],
    int_digits: str,
    frac_digits: str,
    exponent: int,
    suffix: int,
    unit: Unit | None,
    spec: AnswerSpec,
) -> tuple[int | None, Fraction | None]:
    """(significant figures, one unit in the last significant digit in base units), or
    (None, None) when the answer claims exactness.

    A whole number written out in a unit no larger than the base unit claims exactness, unless
    it has more digits than the question needs and ends in zeros (``274,000``): those zeros are
    not claimed. Anything scaled up or with a point claims only the digits written; zeros ending
    an integer mantissa (``120e4``, ``800 KiB``) are likewise not claimed.
    """
    multiplier = unit.multiplier if unit else Fraction(1)
    scaled = bool(m.group("pow") or m.group("e") or m.group("pow2") or frac_digits)
    scaled = scaled or suffix != 1 or multiplier > 1 or spec.dimension == "ratio"
    digits = int_digits.lstrip("0")
    zeros = 0 if frac_digits else len(digits) - len(digits.rstrip("0"))
    if not scaled and (spec.exact or zeros == 0 or len(digits) <= spec.min_sig_figs):
        return None, None
    significant = (digits + frac_digits).lstrip("0")
    sig_figs = len(significant) - zeros if significant else max(1, len(frac_digits))
    places = len(frac_digits) - zeros
    return sig_figs, Fraction(10) ** (exponent - places) * suffix * multiplier


def _parse_fraction(m: re.Match[str], text: str, spec: AnswerSpec, form: str) -> ParsedNumber:
    if spec.dimension != "ratio":
        raise AnswerFormatError("a fraction is only accepted for a ratio", form)
    p, q = int(m.group("p")), int(m.group("q"))
    if q == 0:
        raise AnswerFormatError("a fraction cannot have a zero denominator", form)
    value = Fraction(p, q)
    if value and not _MIN_MAGNITUDE <= abs(value) <= _MAX_MAGNITUDE:
        raise AnswerFormatError("the fraction is out of range", form)
    return ParsedNumber(text, value, value, None, False, "ratio", Fraction(1), None, None)


def _exponent(written: str, form: str) -> int:
    inner = written.replace(" ", "")
    if inner[0] in "({":
        if inner[-1] != {"(": ")", "{": "}"}[inner[0]]:
            raise AnswerFormatError("unbalanced brackets around the exponent", form)
        inner = inner[1:-1]
    elif inner[-1] in ")}":
        raise AnswerFormatError("unbalanced brackets around the exponent", form)
    # Length first: int() of a long digit string is the slow part, and no answer needs it.
    if len(inner.lstrip("+-").lstrip("0")) > 4 or abs(int(inner)) > MAX_EXPONENT:
        raise AnswerFormatError(f"the exponent is beyond ±{MAX_EXPONENT}", form)
    return int(inner)


def _read_unit(rest: str, form: str) -> tuple[int, Unit | None]:
    """The multiplier and unit written after the number: ``k``, ``MiB``, ``M params``..."""
    if not rest:
        return 1, None
    unit = lookup_unit(rest)
    if unit is not None:
        return 1, unit
    suffix = lookup_suffix(rest)
    if suffix is not None:
        return suffix, None
    head, _, tail = rest.partition(" ")
    suffix = lookup_suffix(head)
    if suffix is not None and tail:
        unit = lookup_unit(tail)
        if unit is not None and unit.prefixable:
            return suffix, unit
        if unit is not None:
            raise AnswerFormatError(f"{head!r} cannot be combined with {tail!r}", form)
    if rest[0] in "/:":
        raise AnswerFormatError("a fraction is two whole numbers, like 1/9", form)
    if head == "B" and tail:
        raise AnswerFormatError("B means bytes; write billions as G or 'billion'", form)
    if rest[0].isdigit() or (rest[0] in ",_." and rest[1:2].isdigit()):
        raise AnswerFormatError(
            "misplaced separator or point: thousands separators group digits in threes "
            "and a number has at most one decimal point",
            form,
        )
    raise AnswerFormatError(f"unknown unit or trailing text {_clip(rest)!r}", form)


def _clip(s: str, n: int = 40) -> str:
    return s if len(s) <= n else s[: n - 1] + "…"


# -- shapes -------------------------------------------------------------------------------------

_TORCH_SIZE = re.compile(r"(?:torch\.)?Size ?\((.*)\)", re.ASCII)
_DIM = re.compile(r"\d{1,9}", re.ASCII)
_CROSS = re.compile(r" ?[x×X*] ?")


def _parse_shape(s: str, text: str, form: str) -> ParsedShape:
    m = _TORCH_SIZE.fullmatch(s)
    inner = m.group(1).strip() if m else s
    pairs = {"(": ")", "[": "]"}
    if inner[:1] in pairs:
        if inner[-1:] != pairs[inner[0]] or len(inner) < 2:
            raise AnswerFormatError("unbalanced brackets", form)
        inner = inner[1:-1].strip()
    elif inner[-1:] in (")", "]"):
        raise AnswerFormatError("unbalanced brackets", form)
    if "," in inner:
        items = [item.strip() for item in inner.split(",")]
        if len(items) > 1 and items[-1] == "":
            items.pop()  # "(64,)" is a one-dimensional shape, as Python writes it
    else:
        items = _CROSS.split(inner)
    if not 1 <= len(items) <= _MAX_SHAPE_DIMS:
        raise AnswerFormatError(f"a shape has 1 to {_MAX_SHAPE_DIMS} dimensions", form)
    if not all(_DIM.fullmatch(item) for item in items):
        bad = next(item for item in items if not _DIM.fullmatch(item))
        raise AnswerFormatError(f"{_clip(bad)!r} is not a dimension (a whole number)", form)
    return ParsedShape(text, tuple(int(item) for item in items))


# -- choices ------------------------------------------------------------------------------------

_LETTER = re.compile(r"\(?([A-Za-z])[).:]?", re.ASCII)
_LETTER_AND_TEXT = re.compile(r"\(?([A-Za-z])[).:] ?(.+)", re.ASCII)


def _parse_choice(s: str, text: str, spec: AnswerSpec, form: str) -> ParsedChoice:
    keys = [choice_key(c) for c in spec.choices or ()]
    # The text of a choice wins over a letter: a choice may itself be spelt like a letter.
    key = choice_key(s)
    if key in keys:
        return ParsedChoice(text, keys.index(key))
    m = _LETTER.fullmatch(s)
    if m:
        return ParsedChoice(text, _letter_index(m.group(1), len(keys), form))
    m = _LETTER_AND_TEXT.fullmatch(s)
    if m and choice_key(m.group(2)) in keys:
        index = _letter_index(m.group(1), len(keys), form)
        if keys[index] != choice_key(m.group(2)):
            raise AnswerFormatError("the letter and the text name different choices", form)
        return ParsedChoice(text, index)
    raise AnswerFormatError(f"{_clip(s)!r} is not one of the choices", form)


def _letter_index(letter: str, n: int, form: str) -> int:
    index = ord(letter.lower()) - ord("a")
    if index >= n:
        raise AnswerFormatError(f"there is no choice ({letter.lower()})", form)
    return index


# -- multi-part ---------------------------------------------------------------------------------

_LABEL = re.compile(
    r"\(?([A-Za-z][A-Za-z0-9_ ]{0,31}?)\)? ?(?:[:=]|(?<=[A-Za-z0-9_])\)) ?(.*)",
    re.ASCII | re.DOTALL,
)


def _parse_parts(text: object, spec: AnswerSpec) -> ParsedParts:
    specs = spec.part_specs
    form = expected_form(spec)
    texts: dict[str, object]
    if isinstance(text, str) and text.lstrip().startswith("{"):
        text = _json_parts(text, form)
    if isinstance(text, Mapping):
        texts = {_part_name(str(k), list(specs)) or str(k): v for k, v in text.items()}
        unknown = sorted(set(texts) - set(specs))
        if unknown:
            raise AnswerFormatError(f"no part named {_clip(unknown[0])!r}", form)
    elif isinstance(text, str):
        texts = _split_parts(text, list(specs), form)
    else:
        raise AnswerFormatError("the answer is not text", form)
    parsed: list[tuple[str, ParsedAnswer]] = []
    for name, part_spec in specs.items():
        if name not in texts:
            raise AnswerFormatError(f"part {name!r} is missing", form)
        try:
            parsed.append((name, parse_answer(texts[name], part_spec)))
        except AnswerFormatError as exc:
            raise AnswerFormatError(f"part {name!r}: {exc.problem}", exc.expected) from None
    return ParsedParts(tuple(parsed))


def _json_parts(text: str, form: str) -> dict[str, object]:
    """A JSON object of part name (or letter) to answer; numbers are read as written."""
    if len(text) > MAX_LENGTH * MAX_PARTS:
        raise AnswerFormatError("the answer is too long", form)
    try:
        data = json.loads(text, parse_float=str, parse_int=str, parse_constant=str)
    except ValueError:
        raise AnswerFormatError("not a valid JSON object", form) from None
    if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
        raise AnswerFormatError("a JSON answer maps each part to a number or a text", form)
    return dict(data)


def _part_name(label: str, names: list[str]) -> str | None:
    """The part a label names: its name (case and spaces folded) or its letter (a, b, ...)."""
    key = label.strip().lower().replace(" ", "_")
    if key in names:
        return key
    if len(key) == 1 and "a" <= key < chr(ord("a") + len(names)):
        return names[ord(key) - ord("a")]
    return None


def _split_parts(text: str, names: list[str], form: str) -> dict[str, object]:
    if len(text) > MAX_LENGTH * len(names):
        raise AnswerFormatError(
            f"the answer is longer than {MAX_LENGTH * len(names)} characters", form
        )
    segments = [seg.strip() for seg in re.split(r"[;\n]", text)]
    segments = [seg for seg in segments if seg]
    labelled: dict[str, object] = {}
    for seg in segments:
        m = _LABEL.fullmatch(seg)
        name = _part_name(m.group(1), names) if m else None
        if m and name is not None:
            if name in labelled:
                raise AnswerFormatError(f"part {name!r} is given twice", form)
            labelled[name] = m.group(2)
    if labelled and len(labelled) != len(segments):
        raise AnswerFormatError("label every part or none", form)
    if labelled:
        return labelled
    if len(segments) != len(names):
        raise AnswerFormatError(f"{len(segments)} answers given for {len(names)} parts", form)
    return dict(zip(names, segments, strict=True))
