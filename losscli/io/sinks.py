"""Per-row output for ``--reduction none``: rows are written as they are computed.

A sink (:class:`losscli.io.base.Sink`) takes chunks of ``{"row": int64, label: float64,
...}`` and never holds more than one chunk. Formats: CSV (file or stdout), Parquet, NPY
(losses only: shape (n,) for one loss, (n, k) for k), and NDJSON. ``keys``: columns
written between ``row`` and the losses as they are (the ``--group-by`` columns: strings,
integers, booleans, dates, with nulls), typed by their numpy dtype.

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
from losscli.io.atomic import AtomicTarget, guard, is_special, os_reason
from losscli.io.base import Sink
from losscli.io.detect import detect_format
from losscli.vocab import SINK_FORMATS, STDOUT_SINK_FORMATS


def open_sink(path: str | None, labels: list[str], fmt: str | None = None, *,
              inputs: Iterable[str] = (), keys: Iterable[str] = ()) -> Sink:
    """Open a writer for ``path`` (``None`` or ``-``: stdout, CSV unless ``fmt`` says).

    A regular file (or a new one) is written to a temporary file beside it and renamed into
    place by ``close()`` only (:class:`AtomicSink`): ``discard()`` — on an error, Ctrl-C or
    SIGTERM — removes it and leaves any previous file intact. A FIFO, ``/dev/fd/N`` or a
    device is written directly (CSV unless its name has an extension). An output that is
    the same file as one of ``inputs`` (device and inode; symbolic links followed) is
    refused: writing it would destroy the input. Write failures (a full disk, a closed
    standard output) are :class:`OutputError` naming the output.
    """
    keys = list(keys)
    clash_names = [k for k in keys if k == "row" or k in labels]
    if clash_names:
        raise UsageError(f"--group-by column '{clash_names[0]}' has the name of a per-row "
                         "output column (row, or a loss); rename that column.")
    if path in (None, "-"):
        text = fmt or "csv"
        if text not in STDOUT_SINK_FORMATS:
            raise UsageError(
                f"Cannot write {text} per-row output to stdout; use --output FILE "
                "(.csv, .parquet, .npy) or --format csv/ndjson."
            )
        return GuardedSink(lambda: _text_sink(text, None, labels, _stdout_bytes(), keys),
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
    guard([("input", p) for p in inputs], {"--output": path})  # the one output guard
    if fmt == "npy" and keys:
        raise UsageError(f"--output '{path}': NPY holds the losses only, not the --group-by "
                         "columns; write .parquet, .csv or .ndjson to keep them.")
    if special:
        return GuardedSink(lambda: _file_sink(fmt, path, labels, keys), f"'{path}'")
    target = AtomicTarget(path, "--output")
    try:
        sink = GuardedSink(lambda: _file_sink(fmt, target.tmp, labels, keys), f"'{path}'")
    except BaseException:
        target.discard()
        raise
    return AtomicSink(sink, target)


def _stdout_bytes() -> IO[bytes]:
    stdout = sys.stdout
    if stdout is None:  # no file descriptor 1 at all
        raise OSError(errno.EBADF, "standard output is closed")
    return stdout.buffer


def _text_sink(fmt: str, path: str | None, labels: list[str], stream: IO[bytes] | None,
               keys: list[str]) -> Sink:
    if fmt == "ndjson":
        return NdjsonSink(path, labels, stream, keys)
    return CsvSink(path, labels, "\t" if fmt == "tsv" else ",", stream, keys)


def _file_sink(fmt: str, path: str, labels: list[str], keys: list[str]) -> Sink:
    if fmt in ("csv", "tsv", "ndjson"):
        return _text_sink(fmt, path, labels, None, keys)
    if fmt == "parquet":
        return ParquetSink(path, labels, keys)
    return NpySink(path, labels)


def _key_array(values: np.ndarray) -> Any:
    """A key column as Arrow, typed by its dtype alone (the same for every chunk)."""
    import pyarrow as pa

    kind = values.dtype.kind
    if kind == "O":
        return pa.array(values, pa.string(), from_pandas=True)
    if kind == "M":
        return pa.array(values.astype("datetime64[us]"), pa.timestamp("us"))
    return pa.array(values)


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


def labels_of(sink: object) -> list[str]:
    return list(getattr(sink, "labels", []))


class _TextSink:
    """A text writer's file (``path``) or stream (standard output: flushed after every
    chunk, so a reader of the pipe sees each as it is written; never closed)."""

    def __init__(self, path: str | None, labels: list[str], stream: IO[bytes] | None,
                 keys: list[str] | None = None) -> None:
        self.labels = labels
        self.keys = keys or []
        self._own = stream is None
        self._out: IO[bytes] = stream if stream is not None else open(path, "wb")  # type: ignore[arg-type]

    def _written(self) -> None:
        """A chunk is written: on a stream, pass it on now."""
        if not self._own:
            self._out.flush()

    def close(self) -> None:
        if self._own:
            self._out.close()
        else:
            self._out.flush()


class CsvSink(_TextSink):
    """CSV/TSV through pyarrow's writer (shortest round-trip floats, ~15x numpy's text)."""

    def __init__(self, path: str | None, labels: list[str], delimiter: str,
                 stream: IO[bytes] | None, keys: list[str] | None = None) -> None:
        import csv
        import io

        import pyarrow.csv as pacsv

        from losscli.present.text import printable

        super().__init__(path, labels, stream, keys)
        # on standard output, text from data is escaped like every printed string; a file
        # keeps the raw values (losscli.present.text)
        self._shown = (lambda x: x) if self._own else printable
        self._options = pacsv.WriteOptions(include_header=False, delimiter=delimiter)
        header = io.StringIO()
        csv.writer(header, delimiter=delimiter, lineterminator="\n").writerow(
            [self._shown(x) for x in ["row", *self.keys, *labels]])
        self._out.write(header.getvalue().encode())
        self._out.flush()

    def write(self, rows: np.ndarray, values: dict[str, np.ndarray]) -> None:
        import pyarrow as pa
        import pyarrow.csv as pacsv

        table = pa.Table.from_arrays(
            [pa.array(rows, pa.int64()),
             *(_key_array(values[k] if self._own or values[k].dtype.kind != "O" else np.array(
                 [v if not isinstance(v, str) else self._shown(v) for v in values[k]],
                 dtype=object)) for k in self.keys),
             *(pa.array(values[lb], pa.float64()) for lb in self.labels)],
            names=["row", *self.keys, *self.labels],
        )
        pacsv.write_csv(table, self._out, self._options)
        self._written()


class NdjsonSink(_TextSink):
    """NDJSON, one object a row (a non-finite value is null)."""

    def write(self, rows: np.ndarray, values: dict[str, np.ndarray]) -> None:
        from losscli.grouping import key_value

        cols = [values[label].tolist() for label in self.labels]
        keys = [[key_value(v) for v in values[k]] for k in self.keys]
        lines = []
        for i, row in enumerate(rows.tolist()):
            record: dict[str, Any] = {"row": row}
            for name, col in zip(self.keys, keys):
                record[name] = col[i]
            for label, col in zip(self.labels, cols):
                v = col[i]
                record[label] = v if v == v and abs(v) != float("inf") else None
            lines.append(json.dumps(record))
        self._out.write(("\n".join(lines) + "\n").encode())
        self._written()


class ParquetSink:
    """Parquet; with ``keys``, the schema is fixed by the first chunk's key dtypes (a
    column's dtype is the same for every chunk)."""

    def __init__(self, path: str, labels: list[str], keys: list[str] | None = None) -> None:
        self.labels = labels
        self.keys = keys or []
        self.path = path
        self._writer: Any = None
        if not self.keys:  # the schema is known: the file is valid even with no rows
            self._open(None)

    def _open(self, key_types: list[Any] | None) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        self._schema = pa.schema([("row", pa.int64()),
                                  *zip(self.keys, key_types or []),
                                  *((lb, pa.float64()) for lb in self.labels)])
        self._writer = pq.ParquetWriter(self.path, self._schema)

    def write(self, rows: np.ndarray, values: dict[str, np.ndarray]) -> None:
        import pyarrow as pa

        keys = [_key_array(values[k]) for k in self.keys]
        if self._writer is None:
            self._open([k.type for k in keys])
        arrays = [pa.array(rows, pa.int64()), *keys,
                  *(pa.array(values[lb], pa.float64()) for lb in self.labels)]
        self._writer.write_table(pa.Table.from_arrays(arrays, schema=self._schema))

    def close(self) -> None:
        if self._writer is None:  # no rows at all: strings for the keys
            import pyarrow as pa

            self._open([pa.string()] * len(self.keys))
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
