"""One pass over aligned batches, every selected loss, one accumulator each.

The engine does no I/O of its own: batches come from the readers, per-row output goes to
the sink it is handed, and the result is plain state for the report. Order per chunk:
non-finite values (``nan_policy``), negative weights, each loss's domain (each distinct
rule once per chunk), then the kernels, which receive their parameters and the options
they declare (``LossSpec.options``: task, from_logits, threshold).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from losscli.accumulate import Accumulator
from losscli.errors import InputError, UsageError
from losscli.io.inputs import Batch
from losscli.registry import CheckContext, Domain, LossInstance
from losscli.vocab import NAN_POLICIES, REDUCTIONS


@dataclass
class EngineResult:
    """Accumulated state after the pass: one accumulator per loss instance."""

    losses: list[LossInstance]
    accumulators: list[Accumulator]
    rows: int = 0  # rows evaluated
    rows_skipped: int = 0  # rows dropped by --nan-policy omit

    def values(self, reduction: str) -> list[float]:
        return [acc.result(reduction) for acc in self.accumulators]


@dataclass
class _NonFinite:
    """Non-finite values seen under nan_policy=raise: counted to the end, then reported."""

    counts: dict[str, int] = field(default_factory=dict)
    first: dict[str, int] = field(default_factory=dict)

    def add(self, role: str, bad: np.ndarray, start: int) -> None:
        idx = np.flatnonzero(bad)
        if idx.size:
            self.counts[role] = self.counts.get(role, 0) + int(idx.size)
            self.first.setdefault(role, start + int(idx[0]))


def check_reduction(losses: list[LossInstance], reduction: str) -> None:
    """Refuse reductions a loss does not have (rmse, r2, max_error have no per-row value)."""
    if reduction not in REDUCTIONS:
        raise UsageError(f"Unknown reduction '{reduction}'; use one of: {', '.join(REDUCTIONS)}.")
    if reduction != "mean":
        whole = [inst.name for inst in losses if not inst.spec.per_row]
        if whole:
            raise UsageError(
                f"{', '.join(whole)} {'has' if len(whole) == 1 else 'have'} no per-row value, so "
                f"--reduction {reduction} is not defined; use --reduction mean, or drop "
                f"{'it' if len(whole) == 1 else 'them'} (mse is the per-row form of rmse)."
            )


def run(
    batches: Iterable[Batch],
    losses: list[LossInstance],
    *,
    describe: Callable[..., str] | None = None,
    reduction: str = "mean",
    nan_policy: str = "raise",
    sink: Any = None,
    on_batch: Callable[[int], None] | None = None,
) -> EngineResult:
    """Stream ``batches`` through every loss. ``describe(role, index=None)`` names a role's
    column and file in errors (``index``: which of a row's several values); ``sink``
    receives per-row losses when ``reduction == "none"``."""
    check_reduction(losses, reduction)
    describe = describe or _plain_name
    if nan_policy not in NAN_POLICIES:
        raise UsageError(
            f"Unknown --nan-policy '{nan_policy}'; use one of: {', '.join(NAN_POLICIES)}."
        )
    if reduction == "none" and sink is None:
        raise UsageError("--reduction none needs somewhere to write rows (an output sink).")
    result = EngineResult(losses, [Accumulator(inst.spec.aggregate) for inst in losses])
    nonfinite = _NonFinite()
    labels = [inst.label for inst in losses]
    state: dict[str, Any] = {}  # kept across chunks by stateful rules (binary labels)
    contexts = [
        CheckContext(task=inst.options.get("task", "regression"),
                     from_logits=bool(inst.options.get("from_logits", False)), state=state)
        for inst in losses
    ]
    options = [inst.kernel_options() for inst in losses]

    for batch in batches:
        arrays = batch.arrays
        n = len(batch)
        rows: np.ndarray | None = None  # original row numbers, when rows were dropped
        # A finite sum proves every value finite (NaN and inf propagate through it): one
        # cheap pass without a mask; only a non-finite sum (or an overflow) looks closer.
        if nan_policy != "propagate" and not _all_finite(arrays):
            finite = {role: np.isfinite(a) for role, a in arrays.items()}
            if not all(f.all() for f in finite.values()):
                if nan_policy == "raise":
                    for role, f in finite.items():
                        nonfinite.add(role, ~f if f.ndim == 1 else ~f.all(axis=1), batch.start)
                    continue
                keep = np.logical_and.reduce(
                    [f if f.ndim == 1 else f.all(axis=1) for f in finite.values()]
                )
                rows = batch.start + np.flatnonzero(keep)
                arrays = {role: a[keep] for role, a in arrays.items()}
                result.rows_skipped += n - int(keep.sum())
                n = int(keep.sum())
        if nonfinite.counts:
            continue  # only counting from here on, to report every bad value at once
        weights = arrays.get("weight")
        if weights is not None:
            _check_weights(weights, batch.start if rows is None else rows, describe)
        pred = arrays.get("pred")
        classes = pred.shape[1] if pred is not None and pred.ndim == 2 else None
        checked: set[tuple[int, str, bool]] = set()
        for inst, ctx in zip(losses, contexts):
            ctx.classes = classes
            _check_domain(inst, ctx, checked, arrays, batch.start if rows is None else rows,
                          describe)
        per_row: dict[str, np.ndarray] = {}
        for inst, acc, label, opts in zip(losses, result.accumulators, labels, options):
            spec = inst.spec
            values = spec.kernel(**{r: arrays[r] for r in spec.inputs}, **inst.params, **opts)
            acc.update(values, weights, arrays.get("target") if spec.aggregate == "r2" else None)
            if sink is not None:
                per_row[label] = values if weights is None else values * weights
        if sink is not None and n:
            sink.write(
                np.arange(batch.start, batch.start + n) if rows is None else rows, per_row
            )
        result.rows += n
        if on_batch is not None:
            on_batch(batch.start + len(batch))

    if nonfinite.counts:
        role = min(nonfinite.first, key=lambda r: nonfinite.first[r])
        others = sum(nonfinite.counts.values()) - nonfinite.counts[role]
        more = f", and {others} more in other columns" if others else ""
        raise InputError(
            f"{describe(role)} has {nonfinite.counts[role]} NaN/inf value"
            f"{'s' if nonfinite.counts[role] != 1 else ''} (first at row {nonfinite.first[role]})"
            f"{more}. Clean the data, or use --nan-policy omit to skip those rows "
            "(or propagate to let NaN through)."
        )
    return result


def _all_finite(arrays: dict[str, np.ndarray]) -> bool:
    with np.errstate(all="ignore"):  # an overflowing sum only sends us to the exact check
        return all(bool(np.isfinite(np.sum(a))) for a in arrays.values())


def _plain_name(role: str, index: int | None = None) -> str:
    return role if index is None else f"{role}[{index}]"


def _row_of(rows: int | np.ndarray, index: int) -> int:
    return rows + index if isinstance(rows, int) else int(rows[index])


def _check_weights(weights: np.ndarray, rows: int | np.ndarray, describe: Callable[[str], str]) -> None:
    if weights.size and weights.min() < 0:
        i = int(np.flatnonzero(weights < 0)[0])
        raise InputError(
            f"Negative sample weight {float(weights[i])!r} in {describe('weight')} at row "
            f"{_row_of(rows, i)}; sample weights must be >= 0."
        )


def _check_domain(inst: LossInstance, ctx: CheckContext, checked: set[tuple[int, str, bool]],
                  arrays: dict[str, np.ndarray], rows: int | np.ndarray,
                  describe: Callable[..., str]) -> None:
    """Raise on the first row that breaks one of the loss's rules. A rule shared by several
    losses (with the same task and from_logits) is checked once per chunk."""
    for rule in inst.spec.domain:
        key = (id(rule), ctx.task, ctx.from_logits)
        if key in checked or not rule.applies(ctx):
            continue
        checked.add(key)
        array = arrays[rule.role]
        bad = rule.mask(array, ctx)
        column = None
        if bad.ndim > 1:  # per entry: name the column (or list position) as well
            per_row = bad.any(axis=1)
            if per_row.any():
                column = int(np.flatnonzero(bad[np.flatnonzero(per_row)[0]])[0])
            bad = per_row
        if bad.any():
            _domain_error(inst, rule, ctx, array, bad, column, rows, describe)


def _domain_error(inst: LossInstance, rule: Domain, ctx: CheckContext, array: np.ndarray,
                  bad: np.ndarray, column: int | None, rows: int | np.ndarray,
                  describe: Callable[..., str]) -> None:
    idx = np.flatnonzero(bad)
    row = array[idx[0]]
    if column is not None:
        shown = repr(row[column].tolist())
        where = describe(rule.role, column) if array.ndim == 2 else describe(rule.role)
    else:
        shown = rule.show(row) if rule.show is not None else repr(row.tolist())
        where = describe(rule.role)
    requirement = rule.requirement.replace("{classes}", str(ctx.classes))
    raise InputError(
        f"{inst.name} needs {rule.noun} {requirement} in {where}, but row "
        f"{_row_of(rows, int(idx[0]))} has {shown} ({idx.size} such rows in this chunk). "
        f"{rule.hint}"
    )
