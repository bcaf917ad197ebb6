"""Arrow IPC: :class:`FeatherSource` reads a Feather v2 / Arrow IPC file (or an IPC stream
saved to a file), memory-mapped; :class:`ArrowStreamSource` an IPC stream from a pipe.

Memory: a file is mapped, and the pages already read are let go every ~64 MiB (see
:class:`_Mapping`), so a file of any size, even one huge record batch, is read in bounded
memory. A compressed batch (Feather's default is LZ4) is decompressed whole: then the
largest batch of the selected columns bounds memory (pyarrow writes 64K rows per batch
by default).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from losscli.errors import InputError
from losscli.io.arrow import (
    ListWidths,
    arrow_column,
    check_column_names,
    check_numeric_arrow_type,
    raw_values,
    schema_types,
    schema_values_per_row,
)
from losscli.io.base import raw_key
from losscli.io.failures import first_line, foreign_errors, unreadable
from losscli.io.stream import ByteStream, progress_bytes

#: Bytes of mapped data read between two releases of the pages already read.
RELEASE_EVERY = 16 << 20


def _count_rows(reader: Any) -> int:
    """Rows of an IPC file: from the batches' metadata (pyarrow 26's ``count_rows``), or,
    before pyarrow 26, by reading each batch in turn (one batch in memory at a time)."""
    count = getattr(reader, "count_rows", None)
    if count is not None:
        return int(count())
    return sum(int(reader.get_batch(i).num_rows) for i in range(reader.num_record_batches))


class _Mapping:
    """A file mapped read-only with :mod:`mmap` (pyarrow reads it without copies). Pages
    once read stay in the resident set of a plain mapping, so memory grew with the file
    (8M rows: 205 MB, 2M: 113 MB); :meth:`read` counts the bytes read and, every
    RELEASE_EVERY, drops the resident pages (``MADV_DONTNEED``). That is safe for a
    read-only file mapping: a page used again is read again from the file (page cache)."""

    def __init__(self, path: str) -> None:
        import mmap

        import pyarrow as pa

        with open(path, "rb") as f:
            self._map = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        self.buffer = pa.py_buffer(self._map)
        self._since = 0

    def read(self, n: int) -> None:
        import mmap

        self._since += n
        if self._since >= RELEASE_EVERY and hasattr(mmap, "MADV_DONTNEED"):
            self._since = 0
            self._map.madvise(mmap.MADV_DONTNEED)


class FeatherSource:
    """Arrow IPC (Feather v2) file or stream, memory-mapped, batch by batch.

    A local IPC *file* is split into units at its record batches (``split_points``), each
    read on its own. ``opener``: for a file in object storage, a function returning a new
    random-access pyarrow file (``path`` is then what messages show); such a file is read
    batch by batch, as one unit (its row count comes from the batches' metadata)."""

    size: int | None = None  # bytes read are not counted
    #: The temporary file standard input was spooled to, if it was; deleted with the source.
    spooled: Any = None
    rows_seekable = False

    def __init__(self, path: str, fmt: str = "feather", *, opener: Any = None) -> None:
        import pyarrow as pa

        self.name = path
        self.format = fmt
        self._mapping: _Mapping | None = None
        self._opener = opener
        self._batch_rows: list[int] | None = None
        try:
            if opener is not None:
                self._reader: Any = pa.ipc.open_file(opener())
                self.num_rows: int | None = _count_rows(self._reader)
            else:
                self._mapping = _Mapping(path)
                source = pa.BufferReader(self._mapping.buffer)
                try:
                    self._reader = pa.ipc.open_file(source)
                    self.num_rows = 0
                    self._batch_rows = []
                    for i in range(self._reader.num_record_batches):
                        batch = self._reader.get_batch(i)  # decompressed, when compressed
                        self.num_rows += batch.num_rows
                        self._batch_rows.append(batch.num_rows)
                        self._mapping.read(batch.nbytes)
                except foreign_errors():
                    self._reader = pa.ipc.open_stream(pa.BufferReader(self._mapping.buffer))
                    self.num_rows = None
                    self._batch_rows = None
            self.schema = self._reader.schema
        except foreign_errors() as exc:
            raise InputError(
                f"Cannot read '{path}' as Arrow IPC/Feather ({first_line(exc)}); the file "
                "may be corrupt, Feather v1, or of another format (use --format-in)."
            ) from None
        self._set_columns()

    def _set_columns(self) -> None:
        self.columns = check_column_names(self.name, list(self.schema.names))
        self._index = {c: i for i, c in enumerate(self.columns)}

    def bytes_read(self) -> int:
        return 0  # not counted (size is None): progress counts rows

    def column_types(self) -> dict[str, str]:
        types = schema_types(self.schema, list(self.schema.names))
        return {c: types[self.schema.names[i]] for c, i in self._index.items()}

    def values_per_row(self, column: str) -> int:
        i = self._index.get(column)
        return 1 if i is None else schema_values_per_row(self.schema, self.schema.names[i])

    def _batches(self) -> Iterator[Any]:
        if self._opener is not None:  # a new handle for each pass (a unit's thread)
            import pyarrow as pa

            reader = pa.ipc.open_file(self._opener())
            for i in range(reader.num_record_batches):
                yield reader.get_batch(i)
            return
        if hasattr(self._reader, "num_record_batches"):
            for i in range(self._reader.num_record_batches):
                yield self._reader.get_batch(i)
        else:
            yield from self._reader

    def chunks(self, columns: list[str], chunk_size: int,
               raw: tuple[str, ...] = ()) -> Iterator[dict[str, np.ndarray]]:
        yield from self._read(self._batches(), 0, columns, chunk_size, raw)

    def _read(self, batches: Iterator[Any], row: int, columns: list[str], chunk_size: int,
              raw: tuple[str, ...], start: int = 0, stop: int | None = None
              ) -> Iterator[dict[str, np.ndarray]]:
        """Chunks of ``batches`` (the first at row ``row``), rows ``start .. stop`` only."""
        for c in columns:
            check_numeric_arrow_type(self.name, c, self.schema.field(self._index[c]).type)
        widths = ListWidths(self.name)
        try:
            for batch in batches:
                lo = max(start - row, 0)
                hi = batch.num_rows if stop is None else min(stop - row, batch.num_rows)
                for first in range(lo, hi, chunk_size):
                    part = batch.slice(first, min(chunk_size, hi - first))
                    out = {c: arrow_column(widths, c, part.column(self._index[c]), row + first)
                           for c in columns}
                    for c in raw:
                        out[raw_key(c)] = raw_values(self.name, c, part.column(self._index[c]),
                                                     row + first)
                    yield out
                    if self._mapping is not None:
                        self._mapping.read(part.num_rows * 8 * (len(columns) + len(raw)))
                row += batch.num_rows
                if stop is not None and row >= stop:
                    return
        except InputError:
            raise
        except foreign_errors() as exc:
            raise InputError(unreadable(self.name, row, exc)) from None

    # -- units: record batches of a local IPC file ------------------------------------------
    @property
    def splittable(self) -> bool:
        """Whether its record batches can be read on their own: a local IPC file (not a
        stream, not an object read from storage)."""
        return self._batch_rows is not None

    def split_points(self) -> list[int]:
        """The first row of each record batch, and the row count."""
        points = [0]
        for n in self._batch_rows or [self.num_rows or 0]:
            points.append(points[-1] + n)
        return points

    def read_range(self, columns: list[str], start: int, stop: int, chunk_size: int,
                   raw: tuple[str, ...] = ()) -> Iterator[dict[str, np.ndarray]]:
        """Rows ``start .. stop``: the record batches that overlap them, trimmed at both
        ends, through a reader of its own (units read side by side on threads)."""
        import pyarrow as pa

        points = self.split_points()
        batches = [i for i in range(len(points) - 1) if points[i] < stop and points[i + 1] > start]
        if not batches:
            return
        if self._opener is not None:
            reader = pa.ipc.open_file(self._opener())
        else:
            assert self._mapping is not None
            reader = pa.ipc.open_file(pa.BufferReader(self._mapping.buffer))
        yield from self._read((reader.get_batch(i) for i in batches), points[batches[0]],
                              columns, chunk_size, raw, start, stop)


class ArrowStreamSource(FeatherSource):
    """An Arrow IPC *stream* from a pipe, record batch by record batch."""

    piped = True  # read once (losscli.io.base.Piped)

    def __init__(self, stream: ByteStream, fmt: str = "arrow") -> None:
        import pyarrow as pa

        self.name = stream.name
        self.format = fmt
        self._stream = stream
        self._mapping = None
        self._opener = None
        self._batch_rows = None
        self.size = stream.size
        try:
            self._reader = pa.ipc.open_stream(pa.PythonFile(stream, mode="r"))
            self.schema = self._reader.schema
        except InputError:
            raise
        except foreign_errors() as exc:
            raise InputError(
                f"Cannot read '{stream.name}' as an Arrow IPC stream ({first_line(exc)}); "
                "check --format-in."
            ) from None
        self.num_rows = None
        self._set_columns()

    def bytes_read(self) -> int:
        return progress_bytes(self._stream)
