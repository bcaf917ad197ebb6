"""A description of a run, validated once, before any file is opened; and the declaration of
every option of the Python API.

:class:`InputSpec` says where the rows come from (files or arrays, which column plays which
role, the format, the chunk size, what NaN does); :class:`RunOptions` what to compute (the
losses and their parameters, the reduction, the task, logits, the threshold, where per-row
values go). Each field is an option declared once (:func:`losscli.options.option`): its
default, flags, help, panel, choices (from :mod:`losscli.vocab`) and validator (from
:mod:`losscli.validators`). The CLI's parameters, ``inspect``'s options and the CLI reference
are built from these fields. :func:`build_spec` turns keyword arguments — from
``losscli.evaluate``, ``check``, ``compare``, ``inspect`` or the CLI — into a
:class:`RunSpec`, and refuses an unknown or ill-typed option with a
:class:`~losscli.errors.UsageError` that names it and what it accepts. Nothing here reads
data, and only the standard library loads with it (the CLI reads it at start-up).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields, replace
from typing import TYPE_CHECKING, Any

from losscli import validators, vocab
from losscli.errors import UsageError, did_you_mean
from losscli.options import (
    CI_LEVEL,
    DEFAULT_CHUNK_SIZE,
    EVALUATING,
    MAX_GROUPS,
    MAX_LINE_BYTES,
    READING,
    REPLICATES,
    Option,
    column_option,
    declared,
    file_option,
    option,
)
from losscli.validators import Columns

if TYPE_CHECKING:
    from losscli.interval_kinds import CIConfig

__all__ = ["CI_LEVEL", "DEFAULT_CHUNK_SIZE", "MAX_GROUPS", "MAX_LINE_BYTES", "REPLICATES", "Columns",
           "InputSpec", "RunOptions", "RunSpec", "build_spec"]

_IN, _U = "Inputs", "Uncertainty"


def _one_column(name: str, value: Any) -> str | None:
    cols = validators.columns(name, value)
    if len(cols) > 1:
        raise UsageError(f"{name} takes one column name; got {value!r}.")
    return cols[0] if cols else None


def _comma_columns(name: str, value: Any) -> Columns:
    """Column names, each of which may list several separated by commas (``a,b,c``)."""
    return tuple(c.strip() for item in validators.columns(name, value)
                 for c in item.split(",") if c.strip())


@dataclass(frozen=True)
class InputSpec:
    """Where the rows come from. ``predictions`` (and the other data arguments) is a path,
    ``-`` (standard input), a numpy array, a list, or a pandas DataFrame/Series. Column
    options take a name, a glob (``'p_*'``) or several names."""

    predictions: Any
    targets: Any = file_option("--targets", "Targets file, aligned with the predictions by "
                               "row order; a folder, glob or URI pairs with folder predictions "
                               "file by file.", "-t")
    weights: Any = file_option("--weights", "Sample-weights file, aligned by row order (else "
                               "--weight-col).")
    pred_col: Columns = column_option(
        "Prediction column (default: detect pred, prediction, y_pred, yhat, prob, ...). "
        "Repeat it, or give a glob such as 'p_*' (file column order), for one column per "
        "class; a list column or an (N, C) NPY array also gives one value per class.",
        flags=("--pred-col",))
    target_col: Columns = column_option(
        "Target column (default: detect target, label, y_true, y, ...): values, labels, class "
        "indices, or (repeated/glob/list column) a distribution.", flags=("--target-col",))
    weight_col: str | None = option(
        None, "--weight-col", panel=_IN, check=validators.weight_col, commands=READING,
        help="Sample-weight column (never guessed). Weighted mean = Σw·ℓ / Σw.")
    var_col: Columns = column_option("gaussian_nll: predicted-variance column (default: detect "
                                     "var, variance, ...).", flags=("--var-col",))
    var: Any = file_option("--var", "gaussian_nll: predicted-variances file, aligned by row "
                           "order.")
    anchor_col: Columns = column_option(
        "triplet: anchor embedding (columns, glob or list column; default: detect 'anchor'). "
        "A plain NPY FILE is the anchors.", flags=("--anchor-col",))
    positive_col: Columns = column_option("triplet: positive embedding (default: detect "
                                          "'positive').", flags=("--positive-col",))
    negative_col: Columns = column_option("triplet: negative embedding (default: detect "
                                          "'negative').", flags=("--negative-col",))
    positive: Any = file_option("--positive", "triplet: positive-embeddings file (e.g. an "
                                "(N, D) NPY).")
    negative: Any = file_option("--negative", "triplet: negative-embeddings file (e.g. an "
                                "(N, D) NPY).")
    lower_col: Columns = column_option(
        "coverage, interval_width, interval_score: the prediction interval's lower bound "
        "(default: detect lower, lo, lower_bound, ...).", flags=("--lower-col",))
    upper_col: Columns = column_option(
        "coverage, interval_width, interval_score: the prediction interval's upper bound "
        "(default: detect upper, hi, upper_bound, ...).", flags=("--upper-col",))
    naive_col: Columns = column_option(
        "mase: the naive (e.g. seasonal y[t − m]) forecast whose mean absolute error scales "
        "MASE (default: detect naive, y_naive).", flags=("--naive-col",))
    quantile_cols: Columns = option(
        (), "--quantile-cols", type=list[str], panel=_IN, check=_comma_columns,
        commands=READING, help="mean_pinball, crps_quantile: one column per predicted "
        "quantile, comma-separated, repeated or a glob (q_0.1,q_0.5,q_0.9); the levels are "
        "read from the names (their last number: q_0.1 and q10 are 0.1) unless given with "
        "levels=.")
    #: --query-col: the query of each row (the ranking metrics per query: ndcg, mrr, ...)
    query_col: str | None = option(
        None, "--query-col", panel=_IN, check=_one_column,
        commands=READING, metavar="COL", show_default=False,
        help="ndcg, mrr, map, precision_at_k, recall_at_k: the column naming each row's query "
        "(any type). Rows of a query may come in any order; queries in contiguous runs keep "
        "only the open query's rows (decided by a first pass over the column; stdin keeps "
        "every row).")
    format_in: str | None = option(
        None, "--format-in", choices=vocab.INPUT_FORMATS, enum=True, panel=_IN,
        commands=READING, help="Input format when the extension does not say (or to "
        "override it). On standard input it is detected from the first bytes unless given.")
    encoding: str | None = option(
        None, "--encoding", metavar="NAME", show_default=False, panel=_IN,
        check=validators.encoding, commands=READING, help="Encoding of CSV, TSV and NDJSON text, "
        "e.g. latin-1, cp1252, utf-16 (default UTF-8).")
    max_line_bytes: int | None = option(
        None, "--max-line-bytes", metavar="SIZE", show_default=False, panel=_IN,
        check=validators.max_line_bytes, commands=READING, help="Longest line of CSV, TSV and "
        f"NDJSON input, e.g. 64M (default {MAX_LINE_BYTES >> 20}M); a longer one is an "
        "error. Memory grows with it.")
    chunk_size: int | None = option(
        None, "--chunk-size", type=int, minimum=1, show_default=False, panel=_IN,
        check=validators.chunk_size, help="Rows per chunk; memory stays bounded by it. Default "
        f"{DEFAULT_CHUNK_SIZE}, or about 1M values for wide rows (class scores).")
    # Folders, globs and URIs: options of the object store (s3://: endpoint_override,
    # region, anonymous, credentials...; see losscli.io.dataset.S3_OPTIONS), and whether
    # key=value folders are hive partitions (None: when every file sits under the same keys).
    storage_options: Mapping[str, Any] = option(
        None, "--storage-option", factory=dict, type=list[str], metavar="KEY=VALUE",
        show_default=False, panel=_IN, check=validators.storage_options, commands=READING,
        help="Object storage option for s3:// URIs (repeatable): endpoint_override, region, "
        "anonymous, access_key, secret_key, session_token, scheme, connect_timeout, "
        "request_timeout, role_arn, force_virtual_addressing. Default: the AWS environment.")
    partitioning: str | None = option(
        None, "--partitioning", choices=vocab.PARTITIONINGS,
        metavar="|".join(vocab.PARTITIONINGS), show_default=False, panel=_IN,
        commands=READING, help="Whether key=value folders of a folder, glob or URI are hive "
        "partitions (their keys read as text columns). Default: hive when every file sits "
        "under the same key=value folders.")
    #: --id-col: join the predictions to the targets (and a weights file) by these key
    #: columns (the targets' own names in target_id_col when they differ); unmatched:
    #: "error" (keys missing on either side) or "omit" (evaluate the matched rows)
    id_col: Columns = column_option(
        "Join the predictions to --targets (and --weights) by this key column instead of by "
        "row order (repeat it for a composite key). The targets are held in memory as a hash "
        "index (about their size; the predictions stream). A key on both sides once, else an "
        "error; see --unmatched.", flags=("--id-col",), metavar="KEY", show_default=False,
        commands=EVALUATING)
    target_id_col: Columns = column_option(
        "The targets' key column(s) when they are named otherwise than --id-col (in the same "
        "order).", flags=("--target-id-col",), metavar="KEY", show_default=False,
        commands=EVALUATING)
    unmatched: str = option(
        "error", "--unmatched", choices=vocab.UNMATCHED,
        metavar="|".join(vocab.UNMATCHED), panel=_IN, help="With --id-col: prediction rows "
        "without a target or targets without a prediction are an error (naming how many and "
        "the first keys), or are left out and counted in the report (omit).")
    nan_policy: str = option(
        "raise", "--nan-policy", choices=vocab.NAN_POLICIES, enum=True,
        panel=_IN, help="NaN/inf: raise an error, omit the whole row, or propagate.")

    def columns(self) -> dict[str, Columns]:
        """``--x-col`` values of the extra roles (var and the triplet roles)."""
        return {"var": self.var_col, "anchor": self.anchor_col,
                "positive": self.positive_col, "negative": self.negative_col,
                "lower": self.lower_col, "upper": self.upper_col, "naive": self.naive_col,
                "quantiles": self.quantile_cols}

    def files(self) -> dict[str, Any]:
        """Separate files of the extra roles."""
        return {"var": self.var, "positive": self.positive, "negative": self.negative}


@dataclass(frozen=True)
class RunOptions:
    """What to compute from the rows."""

    losses: tuple[str, ...] = option(
        (), "--loss", "-l", type=list[str], panel="Losses", check=validators.losses,
        complete="complete_loss", help="Loss to compute, repeatable; 'name:param=value,...' "
        "sets one instance's parameters (booleans: true/false). Default by task: regression "
        "mse, rmse, mae; binary bce, brier, zero_one; multiclass cross_entropy, zero_one; "
        "embedding triplet. See 'losscli losses'.")
    #: Loss parameters by name: on the command line, one flag each (built from the
    #: registry's Params by losscli.cli.options)
    params: Mapping[str, Any] = option(None, factory=dict, check=validators.params)
    reduction: str = option(
        "mean", "--reduction", "-r", choices=vocab.REDUCTIONS, enum=True, panel="Losses",
        commands=frozenset({"eval"}), help="mean (Σw·ℓ/Σw), sum (Σw·ℓ), or none (per-row "
        "w·ℓ, streamed to --output, or to stdout as CSV or with --format ndjson as NDJSON).")
    task: str | None = option(
        None, "--task", choices=vocab.TASKS, enum=True, metavar="TASK", panel=_IN,
        show_default=False, commands=READING, help="regression, binary, multiclass, "
        "multilabel or embedding. Default: detected (several prediction values per row: "
        "multiclass, or regression with several outputs when the targets have as many values "
        "and are not distributions; one: from the losses, else binary when the first 10000 "
        "rows' targets are 0/1 or -1/1 and predictions in [0, 1]). multilabel is never "
        "guessed.")
    from_logits: bool = option(
        False, "--from-logits", type=bool, panel=_IN, check=validators.flag, commands=READING,
        help="Predictions are logits (log-rates for poisson_nll): sigmoid / softmax are "
        "applied inside the losses. Without it they must be probabilities. Margin losses take "
        "raw scores and ignore it.")
    # take predictions as logits even when they look like probabilities
    assume_logits: bool = option(
        False, "--assume-logits", type=bool, panel=_IN, check=validators.flag, help="With "
        "--from-logits: take the predictions as logits even when they look like probabilities "
        "(all in [0, 1], rows summing to 1).")
    #: the decision threshold on one-column scores (the CLI's --threshold is a loss parameter)
    threshold: float | None = option(None, check=validators.threshold)
    #: expected_cost's cost matrix (losscli.cost_matrix: rows the true class, columns the
    #: predicted one; text, a CSV/JSON path or nested rows); the CLI's --cost-matrix is the
    #: loss parameter, as --threshold is
    cost_matrix: str | None = option(None, check=validators.cost_matrix)
    #: A target column of labels (losscli.labels): the label of each prediction column, in
    #: order (binary: NEGATIVE,POSITIVE), and the positive label of binary data.
    classes: tuple[str, ...] = option(
        (), "--classes", metavar="A,B,...", show_default=False, panel=_IN,
        check=validators.classes, commands=READING, help="Targets that are labels (strings, "
        "booleans): the label each prediction column scores, in their order (binary: "
        "NEGATIVE,POSITIVE). Default: the columns' names less their shared prefix and suffix "
        "(p_setosa: setosa), else the file's sorted labels. On numbers: those values are the "
        "labels (1,2,3), or names of the class indices.")
    pos_label: str | None = option(
        None, "--pos-label", metavar="LABEL", show_default=False, panel=_IN,
        check=validators.pos_label, commands=READING, help="Binary targets that are labels: the "
        "positive one; every other label must be the one negative label. Default: true of "
        "true/false, yes of yes/no, 1 of 1/0, ... (any case); other text needs it.")
    # per-row values (reduction none): a file, or None
    output: str | None = option(
        None, "--output", "-o", panel="Output", check=validators.optional_path,
        commands=frozenset({"eval"}), help="With --reduction none: file for per-row losses "
        "(.csv, .tsv, .parquet, .npy, .ndjson); default stdout as CSV.")
    # their format on standard output (the CLI derives it from --format)
    output_format: str | None = option(None, choices=vocab.STDOUT_SINK_FORMATS)
    # threads reducing work units; None: every CPU we may use
    workers: int | None = option(
        None, "--workers", metavar="N|auto", show_default=False, panel=_IN,
        check=validators.workers, help="Threads reducing work units (Parquet row groups, Feather "
        "record batches, NPY row ranges, CSV/NDJSON blocks, files of a folder) side by side. "
        "Default auto: every CPU this process may use; for object storage (s3://...) 4 per "
        "CPU, at most 16. Any N gives the same bits as 1.")
    # write the merged State here (merge it later: losscli merge)
    save_state: str | None = option(
        None, "--save-state", metavar="FILE", panel="Output", show_default=False,
        check=validators.optional_path, commands=frozenset({"eval"}), help="Also write this "
        "part's mergeable state (exact, versioned, with its losses, options and row ranges) "
        "for 'losscli merge'.")
    engine: str = option(
        "local", "--engine", choices=vocab.ENGINES, metavar="|".join(vocab.ENGINES),
        panel=_IN, help="local: threads of this process; dask: the workers of a Dask cluster "
        "read and reduce the units (pip install 'losscli\\[dask]'); the same bits either way.")
    scheduler: str | None = option(
        None, "--scheduler", metavar="ADDRESS", show_default=False, panel=_IN,
        check=validators.scheduler, help="With --engine dask: a running scheduler (e.g. "
        "tcp://10.0.0.5:8786); without it, a local cluster of --workers processes on "
        "127.0.0.1.")
    ci: bool = option(
        False, "--ci", type=bool, panel=_U, check=validators.flag, help="Confidence intervals: "
        "analytic where valid (mean losses: normal with Kish's effective n; rmse: delta "
        "method; 0/1 losses: Wilson), else a Poisson bootstrap; max_error and ranking "
        "metrics: n/a. The method is in the output.")
    ci_level: float = option(CI_LEVEL, "--ci-level", type=float, panel=_U, check=validators.number,
                             help="Confidence level of --ci.")
    ci_method: str = option(
        "auto", "--ci-method", choices=vocab.CI_METHODS, metavar="|".join(vocab.CI_METHODS),
        panel=_U, help="auto: analytic where valid, else bootstrap; bootstrap: for every loss "
        "that has one.")
    replicates: int = option(
        REPLICATES, "--replicates", type=int, panel=_U, check=validators.whole,
        help="Bootstrap replicates (Poisson weights hashed from seed, row and replicate: the "
        "same for any chunking, worker count or split).")
    seed: int = option(0, "--seed", type=int, panel=_U, check=validators.seed,
                       help="Bootstrap seed (recorded in the report).")
    distribution: bool = option(
        False, "--distribution", type=bool, panel=_U, check=validators.flag, help="Quantiles of "
        "each per-row loss (p50, p90, p99, p99.9, max) from a mergeable sketch within 1 % "
        "relative error (stated in the output).")
    # beside p50, p90, p99, p99.9 and max
    quantile_levels: tuple[float, ...] = option(
        (), "--quantile-levels", type=list[str], metavar="Q[,Q...]", show_default=False,
        panel=_U, check=validators.levels, help="More quantiles for --distribution, e.g. "
        "0.95,0.999.")
    # the sketch's relative error bound α
    relative_accuracy: float = option(0.01, check=validators.accuracy)
    confusion: bool = option(
        False, "--confusion", type=bool, panel="Output", check=validators.flag,
        commands=frozenset({"eval", "check", "compare"}), help="Also print the confusion "
        "matrix (compare: each model's; rows: true "
        "class, columns: predicted; weighted counts with weights), read from the exact counts "
        "of a confusion-based metric of the run (f1, precision, recall, mcc, ...: add one, "
        "e.g. --loss mcc); per group with --group-by; a heat map with --plot/--html. Binary "
        "and multi-class.")
    #: keep a calibration state (the reliability diagram's bins) for a binary or multi-class
    #: classifier whose predictions are probabilities, even without ece/mce (--plot, --html)
    calibration: bool = option(False, check=validators.flag)
    #: --group-by: key columns (or partition keys); one result per group beside the overall
    group_by: tuple[str, ...] = option(
        (), "--group-by", "-g", type=list[str], metavar="COL", show_default=False,
        panel="Groups", check=validators.group_by, help="One result per value of COL "
        "(repeatable: per combination), beside the overall one: a column of the data or a "
        "partition key of a dataset (key=value folders). Strings, integers, booleans, dates; "
        "null is a group of its own. check applies the bounds to every group.")
    max_groups: int = option(
        MAX_GROUPS, "--max-groups", type=int, panel="Groups", check=validators.positive,
        help="Refuse more groups than this (each keeps its own state).")
    # groups ordered by key, or "value": worst first on the first loss
    sort: str = option(
        "key", "--sort", choices=vocab.GROUP_SORTS, metavar="|".join(vocab.GROUP_SORTS),
        panel="Groups", help="Order of the groups: by key, or by value — worst first on the "
        "first loss.")
    #: --group-gap: per loss, the gap between the groups (losscli.gaps), None: not asked
    group_gap: str | None = option(
        None, "--group-gap", choices=vocab.GROUP_GAPS, metavar="|".join(vocab.GROUP_GAPS),
        show_default=False, panel="Groups", commands=frozenset({"eval", "check"}),
        help="With --group-by: per loss, the gap between the groups — difference: largest "
        "minus smallest group value; ratio: smallest / largest (fairlearn's MetricFrame "
        ".difference()/.ratio(), between_groups) — with the groups at both ends and the worst "
        "one; its interval with --ci --ci-method bootstrap (the groups resampled jointly).")

    def ci_config(self) -> CIConfig | None:
        """The :class:`losscli.interval_kinds.CIConfig` of ``--ci`` (None without it)."""
        return self.interval_config() if self.ci else None

    def interval_config(self) -> CIConfig:
        """The level, method, replicates and seed given, with or without ``--ci``: what the
        paired tests of ``compare`` and ``check --reference-col`` use (they run without
        ``--ci`` too, and must honour ``--replicates``/``--seed``/``--ci-level``)."""
        from losscli.interval_kinds import CIConfig

        return CIConfig(self.ci_level, self.ci_method, self.replicates, self.seed)


@dataclass(frozen=True)
class RunSpec:
    """A whole run: its inputs and its options."""

    inputs: InputSpec
    options: RunOptions

    def replace_options(self, **changes: Any) -> RunSpec:
        return replace(self, options=replace(self.options, **changes))


#: Every option of the Python API, declared by the fields above.
API_OPTIONS: tuple[Option, ...] = declared(InputSpec, RunOptions)
BY_NAME: dict[str, Option] = {o.name: o for o in API_OPTIONS}
INPUT_FIELDS = tuple(f.name for f in fields(InputSpec))
OPTION_FIELDS = tuple(f.name for f in fields(RunOptions))
#: The arguments that name data: a file, an array, a DataFrame...
DATA_FIELDS = ("predictions", *(o.name for o in API_OPTIONS if o.check is validators.data))


def api_options(command: str | None = None) -> tuple[str, ...]:
    """The keyword options :func:`build_spec` takes; with ``command``, only those that
    command takes (``inspect``: the options about the inputs and how they are read)."""
    return tuple(o.name for o in API_OPTIONS if command is None or o.takes(command))


def default(name: str) -> Any:
    """The declared default of option ``name``."""
    return BY_NAME[name].default


def build_spec(predictions: Any, targets: Any = None, *, where: str = "evaluate()",
               allowed: Iterable[str] | None = None, **options: Any) -> RunSpec:
    """Validate keyword options into a :class:`RunSpec` (no I/O).

    ``where`` names the caller in messages; ``allowed`` restricts the option names (e.g.
    ``inspect`` takes no loss options). An unknown name is a UsageError with the closest
    name and the list of options; a value of the wrong type or out of its set is a
    UsageError naming the option and what it accepts.
    """
    names = tuple(allowed) if allowed is not None else (*INPUT_FIELDS[2:], *OPTION_FIELDS)
    for key in options:
        if key not in names:
            raise UsageError(
                f"{where} has no option '{key}'.{did_you_mean(key, list(names))} Its options: "
                f"{', '.join(names)}."
            )
    values: dict[str, Any] = {"predictions": validators.data("predictions", predictions),
                              "targets": validators.data("targets", targets)}
    for key, value in options.items():
        values[key] = BY_NAME[key].validate(value)  # the option's one declaration
    if values["predictions"] is None:
        raise UsageError(f"{where} needs predictions: a file path, '-', an array or a DataFrame.")
    if values.get("target_id_col") and not values.get("id_col"):
        raise UsageError("--target-id-col names the targets' key columns of a join: give the "
                         "predictions' with --id-col too.")
    if values.get("id_col") and values.get("target_id_col") and len(
            values["id_col"]) != len(values["target_id_col"]):
        raise UsageError(f"--id-col names {len(values['id_col'])} key column(s) and "
                         f"--target-id-col {len(values['target_id_col'])}: give one target "
                         "key column per prediction key column, in the same order.")
    inputs = InputSpec(**{k: v for k, v in values.items() if k in INPUT_FIELDS})
    opts = RunOptions(**{k: v for k, v in values.items() if k in OPTION_FIELDS})
    opts.ci_config()  # validates level, method, replicates and seed (no I/O)
    if opts.group_gap is not None and not opts.group_by:
        raise UsageError(f"--group-gap {opts.group_gap} compares the groups of --group-by: add "
                         "--group-by COL (group_by=), or drop --group-gap.")
    if opts.scheduler is not None and opts.engine != "dask":
        raise UsageError("scheduler is the address of a Dask scheduler: add engine='dask' "
                         "(--engine dask), or drop it.")
    if opts.engine == "dask" and opts.reduction == "none":
        raise UsageError("--reduction none streams per-row values to one place; use the local "
                         "engine for it (drop --engine dask).")
    if opts.engine == "dask" and any(isinstance(x, str) and x == "-" for x in (
            inputs.predictions, inputs.targets, inputs.weights)):
        raise UsageError("--engine dask: the workers read the inputs themselves, and they "
                         "cannot read this process's standard input; give files or URIs.")
    if opts.output is not None and opts.reduction != "none":
        raise UsageError("output is for per-row losses; add reduction='none' (--reduction "
                         "none), or drop it.")
    return RunSpec(inputs, opts)
