"""Side-by-side model comparison behind ``losscli compare``.

Each model is one prediction source (a file, or one prediction column of a shared file);
all of them are evaluated against the same targets in one streamed pass of one
:class:`~losscli.session.Session` (the targets are read once; model files that bring their
own target column must agree with the first model's, row by row). The result is a
:class:`Comparison`: one row per loss instance, one value per model, the best model(s)
per loss by the loss's direction, and the difference of every model to the first one (the
reference), absolute and relative.

One row set per comparison: every model is evaluated on the same rows. Under
``--nan-policy omit`` those are the rows where every model (and the targets, weights) is
valid — decided once per batch where the models' rows are read together
(:func:`losscli.checks.common_rows`); with ``--id-col`` each model in a file of its own is
joined to the targets by the key (:meth:`losscli.io.join.KeyIndex.attach_model`), a key one
model lacks being an error, or with ``--unmatched omit`` left out for every model. Each
loss's difference interval is its own (:func:`difference_interval`).
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from losscli.errors import InputError, UsageError, did_you_mean
from losscli.execution import report_for, run
from losscli.gate.verdict import same_value
from losscli.paired import no_paired_test
from losscli.report import SCHEMA_VERSION, Report, json_float
from losscli.session import ModelInput, Session
from losscli.spec import build_spec

if TYPE_CHECKING:
    from losscli.engine import Plan
    from losscli.state import Cell, State


@dataclass(frozen=True)
class Model:
    """One model to compare: a display name, its predictions, and its prediction column."""

    name: str
    predictions: Any  # a path, or anything losscli.evaluate accepts
    pred_col: str | None = None


def _stem(path: str) -> str:
    base = os.path.basename(path)
    for suffix in (".gz", ".bz2", ".zst", ".lz4"):
        if base.lower().endswith(suffix):
            base = base[: -len(suffix)]
    return os.path.splitext(base)[0] or base


def _split_named(arg: str) -> tuple[str | None, str]:
    """``name=path`` -> (name, path); an existing file whose name has '=' stays a path."""
    if "=" in arg and not os.path.exists(arg):
        name, _, path = arg.partition("=")
        if name.strip() and path.strip():
            return name.strip(), path.strip()
    return None, arg


def parse_models(
    files: Sequence[str], names: Iterable[str] = (), pred_cols: Sequence[str] | None = None
) -> list[Model]:
    """Turn CLI arguments into models.

    ``files``: prediction files, each ``path`` or ``name=path``. ``names``: ``--name
    name=path`` (or ``name=column`` when the models are columns). ``pred_cols``: with one
    file, each ``--pred-col`` is a model; with several files, at most one ``--pred-col``,
    used for every file. Unnamed models are called after their file stem (``model_a`` for
    ``runs/model_a.parquet``) or their column; clashing stems fall back to the path.
    """
    if not files:
        raise UsageError("Give at least one predictions file to compare.")
    parsed = [_split_named(f) for f in files]
    pred_cols = list(pred_cols or [])
    if len(pred_cols) > 1 and len(parsed) > 1:
        raise UsageError(
            f"--pred-col was given {len(pred_cols)} times with {len(parsed)} files: compare "
            "either several files (one --pred-col at most, used for each) or several "
            "--pred-col columns of one file."
        )
    models: list[tuple[str | None, str, str | None, str]] = []  # name, path, col, default name
    if len(pred_cols) > 1:
        name, path = parsed[0]
        if name is not None:
            raise UsageError(
                f"'{files[0]}' names the file, but with several --pred-col the models are the "
                "columns; name them with --name NAME=COLUMN."
            )
        models = [(None, path, col, col) for col in pred_cols]
    else:
        col = pred_cols[0] if pred_cols else None
        stems = [_stem(path) for _, path in parsed]
        for (name, path), stem in zip(parsed, stems):
            models.append((name, path, col, stem if stems.count(stem) == 1 else path))
    # --name NAME=PATH (or NAME=COLUMN) renames a model.
    keys = [(col or path) if len(pred_cols) > 1 else path for _, path, col, _ in models]
    assigned: dict[int, str] = {}
    for arg in names or ():
        name, eq, what = arg.partition("=")
        if not eq or not name.strip() or not what.strip():
            raise UsageError(f"'--name {arg}': write it as NAME=PATH, e.g. '--name a=model_a.parquet'.")
        hits = [i for i, key in enumerate(keys) if key == what.strip() or (
            len(pred_cols) <= 1 and _same_path(key, what.strip()))]
        if not hits:
            raise UsageError(
                f"'--name {arg}': '{what}' is not one of the models ({', '.join(keys)})."
                f"{did_you_mean(what, keys)}"
            )
        for i in hits:
            assigned[i] = name.strip()
    out = []
    for i, (name, path, col, default) in enumerate(models):
        out.append(Model(assigned.get(i) or name or str(default), path, col))
    seen: dict[str, int] = {}
    for i, m in enumerate(out):
        if m.name in seen:
            raise UsageError(
                f"Two models are called '{m.name}' (models {seen[m.name] + 1} and {i + 1}); give "
                "them different names with NAME=PATH or --name NAME=PATH."
            )
        seen[m.name] = i
    return out


def _same_path(a: str, b: str) -> bool:
    return os.path.normpath(a) == os.path.normpath(b)


@dataclass(frozen=True)
class ComparisonRow:
    """One loss instance across the models. Lists are in model order; ``best`` holds the
    indices of the best model(s) (ties share it, and values within float round-off of the
    best, 1e-12 relative as in ``check``, are ties; NaN values never win)."""

    name: str
    label: str
    params: dict[str, Any]
    higher_is_better: bool
    values: tuple[float | None, ...]
    best: tuple[int, ...]
    diff: tuple[float | None, ...]  # value - reference value
    relative_diff: tuple[float | None, ...]  # diff / |reference| (None when it is 0)
    #: Per model, against the reference (None for the reference and without a test):
    #: "better", "worse", "~" (not significant) or "same" (within round-off).
    verdict: tuple[str | None, ...] = ()
    p_value: tuple[float | None, ...] = ()  # Holm-adjusted over the models
    #: The interval of each model's difference to the reference (of this loss's values,
    #: paired on the same rows); None where there is none, with the reason in
    #: ``diff_reason``.
    diff_interval: tuple[tuple[float, float] | None, ...] = ()
    diff_reason: tuple[str | None, ...] = ()
    #: Why no model is marked best: "" when one is, or there is nothing to test.
    best_note: str = ""
    #: Whether a paired test judged the best model (False: the loss has none; the note says
    #: why, and no model can be called best or not significantly so).
    tested: bool = True
    #: The model(s) with the best value, significant or not (ties within round-off share).
    leader: tuple[int, ...] = ()

    @property
    def direction(self) -> str:
        """``lower``, ``higher`` or ``none`` (informational: no model is better)."""
        from losscli.registry import direction_of

        return direction_of(self.name, self.higher_is_better)


@dataclass
class Comparison:
    """Several models side by side; ``models[0]`` is the reference."""

    models: list[Model]
    reports: list[Report]
    rows: list[ComparisonRow]
    elapsed_seconds: float = 0.0
    tests: str = ""  # how the verdicts were reached (method, correction, level)
    #: --group-by: the models side by side within each group (the order of the report's)
    groups: list[ComparisonGroup] | None = None
    group_by: tuple[str, ...] = ()
    names: list[str] = field(init=False)

    def __post_init__(self) -> None:
        self.names = [m.name for m in self.models]

    @property
    def reference(self) -> str:
        return self.names[0]

    def best_names(self, row: ComparisonRow) -> list[str]:
        return [self.names[i] for i in row.best]

    def value(self, model: str, label: str) -> float | None:
        """Value of loss ``label`` for ``model``."""
        row = next((r for r in self.rows if r.label == label), None)
        if row is None or model not in self.names:
            raise KeyError(f"no {label!r} for model {model!r}")
        return row.values[self.names.index(model)]

    def to_dict(self) -> dict[str, Any]:
        from losscli import __version__

        return {
            "schema_version": SCHEMA_VERSION,
            "losscli_version": __version__,
            "reference": self.reference,
            "models": [
                {"name": m.name, "inputs": r.inputs, "rows": r.rows,
                 "rows_skipped": r.rows_skipped,
                 **({"confusion": r.confusion} if r.confusion else {})}
                for m, r in zip(self.models, self.reports)
            ],
            "losses": [self.row_dict(row) for row in self.rows],
            **({"group_by": list(self.group_by), "groups": [
                {"key": dict(g.key), "rows": dict(zip(self.names, g.rows)),
                 "losses": [self.row_dict(row) for row in g.losses],
                 **({"confusion": confusion} if (confusion := self.group_confusion(g))
                    else {})}
                for g in self.groups]} if self.groups is not None else {}),
            **({"tests": self.tests} if self.tests else {}),
            "elapsed_seconds": round(self.elapsed_seconds, 6),
        }

    def group_confusion(self, group: ComparisonGroup) -> dict[str, Any]:
        """``--confusion --group-by``: each model's matrix over ``group``'s rows (model ->
        matrix, from each model's report; none without ``--confusion``)."""
        key = tuple(group.key.values())
        out = {}
        for name, report in zip(self.names, self.reports):
            mine = next((g for g in report.groups or [] if tuple(g.key.values()) == key), None)
            if mine is not None and mine.confusion:
                out[name] = mine.confusion
        return out

    def row_dict(self, row: ComparisonRow) -> dict[str, Any]:
        return {
            "name": row.name,
            "label": row.label,
            "params": dict(row.params),
            "higher_is_better": row.higher_is_better,
            **({"direction": "none"} if row.direction == "none" else {}),
            "values": {n: json_float(v) for n, v in zip(self.names, row.values)},
            "best": self.best_names(row),
            "leader": [self.names[i] for i in (row.leader or row.best)],
            "diff": {n: json_float(d) for n, d in zip(self.names, row.diff)},
            "relative_diff": {n: json_float(d) for n, d in zip(self.names, row.relative_diff)},
            **({"verdict": dict(zip(self.names, row.verdict)),
                "p_value": {n: json_float(p) for n, p in zip(self.names, row.p_value)},
                "diff_interval": {n: None if iv is None else [json_float(iv[0]),
                                                              json_float(iv[1])]
                                  for n, iv in zip(self.names, row.diff_interval)}}
               if row.verdict else {}),
            **({"diff_interval_reason": {n: r for n, r in zip(self.names, row.diff_reason)
                                         if r}} if any(row.diff_reason) else {}),
            **({"best_note": row.best_note} if row.best_note else {}),
        }


@dataclass(frozen=True)
class ComparisonGroup:
    """The models side by side over one group's rows (``--group-by``)."""

    key: dict[str, Any]
    rows: tuple[int, ...]  # per model
    losses: list[ComparisonRow]


def _finite(v: float | None) -> bool:
    return v is not None and math.isfinite(v)


def build_rows(reports: Sequence[Any], names: Sequence[str]) -> list[ComparisonRow]:
    """Line the reports (or the same group of each report) up loss by loss (they must hold
    the same loss instances)."""
    first = reports[0]
    labels = [r.label for r in first.losses]
    for name, rep in zip(names[1:], reports[1:]):
        other = [r.label for r in rep.losses]
        if other != labels:
            raise InputError(
                f"Model '{name}' was evaluated with other losses ({', '.join(other)}) than "
                f"'{names[0]}' ({', '.join(labels)}); give the losses with --loss."
            )
    rows = []
    for i, res in enumerate(first.losses):
        values = tuple(rep.losses[i].value for rep in reports)
        finite = [v for v in values if _finite(v)]
        if finite and res.direction != "none":  # an informational value has no best
            target = max(finite) if res.higher_is_better else min(finite)  # type: ignore[type-var]
            # Within float round-off of the best is a tie, as in check (``same``).
            best = tuple(j for j, v in enumerate(values)
                         if _finite(v) and same_value(v, target))  # type: ignore[arg-type]
        else:
            best = ()
        ref = values[0]
        diff = tuple(v - ref if _finite(v) and _finite(ref) else None  # type: ignore[operator]
                     for v in values)
        rel = tuple(d / abs(ref) if d is not None and ref else None  # type: ignore[operator]
                    for d in diff)
        rows.append(ComparisonRow(res.name, res.label, dict(res.params), res.higher_is_better,
                                  values, best, diff, rel))
    return rows


def compare(
    models: Sequence[Model] | dict[str, Any],
    targets: Any = None,
    *,
    on_batch: Callable[[int], None] | None = None,
    **options: Any,
) -> Comparison:
    """Evaluate every model with the same losses and options and line them up.

    ``models``: :class:`Model` objects, or ``{name: predictions}`` (paths, arrays or
    DataFrames as for :func:`losscli.evaluate`). ``targets``: the shared targets (else each
    model's file must hold its own target column, equal to the first model's row by row).
    ``pred_col`` applies to models that do not name their own. The other options are those
    of :func:`losscli.evaluate` (validated before anything is read).
    """
    if isinstance(models, dict):
        models = [Model(str(k), v) for k, v in models.items()]
    models = list(models)
    if not models:
        raise UsageError("Give at least one model to compare.")
    started = time.perf_counter()
    spec = build_spec(models[0].predictions, targets, where="compare()", **options)
    if spec.options.reduction != "mean":
        raise UsageError("compare compares mean values; drop reduction= (or use 'mean').")
    if spec.options.group_gap is not None:  # eval and check show it (--group-gap)
        raise UsageError("compare shows no gap between groups; run eval or check with "
                         "--group-gap for each model.")
    stdin_uses = sum(isinstance(m.predictions, str) and m.predictions == "-" for m in models)
    stdin_uses += 1 if isinstance(targets, str) and targets == "-" else 0
    if stdin_uses > 1:
        raise UsageError("Standard input ('-') can be read only once: give at most one of the "
                         "models or --targets as '-'.")
    shared_col = spec.inputs.pred_col
    session = Session(spec, [
        ModelInput(m.name, m.predictions, (m.pred_col,) if m.pred_col else shared_col)
        for m in models], fingerprint=False,  # a comparison has no baseline to check it with
        paired=True)
    state = run(session, on_batch=on_batch)
    elapsed = time.perf_counter() - started
    reports = [report_for(session, state, model=i, elapsed=elapsed) for i in range(len(models))]
    rows = build_rows(reports, [m.name for m in models])
    tests = ""
    if len(models) > 1 and session.plan.paired is not None:
        rows = [judge_pairs(row, state.cells, i, session.plan.paired.level)
                for i, row in enumerate(rows)]
        cfg = session.plan.paired
        how = ("a Poisson bootstrap of the per-row differences" if cfg.method == "bootstrap"
               else "a normal test of the mean per-row difference (McNemar's exact test for "
                    "0/1 losses)")
        tests = (f"paired on the same rows: {how}; p-values Holm-adjusted over the models "
                 f"compared (and, for 'best', over every pair); significant at "
                 f"{1 - cfg.level:.2g}. '~': not significant. The intervals shown are each loss's "
                 "own, not Holm-adjusted: one may exclude 0 beside a '~'.")
    groups = None
    if state.groups is not None:
        groups = _group_rows(state, reports, [m.name for m in models], session.plan)
        if tests:
            tests += " Within each group alike (no correction over the groups)."
    return Comparison(models, reports, rows, elapsed, tests, groups,
                      session.plan.group_by)


def _group_rows(state: State, reports: list[Report], names: list[str],
                plan: Plan) -> list[ComparisonGroup]:
    """Every group's comparison, in the order of the first model's groups."""
    assert state.groups is not None  # called for a grouped run only
    by_key = [{tuple(g.key.values()): g for g in rep.groups or []} for rep in reports]
    out = []
    for g in reports[0].groups or []:
        key = tuple(g.key.values())
        mine = [groups[key] for groups in by_key]
        rows = build_rows(mine, names)
        if len(names) > 1 and plan.paired is not None:
            cells = state.groups[tuple(g.key[n] for n in plan.group_by)]
            rows = [judge_pairs(row, cells, i, plan.paired.level)
                    for i, row in enumerate(rows)]
        out.append(ComparisonGroup(dict(g.key), tuple(x.rows for x in mine), rows))
    return out


def judge_pairs(row: ComparisonRow, cells: Sequence[Cell], loss: int,
                level: float) -> ComparisonRow:
    """The paired verdicts of one loss: each model against the reference (Holm over the
    models), and the best mark only for a model significantly better than every other
    model (pairwise, Holm over all pairs)."""
    from dataclasses import replace

    from losscli.gate.verdict import same_value
    from losscli.stats.intervals import holm

    alpha = 1.0 - level
    m = len(row.values)
    informational = row.direction == "none"  # its difference is tested, no model wins

    def better(a: int, b: int) -> bool | None:
        va, vb = row.values[a], row.values[b]
        if informational:
            return None
        if not (_finite(va) and _finite(vb)) or same_value(va, vb):  # type: ignore[arg-type]
            return None
        return (va > vb) if row.higher_is_better else (va < vb)  # type: ignore[operator]

    def pair(a: int, b: int) -> Any:  # a > b: cells[a].paired[b]
        hi, lo = max(a, b), min(a, b)
        cell = cells[hi]
        return None if cell.paired is None else cell.paired[lo][loss]

    # each model against the reference
    tests = [pair(j, 0).test() if pair(j, 0) is not None else None for j in range(1, m)]
    ps = [None if t is None else t.p_value for t in tests]
    known = [p for p in ps if p is not None]
    adjusted = iter(holm(known).tolist() if known else [])
    adj = [None if p is None else next(adjusted) for p in ps]
    verdict: list[str | None] = [None]
    intervals: list[tuple[float, float] | None] = [None]
    reasons: list[str | None] = [None]
    for j, p in zip(range(1, m), adj):
        b = better(j, 0)
        if _finite(row.values[j]) and _finite(row.values[0]) and same_value(
                row.values[j], row.values[0]):  # type: ignore[arg-type]
            verdict.append("same")
        elif p is None or informational:
            verdict.append(None)
        elif p < alpha and b is not None:
            verdict.append("better" if b else "worse")
        else:
            verdict.append("~")
        iv, reason = difference_interval(pair(j, 0), row.label)
        intervals.append(iv)
        reasons.append(reason)
    # best: significantly better than every other model, Holm over all pairs
    pairs = [(a, b) for b in range(m) for a in range(b + 1, m)]
    pair_tests = [pair(a, b) for a, b in pairs]
    pair_ps = [None if u is None or u.test() is None else u.test().p_value for u in pair_tests]
    best: tuple[int, ...] = ()
    note, tested = "", True
    if all(p is not None for p in pair_ps) and pair_ps:
        adj_pairs = dict(zip(pairs, holm([p for p in pair_ps if p is not None]).tolist()))
        winners = []
        for i in range(m):
            ok = True
            for j in range(m):
                if j == i:
                    continue
                p = adj_pairs[(max(i, j), min(i, j))]
                if not (p < alpha and better(i, j)):
                    ok = False
                    break
            if ok:
                winners.append(i)
        best = tuple(winners)
        if not best:
            note = "no model is significantly better than every other"
    else:
        best, tested = (), False
        first = next((u for u in pair_tests if u is not None), None)
        note = no_paired_test(first, row.label)
    if informational:
        best, tested = (), False
        note = f"{row.label} is informational (no better direction): no model is better"
    return replace(row, verdict=tuple(verdict), p_value=(None, *adj),
                   diff_interval=tuple(intervals), diff_reason=tuple(reasons), best=best,
                   best_note=note, leader=() if informational else row.best, tested=tested)


def difference_interval(u: Any, label: str) -> tuple[tuple[float, float] | None, str | None]:
    """The interval of one loss's difference between two models, and why there is none.

    The paired state holds the per-row differences d = ℓ_model − ℓ_reference on the rows
    both models are evaluated on. For a mean loss (mse, mae, log-loss, accuracy...) the
    difference of the values *is* the mean of d, so the interval of that mean is the loss's
    own. For rmse and r2 it is not (rmse is a square root of a mean, r2 divides by the
    targets' variance): the mean of d still says which model is better (its sign is the
    sign of their difference, used by the test), but its interval is in other units — so
    no interval is given, and the reason says so."""
    if u is None or u.kind == "none":
        return None, no_paired_test(u, label)
    if u.kind in ("delong_paired", "confusion_paired", "query_paired", "ranking_paired"):  # DeLong's, the
        # joint bootstrap's, or over queries
        got = u.interval(math.nan)
        if got.low is None or got.high is None:
            return None, no_paired_test(u, label)
        return (got.low, got.high), None
    if u.aggregate != "mean" or u.moments is None:
        return None, f"no paired interval for {label}; tested on squared errors"
    got = u.interval(u.moments.mean())
    if got.low is None or got.high is None:
        return None, got.reason or "no interval"
    return (got.low, got.high), None
