"""Reading a state back from JSON as untrusted input: every field checked where it is read.

A saved state (``--save-state``) or a worker's state can be edited, truncated or forged, and
an exact sum is trusted to the last bit: a sum of ``-0x10`` or ``rows: 10**400`` would be
merged into a plausible-looking report. Every ``from_dict`` of a state part therefore reads
its fields through :class:`Fields`, which checks, per field:

* its **type** (an integer is an int, not a bool or a float; a flag a bool; text a string);
* **counts** (rows, positions, classes, ...) are whole numbers in ``0 .. 2**63``;
* **exact sums** (:class:`~losscli.stats.exact.ExactSum`, :class:`ExactProducts`) are hex
  text of bounded length whose magnitude is within what the recorded rows allow — every
  chunk adds one finite float (a product of ``order`` floats), so ``|sum| ≤ adds × rows ×
  the largest float**order`` — and, for a sum of non-negative terms (weights, squares), not
  negative; nothing but a zero sum over zero rows;
* hex floats parse, choices are among the known ones, lists have their expected lengths.

A violation raises :class:`FieldError` naming the field by its path in the state
(``cells[0].losses[1].weight``) and what is wrong with it; :func:`nested` prefixes the path
as the error leaves a part. Pure: no I/O, no CLI.
"""

from __future__ import annotations

import base64
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np

from losscli.stats.exact import ExactProducts, ExactSum, float_from_json, float_to_units

#: The largest count a state may record (rows, positions, tallies).
MAX_COUNT = 1 << 63
#: The largest finite float64 in units of 2**-1074 (an ExactSum's integer).
MAX_FLOAT_UNITS = float_to_units(sys.float_info.max)
#: The longest free text a state records (an error message, a file name).
MAX_TEXT = 1 << 16

T = TypeVar("T")
_MISSING: Any = object()


class FieldError(ValueError):
    """A field of a state that cannot be what a run wrote: ``field`` its path, ``problem``
    what is wrong."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}" if field else problem)
        self.field = field
        self.problem = problem


def _join(prefix: str, field: str) -> str:
    if not field:
        return prefix
    return f"{prefix}{field}" if field.startswith("[") else f"{prefix}.{field}"


def nested(prefix: str, read: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """``read(*args)``, with the path of a :class:`FieldError` prefixed by ``prefix``; any
    other ValueError, TypeError or KeyError of the reader becomes a FieldError there."""
    try:
        return read(*args, **kwargs)
    except FieldError as exc:
        raise FieldError(_join(prefix, exc.field), exc.problem) from None
    except KeyError as exc:
        raise FieldError(prefix, f"missing field {exc.args[0]!r}") from None
    except (ValueError, TypeError, OverflowError) as exc:
        raise FieldError(prefix, str(exc) or type(exc).__name__) from None


def kind_of(value: Any) -> str:
    """What a JSON value is, for a message."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"the flag {str(value).lower()}"
    if isinstance(value, int):
        text = str(value) if value.bit_length() < 200 else f"a {value.bit_length()}-bit number"
        return text
    if isinstance(value, float):
        return f"the number {value!r}"
    if isinstance(value, str):
        return f"text of {len(value)} characters" if len(value) > 40 else repr(value)
    if isinstance(value, list):
        return f"a list of {len(value)}"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def whole(value: Any, lo: int = 0, hi: int = MAX_COUNT, what: str = "a count") -> int:
    """``value`` as an int in ``lo .. hi`` (a JSON integer, not a flag or a float)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise FieldError("", f"expected {what} (a whole number), got {kind_of(value)}")
    if not lo <= value <= hi:
        raise FieldError("", f"expected {what} in {lo}..{hi if hi < MAX_COUNT else '2**63'}, "
                         f"got {kind_of(value)}")
    return value


def _hex_int(text: Any, bound: int) -> int:
    """A signed hex integer (``"0x1a"``, ``"-0x3"``) of magnitude ≤ ``bound``; its length
    is checked before it is parsed."""
    if not isinstance(text, str):
        raise FieldError("", f"expected an exact sum as hex text, got {kind_of(text)}")
    if len(text) > bound.bit_length() // 4 + 4:
        raise FieldError("", f"an exact sum of {len(text)} characters is larger than the "
                         "recorded rows allow")
    try:
        value = int(text, 16)
    except ValueError:
        raise FieldError("", f"expected an exact sum as hex text, got {kind_of(text)}") from None
    if abs(value) > bound:
        raise FieldError("", "the exact sum is larger in magnitude than the recorded rows allow")
    return value


class Fields:
    """One JSON object of a state, read field by field (see the module doc). ``context``
    (e.g. ``weighted``: whether the run had weights) travels to the parts read from it."""

    def __init__(self, data: Any, context: dict[str, Any] | None = None) -> None:
        if not isinstance(data, dict):
            raise FieldError("", f"expected an object, got {kind_of(data)}")
        self.data = data
        self.context = dict(context or {})

    def raw(self, key: str, default: Any = _MISSING) -> Any:
        if key not in self.data:
            if default is _MISSING:
                raise FieldError(key, "missing")
            return default
        return self.data[key]

    def has(self, key: str) -> bool:
        return self.data.get(key) is not None

    def _at(self, key: str, read: Callable[..., T], *args: Any) -> T:
        return nested(key, read, *args)

    def count(self, key: str, *, lo: int = 0, hi: int = MAX_COUNT, default: Any = _MISSING,
              what: str = "a count") -> int:
        value = self.raw(key, default)
        return self._at(key, whole, value, lo, hi, what)

    def optional_count(self, key: str, *, lo: int = 0, hi: int = MAX_COUNT) -> int | None:
        value = self.raw(key, None)
        return None if value is None else self._at(key, whole, value, lo, hi)

    def flag(self, key: str, default: Any = _MISSING) -> bool:
        value = self.raw(key, default)
        if not isinstance(value, bool):
            raise FieldError(key, f"expected true or false, got {kind_of(value)}")
        return value

    def text(self, key: str, *, choices: tuple[str, ...] | None = None,
             default: Any = _MISSING, longest: int = MAX_TEXT) -> str:
        value = self.raw(key, default)
        if not isinstance(value, str):
            raise FieldError(key, f"expected text, got {kind_of(value)}")
        if len(value) > longest:
            raise FieldError(key, f"text of {len(value)} characters (at most {longest})")
        if choices is not None and value not in choices:
            raise FieldError(key, f"expected one of {', '.join(map(repr, choices))}, got "
                             f"{kind_of(value)}")
        return value

    def real(self, key: str, *, finite: bool = False) -> float:
        """A float written with :func:`~losscli.stats.exact.float_to_json`."""
        value = self._at(key, float_from_json, self.raw(key))
        if finite and not abs(value) <= sys.float_info.max:
            raise FieldError(key, f"expected a finite number, got {value!r}")
        return value

    def items(self, key: str, *, length: int | None = None, longest: int = MAX_COUNT,
              default: Any = _MISSING) -> list[Any]:
        value = self.raw(key, default)
        if not isinstance(value, list):
            raise FieldError(key, f"expected a list, got {kind_of(value)}")
        if length is not None and len(value) != length:
            raise FieldError(key, f"expected a list of {length}, got {kind_of(value)}")
        if len(value) > longest:
            raise FieldError(key, f"a list of {len(value)} (at most {longest})")
        return value

    def each(self, key: str, read: Callable[[Any], T], **kwargs: Any) -> list[T]:
        """``read`` of every item of list ``key`` (errors named ``key[i]``)."""
        return [nested(f"{key}[{i}]", read, item)
                for i, item in enumerate(self.items(key, **kwargs))]

    def part(self, key: str, read: Callable[[Any], T]) -> T:
        """``read`` of the object at ``key`` (errors named ``key.…``)."""
        return nested(key, read, self.raw(key))

    def sub(self, data: Any) -> Fields:
        """A nested object read with this one's context."""
        return Fields(data, self.context)

    def exact_sum(self, key: str, *, rows: int, non_negative: bool = False,
                  adds: int = 1) -> ExactSum:
        """An :class:`ExactSum` of at most ``adds`` finite floats per row of ``rows``."""
        return nested(key, exact_sum, self.raw(key), rows, non_negative, adds)

    def products(self, key: str, order: int, *, rows: int, non_negative: bool = False,
                 adds: int = 1) -> ExactProducts:
        """An :class:`ExactProducts` of ``order`` floats per term, ``adds`` terms per row."""
        bound = adds * rows * MAX_FLOAT_UNITS ** order
        units = nested(key, _hex_int, self.raw(key), bound)
        if non_negative and units < 0:
            raise FieldError(key, "negative, but it is a sum of non-negative terms")
        return ExactProducts(order, units)


def exact_sum(value: Any, rows: int, non_negative: bool = False, adds: int = 1) -> ExactSum:
    """An :class:`ExactSum` written by ``to_json`` (``"0x…"``, or ``{"units": "0x…", "nan":
    …, "pos_inf": …, "neg_inf": …}``) of at most ``adds`` finite floats per row of ``rows``;
    ``non_negative``: a sum of terms ≥ 0 (weights, squares)."""
    bound = adds * rows * MAX_FLOAT_UNITS
    if isinstance(value, dict):
        inner = Fields(value)
        units = nested("units", _hex_int, inner.raw("units"), bound)
        nan, pos_inf, neg_inf = (inner.flag(name, False) for name in ("nan", "pos_inf", "neg_inf"))
        if neg_inf and non_negative:
            raise FieldError("", "−inf in a sum of non-negative terms")
        out = ExactSum(units, nan, pos_inf, neg_inf)
    else:
        out = ExactSum(_hex_int(value, bound))
    if non_negative and out.units < 0:
        raise FieldError("", "negative, but it is a sum of non-negative terms")
    return out


def read(data: Any, reader: Callable[[Fields], T], context: dict[str, Any] | None = None) -> T:
    """``reader(Fields(data))``: the entry of a ``from_dict``."""
    return reader(Fields(data, context))


def check(condition: bool, field: str, problem: str) -> None:
    """Raise a :class:`FieldError` unless ``condition`` (a consistency between fields)."""
    if not condition:
        raise FieldError(field, problem)


def encode_array(values: Any, dtype: str) -> str:
    """An array as a state's JSON holds it: base64 of its bytes as ``dtype`` (e.g. ``<f8``)."""
    return base64.b64encode(np.ascontiguousarray(values, dtype=dtype).tobytes()).decode("ascii")


def decode_array(text: Any, dtype: str, name: str, count: int | None = None) -> np.ndarray:
    """:func:`encode_array`'s text read back, checked (a FieldError naming ``name``): base64
    of a whole number of ``dtype`` values (exactly ``count`` of them when given); a
    native-order copy."""
    if not isinstance(text, str):
        raise FieldError(name, "expected base64 text")
    try:
        raw = base64.b64decode(text.encode("ascii"), validate=True)
    except (ValueError, UnicodeEncodeError):
        raise FieldError(name, "not base64") from None
    size = np.dtype(dtype).itemsize
    if len(raw) % size:
        raise FieldError(name, f"not a whole number of {size}-byte values")
    if count is not None and len(raw) != count * size:
        raise FieldError(name, f"expected {count} values, got {len(raw) // size}")
    return np.frombuffer(raw, dtype=dtype).astype(np.dtype(dtype).newbyteorder("="))
