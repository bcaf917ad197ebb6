"""Exact sums of float64 values: the same bits whatever the order or grouping of the adds.

Floating-point addition is not associative, so a sum merged from parts (chunks, threads,
machines) normally depends on how the parts were grouped: a two-float Neumaier sum, for
instance, gives different last bits for ``(a + b) + c`` and ``a + (b + c)`` on cancelling
data. Every finite float64 is an integer multiple of 2**-1074 (the smallest subnormal), so
the sum of any number of them is exactly such a multiple too: :class:`ExactSum` keeps that
integer (a Python int, arbitrary precision) and rounds once, correctly, when the value is
read. Adding, merging and serialising are therefore exact, and the result is the correctly
rounded true sum — what ``math.fsum`` (Shewchuk's algorithm) returns — for any merge tree.

Non-finite values are tallied apart (IEEE rules: inf + -inf and anything + NaN are NaN).

The chunk-level sums fed in are numpy's (pairwise, deterministic for a given chunk); this
module makes everything *above* the chunk exact.
"""

from __future__ import annotations

import math
import struct
from fractions import Fraction
from typing import Any

#: 2**1074: a finite float64 times this is an integer.
_SCALE_BITS = 1074
_SCALE = 1 << _SCALE_BITS


def float_to_units(x: float) -> int:
    """``x`` (finite) as an exact integer count of 2**-1074."""
    n, d = x.as_integer_ratio()  # d is a power of two, at most 2**1074
    return n << (_SCALE_BITS - d.bit_length() + 1)


def units_to_float(units: int) -> float:
    """The float64 nearest to ``units * 2**-1074`` (ties to even): CPython's int / int
    true division is correctly rounded. Beyond the float range: ±inf."""
    try:
        return units / _SCALE
    except OverflowError:
        return math.inf if units > 0 else -math.inf


class ExactSum:
    """An exact running sum of float64 values (see the module doc).

    ``add(x)`` adds one float (for a chunk, add the chunk's own float sum), ``merge``
    another sum.
    ``value`` is the correctly rounded sum. ``to_dict``/``from_dict`` (and the compact
    ``to_json``/``from_json``) round-trip exactly.
    """

    __slots__ = ("nan", "neg_inf", "pos_inf", "units")

    def __init__(self, units: int = 0, nan: bool = False, pos_inf: bool = False,
                 neg_inf: bool = False) -> None:
        self.units = units
        self.nan = nan
        self.pos_inf = pos_inf
        self.neg_inf = neg_inf

    def add(self, x: float) -> None:
        x = float(x)
        if math.isfinite(x):
            if x:
                self.units += float_to_units(x)
        elif x != x:
            self.nan = True
        elif x > 0:
            self.pos_inf = True
        else:
            self.neg_inf = True

    def merge(self, other: ExactSum) -> ExactSum:
        """Fold ``other`` in (in place) and return self."""
        self.units += other.units
        self.nan |= other.nan
        self.pos_inf |= other.pos_inf
        self.neg_inf |= other.neg_inf
        return self

    def copy(self) -> ExactSum:
        return ExactSum(self.units, self.nan, self.pos_inf, self.neg_inf)

    @property
    def finite(self) -> bool:
        return not (self.nan or self.pos_inf or self.neg_inf)

    @property
    def value(self) -> float:
        if self.nan or (self.pos_inf and self.neg_inf):
            return math.nan
        if self.pos_inf:
            return math.inf
        if self.neg_inf:
            return -math.inf
        return units_to_float(self.units)

    def fraction(self) -> Fraction:
        """The exact finite part as a fraction (non-finite tallies are not included)."""
        return Fraction(self.units, _SCALE)

    def __float__(self) -> float:
        return self.value

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ExactSum) and (
            self.units, self.nan, self.pos_inf, self.neg_inf) == (
            other.units, other.nan, other.pos_inf, other.neg_inf)

    def __repr__(self) -> str:
        return f"ExactSum({self.value!r})"

    def to_dict(self) -> dict[str, Any]:
        """The integer in hex (``"0x1a"``, ``"-0x3"``) and the non-finite tallies."""
        return {"units": hex(self.units), "nan": self.nan, "pos_inf": self.pos_inf,
                "neg_inf": self.neg_inf}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ExactSum:
        return cls(int(data["units"], 16), bool(data.get("nan")), bool(data.get("pos_inf")),
                   bool(data.get("neg_inf")))

    def to_json(self) -> str | dict[str, Any]:
        """The compact form kept inside other parts: the hex integer alone when the sum is
        finite, else :meth:`to_dict` (read back checked by
        :func:`losscli.stats.fields.exact_sum`, or by :meth:`from_json`)."""
        return hex(self.units) if self.finite else self.to_dict()

    @classmethod
    def from_json(cls, data: str | dict[str, Any]) -> ExactSum:
        if isinstance(data, str):
            return cls(int(data, 16))
        if isinstance(data, dict):
            return cls.from_dict(data)
        raise ValueError(f"not an exact sum: {data!r}")


class ExactProducts:
    """An exact sum of products of ``order`` floats each (``add(a, b)`` adds a·b for order
    2): every such product is an integer multiple of 2**(-1074·order), so the sum is kept as
    that integer — no rounding, no gcd (a :class:`~fractions.Fraction` would normalise at
    every add, ~50x slower). Finite values only; read it with :meth:`fraction`."""

    __slots__ = ("order", "units")

    def __init__(self, order: int, units: int = 0) -> None:
        self.order = order
        self.units = units

    def add(self, *factors: float) -> None:
        if len(factors) != self.order:
            raise ValueError(f"expected {self.order} factors, got {len(factors)}")
        numerator, shift = 1, _SCALE_BITS * self.order
        for x in factors:
            n, d = float(x).as_integer_ratio()
            numerator *= n
            shift -= d.bit_length() - 1
        if numerator:
            self.units += numerator << shift

    def merge(self, other: ExactProducts) -> ExactProducts:
        if other.order != self.order:
            raise ValueError("cannot merge sums of products of different orders")
        self.units += other.units
        return self

    def fraction(self) -> Fraction:
        return Fraction(self.units, 1 << (_SCALE_BITS * self.order))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ExactProducts) and (self.order, self.units) == (
            other.order, other.units)

    def to_dict(self) -> dict[str, Any]:
        return {"order": self.order, "units": hex(self.units)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ExactProducts:
        return cls(int(data["order"]), int(data["units"], 16))

    def to_json(self) -> str:
        """The compact form kept inside other parts (whose field names the order): the hex
        integer (read back checked by :meth:`losscli.stats.fields.Fields.products`)."""
        return hex(self.units)


def fraction_to_float(value: Fraction) -> float:
    """Correctly rounded (CPython's int / int division), ±inf beyond the float range."""
    try:
        return value.numerator / value.denominator
    except OverflowError:
        return math.inf if value > 0 else -math.inf


def float_to_json(x: float) -> str:
    """A float, bit for bit, as text: ``float.hex`` (``"0x1.8p+1"``, ``"inf"``, ``"-inf"``);
    a NaN with its bits (``"nan:0x7ff8000000000000"``), so even its payload survives."""
    x = float(x)
    if x != x:
        return f"nan:{struct.unpack('<Q', struct.pack('<d', x))[0]:#018x}"
    return x.hex()


def float_from_json(text: Any) -> float:
    """Inverse of :func:`float_to_json`."""
    if not isinstance(text, str):
        raise ValueError(f"not a hex float: {text!r}")
    if text.startswith("nan:"):
        return float(struct.unpack("<d", struct.pack("<Q", int(text[4:], 16)))[0])
    return float.fromhex(text)
