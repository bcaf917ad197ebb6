"""In-memory columns for the Python API."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from losscli.errors import InputError
from losscli.io.arrow import numpy_raw_values
from losscli.io.base import raw_key


def from_object(obj: Any, name: str, default_column: str) -> ArraySource:
    """In-memory data as columns: a pandas or polars DataFrame (its columns), a pandas or
    polars Series (one column, its name), a pyarrow Table, RecordBatch or
    RecordBatchReader (read whole: it is in memory already or the caller's to bound), or
    anything numpy takes (one column named ``default_column``)."""
    module = type(obj).__module__.split(".")[0]
    if module == "pyarrow":
        import pyarrow as pa

        if isinstance(obj, pa.RecordBatchReader):
            obj = obj.read_all()
        if isinstance(obj, pa.Table | pa.RecordBatch):
            return ArraySource(name, {str(n): col.to_numpy(zero_copy_only=False)
                                      for n, col in zip(obj.column_names, obj.columns)})
        if isinstance(obj, pa.Array | pa.ChunkedArray):
            return ArraySource(name, {default_column: obj.to_numpy(zero_copy_only=False)})
        raise InputError(f"{name}: a pyarrow {type(obj).__name__} is not data losscli reads; "
                         "give a Table, RecordBatch, RecordBatchReader or Array.")
    if hasattr(obj, "columns") and hasattr(obj, "to_numpy"):  # pandas / polars DataFrame
        return ArraySource(name, {str(c): obj[c].to_numpy() for c in obj.columns})
    if hasattr(obj, "to_numpy"):  # pandas / polars Series
        return ArraySource(name, {str(getattr(obj, "name", None) or default_column):
                                  obj.to_numpy()})
    return ArraySource(name, {default_column: np.asarray(obj)})


class ArraySource:
    """In-memory columns (numpy arrays or a pandas DataFrame) for the Python API. Columns
    of other dtypes (strings, dates) can be read only as raw columns (keys)."""

    format = "memory"
    size: int | None = None  # bytes read are not counted

    def __init__(self, name: str, columns: dict[str, Any]) -> None:
        self.name = name
        self._data: dict[str, np.ndarray] = {}
        for key, values in columns.items():
            arr = np.asarray(values)
            if arr.ndim not in (1, 2):
                raise InputError(
                    f"{name} '{key}' has shape {arr.shape}; expected a 1-D array (one value "
                    "per row) or a 2-D (rows, values) array."
                )
            self._data[key] = arr
        lengths = {len(a) for a in self._data.values()}
        if len(lengths) > 1:
            raise InputError(f"Columns of {name} have different lengths: {sorted(lengths)}.")
        self.columns = list(self._data)
        self.num_rows: int | None = lengths.pop() if lengths else 0

    def bytes_read(self) -> int:
        return 0  # not counted (size is None): progress counts rows

    def column_types(self) -> dict[str, str]:
        return {c: str(self._data[c].dtype) for c in self.columns}

    def values_per_row(self, column: str) -> int:
        # 1 even for a 2-D array: in-memory arrays have never counted as wide rows for the
        # default chunk size, and this keeps their chunking as it was.
        return 1

    def chunks(self, columns: list[str], chunk_size: int,
               raw: tuple[str, ...] = ()) -> Iterator[dict[str, np.ndarray]]:
        yield from self.read_range(columns, 0, self.num_rows or 0, chunk_size, raw)

    def _numbers(self, column: str) -> np.ndarray:
        arr = self._data[column]
        if arr.dtype.kind not in "fiub":
            raise InputError(
                f"Column '{column}' of {self.name} has dtype {arr.dtype}; expected numbers."
            )
        return arr

    rows_seekable = True

    def split_points(self) -> list[int]:
        return [0, self.num_rows or 0]

    def read_range(self, columns: list[str], start: int, stop: int, chunk_size: int,
                   raw: tuple[str, ...] = ()) -> Iterator[dict[str, np.ndarray]]:
        data = {c: self._numbers(c) for c in columns}
        for lo in range(start, stop, chunk_size):
            hi = min(lo + chunk_size, stop)
            out = {c: np.asarray(data[c][lo:hi], dtype=np.float64) for c in columns}
            for c in raw:
                out[raw_key(c)] = numpy_raw_values(self.name, c, self._data[c][lo:hi])
            yield out
