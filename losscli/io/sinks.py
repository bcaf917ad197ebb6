"""Per-row output for ``--reduction none``: rows are written as they are computed.

A sink (:class:`losscli.io.base.Sink`) takes chunks of ``{"row": int64, label: float64,
...}`` and never holds more than one chunk. Formats: CSV (file or stdout), Parquet, NPY
(losses only: shape (n,) for one loss, (n, k) for k), and NDJSON.
"""

from __future__ import annotations

import json
import os
import struct
import sys
from typing import IO, Any

import numpy as np

from losscli.errors import UsageError
from losscli.io.base import Sink
from losscli.io.detect import detect_format
from losscli.vocab import SINK_FORMATS, STDOUT_SINK_FORMATS


def open_sink(path: str | None, labels: list[str], fmt: str | None = None) -> Sink:
    """Open a writer for ``path`` (``None`` or ``-``: stdout, CSV unless ``fmt`` says)."""
    if path in (None, "-"):
        fmt = fmt or "csv"
        if fmt not in STDOUT_SINK_FORMATS:
            raise UsageError(
                f"Cannot write {fmt} per-row output to stdout; use --output FILE "
                "(.csv, .parquet, .npy) or --format csv/ndjson."
            )
        stream = sys.stdout.buffer
    else:
        fmt = fmt or (
            "ndjson" if path.lower().endswith((".ndjson", ".jsonl")) else detect_format(path)
        )
        if fmt not in SINK_FORMATS:
            raise UsageError(
                f"Cannot tell the output format of '{path}'; use an extension among "
                ".csv, .tsv, .parquet, .npy, .ndjson."
            )
        directory = os.path.dirname(os.path.abspath(path))
        if not os.path.isdir(directory):
            raise UsageError(f"Cannot write '{path}': folder '{directory}' does not exist.")
        stream = None
    if fmt in ("csv", "tsv"):
        return CsvSink(path, labels, "\t" if fmt == "tsv" else ",", stream)
    if fmt == "ndjson":
        return NdjsonSink(path, labels, stream)
    assert path is not None  # stdout takes only the text formats above
    if fmt == "parquet":
        return ParquetSink(path, labels)
    return NpySink(path, labels)


class CsvSink:
    """CSV/TSV through pyarrow's writer (shortest round-trip floats, ~15x numpy's text)."""

    def __init__(self, path: str | None, labels: list[str], delimiter: str,
                 stream: IO[bytes] | None) -> None:
        import csv
        import io

        import pyarrow as pa
        import pyarrow.csv as pacsv

        self.labels = labels
        self._own = stream is None
        self._out: IO[bytes] = stream if stream is not None else open(path, "wb")  # type: ignore[arg-type]
        self._schema = pa.schema([("row", pa.int64())] + [(lb, pa.float64()) for lb in labels])
        self._options = pacsv.WriteOptions(include_header=False, delimiter=delimiter)
        header = io.StringIO()
        csv.writer(header, delimiter=delimiter, lineterminator="\n").writerow(["row", *labels])
        self._out.write(header.getvalue().encode())
        self._out.flush()

    def write(self, rows: np.ndarray, values: dict[str, np.ndarray]) -> None:
        import pyarrow as pa
        import pyarrow.csv as pacsv

        table = pa.Table.from_arrays(
            [pa.array(rows, pa.int64())] + [pa.array(values[lb]) for lb in self.labels],
            schema=self._schema,
        )
        pacsv.write_csv(table, self._out, self._options)
        if not self._own:
            self._out.flush()

    def close(self) -> None:
        if self._own:
            self._out.close()
        else:
            self._out.flush()


class NdjsonSink:
    def __init__(self, path: str | None, labels: list[str], stream: IO[bytes] | None) -> None:
        self.labels = labels
        self._own = stream is None
        self._out: IO[bytes] = stream if stream is not None else open(path, "wb")  # type: ignore[arg-type]

    def write(self, rows: np.ndarray, values: dict[str, np.ndarray]) -> None:
        cols = [values[label].tolist() for label in self.labels]
        lines = []
        for i, row in enumerate(rows.tolist()):
            record: dict[str, Any] = {"row": row}
            for label, col in zip(self.labels, cols):
                v = col[i]
                record[label] = v if v == v and abs(v) != float("inf") else None
            lines.append(json.dumps(record))
        self._out.write(("\n".join(lines) + "\n").encode())
        if not self._own:
            self._out.flush()

    def close(self) -> None:
        if self._own:
            self._out.close()
        else:
            self._out.flush()


class ParquetSink:
    def __init__(self, path: str, labels: list[str]) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        self.labels = labels
        self._schema = pa.schema([("row", pa.int64())] + [(lb, pa.float64()) for lb in labels])
        self._writer = pq.ParquetWriter(path, self._schema)

    def write(self, rows: np.ndarray, values: dict[str, np.ndarray]) -> None:
        import pyarrow as pa

        arrays = [pa.array(rows, pa.int64())] + [pa.array(values[lb]) for lb in self.labels]
        self._writer.write_table(pa.Table.from_arrays(arrays, schema=self._schema))

    def close(self) -> None:
        self._writer.close()


class NpySink:
    """NPY written in one pass: a fixed-size header is rewritten with the final shape."""

    _HEADER = 128

    def __init__(self, path: str, labels: list[str]) -> None:
        self.labels = labels
        self.rows = 0
        self._out = open(path, "wb")
        self._out.write(self._header(0))

    def _header(self, n: int) -> bytes:
        shape = (n,) if len(self.labels) == 1 else (n, len(self.labels))
        text = f"{{'descr': '<f8', 'fortran_order': False, 'shape': {shape}, }}"
        room = self._HEADER - 10 - 1
        return b"\x93NUMPY\x01\x00" + struct.pack("<H", self._HEADER - 10) + (
            text.ljust(room) + "\n").encode("latin1")

    def write(self, rows: np.ndarray, values: dict[str, np.ndarray]) -> None:
        block = np.column_stack([values[lb] for lb in self.labels]).astype("<f8")
        self._out.write(np.ascontiguousarray(block).tobytes())
        self.rows += len(rows)

    def close(self) -> None:
        self._out.seek(0)
        self._out.write(self._header(self.rows))
        self._out.close()
