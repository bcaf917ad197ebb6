"""The first pass over a label column (see :mod:`losscli.labels`): its labels in order of
first appearance, from the Arrow codes of a dictionary-read column (no per-row Python)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from losscli.errors import InputError
from losscli.io.base import MultiFile, raw_key
from losscli.labels.mapping import MAX_LABELS, SCAN_ROWS, TRUE_WORDS, Label, capitalised, coding

# -- the first pass ------------------------------------------------------------------------

def scan(source: Any, column: str, kind: str, raw: bool, where: str,
         limit: int | None = None) -> dict[Label, tuple[int, str | None]]:
    """The labels of one column, in order of first appearance, each with its first row and
    file (None for a lone file; in a folder the row is that of its file): a pass over that
    column alone (every file of a folder; its first ``limit`` rows only, for ``inspect``).
    More than MAX_LABELS distinct labels is an InputError (not a column of labels)."""
    columns, wanted = ([], (column,)) if raw else ([column], ())

    def files() -> Iterator[tuple[Iterator[dict[str, np.ndarray]], str | None]]:
        if isinstance(source, MultiFile):
            for i in range(len(source.files)):
                yield (source.read_part(i, columns, SCAN_ROWS, wanted),
                       str(source.files[i].display))
        else:
            yield source.chunks(columns, SCAN_ROWS, wanted), None

    seen: dict[Label, tuple[int, str | None]] = {}
    total = 0
    for chunks, file in files():
        row = 0
        for chunk in chunks:
            if not chunk:
                continue
            values = chunk[raw_key(column)] if raw else chunk[column]
            if limit is not None:
                if total >= limit:
                    return seen
                values = values[:limit - total]
                total += len(values)
            _note_new(seen, values, kind, row, file)
            row += len(values)
            if len(seen) > MAX_LABELS:
                raise InputError(
                    f"{capitalised(where)} holds more than {MAX_LABELS} distinct labels; a target of labels "
                    "has a few classes. Choose the target column with --target-col.")
    return seen


def _first_rows(values: np.ndarray) -> dict[Any, int] | None:
    """The distinct strings of a coded column with the row of each one's first appearance,
    from the codes alone (no per-row Python), or None when the column is not coded."""
    coded = coding(values)
    if coded is None:
        return None
    codes, table = coded
    present = np.flatnonzero(np.bincount(codes, minlength=len(table)))
    if len(present) <= 64:  # a pass per label: no sort of the codes
        first = np.array([int(np.argmax(codes == c)) for c in present.tolist()], np.int64)
    else:
        present, first = np.unique(codes, return_index=True)
    out: dict[Any, int] = {}
    for code, at in zip(present.tolist(), first.tolist()):
        v = table[code]
        if v not in out or at < out[v]:  # a dictionary may repeat a string
            out[v] = at
    return out


def _note_new(seen: dict[Label, tuple[int, str | None]], values: np.ndarray, kind: str,
              row: int, file: str | None) -> None:
    if values.dtype == object:
        firsts_of = _first_rows(values)
        if firsts_of is not None:
            for v, first in sorted(firsts_of.items(), key=lambda item: item[1]):
                if v is None or v == "":
                    continue
                label = v.lower() in TRUE_WORDS if kind == "bool" else v
                if label not in seen:
                    seen[label] = (row + first, file)
            return
        values = values.view(np.ndarray)  # iterated below: no per-row subclass __getitem__
        found = set(values) - {None, ""}  # hashing the objects: no list built
        if kind == "bool":  # CSV text of a boolean column
            words = {v: v.lower() in TRUE_WORDS for v in found}
            new = [v for v in found if words[v] not in seen]
        else:
            new = [v for v in found if v not in seen]
        if not new:
            return
        # (a Python scan: numpy's == drops a string's trailing NULs, "\x00" would match none)
        wanted, first_at = set(new), {}
        for i, x in enumerate(values):
            if x in wanted and x not in first_at:
                first_at[x] = i
                if len(first_at) == len(wanted):
                    break
        firsts = sorted((first_at[v], v) for v in new)
        for first, v in firsts:
            label = words[v] if kind == "bool" else v
            if label not in seen:
                seen[label] = (row + first, file)
        return
    if values.dtype == bool:
        for label in (True, False):
            if label not in seen:
                hits = np.flatnonzero(values == label)
                if hits.size:
                    seen[label] = (row + int(hits[0]), file)
        return
    finite = values[np.isfinite(values)]
    new = [v for v in np.unique(finite).tolist() if (bool(v) if kind == "bool" else v) not in seen]
    firsts = sorted((int(np.flatnonzero(values == v)[0]), v) for v in new)
    for first, v in firsts:
        seen[bool(v) if kind == "bool" else float(v)] = (row + first, file)
