"""Shared Arrow helpers of the format readers: Arrow arrays to float64 numpy arrays (scalar
and list columns), the numeric type check, and the check of column names.

pyarrow (and pyarrow.compute) are imported inside the functions: importing this module
costs only numpy.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from losscli.errors import InputError


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
        valid = np.asarray(array.is_valid(), dtype=bool) if array.null_count else np.ones(n, bool)
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


def to_float64(array: Any) -> np.ndarray:
    """An Arrow array/chunked array as a float64 numpy array, nulls as NaN."""
    import pyarrow as pa

    if isinstance(array, pa.ChunkedArray):
        array = array.chunk(0) if array.num_chunks == 1 else array.combine_chunks()
    if not pa.types.is_float64(array.type) or array.null_count:
        import pyarrow.compute as pc  # 25 ms to import: only when there is work for it

        if not pa.types.is_float64(array.type):
            # Integers above 2**53 round to the nearest float64, as a CSV's digits do
            # (a safe cast would refuse them).
            array = pc.cast(array, options=pc.CastOptions(pa.float64(),
                                                          allow_float_truncate=True))
        if array.null_count:
            array = pc.fill_null(array, float("nan"))
    # Zero-copy view of the values buffer (read-only). Array.to_numpy would do the same but
    # imports pandas on the way, which costs ~0.2 s of every run.
    return np.frombuffer(array.buffers()[1], dtype=np.float64, count=len(array),
                         offset=array.offset * 8)
