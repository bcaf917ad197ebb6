"""Which column plays which role, and aligned chunks of (pred, target, weight).

``resolve_inputs`` opens the files, finds the prediction/target/weight columns (given or
detected from common names) and returns :class:`Inputs`, whose ``batches`` yields
:class:`Batch` objects with exactly ``chunk_size`` aligned rows (the last may be shorter).
A file read for several roles is read once.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from losscli.errors import InputError, UsageError, did_you_mean
from losscli.io.sources import ARRAY, open_source

PRED_NAMES = ("pred", "preds", "prediction", "predictions", "y_pred", "yhat", "y_hat",
              "predicted", "output", "score")
TARGET_NAMES = ("target", "targets", "label", "labels", "y_true", "y", "truth", "actual",
                "ground_truth")


@dataclass
class Batch:
    """Aligned rows ``start .. start + len`` of every role, as float64 arrays."""

    start: int
    arrays: dict[str, np.ndarray]

    def __len__(self) -> int:
        return len(next(iter(self.arrays.values())))


@dataclass
class ColumnRef:
    source: Any
    column: str

    def describe(self) -> str:
        if self.column == ARRAY:
            return f"'{self.source.name}'"
        return f"column '{self.column}' of '{self.source.name}'"


@dataclass
class Inputs:
    """The resolved inputs: a column per role, and the files they come from."""

    roles: dict[str, ColumnRef]

    def describe(self, role: str) -> str:
        return self.roles[role].describe()

    @property
    def num_rows(self) -> int | None:
        counts = {ref.source.num_rows for ref in self.roles.values()}
        return counts.pop() if len(counts) == 1 else None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for role, key in (("pred", "predictions"), ("target", "targets"), ("weight", "weights")):
            ref = self.roles.get(role)
            out[key] = None if ref is None else {
                "path": ref.source.name,
                "format": ref.source.format,
                "column": None if ref.column == ARRAY else ref.column,
            }
        return out

    def batches(self, chunk_size: int) -> Iterator[Batch]:
        """Aligned chunks; a length mismatch between files is an InputError naming both."""
        if chunk_size < 1:
            raise UsageError(f"--chunk-size must be at least 1, got {chunk_size}.")
        by_source: dict[int, tuple[Any, list[tuple[str, str]]]] = {}
        for role, ref in self.roles.items():
            by_source.setdefault(id(ref.source), (ref.source, []))[1].append((role, ref.column))
        streams = []
        for source, pairs in by_source.values():
            columns = list(dict.fromkeys(col for _, col in pairs))
            streams.append((source, pairs, rechunk(source.chunks(columns, chunk_size), chunk_size)))
        start = 0
        while True:
            parts: list[tuple[Any, list[tuple[str, str]], dict[str, np.ndarray] | None]] = [
                (source, pairs, next(stream, None)) for source, pairs, stream in streams
            ]
            done = [p is None for _, _, p in parts]
            if all(done):
                return
            lengths = {len(next(iter(p.values()))) for _, _, p in parts if p is not None}
            if any(done) or len(lengths) > 1:
                self._length_mismatch(streams, parts, start)
            arrays: dict[str, np.ndarray] = {}
            for _, pairs, part in parts:
                assert part is not None
                for role, col in pairs:
                    arrays[role] = part[col]
            batch = Batch(start, arrays)
            start += len(batch)
            yield batch

    def _length_mismatch(self, streams: list[Any], parts: list[Any], start: int) -> None:
        counts = []
        for (source, _, stream), (_, _, part) in zip(streams, parts):
            n = start
            if part is not None:
                n += len(next(iter(part.values())))
                n += sum(len(next(iter(p.values()))) for p in stream)
            counts.append(f"'{source.name}' has {n} rows")
        raise InputError(
            f"Row counts differ: {' but '.join(counts)}. Predictions, targets and weights are "
            "aligned by row order, so the files must have the same number of rows."
        )


def rechunk(
    chunks: Iterator[dict[str, np.ndarray]], size: int
) -> Iterator[dict[str, np.ndarray]]:
    """Re-slice a stream of column dicts into chunks of exactly ``size`` rows (last shorter)."""
    pending: list[dict[str, np.ndarray]] = []
    have = 0
    for chunk in chunks:
        n = len(next(iter(chunk.values()))) if chunk else 0
        if n == 0:
            continue
        if not pending and n == size:
            yield chunk
            continue
        pending.append(chunk)
        have += n
        while have >= size:
            merged = _concat(pending)
            yield {k: v[:size] for k, v in merged.items()}
            rest = {k: v[size:] for k, v in merged.items()}
            have -= size
            pending = [rest] if have else []
    if have:
        yield _concat(pending)


def _concat(parts: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    if len(parts) == 1:
        return parts[0]
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


def _pick(source: Any, given: str | None, candidates: tuple[str, ...], role: str,
          flag: str, taken: set[str], sole_ok: bool) -> str | None:
    cols = list(source.columns)
    if given is not None:
        if given in cols:
            return given
        lower = {c.lower(): c for c in cols}
        if given.lower() in lower:
            return lower[given.lower()]
        raise InputError(
            f"No column '{given}' ({flag}) in '{source.name}'; its columns are: "
            f"{', '.join(cols)}.{did_you_mean(given, cols)}"
        )
    if cols == [ARRAY]:
        return ARRAY
    free = [c for c in cols if c not in taken]
    matches = [c for c in free if c.lower() in candidates]
    if len(matches) == 1:
        return matches[0]
    if len(matches) > 1:
        raise InputError(
            f"Several {role} columns in '{source.name}' ({', '.join(matches)}); "
            f"choose one with {flag}."
        )
    if sole_ok and len(free) == 1:
        return free[0]
    return None


def _single(value: str | list[str] | None, flag: str) -> str | None:
    """One column name from a CLI list (repeatable option) or a plain string."""
    if value is None or isinstance(value, str):
        return value
    if len(value) == 1:
        return value[0]
    if not value:
        return None
    raise UsageError(f"{flag} was given {len(value)} times ({', '.join(value)}); give one column.")


def resolve_inputs(
    predictions: str | Any,
    targets: str | Any | None = None,
    weights: str | Any | None = None,
    *,
    pred_col: str | list[str] | None = None,
    target_col: str | list[str] | None = None,
    weight_col: str | None = None,
    format_in: str | None = None,
) -> Inputs:
    """Open the input files (or take already-open sources) and bind a column to each role.

    ``format_in`` overrides the predictions file's extension, and names the format of any
    other file whose extension says nothing.
    """
    from losscli.io.sources import detect_format

    pred_col = _single(pred_col, "--pred-col")
    target_col = _single(target_col, "--target-col")

    def open_any(obj: Any, main: bool) -> Any:
        if not isinstance(obj, str):
            return obj
        fmt = format_in if main or detect_format(obj) is None else None
        return open_source(obj, fmt)

    pred_src = open_any(predictions, True)
    tgt_src = open_any(targets, False) if targets is not None else pred_src
    w_src = open_any(weights, False) if weights is not None else None
    separate_targets = tgt_src is not pred_src

    pred = _pick(pred_src, pred_col, PRED_NAMES, "prediction", "--pred-col", set(),
                 sole_ok=separate_targets)
    if pred is None:
        raise InputError(
            f"No prediction column found in '{pred_src.name}' (columns: "
            f"{', '.join(pred_src.columns)}); looked for {', '.join(PRED_NAMES[:6])}, ...; "
            "name it with --pred-col."
        )
    taken = {pred} if not separate_targets else set()
    if pred_src.columns == [ARRAY] and not separate_targets:
        raise UsageError(
            f"'{pred_src.name}' holds one array (the predictions); give the targets with "
            "--targets FILE."
        )
    target = _pick(tgt_src, target_col, TARGET_NAMES, "target", "--target-col", taken,
                   sole_ok=True)
    if target is None:
        raise InputError(
            f"No target column found in '{tgt_src.name}' (columns: {', '.join(tgt_src.columns)}); "
            f"looked for {', '.join(TARGET_NAMES[:6])}, ...; name it with --target-col, "
            "or give a targets file with --targets."
        )
    if not separate_targets and target == pred:
        raise UsageError(
            f"Column '{pred}' of '{pred_src.name}' was chosen as both prediction and target; "
            "set --pred-col and --target-col to different columns."
        )
    roles = {"pred": ColumnRef(pred_src, pred), "target": ColumnRef(tgt_src, target)}
    if w_src is not None:
        weight = _pick(w_src, weight_col, ("weight", "weights", "sample_weight"), "weight",
                       "--weight-col", set(), sole_ok=True)
        if weight is None:
            raise InputError(
                f"No weight column found in '{w_src.name}' (columns: {', '.join(w_src.columns)}); "
                "name it with --weight-col."
            )
        roles["weight"] = ColumnRef(w_src, weight)
    elif weight_col is not None:
        home = pred_src
        if weight_col not in pred_src.columns and separate_targets and (
            weight_col in tgt_src.columns
        ):
            home = tgt_src
        roles["weight"] = ColumnRef(home, _pick(home, weight_col, (), "weight", "--weight-col",
                                                set(), sole_ok=False) or weight_col)
    return Inputs(roles)
