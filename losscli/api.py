"""The importable API: ``evaluate`` takes paths, numpy arrays or pandas objects."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from losscli import engine
from losscli.errors import UsageError
from losscli.io.formats.memory import ArraySource
from losscli.io.inputs import Inputs, resolve_inputs
from losscli.io.prefetch import prefetch
from losscli.registry import LossInstance, all_losses, resolve_losses
from losscli.report import LossResult, Report

DEFAULT_CHUNK_SIZE = 1 << 18
#: Values per chunk when rows are wide (class scores, embeddings): with ``chunk_size`` left
#: to its default, a chunk holds this many values rather than DEFAULT_CHUNK_SIZE rows.
WIDE_CHUNK_VALUES = 1 << 20


def default_chunk_size(width: int) -> int:
    """Rows per chunk for rows of ``width`` values: DEFAULT_CHUNK_SIZE, fewer when wide (a
    1M x 100 float64 chunk would be 200 MB per array; this keeps it near 8 MB)."""
    return DEFAULT_CHUNK_SIZE if width <= 1 else max(1024, WIDE_CHUNK_VALUES // width)
DEFAULT_LOSSES = ("mse", "rmse", "mae")  # for regression; see losscli.tasks.DEFAULT_LOSSES


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


def _roles_needed(specs: list[Any], columns: dict[str, Any], files: dict[str, Any],
                  main: Any) -> tuple[str, ...]:
    """The roles to bind: those the selected losses read; without --loss, triplet inputs
    when anchor/positive/negative are given or the main file has such columns, else
    predictions and targets."""
    from losscli.vocab import EMBEDDING_ROLES, ROLES

    if specs:
        roles = tuple(dict.fromkeys(r for spec in specs for r in spec.inputs))
    elif any(columns.get(r) or files.get(r) is not None for r in EMBEDDING_ROLES) or (
        _has_columns(main, EMBEDDING_ROLES)
    ):
        roles = EMBEDDING_ROLES
    else:
        roles = ("pred", "target")
    for role in ("var", *EMBEDDING_ROLES):
        if role not in roles and (columns.get(role) or files.get(role) is not None):
            users = sorted({s.name for s in all_losses().values() if role in s.inputs})
            flag = ROLES[role].col_flag if columns.get(role) else ROLES[role].file_flag
            raise UsageError(
                f"{flag} is read only by {', '.join(users)}, which is not selected; add "
                f"--loss {users[0]}, or drop {flag}."
            )
    return roles


def _has_columns(source: Any, names: tuple[str, ...]) -> bool:
    cols = [str(c).lower() for c in source.columns]
    return all(n in cols for n in names)


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
    var: Any = None,
    positive: Any = None,
    negative: Any = None,
    var_col: str | list[str] | None = None,
    anchor_col: str | list[str] | None = None,
    positive_col: str | list[str] | None = None,
    negative_col: str | list[str] | None = None,
    task: str | None = None,
    from_logits: bool = False,
    threshold: float | None = None,
    chunk_size: int | None = None,
) -> tuple[Inputs, list[LossInstance]]:
    """Resolve the inputs and the loss instances (shared by ``evaluate`` and the CLI).

    Reads the first rows (kept for the evaluation) to detect the task; see
    :mod:`losscli.tasks` for the rule and the default losses per task.
    """
    from losscli import tasks

    tasks.check_task(task)
    loss_args = [losses] if isinstance(losses, str) else list(losses or ())
    instances = resolve_losses(loss_args, params) if loss_args else []
    columns = {"var": var_col, "anchor": anchor_col, "positive": positive_col,
               "negative": negative_col}
    files = {"var": _as_source(var, "variances", "var"),
             "positive": _as_source(positive, "positives", "positive"),
             "negative": _as_source(negative, "negatives", "negative")}
    main = _as_source(predictions, "predictions", "pred")
    if isinstance(main, str):
        from losscli.io.formats import open_source

        main = open_source(main, format_in)
    roles = _roles_needed([i.spec for i in instances], columns, files, main)
    if "anchor" in roles and isinstance(predictions, np.ndarray | list | tuple):
        main = _as_source(predictions, "anchors", "anchor")
    if "target" not in roles and (targets is not None or target_col):
        raise UsageError(
            f"{', '.join(i.name for i in instances) or 'triplet'} reads no targets (it reads "
            f"{', '.join(roles)}); drop --targets/--target-col."
        )
    if "pred" in roles and isinstance(predictions, np.ndarray | list | tuple) and targets is None:
        raise UsageError("Predictions given as an array need targets: evaluate(pred, target).")
    inputs = resolve_inputs(
        main,
        _as_source(targets, "targets", "target") if "target" in roles else None,
        _as_source(weights, "weights", "weight"),
        pred_col=pred_col,
        target_col=target_col,
        weight_col=weight_col,
        format_in=format_in,
        roles=roles,
        files=files,
        columns=columns,
    )
    if chunk_size is None:
        chunk_size = default_chunk_size(inputs.declared_width())
    sample = inputs.peek(chunk_size, tasks.DETECT_ROWS)
    chosen, source = tasks.detect_task(
        sample, [i.spec for i in instances], task=task, roles=roles, from_logits=from_logits,
        describe=inputs.describe)
    if not instances:
        instances = resolve_losses(list(tasks.DEFAULT_LOSSES[chosen]), params)
    tasks.check_fit(instances, chosen, inputs.widths, inputs.describe)
    instances = tasks.bind_options(instances, chosen, from_logits=from_logits,
                                   threshold=threshold)
    inputs.context = tasks.context(instances, chosen, source, from_logits=from_logits,
                                   threshold=threshold)
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
    chunk_size: int | None = None,
    format_in: str | None = None,
    params: dict[str, Any] | None = None,
    output: str | None = None,
    on_batch: Callable[[int], None] | None = None,
    var: Any = None,
    positive: Any = None,
    negative: Any = None,
    var_col: str | list[str] | None = None,
    anchor_col: str | list[str] | None = None,
    positive_col: str | list[str] | None = None,
    negative_col: str | list[str] | None = None,
    task: str | None = None,
    from_logits: bool = False,
    threshold: float | None = None,
    _sink: Any = None,
) -> Report:
    """Evaluate losses over predictions and targets, streaming in chunks.

    ``predictions``/``targets``/``weights``: a file path (CSV, TSV, Parquet, NPY, Feather), a
    numpy array (2-D for one value per class), or a pandas DataFrame/Series. ``losses``:
    names with optional inline parameters (``"huber:delta=0.5"``); without them a default
    set for the task (see :mod:`losscli.tasks`). ``params`` sets a parameter for every loss
    that takes it (like the CLI's ``--delta``). ``pred_col`` and friends take a name, a
    glob (``"p_*"``) or a list. ``from_logits``: predictions are logits (sigmoid/softmax
    applied inside the kernels); ``task`` overrides the detected task; ``threshold`` is
    zero_one's decision threshold on one-column scores. ``var``/``var_col`` feed
    gaussian_nll; for triplet, ``predictions`` holds the anchors and ``positive``/
    ``negative`` (or ``*_col``) the others. With ``reduction="none"`` per-row losses go to
    ``output`` (a .csv/.parquet/.npy/.ndjson path) or, without one, into ``report.per_row``.

    Raises :class:`losscli.errors.LossCliError` subclasses for bad options or data.
    """
    started = time.perf_counter()
    inputs, instances = prepare(
        predictions, targets, losses=losses, weights=weights, pred_col=pred_col,
        target_col=target_col, weight_col=weight_col, format_in=format_in, params=params,
        var=var, positive=positive, negative=negative, var_col=var_col,
        anchor_col=anchor_col, positive_col=positive_col, negative_col=negative_col,
        task=task, from_logits=from_logits, threshold=threshold, chunk_size=chunk_size,
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
    chunk_size: int | None = None,
    output: str | None = None,
    on_batch: Callable[[int], None] | None = None,
    _sink: Any = None,
    _started: float | None = None,
) -> Report:
    """``evaluate`` after :func:`prepare`: the CLI resolves inputs once (standard input can
    be read only once), looks at them (progress, per-row sink), then runs this.
    ``chunk_size`` defaults to the one ``prepare`` read the first rows with (they are
    replayed, not read again)."""
    started = time.perf_counter() if _started is None else _started
    if chunk_size is None:
        chunk_size = inputs.chunk_size or DEFAULT_CHUNK_SIZE
    engine.check_reduction(instances, reduction)
    sink = _sink
    labels = [inst.label for inst in instances]
    if reduction == "none" and sink is None:
        if output is None:
            sink = _MemorySink(labels)
        else:
            from losscli.io.sinks import open_sink

            sink = open_sink(output, labels)
    try:
        state = engine.run(
            prefetch(inputs.batches(chunk_size)), instances, describe=inputs.describe,
            reduction=reduction, nan_policy=nan_policy, sink=sink, on_batch=on_batch,
        )
    finally:
        if sink is not None:
            sink.close()
    if state.rows == 0 and state.rows_skipped == 0:
        from losscli.errors import InputError

        first = next(iter(inputs.roles))
        raise InputError(
            f"{inputs.describe(first)} has no data rows; nothing to evaluate."
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
