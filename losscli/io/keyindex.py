"""A compact unique index of join keys (``--id-col``): a few bytes per key, no Python object
per key.

:class:`KeyTable` indexes the key columns of the targets' rows:

* one column of numbers (integers, booleans, floats, dates and times): its values sorted
  (int64 or float64) beside the rows that sort them (int32 while the rows fit): 12 bytes
  per key beyond the key column itself (8 bytes an int64); a lookup is one
  ``np.searchsorted`` and one compare;
* text keys, and keys of several columns: a 64-bit hash of each key's values
  (:func:`losscli.stats.resample.key_ids`, the bootstrap's row identity), sorted, beside
  the rows that sort them: 12 bytes per key beyond the key column (an Arrow string array:
  the text's bytes + 4). A lookup finds the hash by ``np.searchsorted`` and then compares
  the key's real values (Arrow ``take`` + ``equal``, vectorised): a hash shared by two
  different keys (a collision) never joins the wrong rows — the other keys with the same
  hash are tried in turn.

Null (None, NaN, NaT) is a key value of its own and matches a null key of the other side,
as pandas' index did before; two null keys among the targets are a duplicate.

Key columns come as :func:`losscli.io.arrow.raw_values` gives them: numpy arrays (int64,
float64, bool, datetime64[us], or objects) or, for text and integers with nulls read for a
join (:class:`losscli.io.arrow.ArrowKey`), Arrow arrays.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

#: How many keys a message lists.
SHOWN = 3

#: Rows hashed at a time (the string hash holds ~64 bytes per byte of text while it runs:
#: 32 MiB for 16-character keys).
HASH_BLOCK = 1 << 15
#: Rows looked up at a time.
LOOKUP_BLOCK = 1 << 20


def _pa() -> Any:
    import pyarrow as pa

    return pa


def is_arrow(values: Any) -> bool:
    """Whether ``values`` is an Arrow array (or chunked array), not a numpy one."""
    return not isinstance(values, np.ndarray) and hasattr(values, "type")


def combined(values: Any) -> Any:
    """An Arrow chunked array as one array (dictionary decoded); anything else as it is."""
    pa = _pa()
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks() if values.num_chunks != 1 else values.chunk(0)
    if is_arrow(values) and pa.types.is_dictionary(values.type):
        values = values.dictionary_decode()
    return values


def to_arrow(values: Any) -> Any:
    """A key column as an Arrow array whose nulls are the column's nulls (None, NaN, NaT),
    text as ``string`` (or ``large_string``), to compare values with ``pyarrow.compute``."""
    pa = _pa()
    values = combined(values)
    if is_arrow(values):
        if pa.types.is_null(values.type):
            return pa.nulls(len(values), pa.string())
        return values
    kind = values.dtype.kind
    if kind in "fM":
        return pa.array(values, from_pandas=True)  # NaN, NaT: null
    if kind in "biu":
        return pa.array(values)  # zero copy
    try:
        out = pa.array(values, from_pandas=True)  # str or None; ints or bools with None
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        from losscli.grouping import key_value

        out = pa.array([None if (v := key_value(x)) is None else str(v) for x in values],
                       pa.string())
    return pa.nulls(len(values), pa.string()) if pa.types.is_null(out.type) else out


def concat_keys(parts: Sequence[Any]) -> Any:
    """The pieces of a key column as one: numpy when every piece is, else Arrow (text as
    ``large_string`` once it would pass 2 GiB)."""
    pa = _pa()
    if not parts:
        return np.empty(0, dtype=object)
    if not any(is_arrow(p) for p in parts):
        return np.concatenate(parts)
    arrays = [to_arrow(p) for p in parts]
    if len(arrays) == 1:
        return arrays[0]
    if any(pa.types.is_large_string(a.type) for a in arrays) or (
            pa.types.is_string(arrays[0].type)
            and sum(a.nbytes for a in arrays) >= (1 << 31) - 1):
        arrays = [a.cast(pa.large_string()) for a in arrays]
    types = {a.type for a in arrays}
    if len(types) > 1:  # ints without nulls (numpy) beside ints with nulls, say
        arrays = [a.cast(arrays[0].type) for a in arrays]
    return pa.concat_arrays(arrays)


def take_rows(values: Any, mask: np.ndarray) -> Any:
    """The rows of a key column (numpy or Arrow) where ``mask`` holds."""
    return values.filter(_pa().array(mask)) if is_arrow(values) else values[mask]


def key_objects(values: Any) -> Any:
    """A key column as :func:`losscli.io.arrow.raw_values` gives it without
    :class:`~losscli.io.arrow.ArrowKey`: an Arrow array (text, integers with nulls) as an
    object array of ``str`` / ``int`` and None; numpy as it is. For what needs a Python
    value per row (per-row output, groups, messages)."""
    if not is_arrow(values):
        return values
    values = combined(values)
    out = np.empty(len(values), dtype=object)
    out[:] = values.to_pylist()
    return out


class ObjectKeys(dict):  # type: ignore[type-arg]
    """A joined batch's keys (``Batch.keys``): a key column read as Arrow
    (:class:`~losscli.io.arrow.ArrowKey`: the join's text keys) becomes the object array
    :func:`~losscli.io.arrow.raw_values` would have given the first time it is read — by
    the per-row output or a group by the key; the join itself never converts it."""

    def __getitem__(self, name: str) -> Any:
        values = super().__getitem__(name)
        if is_arrow(values):
            values = key_objects(values)
            super().__setitem__(name, values)
        return values

    def get(self, name: str, default: Any = None) -> Any:
        return self[name] if name in self else default

    def values(self) -> Any:
        return [self[k] for k in self]

    def items(self) -> Any:
        return [(k, self[k]) for k in self]


def numbers(values: Any) -> tuple[np.ndarray, np.ndarray] | None:
    """One key column of numbers as (values, valid): int64 (integers, booleans, dates and
    times) or float64, with a mask of the rows that hold one; None for text."""
    from losscli.io.arrow import numbers_view, to_float64, validity

    pa = _pa()
    values = combined(values)
    if isinstance(values, np.ndarray):
        kind = values.dtype.kind
        if kind in "biu":
            return values.astype(np.int64, copy=False), np.ones(len(values), bool)
        if kind == "f":
            x = values.astype(np.float64, copy=False)
            return x, ~np.isnan(x)
        if kind == "M":
            x = values.astype("datetime64[us]").view(np.int64)
            return x, ~np.isnat(values)
        values = to_arrow(values)
    t = values.type
    if pa.types.is_floating(t):
        x = to_float64(values)
        return x, ~np.isnan(x)
    if pa.types.is_integer(t) or pa.types.is_boolean(t):
        import pyarrow.compute as pc

        cast = pc.cast(values, pa.int64())
        return numbers_view(cast, np.int64), validity(cast)
    if pa.types.is_timestamp(t) or pa.types.is_date(t):
        import pyarrow.compute as pc

        cast = pc.cast(pc.cast(values, pa.timestamp("us")), pa.int64())
        return numbers_view(cast, np.int64), validity(cast)
    return None


def _bools(array: Any) -> np.ndarray:
    """A boolean Arrow array as numpy (null: False)."""
    from losscli.io.arrow import validity

    pa = _pa()
    array = combined(array)
    n = len(array)
    if n == 0:
        return np.zeros(0, bool)
    if pa.types.is_null(array.type):
        return np.zeros(n, bool)
    bits = np.unpackbits(np.frombuffer(array.buffers()[1], np.uint8), bitorder="little")
    out = bits[array.offset:array.offset + n].astype(bool)
    if array.null_count:
        out &= validity(array)
    return out


def _nulls(array: Any) -> np.ndarray:
    from losscli.io.arrow import validity

    pa = _pa()
    if pa.types.is_null(array.type):
        return np.ones(len(array), bool)
    return ~validity(array)


def same(keys: Any, rows: np.ndarray, probe: Any) -> np.ndarray:
    """Per probe row i, whether ``keys[rows[i]]`` equals ``probe[i]`` (Arrow arrays; null
    equals null)."""
    import pyarrow.compute as pc

    pa = _pa()
    taken = keys.take(pa.array(rows))
    if probe.type != taken.type:
        try:
            probe = probe.cast(taken.type)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
            return np.zeros(len(rows), bool)
    equal = _bools(pc.equal(taken, probe))
    if taken.null_count or probe.null_count:
        equal |= _nulls(taken) & _nulls(probe)
    return equal


def _hashable(array: Any) -> Any:
    """A column as :func:`~losscli.stats.resample.key_ids` hashes it (dates and times by
    their integer value)."""
    pa = _pa()
    t = array.type
    if pa.types.is_timestamp(t) or pa.types.is_date(t) or pa.types.is_time(t) or (
            pa.types.is_duration(t)):
        import pyarrow.compute as pc

        return pc.cast(pc.cast(array, pa.timestamp("us")) if not (
            pa.types.is_time(t) or pa.types.is_duration(t)) else array, pa.int64())
    return array


def hash_keys(columns: Sequence[Any]) -> np.ndarray:
    """:func:`losscli.stats.resample.key_ids` of key columns (numpy or Arrow), computed
    :data:`HASH_BLOCK` rows at a time (the same hashes, in bounded memory)."""
    from losscli.stats.resample import key_ids

    columns = [combined(c) for c in columns]
    n = len(columns[0]) if columns else 0
    if n <= HASH_BLOCK:
        return key_ids(list(columns))
    out = np.empty(n, np.uint64)
    for at in range(0, n, HASH_BLOCK):
        end = min(at + HASH_BLOCK, n)
        out[at:end] = key_ids([c.slice(at, end - at) if is_arrow(c) else c[at:end]
                               for c in columns])
    return out


def search(haystack: np.ndarray, needles: np.ndarray) -> np.ndarray:
    """``np.searchsorted(haystack, needles)``, the needles searched in sorted order when
    there are many: consecutive searches then walk the same path through a large haystack
    (in cache) instead of a random one each."""
    if len(haystack) < (1 << 16) or len(needles) < 1024:
        return np.searchsorted(haystack, needles)
    order = np.argsort(needles)
    out = np.empty(len(needles), np.intp)
    out[order] = np.searchsorted(haystack, needles[order])
    return out


class KeyTable:
    """A unique index of key columns (see the module doc). ``columns``: the key columns
    (one value per target row each); ``hash_bits``: bits of the hash kept (fewer only to
    test collisions)."""

    def __init__(self, columns: Sequence[Any], *, hash_bits: int = 64) -> None:
        self.size = len(columns[0]) if columns else 0
        self._mask = np.uint64((1 << hash_bits) - 1)
        self._row_type = np.int32 if self.size < 2 ** 31 else np.int64
        self._arrow: list[Any] | None = None
        self._null_rows = np.zeros(0, np.int64)
        self._runs = False
        self.takes_ids = False
        num = numbers(columns[0]) if len(columns) == 1 else None
        if num is not None:
            values, valid = num
            if valid.all():
                order = np.argsort(values, kind="stable")
            else:
                self._null_rows = np.flatnonzero(~valid)
                order = np.flatnonzero(valid)
                order = order[np.argsort(values[order], kind="stable")]
            self._sorted: np.ndarray = values[order]
            self._rows: np.ndarray = order.astype(self._row_type)
            return
        self._arrow = [to_arrow(c) for c in columns]
        pa = _pa()
        #: Whether a probe's key_ids (of its numpy or Arrow columns) are the hashes here:
        #: for text, integers and booleans (floats and times hash otherwise as numpy).
        self.takes_ids = all(pa.types.is_string(a.type) or pa.types.is_large_string(a.type)
                             or pa.types.is_integer(a.type) or pa.types.is_boolean(a.type)
                             for a in self._arrow)
        hashes = self._hash(self._arrow)
        order = np.argsort(hashes, kind="stable")
        self._sorted = hashes[order]
        del hashes
        self._rows = order.astype(self._row_type)
        self._runs = bool(self.size > 1 and np.any(self._sorted[1:] == self._sorted[:-1]))

    @property
    def nbytes(self) -> int:
        """Bytes the index holds beyond the key columns it was given."""
        return int(self._sorted.nbytes + self._rows.nbytes + self._null_rows.nbytes)

    def _hash(self, columns: list[Any], lo: int = 0, hi: int | None = None) -> np.ndarray:
        hi = len(columns[0]) if hi is None else hi
        return hash_keys([_hashable(c.slice(lo, hi - lo)) for c in columns]) & self._mask

    # -- duplicates -----------------------------------------------------------------------
    def duplicates(self) -> tuple[int, list[int]]:
        """How many rows repeat a key of an earlier row, and the first such rows (row
        order, at most 3)."""
        if self.size < 2:
            return 0, []
        equal = self._sorted[1:] == self._sorted[:-1]
        if self._arrow is None:
            # the sort is stable: in a run of equal values the first row comes first
            again = np.concatenate([self._rows[1:][equal].astype(np.int64), self._null_rows[1:]])
            return int(again.size), np.sort(again)[:SHOWN].tolist()
        if not equal.any():
            return 0, []
        member = np.zeros(self.size, bool)  # rows of runs of one hash: compare their values
        member[1:] |= equal
        member[:-1] |= equal
        rows = np.sort(self._rows[member].astype(np.int64))
        pa = _pa()
        taken = [c.take(pa.array(rows)).to_pylist() for c in self._arrow]
        seen: set[Any] = set()
        again_rows = []
        for row, key in zip(rows.tolist(), zip(*taken)):
            if key in seen:
                again_rows.append(row)
            else:
                seen.add(key)
        return len(again_rows), again_rows[:SHOWN]

    # -- lookups --------------------------------------------------------------------------
    def lookup(self, probe: Sequence[Any], hashes: np.ndarray | None = None) -> np.ndarray:
        """The target row of each probe row's key (int64, -1: none). ``probe``: key columns
        of the same kinds as the index's; ``hashes``: their :func:`key_ids`, when known."""
        n = len(probe[0]) if probe else 0
        out = np.full(n, -1, np.int64)
        if self.size == 0 or n == 0:
            return out
        if self._arrow is None:
            for lo in range(0, n, LOOKUP_BLOCK):
                hi = min(lo + LOOKUP_BLOCK, n)
                part = combined(probe[0])[lo:hi]
                num = numbers(part)
                if num is None:  # text (or only nulls) against numbers: a null matches null
                    nulls = _nulls(to_arrow(part))
                    out[lo:hi][nulls] = self._null_rows[0] if self._null_rows.size else -1
                    continue
                out[lo:hi] = self._lookup_numbers(*num)
            return out
        columns = [to_arrow(c) for c in probe]
        for lo in range(0, n, LOOKUP_BLOCK):
            hi = min(lo + LOOKUP_BLOCK, n)
            h = (self._hash(columns, lo, hi) if hashes is None or not self.takes_ids
                 else hashes[lo:hi] & self._mask)
            out[lo:hi] = self._lookup_hashes([c.slice(lo, hi - lo) for c in columns], h)
        return out

    def _lookup_numbers(self, values: np.ndarray, valid: np.ndarray) -> np.ndarray:
        at = np.minimum(search(self._sorted, values), len(self._sorted) - 1)
        if len(self._sorted):
            hit = valid & (self._sorted[at] == values)
            out = np.where(hit, self._rows[at], -1).astype(np.int64)
        else:
            out = np.full(len(values), -1, np.int64)
        if not valid.all():
            out[~valid] = self._null_rows[0] if self._null_rows.size else -1
        return out

    def _lookup_hashes(self, columns: list[Any], h: np.ndarray) -> np.ndarray:
        pa = _pa()
        assert self._arrow is not None
        n, size = len(h), len(self._sorted)
        out = np.full(n, -1, np.int64)
        at = search(self._sorted, h)
        # the probe rows whose hash the targets have, and where they are tried next
        todo = np.flatnonzero((at < size) & (self._sorted[np.minimum(at, size - 1)] == h))
        at = at[todo]
        while todo.size:
            rows = self._rows[at].astype(np.int64)
            whole = todo.size == n
            sub = columns if whole else [c.take(pa.array(todo)) for c in columns]
            ok = np.ones(todo.size, bool)
            for keys, p in zip(self._arrow, sub):
                ok &= same(keys, rows, p)
            out[todo[ok]] = rows[ok]
            if not self._runs:
                break
            # a collision: the next target with the same hash, if any
            todo, at = todo[~ok], at[~ok] + 1
            more = at < size
            todo, at = todo[more], at[more]
            more = self._sorted[at] == h[todo]
            todo, at = todo[more], at[more]
        return out
