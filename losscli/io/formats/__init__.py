"""The format readers, one module per format (file and pipe variants together), and the
dispatch: :func:`open_source` opens a path (or ``-``) as a :class:`~losscli.io.base.Source`.

``-`` is standard input, read once, front to back, in chunks. :func:`open_stdin` picks the
source: CSV/TSV, NDJSON, Arrow IPC stream and NPY stream straight from the pipe, chunk by
chunk; Parquet and Arrow IPC *file* (Feather) need random access, so they are spooled to an
anonymous temporary file first (bounded by disk, not memory; ``TMPDIR`` chooses where).
A FIFO or ``<(cmd)`` (``/dev/fd/N``) is read the same way, and so is a compressed NPY,
Parquet or Feather file (CSV, TSV and NDJSON files are decompressed by their readers).

A folder, a quoted glob or a URI (``s3://bucket/preds/``, also one object) is a dataset
(:mod:`losscli.io.dataset`), read as one :class:`~losscli.io.formats.dataset.DatasetSource`
whose files are opened by :func:`open_file`: a local file as above, an object in storage
through pyarrow's filesystem (random access for Parquet, Feather and NPY; a stream for
CSV, TSV and NDJSON, compressed or not; a compressed binary object is decompressed into a
temporary file, as standard input is).

Every failure to open is an :class:`~losscli.errors.InputError` naming the input.
"""

from __future__ import annotations

import os
import stat
import sys
import tempfile
from typing import TYPE_CHECKING, Any

from losscli.errors import InputError
from losscli.io.base import TEXT_FORMATS, Source
from losscli.io.detect import could_be_magic, detect_format, sniff_format
from losscli.io.failures import first_line, foreign_errors
from losscli.io.formats.parquet import ParquetSource
from losscli.io.opening import (
    UTF8,
    check_codec,
    decompress,
    is_pipe,
    open_raw,
    transcode,
)
from losscli.io.stream import MAX_LINE, ByteStream, PipeReader, open_pipe
from losscli.vocab import INPUT_FORMATS

if TYPE_CHECKING:  # the other readers are imported where their format is opened
    from losscli.io.formats.dataset import DatasetSource
    from losscli.io.formats.feather import FeatherSource

STDIN = "-"
STDIN_NAME = "<stdin>"


def open_source(path: str, format_in: str | None = None, *, encoding: str | None = None,
                max_line_bytes: int | None = None, storage_options: Any = None,
                partitioning: str | None = None, literal: bool = False) -> Source:
    """Open ``path`` as a chunked source; ``format_in`` overrides the extension. ``-`` is
    standard input (:func:`open_stdin`). ``encoding``: of text input (default UTF-8);
    ``max_line_bytes``: the longest line a text reader takes (default 16 MiB). A folder, a
    glob or a URI is a dataset (:func:`open_dataset`; ``storage_options`` and
    ``partitioning`` apply to it). ``literal``: ``path`` is one file (a file found in a
    folder or by a pattern), never resolved again (:mod:`losscli.io.paths`)."""
    from losscli.io.dataset import is_dataset_spec

    encoding = encoding or UTF8
    max_line = max_line_bytes or MAX_LINE
    if path == STDIN:
        return open_stdin(format_in, encoding=encoding, max_line_bytes=max_line)
    if not literal and is_dataset_spec(path):
        return open_dataset(path, format_in, encoding=encoding, max_line_bytes=max_line,
                            storage_options=storage_options, partitioning=partitioning)
    fmt = format_in or detect_format(path)
    if fmt is not None and fmt not in INPUT_FORMATS:
        raise InputError(f"Unknown input format '{fmt}'; use one of: {', '.join(INPUT_FORMATS)}.")
    if not os.path.exists(path):
        raise InputError(f"File not found: '{path}'. Check the path and the working directory.")
    if os.path.isdir(path):
        raise InputError(f"'{path}' is a directory; give a {fmt or 'data'} file.")
    if is_pipe(path):  # a FIFO or <(cmd): read once, as standard input is
        try:
            reader = open_pipe(path)
        except OSError as exc:
            raise InputError(f"Cannot open '{path}': {exc.strerror or first_line(exc)}.") \
                from None
        return open_stream(ByteStream(reader, path), fmt, encoding=encoding,
                           max_line_bytes=max_line)
    if fmt is None:
        raise InputError(
            f"Cannot tell the format of '{path}' from its extension; "
            f"pass --format-in with one of: {', '.join(INPUT_FORMATS)}."
        )
    if not os.access(path, os.R_OK):
        raise InputError(f"Cannot read '{path}': permission denied. Check its permissions.")
    if fmt in ("csv", "tsv"):
        from losscli.io.formats.csv import CsvSource

        return CsvSource(path, fmt, encoding=encoding, max_line_bytes=max_line)
    if fmt == "ndjson":
        from losscli.io.formats.ndjson import NdjsonSource

        return NdjsonSource(path, fmt, encoding=encoding, max_line_bytes=max_line)
    with open(path, "rb") as f:
        head = f.read(8)
    if check_codec(path, head) is not None:  # a compressed binary file: decompress, stream
        raw = ByteStream(open_raw(path), path, os.path.getsize(path))
        return open_stream(raw, fmt, encoding=encoding, max_line_bytes=max_line)
    if fmt == "parquet":
        return ParquetSource(path, fmt)
    if fmt == "npy":
        from losscli.io.formats.npy import NpySource

        return NpySource(path, fmt)
    from losscli.io.formats.feather import FeatherSource

    return FeatherSource(path, fmt)


def open_dataset(spec: str, format_in: str | None = None, *, encoding: str = UTF8,
                 max_line_bytes: int = MAX_LINE, storage_options: Any = None,
                 partitioning: str | None = None) -> DatasetSource:
    """The data files ``spec`` names (:func:`losscli.io.dataset.discover`) as one source.
    Files whose format gives their row count from metadata (Parquet, Feather, NPY) are all
    opened now (on several threads from object storage); text files when first read."""
    from losscli.io.dataset import discover, parse_storage_options
    from losscli.io.formats.dataset import DatasetSource

    if format_in is not None and format_in not in INPUT_FORMATS:
        raise InputError(f"Unknown input format '{format_in}'; use one of: "
                         f"{', '.join(INPUT_FORMATS)}.")
    options = parse_storage_options(storage_options)
    dataset = discover(spec, partitioning=partitioning, storage_options=options,
                       format_in=format_in)
    fmt = format_in or dataset.format
    assert fmt is not None  # discover keeps only files whose format is known

    def opener(ref: Any) -> Source:
        return open_file(ref, fmt, encoding=encoding, max_line_bytes=max_line_bytes)

    source = DatasetSource(dataset, fmt, opener)
    if fmt not in TEXT_FORMATS:
        source.open_all()
    return source


def open_file(ref: Any, fmt: str, *, encoding: str = UTF8,
              max_line_bytes: int = MAX_LINE) -> Source:
    """One file of a dataset (a :class:`~losscli.io.dataset.FileRef`) as a source: a local
    file as :func:`open_source` opens it, an object in storage through its filesystem."""
    if ref.fs is None:
        return open_source(ref.path, fmt, encoding=encoding, max_line_bytes=max_line_bytes,
                           literal=True)
    from losscli.io.detect import is_compressed

    name = ref.display
    if fmt in ("csv", "tsv"):
        from losscli.io.formats.csv import CsvSource

        return CsvSource(name, fmt, encoding=encoding, max_line_bytes=max_line_bytes,
                         opener=ref.open_input_stream, size=ref.size)
    if fmt == "ndjson":
        from losscli.io.formats.ndjson import NdjsonSource

        return NdjsonSource(name, fmt, encoding=encoding, max_line_bytes=max_line_bytes,
                            opener=ref.open_input_stream, size=ref.size)
    if is_compressed(ref.relative):  # decompressed into a temporary file, as stdin is
        return open_stream(ByteStream(ref.open_input_stream(), name, ref.size), fmt,
                           encoding=encoding, max_line_bytes=max_line_bytes)
    if fmt == "parquet":
        return ParquetSource(name, fmt, opener=ref.open_input_file)
    if fmt == "npy":
        from losscli.io.formats.npy import NpySource

        return NpySource(name, fmt, opener=ref.open_input_file)
    from losscli.io.formats.feather import FeatherSource

    return FeatherSource(name, fmt, opener=ref.open_input_file)


def open_stdin(format_in: str | None = None, *, encoding: str = UTF8,
               max_line_bytes: int = MAX_LINE) -> Source:
    """Open standard input as a chunked source, detecting the format unless ``format_in``
    names it."""
    if sys.stdin is None or sys.stdin.closed:
        raise InputError("Standard input is closed; give a FILE instead of '-'.")
    raw: Any = getattr(sys.stdin, "buffer", sys.stdin)
    size = None
    try:
        fd = raw.fileno()
        st = os.fstat(fd)
        if stat.S_ISREG(st.st_mode):  # '< file.csv': the size is known, for progress
            size = st.st_size - os.lseek(fd, 0, os.SEEK_CUR)
        else:  # a pipe or terminal: read what has arrived, as it arrives
            raw = PipeReader(fd, keep=raw)
    except (OSError, ValueError, AttributeError):
        pass
    return open_stream(ByteStream(raw, STDIN_NAME, size), format_in, encoding=encoding,
                       max_line_bytes=max_line_bytes)


def open_stream(stream: ByteStream, format_in: str | None = None, *, encoding: str = UTF8,
                max_line_bytes: int = MAX_LINE) -> Source:
    """A source reading ``stream`` once; compressed input (gzip, bz2, zstd, lz4) is undone,
    text in another ``encoding`` transcoded to UTF-8."""
    head = stream.peek_head(8)
    if could_be_magic(head):
        head = stream.peek(8)
    codec = check_codec("", head)
    if codec is not None:
        stream = decompress(stream, codec)
        head = stream.peek(8)
    fmt = format_in
    if fmt is None:
        fmt = sniff_format(head)
        if fmt in TEXT_FORMATS or fmt is None:
            if encoding != UTF8:
                stream = transcode(stream, encoding)
            fmt = sniff_format(stream.peek_records(1 << 12, max_line_bytes))
        if fmt is None:
            where = ("No data on standard input" if stream.name == STDIN_NAME
                     else f"No data in '{stream.name}'")
            raise InputError(
                f"{where} ('{stream.name}' is empty): give a FILE, or pipe CSV, TSV, NDJSON, "
                "Arrow, NPY, Parquet or Feather data in (see --help)."
            )
    elif fmt in TEXT_FORMATS and encoding != UTF8:
        stream = transcode(stream, encoding)
    if fmt not in INPUT_FORMATS:
        raise InputError(f"Unknown input format '{fmt}'; use one of: {', '.join(INPUT_FORMATS)}.")
    if fmt in ("csv", "tsv"):
        from losscli.io.formats.csv import CsvStreamSource

        return CsvStreamSource(stream, fmt, max_line_bytes=max_line_bytes)
    if fmt == "ndjson":
        from losscli.io.formats.ndjson import NdjsonSource

        return NdjsonSource(stream, fmt, max_line_bytes=max_line_bytes)
    if fmt == "npy":
        from losscli.io.formats.npy import NpyStreamSource

        return NpyStreamSource(stream)
    if fmt in ("feather", "arrow") and not stream.peek(6).startswith(b"ARROW1"):
        from losscli.io.formats.feather import ArrowStreamSource

        return ArrowStreamSource(stream, fmt)
    return spool(stream, fmt)


def spool(stream: ByteStream, fmt: str) -> Source:
    """Copy the rest of ``stream`` to an anonymous temporary file and open that: Parquet and
    Arrow IPC files keep their index at the end. Disk, not memory, bounds the size."""
    try:
        tmp = tempfile.NamedTemporaryFile(prefix="losscli-stdin-", suffix=f".{fmt}")
    except OSError as exc:
        raise InputError(
            f"Cannot create a temporary file to spool {fmt} from '{stream.name}' "
            f"({exc.strerror}); set TMPDIR to a writable folder, or pass the file by name."
        ) from None
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
            f"Cannot spool {fmt} from '{stream.name}' to a temporary file ({exc.strerror}); "
            "free disk space, set TMPDIR to a larger disk, or pass the file by name."
        ) from None
    except BaseException:
        tmp.close()
        raise
    from losscli.io.formats.feather import FeatherSource

    opener = ParquetSource if fmt == "parquet" else FeatherSource
    try:
        source: ParquetSource | FeatherSource = opener(tmp.name, fmt)
    except InputError as exc:
        tmp.close()
        raise InputError(str(exc).replace(tmp.name, stream.name)) from None
    except foreign_errors() as exc:  # the readers translate theirs; this is a last guard
        tmp.close()
        raise InputError(f"Cannot read '{stream.name}' as {fmt}: {first_line(exc)}.") from None
    source.name = stream.name
    source.spooled = tmp  # deleted when the source is
    return source
