"""Parquet files (standard input is spooled to a temporary file first: the index is at the
end)."""

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
    is_list_type,
    raw_values,
    schema_types,
    schema_values_per_row,
)
from losscli.io.base import raw_key
from losscli.io.failures import first_line, foreign_errors, unreadable

#: Values decoded per Arrow batch, all columns together (16 MB of float64). Arrow holds about
#: two and a half batches per thread decoding (the reader keeps the previous batch until
#: the next is made) and their float64 conversions. Smaller batches hold less but cost the
#: reader more per batch; measured from a wheel in alternating rounds (2 cores, with the
#: command's system allocator for Arrow and the release after the scan): 10M-row exact
#: roc_auc peaked at 262 MB with 2**19, 272-276 with 2**20, 282 with 2**21 (the state is
#: 80 MB of it), while 100M rows of two columns took 2.60 / 2.52 / 2.34 CPU-s (1.49 / 1.48 /
#: 1.38 s wall): 2**21 keeps the scan's speed and the AUC within 300 MB. A batch is still at
#: least a chunk, so the kernels see the same chunks and the same bits.
BATCH_VALUES = 1 << 21


class ParquetSource:
    """Parquet through ``ParquetFile.iter_batches``: row groups stream, only the selected
    columns are decoded.

    ``opener``: for a file in object storage, a function returning a new random-access
    pyarrow file each time (``path`` is then what messages show); the row groups a read
    needs are then fetched whole, in coalesced requests (``pre_buffer``), one group at a
    time."""

    size: int | None = None  # bytes read are not counted
    #: The temporary file standard input was spooled to, if it was; deleted with the source.
    spooled: Any = None

    def __init__(self, path: str, fmt: str = "parquet", *, opener: Any = None) -> None:
        self.name = path
        self.format = fmt
        self._opener = opener
        try:
            self._file: Any = self._open()
            self.schema = self._file.schema_arrow
            self.num_rows: int | None = int(self._file.metadata.num_rows)
            self._metadata = self._file.metadata
        except InputError:
            raise
        except foreign_errors() as exc:
            raise InputError(
                f"Cannot read '{path}' as Parquet ({first_line(exc)}); the file may be "
                "corrupt or of another format (use --format-in to say which)."
            ) from None
        self.columns = check_column_names(path, list(self.schema.names))
        self._keys = dict(zip(self.columns, self.schema.names))  # column -> name in the file

    def _open(self, dictionary: list[str] | None = None) -> Any:
        """A new ParquetFile of this source (each thread reading a range opens its own);
        ``dictionary``: columns to read as Arrow dictionaries (see :meth:`_categories`)."""
        import pyarrow.parquet as pq

        if self._opener is not None:
            return pq.ParquetFile(self._opener(), pre_buffer=True, read_dictionary=dictionary,
                                  metadata=getattr(self, "_metadata", None))
        # pre_buffer=False: the default reads ahead without bound, so memory grew with
        # the file (1.8 GB at 100M rows); without it a row group at a time is buffered.
        # buffer_size: read each column chunk through a 1 MiB buffer, page by page;
        # unbuffered, a whole column chunk of the row group is read at once, and one
        # row group of 8M rows held 260 MB instead of 150 MB (2M rows: 160 / 134 MB).
        path = self.spooled.name if self.spooled is not None else self.name
        return pq.ParquetFile(path, pre_buffer=False, buffer_size=1 << 20,
                              read_dictionary=dictionary,
                              metadata=getattr(self, "_metadata", None))

    #: A text column whose dictionary page (in the first row group) is at most this big is
    #: read as an Arrow dictionary: categories (countries, products, days) rather than ids.
    _CATEGORY_DICTIONARY = 64 << 10

    def _categories(self, raw: tuple[str, ...]) -> list[str] | None:
        """The raw text columns stored dictionary-encoded with a small dictionary: read as
        Arrow dictionaries, their rows are never decoded one string at a time (group keys
        are coded from the dictionary indices; reading and converting 10M rows of a
        100-value key on one thread: 0.81 s -> 0.53 s). Ids and other high-cardinality text
        are read as plain strings."""
        import pyarrow as pa

        out = []
        metadata = self._metadata
        if metadata is None or metadata.num_row_groups == 0:
            return None
        group = metadata.row_group(0)
        paths = {group.column(i).path_in_schema: i for i in range(group.num_columns)}
        for c in raw:
            name = self._keys.get(c, c)
            t = self.schema.field(name).type if name in self.schema.names else None
            if t is None or not (pa.types.is_string(t) or pa.types.is_large_string(t)):
                continue
            if name not in paths:
                continue
            chunk = group.column(paths[name])
            if chunk.has_dictionary_page and 0 <= (
                    chunk.data_page_offset - chunk.dictionary_page_offset
            ) <= self._CATEGORY_DICTIONARY:
                out.append(name)
        return out or None

    def release(self) -> None:
        """Close the file handle held since opening (a dataset of many parts keeps its
        parts' metadata, not one open file each); reads open their own."""
        if self._file is not None:
            self._file.close()
            self._file = None

    def _selected(self, columns: list[str], raw: tuple[str, ...]) -> list[str]:
        """The names in the file of the columns to decode (float and raw), checked."""
        for c in columns:
            check_numeric_arrow_type(self.name, c, self.schema.field(self._keys[c]).type)
        return list(dict.fromkeys(self._keys[c] for c in (*columns, *raw)))

    def _convert(self, batch: Any, names: list[str], columns: list[str],
                 raw: tuple[str, ...], widths: ListWidths, row: int
                 ) -> dict[str, np.ndarray]:
        index = {n: i for i, n in enumerate(names)}
        out = {c: arrow_column(widths, c, batch.column(index[self._keys[c]]), row)
               for c in columns}
        for c in raw:
            out[raw_key(c)] = raw_values(self.name, c, batch.column(index[self._keys[c]]), row)
        return out

    def bytes_read(self) -> int:
        return 0  # not counted (size is None): progress counts rows

    def column_types(self) -> dict[str, str]:
        types = schema_types(self.schema, list(self._keys.values()))
        return {c: types[k] for c, k in self._keys.items()}

    def values_per_row(self, column: str) -> int:
        return schema_values_per_row(self.schema, self._keys.get(column, column))

    def chunks(self, columns: list[str], chunk_size: int,
               raw: tuple[str, ...] = ()) -> Iterator[dict[str, np.ndarray]]:
        if raw or self._file is None or self._opener is not None:
            yield from self.read_range(columns, 0, self.num_rows or 0, chunk_size, raw)
            return
        for c in columns:
            check_numeric_arrow_type(self.name, c, self.schema.field(self._keys[c]).type)
        widths = ListWidths(self.name)
        start = 0
        try:
            # Decode in batches of BATCH_VALUES (see there); the alignment layer slices them
            # into chunk_size views.
            rows = self._batch_rows(columns, len(columns), chunk_size)
            # One decoding thread: the prefetch thread already runs the reader beside the
            # kernels, and pyarrow's own pool only competed with them for the two cores
            # (100M rows: 0.76-0.92 s instead of 0.90-0.94 s).
            names = [self._keys[c] for c in columns]
            groups = self._metadata.num_row_groups
            # The first row group in chunks: the task is detected from the first rows
            # (Inputs.peek), and a split input reads them again in its units, so only one
            # chunk of it is decoded for nothing instead of a whole batch (a row group of
            # 1M rows: 9 ms and 16 MB of fresh memory at the start of every run).
            for run, size in (([0], chunk_size), (list(range(1, groups)), rows)):
                if not run or not groups:
                    continue
                for batch in self._file.iter_batches(batch_size=size, row_groups=run,
                                                     columns=names, use_threads=False):
                    yield {c: arrow_column(widths, c, batch.column(i), start)
                           for i, c in enumerate(columns)}
                    start += batch.num_rows
        except foreign_errors() as exc:
            raise InputError(unreadable(self.name, start, exc)) from None

    def _batch_rows(self, columns: list[str], decoded: int, chunk_size: int) -> int:
        """Rows per decoded batch: about :data:`BATCH_VALUES` values over the ``decoded``
        columns (list columns: a chunk), at least a chunk."""
        if any(is_list_type(self.schema.field(self._keys[c]).type) for c in columns):
            return chunk_size
        return max(chunk_size, BATCH_VALUES // max(decoded, 1))

    rows_seekable = False

    def split_points(self) -> list[int]:
        """The first row of each row group, and the row count."""
        metadata = self._metadata
        points = [0]
        for i in range(metadata.num_row_groups):
            points.append(points[-1] + metadata.row_group(i).num_rows)
        return points

    def read_range(self, columns: list[str], start: int, stop: int, chunk_size: int,
                   raw: tuple[str, ...] = ()) -> Iterator[dict[str, np.ndarray]]:
        """Rows ``start .. stop``: the row groups that overlap them, in batches, trimmed at
        both ends. A fresh ParquetFile per call: units read side by side on threads."""
        names = self._selected(columns, raw)
        points = self.split_points()
        groups = [i for i in range(len(points) - 1) if points[i] < stop and points[i + 1] > start]
        if not groups:
            return
        widths = ListWidths(self.name)
        row = points[groups[0]]
        try:
            rows = self._batch_rows(columns, len(names), chunk_size)
            handle = self._open(self._categories(raw)) if raw else self._open()
            # From object storage, one row group per request batch: pre-buffering all the
            # groups of a range at once would hold them all in memory.
            runs = [[g] for g in groups] if self._opener is not None else [groups]
            for run in runs:
                for batch in handle.iter_batches(batch_size=rows, row_groups=run,
                                                 columns=names, use_threads=False):
                    lo, hi = max(start - row, 0), min(stop - row, batch.num_rows)
                    if hi > lo:
                        part = batch.slice(lo, hi - lo)
                        yield self._convert(part, names, columns, raw, widths, row + lo)
                    row += batch.num_rows
                    if row >= stop:
                        return
        except InputError:
            raise
        except foreign_errors() as exc:
            raise InputError(unreadable(self.name, row, exc)) from None
