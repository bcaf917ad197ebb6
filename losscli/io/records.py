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
