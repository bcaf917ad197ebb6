"""Rows joined by key (``--id-col``): the targets (and a weights file) held as a hash index,
the predictions streamed and looked up batch by batch.

:class:`KeyIndex` reads the whole targets side once — its key column(s), its target values,
and a weight column or weights file when there is one — and indexes the keys
(:class:`losscli.io.keyindex.KeyTable`: the keys as Arrow or numpy columns, no Python object
per key, and a sorted array of their values or hashes: ~20 bytes per int64 key, ~32 per
16-character text key), plus 8 bytes per value. A key that names two target rows is
refused before anything is evaluated.

:meth:`KeyIndex.join` turns a batch of predictions (with their keys in ``Batch.keys``) into
a batch with the matched targets (and weights), without the rows whose key has no target;
it notes in a :class:`JoinState` which target rows were matched and which prediction rows
had no target. A tally is part of the unit's State (:class:`losscli.state.JoinState`:
a bitmap of the matched target rows, mergeable by OR), so that keys matched twice across
units, and targets no unit matched, are judged once every unit is in
(:func:`judge`) — the same verdict for any split into units, workers or saved parts.

The predictions' key columns are read as Arrow too (:class:`~losscli.io.arrow.ArrowKey`,
bound by :func:`losscli.io.binding.bind_join`): re-chunked, hashed and looked up as Arrow; a
joined batch's keys become Python objects only where read (:class:`~losscli.io.keyindex.
ObjectKeys`: the per-row output, a group by the key).

Keys of the two sides compare as values of one type: when the columns' types differ (a
CSV's text ``"17"`` and a Parquet ``int64`` 17), both are compared as text.
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np

from losscli.errors import InputError
from losscli.io.keyindex import (
    SHOWN,
    KeyTable,
    ObjectKeys,
    combined,
    concat_keys,
    hash_keys,
    is_arrow,
    take_rows,
    to_arrow,
)
from losscli.io.keymemory import free_memory, index_bytes, index_too_big, text_columns
from losscli.stats.joins import JoinState


def _as_text(values: Any) -> Any:
    """A key column as text (an Arrow string array): ``str`` of each value as
    :func:`losscli.grouping.key_value` gives it (integers vectorised)."""
    import pyarrow as pa

    from losscli.grouping import key_value

    values = combined(values)
    if is_arrow(values):
        if pa.types.is_string(values.type) or pa.types.is_large_string(values.type):
            return values
        if pa.types.is_integer(values.type):
            import pyarrow.compute as pc

            return pc.cast(values, pa.string())
        values = values.to_numpy(zero_copy_only=False)
    if values.dtype.kind in "iu":
        return pa.array(values.astype(np.int64, copy=False)).cast(pa.string())
    return pa.array([None if (v := key_value(x)) is None else str(v) for x in values],
                    pa.string())


def _kind(values: Any) -> str:
    """The key type of a raw column. Integers or booleans with nulls arrive as Python
    objects (io.arrow.raw_values) or Arrow arrays and are of their values' kind: the same
    comparison in every chunk, whether or not it holds a null."""
    import pyarrow as pa

    if is_arrow(values):
        t = values.type
        if pa.types.is_dictionary(t):
            t = t.value_type
        if values.null_count == len(values):
            return "str"
        return ("b" if pa.types.is_boolean(t) else "i" if pa.types.is_integer(t) else
                "f" if pa.types.is_floating(t) else
                "M" if pa.types.is_timestamp(t) or pa.types.is_date(t) else "str")
    if values.dtype.kind != "O":
        return str(values.dtype.kind)
    first = next((v for v in values if v is not None), None)
    return "b" if isinstance(first, bool) else "i" if isinstance(first, int) else "str"


def _objects(values: Any) -> bool:
    """Whether a key column holds Python objects (text, integers with nulls)."""
    return isinstance(values, np.ndarray) and values.dtype.kind == "O"


def _hashed(values: Any) -> Any:
    """A key column as :func:`~losscli.stats.resample.key_ids` takes it: dates and times by
    their int64 value (NaT one value)."""
    if isinstance(values, np.ndarray) and values.dtype.kind in "mM":
        return values.view(np.int64)
    return values


def _show(keys: list[Any]) -> str:
    return ", ".join(repr(k) if isinstance(k, str) else str(k) for k in keys)


class KeyIndex:
    """The targets side of a join, indexed by key (see the module doc)."""

    def __init__(self, keys: list[Any], values: dict[str, np.ndarray], *,
                 names: tuple[str, ...], target_names: tuple[str, ...], where: str,
                 pred_where: str, hash_bits: int = 64) -> None:
        self.names = names  # the predictions' key columns
        self.target_names = target_names  # the targets' key columns
        self.where = where  # "'truth.csv'"
        self.pred_where = pred_where
        self.values = values  # role -> array, one row per target row
        self.size = len(keys[0]) if keys else 0
        #: Models in files of their own joined by key (:meth:`attach_model`): (name, path,
        #: target keys they lack, their rows whose key is not a target's), for the report.
        self.models: list[tuple[str, str, int, int]] = []
        #: Columns of the targets' file read raw beside the targets (--group-by keys that only
        #: the targets' file has): name -> one value per target row, handed to every joined
        #: batch's keys (:meth:`join`).
        self.extra: dict[str, np.ndarray] = {}
        #: The key columns, one value per target row: numpy, or Arrow for text and integers
        #: with nulls (no Python object per key).
        self._raw = [combined(k) for k in keys]
        self._text = (False,) * len(keys)
        #: The index per way of comparing (which key columns as text: see align_with).
        self._tables: dict[tuple[bool, ...], KeyTable] = {}
        self._hash_bits = hash_bits
        self._lock = threading.Lock()

    @property
    def nbytes(self) -> int:
        """Bytes the keys and their index hold (not the targets' values)."""
        return int(sum(k.nbytes for k in self._raw)
                   + sum(t.nbytes for t in self._tables.values()))

    # -- building -------------------------------------------------------------------------
    @classmethod
    def read(cls, source: Any, columns: dict[str, tuple[str, ...]], key_columns: tuple[str, ...],
             names: tuple[str, ...], chunk_size: int, pred_where: str,
             weights: tuple[Any, tuple[str, ...], tuple[str, ...]] | None = None,
             labels: Any = None, extra: dict[str, str] | None = None) -> KeyIndex:
        """Read the targets side: ``columns`` (role -> columns of ``source``, read as float64:
        target, and weight when it is there) and the key columns (raw). ``weights``: a
        separate weights file (source, its weight column, its key columns), joined to the
        targets by key. ``labels``: the target column's :class:`losscli.labels.LabelMap`
        (labels as written: read raw when it says so, then class indices). ``extra``: key
        name -> column of ``source`` read raw and carried into every joined batch's keys
        (a ``--group-by`` column that only the targets' file has)."""
        where = f"'{source.name}'"
        rows = getattr(source, "num_rows", None)
        ncols = len(key_columns) + sum(len(c) for c in columns.values()) + len(extra or {})
        text = text_columns(source, key_columns)
        if isinstance(rows, int) and rows > 0:
            need, free = index_bytes(rows, ncols, text), free_memory()
            if free is not None and need > free:
                raise index_too_big(where, rows, need, free, key_columns)
        try:
            return cls._read(source, columns, key_columns, names, chunk_size, pred_where,
                             weights, labels, extra or {})
        except MemoryError as exc:  # numpy's allocations, Arrow's (a subclass)
            raise index_too_big(where, rows if isinstance(rows, int) else None,
                                None if not isinstance(rows, int) else
                                index_bytes(rows, ncols, text), free_memory(),
                                key_columns) from exc

    @classmethod
    def _read(cls, source: Any, columns: dict[str, tuple[str, ...]],
              key_columns: tuple[str, ...], names: tuple[str, ...], chunk_size: int,
              pred_where: str, weights: tuple[Any, tuple[str, ...], tuple[str, ...]] | None,
              labels: Any, extra: dict[str, str]) -> KeyIndex:
        from losscli.io.arrow import ArrowKey
        from losscli.io.base import raw_key

        label_col = labels.column if labels is not None else None
        wanted = list(dict.fromkeys(c for cols in columns.values() for c in cols
                                    if not (labels is not None and labels.raw
                                            and c == label_col)))
        others = {*([label_col] if labels is not None and labels.raw else []),
                  *extra.values()}
        # key columns come as Arrow (text: no Python object per key) unless read as a
        # label or a group too
        raw = tuple(dict.fromkeys([*(ArrowKey(c) if c not in others else c
                                     for c in key_columns), *others]))
        parts: dict[str, list[Any]] = {}
        for chunk in source.chunks(wanted, chunk_size, raw):
            for k, v in chunk.items():
                parts.setdefault(k, []).append(v)
        key_names = {raw_key(c) for c in key_columns}
        joined: dict[str, Any] = {}
        for k in list(parts):  # one column at a time: its pieces freed as it is joined
            pieces = parts.pop(k)
            if k in key_names:
                joined[k] = concat_keys(pieces)
            elif label_col is not None and k == raw_key(label_col):
                from losscli.io.arrow import concatenate

                # text labels keep their Arrow codes: mapped once per distinct label
                joined[k] = concatenate(pieces)
            else:
                joined[k] = np.concatenate(pieces) if pieces else np.empty(0)
            del pieces
        keys = [joined.get(raw_key(c), np.empty(0, dtype=object)) for c in key_columns]
        values = {}
        for role, cols in columns.items():
            if role == "target" and labels is not None:
                values[role] = labels.encode(joined, 0) if joined else np.empty(0)
                continue
            arrays = [joined.get(c, np.empty(0)) for c in cols]
            values[role] = arrays[0] if len(arrays) == 1 else np.column_stack(arrays)
        index = cls(keys, values, names=names, target_names=key_columns,
                    where=f"'{source.name}'", pred_where=pred_where)
        index.extra = {name: joined.get(raw_key(col), np.empty(0, dtype=object))
                       for name, col in extra.items()}
        del joined
        index._build()
        if weights is not None:
            index._attach_weights(*weights, chunk_size=chunk_size)
        return index

    def _table(self, text: tuple[bool, ...]) -> KeyTable:
        """The index comparing the key columns of ``text`` as text (built once, checked for
        duplicates)."""
        table = self._tables.get(text)
        if table is not None:
            return table
        with self._lock:
            table = self._tables.get(text)
            if table is None:
                arrays = [k if not t else _as_text(k) for k, t in zip(self._raw, text)]
                table = KeyTable(arrays, hash_bits=self._hash_bits)
                count, first = table.duplicates()
                if count:
                    raise InputError(
                        f"Key {self._cols(self.target_names)} is not unique in {self.where}: "
                        f"{count} row{'s repeat' if count != 1 else ' repeats'} a key already "
                        f"seen (first: {_show([self._key_at(i) for i in first])}); a key must "
                        "name one row. Remove the duplicates, or join on more columns (repeat "
                        "--id-col / --target-id-col).")
                self._tables[text] = table
            return table

    def _build(self) -> None:
        self._tables = {}
        self._table(self._text)

    def _attach_weights(self, source: Any, weight_cols: tuple[str, ...],
                        key_columns: tuple[str, ...], *, chunk_size: int) -> None:
        other = KeyIndex.read(source, {"weight": weight_cols}, key_columns, self.target_names,
                              chunk_size, self.where)
        positions, _ = other.lookup(list(self._raw))
        if (positions < 0).any():
            i = int(np.flatnonzero(positions < 0)[0])
            raise InputError(
                f"Weights {other.where} have no row for key {_show([self._key_at(i)])} of "
                f"{self.where} ({int((positions < 0).sum())} target keys have no weight); "
                "give a weight for every target key.")
        self.values["weight"] = other.values["weight"][positions]

    def attach_model(self, role: str, source: Any, columns: tuple[str, ...],
                     key_columns: tuple[str, ...], *, name: str, omit: bool,
                     chunk_size: int) -> None:
        """Join the predictions of another model, in a file of its own (``source``, its
        prediction ``columns`` and key columns), to the targets by key: they become the
        values of ``role`` (``pred#m``) of every target row, so that every model is read on
        the same keys. A target key the model has no row for, or a row of the model whose
        key is no target's, is an error naming the model (``where``) and the first keys —
        or, with ``omit``, the target keys it lacks are left out for *every* model (removed
        from the index: the comparison stays paired) and its rows without a target are
        left out. ``name``: the model's name."""
        where = f"model '{name}' ('{source.name}')"
        other = KeyIndex.read(source, {role: columns}, key_columns, self.names, chunk_size,
                              where)
        positions, _ = other.lookup(list(self._raw))
        lacking = positions < 0
        hit = np.zeros(other.size, bool)
        hit[positions[~lacking]] = True
        stray = np.flatnonzero(~hit)
        missing = np.flatnonzero(lacking)
        if not omit and (missing.size or stray.size):
            parts = []
            if missing.size:
                s, verb = ("s", "have") if missing.size != 1 else ("", "has")
                parts.append(f"{missing.size} target key{s} of {self.where} {verb} no row in "
                             f"{where} (first: "
                             f"{_show([self._key_at(int(i)) for i in missing[:SHOWN]])})")
            if stray.size:
                s, verb = ("s", "have") if stray.size != 1 else ("", "has")
                parts.append(f"{stray.size} row{s} of {where} {verb} a key with no target in "
                             f"{self.where} (first: "
                             f"{_show([other._key_at(int(i)) for i in stray[:SHOWN]])})")
            raise InputError(
                f"Keys do not match on {self._cols(tuple(self.names))}: {'; '.join(parts)}. "
                "Every model is compared on the same keys: give each model a row for every "
                "target key, or compare on the keys every model has with --unmatched omit.")
        self.models.append((name, str(source.name), int(missing.size), int(stray.size)))
        self.values[role] = other.values[role][np.maximum(positions, 0)]
        if missing.size:
            self._keep(~lacking)

    def _keep(self, mask: np.ndarray) -> None:
        """Keep the target rows of ``mask`` only (every role's values, the keys, the index)."""
        self._raw = [take_rows(k, mask) for k in self._raw]
        self.values = {role: v[mask] for role, v in self.values.items()}
        self.extra = {name: v[mask] for name, v in self.extra.items()}
        self.size = int(np.count_nonzero(mask))
        self._build()

    def model_notes(self) -> list[str]:
        """What ``--unmatched omit`` left out of the models joined by key."""
        notes = []
        for name, path, missing, stray in self.models:
            where = f"model '{name}' ('{path}')"
            if missing:
                notes.append(f"--unmatched omit: {missing} target key{'s' if missing != 1 else ''}"
                             f" without a row in {where} left out for every model")
            if stray:
                notes.append(f"--unmatched omit: {stray} row{'s' if stray != 1 else ''} of "
                             f"{where} without a target left out")
        return notes

    @staticmethod
    def _cols(cols: tuple[str, ...]) -> str:
        return ", ".join(f"'{c}'" for c in cols)

    def _key_at(self, i: int) -> Any:
        from losscli.grouping import key_value

        values = tuple(key_value(k[i].as_py() if is_arrow(k) else k[i]) for k in self._raw)
        return values[0] if len(values) == 1 else values

    # -- matching -------------------------------------------------------------------------
    def _compare_as(self, pred_keys: list[Any]) -> tuple[bool, ...]:
        """Which key columns compare as text: those whose types differ on the two sides."""
        return tuple(_kind(p) != _kind(t) for p, t in zip(pred_keys, self._raw))

    def align_with(self, pred_keys: list[Any]) -> None:
        """Compare keys as text where the two sides' types differ (builds that index once)."""
        self._text = self._compare_as(pred_keys)
        self._table(self._text)

    def lookup(self, pred_keys: list[Any], hashes: np.ndarray | None = None
               ) -> tuple[np.ndarray, list[Any]]:
        """Target positions of the prediction rows' keys (-1: none), and the keys as compared.
        ``hashes``: the keys' :func:`~losscli.stats.resample.key_ids` as compared, when
        known (text keys are looked up by it)."""
        text = self._compare_as(pred_keys)
        table = self._table(text)
        keys = [k if not t else _as_text(k) for k, t in zip(pred_keys, text)]
        return table.lookup(keys, hashes), keys

    def new_state(self) -> JoinState:
        return JoinState(self.size)

    def join(self, batch: Any, tally: JoinState) -> Any:
        """The batch with the targets (and weights) of its keys; rows without a target left
        out (their row numbers in ``Batch.rows``), noted in ``tally``."""
        from losscli.grouping import key_value
        from losscli.io.inputs import Batch

        pred_keys = [batch.keys[name] for name in self.names]
        text = self._compare_as(pred_keys)
        # text as Arrow once (hashed and compared so): the same identities as the objects
        compared = [_as_text(k) if t else to_arrow(k) if _objects(k) else k
                    for k, t in zip(pred_keys, text)]
        ids = hash_keys([_hashed(k) for k in compared])  # the bootstrap's identities (and
        # the hashes text keys are looked up by)
        positions = self._table(text).lookup(compared, ids)
        hit = positions >= 0
        n = len(positions)
        rows = batch.rows if batch.rows is not None else np.arange(batch.start,
                                                                   batch.start + n)
        if not hit.all():
            missing = np.flatnonzero(~hit)
            tally.unmatched += len(missing)
            room = SHOWN - len(tally.first_unmatched)
            for i in missing[:max(room, 0)]:
                key = tuple(key_value(k[i].as_py() if is_arrow(k) else k[i])
                            for k in pred_keys)
                tally.first_unmatched.append((int(rows[i]), key[0] if len(key) == 1 else key))
        found = positions[hit]
        # the targets this batch matched (ascending), in the batch's rows, not per target row
        seen, counts = np.unique(found, return_counts=True)
        again = seen[(counts > 1) | (tally.matched[seen] > 0)]
        if again.size:
            tally.twice += int(again.size)
            tally.first_twice.extend(int(i) for i in again[:SHOWN])
        tally.matched[seen] = 1
        arrays = {k: (v if hit.all() else v[hit]) for k, v in batch.arrays.items()}
        for role, values in self.values.items():
            arrays[role] = values[found]
        keys = ObjectKeys({k: (v if hit.all() else take_rows(v, hit))
                           for k, v in batch.keys.items()})
        for name, values in self.extra.items():
            keys[name] = values[found]
        return Batch(batch.start, arrays, keys, rows=None if hit.all() and batch.rows is None
                     else rows[hit], ids=ids if hit.all() else ids[hit])

    def ids(self, keys: list[np.ndarray]) -> np.ndarray:
        """Row identities for the bootstrap: a hash of the key (the same in any split)."""
        from losscli.stats.resample import key_ids

        text = self._compare_as(keys)
        return key_ids([_hashed(k if not t else _as_text(k)) for k, t in zip(keys, text)])

    def sample(self, pred_keys: list[np.ndarray]) -> dict[str, np.ndarray]:
        """The targets (NaN where none) of some prediction rows: for task detection."""
        positions, _ = self.lookup(pred_keys)
        out = {}
        for role, values in self.values.items():
            got = values[np.maximum(positions, 0)].astype(np.float64, copy=True)
            got[positions < 0] = np.nan
            out[role] = got
        return out

    # -- the verdict, once every unit is in -------------------------------------------------
    def judge(self, tally: JoinState | None, omit: bool, *,
              targets_too: bool = True) -> dict[str, Any]:
        """See :func:`judge` (``tally``: a merged state's ``join``; with the keys of the
        targets in the messages); with models joined from files of their own, what
        ``--unmatched omit`` left out of each."""
        out = judge(tally, omit, names=self.names, target_names=self.target_names,
                    where=self.where, pred_where=self.pred_where, key_at=self._key_at,
                    targets_too=targets_too)
        if self.models:
            out["models"] = [{"name": name, "path": path, "targets_without_a_row": missing,
                              "rows_without_a_target": stray}
                             for name, path, missing, stray in self.models]
        return out


def judge(join: JoinState | None, omit: bool, *, names: tuple[str, ...] | list[str],
          target_names: tuple[str, ...] | list[str], where: str, pred_where: str,
          key_at: Any = None, targets_too: bool = True) -> dict[str, Any]:
    """Errors for keys matched twice, and — unless ``omit`` — for prediction rows without a
    target and (``targets_too``: once every part is in) targets without a prediction; else
    what was left out (for the report). ``key_at(i)``: the key of target row i (without it,
    messages give target row numbers: ``losscli merge`` has no targets file)."""
    if join is None:
        return {}

    def cols(c: Any) -> str:
        return ", ".join(f"'{x}'" for x in c)

    def target_keys(positions: Any) -> str:
        if key_at is None:
            return "rows " + ", ".join(str(int(i)) for i in positions)
        return _show([key_at(int(i)) for i in positions])

    if join.twice:
        raise InputError(
            f"Key {cols(names)} is not unique in {pred_where}: {join.twice} target "
            f"key{'s are' if join.twice != 1 else ' is'} matched by more than one prediction "
            f"row (first: {target_keys(join.first_twice[:SHOWN])}); a key must name one row "
            "on each side. Remove the duplicate predictions.")
    lone = int(join.targets - np.count_nonzero(join.matched)) if targets_too else 0
    if not omit and (join.unmatched or lone):
        parts = []
        if join.unmatched:
            keys = [k for _, k in join.first_unmatched]
            s, verb = ("s", "have") if join.unmatched != 1 else ("", "has")
            parts.append(f"{join.unmatched} prediction row{s} of {pred_where} {verb} no target "
                         f"in {where} (first: {_show(keys)}, at row "
                         f"{join.first_unmatched[0][0]})")
        if lone:
            first = np.flatnonzero(join.matched == 0)[:SHOWN]
            s, verb = ("s", "have") if lone != 1 else ("", "has")
            parts.append(f"{lone} target{s} of {where} {verb} no prediction in {pred_where} "
                         f"(first: {target_keys(first)})")
        raise InputError(
            f"Keys do not match on {cols(names)}: {'; '.join(parts)}. Check the key columns, "
            "or evaluate the matched rows only with --unmatched omit.")
    return {"id_col": list(names), "target_id_col": list(target_names),
            "targets": join.targets, "matched": int(np.count_nonzero(join.matched)),
            "unmatched_predictions": join.unmatched,
            **({"unmatched_targets": lone} if targets_too else {})}
