"""Chunked readers, one per format. A source knows its columns and yields float64 arrays.

Every source has ``name`` (what errors show), ``format``, ``columns``, ``num_rows`` (None
when it is unknown without a full scan) and ``chunks(columns, chunk_size)``, a generator of
``{column: float64 ndarray}`` dicts whose lengths need not be ``chunk_size`` (the alignment
layer re-chunks). Nothing here knows about losses; memory never grows with the file.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from typing import Any

import numpy as np

from losscli.errors import InputError

#: The one column of a plain (unstructured) NPY array.
ARRAY = "<array>"

FORMATS = ("csv", "tsv", "parquet", "npy", "feather", "arrow", "ndjson")
_EXTENSIONS = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".tab": "tsv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".npy": "npy",
    ".feather": "feather",
    ".arrow": "feather",
    ".ipc": "feather",
    ".ndjson": "ndjson",
    ".jsonl": "ndjson",
    ".json": "ndjson",
}
_COMPRESSED = (".gz", ".bz2", ".zst", ".lz4")


def detect_format(path: str) -> str | None:
    """The format named by a path's extension (``.csv.gz`` counts as csv), or None."""
    lower = path.lower()
    for suffix in _COMPRESSED:
        if lower.endswith(suffix):
            lower = lower[: -len(suffix)]
            break
    return _EXTENSIONS.get(os.path.splitext(lower)[1])


def open_source(path: str, format_in: str | None = None) -> Any:
    """Open ``path`` as a chunked source; ``format_in`` overrides the extension. ``-`` is
    standard input (:mod:`losscli.io.streams`)."""
    if path == "-":
        from losscli.io.streams import open_stdin

        return open_stdin(format_in)
    fmt = format_in or detect_format(path)
    if fmt is None:
        raise InputError(
            f"Cannot tell the format of '{path}' from its extension; "
            f"pass --format-in with one of: {', '.join(FORMATS)}."
        )
    if fmt not in FORMATS:
        raise InputError(f"Unknown input format '{fmt}'; use one of: {', '.join(FORMATS)}.")
    if not os.path.exists(path):
        raise InputError(f"File not found: '{path}'. Check the path and the working directory.")
    if os.path.isdir(path):
        raise InputError(f"'{path}' is a directory; give a {fmt} file.")
    opener: dict[str, Any] = {
        "csv": CsvSource,
        "tsv": CsvSource,
        "parquet": ParquetSource,
        "npy": NpySource,
        "feather": FeatherSource,
        "arrow": FeatherSource,
        "ndjson": _ndjson,
    }
    return opener[fmt](path, fmt)


def _ndjson(path: str, fmt: str) -> Any:
    from losscli.io.ndjson import NdjsonSource

    return NdjsonSource(path, fmt)


def _check_numeric_arrow_type(source: str, column: str, arrow_type: Any) -> None:
    import pyarrow as pa

    t = arrow_type
    if pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_boolean(t):
        return
    if pa.types.is_decimal(t) or pa.types.is_null(t) or (pa.types.is_dictionary(t) and (
        pa.types.is_integer(t.value_type) or pa.types.is_floating(t.value_type)
    )):
        return
    raise InputError(
        f"Column '{column}' in '{source}' has type {t}; expected numbers. "
        "Choose a numeric column with --pred-col/--target-col/--weight-col, or convert it."
    )


def _to_float64(array: Any) -> np.ndarray:
    """An Arrow array/chunked array as a float64 numpy array, nulls as NaN."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    if not pa.types.is_float64(array.type):
        array = pc.cast(array, pa.float64())
    if array.null_count:
        array = pc.fill_null(array, float("nan"))
    return np.asarray(array.to_numpy(zero_copy_only=False), dtype=np.float64)


class CsvSource:
    """CSV/TSV through pyarrow's streaming reader, with float64 forced on the selected
    columns (its type inference only sees the first block: ``1.5`` after a block of
    integers would otherwise fail)."""

    block_size = 8 << 20

    def __init__(self, path: str, fmt: str) -> None:
        self.name = path
        self.format = fmt
        self.delimiter = "\t" if fmt == "tsv" else ","
        self.num_rows: int | None = None
        self.columns = self._read_header()

    def _read_header(self) -> list[str]:
        import pyarrow.csv as pacsv

        try:
            reader = pacsv.open_csv(
                self._input(),
                read_options=pacsv.ReadOptions(block_size=1 << 16),
                parse_options=pacsv.ParseOptions(delimiter=self.delimiter),
            )
        except Exception as exc:  # pyarrow raises ArrowInvalid / OSError subclasses
            raise self._translate(exc) from None
        self.schema = reader.schema  # types inferred from the first block (inspect)
        return list(reader.schema.names)

    def _input(self) -> Any:
        import pyarrow as pa

        self._raw = pa.OSFile(self.name)  # its position is the progress in bytes
        self.size: int | None = os.path.getsize(self.name)
        if not self.name.lower().endswith(_COMPRESSED):
            return self._raw
        return pa.CompressedInputStream(self._raw, pa.Codec.detect(self.name).name)

    def bytes_read(self) -> int:
        raw = getattr(self, "_raw", None)
        return 0 if raw is None or raw.closed else int(raw.tell())

    def chunks(self, columns: list[str], chunk_size: int) -> Iterator[dict[str, np.ndarray]]:
        import pyarrow as pa
        import pyarrow.csv as pacsv

        convert = pacsv.ConvertOptions(
            column_types={c: pa.float64() for c in columns},
            include_columns=list(columns),
        )
        try:
            reader = pacsv.open_csv(
                self._input(),
                read_options=pacsv.ReadOptions(block_size=self.block_size),
                parse_options=pacsv.ParseOptions(delimiter=self.delimiter),
                convert_options=convert,
            )
            for batch in reader:
                yield {c: _to_float64(batch.column(c)) for c in columns}
        except (InputError, GeneratorExit):
            raise
        except Exception as exc:
            raise self._translate(exc, [c for c in self.columns if c in columns]) from None

    def _locate_non_numeric(self, column: str) -> int | None:
        """0-based data row of the first value in ``column`` that is not a number."""
        import pyarrow as pa
        import pyarrow.csv as pacsv

        try:
            reader = pacsv.open_csv(
                self._input(),
                parse_options=pacsv.ParseOptions(delimiter=self.delimiter),
                convert_options=pacsv.ConvertOptions(column_types={column: pa.string()},
                                                     include_columns=[column]),
            )
            row = 0
            for batch in reader:
                for i, text in enumerate(batch.column(0).to_pylist()):
                    if text is not None and text != "":
                        try:
                            float(text)
                        except ValueError:
                            return row + i
                row += batch.num_rows
        except Exception:
            return None
        return None

    def _translate(self, exc: Exception, columns: list[str] | None = None) -> InputError:
        msg = _first_line(exc)
        m = re.search(r"In CSV column #(\d+):.*CSV conversion error to double: "
                      r"invalid value '([^']*)'", msg)
        if m and columns is not None:
            # The column number counts the selected columns; pyarrow gives no row number,
            # so find it with a slow scan of that one column (error path only).
            index, value = int(m.group(1)), m.group(2)
            col = columns[index] if index < len(columns) else f"#{index}"
            row = self._locate_non_numeric(col)
            where = f" at row {row} (line {row + 2} of the file)" if row is not None else ""
            return InputError(
                f"Non-numeric value {value!r} in column '{col}' of '{self.name}'{where}; "
                "fix or remove it, or choose another column."
            )
        if "Empty CSV file" in msg:
            return InputError(f"'{self.name}' is empty: expected a header line and data rows.")
        return InputError(f"Cannot read '{self.name}' as {self.format.upper()}: {msg}")


class ParquetSource:
    """Parquet through ``ParquetFile.iter_batches``: row groups stream, only the selected
    columns are decoded."""

    def __init__(self, path: str, fmt: str = "parquet") -> None:
        import pyarrow.parquet as pq

        self.name = path
        self.format = fmt
        try:
            self._file = pq.ParquetFile(path)
        except Exception as exc:
            raise InputError(
                f"Cannot read '{path}' as Parquet ({_first_line(exc)}); the file may be "
                "corrupt or of another format (use --format-in to say which)."
            ) from None
        self.schema = self._file.schema_arrow
        self.columns = list(self.schema.names)
        self.num_rows: int | None = self._file.metadata.num_rows

    def chunks(self, columns: list[str], chunk_size: int) -> Iterator[dict[str, np.ndarray]]:
        for c in columns:
            _check_numeric_arrow_type(self.name, c, self.schema.field(c).type)
        try:
            for batch in self._file.iter_batches(batch_size=chunk_size, columns=list(columns)):
                yield {c: _to_float64(batch.column(c)) for c in columns}
        except (InputError, GeneratorExit):
            raise
        except Exception as exc:
            raise InputError(f"Cannot read '{self.name}': {_first_line(exc)}; "
                             "the file may be truncated or corrupt.") from None


class FeatherSource:
    """Arrow IPC (Feather v2) file or stream, memory-mapped, batch by batch."""

    def __init__(self, path: str, fmt: str = "feather") -> None:
        import pyarrow as pa

        self.name = path
        self.format = fmt
        try:
            self._reader: Any = pa.ipc.open_file(pa.memory_map(path))
            self.num_rows: int | None = sum(
                self._reader.get_batch(i).num_rows for i in range(self._reader.num_record_batches)
            )
        except Exception:
            try:
                self._reader = pa.ipc.open_stream(pa.memory_map(path))
                self.num_rows = None
            except Exception as exc:
                raise InputError(
                    f"Cannot read '{path}' as Arrow IPC/Feather ({_first_line(exc)}); the file "
                    "may be corrupt, Feather v1, or of another format (use --format-in)."
                ) from None
        self.schema = self._reader.schema
        self.columns = list(self.schema.names)

    def _batches(self) -> Iterator[Any]:
        if hasattr(self._reader, "num_record_batches"):
            for i in range(self._reader.num_record_batches):
                yield self._reader.get_batch(i)
        else:
            yield from self._reader

    def chunks(self, columns: list[str], chunk_size: int) -> Iterator[dict[str, np.ndarray]]:
        for c in columns:
            _check_numeric_arrow_type(self.name, c, self.schema.field(c).type)
        try:
            for batch in self._batches():
                for start in range(0, batch.num_rows, chunk_size):
                    part = batch.slice(start, chunk_size)
                    yield {c: _to_float64(part.column(c)) for c in columns}
        except (InputError, GeneratorExit):
            raise
        except Exception as exc:
            raise InputError(f"Cannot read '{self.name}': {_first_line(exc)}.") from None


class NpySource:
    """A ``.npy`` array through a read-only memmap. A plain 1-D array is one column
    (``ARRAY``); a structured array's fields are columns."""

    def __init__(self, path: str, fmt: str = "npy") -> None:
        self.name = path
        self.format = fmt
        try:
            self._array = np.load(path, mmap_mode="r", allow_pickle=False)
        except Exception as exc:
            raise InputError(
                f"Cannot read '{path}' as NPY ({_first_line(exc)}); the file may be corrupt "
                "or of another format (use --format-in to say which)."
            ) from None
        if not isinstance(self._array, np.ndarray):
            raise InputError(f"'{path}' is not a single NPY array (an .npz archive?).")
        arr = self._array
        self.dtype = arr.dtype
        self.columns = npy_columns(path, arr.dtype, arr.shape)
        self.num_rows: int | None = int(arr.shape[0])

    def chunks(self, columns: list[str], chunk_size: int) -> Iterator[dict[str, np.ndarray]]:
        arr = self._array
        for start in range(0, arr.shape[0], chunk_size):
            part = arr[start : start + chunk_size]
            yield {
                c: np.asarray(part if c == ARRAY else part[c], dtype=np.float64)
                for c in columns
            }


def npy_columns(name: str, dtype: np.dtype, shape: tuple[int, ...]) -> list[str]:
    """The columns of an NPY array: a structured array's fields, or ``ARRAY`` for a 1-D one."""
    if dtype.names:
        columns = list(dtype.names)
    else:
        if len(shape) != 1:
            raise InputError(
                f"'{name}' holds an array of shape {shape}; expected a 1-D array "
                "(one value per row). Save predictions and targets as separate 1-D arrays."
            )
        columns = [ARRAY]
    for c in columns:
        kind = dtype if c == ARRAY else dtype[c]
        if kind.kind not in "fiub":
            raise InputError(
                f"'{name}'{'' if c == ARRAY else f' field {c!r}'} has dtype {kind}; "
                "expected numbers."
            )
    return columns


class ArraySource:
    """In-memory columns (numpy arrays or a pandas DataFrame) for the Python API."""

    format = "memory"

    def __init__(self, name: str, columns: dict[str, Any]) -> None:
        self.name = name
        self._data: dict[str, np.ndarray] = {}
        for key, values in columns.items():
            arr = np.asarray(values)
            if arr.dtype.kind not in "fiub":
                raise InputError(
                    f"Column '{key}' of {name} has dtype {arr.dtype}; expected numbers."
                )
            if arr.ndim != 1:
                raise InputError(
                    f"{name} '{key}' has shape {arr.shape}; expected a 1-D array."
                )
            self._data[key] = arr
        lengths = {len(a) for a in self._data.values()}
        if len(lengths) > 1:
            raise InputError(f"Columns of {name} have different lengths: {sorted(lengths)}.")
        self.columns = list(self._data)
        self.num_rows: int | None = lengths.pop() if lengths else 0

    def chunks(self, columns: list[str], chunk_size: int) -> Iterator[dict[str, np.ndarray]]:
        n = self.num_rows or 0
        for start in range(0, n, chunk_size):
            yield {
                c: np.asarray(self._data[c][start : start + chunk_size], dtype=np.float64)
                for c in columns
            }


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
