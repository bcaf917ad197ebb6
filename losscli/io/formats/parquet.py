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
    schema_types,
    schema_values_per_row,
)
from losscli.io.failures import first_line, foreign_errors


class ParquetSource:
    """Parquet through ``ParquetFile.iter_batches``: row groups stream, only the selected
    columns are decoded."""

    size: int | None = None  # bytes read are not counted
    #: The temporary file standard input was spooled to, if it was; deleted with the source.
    spooled: Any = None

    def __init__(self, path: str, fmt: str = "parquet") -> None:
        import pyarrow.parquet as pq

        self.name = path
        self.format = fmt
        try:
            # pre_buffer=False: the default reads ahead without bound, so memory grew with
            # the file (1.8 GB at 100M rows); without it a row group at a time is buffered.
            # buffer_size: read each column chunk through a 1 MiB buffer, page by page;
            # unbuffered, a whole column chunk of the row group is read at once, and one
            # row group of 8M rows held 260 MB instead of 150 MB (2M rows: 160 / 134 MB).
            self._file = pq.ParquetFile(path, pre_buffer=False, buffer_size=1 << 20)
            self.schema = self._file.schema_arrow
            self.num_rows: int | None = int(self._file.metadata.num_rows)
        except foreign_errors() as exc:
            raise InputError(
                f"Cannot read '{path}' as Parquet ({first_line(exc)}); the file may be "
                "corrupt or of another format (use --format-in to say which)."
            ) from None
        self.columns = check_column_names(path, list(self.schema.names))
        self._keys = dict(zip(self.columns, self.schema.names))  # column -> name in the file

    def bytes_read(self) -> int:
        return 0  # not counted (size is None): progress counts rows

    def column_types(self) -> dict[str, str]:
        types = schema_types(self.schema, list(self._keys.values()))
        return {c: types[k] for c, k in self._keys.items()}

    def values_per_row(self, column: str) -> int:
        return schema_values_per_row(self.schema, self._keys.get(column, column))

    def chunks(self, columns: list[str], chunk_size: int) -> Iterator[dict[str, np.ndarray]]:
        for c in columns:
            check_numeric_arrow_type(self.name, c, self.schema.field(self._keys[c]).type)
        widths = ListWidths(self.name)
        start = 0
        try:
            # Decode in batches of about 2M values (fewer, larger reads: ~40% faster for
            # two columns); the alignment layer slices them into chunk_size views.
            scalar = not any(is_list_type(self.schema.field(self._keys[c]).type)
                             for c in columns)
            rows = max(chunk_size, (1 << 21) // len(columns)) if scalar else chunk_size
            # One decoding thread: the prefetch thread already runs the reader beside the
            # kernels, and pyarrow's own pool only competed with them for the two cores
            # (100M rows: 0.76-0.92 s instead of 0.90-0.94 s).
            for batch in self._file.iter_batches(batch_size=rows,
                                                 columns=[self._keys[c] for c in columns],
                                                 use_threads=False):
                yield {c: arrow_column(widths, c, batch.column(i), start)
                       for i, c in enumerate(columns)}
                start += batch.num_rows
        except foreign_errors() as exc:
            raise InputError(f"Cannot read '{self.name}' (after row {start}): "
                             f"{first_line(exc)}; the file may be truncated or corrupt.") from None

    rows_seekable = False

    def split_points(self) -> list[int]:
        """The first row of each row group, and the row count."""
        metadata = self._file.metadata
        points = [0]
        for i in range(metadata.num_row_groups):
            points.append(points[-1] + metadata.row_group(i).num_rows)
        return points

    def read_range(self, columns: list[str], start: int, stop: int,
                   chunk_size: int) -> Iterator[dict[str, np.ndarray]]:
        """Rows ``start .. stop``: the row groups that overlap them, in batches, trimmed at
        both ends. A fresh ParquetFile per call: units read side by side on threads."""
        import pyarrow.parquet as pq

        for c in columns:
            check_numeric_arrow_type(self.name, c, self.schema.field(self._keys[c]).type)
        points = self.split_points()
        groups = [i for i in range(len(points) - 1) if points[i] < stop and points[i + 1] > start]
        if not groups:
            return
        widths = ListWidths(self.name)
        row = points[groups[0]]
        try:
            scalar = not any(is_list_type(self.schema.field(self._keys[c]).type)
                             for c in columns)
            rows = max(chunk_size, (1 << 21) // len(columns)) if scalar else chunk_size
            handle = pq.ParquetFile(self.spooled.name if self.spooled is not None else self.name,
                                    pre_buffer=False, buffer_size=1 << 20)
            for batch in handle.iter_batches(batch_size=rows, row_groups=groups,
                                             columns=[self._keys[c] for c in columns],
                                             use_threads=False):
                lo, hi = max(start - row, 0), min(stop - row, batch.num_rows)
                if hi > lo:
                    part = batch.slice(lo, hi - lo)
                    yield {c: arrow_column(widths, c, part.column(i), row + lo)
                           for i, c in enumerate(columns)}
                row += batch.num_rows
                if row >= stop:
                    break
        except foreign_errors() as exc:
            raise InputError(f"Cannot read '{self.name}' (after row {row}): "
                             f"{first_line(exc)}; the file may be truncated or corrupt.") from None
