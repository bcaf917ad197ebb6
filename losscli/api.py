"""The importable API: ``evaluate`` takes paths, numpy arrays or pandas objects."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from losscli import engine
from losscli.errors import UsageError
from losscli.io.inputs import Inputs, resolve_inputs
from losscli.io.sources import ArraySource
from losscli.registry import LossInstance, resolve_losses
from losscli.report import LossResult, Report

DEFAULT_CHUNK_SIZE = 1 << 18
DEFAULT_LOSSES = ("mse", "rmse", "mae")


def _as_source(obj: Any, name: str, default_column: str) -> Any:
    """A path stays a path; an array or pandas object becomes an in-memory source."""
    if obj is None or isinstance(obj, str):
        return obj
    if isinstance(obj, os.PathLike):
        return os.fspath(obj)
    if hasattr(obj, "columns") and hasattr(obj, "to_numpy"):  # pandas DataFrame
        return ArraySource(name, {str(c): obj[c].to_numpy() for c in obj.columns})
    if hasattr(obj, "to_numpy"):  # pandas Series
        return ArraySource(name, {str(obj.name or default_column): obj.to_numpy()})
    if isinstance(obj, np.ndarray | list | tuple):
        return ArraySource(name, {default_column: np.asarray(obj)})
    raise UsageError(
        f"Cannot read {name} from {type(obj).__name__}; pass a file path, a numpy array "
        "or a pandas DataFrame/Series."
    )


class _MemorySink:
    """Collects per-row losses for the Python API (the CLI streams them instead)."""

    def __init__(self, labels: list[str]) -> None:
        self.labels = labels
        self.parts: dict[str, list[np.ndarray]] = {"row": [], **{lb: [] for lb in labels}}

    def write(self, rows: np.ndarray, values: dict[str, np.ndarray]) -> None:
        self.parts["row"].append(np.asarray(rows, dtype=np.int64))
        for lb in self.labels:
            self.parts[lb].append(values[lb])

    def close(self) -> None:
        pass

    def result(self) -> dict[str, np.ndarray]:
        return {k: np.concatenate(v) if v else np.empty(0) for k, v in self.parts.items()}


def prepare(
    predictions: Any,
    targets: Any = None,
    *,
    losses: Iterable[str] | str | None = None,
    weights: Any = None,
    pred_col: str | list[str] | None = None,
    target_col: str | list[str] | None = None,
    weight_col: str | None = None,
    format_in: str | None = None,
    params: dict[str, Any] | None = None,
) -> tuple[Inputs, list[LossInstance]]:
    """Resolve the inputs and the loss instances (shared by ``evaluate`` and the CLI)."""
    loss_args = [losses] if isinstance(losses, str) else list(losses or DEFAULT_LOSSES)
    instances = resolve_losses(loss_args, params)
    if isinstance(predictions, np.ndarray | list | tuple) and targets is None:
        raise UsageError("Predictions given as an array need targets: evaluate(pred, target).")
    inputs = resolve_inputs(
        _as_source(predictions, "predictions", "pred"),
        _as_source(targets, "targets", "target"),
        _as_source(weights, "weights", "weight"),
        pred_col=pred_col,
        target_col=target_col,
        weight_col=weight_col,
        format_in=format_in,
    )
    return inputs, instances


def evaluate(
    predictions: Any,
    targets: Any = None,
    *,
    losses: Iterable[str] | str | None = None,
    weights: Any = None,
    pred_col: str | list[str] | None = None,
    target_col: str | list[str] | None = None,
    weight_col: str | None = None,
    reduction: str = "mean",
    nan_policy: str = "raise",
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    format_in: str | None = None,
    params: dict[str, Any] | None = None,
    output: str | None = None,
    on_batch: Callable[[int], None] | None = None,
    _sink: Any = None,
) -> Report:
    """Evaluate losses over predictions and targets, streaming in chunks.

    ``predictions``/``targets``/``weights``: a file path (CSV, TSV, Parquet, NPY, Feather), a
    numpy array, or a pandas DataFrame/Series. ``losses``: names with optional inline
    parameters (``"huber:delta=0.5"``); ``params`` sets a parameter for every loss that takes
    it (like the CLI's ``--delta``). With ``reduction="none"`` per-row losses go to
    ``output`` (a .csv/.parquet/.npy/.ndjson path) or, without one, into ``report.per_row``.

    Raises :class:`losscli.errors.LossCliError` subclasses for bad options or data.
    """
    started = time.perf_counter()
    inputs, instances = prepare(
        predictions, targets, losses=losses, weights=weights, pred_col=pred_col,
        target_col=target_col, weight_col=weight_col, format_in=format_in, params=params,
    )
    return evaluate_prepared(
        inputs, instances, reduction=reduction, nan_policy=nan_policy, chunk_size=chunk_size,
        output=output, on_batch=on_batch, _sink=_sink, _started=started,
    )


def evaluate_prepared(
    inputs: Inputs,
    instances: list[LossInstance],
    *,
    reduction: str = "mean",
    nan_policy: str = "raise",
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    output: str | None = None,
    on_batch: Callable[[int], None] | None = None,
    _sink: Any = None,
    _started: float | None = None,
) -> Report:
    """``evaluate`` after :func:`prepare`: the CLI resolves inputs once (standard input can
    be read only once), looks at them (progress, per-row sink), then runs this."""
    started = time.perf_counter() if _started is None else _started
    engine.check_reduction(instances, reduction)
    sink = _sink
    labels = [inst.label for inst in instances]
    if reduction == "none" and sink is None:
        if output is None:
            sink = _MemorySink(labels)
        else:
            from losscli.io.writers import open_sink

            sink = open_sink(output, labels)
    try:
        state = engine.run(
            inputs.batches(chunk_size), instances, describe=inputs.describe,
            reduction=reduction, nan_policy=nan_policy, sink=sink, on_batch=on_batch,
        )
    finally:
        if sink is not None:
            sink.close()
    if state.rows == 0 and state.rows_skipped == 0:
        from losscli.errors import InputError

        raise InputError(
            f"{inputs.describe('pred')} has no data rows; nothing to evaluate."
        )
    values: list[float | None] = (
        [None] * len(instances) if reduction == "none" else list(state.values(reduction))
    )
    report = Report(
        inputs=inputs.to_dict(),
        rows=state.rows,
        rows_skipped=state.rows_skipped,
        reduction=reduction,
        losses=[
            LossResult(inst.name, dict(inst.params), v, inst.spec.higher_is_better, inst.label)
            for inst, v in zip(instances, values)
        ],
        elapsed_seconds=time.perf_counter() - started,
        output=output if reduction == "none" else None,
    )
    if isinstance(sink, _MemorySink):
        report.per_row = sink.result()
    return report
