"""The format readers, one module per format (file and pipe variants together), and the
dispatch: :func:`open_source` opens a path (or ``-``) as a :class:`~losscli.io.base.Source`.

``-`` is standard input, read once, front to back, in chunks. :func:`open_stdin` picks the
source: CSV/TSV, NDJSON, Arrow IPC stream and NPY stream straight from the pipe, chunk by
chunk; Parquet and Arrow IPC *file* (Feather) need random access, so they are spooled to an
anonymous temporary file first (bounded by disk, not memory; ``TMPDIR`` chooses where).
"""

from __future__ import annotations

import os
import stat
import sys
import tempfile
from collections.abc import Callable

from losscli.errors import InputError
from losscli.io.base import Source
from losscli.io.detect import detect_format, sniff_compression, sniff_format
from losscli.io.formats.csv import CsvSource, CsvStreamSource
from losscli.io.formats.feather import ArrowStreamSource, FeatherSource
from losscli.io.formats.ndjson import NdjsonSource
from losscli.io.formats.npy import NpySource, NpyStreamSource
from losscli.io.formats.parquet import ParquetSource
from losscli.io.stream import ByteStream
from losscli.vocab import INPUT_FORMATS

STDIN = "-"
STDIN_NAME = "<stdin>"


def open_source(path: str, format_in: str | None = None) -> Source:
    """Open ``path`` as a chunked source; ``format_in`` overrides the extension. ``-`` is
    standard input (:func:`open_stdin`)."""
    if path == STDIN:
        return open_stdin(format_in)
    fmt = format_in or detect_format(path)
    if fmt is None:
        raise InputError(
            f"Cannot tell the format of '{path}' from its extension; "
            f"pass --format-in with one of: {', '.join(INPUT_FORMATS)}."
        )
    if fmt not in INPUT_FORMATS:
        raise InputError(f"Unknown input format '{fmt}'; use one of: {', '.join(INPUT_FORMATS)}.")
    if not os.path.exists(path):
        raise InputError(f"File not found: '{path}'. Check the path and the working directory.")
    if os.path.isdir(path):
        raise InputError(f"'{path}' is a directory; give a {fmt} file.")
    opener: dict[str, Callable[[str, str], Source]] = {
        "csv": CsvSource,
        "tsv": CsvSource,
        "parquet": ParquetSource,
        "npy": NpySource,
        "feather": FeatherSource,
        "arrow": FeatherSource,
        "ndjson": NdjsonSource,
    }
    return opener[fmt](path, fmt)


def open_stdin(format_in: str | None = None) -> Source:
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


def open_stream(stream: ByteStream, format_in: str | None = None) -> Source:
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
    if fmt not in INPUT_FORMATS:
        raise InputError(f"Unknown input format '{fmt}'; use one of: {', '.join(INPUT_FORMATS)}.")
    if fmt in ("csv", "tsv"):
        return CsvStreamSource(stream, fmt)
    if fmt == "ndjson":
        return NdjsonSource(stream, fmt)
    if fmt == "npy":
        return NpyStreamSource(stream)
    if fmt in ("feather", "arrow") and not stream.peek(6).startswith(b"ARROW1"):
        return ArrowStreamSource(stream, fmt)
    return spool(stream, fmt)


def spool(stream: ByteStream, fmt: str) -> Source:
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
    opener = ParquetSource if fmt == "parquet" else FeatherSource
    try:
        source: ParquetSource | FeatherSource = opener(tmp.name, fmt)
    except InputError as exc:
        tmp.close()
        raise InputError(str(exc).replace(tmp.name, stream.name)) from None
    source.name = stream.name
    source.spooled = tmp  # deleted when the source is
    return source
