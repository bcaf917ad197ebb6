"""The Typer app: parse options, call the Python API, render, map errors to exit codes.

Exit codes: 0 success, 1 a check failed, 2 usage, input or output error (one line on
stderr), 130 Ctrl-C, 143 SIGTERM (one line on stderr, temporary files removed).
Only typer and the standard library are imported at start-up; numpy, pyarrow and rich
load when a command runs, so ``--help`` and TAB completion stay fast.
"""

from __future__ import annotations

import inspect
import os
import sys
import typing
from enum import Enum
from typing import Annotated, Any

import typer

from losscli._version import __version__
from losscli.present.text import stderr_line

app = typer.Typer(
    name="losscli",
    help="Evaluate losses over prediction and target files, streamed in chunks.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=True,  # --install-completion/--show-completion; see completions/
    context_settings={"help_option_names": ["-h", "--help"]},
)


# The choices below are spelled out for Typer and the type checker; tests/test_cli.py checks
# that each Enum holds exactly its tuple in losscli.vocab, the one list of the words.


class Reduction(str, Enum):
    mean = "mean"
    sum = "sum"
    none = "none"


class NanPolicy(str, Enum):
    raise_ = "raise"
    omit = "omit"
    propagate = "propagate"


class OutputFormat(str, Enum):
    table = "table"
    json = "json"
    markdown = "markdown"
    csv = "csv"
    ndjson = "ndjson"


class Task(str, Enum):
    regression = "regression"
    binary = "binary"
    multiclass = "multiclass"
    multilabel = "multilabel"
    embedding = "embedding"


class DataChanged(str, Enum):
    warn = "warn"
    fail = "fail"


class InputFormat(str, Enum):
    csv = "csv"
    tsv = "tsv"
    parquet = "parquet"
    npy = "npy"
    feather = "feather"
    arrow = "arrow"
    ndjson = "ndjson"


def fail(message: str, code: int = 2) -> typer.Exit:
    """Print one line on stderr and return the Exit to raise. Control characters in the
    message (it may quote names from a file) are shown escaped."""
    stderr_line(message, kind="error")
    return typer.Exit(code)


def _complete_loss(incomplete: str) -> list[tuple[str, str]]:
    """Loss names and aliases for TAB completion, with the summary zsh and fish show."""
    from losscli.registry import all_losses, all_names, get_loss

    specs = all_losses()
    return [(n, specs[n].summary if n in specs else f"alias of {get_loss(n).name}")
            for n in all_names() if n.startswith(incomplete.lower())]


# ---------------------------------------------------------------------------------------
# Options shared by every command that reads inputs, declared once and injected into each
# command's signature by ``with_options`` (the command receives them as keyword arguments).

def _opt(name: str, annotation: Any, default: Any) -> inspect.Parameter:
    return inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default,
                             annotation=annotation)


INPUT_OPTIONS = (
    _opt("targets", Annotated[str | None, typer.Option(
        "--targets", "-t", help="Targets file, aligned with the predictions by row order; a "
        "folder, glob or URI pairs with folder predictions file by file.",
        rich_help_panel="Inputs")], None),
    _opt("weights", Annotated[str | None, typer.Option(
        "--weights", help="Sample-weights file, aligned by row order (else --weight-col).",
        rich_help_panel="Inputs")], None),
    _opt("pred_col", Annotated[list[str] | None, typer.Option(
        "--pred-col", help="Prediction column (default: detect pred, prediction, y_pred, "
        "yhat, prob, ...). Repeat it, or give a glob such as 'p_*' (file column order), for "
        "one column per class; a list column or an (N, C) NPY array also gives one value "
        "per class.", rich_help_panel="Inputs")], None),
    _opt("target_col", Annotated[list[str] | None, typer.Option(
        "--target-col", help="Target column (default: detect target, label, y_true, y, ...): "
        "values, labels, class indices, or (repeated/glob/list column) a distribution.",
        rich_help_panel="Inputs")], None),
    _opt("weight_col", Annotated[str | None, typer.Option(
        "--weight-col", help="Sample-weight column (never guessed). Weighted mean = Σw·ℓ / Σw.",
        rich_help_panel="Inputs")], None),
    _opt("var_col", Annotated[list[str] | None, typer.Option(
        "--var-col", help="gaussian_nll: predicted-variance column (default: detect var, "
        "variance, ...).", rich_help_panel="Inputs")], None),
    _opt("var", Annotated[str | None, typer.Option(
        "--var", help="gaussian_nll: predicted-variances file, aligned by row order.",
        rich_help_panel="Inputs")], None),
    _opt("anchor_col", Annotated[list[str] | None, typer.Option(
        "--anchor-col", help="triplet: anchor embedding (columns, glob or list column; "
        "default: detect 'anchor'). A plain NPY FILE is the anchors.",
        rich_help_panel="Inputs")], None),
    _opt("positive_col", Annotated[list[str] | None, typer.Option(
        "--positive-col", help="triplet: positive embedding (default: detect 'positive').",
        rich_help_panel="Inputs")], None),
    _opt("negative_col", Annotated[list[str] | None, typer.Option(
        "--negative-col", help="triplet: negative embedding (default: detect 'negative').",
        rich_help_panel="Inputs")], None),
    _opt("positive", Annotated[str | None, typer.Option(
        "--positive", help="triplet: positive-embeddings file (e.g. an (N, D) NPY).",
        rich_help_panel="Inputs")], None),
    _opt("negative", Annotated[str | None, typer.Option(
        "--negative", help="triplet: negative-embeddings file (e.g. an (N, D) NPY).",
        rich_help_panel="Inputs")], None),
    _opt("task", Annotated[Task | None, typer.Option(
        "--task", metavar="TASK", help="regression, binary, multiclass, multilabel or "
        "embedding. Default: detected (several prediction values per row: multiclass, or "
        "regression with several outputs when the targets have as many values and are not "
        "distributions; one: from the losses, else binary when the first 10000 rows' targets "
        "are 0/1 or -1/1 and predictions in [0, 1]). multilabel is never guessed.",
        rich_help_panel="Inputs",
        show_default=False)], None),
    _opt("classes", Annotated[str | None, typer.Option(
        "--classes", metavar="A,B,...", show_default=False, help="Targets that are labels "
        "(strings, booleans): the label each prediction column scores, in their order "
        "(binary: NEGATIVE,POSITIVE). Default: the columns' names less their shared prefix "
        "and suffix (p_setosa: setosa), else the file's sorted labels. On numbers: those "
        "values are the labels (1,2,3), or names of the class indices.",
        rich_help_panel="Inputs")], None),
    _opt("pos_label", Annotated[str | None, typer.Option(
        "--pos-label", metavar="LABEL", show_default=False, help="Binary targets that are "
        "labels: the positive one; every other label must be the one negative label. Default: "
        "true of true/false, yes of yes/no, 1 of 1/0, ... (any case); other text needs it.",
        rich_help_panel="Inputs")], None),
    _opt("assume_logits", Annotated[bool, typer.Option(
        "--assume-logits", help="With --from-logits: take the predictions as logits even when "
        "they look like probabilities (all in [0, 1], rows summing to 1).",
        rich_help_panel="Inputs")], False),
    _opt("from_logits", Annotated[bool, typer.Option(
        "--from-logits", help="Predictions are logits (log-rates for poisson_nll): sigmoid / "
        "softmax are applied inside the losses. Without it they must be probabilities. "
        "Margin losses take raw scores and ignore it.", rich_help_panel="Inputs")], False),
    _opt("format_in", Annotated[InputFormat | None, typer.Option(
        "--format-in", help="Input format when the extension does not say (or to override "
        "it). On standard input it is detected from the first bytes unless given.",
        rich_help_panel="Inputs")], None),
    _opt("encoding", Annotated[str | None, typer.Option(
        "--encoding", metavar="NAME", show_default=False, help="Encoding of CSV, TSV and NDJSON "
        "text, e.g. latin-1, cp1252, utf-16 (default UTF-8).", rich_help_panel="Inputs")],
        None),
    _opt("max_line_bytes", Annotated[str | None, typer.Option(
        "--max-line-bytes", metavar="SIZE", show_default=False, help="Longest line of CSV, "
        "TSV and NDJSON input, e.g. 64M (default 16M); a longer one is an error. Memory "
        "grows with it.", rich_help_panel="Inputs")], None),
    _opt("chunk_size", Annotated[int | None, typer.Option(
        "--chunk-size", min=1, show_default=False, help="Rows per chunk; memory stays "
        "bounded by it. Default 262144, or about 1M values for wide rows (class scores).",
        rich_help_panel="Inputs")], None),
    _opt("workers", Annotated[str | None, typer.Option(
        "--workers", metavar="N|auto", show_default=False, help="Threads reducing work units "
        "(Parquet row groups, Feather record batches, NPY row ranges, CSV/NDJSON blocks, "
        "files of a folder) side by side. Default auto: every CPU this process may use; for "
        "object storage (s3://...) 4 per CPU, at most 16. Any N gives the same bits as 1.",
        rich_help_panel="Inputs")], None),
    _opt("storage_options", Annotated[list[str] | None, typer.Option(
        "--storage-option", metavar="KEY=VALUE", show_default=False, help="Object storage "
        "option for s3:// URIs (repeatable): endpoint_override, region, anonymous, "
        "access_key, secret_key, session_token, scheme, connect_timeout, request_timeout, "
        "role_arn, force_virtual_addressing. Default: the AWS environment.",
        rich_help_panel="Inputs")], None),
    _opt("partitioning", Annotated[str | None, typer.Option(
        "--partitioning", metavar="hive|none", show_default=False, help="Whether key=value "
        "folders of a folder, glob or URI are hive partitions (their keys read as text "
        "columns). Default: hive when every file sits under the same key=value folders.",
        rich_help_panel="Inputs")], None),
    _opt("id_col", Annotated[list[str] | None, typer.Option(
        "--id-col", metavar="KEY", help="Join the predictions to --targets (and --weights) "
        "by this key column instead of by row order (repeat it for a composite key). The "
        "targets are held in memory as a hash index (about their size; the predictions "
        "stream). A key on both sides once, else an error; see --unmatched.",
        rich_help_panel="Inputs", show_default=False)], None),
    _opt("target_id_col", Annotated[list[str] | None, typer.Option(
        "--target-id-col", metavar="KEY", help="The targets' key column(s) when they are "
        "named otherwise than --id-col (in the same order).", rich_help_panel="Inputs",
        show_default=False)], None),
    _opt("unmatched", Annotated[str, typer.Option(
        "--unmatched", metavar="error|omit", help="With --id-col: prediction rows without a "
        "target or targets without a prediction are an error (naming how many and the first "
        "keys), or are left out and counted in the report (omit).",
        rich_help_panel="Inputs")], "error"),
    _opt("engine", Annotated[str, typer.Option(
        "--engine", metavar="local|dask", help="local: threads of this process; dask: the "
        "workers of a Dask cluster read and reduce the units (pip install 'losscli\\[dask]'); "
        "the same bits either way.", rich_help_panel="Inputs")], "local"),
    _opt("scheduler", Annotated[str | None, typer.Option(
        "--scheduler", metavar="ADDRESS", show_default=False, help="With --engine dask: a "
        "running scheduler (e.g. tcp://10.0.0.5:8786); without it, a local cluster of "
        "--workers processes on 127.0.0.1.", rich_help_panel="Inputs")], None),
    _opt("nan_policy", Annotated[NanPolicy, typer.Option(
        "--nan-policy", help="NaN/inf: raise an error, omit the whole row, or propagate.",
        rich_help_panel="Inputs")], NanPolicy.raise_),
)

#: Loss parameters as top-level flags: (name, type, help). Each applies to every selected
#: loss that takes it; a flag no selected loss takes is an error. tests/test_cli.py checks
#: that this table holds exactly the parameters declared in the registry.
PARAM_FLAGS: tuple[tuple[str, type, str], ...] = (
    ("delta", float, "huber: quadratic/linear switch point (default 1.0)."),
    ("beta", float, "smooth_l1: quadratic/linear switch point (default 1.0)."),
    ("quantile", float, "quantile: the quantile predicted, in [0, 1] (default 0.5)."),
    ("tolerance", float, "zero_one (regression): largest error still counted correct "
     "(default 0)."),
    ("eps", float, "bce, cross_entropy, kl_div: probability clip (default float64 epsilon); "
     "triplet: added to differences (1e-6); gaussian_nll: variance floor (1e-6); "
     "poisson_nll: added to rates in the log (1e-8)."),
    ("pos_weight", float, "bce: weight of the positive-class term (default 1)."),
    ("alpha", float, "focal: positive-class weight (default 0.25); bce: alpha-balancing "
     "(default -1 = off); negative = no weighting."),
    ("gamma", float, "focal: focusing exponent (default 2)."),
    ("label_smoothing", float, "cross_entropy: label smoothing in [0, 1] (default 0)."),
    ("margin", float, "multi_margin, triplet: margin (default 1)."),
    ("p", float, "multi_margin: exponent 1 or 2 (default 1); triplet: norm degree (default 2)."),
    ("swap", bool, "triplet: use the distance swap (default off)."),
    ("full", bool, "gaussian_nll, poisson_nll: add the constant terms (default off)."),
    ("threshold", float, "zero_one, accuracy, precision, recall, f1, hamming on one-column "
     "(or multi-label) scores: positive when score >= threshold (default 0.5, or 0 with "
     "--from-logits)."),
    ("average", str, "precision, recall, f1: binary, micro, macro or weighted (default binary "
     "for binary data, else macro)."),
    ("bins", int, "roc_auc, average_precision: 0 exact (default), or N score bins (bounded "
     "memory; the error bound is reported); ece, mce: confidence bins (default 15)."),
    ("auc_bins", int, "roc_auc, average_precision only: N score bins (bounded memory, the "
     "error bound reported), or 0 exact; --bins also sets ece's bins."),
    ("multioutput", str, "r2 with several outputs per row: uniform_average (default) or "
     "variance_weighted."),
)


def _param_option(name: str, kind: type, help_text: str) -> inspect.Parameter:
    flag = "--" + name.replace("_", "-")
    if kind is bool:
        decls = (f"{flag}/--no-{name.replace('_', '-')}",)
        annotation: Any = Annotated[bool | None, typer.Option(
            *decls, help=help_text, rich_help_panel="Loss parameters", show_default=False)]
    else:
        annotation = Annotated[kind | None, typer.Option(  # type: ignore[valid-type]
            flag, help=help_text, rich_help_panel="Loss parameters", show_default=False)]
    return _opt(name, annotation, None)


LOSS_OPTIONS = (
    _opt("loss", Annotated[list[str] | None, typer.Option(
        "--loss", "-l", autocompletion=_complete_loss,
        help="Loss to compute, repeatable; 'name:param=value,...' sets one instance's "
             "parameters (booleans: true/false). Default by task: regression mse, rmse, mae; "
             "binary bce, brier, zero_one; multiclass cross_entropy, zero_one; embedding "
             "triplet. See 'losscli losses'.",
        rich_help_panel="Losses")], None),
    *(_param_option(*flag) for flag in PARAM_FLAGS),
)


#: Intervals and distributions, for every command that evaluates.
STAT_OPTIONS = (
    _opt("ci", Annotated[bool, typer.Option(
        "--ci", help="Confidence intervals: analytic where valid (mean losses: normal with "
        "Kish's effective n; rmse: delta method; 0/1 losses: Wilson), else a Poisson "
        "bootstrap; max_error and ranking metrics: n/a. The method is in the output.",
        rich_help_panel="Uncertainty")], False),
    _opt("ci_level", Annotated[float, typer.Option(
        "--ci-level", help="Confidence level of --ci.", rich_help_panel="Uncertainty")], 0.95),
    _opt("ci_method", Annotated[str, typer.Option(
        "--ci-method", metavar="auto|analytic|bootstrap", help="auto: analytic where valid, "
        "else bootstrap; bootstrap: for every loss that has one.",
        rich_help_panel="Uncertainty")], "auto"),
    _opt("replicates", Annotated[int, typer.Option(
        "--replicates", help="Bootstrap replicates (Poisson weights hashed from seed, row "
        "and replicate: the same for any chunking, worker count or split).",
        rich_help_panel="Uncertainty")], 200),
    _opt("seed", Annotated[int, typer.Option(
        "--seed", help="Bootstrap seed (recorded in the report).",
        rich_help_panel="Uncertainty")], 0),
    _opt("distribution", Annotated[bool, typer.Option(
        "--distribution", help="Quantiles of each per-row loss (p50, p90, p99, p99.9, max) "
        "from a mergeable sketch within 1 % relative error (stated in the output).",
        rich_help_panel="Uncertainty")], False),
    _opt("quantile_levels", Annotated[list[str] | None, typer.Option(
        "--quantile-levels", metavar="Q[,Q...]", help="More quantiles for --distribution, "
        "e.g. 0.95,0.999.", rich_help_panel="Uncertainty", show_default=False)], None),
)


#: Per-group results, for every command that evaluates.
GROUP_OPTIONS = (
    _opt("group_by", Annotated[list[str] | None, typer.Option(
        "--group-by", "-g", metavar="COL", help="One result per value of COL (repeatable: "
        "per combination), beside the overall one: a column of the data or a partition key "
        "of a dataset (key=value folders). Strings, integers, booleans, dates; null is a "
        "group of its own. check applies the bounds to every group.",
        rich_help_panel="Groups", show_default=False)], None),
    _opt("max_groups", Annotated[int, typer.Option(
        "--max-groups", help="Refuse more groups than this (each keeps its own state).",
        rich_help_panel="Groups")], 10_000),
    _opt("sort", Annotated[str, typer.Option(
        "--sort", metavar="key|value", help="Order of the groups: by key, or by value — "
        "worst first on the first loss.", rich_help_panel="Groups")], "key"),
)


#: Pictures and the shareable report, for every command that evaluates.
PICTURE_OPTIONS = (
    _opt("plot", Annotated[bool, typer.Option(
        "--plot", help="After the table, pictures: a histogram of each per-row loss (its "
        "quantiles marked; implies --distribution), a reliability diagram of a classifier's "
        "probabilities, a bar per group with its interval; compare overlays the models. "
        "Plain text unless on a colour terminal; on stderr when stdout carries json, csv, "
        "ndjson or markdown.", rich_help_panel="Pictures")], False),
    _opt("html", Annotated[str | None, typer.Option(
        "--html", metavar="FILE", help="Also write one self-contained HTML report (tables, "
        "intervals, groups, distributions, reliability diagrams; inline SVG, no script, "
        "nothing from the network), atomically; check puts what failed first.",
        rich_help_panel="Pictures", show_default=False)], None),
)


def pictures_wanted(kwargs: dict[str, Any]) -> tuple[bool, str | None]:
    """Pop ``--plot``/``--html`` from a command's options; when either is given, ask the
    evaluation for what the pictures draw: the distributions (sketches) and a calibration
    state. Returns (plot, html)."""
    plot, html = bool(kwargs.pop("plot", False)), kwargs.pop("html", None)
    if plot or html is not None:
        kwargs["distribution"] = True
        kwargs["calibration"] = True
    return plot, html


#: The flag of each file an input option names (what an output must not overwrite).
INPUT_FLAGS = {"predictions": "predictions", "targets": "--targets", "weights": "--weights",
               "var": "--var", "positive": "--positive", "negative": "--negative",
               "baseline": "--baseline", "reference": "--reference"}


def guard_outputs(inputs: list[tuple[str, Any]], outputs: dict[str, str | None],
                  kwargs: dict[str, Any], *, may_replace: dict[str, str | None] | None = None
                  ) -> None:
    """Before any data is read: the one output guard (:func:`losscli.io.atomic.guard`)
    over ``inputs`` (what, path) plus the data options of ``kwargs`` (targets, weights...),
    and every file the command writes (``outputs``: flag → path)."""
    from losscli.errors import UsageError
    from losscli.io.atomic import guard

    if outputs.get("--html") == "-":
        raise UsageError("--html takes a file name ('-' is not one); to print the page, give "
                         "--html /dev/stdout.")
    named = [(flag, kwargs.get(name)) for name, flag in INPUT_FLAGS.items() if name in kwargs]
    guard([*inputs, *named], outputs, may_replace=may_replace)


def show_pictures(items: Any, skipped: list[str], to_stdout: bool, quiet: bool) -> None:
    """Draw ``--plot``'s pictures after the table: on stdout when it shows the table, else on
    stderr (machine output stays pure). Nothing to draw is one line on stderr, not an
    error."""
    from losscli import plot

    out = sys.stdout if to_stdout else sys.stderr
    message = plot.nothing_to_plot(items, skipped)
    if message is not None:
        if not quiet:
            stderr_line(message, kind="note")
        return
    out.write("\n")
    plot.draw(items, out, skipped=skipped)


def write_report_html(html: str, doc: dict[str, Any], items: Any, quiet: bool) -> None:
    from losscli.html import write_html

    write_html(doc, html, items)
    if not quiet:
        stderr_line(f"wrote the report to {html}")


#: Options about messages on stderr, for every command that reads data.
UI_OPTIONS = (
    _opt("quiet", Annotated[bool, typer.Option(
        "--quiet", "-q", help="No messages on stderr except errors (no progress bar, no "
        "'wrote N rows').", rich_help_panel="Output")], False),
    _opt("no_progress", Annotated[bool, typer.Option(
        "--no-progress", help="No progress bar. (It is shown only when stderr is a terminal "
        "and the run takes longer than half a second.)", rich_help_panel="Output")], False),
)

MANY_HELP = (
    "A folder, a quoted glob ('preds/**/*.parquet') or a URI (s3://bucket/preds/) is one "
    "input of many files, read in path order. "
)
STDIN_HELP = MANY_HELP + (
    "'-' (or nothing, when stdin is a pipe) reads standard input: CSV, TSV, NDJSON, Arrow "
    "stream and NPY stream in chunks; Parquet and Feather are first copied to a temporary "
    "file (disk, not memory; TMPDIR sets where)."
)


def input_file(file: str | None, *others: str | None, command: str = "eval") -> str:
    """The FILE argument: '-' (standard input) when it is missing and stdin is not a
    terminal."""
    from losscli.errors import UsageError

    if file is None:
        if sys.stdin is None or sys.stdin.isatty():
            raise UsageError(f"Missing FILE: give a file, or '-' to read standard input, e.g. "
                             f"cat preds.csv | losscli {command} - (see 'losscli {command} "
                             "--help').")
        file = "-"
    if [file, *others].count("-") > 1:
        raise UsageError("Standard input ('-') can feed only one of FILE, --targets and "
                         "--weights; give the others as files.")
    return file


def with_options(*groups: tuple[inspect.Parameter, ...]) -> Any:
    """Add option groups to a command: Typer reads the extended signature, and the command
    receives the values in ``**options``."""

    def deco(func: Any) -> Any:
        sig = inspect.signature(func)
        hints = typing.get_type_hints(func, include_extras=True)  # resolve string annotations
        own = [p.replace(annotation=hints.get(p.name, p.annotation))
               for p in sig.parameters.values() if p.kind != inspect.Parameter.VAR_KEYWORD]
        func.__signature__ = sig.replace(parameters=[*own, *(p for g in groups for p in g)])
        return func

    return deco


def split_options(options: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The shared options as the API's keyword options (``losscli.spec.build_spec``
    validates them): ``--loss`` values become ``losses``, the parameter flags ``params``,
    Enum choices their values."""
    params = {name: v for name, _, _ in PARAM_FLAGS if (v := options.pop(name, None)) is not None}
    kwargs = {k: getattr(v, "value", v) for k, v in options.items()}
    kwargs["losses"] = kwargs.pop("loss", None)
    kwargs["params"] = params
    return kwargs, params


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"losscli {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[bool, typer.Option(
        "--version", callback=_version_callback, is_eager=True, help="Show the version.")] = False,
) -> None:
    """losscli: how wrong is this model, by which measure."""


def run_guarded(fn: Any, *args: Any, **kwargs: Any) -> Any:
    """Call ``fn``; turn input/usage/output errors into one stderr line and exit code 2, a
    closed stdout pipe (``| head``) into a quiet exit 0, Ctrl-C and SIGTERM into one line
    and exit 130/143 (see :mod:`losscli.interrupts`)."""
    from losscli.errors import LossCliError
    from losscli.interrupts import interrupted, seen

    try:
        return fn(*args, **kwargs)
    except LossCliError as exc:
        raise fail(str(exc), exc.exit_code) from None
    except BrokenPipeError:
        _silence_stdout()
        raise typer.Exit(0) from None
    except KeyboardInterrupt as exc:  # Ctrl-C, or SIGTERM (interrupts.Terminated)
        raise typer.Exit(interrupted(exc)) from None
    except OSError as exc:  # the environment, not the input: still one line, never a traceback
        if seen() is not None:
            raise typer.Exit(interrupted()) from None
        raise fail(os_error_text(exc)) from None
    except Exception:
        if seen() is not None:  # what a signal's KeyboardInterrupt became (see _main)
            raise typer.Exit(interrupted()) from None
        raise


def os_error_text(exc: OSError) -> str:
    """An operating-system error that no boundary turned into a LossCliError, as one line:
    ``Cannot write to standard output: No space left on device.``"""
    import errno

    from losscli.io.atomic import os_reason

    if exc.filename is not None:
        return f"{os_reason(exc)}: '{exc.filename}'."
    if exc.errno in (errno.ENOSPC, errno.EBADF, errno.EDQUOT, errno.EFBIG, errno.EIO):
        return f"Cannot write to standard output: {os_reason(exc)}."
    return f"{os_reason(exc)}."


class _ClosedStdout:
    """``sys.stdout`` when file descriptor 1 was closed (``>&-``): every write fails with
    EBADF, which the output boundaries report as one line (exit 2). Commands that write
    only files (``--output``) still work."""

    encoding = "utf-8"
    errors = "strict"

    def write(self, data: Any) -> int:
        import errno

        raise OSError(errno.EBADF, "standard output is closed")

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return False

    def writable(self) -> bool:
        return True

    @property
    def buffer(self) -> _ClosedStdout:
        return self

    @property
    def closed(self) -> bool:
        return False


def _guard_closed_stdout() -> None:
    """With file descriptor 1 closed, the next file opened would get it, and anything
    printed would land in that file. Hold it with /dev/null, and fail writes instead."""
    try:
        os.fstat(1)
        return
    except OSError:
        pass
    fd = os.open(os.devnull, os.O_WRONLY)
    if fd != 1:
        os.dup2(fd, 1)
        os.close(fd)
    sys.stdout = _ClosedStdout()  # type: ignore[assignment]


def _fd_identity(fd: int) -> tuple[int, int] | None:
    import os

    try:
        st = os.fstat(fd)
    except OSError:
        return None
    return st.st_dev, st.st_ino


def _devnull_identity() -> tuple[int, int] | None:
    import os

    st = os.stat(os.devnull)
    return st.st_dev, st.st_ino


def _silence_stdout() -> None:
    """Point file descriptor 1 at /dev/null: what is still buffered for stdout (a reader
    that went away, a full disk) is dropped quietly at exit instead of raising again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)
        os.close(devnull)
    except OSError:
        pass


@app.command("eval")
@with_options(LOSS_OPTIONS, INPUT_OPTIONS, STAT_OPTIONS, GROUP_OPTIONS, PICTURE_OPTIONS,
              UI_OPTIONS)
def eval_cmd(
    file: Annotated[str | None, typer.Argument(
        help="Predictions (and targets) file: CSV, TSV, NDJSON, Parquet, NPY, Feather/Arrow; "
        "for triplet, the anchors (or a file with anchor/positive/negative columns). "
        + STDIN_HELP, show_default=False)] = None,
    reduction: Annotated[Reduction, typer.Option(
        "--reduction", "-r", help="mean (Σw·ℓ/Σw), sum (Σw·ℓ), or none (per-row w·ℓ, streamed "
        "to --output, or to stdout as CSV or with --format ndjson as NDJSON).",
        rich_help_panel="Losses")] = Reduction.mean,
    fmt: Annotated[OutputFormat, typer.Option(
        "--format", "-f", help="Report format on stdout (ndjson: one JSON object per loss, or "
        "per row with --reduction none).", rich_help_panel="Output")
    ] = OutputFormat.table,
    output: Annotated[str | None, typer.Option(
        "--output", "-o", help="With --reduction none: file for per-row losses "
        "(.csv, .tsv, .parquet, .npy, .ndjson); default stdout as CSV.",
        rich_help_panel="Output")] = None,
    save_state: Annotated[str | None, typer.Option(
        "--save-state", metavar="FILE", help="Also write this part's mergeable state (exact, "
        "versioned, with its losses, options and row ranges) for 'losscli merge'.",
        rich_help_panel="Output", show_default=False)] = None,
    **options: Any,
) -> None:
    """Evaluate losses over a predictions file and print them side by side.

    Examples:

      losscli eval sample_data/regression.parquet --loss huber --delta 1.0

      losscli eval sample_data/regression.csv --loss mse --loss huber:delta=0.5 --format json

      losscli eval sample_data/preds.npy --targets sample_data/targets.npy --loss rmse

      losscli eval sample_data/multiclass.parquet --pred-col 'p_*' --loss cross_entropy

      losscli eval sample_data/logits.npy --targets sample_data/labels.npy --from-logits

      cat sample_data/regression.csv | losscli eval - --loss mae --format ndjson
    """
    quiet, no_progress = options.pop("quiet"), options.pop("no_progress")
    kwargs, _ = split_options(options)
    plot, html = pictures_wanted(kwargs)
    kwargs["save_state"] = save_state
    run_guarded(_eval, file, reduction.value, fmt.value, output, kwargs,
                quiet=quiet, progress=not (quiet or no_progress), plot=plot, html=html)


def _eval(file: str | None, reduction: str, fmt: str, output: str | None,
          kwargs: dict[str, Any], quiet: bool = False, progress: bool = True,
          plot: bool = False, html: str | None = None) -> None:
    import time

    from losscli.execution import evaluate
    from losscli.progress import progress_bar
    from losscli.render import render
    from losscli.saved import save_state
    from losscli.session import Session
    from losscli.spec import build_spec

    started = time.perf_counter()  # the report's time covers opening the inputs too
    file = input_file(file, kwargs.get("targets"), kwargs.get("weights"))
    per_row_format = None if output or reduction != "none" else (
        "ndjson" if fmt == "ndjson" else "csv")
    spec = build_spec(file, where="losscli eval", reduction=reduction, output=output,
                      output_format=per_row_format, **kwargs)
    # The one output guard, before anything is read (losscli.io.atomic.guard)
    guard_outputs([("predictions", file)],
                  {"--output": output, "--save-state": kwargs.get("save_state"), "--html": html},
                  kwargs)
    # Inputs are opened once (standard input cannot be read twice) and every option is
    # checked before the first byte of output goes out.
    # The data fingerprint goes into JSON reports (future baselines); a table does without
    # its cost (see Session).
    session = Session(spec, fingerprint=fmt == "json" and reduction != "none")
    # Per-row output on the terminal itself would be torn by a bar: none then.
    progress = progress and not (reduction == "none" and output is None and sys.stdout.isatty())
    with progress_bar(session.inputs, progress) as bar:
        report, state = evaluate(session, on_batch=bar, started=started)
    if spec.options.save_state is not None:
        save_state(spec.options.save_state, session, state)
    if not quiet:
        for note in report.notes:
            stderr_line(note, kind="note")
    if reduction == "none":
        if not quiet:
            where = output or "stdout"
            stderr_line(f"wrote {report.rows} rows × {len(report.losses)} "
                        f"loss{'es' if len(report.losses) != 1 else ''} to {where}")
    else:
        render(report, fmt)
    if plot or html is not None:
        from losscli.plot import report_pictures

        doc = report.to_dict()
        items, skipped = report_pictures(report, doc)
        if plot:
            show_pictures(items, skipped, fmt == "table" and reduction != "none", quiet)
        if html is not None:
            write_report_html(html, doc, items, quiet)


@app.command("inspect")
@with_options(tuple(p for p in INPUT_OPTIONS
                    if p.name not in ("chunk_size", "nan_policy", "workers", "assume_logits",
                                      "engine", "scheduler", "id_col", "target_id_col",
                                      "unmatched")))
def inspect_cmd(
    file: Annotated[str | None, typer.Argument(
        help="The file to look at (any input format). " + STDIN_HELP,
        show_default=False)] = None,
    fmt: Annotated[OutputFormat, typer.Option(
        "--format", "-f", help="table (plain text) or json.", rich_help_panel="Output")
    ] = OutputFormat.table,
    **options: Any,
) -> None:
    """Show a file's format, rows, columns and types, the prediction/target/weight columns
    'eval' would use, and which losses fit the data.

    Examples:

      losscli inspect sample_data/regression.parquet

      losscli inspect sample_data/model_preds.parquet --targets sample_data/truth.tsv
    """
    if options.get("format_in") is not None:
        options["format_in"] = options["format_in"].value
    run_guarded(_inspect, file, fmt.value, options)


def _inspect(file: str | None, fmt: str, options: dict[str, Any]) -> None:
    from losscli.errors import UsageError
    from losscli.inspection import inspect_file, render_inspection

    if fmt not in ("table", "json"):
        raise UsageError(f"losscli inspect prints table or json, not {fmt}; use --format json.")
    file = input_file(file, options.get("targets"), options.get("weights"),
                      command="inspect")
    render_inspection(inspect_file(file, **options), fmt, sys.stdout)


@app.command("check")
@with_options(LOSS_OPTIONS, INPUT_OPTIONS, STAT_OPTIONS, GROUP_OPTIONS, PICTURE_OPTIONS,
              UI_OPTIONS)
def check_cmd(
    file: Annotated[str | None, typer.Argument(
        help="Predictions (and targets) file: CSV, TSV, NDJSON, Parquet, NPY, Feather/Arrow. "
        + STDIN_HELP, show_default=False)] = None,
    max_: Annotated[list[str] | None, typer.Option(
        "--max", metavar="NAME=V", help="Fail when loss NAME is above V (repeatable). NAME: "
        "a name, alias or label, e.g. mse, l1, huber(delta=0.5), huber:delta=0.5.",
        rich_help_panel="Checks")] = None,
    min_: Annotated[list[str] | None, typer.Option(
        "--min", metavar="NAME=V", help="Fail when loss NAME is below V (repeatable).",
        rich_help_panel="Checks")] = None,
    baseline: Annotated[str | None, typer.Option(
        "--baseline", "-b", help="Report JSON to compare with (from 'eval --format json' or "
        "'check --save'). Without --loss, its losses are evaluated.",
        rich_help_panel="Checks")] = None,
    rtol: Annotated[list[str] | None, typer.Option(
        "--rtol", metavar="[NAME=]V", help="Relative tolerance vs the baseline: fail when a "
        "loss gets worse by more than max(atol, rtol·|baseline|). Global, or per loss.",
        rich_help_panel="Checks")] = None,
    atol: Annotated[list[str] | None, typer.Option(
        "--atol", metavar="[NAME=]V", help="Absolute tolerance vs the baseline, global or per "
        "loss. Without any tolerance, no worsening is allowed.",
        rich_help_panel="Checks")] = None,
    allow_missing: Annotated[bool, typer.Option(
        "--allow-missing", help="Pass a loss that the baseline does not have (default: fail).",
        rich_help_panel="Checks")] = False,
    reference_col: Annotated[str | None, typer.Option(
        "--reference-col", metavar="COL", help="Paired gate: the current model's predictions "
        "(column COL of FILE) on the same rows; fail only when the candidate (--pred-col) is "
        "significantly worse by more than --rtol/--atol.", rich_help_panel="Checks",
        show_default=False)] = None,
    reference: Annotated[str | None, typer.Option(
        "--reference", metavar="FILE", help="Paired gate with the current model's predictions "
        "in their own file (aligned row by row with FILE).", rich_help_panel="Checks",
        show_default=False)] = None,
    data_changed: Annotated[DataChanged, typer.Option(
        "--data-changed", help="When the baseline's fingerprint of the targets and weights "
        "differs from this run's (other data): warn (a note in the verdict) or fail the gate. "
        "A baseline without a fingerprint never fails.",
        rich_help_panel="Checks")] = DataChanged.warn,
    save: Annotated[str | None, typer.Option(
        "--save", metavar="FILE", help="Write this run's report (JSON) atomically, for use as "
        "the next baseline.", rich_help_panel="Output")] = None,
    fmt: Annotated[OutputFormat, typer.Option(
        "--format", "-f", help="Verdict format on stdout; json has a top-level \"passed\".",
        rich_help_panel="Output")] = OutputFormat.table,
    **options: Any,
) -> None:
    """Fail (exit 1) when a model's losses break a bound or regress against a baseline.

    Direction comes from each loss: only a change in the worse direction fails.

    Exit codes: 0 every check passed, 1 a check failed, 2 usage or input error, 130/143
    interrupted.

    Examples:

      losscli check sample_data/regression.parquet --loss mse --loss mae --max mse=2 --max mae=1.1

      losscli check sample_data/model_b.parquet -t sample_data/truth.tsv -b sample_data/baseline.json

      losscli check sample_data/regression.parquet -b sample_data/baseline.json --save new-baseline.json
    """
    quiet, no_progress = options.pop("quiet"), options.pop("no_progress")
    kwargs, _ = split_options(options)
    plot, html = pictures_wanted(kwargs)
    kwargs["data_changed"] = data_changed.value
    kwargs["reference_col"], kwargs["reference"] = reference_col, reference
    result = run_guarded(_check, file, max_ or [], min_ or [], rtol or [], atol or [], baseline,
                         allow_missing, save, fmt.value, kwargs, quiet,
                         not (quiet or no_progress), plot=plot, html=html)
    code = result.outcome.exit_code  # the gate's one verdict
    if code:
        raise typer.Exit(code)


def _check(file: str | None, max_: list[str], min_: list[str], rtol: list[str], atol: list[str],
           baseline: str | None, allow_missing: bool, save: str | None, fmt: str,
           kwargs: dict[str, Any], quiet: bool = False, progress: bool = True,
           plot: bool = False, html: str | None = None) -> Any:
    from losscli.gate import check
    from losscli.progress import progress_bar
    from losscli.render import render_check

    file = input_file(file, kwargs.get("targets"), kwargs.get("weights"), command="check")
    # --save may replace the baseline file (the gate's policy: only when the check passes)
    guard_outputs([("predictions", file), ("--baseline", baseline)],
                  {"--save": save, "--html": html}, kwargs, may_replace={"--save": baseline})

    with progress_bar(None, progress) as bar:
        result = check(file, max_=max_, min_=min_, rtol=rtol, atol=atol, baseline=baseline,
                       allow_missing=allow_missing, save=save, on_batch=bar, **kwargs)
    render_check(result, fmt)
    if plot or html is not None:
        from losscli.plot import report_pictures

        doc = result.to_dict()
        items, skipped = report_pictures(result.report, doc)
        if plot:
            show_pictures(items, skipped, fmt == "table", quiet)
        if html is not None:
            write_report_html(html, doc, items, quiet)
    outcome = result.outcome
    for note in outcome.notes:
        stderr_line(note, kind="note")
    if result.saved and not quiet:
        stderr_line(f"saved the report to {result.saved}")
    if result.not_saved_reason:
        stderr_line(result.not_saved_reason)
    if result.data_text and fmt not in ("table", "markdown"):  # those show it themselves
        stderr_line(result.data_text, kind="note")
    if not outcome.passed:
        stderr_line(f"check failed: {outcome.failure_text()}")
    return result


@app.command("compare")
@with_options(LOSS_OPTIONS, INPUT_OPTIONS, STAT_OPTIONS, GROUP_OPTIONS, PICTURE_OPTIONS,
              UI_OPTIONS)
def compare_cmd(
    files: Annotated[list[str], typer.Argument(
        help="Prediction files, one per model, each PATH or NAME=PATH. The first is the "
        "reference. With one file, several --pred-col make the models. " + MANY_HELP,
        show_default=False)],
    name: Annotated[list[str] | None, typer.Option(
        "--name", metavar="NAME=PATH", help="Name a model (repeatable); NAME=COLUMN when the "
        "models are --pred-col columns. Default: the file stem or the column.",
        rich_help_panel="Models")] = None,
    fmt: Annotated[OutputFormat, typer.Option(
        "--format", "-f", help="Comparison format on stdout.", rich_help_panel="Output")
    ] = OutputFormat.table,
    **options: Any,
) -> None:
    """Compare models: one row per loss, one column per model, the best model per loss.

    Each model's difference to the first (the reference) is shown absolute and relative.

    Every model is read in one streamed pass against --targets (or its own target column).

    Examples:

      losscli compare a=sample_data/model_preds.parquet b=sample_data/model_b.parquet -t sample_data/truth.tsv

      losscli compare sample_data/models.parquet --pred-col model_a --pred-col model_b -l mse -l r2
    """
    quiet, no_progress = options.pop("quiet"), options.pop("no_progress")
    kwargs, _ = split_options(options)
    plot, html = pictures_wanted(kwargs)
    run_guarded(_compare, files, name or [], fmt.value, kwargs, not (quiet or no_progress),
                quiet=quiet, plot=plot, html=html)


def _compare(files: list[str], names: list[str], fmt: str, kwargs: dict[str, Any],
             progress: bool = True, *, quiet: bool = False, plot: bool = False,
             html: str | None = None) -> None:
    from losscli.comparison import compare, parse_models
    from losscli.progress import progress_bar
    from losscli.render import render_compare

    models = parse_models(files, names, kwargs.pop("pred_col", None))
    guard_outputs([(f"model '{m.name}'" if m.name else "predictions", m.predictions)
                   for m in models], {"--html": html}, kwargs)
    with progress_bar(None, progress) as bar:
        comparison = compare(models, on_batch=bar, **kwargs)
    render_compare(comparison, fmt)
    if plot or html is not None:
        from losscli.html import comparison_doc
        from losscli.plot import comparison_pictures

        items, skipped = comparison_pictures(comparison.reports, comparison.names)
        if plot:
            show_pictures(items, skipped, fmt == "table", quiet)
        if html is not None:
            write_report_html(html, comparison_doc(comparison), items, quiet)


@app.command("merge")
def merge_cmd(
    files: Annotated[list[str], typer.Argument(
        help="Saved states ('losscli eval PART --save-state FILE'), any number, any order.",
        show_default=False)],
    fmt: Annotated[OutputFormat, typer.Option(
        "--format", "-f", help="Report format on stdout.", rich_help_panel="Output")
    ] = OutputFormat.table,
) -> None:
    """Merge the saved states of parts evaluated apart into one report.

    The states are merged in the order of the rows they cover, exactly: the report equals
    one run over all the parts (bit for bit at the same chunk size). States of other
    losses or options, of newer versions, or covering the same rows twice are refused.

    Example:

      losscli eval sample_data/regression.parquet -q --save-state a.state && losscli merge a.state
    """
    run_guarded(_merge, files, fmt.value)


def _merge(files: list[str], fmt: str) -> None:
    from losscli.render import render
    from losscli.saved import merge_parts, report_of

    # merge writes no file yet: the guard is called all the same, so that an output flag
    # added to it is declared here, beside its inputs (the saved states)
    guard_outputs([("a saved state", f) for f in files], {}, {})
    doc, state, parts = merge_parts(files)
    report = report_of(doc, state, parts)
    for note in report.notes:
        sys.stderr.write(f"losscli: note: {note}\n")
    render(report, fmt)


@app.command("losses")
def losses_cmd(
    name: Annotated[str | None, typer.Argument(
        help="Show one loss in detail.", autocompletion=_complete_loss,
        show_default=False)] = None,
    fmt: Annotated[OutputFormat, typer.Option(
        "--format", "-f", help="table, json, markdown or csv.")] = OutputFormat.table,
) -> None:
    """List every loss: name, aliases, parameters with defaults, inputs, direction, reference."""
    run_guarded(_losses, name, fmt.value)


def _losses(name: str | None, fmt: str) -> None:
    from losscli.catalog import render_catalog

    render_catalog(name, fmt, sys.stdout)


def _keep_freed_memory() -> None:
    """Ask glibc to keep freed chunk-sized blocks instead of returning them to the OS.

    Every chunk allocates and frees temporaries of the same few MB; by default glibc unmaps
    or trims them and the next chunk page-faults fresh zeroed memory, which made the
    kernels 3x slower (measured: 0.24 s -> 0.07 s of compute for 10M rows, 3 losses).
    Peak memory is unchanged: the same blocks are reused. Only the CLI process does this;
    the library never changes its host's allocator.
    """
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):  # not glibc (e.g. musl): nothing to tune
        return
    m_trim_threshold, m_mmap_threshold = -1, -3
    mallopt(m_mmap_threshold, 32 << 20)  # glibc's maximum
    mallopt(m_trim_threshold, 64 << 20)


def main() -> None:
    """Entry point: Typer's parsing, with its usage errors shortened to one stderr line;
    Ctrl-C and SIGTERM end with one line and exit 130/143 (:mod:`losscli.interrupts`)."""
    from losscli.interrupts import exit_now, finishing, install_raising, interrupted, reported

    install_raising()
    try:
        code = _main()
        finishing()  # from here on a signal ends the process at once, with its one line
    except KeyboardInterrupt as exc:  # Ctrl-C or SIGTERM (interrupts.Terminated)
        code = interrupted(exc)
    try:
        sys.stdout.flush()
    except BrokenPipeError:  # the reader went away after we were done: not an error
        _silence_stdout()
    except OSError as exc:  # buffered output that cannot go out (a full disk)
        stderr_line(os_error_text(exc), kind="error")
        _silence_stdout()
        code = 2
    if reported():
        exit_now(code)
    sys.exit(code)


def _main() -> int:
    """Run the command; its exit code."""
    from losscli.interrupts import interrupted, seen

    _guard_closed_stdout()
    _keep_freed_memory()
    if not sys.warnoptions:
        # Library warnings (numpy on an old NPY header, pyarrow, dask) are not losscli's
        # messages: stderr carries one line per problem. -W or PYTHONWARNINGS still show them.
        import warnings

        warnings.simplefilter("ignore")
    # typer converts parameters through pydantic, whose plugin loader scans every installed
    # package's entry points (~10 ms of each start-up, each TAB); losscli uses no plugins.
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
    command = typer.main.get_command(app)
    stdout_before = _fd_identity(1)
    try:
        code = command.main(prog_name="losscli", standalone_mode=False)
    except SystemExit as exc:
        # rich's Console.on_broken_pipe points stdout at /dev/null and exits 1 when the reader
        # went away (`losscli --help | head -1`): not an error. Any other exit stands.
        if exc.code != 1 or stdout_before == _fd_identity(1) or (
                _fd_identity(1) != _devnull_identity()):
            raise
        code = 0
    except typer.Exit as exc:  # raised outside a command's own handling
        code = exc.exit_code
    except BrokenPipeError:  # e.g. `losscli --help | head -1`: not an error
        _silence_stdout()
        code = 0
    except OSError as exc:  # e.g. --help to a full disk: one line, not a traceback
        stderr_line(os_error_text(exc), kind="error")
        _silence_stdout()
        code = 2
    except KeyboardInterrupt as exc:  # Ctrl-C or SIGTERM outside a command's own handling
        code = interrupted(exc)
    except (EOFError, typer.Abort):  # end of input at a prompt: as Ctrl-C
        code = interrupted()
    except Exception as exc:
        if seen() is not None:
            # A signal's KeyboardInterrupt that Python wrapped on the way (an interrupt in a
            # class body's __set_name__ becomes a RuntimeError): an interrupt, not a bug.
            return interrupted()
        message = getattr(exc, "format_message", None)
        if message is None or not hasattr(exc, "exit_code"):
            raise  # a bug: keep the traceback
        if not message().strip() and hasattr(exc, "show"):  # no arguments: show the help
            exc.show()
            return int(exc.exit_code)
        # Parse errors carry no context: name the subcommand from the arguments instead.
        sub = next((a for a in sys.argv[1:] if a in getattr(command, "commands", {})), None)
        where = f"losscli {sub}" if sub else "losscli"
        from losscli.errors import escape_controls

        sys.stderr.write(f"losscli: error: {escape_controls(' '.join(message().split()))} "
                         f"(see '{where} --help')\n")
        code = exc.exit_code
    if seen() is not None:  # typer turns a KeyboardInterrupt into a silent exit 130
        code = interrupted()
    return code if isinstance(code, int) else 0
