"""Where records end in text: at a line end (``\\n``, ``\\r\\n`` or a lone ``\\r``), and in
CSV only outside quoted fields, as pyarrow's parser reads them.

pyarrow's rules (``quoting``, ``double_quote``): a field that starts with a quote runs to
the next quote that is not doubled (``""`` is a quote inside it; delimiters and line ends
are part of it), then on to the delimiter; a quote anywhere else (``5"`` for inches) is an
ordinary character. Counting quotes is not enough (an inch mark would flip the count), and
a Python loop over the bytes is slow, so the quotes are taken in runs of consecutive quotes,
each of which leaves the quote state as it was, toggles it, or closes any quoted field; the
state at any position then follows from cumulative sums (numpy, about 30 ms per 8 MB
block, and nothing at all for a block without quotes).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

QUOTE = ord('"')
LINE_ENDS = (ord("\n"), ord("\r"))


def _line_ends(arr: np.ndarray) -> np.ndarray:
    return np.flatnonzero((arr == LINE_ENDS[0]) | (arr == LINE_ENDS[1]))


class _QuoteState:
    """Whether each position of ``data`` lies inside a quoted field (``data`` starts at a
    record boundary)."""

    def __init__(self, arr: np.ndarray, delimiter: int) -> None:
        quotes = np.flatnonzero(arr == QUOTE)
        first = np.diff(quotes, prepend=-2) != 1  # the first quote of each run
        starts = quotes[first]
        lengths = np.diff(np.append(np.flatnonzero(first), len(quotes)))
        before = arr[np.maximum(starts - 1, 0)]
        at_field_start = (starts == 0) | (before == delimiter) | (before == LINE_ENDS[0]) | (
            before == LINE_ENDS[1])
        odd = lengths % 2 == 1
        # A run at a field start of odd length opens a field outside one and closes it
        # inside (toggle); any other run of odd length closes a quoted field, if in one
        # (reset); runs of even length are doubled quotes, or an empty field "" (no change).
        toggle = at_field_start & odd
        reset = ~at_field_start & odd
        count = np.cumsum(toggle)
        index = np.arange(len(starts))
        last_reset = np.maximum.accumulate(np.where(reset, index, -1))
        since = count - np.where(last_reset >= 0, count[np.maximum(last_reset, 0)], 0)
        self.starts = starts
        self.inside_after = since % 2 == 1  # inside a quoted field after run k

    def inside(self, positions: np.ndarray) -> np.ndarray:
        """For each position, whether it lies inside a quoted field."""
        k = np.searchsorted(self.starts, positions, side="right") - 1
        return np.where(k >= 0, self.inside_after[np.maximum(k, 0)], False)


def record_end(data: bytes | bytearray, end: int, delimiter: bytes | None) -> int:
    """The index just past the last record end in ``data[:end]``, or 0 when there is none.
    Without a CSV ``delimiter`` a record is a line."""
    nl = max(data.rfind(b"\n", 0, end), data.rfind(b"\r", 0, end))
    if nl < 0 or delimiter is None or data.find(b'"', 0, end) < 0:
        return nl + 1
    arr = np.frombuffer(data, dtype=np.uint8, count=min(end, len(data)))
    state = _QuoteState(arr, delimiter[0])
    tail = 1 << 16  # the line ends near the end first: usually the last one is it
    while True:
        ends = _line_ends(arr[-tail:]) + max(len(arr) - tail, 0)
        outside = ends[~state.inside(ends)]
        if len(outside):
            return int(outside[-1]) + 1
        if tail >= len(arr):
            return 0
        tail *= 4


def first_record_end(data: bytes, delimiter: bytes | None) -> int:
    """The index just past the first non-blank record of ``data`` (blank lines before it
    included; ``\\r\\n`` is one line end), or ``len(data)`` when it does not end."""
    arr: Any = np.frombuffer(data, dtype=np.uint8)
    ends = _line_ends(arr)
    if delimiter is not None and data.find(b'"') >= 0:
        ends = ends[~_QuoteState(arr, delimiter[0]).inside(ends)]
    start = 0
    for nl in ends.tolist():
        stop = nl + 2 if data[nl:nl + 2] == b"\r\n" else nl + 1
        if data[start:nl].strip():
            return stop
        start = stop
    return len(data)


# -- counting records ahead of reading: where a text file may be cut into units ---------------

WHITESPACE = (ord(" "), ord("\t"))


class Unsafe(Exception):
    """A text file that cannot be cut into units safely (a record longer than the longest
    line read, a lone ``\\r`` in NDJSON): it is read as one stream, whose reader reports
    what is wrong, if anything."""


def _terminators(arr: np.ndarray, delimiter: int | None, ndjson: bool
                 ) -> tuple[np.ndarray, np.ndarray]:
    """(position of each record's line-end byte, where that line end starts) in ``arr``,
    which starts at a record boundary: ``\\n``, ``\\r\\n`` (one line end, starting at the
    ``\\r``) and, in CSV, a lone ``\\r``; in CSV, only those outside quoted fields."""
    nl = np.flatnonzero(arr == LINE_ENDS[0])
    has_cr = bool(np.count_nonzero(arr == LINE_ENDS[1]))
    has_quote = delimiter is not None and bool(np.count_nonzero(arr == QUOTE))
    if not has_cr and not has_quote:
        return nl, nl
    if has_cr:
        cr = np.flatnonzero(arr == LINE_ENDS[1])
        after = np.minimum(cr + 1, len(arr) - 1)
        lone = cr[(cr + 1 >= len(arr)) | (arr[after] != LINE_ENDS[0])]
        if ndjson:
            if len(lone):
                raise Unsafe("a lone \\r line end")
            ends = nl
        else:
            ends = np.sort(np.concatenate([nl, lone]))
        before = np.maximum(ends - 1, 0)
        starts = np.where((arr[ends] == LINE_ENDS[0]) & (ends > 0)
                          & (arr[before] == LINE_ENDS[1]), ends - 1, ends)
    else:
        ends = starts = nl
    if has_quote:
        assert delimiter is not None
        outside = ~_QuoteState(arr, delimiter).inside(ends)
        ends, starts = ends[outside], starts[outside]
    return ends, starts


def record_starts(data: Any, delimiter: bytes | None, ndjson: bool = False,
                  final: bool = True, size: int | None = None) -> tuple[np.ndarray, int]:
    """Where the records of ``data`` (starting at a record boundary) start, as pyarrow's
    readers count them, and how many bytes they span (``len(data)`` when ``final``, else
    up to the last record end: the rest belongs to a record that goes on).

    CSV: every line of at least one byte outside quoted fields is a record (empty lines are
    skipped, as pyarrow's ``ignore_empty_lines`` does); NDJSON: every line that is not
    blank (JSON whitespace only). Raises :class:`Unsafe` for NDJSON with a lone ``\\r``.
    """
    arr = np.frombuffer(data, dtype=np.uint8, count=len(data) if size is None else size)
    ends, term = _terminators(arr, None if delimiter is None else delimiter[0], ndjson)
    if not final:
        if len(ends) and ends[-1] == len(arr) - 1 and arr[-1] == LINE_ENDS[1]:
            ends, term = ends[:-1], term[:-1]  # a \r whose \n may follow in the next read
        span = int(ends[-1]) + 1 if len(ends) else 0
    else:
        span = len(arr)
    starts = np.concatenate([[0], ends + 1]).astype(np.int64)
    stops = np.concatenate([term, [span]]).astype(np.int64)
    if not final or (len(ends) and ends[-1] + 1 >= span):
        starts, stops = starts[:-1], stops[:-1]
    keep = stops > starts
    if ndjson and len(starts):
        first = arr[np.minimum(starts, max(len(arr) - 1, 0))]
        maybe_blank = keep & ((first == WHITESPACE[0]) | (first == WHITESPACE[1])
                              | (first == LINE_ENDS[1]))
        for i in np.flatnonzero(maybe_blank).tolist():
            if not data[starts[i]:stops[i]].strip():
                keep[i] = False
    return starts[keep], span


def _fast_count(data: Any, size: int, delimiter: bytes | None, ndjson: bool, final: bool
                ) -> tuple[int, int, int] | None:
    """(records, span, line ends in the span) of :func:`record_starts` without positions,
    when ``data`` has no ``\r``, no quote (CSV) and no blank line (NDJSON: no line
    starting with whitespace): then every line end ends a record, and only empty lines are
    skipped. None otherwise."""
    arr = np.frombuffer(data, dtype=np.uint8, count=size)
    if np.count_nonzero(arr == LINE_ENDS[1]) or (
            delimiter is not None and np.count_nonzero(arr == QUOTE)):
        return None
    span = size if final else data.rfind(b"\n", 0, size) + 1
    if span == 0:
        return 0, 0, 0
    nl = arr[:span] == LINE_ENDS[0]
    if ndjson:
        ws = (arr[:span] == WHITESPACE[0]) | (arr[:span] == WHITESPACE[1])
        if ws[0] or np.count_nonzero(nl[:-1] & ws[1:]):
            return None
    count = int(np.count_nonzero(nl))
    empty = int(np.count_nonzero(nl[:-1] & nl[1:])) + int(nl[0])
    tail = 0 if nl[-1] else 1
    return count - empty + tail, span, count


def scan_records(readinto: Any, delimiter: bytes | None, step: int, max_line: int,
                 ndjson: bool = False, block: int = 8 << 20
                 ) -> tuple[list[tuple[int, int, int]], int]:
    """Count the records of a text file read with ``readinto(buffer)`` (its bytes after
    the header), with the record boundaries of :func:`record_starts`, and note where
    records ``0, step, 2*step, ...`` start: ``([(row, byte offset after the header, line
    ends before it), ...], rows)``. Raises :class:`Unsafe` when a record runs longer than
    ``max_line`` (an unclosed quote, or not text at all) or the file cannot be cut (see
    :func:`record_starts`).

    Cost: one read of the file into a reused buffer and a few numpy passes over each block
    (line ends, ``\r``, quotes); the quote state (:class:`_QuoteState`) only for blocks
    holding quotes. Measured: 0.13 s for a 200 MB, 5M-row CSV from the page cache."""
    points: list[tuple[int, int, int]] = [(0, 0, 0)]
    rows = offset = lines = 0  # records, bytes and \n before the buffer's first byte
    buf = bytearray(block)
    keep = 0  # bytes of a record that goes on, moved to the front of the buffer
    while True:
        if keep == len(buf):
            if keep >= max_line:
                raise Unsafe("a record longer than the longest line read")
            buf.extend(bytes(len(buf)))
        got = readinto(memoryview(buf)[keep:])
        eof = not got
        size = keep + (got or 0)
        if not size:
            break
        fast = _fast_count(buf, size, delimiter, ndjson, eof)
        starts: np.ndarray | None = None
        if fast is None:
            starts, span = record_starts(buf, delimiter, ndjson, final=eof, size=size)
            n, count = len(starts), buf.count(b"\n", 0, span)
            if n and int(np.max(np.diff(np.append(starts, span)))) > max_line:
                raise Unsafe("a record longer than the longest line read")
        else:
            n, span, count = fast
            if eof and size - (buf.rfind(b"\n", 0, size) + 1) > max_line:
                raise Unsafe("a record longer than the longest line read")
        first = max(-(-rows // step), 1) * step  # the next multiple of step after row 0
        if first < rows + n:
            if starts is None:
                starts, _ = record_starts(buf, delimiter, ndjson, final=eof, size=size)
            ends = np.flatnonzero(np.frombuffer(buf, dtype=np.uint8, count=span)
                                  == LINE_ENDS[0])
            for j in (np.arange(first, rows + n, step) - rows).tolist():
                at = int(starts[j])
                points.append((rows + j, offset + at, lines + int(np.searchsorted(ends, at))))
        rows += n
        lines += count
        offset += span
        keep = size - span
        if eof:
            break
        buf[:keep] = buf[span:size]
    return points, rows


def count_records(data: Any, delimiter: bytes | None = None, ndjson: bool = False
                  ) -> int | None:
    """The records of a block of whole records, as :func:`record_starts` counts them;
    None when the block cannot be counted that way (NDJSON with a lone ``\\r``)."""
    try:
        fast = _fast_count(data, len(data), delimiter, ndjson, True)
        return fast[0] if fast is not None else len(record_starts(data, delimiter, ndjson)[0])
    except Unsafe:
        return None


@dataclass(frozen=True)
class RowIndex:
    """Where rows ``0, step, 2*step, ...`` of a scanned text file start (:func:`scan_file`):
    the units of a CSV or NDJSON file. ``points``: ``(row, byte offset in the file, line
    ends before it after the header)``; ``rows``: the record count; ``header_lines``: the
    line ends of the header."""

    points: list[tuple[int, int, int]]
    rows: int
    step: int
    header_lines: int = 0

    def split_points(self) -> list[int]:
        """The rows noted (multiples of the step), and the row count."""
        starts = [r for r, _, _ in self.points]
        return starts if starts[-1] == self.rows else [*starts, self.rows]

    def span(self, start: int, stop: int) -> tuple[tuple[int, int, int], int, int | None]:
        """For rows ``start .. stop``: the noted point at or before ``start``, and the row
        and byte offset of the one at or after ``stop`` (None: the end of the file)."""
        import bisect

        starts = [r for r, _, _ in self.points]
        i = bisect.bisect_right(starts, start) - 1
        j = bisect.bisect_left(starts, stop)
        end_row, end_byte = self.points[j][:2] if j < len(starts) else (self.rows, None)
        return self.points[i], end_row, end_byte


def scan_file(path: str, step: int, max_line: int, *, delimiter: bytes | None = None,
              ndjson: bool = False, header_len: int = 0) -> RowIndex | None:
    """The :class:`RowIndex` of a local, uncompressed text file whose first ``header_len``
    bytes are its header (:func:`scan_records` over the rest); None when its first bytes
    say it is compressed. Raises :class:`Unsafe` or OSError as reading it does."""
    from losscli.io.detect import sniff_compression

    with open(path, "rb", buffering=0) as f:
        if sniff_compression(f.read(8)) is not None:
            return None
        f.seek(0)
        head = f.read(header_len)
        points, rows = scan_records(f.readinto, delimiter, step, max_line, ndjson=ndjson)
    return RowIndex([(r, header_len + b, n) for r, b, n in points], rows, step,
                    head.count(b"\n") or head.count(b"\r"))
