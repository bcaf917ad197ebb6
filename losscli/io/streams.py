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
from losscli.io.sources import (
    ARRAY,
    FORMATS,
    CsvSource,
    FeatherSource,
    ParquetSource,
    _first_line,
    npy_columns,
)

STDIN = "-"
STDIN_NAME = "<stdin>"

#: Leading bytes of the binary formats, and of the compressions pyarrow can undo.
_MAGIC = (
    (b"\x93NUMPY", "npy"),
    (b"PAR1", "parquet"),
    (b"ARROW1", "feather"),
    (b"\xff\xff\xff\xff", "arrow"),  # Arrow IPC stream: continuation marker, then a schema
)
_COMPRESSION_MAGIC = (
    (b"\x1f\x8b", "gzip"),
    (b"BZh", "bz2"),
    (b"\x28\xb5\x2f\xfd", "zstd"),
    (b"\x04\x22\x4d\x18", "lz4"),
)


class ByteStream:
    """A forward-only byte reader over ``raw`` (anything with ``read(n)``).

    ``read(n)`` returns exactly ``n`` bytes unless the data ends first; ``peek(n)`` returns
    up to ``n`` bytes without consuming them; ``bytes_read`` counts consumed bytes.
    """

    def __init__(self, raw: Any, name: str, size: int | None = None) -> None:
        self._raw = raw
        self._buf = bytearray()
        self._eof = False
        self.name = name
        self.size = size  # total bytes when known (a regular file), for progress
        self.bytes_read = 0
        self.closed = False

    # -- the file-object surface pyarrow and numpy use ------------------------------------
    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def tell(self) -> int:
        return self.bytes_read

    def close(self) -> None:
        self.closed = True

    def _fill(self, n: int) -> None:
        """Buffer at least ``n`` bytes, or everything up to the end of the data."""
        while len(self._buf) < n and not self._eof:
            chunk = self._raw.read(max(n - len(self._buf), 1 << 16))
            if not chunk:
                self._eof = True
                break
            self._buf += chunk

    def read(self, n: int | None = -1) -> bytes:
        if n is None or n < 0:
            self._fill(sys.maxsize)
        else:
            self._fill(n)
        take = len(self._buf) if n is None or n < 0 else min(n, len(self._buf))
        data = bytes(self._buf[:take])
        del self._buf[:take]
        self.bytes_read += len(data)
        return data

    def peek(self, n: int) -> bytes:
        self._fill(n)
        return bytes(self._buf[:n])

    def peek_lines(self, at_least: int = 1 << 16, limit: int = 64 << 20) -> bytes:
        """Complete lines from the front (at least one when there is one), not consumed."""
        size = at_least
        while True:
            self._fill(size)
            head = bytes(self._buf[:size])
            if self._eof and len(self._buf) <= size:
                return head
            cut = head.rfind(b"\n")
            if cut >= 0:
                return head[: cut + 1]
            if size >= limit:
                raise InputError(
                    f"The first line of '{self.name}' is longer than {limit >> 20} MiB; "
                    "is this really line-oriented text (CSV, TSV, NDJSON)? Check --format-in."
                )
            size *= 4

    def read_lines(self, n: int) -> bytes:
        """About ``n`` bytes, extended to the end of a line: whole lines only."""
        data = self.read(n)
        if not data or data.endswith(b"\n"):
            return data
        rest = bytearray()
        while True:
            self._fill(len(rest) + (1 << 16) if not self._buf else 1)
            if not self._buf:
                break
            cut = self._buf.find(b"\n")
            if cut >= 0:
                rest += self._buf[: cut + 1]
                del self._buf[: cut + 1]
                break
            rest += self._buf
            self._buf.clear()
        self.bytes_read += len(rest)
        return data + bytes(rest)


def sniff_format(head: bytes) -> str | None:
    """The format of data that starts with ``head`` (None when it cannot be told)."""
    for magic, fmt in _MAGIC:
        if head.startswith(magic):
            return fmt
    text = head.lstrip(b"\xef\xbb\xbf").lstrip()
    if not text:
        return None
    if text[:1] in (b"{", b"["):
        return "ndjson"
    first = text.split(b"\n", 1)[0]
    if b"\t" in first and b"," not in first:
        return "tsv"
    return "csv"


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
    head = stream.peek(8)
    for magic, codec in _COMPRESSION_MAGIC:
        if head.startswith(magic):
            import pyarrow as pa

            inner = pa.CompressedInputStream(pa.PythonFile(stream, mode="r"), codec)
            decompressed = ByteStream(inner, stream.name)
            decompressed.size = None
            decompressed.raw_progress = stream  # type: ignore[attr-defined]
            stream = decompressed
            head = stream.peek(8)
            break
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
        return _progress_bytes(self._stream)


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
                f"Cannot read '{stream.name}' as an Arrow IPC stream ({_first_line(exc)}); "
                "check --format-in."
            ) from None
        self.num_rows = None
        self.schema = self._reader.schema
        self.columns = list(self.schema.names)

    def bytes_read(self) -> int:
        return _progress_bytes(self._stream)


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
                f"Cannot read '{self.name}' as NPY ({_first_line(exc)}); the data may be "
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
        return _progress_bytes(self._stream)


def _progress_bytes(stream: ByteStream) -> int:
    """Bytes of the original input consumed (compressed bytes for compressed input)."""
    raw = getattr(stream, "raw_progress", stream)
    return int(raw.bytes_read)
