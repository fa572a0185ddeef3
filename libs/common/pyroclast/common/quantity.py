"""Kubernetes resource quantities, parsed and printed as apimachinery does.

A quantity is ``<sign><number><suffix>``: an optional ``+``/``-``, digits with
an optional fraction (``1``, ``1.5``, ``.5``, ``1.``), and a suffix that is
binary SI (``Ki Mi Gi Ti Pi Ei``), decimal SI (``n u m "" k M G T P E``) or a
decimal exponent (``e3``, ``E-2``, ``e+6``).

Parsing follows ``k8s.io/apimachinery/pkg/api/resource.ParseQuantity``:

* the value is exact; a non-zero value finer than 1n is rounded away from zero
  to the nano grid (``0.9n`` -> ``1n``, ``1e-100`` -> ``1e-9``);
* binary-SI magnitudes are capped at 2^63-1 (``9Ei`` parses as 2^63-1);
* a binary-SI value strictly between -1 and 1 switches to decimal SI.

Every :class:`Quantity` therefore holds an exact integer count of nano units.
``str(q)`` is apimachinery's ``String()``: the canonical form (largest suffix,
no fraction, exponent a multiple of three), except that, like apimachinery,
an input already accepted verbatim by its fast path (``"+1"``, ``"1.500"``)
is echoed back unchanged. :meth:`Quantity.canonical` always canonicalises.

Where this module differs from apimachinery, on purpose:

* a number without any digit (``"Gi"``, ``"."``, ``"-"``) is rejected; the Go
  scanner reads several of these as zero by accident of its fast path, while
  its documented grammar requires a digit;
* inputs longer than 1024 characters and decimal exponents above 1024 are
  rejected, so that arithmetic stays cheap (no resource is that large);
* :meth:`Quantity.value` and friends round negative values away from zero, as
  apimachinery's int64 representation does (its big-decimal path differs);
* binary-SI values of 1024Ei or more (reachable only by arithmetic) keep the
  ``Ei`` suffix instead of losing it.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from decimal import Context, Decimal
from enum import StrEnum
from typing import Final

__all__ = [
    "FORMAT_RULE",
    "Format",
    "Quantity",
    "QuantityError",
    "format_quantity",
    "parse_quantity",
]

#: apimachinery's ErrFormatWrong rule, quoted in error messages.
FORMAT_RULE: Final = (
    "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
)
_NUMERIC_RULE: Final = "unable to parse numeric part of quantity"
_SUFFIX_RULE: Final = "unable to parse quantity's suffix"

_NANO: Final = 10**9
_MAX_INT64: Final = 2**63 - 1
_MAX_LENGTH: Final = 1024
_MAX_EXPONENT: Final = 1024
_DIGITS: Final = frozenset("0123456789")
_SUFFIX_CHARS: Final = frozenset("eEinumkKMGTP")
_EXPONENT_RE: Final = re.compile(r"[+-]?[0-9]+\Z")

_DECIMAL_SUFFIXES: Final = {
    "n": -9,
    "u": -6,
    "m": -3,
    "": 0,
    "k": 3,
    "M": 6,
    "G": 9,
    "T": 12,
    "P": 15,
    "E": 18,
}
_DECIMAL_BY_EXPONENT: Final = {e: s for s, e in _DECIMAL_SUFFIXES.items()}
_BINARY_SUFFIXES: Final = {"Ki": 10, "Mi": 20, "Gi": 30, "Ti": 40, "Pi": 50, "Ei": 60}
_BINARY_BY_POWER: Final = ("", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei")
# Wide enough that no operation on a quantity's value ever rounds.
_EXACT: Final = Context(prec=4 * (_MAX_LENGTH + _MAX_EXPONENT), Emax=10**6, Emin=-(10**6))


class Format(StrEnum):
    """How a quantity is written; kept from the parsed suffix."""

    DECIMAL_EXPONENT = "DecimalExponent"  # 12e6
    BINARY_SI = "BinarySI"  # 12Mi
    DECIMAL_SI = "DecimalSI"  # 12M


class QuantityError(ValueError):
    """A malformed quantity; names the offending text and the rule it breaks."""

    def __init__(self, text: object, rule: str) -> None:
        self.text = text
        self.rule = rule
        super().__init__(f"invalid quantity {text!r}: {rule}")


@dataclass(frozen=True, slots=True, eq=False)
class Quantity:
    """An exact quantity: ``nanos`` units of 10^-9, written in ``format``.

    Equality, hashing and ordering are by value alone (``1Gi == 1073741824``),
    as apimachinery's ``Cmp``/``Equal``. ``_text`` is the input that parsing
    keeps verbatim for ``str()``, as apimachinery caches it; leave it unset.
    """

    nanos: int
    format: Format = Format.DECIMAL_SI
    _text: str | None = field(default=None, repr=False)

    # -- construction -------------------------------------------------
    @classmethod
    def from_int(cls, value: int, fmt: Format = Format.DECIMAL_SI) -> Quantity:
        """``value`` whole units (apimachinery's ``NewQuantity``)."""
        return cls(value * _NANO, fmt)

    @classmethod
    def from_milli(cls, value: int, fmt: Format = Format.DECIMAL_SI) -> Quantity:
        """``value`` thousandths (apimachinery's ``NewMilliQuantity``)."""
        return cls(value * 10**6, fmt)

    @classmethod
    def from_decimal(
        cls, value: Decimal | int, fmt: Format = Format.DECIMAL_SI, *, scale: int = 0
    ) -> Quantity:
        """``value * 10**scale``, rounded away from zero to the nano grid."""
        return cls(_to_nanos(value, scale), fmt)

    # -- accessors ----------------------------------------------------
    def scaled_value(self, scale: int) -> int:
        """``value / 10**scale`` rounded away from zero (``ScaledValue``)."""
        shift = scale + 9
        magnitude = abs(self.nanos)
        if shift >= 0:
            magnitude = -(-magnitude // int(10**shift))
        else:
            magnitude *= int(10**-shift)
        return -magnitude if self.nanos < 0 else magnitude

    def value(self) -> int:
        """Whole units, rounded up (apimachinery's ``Value``)."""
        return self.scaled_value(0)

    def milli_value(self) -> int:
        """Thousandths, rounded up (apimachinery's ``MilliValue``)."""
        return self.scaled_value(-3)

    def as_decimal(self) -> Decimal:
        """The exact value."""
        if self.nanos % _NANO == 0:
            return Decimal(self.nanos // _NANO)
        return Decimal(self.nanos).scaleb(-9, _EXACT).normalize(_EXACT)

    def sign(self) -> int:
        return (self.nanos > 0) - (self.nanos < 0)

    def is_zero(self) -> bool:
        return self.nanos == 0

    def canonical(self) -> str:
        """The canonical form (apimachinery's ``CanonicalizeBytes``)."""
        return _canonical(self.nanos, self.format)

    # -- arithmetic (format follows apimachinery: a zero takes the other's) --
    def __add__(self, other: Quantity) -> Quantity:
        if not isinstance(other, Quantity):
            return NotImplemented
        return Quantity(self.nanos + other.nanos, other.format if self.nanos == 0 else self.format)

    def __sub__(self, other: Quantity) -> Quantity:
        if not isinstance(other, Quantity):
            return NotImplemented
        return Quantity(self.nanos - other.nanos, other.format if self.nanos == 0 else self.format)

    def __neg__(self) -> Quantity:
        return Quantity(-self.nanos, self.format)

    # -- value semantics ----------------------------------------------
    def __eq__(self, other: object) -> bool:
        return isinstance(other, Quantity) and self.nanos == other.nanos

    def __hash__(self) -> int:
        return hash(self.nanos)

    def __lt__(self, other: Quantity) -> bool:
        return self.nanos < other.nanos

    def __le__(self, other: Quantity) -> bool:
        return self.nanos <= other.nanos

    def __gt__(self, other: Quantity) -> bool:
        return self.nanos > other.nanos

    def __ge__(self, other: Quantity) -> bool:
        return self.nanos >= other.nanos

    def __str__(self) -> str:
        return self._text if self._text is not None else self.canonical()

    def __repr__(self) -> str:
        return f"Quantity({str(self)!r})"


def parse_quantity(value: str | int | float | Decimal | Quantity) -> Quantity:
    """Parse a quantity from a string, or from a number as YAML gives it."""
    if isinstance(value, Quantity):
        return value
    text = _as_text(value)
    if text == "0":
        return Quantity(0, Format.DECIMAL_SI, "0")
    if not text:
        raise QuantityError(text, FORMAT_RULE)
    if len(text) > _MAX_LENGTH:
        raise QuantityError(text[:40] + "...", f"quantities are limited to {_MAX_LENGTH} characters")

    # Scan: sign, integer digits, fraction digits, suffix letters, exponent.
    end = len(text)
    pos = 0
    positive = True
    if text[0] in "+-":
        positive = text[0] == "+"
        pos = 1
    start = pos
    while pos < end and text[pos] in _DIGITS:
        pos += 1
    whole = text[start:pos]
    frac = ""
    if pos < end and text[pos] == ".":
        pos += 1
        start = pos
        while pos < end and text[pos] in _DIGITS:
            pos += 1
        frac = text[start:pos]
    suffix_start = pos
    while pos < end and text[pos] in _SUFFIX_CHARS:
        pos += 1
    if pos < end and text[pos] in "+-":
        pos += 1
    while pos < end and text[pos] in _DIGITS:
        pos += 1
    if pos != end:
        raise QuantityError(text, FORMAT_RULE)
    suffix = text[suffix_start:]

    fmt, base, exponent = _interpret(text, suffix)
    if not whole and not frac:
        raise QuantityError(text, f"{_NUMERIC_RULE} (no digits)")
    if base == 10 and exponent > _MAX_EXPONENT:
        raise QuantityError(text, f"decimal exponents above {_MAX_EXPONENT} are not supported")

    num = whole.lstrip("0") or "0"
    digits = int(num + frac)
    magnitude = digits << exponent if base == 2 else digits
    shift = (exponent if base == 10 else 0) - len(frac) + 9
    if shift >= 0:
        nanos = magnitude * int(10**shift)
    elif magnitude == 0:
        nanos = 0
    elif -shift > len(str(magnitude)):
        nanos = 1  # below 1n: rounds up to the smallest unit
    else:
        nanos = -(-magnitude // int(10**-shift))
    if fmt is Format.BINARY_SI:
        nanos = min(nanos, _MAX_INT64 * _NANO)
        if 0 < nanos < _NANO:
            fmt = Format.DECIMAL_SI
    if not positive:
        nanos = -nanos
    return Quantity(nanos, fmt, text if _kept_verbatim(fmt, base, exponent, num, frac) else None)


def format_quantity(
    amount: int | Decimal | Quantity, fmt: Format = Format.DECIMAL_SI, *, scale: int = 0
) -> str:
    """The canonical string of ``amount * 10**scale`` written in ``fmt``.

    ``format_quantity(1500, scale=-3)`` is ``"1500m"``;
    ``format_quantity(2**30, Format.BINARY_SI)`` is ``"1Gi"``. A
    :class:`Quantity` is printed as ``str()`` does.
    """
    if isinstance(amount, Quantity):
        return str(amount)
    return _canonical(_to_nanos(amount, scale), fmt)


# -- internals ------------------------------------------------------------


def _as_text(value: object) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        raise QuantityError(value, f"a quantity is a string or a number, not {type(value).__name__}")
    if isinstance(value, float | Decimal) and not math.isfinite(value):
        raise QuantityError(value, "a quantity must be finite")
    return repr(value) if isinstance(value, float) else str(value)


def _interpret(text: str, suffix: str) -> tuple[Format, int, int]:
    """Return (format, base, exponent) for a suffix, as apimachinery's suffixer."""
    if suffix in _DECIMAL_SUFFIXES:
        return Format.DECIMAL_SI, 10, _DECIMAL_SUFFIXES[suffix]
    if suffix in _BINARY_SUFFIXES:
        return Format.BINARY_SI, 2, _BINARY_SUFFIXES[suffix]
    if len(suffix) > 1 and suffix[0] in "eE" and _EXPONENT_RE.match(suffix, 1):
        exponent = int(suffix[1:])
        if -(2**63) <= exponent <= _MAX_INT64:
            return Format.DECIMAL_EXPONENT, 10, exponent
    raise QuantityError(text, _SUFFIX_RULE)


def _kept_verbatim(fmt: Format, base: int, exponent: int, num: str, frac: str) -> bool:
    """Whether apimachinery's int64 fast path keeps the input as its String()."""
    if base == 2:
        if frac or fmt is not Format.BINARY_SI:
            return False
        precision = 15 - len(num) - exponent * 3 // 10 - 1
        if precision < 0:
            return False
        value = int(num)
        return value << exponent <= _MAX_INT64 and value & 0x07 != 0
    shifted = num + frac
    scale = exponent - len(frac)
    if 18 - len(shifted) < 0 or scale < -9:
        return False
    return scale % 3 == 0 and not shifted.endswith("000") and shifted[0] != "0"


def _to_nanos(amount: Decimal | int, scale: int) -> int:
    """``amount * 10**scale`` in nanos, rounded away from zero."""
    if isinstance(amount, bool) or not isinstance(amount, int | Decimal):
        raise TypeError(f"expected an int or a Decimal, not {type(amount).__name__}")
    if isinstance(amount, int):
        sign, coefficient, exponent = (amount < 0), abs(amount), 0
    else:
        if not amount.is_finite():
            raise ValueError(f"not a finite amount: {amount}")
        sign_bit, digit_tuple, exp = amount.as_tuple()
        assert isinstance(exp, int)
        sign = bool(sign_bit)
        coefficient = int("".join(map(str, digit_tuple)) or "0")
        exponent = exp
    shift = exponent + scale + 9
    if shift >= 0:
        nanos = coefficient * int(10**shift)
    elif coefficient == 0:
        nanos = 0
    elif -shift > len(str(coefficient)):
        nanos = 1
    else:
        nanos = -(-coefficient // int(10**-shift))
    return -nanos if sign else nanos


def _canonical(nanos: int, fmt: Format) -> str:
    if nanos == 0:
        return "0"
    sign = "-" if nanos < 0 else ""
    magnitude = abs(nanos)
    if fmt is Format.BINARY_SI:
        if magnitude < 1024 * _NANO or magnitude % _NANO:
            fmt = Format.DECIMAL_SI  # tiny or fractional: shown exactly in decimal SI
        else:
            units, power = magnitude // _NANO, 0
            while power < 6 and units % 1024 == 0:
                units //= 1024
                power += 1
            return f"{sign}{units}{_BINARY_BY_POWER[power]}"
    exponent = -9
    while magnitude % 10 == 0:
        magnitude //= 10
        exponent += 1
    while exponent % 3:
        magnitude *= 10
        exponent -= 1
    if fmt is Format.DECIMAL_SI and exponent in _DECIMAL_BY_EXPONENT:
        suffix = _DECIMAL_BY_EXPONENT[exponent]
    else:  # decimal exponent, or decimal SI beyond "E"
        suffix = f"e{exponent}" if exponent else ""
    return f"{sign}{magnitude}{suffix}"
