"""Shared Arrow helpers of the format readers: Arrow arrays to float64 numpy arrays (scalar
and list columns), the numeric type check, and the check of column names.

pyarrow (and pyarrow.compute) are imported inside the functions: importing this module
costs only numpy.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from losscli.errors import InputError
from losscli.io.coded import CodedText as CodedText  # re-exported: the readers' text
from losscli.io.coded import CodesOnly, unread
from losscli.io.coded import concatenate as concatenate
from losscli.io.coded import narrow_codes as narrow_codes
from losscli.io.coded import recode as recode


def check_column_names(source: str, names: list[str]) -> list[str]:
    """Column names as losscli uses them: an empty name (the trailing commas a spreadsheet
    leaves: ``pred,target,,``) becomes ``column_N`` (N counts from 1); a name given twice
    is an InputError, since neither could be chosen with certainty."""
    out = [n if n.strip() else f"column_{i + 1}" for i, n in enumerate(names)]
    seen: dict[str, int] = {}
    for i, name in enumerate(out):
        if name in seen:
            raise InputError(
                f"Column name '{name}' appears twice in '{source}' (columns {seen[name] + 1} "
                f"and {i + 1}); rename one of them, so that each column can be chosen."
            )
        seen[name] = i
    return out


def is_list_type(t: Any) -> bool:
    """Whether an Arrow type is a list, large list or fixed-size list."""
    import pyarrow as pa

    return bool(pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_fixed_size_list(t))


def check_numeric_arrow_type(source: str, column: str, arrow_type: Any) -> None:
    """Raise an InputError unless ``arrow_type`` holds numbers (or lists of numbers)."""
    import pyarrow as pa

    t = arrow_type
    if is_list_type(t):
        t = t.value_type
    if pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_boolean(t):
        return
    if pa.types.is_decimal(t) or pa.types.is_null(t) or (pa.types.is_dictionary(t) and (
        pa.types.is_integer(t.value_type) or pa.types.is_floating(t.value_type)
    )):
        return
    raise InputError(
        f"Column '{column}' in '{source}' has type {arrow_type}; expected numbers (or lists of "
        "numbers). Choose a numeric column with --pred-col/--target-col/--weight-col, or "
        "convert it."
    )


def schema_types(schema: Any, columns: list[str]) -> dict[str, str]:
    """Column -> the name of its Arrow type in ``schema`` (what ``inspect`` shows)."""
    return {c: str(schema.field(c).type) for c in columns}


def schema_values_per_row(schema: Any, column: str) -> int:
    """Values per row of ``column`` known from the schema alone: the size of a fixed-size
    list column, else 1 (a variable-length list is known only once read)."""
    import pyarrow as pa

    if schema is None or not isinstance(schema, pa.Schema) or column not in schema.names:
        return 1
    t = schema.field(column).type
    return int(t.list_size) if pa.types.is_fixed_size_list(t) else 1


class ListWidths:
    """Checks that a list column holds the same number of values on every row, across
    chunks, and names the first row that does not."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.widths: dict[str, int] = {}

    def to_float64(self, column: str, array: Any, start: int) -> np.ndarray:
        """A list / fixed-size-list Arrow array as an (n, C) float64 array (null rows NaN)."""
        import pyarrow as pa

        if isinstance(array, pa.ChunkedArray):
            array = array.combine_chunks()
        n = len(array)
        if pa.types.is_fixed_size_list(array.type):
            width = array.type.list_size
            offsets = (array.offset + np.arange(n + 1, dtype=np.int64)) * width
        else:
            offsets = np.asarray(array.offsets, dtype=np.int64)
        valid = validity(array)
        lengths = np.diff(offsets)
        expected = self.widths.get(column)
        if expected is None and pa.types.is_fixed_size_list(array.type):
            expected = self.widths[column] = array.type.list_size
        if expected is None and valid.any():
            expected = int(lengths[valid][0])
            if expected == 0:
                row = start + int(np.flatnonzero(valid)[0])
                raise InputError(
                    f"Column '{column}' of '{self.source}' has an empty list at row {row}; "
                    "expected one value per class (or per embedding dimension)."
                )
            self.widths[column] = expected
        if expected is None:  # a variable-length list column, every row null so far
            return np.full((n, 1), np.nan)
        wrong = valid & (lengths != expected)
        if wrong.any():
            i = int(np.flatnonzero(wrong)[0])
            raise InputError(
                f"Column '{column}' of '{self.source}' holds lists of {expected} values, but row "
                f"{start + i} has {int(lengths[i])}; every row needs the same number of values."
            )
        first = int(offsets[0])
        # Only this slice's values: a sliced array still points at its parent's whole child.
        values = to_float64(array.values.slice(first, int(offsets[-1]) - first))
        if valid.all():
            return values.reshape(n, expected)
        out = np.full((n, expected), np.nan)
        idx = (offsets[:-1][valid] - first)[:, None] + np.arange(expected)
        out[valid] = values[idx]
        return out


def arrow_column(widths: ListWidths, column: str, array: Any, start: int) -> np.ndarray:
    """One Arrow column as float64: 1-D for scalars, (n, C) for list columns."""
    if is_list_type(array.type):
        return widths.to_float64(column, array, start)
    return to_float64(array)


def validity(array: Any) -> np.ndarray:
    """Per row of an Arrow array (not a dictionary or nested one's children), whether it holds
    a value, from the validity bitmap. ``np.asarray(array.is_valid())``, ``fill_null`` and
    ``pa.scalar`` would do it but import pandas on the way (~0.15 s of a run)."""
    n = len(array)
    bitmap = array.buffers()[0]
    if bitmap is None or not array.null_count:
        return np.ones(n, bool)
    bits = np.unpackbits(np.frombuffer(bitmap, dtype=np.uint8), bitorder="little")
    return bits[array.offset:array.offset + n].astype(bool)


def numbers_view(array: Any, dtype: Any) -> np.ndarray:
    """Zero-copy view of a fixed-width Arrow array's values (nulls: whatever their slots
    hold)."""
    dt = np.dtype(dtype)
    buffer = array.buffers()[1]
    if buffer is None or len(array) == 0:
        return np.empty(len(array), dt)  # no values buffer (an empty or all-null array)
    return np.frombuffer(buffer, dtype=dt, count=len(array), offset=array.offset * dt.itemsize)


def to_float64(array: Any) -> np.ndarray:
    """An Arrow array/chunked array as a float64 numpy array, nulls as NaN."""
    import pyarrow as pa

    if isinstance(array, pa.ChunkedArray):
        array = array.chunk(0) if array.num_chunks == 1 else array.combine_chunks()
    if not pa.types.is_float64(array.type):
        import pyarrow.compute as pc  # 25 ms to import: only when there is work for it

        # Integers above 2**53 round to the nearest float64, as a CSV's digits do (a safe
        # cast would refuse them).
        array = pc.cast(array, options=pc.CastOptions(pa.float64(), allow_float_truncate=True))
    # Zero-copy view of the values buffer (read-only). Array.to_numpy would do the same but
    # imports pandas on the way, which costs ~0.2 s of every run.
    values = numbers_view(array, np.float64)
    if array.null_count:
        values = np.where(validity(array), values, np.nan)
    return values


# -- raw columns: values as they are (keys, labels), not as float64 ------------------------



def raw_kind(arrow_type: Any) -> str | None:
    """The numpy form of a raw column of ``arrow_type`` (int64, float64, bool,
    datetime64[us] or str: the same for every chunk and file), or None
    when it cannot be one (lists, structs, maps)."""
    import pyarrow as pa

    t = arrow_type
    if pa.types.is_dictionary(t):
        t = t.value_type
    if pa.types.is_boolean(t):
        return "bool"
    if pa.types.is_integer(t):
        return "int64"
    if pa.types.is_floating(t):
        return "float64"
    if pa.types.is_timestamp(t) or pa.types.is_date(t):
        return "datetime64[us]"
    if (pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_binary(t)
            or pa.types.is_large_binary(t) or pa.types.is_decimal(t) or pa.types.is_null(t)
            or pa.types.is_time(t) or pa.types.is_duration(t)
            or getattr(pa.types, "is_string_view", lambda _: False)(t)):
        return "str"
    return None


#: Strings of a column with few distinct values (categories, group keys) are converted once
#: per distinct value; a sample of this many decides (ids are converted row by row).
_SAMPLE = 4096


def _few_distinct(array: Any) -> bool:
    """Whether a string array is dictionary-encoded or its first rows repeat a lot."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if pa.types.is_dictionary(array.type):
        return pa.types.is_string(array.type.value_type) or pa.types.is_large_string(
            array.type.value_type)
    if not (pa.types.is_string(array.type) or pa.types.is_large_string(array.type)):
        return False
    if len(array) < 2 * _SAMPLE:
        return False
    return len(pc.unique(array.slice(0, _SAMPLE))) * 8 < _SAMPLE


def _strings_by_dictionary(array: Any, codes_only: bool = False) -> np.ndarray:
    """An object array of ``str`` (None for null) through the array's dictionary: the same
    values as converting row by row, a fraction of the time for repeated strings; a
    :class:`CodedText` carrying the codes (``codes_only``: its rows not spelled out)."""
    import pyarrow as pa

    coded = array if pa.types.is_dictionary(array.type) else array.dictionary_encode()
    values = np.empty(len(coded.dictionary) + 1, dtype=object)
    values[:-1] = coded.dictionary.to_pylist()
    values[-1] = None
    indices = coded.indices
    kind = "i" if pa.types.is_signed_integer(indices.type) else "u"
    codes = numbers_view(indices, f"{kind}{indices.type.bit_width // 8}").astype(
        narrow_codes(len(values)))
    if indices.null_count:
        codes[~validity(indices)] = len(coded.dictionary)
    if codes_only:
        return unread(codes, values)
    out = values[codes].view(CodedText)
    out.codes = codes
    out.values = values
    return out


class ArrowKey(str):
    """A raw column's name that asks :func:`raw_values` for an Arrow array where numpy would
    hold a Python object per row: text (``string``, dictionary decoded) and integers with
    nulls (``int64``). A join's index holds its keys so (:mod:`losscli.io.keyindex`); other
    kinds come as numpy, as for any raw column."""

    __slots__ = ()


def _arrow_key(array: Any, column: str, source: str, start: int) -> Any:
    """The Arrow form of a key column for :class:`ArrowKey` (None: numpy as usual)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    t = array.type
    if pa.types.is_dictionary(t):
        array, t = array.dictionary_decode(), t.value_type
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return array
    if pa.types.is_null(t):
        return pa.nulls(len(array), pa.string())
    if pa.types.is_integer(t) and array.null_count:
        return array if pa.types.is_int64(t) else _as_int64(array, column, source, start)
    if pa.types.is_binary(t) or pa.types.is_large_binary(t):
        try:  # valid UTF-8 (else decoded with backslashes, row by row, as raw_values does)
            return pc.cast(array, pa.large_string() if pa.types.is_large_binary(t)
                           else pa.string())
        except pa.ArrowInvalid:
            return None
    if pa.types.is_decimal(t) or pa.types.is_time(t) or pa.types.is_duration(t) or getattr(
            pa.types, "is_string_view", lambda _: False)(t):
        return pc.cast(array, pa.string())
    return None


def raw_values(source: str, column: str, array: Any, start: int) -> Any:
    """One Arrow column as its raw numpy values (``start``: its first row, for messages):

    * integers → int64, floating point → float64 (nulls NaN), booleans → bool;
    * timestamps and dates → datetime64[us] (time zones dropped: UTC; nulls NaT);
    * strings (dictionary-encoded too), binary (decoded as UTF-8), decimals, times →
      an object array of ``str``, nulls as None.

    An integer or boolean chunk holding a null comes as an object array of Python ints or
    bools and None (numpy has no null int64): the same key values as the int64 or bool
    chunks of the column, null a group of its own.

    A column named by an :class:`ArrowKey` comes as an Arrow array instead where numpy
    would hold Python objects (text; integers with nulls).
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    kind = raw_kind(array.type)
    if kind is None:
        raise InputError(
            f"Column '{column}' of '{source}' has type {array.type}; a key column holds one "
            "plain value per row (a string, a number, a date)."
        )
    if isinstance(column, ArrowKey) and (
            arrow := _arrow_key(array, column, source, start)) is not None:
        return arrow
    if kind == "str" and _few_distinct(array):  # one Python str per distinct value
        return _strings_by_dictionary(array, isinstance(column, CodesOnly))
    if pa.types.is_dictionary(array.type):
        array = array.dictionary_decode()
    n = len(array)
    if kind == "str":
        if pa.types.is_decimal(array.type) or pa.types.is_time(array.type) or (
                pa.types.is_duration(array.type)):
            array = pc.cast(array, pa.string())
        values = array.to_pylist()
        if n and (pa.types.is_binary(array.type) or pa.types.is_large_binary(array.type)):
            values = [v if v is None else v.decode("utf-8", "backslashreplace") for v in values]
        out = np.empty(n, dtype=object)
        out[:] = values
        return out
    if kind == "float64":
        return to_float64(array)
    if array.null_count:
        if kind == "datetime64[us]":
            stamps = pc.cast(array, pa.timestamp("us"))
            out = np.where(validity(stamps), numbers_view(stamps, np.int64), np.iinfo(np.int64).min)
            return out.view("datetime64[us]")  # the minimum int64 is NaT
        # Integers or booleans with nulls (numpy has no null int64): Python ints or bools
        # and None, in an object array — the same key values as int64 or bool chunks give
        # (losscli.grouping.key_value), null a group of its own.
        if kind == "int64" and not pa.types.is_int64(array.type):
            array = _as_int64(array, column, source, start)
        out = np.empty(n, dtype=object)
        out[:] = array.to_pylist()
        return out
    if kind == "bool":
        return numbers_view(pc.cast(array, pa.uint8()), np.uint8).astype(bool)
    if kind == "datetime64[us]":
        return numbers_view(pc.cast(array, pa.timestamp("us")), np.int64).view("datetime64[us]")
    if not pa.types.is_int64(array.type):
        array = _as_int64(array, column, source, start)
    return numbers_view(array, np.int64)


def _as_int64(array: Any, column: str, source: str, start: int) -> Any:
    import pyarrow as pa
    import pyarrow.compute as pc

    try:
        return pc.cast(array, pa.int64())
    except pa.ArrowInvalid:
        raise InputError(
            f"Column '{column}' of '{source}' holds integers beyond int64 (near row "
            f"{start}); keys are read as int64: store the column as strings."
        ) from None


def numpy_raw_values(source: str, column: str, values: np.ndarray) -> np.ndarray:
    """Raw values of an in-memory or NPY column, in the dtypes of :func:`raw_values`."""
    kind = values.dtype.kind
    if kind == "b":
        return values.astype(bool, copy=False)
    if kind in "iu":
        if kind == "u" and values.dtype.itemsize >= 8 and values.size and values.max() >> 63:
            raise InputError(f"Column '{column}' of '{source}' holds integers beyond int64; "
                             "keys are read as int64: store the column as strings.")
        return values.astype(np.int64, copy=False)
    if kind == "f":
        return values.astype(np.float64, copy=False)
    if kind == "M":
        return values.astype("datetime64[us]")
    if kind in "USO":
        out = np.empty(len(values), dtype=object)
        if kind == "S":
            out[:] = [v.decode("utf-8", "backslashreplace") for v in values]
        elif kind == "U":
            out[:] = [str(v) for v in values]
        else:
            out[:] = [v if isinstance(v, str) else None if _missing(v) else str(v)
                      for v in values]
        return out
    raise InputError(f"Column '{column}' of '{source}' has dtype {values.dtype}; a key column "
                     "holds one plain value per row (a string, a number, a date).")


def _missing(value: Any) -> bool:
    """None, NaN, or pandas' NA/NaT in an object column: a null."""
    if value is None:
        return True
    try:
        return bool(value != value)
    except (TypeError, ValueError):  # pandas.NA refuses to be a bool
        return True
