"""Arrow IPC: :class:`FeatherSource` reads a Feather v2 / Arrow IPC file (or an IPC stream
saved to a file), memory-mapped; :class:`ArrowStreamSource` an IPC stream from a pipe."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from losscli.errors import InputError
from losscli.io.arrow import (
    ListWidths,
    arrow_column,
    check_numeric_arrow_type,
    first_line,
    schema_types,
    schema_values_per_row,
)
from losscli.io.stream import ByteStream, progress_bytes


class FeatherSource:
    """Arrow IPC (Feather v2) file or stream, memory-mapped, batch by batch."""

    size: int | None = None  # bytes read are not counted
    #: The temporary file standard input was spooled to, if it was; deleted with the source.
    spooled: Any = None

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

    def bytes_read(self) -> int:
        return 0  # not counted (size is None): progress counts rows

    def column_types(self) -> dict[str, str]:
        return schema_types(self.schema, self.columns)

    def values_per_row(self, column: str) -> int:
        return schema_values_per_row(self.schema, column)

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
