"""The importable API, mirroring the CLI: ``evaluate``, ``check``, ``compare``, ``merge`` and
``inspect`` take the options of ``losscli eval``/``check``/``compare``/``merge``/``inspect``
as keyword arguments (``--pred-col`` is ``pred_col=``, ``--max mse=2`` is
``max={"mse": 2}``), and return the objects the CLI renders: :class:`~losscli.report.Report`,
:class:`~losscli.gate.CheckResult` (``bool(result)`` is whether it passed) and
:class:`~losscli.comparison.Comparison`.

Data may be paths (any format the CLI reads, folders, globs, ``s3://`` URIs, ``"-"``) or in
memory: numpy arrays, lists, pandas and polars DataFrames/Series, pyarrow Tables,
RecordBatches and RecordBatchReaders.

Roles are never guessed from position alone: losscli's order is (predictions, targets) and
scikit-learn's is (y_true, y_pred), so two in-memory arrays given by position are refused
with a message naming the keywords (``y_true=``/``y_pred=`` or ``targets=``/
``predictions=``) — a silent swap changes r2, log_loss and every asymmetric loss.

A thin layer: the options are validated into a :class:`~losscli.spec.RunSpec` before any
file is opened, and the run goes through a :class:`~losscli.session.Session`.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from losscli.errors import UsageError
from losscli.execution import evaluate as run_and_report
from losscli.report import Report
from losscli.session import Session
from losscli.spec import build_spec

if TYPE_CHECKING:
    from losscli.comparison import Comparison
    from losscli.gate import CheckResult


def _is_path(value: Any) -> bool:
    return isinstance(value, str | os.PathLike)


def _roles(where: str, data: tuple[Any, ...], predictions: Any, targets: Any,
           y_true: Any, y_pred: Any) -> tuple[Any, Any]:
    """(predictions, targets) from what was given by position and by keyword.

    By position: ``(predictions[, targets])``, as ``losscli eval FILE --targets T``; two
    in-memory objects by position are refused (scikit-learn's order is the other one).
    """
    if len(data) > 2:
        raise UsageError(f"{where} takes at most two data arguments (predictions, targets); "
                         f"got {len(data)}. Name the others (weights=..., reference=...).")
    given: dict[str, Any] = {}

    def put(role: str, value: Any, how: str) -> None:
        if value is None:
            return
        if role in given:
            raise UsageError(f"{where}: the {role} are given twice ({given[role][1]} and "
                             f"{how}); give them once.")
        given[role] = (value, how)

    if len(data) == 2 and not _is_path(data[0]) and not _is_path(data[1]) \
            and data[0] is not None and data[1] is not None:
        raise UsageError(
            f"{where} was given two in-memory arrays by position: losscli's order is "
            "(predictions, targets) and scikit-learn's is (y_true, y_pred), and a swap changes "
            f"the numbers silently. Name them: {where[:-2]}(y_true=..., y_pred=...) or "
            f"{where[:-2]}(predictions=..., targets=...).")
    if data:
        put("predictions", data[0], "by position")
    if len(data) > 1:
        put("targets", data[1], "by position")
    put("predictions", predictions, "predictions=")
    put("predictions", y_pred, "y_pred=")
    put("targets", targets, "targets=")
    put("targets", y_true, "y_true=")
    if "predictions" not in given:
        raise UsageError(f"{where} needs predictions: a file path, '-', an array or a "
                         "DataFrame (predictions=... or y_pred=...).")
    return given["predictions"][0], given.get("targets", (None, ""))[0]


def evaluate(
    *data: Any,
    predictions: Any = None,
    targets: Any = None,
    y_true: Any = None,
    y_pred: Any = None,
    on_batch: Callable[[int], None] | None = None,
    **options: Any,
) -> Report:
    """Evaluate losses over predictions and targets, streaming in chunks (``losscli eval``).

    ``evaluate("preds.parquet")``, ``evaluate("preds.parquet", "truth.csv")``,
    ``evaluate(y_true=y, y_pred=p)`` or ``evaluate(predictions=p, targets=y)``.
    Predictions, targets and ``weights``: a file path (CSV, TSV, Parquet, NPY, Feather,
    NDJSON; a folder, a glob or an ``s3://`` URI), ``"-"`` for standard input, a numpy
    array (2-D for one value per class), a list, a pandas or polars DataFrame/Series, or a
    pyarrow Table/RecordBatch/RecordBatchReader.

    Options (each also a CLI flag of ``losscli eval``; see ``losscli eval --help``):

    * ``losses``: names with optional inline parameters (``"huber:delta=0.5"``); without
      them a default set for the task (see :mod:`losscli.tasks`). ``params`` sets a
      parameter for every loss that takes it (like the CLI's ``--delta``).
    * ``weights``, ``pred_col``, ``target_col``, ``weight_col``: sample weights and columns
      (a name, a glob such as ``"p_*"``, or a list).
    * ``reduction``: ``"mean"`` (Σw·ℓ/Σw), ``"sum"`` or ``"none"``; with ``"none"``
      per-row losses go to ``output`` (a .csv/.parquet/.npy/.ndjson path) or, without one,
      into ``report.per_row``.
    * ``nan_policy`` (``"raise"``, ``"omit"``, ``"propagate"``), ``chunk_size`` (rows per
      chunk), ``format_in`` (when the extension does not say), ``encoding`` (of CSV, TSV
      and NDJSON text; default UTF-8), ``max_line_bytes`` (their longest line: an int or
      ``"64M"``; default 16 MiB).
    * ``task``, ``from_logits``, ``threshold``: how the values are read (zero_one's
      decision threshold on one-column scores).
    * ``cost_matrix``: expected_cost's costs (the CLI's ``--cost-matrix``): rows the true
      class, columns the predicted one, in the run's class order — nested rows, text
      (``"0,1;5,0"``) or the path of a CSV/JSON file (:mod:`losscli.cost_matrix`).
    * ``classes`` (``["setosa", "versicolor"]`` or ``"setosa,versicolor"``) and
      ``pos_label``: targets that are labels — strings or booleans — and which class each
      prediction column scores, or which label is positive (see :mod:`losscli.labels`).
    * ``id_col``/``target_id_col``/``unmatched``: rows joined by key; ``group_by``,
      ``ci``/``ci_level``/``ci_method``/``replicates``/``seed``, ``distribution``,
      ``workers``, ``engine``, ``save_state``: as their flags.
    * ``var``/``var_col`` feed gaussian_nll; for triplet, ``predictions`` holds the anchors
      and ``positive``/``negative`` (or ``anchor_col``/``positive_col``/``negative_col``)
      the others.

    ``on_batch(rows_done)`` is called after every chunk (a progress bar). An unknown or
    ill-typed option is a :class:`losscli.errors.UsageError` before any file is opened; bad
    data raise :class:`losscli.errors.InputError`.
    """
    started = time.perf_counter()
    predictions, targets = _roles("evaluate()", data, predictions, targets, y_true, y_pred)
    spec = build_spec(predictions, targets, where="evaluate()", **options)
    session = Session(spec)
    report, state = run_and_report(session, on_batch=on_batch, started=started)
    if spec.options.save_state is not None:
        from losscli.saved import save_state

        save_state(spec.options.save_state, session, state)
    return report


Bound = Mapping[str, float] | Iterable[str] | str | None
Tolerance = Mapping[str, float] | Iterable[str] | float | str | None


def _assignments(flag: str, value: Any, allow_global: bool) -> list[str]:
    """``{"mse": 2.0}`` (or the CLI's ``["mse=2"]``; a bare number for a global tolerance)
    -> the ``NAME=VALUE`` strings the gate parses (its messages name ``flag``)."""
    if value is None:
        return []
    if isinstance(value, bool):
        raise UsageError(f"{flag} takes {{loss: number}}; got {value!r}.")
    if isinstance(value, int | float):
        if not allow_global:
            raise UsageError(f"{flag} takes {{loss: number}} (e.g. {{'mse': 0.3}}): a bound "
                             f"belongs to one loss; got {value!r}.")
        return [repr(float(value))]
    if isinstance(value, str):
        return [value]
    if isinstance(value, Mapping):
        out = []
        for name, number in value.items():
            if not isinstance(name, str) or isinstance(number, bool) or not isinstance(
                    number, int | float):
                raise UsageError(f"{flag} takes {{loss: number}} (e.g. {{'mse': 0.3}}); got "
                                 f"{name!r}: {number!r}.")
            out.append(f"{name}={float(number)!r}")
        return out
    try:
        items = list(value)
    except TypeError:
        raise UsageError(f"{flag} takes {{loss: number}} (e.g. {{'mse': 0.3}}); got "
                         f"{value!r}.") from None
    if not all(isinstance(v, str) for v in items):
        raise UsageError(f"{flag} takes {{loss: number}} or 'NAME=VALUE' strings; got {value!r}.")
    return items


def check(
    *data: Any,
    predictions: Any = None,
    targets: Any = None,
    y_true: Any = None,
    y_pred: Any = None,
    max: Bound = None,  # the CLI's --max
    min: Bound = None,  # the CLI's --min
    rtol: Tolerance = None,
    atol: Tolerance = None,
    on_batch: Callable[[int], None] | None = None,
    **options: Any,
) -> CheckResult:
    """Evaluate, then check the values against bounds, a baseline or a reference model
    (``losscli check``). ``bool(result)`` is whether every check passed.

    ``max={"mse": 2.0}``, ``min={"r2": 0.9}``: absolute bounds per loss. ``baseline``: a
    report or state file; ``rtol``/``atol``: tolerances against it (a number for every
    loss, or ``{"mse": 0.05}`` per loss). ``reference_col``/``reference``: a paired check
    against another model on the same rows. ``allow_missing``, ``save``,
    ``data_changed``: as their flags. The other options are those of :func:`evaluate`.
    """
    from losscli.gate import check as gate_check

    predictions, targets = _roles("check()", data, predictions, targets, y_true, y_pred)
    for legacy in ("max_", "min_"):
        if legacy in options:
            raise UsageError(f"check() takes {legacy[:-1]}= ({legacy[:-1]}={{'mse': 2.0}}), "
                             f"not {legacy}=.")
    return gate_check(predictions, targets,
                      max_=_assignments("max", max, allow_global=False),
                      min_=_assignments("min", min, allow_global=False),
                      rtol=_assignments("rtol", rtol, allow_global=True),
                      atol=_assignments("atol", atol, allow_global=True),
                      on_batch=on_batch, **options)


def compare(
    models: Any,
    targets: Any = None,
    *,
    y_true: Any = None,
    on_batch: Callable[[int], None] | None = None,
    **options: Any,
) -> Comparison:
    """Evaluate several models with the same losses on the same rows and line them up
    (``losscli compare``). ``models``: ``{name: predictions}`` (paths or in-memory data as
    for :func:`evaluate`), or :class:`losscli.comparison.Model` objects. ``targets`` (or
    ``y_true=``): the shared targets. The first model is the reference."""
    from losscli.comparison import compare as run_compare

    if isinstance(models, str | os.PathLike) or not isinstance(models, Mapping | list | tuple):
        raise UsageError("compare() takes the models as {name: predictions} (e.g. "
                         "{'ridge': 'a.parquet', 'hgb': 'b.parquet'}) or a list of Model; got "
                         f"{type(models).__name__}.")
    if targets is not None and y_true is not None:
        raise UsageError("compare(): the targets are given twice (targets= and y_true=); "
                         "give them once.")
    chosen = dict(models) if isinstance(models, Mapping) else list(models)
    return run_compare(chosen, targets if targets is not None else y_true,
                       on_batch=on_batch, **options)


def merge(*paths: str | os.PathLike[str] | Iterable[str | os.PathLike[str]]) -> Report:
    """The report of saved states merged (``losscli merge``): ``merge("a.state",
    "b.state")`` or ``merge(["a.state", "b.state"])``. Equal to one run over all the parts."""
    from losscli.saved import merge_parts, report_of

    flat: list[str] = []
    for p in paths:
        if isinstance(p, str | os.PathLike):
            flat.append(os.fspath(p))
        else:
            flat.extend(os.fspath(q) for q in p)
    report: Report = report_of(*merge_parts(flat))
    return report


def inspect(path: str | os.PathLike[str], **options: Any) -> dict[str, Any]:
    """What ``losscli inspect --format json`` prints: the columns, their types, which roles
    they would take, the task and the default losses."""
    from losscli.inspection import inspect_file

    return inspect_file(os.fspath(path), **options)


def history(path: str | os.PathLike[str], rev_range: str | None = None, n: int | None = None,
            group_by: str | Iterable[str] | None = None) -> dict[str, Any]:
    """What ``losscli history PATH --format json`` prints: the losses of the report (or
    saved state) ``path`` at each commit that changed it, oldest first (``rev_range``:
    ``"A..B"``; ``n``: the ``n`` most recent), per group with ``group_by``. Plain data:
    ``{"path", "rev_range", "group_by", "columns", "commits": [{"commit", "short",
    "date", "subject", "error", "values": {column: {"value", "ci_low", "ci_high"}}}]}``."""
    from losscli.history import history as read_history

    groups = [group_by] if isinstance(group_by, str) else list(group_by or ())
    return read_history(os.fspath(path), rev_range=rev_range, n=n, group_by=groups).to_dict()

