"""Chunked readers, one per format. A source knows its columns and yields float64 arrays.

Every source has ``name`` (what errors show), ``format``, ``columns``, ``num_rows`` (None
when it is unknown without a full scan) and ``chunks(columns, chunk_size)``, a generator of
``{column: float64 ndarray}`` dicts whose lengths need not be ``chunk_size`` (the alignment
layer re-chunks). Nothing here knows about losses; memory never grows with the file.

A column holds one value per row (a 1-D array) or several: a Parquet/Arrow list or
fixed-size-list column, or a 2-D ``(N, C)`` NPY array, gives a ``(n, C)`` array. Every row of
such a column must hold the same number of values; a null list is a row of NaN.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from typing import Any

import numpy as np

from losscli.errors import InputError
from losscli.io.arrow import (
    ListWidths,
    arrow_column,
    check_numeric_arrow_type,
    first_line,
    is_list_type,
    schema_values_per_row,
    to_float64,
)
from losscli.io.base import ARRAY
from losscli.io.detect import detect_format, is_compressed
from losscli.io.stream import Prepended
from losscli.vocab import INPUT_FORMATS

FORMATS = INPUT_FORMATS
__all__ = ["ARRAY", "FORMATS", "detect_format"]

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
        if not is_compressed(self.name):
            return self._raw
        return pa.CompressedInputStream(self._raw, pa.Codec.detect(self.name).name)

    def bytes_read(self) -> int:
        if getattr(self, "_position", None) is not None:
            return int(self._position)
        raw = getattr(self, "_raw", None)
        return 0 if raw is None or raw.closed else int(raw.tell())

    #: Bytes per block of the parallel path (cut at a newline).
    parallel_block = 4 << 20

    def chunks(self, columns: list[str], chunk_size: int) -> Iterator[dict[str, np.ndarray]]:
        try:
            if self._parallel_ok():
                yield from self._parallel_chunks(columns)
            else:
                yield from self._serial_chunks(columns, self._input())
        except (InputError, GeneratorExit):
            raise
        except Exception as exc:
            raise self._translate(exc, [c for c in self.columns if c in columns]) from None

    def _convert(self, columns: list[str]) -> Any:
        import pyarrow as pa
        import pyarrow.csv as pacsv

        return pacsv.ConvertOptions(column_types={c: pa.float64() for c in columns},
                                    include_columns=list(columns))

    def _serial_chunks(self, columns: list[str], stream: Any) -> Iterator[dict[str, np.ndarray]]:
        """pyarrow's streaming reader: one block after another, on one core."""
        import pyarrow.csv as pacsv

        reader = pacsv.open_csv(
            stream,
            read_options=pacsv.ReadOptions(block_size=self.block_size),
            parse_options=pacsv.ParseOptions(delimiter=self.delimiter),
            convert_options=self._convert(columns),
        )
        for batch in reader:
            yield {c: to_float64(batch.column(c)) for c in columns}

    def _parallel_ok(self) -> bool:
        """Plain files (not pipes, not compressed) whose header is one whole line (an even
        number of quotes: no quoted field runs on past its newline)."""
        if type(self)._input is not CsvSource._input or is_compressed(self.name):
            return False
        with open(self.name, "rb") as f:
            return f.readline().count(b'"') % 2 == 0

    def _parallel_chunks(self, columns: list[str]) -> Iterator[dict[str, np.ndarray]]:
        """Newline-aligned blocks parsed by ``read_csv`` in two threads, results in order.

        A newline splits records safely only outside quoted fields, so blocks are cut only
        while no quote has been seen: from the first block that holds a quote, the rest of
        the file (starting at a record boundary, since nothing before it was quoted) goes
        through the streaming reader. Memory: a few blocks in flight.
        """
        from concurrent.futures import Future, ThreadPoolExecutor

        import pyarrow as pa
        import pyarrow.csv as pacsv

        read = pacsv.ReadOptions(column_names=self.columns, use_threads=False,
                                 block_size=self.parallel_block * 2)
        parse = pacsv.ParseOptions(delimiter=self.delimiter)
        convert = self._convert(columns)

        def parse_block(data: bytes) -> dict[str, np.ndarray]:
            table = pacsv.read_csv(pa.py_buffer(data), read_options=read, parse_options=parse,
                                   convert_options=convert)
            return {c: to_float64(table.column(c)) for c in columns}

        self.size = os.path.getsize(self.name)
        with open(self.name, "rb") as f, ThreadPoolExecutor(2, "losscli-csv") as pool:
            f.readline()  # the header: column names are known already
            self._position = f.tell()
            pending: list[Future[dict[str, np.ndarray]]] = []
            quoted_from: int | None = None
            while True:
                start = f.tell()
                data = f.read(self.parallel_block)
                if not data:
                    break
                if not data.endswith(b"\n"):
                    data += f.readline()
                if b'"' in data:
                    quoted_from = start
                    break
                pending.append(pool.submit(parse_block, data))
                if len(pending) > 2:
                    self._position = start
                    yield pending.pop(0).result()
            for fut in pending:
                yield fut.result()
            self._position = f.tell()
        if quoted_from is not None:
            with open(self.name, "rb") as f:
                f.seek(quoted_from)
                yield from self._serial_chunks(
                    columns, Prepended(self._header_bytes(), f))

    def _header_bytes(self) -> bytes:
        with open(self.name, "rb") as f:
            return f.readline()

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
        msg = first_line(exc)
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


def column_width(source: Any, column: str) -> int:
    """Values per row of ``column`` known from the schema alone: the size of a fixed-size
    list column, else 1 (a variable-length list is known only once read)."""
    return schema_values_per_row(getattr(source, "schema", None), column)


class ParquetSource:
    """Parquet through ``ParquetFile.iter_batches``: row groups stream, only the selected
    columns are decoded."""

    def __init__(self, path: str, fmt: str = "parquet") -> None:
        import pyarrow.parquet as pq

        self.name = path
        self.format = fmt
        try:
            # pre_buffer=False: the default reads ahead without bound, so memory grew with
            # the file (1.8 GB at 100M rows); without it a row group at a time is buffered.
            self._file = pq.ParquetFile(path, pre_buffer=False)
        except Exception as exc:
            raise InputError(
                f"Cannot read '{path}' as Parquet ({first_line(exc)}); the file may be "
                "corrupt or of another format (use --format-in to say which)."
            ) from None
        self.schema = self._file.schema_arrow
        self.columns = list(self.schema.names)
        self.num_rows: int | None = self._file.metadata.num_rows

    def chunks(self, columns: list[str], chunk_size: int) -> Iterator[dict[str, np.ndarray]]:
        for c in columns:
            check_numeric_arrow_type(self.name, c, self.schema.field(c).type)
        widths = ListWidths(self.name)
        start = 0
        try:
            # Decode in batches of about 2M values (fewer, larger reads: ~40% faster for
            # two columns); the alignment layer slices them into chunk_size views.
            scalar = not any(is_list_type(self.schema.field(c).type) for c in columns)
            rows = max(chunk_size, (1 << 21) // len(columns)) if scalar else chunk_size
            # One decoding thread: the prefetch thread already runs the reader beside the
            # kernels, and pyarrow's own pool only competed with them for the two cores
            # (100M rows: 0.76-0.92 s instead of 0.90-0.94 s).
            for batch in self._file.iter_batches(batch_size=rows, columns=list(columns),
                                                 use_threads=False):
                yield {c: arrow_column(widths, c, batch.column(c), start) for c in columns}
                start += batch.num_rows
        except (InputError, GeneratorExit):
            raise
        except Exception as exc:
            raise InputError(f"Cannot read '{self.name}': {first_line(exc)}; "
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
                    f"Cannot read '{path}' as Arrow IPC/Feather ({first_line(exc)}); the file "
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
            check_numeric_arrow_type(self.name, c, self.schema.field(c).type)
        widths = ListWidths(self.name)
        row = 0
        try:
            for batch in self._batches():
                for start in range(0, batch.num_rows, chunk_size):
                    part = batch.slice(start, chunk_size)
                    yield {c: arrow_column(widths, c, part.column(c), row) for c in columns}
                    row += part.num_rows
        except (InputError, GeneratorExit):
            raise
        except Exception as exc:
            raise InputError(f"Cannot read '{self.name}': {first_line(exc)}.") from None


class NpySource:
    """A ``.npy`` array through a read-only memmap. A plain 1-D array is one column
    (``ARRAY``), a 2-D ``(N, C)`` array one column of C values per row; a structured
    array's fields are columns (a sub-array field holds several values per row)."""

    def __init__(self, path: str, fmt: str = "npy") -> None:
        self.name = path
        self.format = fmt
        try:
            self._array = np.load(path, mmap_mode="r", allow_pickle=False)
        except Exception as exc:
            raise InputError(
                f"Cannot read '{path}' as NPY ({first_line(exc)}); the file may be corrupt "
                "or of another format (use --format-in to say which)."
            ) from None
        if not isinstance(self._array, np.ndarray):
            raise InputError(f"'{path}' is not a single NPY array (an .npz archive?).")
        arr = self._array
        self.dtype = arr.dtype
        self.columns = npy_columns(path, arr.dtype, arr.shape)
        self.num_rows: int | None = int(arr.shape[0])
        #: Values per row of the plain array (C of an (N, C) array), known before reading.
        self.values_per_row = int(np.prod(arr.shape[1:])) if arr.ndim > 1 else 1

    def chunks(self, columns: list[str], chunk_size: int) -> Iterator[dict[str, np.ndarray]]:
        arr = self._array
        if not (isinstance(arr, np.memmap) and arr.flags.c_contiguous):
            for start in range(0, arr.shape[0], chunk_size):  # e.g. Fortran order: slice
                part = np.array(arr[start : start + chunk_size])
                yield {c: np.asarray(part if c == ARRAY else part[c], dtype=np.float64)
                       for c in columns}
            return
        # Plain reads of each chunk into a fresh buffer rather than views of the memmap:
        # mapped pages stay in the process's resident set, so memory would grow with the
        # file; read chunks are freed (and reused by the allocator) once processed.
        total = arr.shape[0]
        with open(self.name, "rb") as f:
            f.seek(arr.offset)
            for start in range(0, total, chunk_size):
                rows = min(chunk_size, total - start)
                part = np.empty((rows, *arr.shape[1:]), dtype=arr.dtype)
                if f.readinto(part.view(np.uint8).reshape(-1).data) != part.nbytes:
                    raise InputError(
                        f"'{self.name}' ends before the {total} rows its NPY header announces; "
                        "the file is truncated."
                    )
                yield {c: np.asarray(part if c == ARRAY else part[c], dtype=np.float64)
                       for c in columns}


def npy_columns(name: str, dtype: np.dtype, shape: tuple[int, ...]) -> list[str]:
    """The columns of an NPY array: a structured array's fields (a sub-array field holds
    several values per row), or ``ARRAY`` for a 1-D array or a 2-D (rows, values) one."""
    if dtype.names:
        if len(shape) != 1:
            raise InputError(
                f"'{name}' holds a structured array of shape {shape}; expected a 1-D one "
                "(one record per row)."
            )
        columns = list(dtype.names)
    else:
        if len(shape) not in (1, 2):
            raise InputError(
                f"'{name}' holds an array of shape {shape}; expected a 1-D array "
                "(one value per row) or a 2-D (rows, values) array, e.g. (N, classes)."
            )
        columns = [ARRAY]
    for c in columns:
        kind = dtype if c == ARRAY else dtype[c].base
        if c != ARRAY and len(dtype[c].shape) > 1:
            raise InputError(
                f"'{name}' field {c!r} has shape {dtype[c].shape} per row; expected one value "
                "or a flat vector of values per row."
            )
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

    def chunks(self, columns: list[str], chunk_size: int) -> Iterator[dict[str, np.ndarray]]:
        n = self.num_rows or 0
        for start in range(0, n, chunk_size):
            yield {
                c: np.asarray(self._data[c][start : start + chunk_size], dtype=np.float64)
                for c in columns
            }
