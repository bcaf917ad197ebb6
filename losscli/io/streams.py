"""Reading from a pipe: ``-`` is standard input, read once, front to back, in chunks.

:class:`ByteStream` wraps any byte reader with exact-size reads (pyarrow takes a short read
for the end of the data), a ``peek`` that does not consume (format sniffing, the CSV header,
the first NDJSON object) and a count of the bytes consumed (the progress bar).
:func:`open_stdin` picks the source: CSV/TSV, NDJSON, Arrow IPC stream and NPY stream
straight from the pipe, chunk by chunk; Parquet and Arrow IPC *file* (Feather) need random
access, so they are spooled to an anonymous temporary file first (bounded by disk, not
memory; ``TMPDIR`` chooses where). Each source follows the protocol of
:mod:`losscli.io.sources`.
"""

from __future__ import annotations

import os
import stat
import sys
import tempfile
from collections.abc import Iterator
from typing import Any

import numpy as np

from losscli.errors import InputError
from losscli.io.arrow import first_line
from losscli.io.base import ARRAY
from losscli.io.detect import sniff_compression, sniff_format
from losscli.io.sources import CsvSource, FeatherSource, ParquetSource, npy_columns
from losscli.io.stream import ByteStream, progress_bytes
from losscli.vocab import INPUT_FORMATS as FORMATS

__all__ = ["ByteStream", "sniff_format"]

STDIN = "-"
STDIN_NAME = "<stdin>"

def open_stdin(format_in: str | None = None) -> Any:
    """Open standard input as a chunked source, detecting the format unless ``format_in``
    names it."""
    if sys.stdin is None or sys.stdin.closed:
        raise InputError("Standard input is closed; give a FILE instead of '-'.")
    raw = getattr(sys.stdin, "buffer", sys.stdin)
    size = None
    try:
        st = os.fstat(raw.fileno())
        if stat.S_ISREG(st.st_mode):  # '< file.csv': the size is known, for progress
            size = st.st_size - os.lseek(raw.fileno(), 0, os.SEEK_CUR)
    except (OSError, ValueError, AttributeError):
        pass
    return open_stream(ByteStream(raw, STDIN_NAME, size), format_in)


def open_stream(stream: ByteStream, format_in: str | None = None) -> Any:
    """A source reading ``stream`` once; compressed input (gzip, bz2, zstd, lz4) is undone."""
    codec = sniff_compression(stream.peek(8))
    if codec is not None:
        import pyarrow as pa

        inner = pa.CompressedInputStream(pa.PythonFile(stream, mode="r"), codec)
        decompressed = ByteStream(inner, stream.name)
        decompressed.raw_progress = stream
        stream = decompressed
    fmt = format_in
    if fmt is None:
        fmt = sniff_format(stream.peek_lines(1 << 12))
        if fmt is None:
            raise InputError(
                f"No data on standard input ('{stream.name}' is empty): give a FILE, or "
                "pipe CSV, TSV, NDJSON, Arrow, NPY, Parquet or Feather data in (see --help)."
            )
    if fmt not in FORMATS:
        raise InputError(f"Unknown input format '{fmt}'; use one of: {', '.join(FORMATS)}.")
    if fmt in ("csv", "tsv"):
        return CsvStreamSource(stream, fmt)
    if fmt == "ndjson":
        from losscli.io.ndjson import NdjsonSource

        return NdjsonSource(stream, fmt)
    if fmt == "npy":
        return NpyStreamSource(stream)
    if fmt in ("feather", "arrow") and not stream.peek(6).startswith(b"ARROW1"):
        return ArrowStreamSource(stream, fmt)
    return spool(stream, fmt)


def spool(stream: ByteStream, fmt: str) -> Any:
    """Copy the rest of ``stream`` to an anonymous temporary file and open that: Parquet and
    Arrow IPC files keep their index at the end. Disk, not memory, bounds the size."""
    tmp = tempfile.NamedTemporaryFile(prefix="losscli-stdin-", suffix=f".{fmt}")
    try:
        while True:
            block = stream.read(8 << 20)
            if not block:
                break
            tmp.write(block)
        tmp.flush()
    except OSError as exc:
        tmp.close()
        raise InputError(
            f"Cannot spool {fmt} from standard input to a temporary file ({exc.strerror}); "
            "free disk space, set TMPDIR to a larger disk, or pass the file by name."
        ) from None
    opener: Any = ParquetSource if fmt == "parquet" else FeatherSource
    try:
        source = opener(tmp.name, fmt)
    except InputError as exc:
        tmp.close()
        raise InputError(str(exc).replace(tmp.name, stream.name)) from None
    source.name = stream.name
    source._spool = tmp  # deleted when the source is
    return source


class CsvStreamSource(CsvSource):
    """CSV/TSV from a pipe: the header is read from peeked lines, then one streaming reader
    consumes the stream from its first byte (header included) chunk by chunk."""

    def __init__(self, stream: ByteStream, fmt: str) -> None:
        self._stream = stream
        self._used = False
        super().__init__(stream.name, fmt)
        self.size = stream.size

    def _read_header(self) -> list[str]:
        import pyarrow as pa
        import pyarrow.csv as pacsv

        head = self._stream.peek_lines()
        try:
            reader = pacsv.open_csv(
                pa.BufferReader(head),
                read_options=pacsv.ReadOptions(block_size=max(len(head), 1)),
                parse_options=pacsv.ParseOptions(delimiter=self.delimiter),
            )
        except Exception as exc:
            raise self._translate(exc) from None
        self.schema = reader.schema
        return list(reader.schema.names)

    def _input(self) -> Any:
        if self._used:
            raise RuntimeError(f"{self.name} can be read only once")
        self._used = True
        return self._stream

    def bytes_read(self) -> int:
        return progress_bytes(self._stream)


class ArrowStreamSource(FeatherSource):
    """An Arrow IPC *stream* from a pipe, record batch by record batch."""

    def __init__(self, stream: ByteStream, fmt: str = "arrow") -> None:
        import pyarrow as pa

        self.name = stream.name
        self.format = fmt
        self._stream = stream
        self.size = stream.size
        try:
            self._reader = pa.ipc.open_stream(pa.PythonFile(stream, mode="r"))
        except Exception as exc:
            raise InputError(
                f"Cannot read '{stream.name}' as an Arrow IPC stream ({first_line(exc)}); "
                "check --format-in."
            ) from None
        self.num_rows = None
        self.schema = self._reader.schema
        self.columns = list(self.schema.names)

    def bytes_read(self) -> int:
        return progress_bytes(self._stream)


class NpyStreamSource:
    """An NPY array from a pipe: the header says dtype and shape, then fixed-size records
    are read ``chunk_size`` at a time."""

    def __init__(self, stream: ByteStream, fmt: str = "npy") -> None:
        from numpy.lib import format as npformat

        self.name = stream.name
        self.format = fmt
        self._stream = stream
        self.size = stream.size
        try:
            version = npformat.read_magic(stream)
            if version == (1, 0):
                shape, fortran, dtype = npformat.read_array_header_1_0(stream)
            else:
                shape, fortran, dtype = npformat.read_array_header_2_0(stream)
        except Exception as exc:
            raise InputError(
                f"Cannot read '{self.name}' as NPY ({first_line(exc)}); the data may be "
                "corrupt or of another format (use --format-in to say which)."
            ) from None
        if dtype.hasobject:
            raise InputError(f"'{self.name}' holds Python objects (dtype {dtype}); expected "
                             "numbers.")
        self.dtype = dtype
        self.columns = npy_columns(self.name, dtype, tuple(shape))
        self.num_rows: int | None = int(shape[0]) if shape else 1
        # A 2-D (rows, values) array arrives row by row only in C order.
        self._width = int(shape[1]) if len(shape) == 2 else None
        self.values_per_row = self._width or 1
        if self._width is not None and fortran and self.num_rows > 1 and self._width > 1:
            raise InputError(
                f"'{self.name}' holds a Fortran-ordered {tuple(shape)} array, which cannot be "
                "read row by row from a pipe; save it with np.ascontiguousarray, or give a file."
            )

    def chunks(self, columns: list[str], chunk_size: int) -> Iterator[dict[str, np.ndarray]]:
        total = self.num_rows or 0
        itemsize = self.dtype.itemsize * (self._width or 1)  # bytes per row
        done = 0
        while done < total:
            n = min(chunk_size, total - done)
            data = self._stream.read(n * itemsize)
            if len(data) < n * itemsize:
                got = done + len(data) // itemsize
                raise InputError(
                    f"'{self.name}' ends after {got} of the {total} rows its NPY header "
                    "announces; the data is truncated."
                )
            part = np.frombuffer(data, dtype=self.dtype)
            if self._width is not None:
                part = part.reshape(n, self._width)
            done += n
            yield {
                c: np.asarray(part if c == ARRAY else part[c], dtype=np.float64)
                for c in columns
            }

    def bytes_read(self) -> int:
        return progress_bytes(self._stream)
