"""Per-row output for ``--reduction none``: rows are written as they are computed.

A sink (:class:`losscli.io.base.Sink`) takes chunks of ``{"row": int64, label: float64,
...}`` and never holds more than one chunk. Formats: CSV (file or stdout), Parquet, NPY
(losses only: shape (n,) for one loss, (n, k) for k), and NDJSON.

A file output is written like ``check --save``: to a temporary file beside it, renamed into
place only when the run succeeds (:func:`open_sink`); the caller calls ``close()`` on
success and ``discard()`` on failure.
"""

from __future__ import annotations

import errno
import json
import os
import struct
import sys
from collections.abc import Callable, Iterable
from typing import IO, Any

import numpy as np

from losscli.errors import OutputError, UsageError
from losscli.io.atomic import AtomicTarget, is_special, os_reason, same_file_as
from losscli.io.base import Sink
from losscli.io.detect import detect_format
from losscli.vocab import SINK_FORMATS, STDOUT_SINK_FORMATS


def open_sink(path: str | None, labels: list[str], fmt: str | None = None, *,
              inputs: Iterable[str] = ()) -> Sink:
    """Open a writer for ``path`` (``None`` or ``-``: stdout, CSV unless ``fmt`` says).

    A regular file (or a new one) is written to a temporary file beside it and renamed into
    place by ``close()`` only (:class:`AtomicSink`): ``discard()`` — on an error, Ctrl-C or
    SIGTERM — removes it and leaves any previous file intact. A FIFO, ``/dev/fd/N`` or a
    device is written directly (CSV unless its name has an extension). An output that is
    the same file as one of ``inputs`` (device and inode; symbolic links followed) is
    refused: writing it would destroy the input. Write failures (a full disk, a closed
    standard output) are :class:`OutputError` naming the output.
    """
    if path in (None, "-"):
        text = fmt or "csv"
        if text not in STDOUT_SINK_FORMATS:
            raise UsageError(
                f"Cannot write {text} per-row output to stdout; use --output FILE "
                "(.csv, .parquet, .npy) or --format csv/ndjson."
            )
        return GuardedSink(lambda: _text_sink(text, None, labels, _stdout_bytes()),
                           "standard output")
    special = is_special(path)
    fmt = fmt or (
        "ndjson" if path.lower().endswith((".ndjson", ".jsonl")) else detect_format(path)
    ) or ("csv" if special else None)
    if os.path.isdir(path):
        raise UsageError(f"Cannot write --output '{path}': it is a directory; give a file name.")
    if fmt not in SINK_FORMATS:
        raise UsageError(
            f"Cannot tell the output format of '{path}'; use an extension among "
            ".csv, .tsv, .parquet, .npy, .ndjson."
        )
    clash = same_file_as(path, inputs)
    if clash is not None:
        raise UsageError(
            f"--output '{path}' is the input file '{clash}': writing the per-row losses there "
            "would destroy the input. Give another --output file."
        )
    if special:
        return GuardedSink(lambda: _file_sink(fmt, path, labels), f"'{path}'")
    target = AtomicTarget(path, "--output")
    try:
        sink = GuardedSink(lambda: _file_sink(fmt, target.tmp, labels), f"'{path}'")
    except BaseException:
        target.discard()
        raise
    return AtomicSink(sink, target)


def _stdout_bytes() -> IO[bytes]:
    stdout = sys.stdout
    if stdout is None:  # no file descriptor 1 at all
        raise OSError(errno.EBADF, "standard output is closed")
    return stdout.buffer


def _text_sink(fmt: str, path: str | None, labels: list[str], stream: IO[bytes] | None) -> Sink:
    if fmt == "ndjson":
        return NdjsonSink(path, labels, stream)
    return CsvSink(path, labels, "\t" if fmt == "tsv" else ",", stream)


def _file_sink(fmt: str, path: str, labels: list[str]) -> Sink:
    if fmt in ("csv", "tsv", "ndjson"):
        return _text_sink(fmt, path, labels, None)
    if fmt == "parquet":
        return ParquetSink(path, labels)
    return NpySink(path, labels)


class GuardedSink:
    """A sink whose OS errors (a full disk, a closed or vanished standard output) become
    one :class:`OutputError` naming ``where``. A broken pipe on standard output stays a
    BrokenPipeError: the reader went away (``| head``), which is not an error."""

    def __init__(self, make: Callable[[], Sink], where: str) -> None:
        self.where = where
        self.sink: Sink | None = None
        self.sink = self._guard(make)
        self.labels = labels_of(self.sink)

    def _guard(self, call: Callable[[], Any]) -> Any:
        try:
            return call()
        except BrokenPipeError:
            if self.where == "standard output":
                raise
            raise OutputError(f"Cannot write {self.where}: its reader went away (broken "
                              "pipe).") from None
        except OSError as exc:
            to = "to standard output" if self.where == "standard output" else self.where
            raise OutputError(f"Cannot write {to}: {os_reason(exc)}.") from None

    def write(self, rows: np.ndarray, values: dict[str, np.ndarray]) -> None:
        sink = self.sink
        assert sink is not None
        self._guard(lambda: sink.write(rows, values))

    def close(self) -> None:
        sink, self.sink = self.sink, None
        if sink is not None:
            self._guard(sink.close)

    def discard(self) -> None:
        """Close without caring whether the last bytes got out (the output is abandoned)."""
        try:
            self.close()
        except (OutputError, BrokenPipeError):
            pass


class AtomicSink:
    """A file sink on the temporary file of an :class:`AtomicTarget`: :meth:`close`
    finishes it and renames it over the target; :meth:`discard` removes it."""

    def __init__(self, sink: GuardedSink, target: AtomicTarget) -> None:
        self.sink = sink
        self.target = target
        self.labels = sink.labels

    @property
    def tmp(self) -> str:
        return self.target.tmp

    def write(self, rows: np.ndarray, values: dict[str, np.ndarray]) -> None:
        self.sink.write(rows, values)

    def close(self) -> None:
        try:
            self.sink.close()
            self.target.commit()
        finally:
            self.target.discard()  # a no-op once committed

    def discard(self) -> None:
        try:
            self.sink.discard()
        finally:
            self.target.discard()


def labels_of(sink: Any) -> list[str]:
    return list(getattr(sink, "labels", []))


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
