"""Per-group evaluation (``--group-by``): which group each row of a batch is in.

A group is the tuple of its key columns' values; a key value is a plain JSON value — a
string, an integer, a boolean, a float, a date as ISO text (``2024-05-01``, or
``2024-05-01T12:30`` with a time of day) — or None: null (None, NaN, NaT) is a group of its
own. Keys are the same for every chunk, unit and file of a run (the readers deliver a
column's raw values with one dtype throughout), so per-group states merge by key.

:class:`BatchGroups` codes one batch: ``codes`` (per row, 0 .. G-1, into ``keys``), the row
counts, per-group sums by ``np.bincount`` (no sort), and — only when some part of the state
needs the rows themselves (an aggregate other than a mean, an interval, a sketch) — the
rows of each group, from one counting sort.

Groups are ordered by key (:func:`sort_key`): null last, values in their natural order.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from losscli.errors import InputError
from losscli.options import MAX_GROUPS as MAX_GROUPS  # --max-groups' default, declared there

#: A float key column with more distinct values than this is refused: a group per value
#: of a continuous column is never what is meant (bin it first).
MAX_FLOAT_KEYS = 100

Key = tuple[Any, ...]


def key_value(value: Any) -> Any:
    """A raw key value as a plain JSON value (None for null)."""
    if value is None:
        return None
    if isinstance(value, np.datetime64):
        if np.isnat(value):
            return None
        return str(np.datetime_as_string(value, unit="auto"))
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return None if math.isnan(value) else float(value)
    return str(value)


def sort_key(key: Key) -> tuple[Any, ...]:
    """How groups are ordered: by each key value, null last."""
    return tuple((v is None, 0 if v is None else v) for v in key)


def key_dict(names: Sequence[str], key: Key) -> dict[str, Any]:
    return dict(zip(names, key))


#: How a null key value is shown as text (JSON keeps ``null``): not ``null``, which a
#: string key may be.
NULL_KEY = "(null)"


def key_label(value: Any) -> str:
    """A key value as text, one text per value: null as ``(null)``, the string ``"null"`` as
    ``null``; a string that could be read as null's mark (``(null)``) or that starts with a
    double quote is shown quoted, as JSON writes it. Not escaped for the terminal: the
    renderer does that."""
    if value is None:
        return NULL_KEY
    if isinstance(value, str) and (value == NULL_KEY or value.startswith('"')):
        import json

        return json.dumps(value, ensure_ascii=False)
    return str(value)


def key_text(names: Sequence[str], key: Key) -> str:
    """``country=DE, day=2024-05-01`` (``(null)`` for a null value: :func:`key_label`)."""
    return ", ".join(f"{n}={key_label(v)}" for n, v in zip(names, key))


def key_columns(names: Sequence[str], fixed: Sequence[str]) -> list[str]:
    """The column names of the ``--group-by`` keys in a table that also has the columns
    ``fixed`` (long-form CSV, ``Report.to_dataframe``): each key's own name, or
    ``group_NAME`` (more underscores if need be) when it is one of the others — grouping by
    a column called ``label`` or ``value`` must not overwrite or duplicate those."""
    taken, out = set(fixed), []
    for name in names:
        column = name
        while column in taken:
            column = "group_" + column
        taken.add(column)
        out.append(column)
    return out


class BatchGroups:
    """The groups of one batch's rows (see the module doc)."""

    __slots__ = ("_order", "_starts", "codes", "counts", "keys")

    def __init__(self, codes: np.ndarray, keys: list[Key]) -> None:
        self.codes = codes
        self.keys = keys
        self.counts = np.bincount(codes, minlength=len(keys))
        self._order: np.ndarray | None = None
        self._starts: np.ndarray | None = None

    @classmethod
    def of(cls, columns: Sequence[np.ndarray], names: Sequence[str]) -> BatchGroups:
        """Code the rows of a batch from its key columns' raw values."""
        n = len(columns[0])
        codes = np.zeros(n, np.int64)
        keys: list[Key] = [()]
        for at, (name, column) in enumerate(zip(names, columns)):
            local, uniques = _factorize(column)
            values = [key_value(u) for u in uniques]
            if column.dtype.kind == "f" and len(values) > MAX_FLOAT_KEYS:
                raise InputError(
                    f"--group-by column '{name}' is a float column with more than "
                    f"{MAX_FLOAT_KEYS} distinct "
                    "values: --group-by makes a group per value, meant for categories. Bin "
                    "it into a few values (or cast it to integers or strings) first.")
            if column.dtype.kind in "OfM" and (local < 0).any():  # nulls: a group of their own
                local = np.where(local < 0, len(values), local)
                values.append(None)
            if at == 0:  # the first column
                codes, keys = local, [(v,) for v in values]
                continue
            combined = codes * len(values) + local
            pairs = [(*k, v) for k in keys for v in values]
            codes, present = _factorize(combined)
            keys = [pairs[int(i)] for i in present]
        return cls(codes.astype(np.int64, copy=False), keys)

    def restrict(self, keep: np.ndarray | None) -> BatchGroups:
        """The groups of the rows ``keep`` selects (rows omitted for NaN); a group left
        without rows keeps its place with a count of 0."""
        if keep is None:
            return self
        return BatchGroups(self.codes[keep], self.keys)

    def __len__(self) -> int:
        return len(self.keys)

    def sums(self, values: np.ndarray) -> np.ndarray:
        """Per group, the sum of ``values`` over its rows (each group's in row order)."""
        return np.bincount(self.codes, weights=values, minlength=len(self.keys))

    def split(self, values: np.ndarray | None) -> list[Any]:
        """Per group, its rows of ``values`` (in row order); None stays None."""
        if values is None:
            return [None] * len(self.keys)
        if self._order is None:
            small = self.codes.astype(np.int16) if len(self.keys) < 1 << 15 else self.codes
            self._order = np.argsort(small, kind="stable")  # a radix sort for small codes
            self._starts = np.concatenate([[0], np.cumsum(self.counts)])
        assert self._starts is not None
        ordered = values[self._order]
        return [ordered[a:b] for a, b in zip(self._starts[:-1], self._starts[1:])]


def _factorize(column: np.ndarray) -> tuple[np.ndarray, Any]:
    """(codes, uniques) of a column, nulls (None, NaN, NaT) coded -1: integers and booleans
    by numpy (a table lookup when dense: no pandas import for the common case), the rest
    by pandas' hash table."""
    kind = column.dtype.kind
    coded = _from_codes(column)
    if coded is not None:
        return coded
    if kind == "b":
        present = np.flatnonzero(np.bincount(column.view(np.uint8), minlength=2))
        lookup = np.cumsum(np.bincount(column.view(np.uint8), minlength=2) > 0) - 1
        return lookup[column.view(np.uint8)], present.astype(bool)
    if kind in "iu" and column.size:
        from losscli.stats.keyed import unique_inverse

        return unique_inverse(column.astype(np.int64, copy=False))[::-1]
    import pandas as pd

    codes, uniques = pd.factorize(column, use_na_sentinel=True)
    return codes, uniques


def _from_codes(column: np.ndarray) -> tuple[np.ndarray, list[Any]] | None:
    """(codes, uniques) of text that arrives with its dictionary codes (the readers'
    ``CodedText``: Parquet and Arrow dictionary columns, repeated strings): the codes
    renumbered to the values in use, null -1 — the same groups as hashing every row."""
    codes = getattr(column, "codes", None)
    values = getattr(column, "values", None)
    if codes is None or values is None or codes.shape != column.shape or not codes.size:
        return None
    from losscli.io.arrow import recode

    local, found = recode(codes, values)
    if None not in found:
        return local, found
    at = found.index(None)  # null is coded -1, as pandas does
    return np.where(local == at, -1, local - (local > at)), found[:at] + found[at + 1:]


def too_many_groups(count: int, limit: int, names: Sequence[str]) -> InputError:
    return InputError(
        f"--group-by {' '.join(names)}: more than {limit:,} groups ({count:,} so far). Each "
        "group keeps its own state; raise --max-groups if you mean it, or group by a "
        "coarser column.")
