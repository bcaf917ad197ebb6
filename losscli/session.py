"""One evaluation session: open the inputs once, decide the task, the loss instances and
the engine's :class:`~losscli.engine.Plan` from the first rows — opening and resolving only.

    spec = build_spec("preds.parquet", losses=["mse"])      # validated, no I/O
    session = Session(spec)                                  # opens the inputs, reads the
    report, state = execution.evaluate(session)              #   first rows for the task

Data flows one way: inputs → work units (:mod:`losscli.units`) → engine (kernels, on the
workers of :mod:`losscli.execution` and :mod:`losscli.worker`) → State (merged in unit
order) → Report (:mod:`losscli.reporting`) → renderer. ``eval``, ``check``, ``compare`` and
the Python API all open their inputs here; ``compare`` passes several models, read in the
same pass against the same targets.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from losscli import engine, tasks
from losscli.checks import pred_role
from losscli.errors import InputError, UsageError
from losscli.executor import available_cpus
from losscli.io.base import Sink, is_remote
from losscli.io.binding import bind_join, bind_model, id_columns, pair_source, resolve_inputs
from losscli.io.inputs import Inputs
from losscli.losses.quantiles import bind_levels
from losscli.query_scan import bind_mode, check_query, query_mode
from losscli.registry import LossInstance, all_losses, check_unique, resolve_losses
from losscli.spec import DEFAULT_CHUNK_SIZE, Columns, RunSpec
from losscli.vocab import EMBEDDING_ROLES, FORECAST_ROLES, ROLES

if TYPE_CHECKING:
    from losscli.io.join import KeyIndex

#: Values per chunk when rows are wide (class scores, embeddings): with ``chunk_size`` left
#: to its default, a chunk holds this many values rather than DEFAULT_CHUNK_SIZE rows.
WIDE_CHUNK_VALUES = 1 << 20


def default_chunk_size(width: int) -> int:
    """Rows per chunk for rows of ``width`` values: DEFAULT_CHUNK_SIZE, fewer when wide (a
    1M x 100 float64 chunk would be 200 MB per array; this keeps it near 8 MB), down to one
    row when a row alone holds a million values or more."""
    return DEFAULT_CHUNK_SIZE if width <= 1 else max(1, WIDE_CHUNK_VALUES // width)


@dataclass(frozen=True)
class ModelInput:
    """One model of a comparison: its name, its predictions (a path, ``-``, an array or a
    DataFrame) and the column(s) holding them."""

    name: str
    predictions: Any
    pred_col: Columns = ()
    #: The option that named ``pred_col`` (what messages tell the user to change).
    flag: str = "--pred-col"


@dataclass(frozen=True)
class Resolved:
    """What a session decided from its first rows; a worker given it (and the spec) opens
    the same inputs and reduces units without reading those rows again."""

    task: str
    decided_by: str
    losses: tuple[str, ...]  # --loss arguments of the instances (canonical names)
    widths: tuple[tuple[str, int], ...]
    chunk_size: int
    labels: Any = None  # the target column's losscli.labels.LabelMap (None: numbers)
    query_mode: str | None = None  # --query-col: contiguous or keyed (losscli.query_scan)


#: ``--workers auto`` for inputs in object storage: more threads than CPUs, since they wait
#: on the network (at most REMOTE_MAX_WORKERS: every thread holds a row group in memory).
REMOTE_WORKERS_PER_CPU = 4
REMOTE_MAX_WORKERS = 16


def as_source(obj: Any, name: str, default_column: str) -> Any:
    """A path stays a path; in-memory data becomes an in-memory source."""
    if obj is None or isinstance(obj, str):
        return obj
    from losscli.io.formats.memory import from_object

    return from_object(obj, name, default_column)


def _is_array(obj: Any) -> bool:
    return isinstance(obj, np.ndarray | list | tuple)


def _has_columns(source: Any, names: tuple[str, ...]) -> bool:
    cols = [str(c).lower() for c in source.columns]
    return all(n in cols for n in names)


def calibration_plan(instances: Sequence[LossInstance], task: str,
                     from_logits: bool) -> tuple[str, bool] | None:
    """What :attr:`engine.Plan.calibration` keeps for a reliability diagram: (task,
    from_logits) for a binary or multi-class classifier whose predictions are known to be
    probabilities — logits (``from_logits``), or checked to lie in [0, 1] by a selected
    loss (bce, brier, cross_entropy, ...) — and that no selected ece/mce already bins
    (its own state is drawn then); None otherwise (scores of a margin loss are no
    probabilities, and a diagram of them would mean nothing)."""
    from losscli.losses.common import PROBABILITIES

    if task not in engine.CALIBRATED_TASKS:
        return None
    if any(inst.spec.aggregate_kind == "calibration" for inst in instances):
        return None
    if not (from_logits or any(PROBABILITIES in inst.spec.domain for inst in instances)):
        return None
    return (task, from_logits)


class Session:
    """An evaluation over opened inputs (see the module doc).

    ``models``: for a comparison, the models to evaluate side by side (the spec's own
    ``predictions`` are then ignored); each model file brings its own target column unless
    the spec names shared ``targets`` or the models are columns of one file.
    ``fingerprint``: hash the targets and weights for the report's data fingerprint (about
    a third of the engine's own time on a two-column file, so ``eval`` skips it unless the
    report is written as JSON, and ``compare`` always does).
    ``keys``: columns read as they are beside the roles (:meth:`Inputs.bind_keys`): every
    batch carries them in ``Batch.keys`` (nothing uses them yet: group-by, ids, labels).
    """

    def __init__(self, spec: RunSpec, models: Sequence[ModelInput] | None = None,
                 resolved: Resolved | None = None, *, fingerprint: bool = True,
                 paired: bool = False, keys: Sequence[str] = ()) -> None:
        self.spec = spec
        self.sink: Sink | None = None  # where the last run wrote per-row values (losscli.execution)
        self.prepared = False  # sources opened and scanned (losscli.units.prepare)
        self.join_summary: dict[str, Any] | None = None  # --id-col: set by the run
        # A saved state always carries the fingerprint (a merge of parts gates on it).
        fingerprint = fingerprint or spec.options.save_state is not None
        self.flags: dict[str, Any] = {"fingerprint": fingerprint, "paired": paired,
                                      "keys": list(keys)}  # for a worker's copy
        ins, opts = spec.inputs, spec.options
        models = list(models) if models else [ModelInput("", ins.predictions, ins.pred_col)]
        self.models = models
        params = dict(opts.params)
        if opts.threshold is not None:
            params.setdefault("threshold", opts.threshold)
        if opts.cost_matrix is not None:
            params.setdefault("cost_matrix", opts.cost_matrix)
        instances = resolve_losses(list(opts.losses), params) if opts.losses else []
        if instances:
            check_query(instances, ins.query_col)
        columns: dict[str, Any] = {k: list(v) or None for k, v in ins.columns().items()}
        files = {"var": as_source(ins.var, "variances", "var"),
                 "positive": as_source(ins.positive, "positives", "positive"),
                 "negative": as_source(ins.negative, "negatives", "negative")}
        first = models[0]
        main = as_source(first.predictions, "predictions", "pred")
        if isinstance(main, str):
            from losscli.io.formats import open_source

            main = open_source(main, ins.format_in, encoding=ins.encoding,
                               max_line_bytes=ins.max_line_bytes,
                               storage_options=dict(ins.storage_options),
                               partitioning=ins.partitioning)
        roles = self._roles_needed([i.spec for i in instances], columns, files, main)
        if "anchor" in roles and _is_array(first.predictions):
            main = as_source(first.predictions, "anchors", "anchor")
        if "target" not in roles and (ins.targets is not None or ins.target_col):
            raise UsageError(
                f"{', '.join(i.name for i in instances) or 'triplet'} reads no targets (it reads "
                f"{', '.join(roles)}); drop --targets/--target-col."
            )
        if "pred" in roles and _is_array(first.predictions) and ins.targets is None:
            raise UsageError("Predictions given as an array need targets: evaluate(pred, target).")
        self.inputs: Inputs = resolve_inputs(
            main,
            as_source(ins.targets, "targets", "target") if "target" in roles else None,
            as_source(ins.weights, "weights", "weight"),
            pred_col=list(first.pred_col) or None,
            target_col=list(ins.target_col) or None,
            weight_col=ins.weight_col,
            format_in=ins.format_in,
            roles=roles,
            files=files,
            columns=columns,
            encoding=ins.encoding,
            max_line_bytes=ins.max_line_bytes,
            storage_options=dict(ins.storage_options),
            partitioning=ins.partitioning,
            join_keys=(ins.id_col, ins.target_id_col or ins.id_col),
            pred_flag=first.flag,
        )
        self._bind_models(main)
        # -- labels (losscli.labels): a target column of strings or booleans (or one named by
        # --classes/--pos-label) is mapped to class indices as it is read; decided (a pass
        # over that column when needed) before the first rows are read.
        from losscli import labelled as label_maps  # the package only when labels are in play

        self.labels = label_maps.bind(self.inputs, classes=opts.classes,
                                      pos_label=opts.pos_label, task=opts.task,
                                      known=None if resolved is None else resolved.labels)
        task_given = label_maps.task_option(self.labels, opts.task)
        # -- end labels
        self.join: KeyIndex | None = None  # --id-col: the targets' KeyIndex
        if ins.id_col:
            self.join = bind_join(
                self.inputs, main, id_col=ins.id_col, target_id_col=ins.target_id_col,
                targets_given=ins.targets is not None, omit=ins.unmatched == "omit",
                group_by=opts.group_by, model_names=[m.name for m in self.models],
                chunk_size=DEFAULT_CHUNK_SIZE)
        aligned = () if ins.id_col else id_columns(self.inputs, main)
        # the join key and the group columns, read raw beside the roles
        keys = list(dict.fromkeys([*keys, *ins.id_col, *opts.group_by,
                                   *([ins.query_col] if ins.query_col else [])]))
        if self.join is not None:  # group columns only the targets' file has come by key
            keys = [k for k in keys if k not in self.join.extra]
        if keys:
            self.inputs.bind_keys(keys)
        if resolved is not None:  # on a worker: what the client decided, without re-reading
            self.chunk_size = resolved.chunk_size
            self.widths = dict(resolved.widths)
            sample = None
            task, decided_by = resolved.task, resolved.decided_by
            instances = resolve_losses(list(resolved.losses), {})
        else:
            self.chunk_size = ins.chunk_size or default_chunk_size(self.inputs.declared_width())
            specs = list(instances)  # their given parameters count (tasks.fitting_tasks)

            def settled(rows: dict[str, np.ndarray]) -> bool:
                """Whether more rows could not change the task: then a pipe that pauses (tail
                -f) is not waited on for DETECT_ROWS rows. Rows that look binary may not."""
                found, by = tasks.detect_task(rows, specs, task=task_given, roles=roles,
                                              from_logits=opts.from_logits,
                                              describe=self.inputs.describe)
                target = rows.get("target")
                return by != "values" or (found == "regression" and target is not None
                                          and bool(np.isfinite(target).any()))

            sample = self.inputs.peek(self.chunk_size, tasks.DETECT_ROWS,
                                      settled=None if self.join else settled)
            if sample is not None and self.join is not None:  # the sample's targets, by key
                rows = len(next(iter(sample.values())))
                sample.update(self.join.sample(self.inputs.peeked_keys(ins.id_col, rows)))
            self.widths = ({} if sample is None else
                           {role: 1 if a.ndim == 1 else a.shape[1] for role, a in sample.items()})
            task, decided_by = tasks.detect_task(
                sample, specs, task=task_given, roles=roles,
                from_logits=opts.from_logits, describe=self.inputs.describe)
            if self.labels is not None and opts.task is None:
                decided_by = "labels"
        if not instances:
            instances = resolve_losses(list(tasks.DEFAULT_LOSSES[task]), params)
        instances = tasks.resolve_aliases(instances, task)
        tasks.check_fit(instances, task, self.widths, self.inputs.describe)
        for m in range(1, len(models)):
            role = pred_role(m)
            if self.widths.get(role, 1) != self.widths.get("pred", 1):
                raise InputError(
                    f"Model '{models[m].name}' has {self.widths.get(role, 1)} values per row "
                    f"({self.inputs.describe(role)}) but '{models[0].name}' has "
                    f"{self.widths.get('pred', 1)}; compare models of the same task."
                )
        classes = self.widths.get("pred") if task in ("multiclass", "multilabel") else None
        asked = [inst.loss_arg for inst in instances]
        instances = tasks.bind_options(instances, task, from_logits=opts.from_logits,
                                       classes=classes)
        instances = bind_levels(instances, self.inputs, self.widths)  # quantile forecasts
        check_unique(instances, asked, " once its automatic parameters are read from the data")
        check_query(instances, ins.query_col)
        self.query_mode = None if ins.query_col is None else (
            resolved.query_mode if resolved is not None and resolved.query_mode
            else query_mode(self.inputs, ins.query_col))
        if self.query_mode is not None:
            instances = bind_mode(instances, self.query_mode)
        tasks.check_logits(sample, instances, task, self.inputs.describe, opts.assume_logits)
        if opts.confusion:  # refused before a row is read when no loss keeps the counts
            from losscli.reporting import confusion_source
            confusion_source(instances)
        self.task = task
        self.decided_by = decided_by
        self.notes = tasks.notes(sample, instances, task, decided_by, opts.from_logits)
        self.context = tasks.context(instances, task, decided_by, from_logits=opts.from_logits)
        self.context.update(label_maps.context(self.labels))  # classes, pos_label
        self.plan = engine.Plan(tuple(instances), models=len(models), reduction=opts.reduction,
                                nan_policy=ins.nan_policy, ci=opts.ci_config(),
                                distribution=opts.relative_accuracy if opts.distribution
                                else None, fingerprint=fingerprint,
                                paired=opts.interval_config() if paired and len(models) > 1
                                else None,
                                calibration=calibration_plan(instances, task, opts.from_logits)
                                if opts.calibration else None,
                                group_by=opts.group_by, max_groups=opts.max_groups,
                                carry=tuple(dict.fromkeys([*ins.id_col, *opts.group_by])),
                                aligned=aligned, query=ins.query_col)

    # -- resolution ------------------------------------------------------------------------
    @staticmethod
    def _roles_needed(specs: list[Any], columns: dict[str, Any], files: dict[str, Any],
                      main: Any) -> tuple[str, ...]:
        """The roles to bind: those the selected losses read; without --loss, triplet inputs
        when anchor/positive/negative are given or the main file has such columns, else
        predictions and targets."""
        if specs:
            roles = tuple(dict.fromkeys(r for spec in specs for r in spec.inputs))
        elif any(columns.get(r) or files.get(r) is not None for r in EMBEDDING_ROLES) or (
            _has_columns(main, EMBEDDING_ROLES)
        ):
            roles = EMBEDDING_ROLES
        else:
            roles = ("pred", "target")
        for role in ("var", *EMBEDDING_ROLES, *FORECAST_ROLES):
            if role not in roles and (columns.get(role) or files.get(role) is not None):
                users = sorted({s.name for s in all_losses().values() if role in s.inputs})
                flag = ROLES[role].col_flag if columns.get(role) else ROLES[role].file_flag
                if here := sorted({s.name for s in specs} & set(users)):  # not with its params
                    raise UsageError(f"{flag}: {', '.join(here)} reads no {role} column with "
                                     f"the parameters given; drop {flag} or those parameters.")
                raise UsageError(
                    f"{flag} is read only by {', '.join(users)}, which is not selected; add "
                    f"--loss {users[0]}, or drop {flag}."
                )
        return roles

    def _bind_models(self, main: Any) -> None:
        """Bind models 1.. of a comparison: columns of the first model's file, or their own
        files (each with its own targets unless shared targets were given)."""
        if len(self.models) < 2:
            return
        from losscli.io.formats import open_source

        ins = self.spec.inputs
        shared = ins.targets is not None
        opened: dict[str, Any] = {}
        self.inputs.name_model("pred", self.models[0].name, self.models[0].flag)
        for m, model in enumerate(self.models[1:], start=1):
            same_file = model.predictions is self.models[0].predictions or (
                isinstance(model.predictions, str) and model.predictions == self.models[0].predictions)
            if same_file:
                source = main
            elif isinstance(model.predictions, str):
                source = opened.get(model.predictions)
                if source is None:
                    source = open_source(
                        model.predictions, ins.format_in, encoding=ins.encoding,
                        max_line_bytes=ins.max_line_bytes,
                        storage_options=dict(ins.storage_options),
                        partitioning=ins.partitioning)
                    if not ins.id_col:  # joined by key (see _bind_join), not file by file
                        source = pair_source(source, main, f"model '{model.name}'")
                opened[model.predictions] = source
            else:
                source = as_source(model.predictions, model.name, "pred")
            bind_model(self.inputs, m, source, list(model.pred_col) or None,
                       list(ins.target_col) or None, own_target=not shared and not same_file,
                       name=model.name, flag=model.flag, taken=ins.id_col)

    def resolved(self) -> Resolved:
        """What this session decided from the data (task, loss instances, widths, chunk
        size): with the spec, all another process needs to reduce this session's units."""
        return Resolved(self.task, self.decided_by,
                        tuple(inst.loss_arg for inst in self.plan.instances),
                        tuple(sorted(self.widths.items())), self.chunk_size, self.labels,
                        self.query_mode)

    @property
    def instances(self) -> list[LossInstance]:
        return list(self.plan.instances)

    def describe(self, role: str, index: int | None = None) -> str:
        return self.inputs.describe(role, index)

    @property
    def workers(self) -> int:
        """Threads reducing units: ``--workers``, else every CPU this process may use, or
        for inputs in object storage :data:`REMOTE_WORKERS_PER_CPU` threads per CPU (at most
        :data:`REMOTE_MAX_WORKERS`; the local engine only: Dask's workers are processes)."""
        if self.spec.options.workers:
            return self.spec.options.workers
        cpus = available_cpus()
        if self.spec.options.engine == "local" and any(
                is_remote(ref.source) for ref in self.inputs.roles.values()):
            return min(REMOTE_WORKERS_PER_CPU * cpus, max(REMOTE_MAX_WORKERS, cpus))
        return cpus

    def input_paths(self) -> list[str]:
        """The files the inputs are read from (what an output must not overwrite)."""
        from losscli.spec import DATA_FIELDS

        ins = self.spec.inputs
        paths = [getattr(ins, f) for f in DATA_FIELDS]
        paths += [m.predictions for m in self.models]
        paths += [ref.source.name for ref in self.inputs.roles.values()]
        return list(dict.fromkeys(p for p in paths if isinstance(p, str) and p != "-"))
