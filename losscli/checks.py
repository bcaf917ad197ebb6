"""Per-batch checks of the engine's input (:func:`losscli.engine.reduce`): NaN/inf counts,
negative weights, model files whose targets or id-like columns disagree, binary label
conventions, and each loss's domain; the rows each model is evaluated on under
``--nan-policy omit`` (:func:`model_view`; one row set per comparison: :func:`common_rows`);
and :func:`raise_pending`, which raises what could only be judged once every row was seen.
A check raises :class:`InputError` naming the role, its file and column, and the row.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from losscli.domain import CheckContext, Domain
from losscli.errors import InputError
from losscli.io.inputs import Batch
from losscli.registry import LossInstance
from losscli.state import Cell, NonFinite, Position, State

Describe = Callable[..., str]


def pred_role(model: int) -> str:
    """The role holding model ``model``'s predictions: ``pred``, ``pred#1``, ..."""
    return "pred" if model == 0 else f"pred#{model}"


def raise_pending(state: State, describe: Describe, instances: Iterable[LossInstance] = ()
                  ) -> None:
    """Raise what could only be judged once every row was seen: NaN/inf values under
    ``--nan-policy raise``, a unit's recorded error, and binary labels using both 0 and -1.
    The earliest in the stream wins, as in a serial pass."""
    found: list[tuple[Position, str]] = []
    nonfinite = state.nonfinite
    if nonfinite.counts:
        role = min(nonfinite.first, key=lambda r: nonfinite.first[r])
        count = nonfinite.counts[role]
        others = sum(nonfinite.counts.values()) - count
        more = f", and {others} more in other columns" if others else ""
        found.append((nonfinite.first[role], (
            f"{describe(role)} has {count} NaN/inf value{'s' if count != 1 else ''} (first at "
            f"row {nonfinite.first[role].row}){more}. Clean the data, or use --nan-policy omit "
            "to skip those rows (or propagate to let NaN through).")))
    if state.error is not None:
        found.append((state.error.at, state.error.message))
    if len(state.negatives) > 1:
        from losscli.losses.common import BINARY_LABELS

        first, second = sorted(state.negatives.items(), key=lambda kv: kv[1].at)
        users = [inst.name for inst in instances if BINARY_LABELS in inst.spec.domain]
        if users:
            label, seen = second
            found.append((seen.at, (
                f"{users[0]} needs {BINARY_LABELS.noun} {BINARY_LABELS.requirement} in "
                f"{describe('target')}, but row {seen.at.row} has {label!r} ({seen.in_chunk} "
                f"such rows in that chunk), after {first[0]!r} at row {first[1].at.row}. "
                f"{BINARY_LABELS.hint}")))
    if found:
        raise InputError(min(found, key=lambda f: f[0])[1])


def all_finite(arrays: dict[str, np.ndarray], residual: np.ndarray | None = None) -> bool:
    # A finite sum proves every value finite (NaN and inf propagate through it): one
    # cheap pass without a mask; only a non-finite sum (or an overflow) looks closer.
    # ``residual``: pred - target (the engine's, of the same shape), which stands for both:
    # a finite difference has finite terms (inf - x is never finite).
    with np.errstate(all="ignore"):
        if residual is not None and np.isfinite(np.sum(residual)):
            arrays = {r: a for r, a in arrays.items() if r not in ("pred", "target")}
        return all(bool(np.isfinite(np.sum(a))) for a in arrays.values())


def rows_bad(a: np.ndarray) -> np.ndarray:
    bad = ~np.isfinite(a)
    return bad if bad.ndim == 1 else bad.any(axis=1)


def count_nonfinite(arrays: dict[str, np.ndarray], start: int, into: NonFinite,
                     rows: np.ndarray | None = None) -> int:
    """Count rows holding NaN/inf, per role; returns the total."""
    total = 0
    for role, a in arrays.items():
        idx = np.flatnonzero(rows_bad(a))
        if idx.size:
            into.add(role, int(idx.size), Position(start, row_of(start, rows, int(idx[0]))))
            total += int(idx.size)
    return total


def common_rows(arrays: dict[str, np.ndarray], nan_policy: str) -> np.ndarray | None:
    """Under ``--nan-policy omit`` with several models: the mask of the rows where every
    array of the batch (every model's predictions and targets, the shared targets and
    weights) is finite; None when no row is dropped (or another policy)."""
    if nan_policy != "omit" or all_finite(arrays):
        return None
    return np.logical_and.reduce([~rows_bad(a) for a in arrays.values()])


def model_view(arrays: dict[str, np.ndarray], model: int, nan_policy: str, start: int,
                cell: Cell, numbers: np.ndarray | None = None,
                common: np.ndarray | None = None,
                ) -> tuple[dict[str, np.ndarray], np.ndarray | None, np.ndarray | None]:
    """The arrays model ``model`` is evaluated on (its predictions as ``pred``), and, when
    ``--nan-policy omit`` dropped rows, their original row numbers and the mask kept (else
    None, None). ``common``: the rows every model keeps (:func:`common_rows`), when the
    batch holds several models."""
    mine = pred_role(model)
    view = {("pred" if role == mine else role): a for role, a in arrays.items()
            if role == mine or not (role.startswith("pred") or "#" in role)}
    if common is not None:
        keep = common
    elif nan_policy != "omit" or all_finite(view):
        return view, numbers, None
    else:
        keep = np.logical_and.reduce([~rows_bad(a) for a in view.values()])
    kept = int(keep.sum())
    cell.rows_skipped += len(keep) - kept
    rows = start + np.flatnonzero(keep) if numbers is None else numbers[keep]
    return {role: a[keep] for role, a in view.items()}, rows, keep


def row_of(start: int, rows: np.ndarray | None, index: int) -> int:
    return start + index if rows is None else int(rows[index])


def check_weights(weights: np.ndarray, start: int, describe: Describe,
                   rows: np.ndarray | None = None) -> None:
    if weights.size and weights.min() < 0:
        i = int(np.flatnonzero(weights < 0)[0])
        raise InputError(
            f"Negative sample weight {float(weights[i])!r} in {describe('weight')} at row "
            f"{row_of(start, rows, i)}; sample weights must be >= 0."
        )


def check_same_targets(shared: np.ndarray, own: np.ndarray, role: str, start: int,
                        describe: Describe, rows: np.ndarray | None = None) -> None:
    """A model file's own targets must be the first model's, row by row: otherwise the
    files are not aligned, and comparing them would compare different rows."""
    same = (shared == own) | (np.isnan(shared) & np.isnan(own))
    if same.ndim == 2:
        same = same.all(axis=1)
    if not same.all():
        i = int(np.flatnonzero(~same)[0])
        raise InputError(
            f"The targets in {describe(role)} differ from those in {describe('target')} at row "
            f"{row_of(start, rows, i)} ({own[i].tolist()!r} vs {shared[i].tolist()!r}): the model files are "
            "not aligned row by row. Give the shared targets with --targets FILE, or align the "
            "files."
        )


def check_aligned(batch: Batch, column: str, mine: str, theirs: str, pred_file: str,
                   target_file: str) -> None:
    """The id-like column ``column`` must hold the same value in both files on every row."""
    a, b = batch.keys[mine], batch.keys[theirs]
    if a.dtype.kind != b.dtype.kind or a.dtype.kind == "O":
        from losscli.grouping import key_value

        def text(v: np.ndarray) -> np.ndarray:
            out = np.empty(len(v), dtype=object)
            out[:] = [str(key_value(x)) for x in v]
            return out

        a, b = text(a), text(b)
    same = a == b
    if not np.all(same):
        i = int(np.flatnonzero(~np.asarray(same, dtype=bool))[0])
        raise InputError(
            f"Rows are not aligned: column '{column}' is {a[i]!r} in '{pred_file}' but "
            f"{b[i]!r} in '{target_file}' at row {row_of(batch.start, batch.rows, i)}: the "
            f"files list their rows in different orders. Join them by key with --id-col "
            f"{column}.")


def note_negative_labels(state: State, target: np.ndarray, start: int,
                          rows: np.ndarray | None = None) -> None:
    """Record where labels 0 and -1 first appear (a file must use one convention; units
    read apart are compared once merged)."""
    for label in (0.0, -1.0):
        hits = np.flatnonzero(target == label)
        if hits.size:
            state.note_label(label, Position(start, row_of(start, rows, int(hits[0]))),
                             int(hits.size))


def check_domains(instances: Iterable[LossInstance], contexts: list[CheckContext],
                  view: dict[str, np.ndarray],
                   rows: np.ndarray | None, describe: Describe, model: int,
                   at: Position) -> None:
    """Raise on the first row that breaks a loss's rule. A rule shared by several losses
    (with the same task and from_logits) is checked once per chunk and input."""
    pred = view.get("pred")
    classes = pred.shape[1] if pred is not None and pred.ndim == 2 else None
    checked: set[tuple[int, str, bool]] = set()
    for inst, ctx in zip(instances, contexts):
        ctx.classes = classes
        for rule in inst.spec.domain:
            key = (id(rule), ctx.task, ctx.from_logits)
            if key in checked or not rule.applies(ctx):
                continue
            checked.add(key)
            if model > 0 and rule.role != "pred":
                continue  # shared inputs were checked with model 0
            array = view[rule.role]
            found = rule.violation(array, ctx, None if rule.other is None else view[rule.other])
            if found is not None:
                role = pred_role(model) if rule.role == "pred" else rule.role
                _raise_violation(inst, rule, found, array, role, rows, at, describe)


def _raise_violation(inst: LossInstance, rule: Domain, found: Any, array: np.ndarray,
                     role: str, rows: np.ndarray | None, at: Position,
                     describe: Describe) -> None:
    where = (describe(role, found.column) if found.column is not None and array.ndim == 2
             else describe(role))
    row = row_of(at.chunk_start, rows, found.index)
    raise InputError(found.message(inst.name, where, row))
