"""A report from a merged :class:`~losscli.state.State`: values, breakdowns, intervals and
distributions of each loss, overall and per group. One builder for every path that ends in a
report: a session's run (``eval``, ``check``, ``compare``), ``losscli merge`` of saved states
and the Dask engine's merged units alike — so none of them needs the others.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from losscli import engine
from losscli.errors import InputError
from losscli.grouping import key_dict, sort_key
from losscli.query_scan import check_state_groups
from losscli.report import (
    QUANTILES,
    DataFingerprint,
    GroupResult,
    LossResult,
    Report,
    class_key,
    interval_dict,
    json_float,
    quantile_name,
)
from losscli.state import Cell, State

if TYPE_CHECKING:
    from losscli.stats.sketch import QuantileSketch


def distribution_dict(sketch: QuantileSketch, extra: tuple[float, ...] = ()) -> dict[str, Any]:
    """A loss's distribution as the report carries it: the quantiles (within the sketch's
    relative error α of the order statistics) and α itself."""
    levels = sorted(set(QUANTILES) | set(extra) | {1.0})
    if sketch.rows == 0 or sketch.total_weight() == 0:
        return {"relative_accuracy": sketch.alpha, "rows": sketch.rows,
                "quantiles": {}, "reason": "no row with positive weight and a finite value"}
    return {"relative_accuracy": sketch.alpha, "rows": sketch.rows,
            "quantiles": {quantile_name(q): json_float(float(sketch.quantile(q)))
                          for q in levels},
            **({"collapsed": True} if getattr(sketch, "collapsed", False) else {})}


def confusion_source(instances: Sequence[Any]) -> int:
    """``--confusion``: the index of the loss whose exact confusion counts the matrix is
    read from (the first one kept in a :class:`~losscli.metric_aggregates.Confusion`); a
    UsageError (one line) when there is none, or only multi-label ones."""
    from losscli.errors import UsageError

    kinds = [(i, inst) for i, inst in enumerate(instances)
             if inst.spec.aggregate_kind == "confusion"]
    for i, inst in kinds:
        if inst.options.get("task") != "multilabel":
            return i
    if kinds:
        raise UsageError("--confusion prints one matrix of a binary or multi-class task; "
                         "multi-label data has one 2×2 matrix per label: drop --confusion "
                         "(precision/recall per label are in the table).")
    raise UsageError("--confusion reads the exact confusion counts of a metric that keeps "
                     "them; add one, e.g. --loss mcc (or f1, precision, recall, "
                     "balanced_accuracy, cohen_kappa).")


def confusion_dict(plan: engine.Plan, cell: Cell, classes: Any = None) -> dict[str, Any]:
    """The confusion matrix of one cell as the report carries it: ``labels`` (the class
    names of ``--classes``/the label map, else the class indices), ``counts[t][p]`` (true
    class t, predicted p; integers, or the correctly rounded weighted sums), ``loss`` (the
    metric whose state it is read from) and ``weighted``. A reader of the aggregate's
    :class:`~losscli.stats.confusion.ConfusionMatrix`: exact and merged like it."""
    i = confusion_source(plan.instances)
    cm = cell.losses[i].matrices[0]  # type: ignore[attr-defined]
    cells = cm.cells()
    integral = all(v.denominator == 1 for v in cells.values())
    c = cm.classes
    counts: list[list[Any]] = [[0 if integral else 0.0] * c for _ in range(c)]
    for (t, p), v in cells.items():
        counts[t][p] = int(v) if integral else v.numerator / v.denominator
    names = list(classes) if isinstance(classes, list | tuple) and len(classes) == c \
        else list(range(c))
    return {"labels": names, "counts": counts, "loss": plan.instances[i].label,
            "weighted": not integral or cell.losses[i].weight.fraction() != cell.losses[i].rows}


def build_report(plan: engine.Plan, state: State, *, model: int = 0,
                 inputs: dict[str, Any] | None = None, elapsed: float = 0.0,
                 notes: Sequence[str] = (), output: str | None = None,
                 quantile_levels: tuple[float, ...] = (), sort: str = "key",
                 group_level: Callable[[int], float | None] | None = None,
                 confusion: bool = False, group_gap: str | None = None) -> Report:
    """The :class:`Report` of one model from a (merged) state: values, breakdowns, intervals
    and distributions. Shared by a session and by ``losscli merge`` of saved states.
    ``group_level(number of groups)``: the level of the groups' intervals when not the --ci
    level (``check --group-by --ci`` corrects for the number of groups tested).
    ``group_gap`` (``--group-gap``): each loss's gap between the groups
    (:func:`losscli.gaps.group_gap`)."""

    cell = state.cells[model]
    classes = (inputs or {}).get("classes")
    results = cell_results(plan, cell, quantile_levels, classes=classes)
    groups = None
    if state.groups is not None:
        check_state_groups(state, plan.query)  # --query-col: a query in one group
        level = None if group_level is None else group_level(len(state.groups))
        groups = [GroupResult(key_dict(plan.group_by, key), cells[model].rows,
                              cells[model].rows_skipped,
                              cell_results(plan, cells[model], quantile_levels, group=True,
                                           level=level, classes=classes))
                  for key, cells in state.groups.items()]
        if confusion:
            groups = [replace(g, confusion=confusion_dict(plan, cells[model],
                                                          (inputs or {}).get("classes")))
                      for g, cells in zip(groups, state.groups.values())]
        if group_gap is not None:
            results = gap_results(plan, state, model, results, groups, group_gap)
        groups = sort_groups(groups, sort)
    fp = state.fingerprint
    notes = [*notes, *(f"{inst.label}: {agg.note()}" for inst, agg
                       in zip(plan.instances, cell.losses) if hasattr(agg, "note"))]
    # an undefined value (NaN: one class only, no threshold reaches a level): why, once
    notes += [f"{r.label}: undefined: {why}" for r in results
              if r.value is not None and r.value != r.value
              and (why := (r.details or {}).get("reason"))]
    return Report(
        inputs=dict(inputs or {}), rows=cell.rows, rows_skipped=cell.rows_skipped,
        reduction=plan.reduction, losses=results, elapsed_seconds=elapsed, output=output,
        notes=list(notes), ci=None if plan.ci is None else plan.ci.to_dict(),
        fingerprint=None if fp is None else DataFingerprint(fp.hex, fp.rows),
        cell=cell, group_by=plan.group_by, groups=groups,
        confusion=confusion_dict(plan, cell, (inputs or {}).get("classes")) if confusion
        else None,
    )


def gap_results(plan: engine.Plan, state: State, model: int, results: list[LossResult],
                groups: list[GroupResult], method: str) -> list[LossResult]:
    """The overall ``results`` with each loss's gap between the ``groups`` (in the order of
    ``state.groups``), its interval from the groups' joint bootstrap replicates."""
    from losscli.gaps import group_gap

    assert state.groups is not None
    cells = [c[model] for c in state.groups.values()]
    order = sorted(range(len(groups)), key=lambda j: sort_key(tuple(groups[j].key.values())))
    level = None if plan.ci is None else plan.ci.level
    out = []
    for i, res in enumerate(results):
        values = [(groups[j].key, groups[j].losses[i].value) for j in order]
        reps: list[Any] = []
        why = None
        for j in order:
            states = cells[j].uncertainty
            u = None if states is None else states[i]
            boot = None if u is None or u.paired else u.boot
            iv = groups[j].losses[i].interval or {}
            if boot is not None and boot.positive >= 2:  # else its interval says why not
                reps.append(u.replicates(cells[j].losses[i]))  # type: ignore[union-attr]
                if reps[-1] is None:  # a per-score bootstrap gave none: its interval says why
                    why = why or f"a group has no bootstrap replicates ({iv.get('reason')})"
                continue
            if u is not None and u.kind == "query" and u.method == "bootstrap":
                # whole queries resampled (a query in one group: the groups jointly)
                reps.append(cells[j].losses[i].query_replicates(u.ci))  # type: ignore[attr-defined]
                continue
            reps.append(None)
            if boot is not None and iv.get("reason"):
                why = why or f"a group has no bootstrap replicates ({iv['reason']})"
            elif u is not None and u.kind == "delong":
                why = why or ("no bootstrap replicates of ROC-AUC (its interval is DeLong's, "
                              "analytic): no interval for its gap")
            elif u is not None and u.kind == "none":
                why = why or iv.get("reason") or (res.interval or {}).get("reason")
        out.append(replace(res, group_gap=group_gap(
            method, None if res.direction == "none" else res.higher_is_better, values,
            replicates=reps, no_interval=why,
            level=level)))
    return out


def class_details(details: dict[str, Any] | None, classes: Any) -> dict[str, Any] | None:
    """An aggregate's ``details`` with its classes named: ``per_class`` (and the classes of
    ``zero_division``) keyed by the label of each class index (:func:`class_key`) when the
    report knows the labels (``inputs.classes``, in class order)."""
    if not details or not isinstance(classes, list | tuple):
        return details
    names = {str(i): class_key(c) for i, c in enumerate(classes)}
    out = dict(details)
    if isinstance(out.get("per_class"), dict):
        out["per_class"] = {names.get(k, k): v for k, v in out["per_class"].items()}
    if isinstance(out.get("zero_division"), dict):
        out["zero_division"] = {what: [names.get(k, k) for k in which]
                                for what, which in out["zero_division"].items()}
    return out


def cell_results(plan: engine.Plan, cell: Cell, quantile_levels: tuple[float, ...] = (),
                 *, group: bool = False, level: float | None = None,
                 classes: Any = None) -> list[LossResult]:
    """One result per loss instance from a model's cell: value, breakdown, interval,
    distribution. In a ``group``, a value that cannot be computed (no rows, zero weight, one
    class only...) is None with its reason — one group's lack stops nothing — while
    overall it is the run's error."""
    reduction = plan.reduction
    results = []
    for i, (inst, agg) in enumerate(zip(plan.instances, cell.losses)):
        try:
            value = None if reduction == "none" else agg.result(reduction)
        except InputError as exc:
            if not group:
                raise
            results.append(LossResult.of(inst, None, reason=str(exc).split(". ")[0]))
            continue
        interval = None
        if cell.uncertainty is not None and value is not None:
            interval = interval_dict(cell.uncertainty[i].interval(value, agg, level))
        sketch = None if cell.sketches is None else cell.sketches[i]
        dist = None if sketch is None else distribution_dict(sketch, quantile_levels)
        details = None if reduction == "none" else class_details(agg.details(), classes)
        undefined = (details or {}).get("reason") if value is not None and value != value \
            else None
        if group and undefined:  # e.g. an AUC of one class: no value, and why
            results.append(LossResult.of(inst, None, details, None, dist, reason=undefined))
            continue
        results.append(LossResult.of(inst, value, details, interval, dist))
    return results


def sort_groups(groups: list[GroupResult], sort: str = "key") -> list[GroupResult]:
    """Groups by key (null last), or with ``sort="value"`` worst first on the first loss
    (highest loss, lowest score; groups without a value last, then by key)."""
    by_key = sorted(groups, key=lambda g: sort_key(tuple(g.key.values())))
    if sort == "key" or not by_key or not by_key[0].losses:
        return by_key
    first = by_key[0].losses[0]
    sign = 1.0 if first.higher_is_better else -1.0

    def badness(g: GroupResult) -> tuple[bool, float]:
        v = g.losses[0].value
        missing = v is None or v != v
        return (missing, 0.0 if missing else sign * v)  # type: ignore[operator]

    return sorted(by_key, key=badness)  # stable: ties stay in key order

