"""Chunk boundaries: a stream of column dicts re-sliced into chunks of an exact size, the
alignment layer under :class:`losscli.io.inputs.Inputs` (every role's stream is cut at the
same rows whatever chunk sizes its reader gives). A column may be an Arrow array (a join's
key columns): sliced and concatenated as Arrow."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from losscli.io.arrow import concatenate


def rows_of(part: dict[str, np.ndarray]) -> int:
    """The rows of a column dict (every column has as many)."""
    return len(next(iter(part.values())))


def rechunk(
    chunks: Iterator[dict[str, np.ndarray]], size: int
) -> Iterator[dict[str, np.ndarray]]:
    """Re-slice a stream of column dicts into chunks of exactly ``size`` rows (last shorter).

    An empty dict in ``chunks`` means no more rows are available for now (a pipe paused,
    see :class:`~losscli.io.base.Source`): the rows held are passed on at once, in a
    shorter chunk, and the empty dict after them."""
    pending: list[dict[str, np.ndarray]] = []  # pieces of the next chunk: < size rows
    have = 0
    for chunk in chunks:
        if not chunk:
            if have:
                yield _concat(pending)
                pending, have = [], 0
            yield {}
            continue
        n = rows_of(chunk)
        if n == 0:
            continue
        at = 0
        if have:  # complete the chunk begun by the previous pieces: only it is copied
            at = min(size - have, n)
            pending.append({k: v[:at] for k, v in chunk.items()})
            have += at
            if have < size:
                continue
            yield _concat(pending)
            pending, have = [], 0
        if at == 0 and n == size:
            yield chunk
            continue
        while n - at >= size:  # whole chunks inside this one: views, no copy
            yield {k: v[at:at + size] for k, v in chunk.items()}
            at += size
        if at < n:
            pending, have = [{k: v[at:] for k, v in chunk.items()}], n - at
    if have:
        yield _concat(pending)


def concat_column(pieces: list[Any]) -> Any:
    """A column's pieces as one: numpy (:func:`losscli.io.arrow.concatenate`), or Arrow
    when a piece is (a join's keys read as :class:`~losscli.io.arrow.ArrowKey`: no
    Python object per row)."""
    if any(not isinstance(p, np.ndarray) for p in pieces):
        from losscli.io.keyindex import concat_keys

        return concat_keys(pieces)
    return concatenate(pieces)


def _concat(parts: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    if len(parts) == 1:
        return parts[0]
    return {k: concat_column([p[k] for p in parts]) for k in parts[0]}
