"""The commands: each parses nothing itself (its options are declared in
:mod:`losscli.spec` and :mod:`losscli.cli.options`, added by
:func:`~losscli.cli.options.with_options`), calls the
Python API once, and hands the result to :func:`after_run`, the one place that prints it,
draws the pictures and writes the HTML page. Registered on the app in
:mod:`losscli.cli`. numpy, pyarrow and rich load when a command runs, never at import.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated, Any

import typer

from losscli.cli.after import GitHubOutput, after_run, report_pictures
from losscli.cli.hygiene import run_guarded
from losscli.cli.options import complete_loss, split_options, values, with_options
from losscli.present.text import stderr_line
from losscli.tracking import MlflowOutput, writer

if TYPE_CHECKING:
    pass



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


@with_options("eval")
def eval_cmd(
    file: Annotated[str | None, typer.Argument(
        help="Predictions (and targets) file: CSV, TSV, NDJSON, Parquet, NPY, Feather/Arrow; "
        "for triplet, the anchors (or a file with anchor/positive/negative columns). "
        + STDIN_HELP, show_default=False)] = None,
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
    fmt, reduction = options.pop("fmt").value, options.pop("reduction").value
    output, mlflow = options.pop("output"), MlflowOutput.pop(options)
    kwargs = split_options(options)
    plot, html = pictures_wanted(kwargs)
    run_guarded(_eval, file, reduction, fmt, output, kwargs,
                quiet=quiet, progress=not (quiet or no_progress), plot=plot, html=html,
                mlflow=mlflow)


def _eval(file: str | None, reduction: str, fmt: str, output: str | None,
          kwargs: dict[str, Any], quiet: bool = False, progress: bool = True,
          plot: bool = False, html: str | None = None,
          mlflow: MlflowOutput = MlflowOutput()) -> None:
    import time

    from losscli.execution import evaluate
    from losscli.progress import progress_bar
    from losscli.render import render
    from losscli.saved import save_state
    from losscli.session import Session
    from losscli.spec import build_spec

    file = input_file(file, kwargs.get("targets"), kwargs.get("weights"))
    per_row_format = None if output or reduction != "none" else (
        "ndjson" if fmt == "ndjson" else "csv")
    spec = build_spec(file, where="losscli eval", reduction=reduction, output=output,
                      output_format=per_row_format, **kwargs)
    # The one output guard, before anything is read (losscli.io.atomic.guard)
    guard_outputs([("predictions", file)],
                  {"--output": output, "--save-state": kwargs.get("save_state"), "--html": html},
                  kwargs)
    mlflow.prepare(reduction)
    started = time.perf_counter()  # the report's time covers opening the inputs too
    # Inputs are opened once (standard input cannot be read twice) and every option is
    # checked before the first byte of output goes out.
    # The data fingerprint goes into JSON reports (future baselines); a table does without
    # its cost (see Session).
    session = Session(spec, fingerprint=(fmt == "json" or mlflow.wanted) and reduction != "none")
    # Per-row output on the terminal itself would be torn by a bar: none then.
    progress = progress and not (reduction == "none" and output is None and sys.stdout.isatty())
    with progress_bar(session.inputs, progress) as bar:
        report, state = evaluate(session, on_batch=bar, started=started)
    if spec.options.save_state is not None:
        save_state(spec.options.save_state, session, state)

    def show() -> None:
        if reduction != "none":
            render(report, fmt)
        elif not quiet:
            where = output or "stdout"
            stderr_line(f"wrote {report.rows} rows × {len(report.losses)} "
                        f"loss{'es' if len(report.losses) != 1 else ''} to {where}")

    after_run(show, report_pictures(report, report.to_dict), plot=plot, html=html,
              quiet=quiet, to_stdout=fmt == "table" and reduction != "none",
              before=[] if quiet else [(note, "note") for note in report.notes],
              track=writer(mlflow, "eval", report.to_dict, html=html, quiet=quiet))


@with_options("inspect")
def inspect_cmd(
    file: Annotated[str | None, typer.Argument(
        help="The file to look at (any input format). " + STDIN_HELP,
        show_default=False)] = None,
    **options: Any,
) -> None:
    """Show a file's format, rows, columns and types, the prediction/target/weight columns
    'eval' would use, and which losses fit the data.

    Examples:

      losscli inspect sample_data/regression.parquet

      losscli inspect sample_data/model_preds.parquet --targets sample_data/truth.tsv
    """
    fmt = options.pop("fmt").value
    run_guarded(_inspect, file, fmt, values(options))


def _inspect(file: str | None, fmt: str, options: dict[str, Any]) -> None:
    from losscli.errors import UsageError
    from losscli.inspection import inspect_file, render_inspection

    if fmt not in ("table", "json"):
        raise UsageError(f"losscli inspect prints table or json, not {fmt}; use --format json.")
    file = input_file(file, options.get("targets"), options.get("weights"),
                      command="inspect")
    render_inspection(inspect_file(file, **options), fmt, sys.stdout)


@with_options("check")
def check_cmd(
    file: Annotated[str | None, typer.Argument(
        help="Predictions (and targets) file: CSV, TSV, NDJSON, Parquet, NPY, Feather/Arrow. "
        + STDIN_HELP, show_default=False)] = None,
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
    gate = {k: options.pop(k) for k in ("max_", "min_", "rtol", "atol", "baseline",
                                         "allow_missing", "save", "fmt", "base_ref")}
    github, mlflow = GitHubOutput.pop(options), MlflowOutput.pop(options)
    gaps = {k: options.pop(k) or [] for k in ("max_gap", "min_gap_ratio")}
    kwargs = {**split_options(options), **gaps}
    plot, html = pictures_wanted(kwargs)
    result = run_guarded(_check, file, gate["max_"] or [], gate["min_"] or [],
                         gate["rtol"] or [], gate["atol"] or [], gate["baseline"],
                         gate["allow_missing"], gate["save"], gate["fmt"].value, kwargs, quiet,
                         not (quiet or no_progress), plot=plot, html=html, github=github,
                         base_ref=gate["base_ref"], mlflow=mlflow)
    code = result.outcome.exit_code  # the gate's one verdict
    if code:
        raise typer.Exit(code)


def _check(file: str | None, max_: list[str], min_: list[str], rtol: list[str], atol: list[str],
           baseline: str | None, allow_missing: bool, save: str | None, fmt: str,
           kwargs: dict[str, Any], quiet: bool = False, progress: bool = True,
           plot: bool = False, html: str | None = None,
           github: GitHubOutput = GitHubOutput(), base_ref: str | None = None,
           mlflow: MlflowOutput = MlflowOutput()) -> Any:
    from losscli.gate import check
    from losscli.present.check_text import render_check_markdown
    from losscli.present.ci_formats import check_annotations
    from losscli.progress import progress_bar
    from losscli.render import render_check

    file = input_file(file, kwargs.get("targets"), kwargs.get("weights"), command="check")
    # --save may replace the baseline file (the gate's policy: only when the check passes)
    guard_outputs([("predictions", file), ("--baseline", baseline)],
                  {"--save": save, "--html": html, **github.outputs}, kwargs,
                  may_replace={"--save": baseline})
    mlflow.prepare()

    with progress_bar(None, progress) as bar:
        result = check(file, max_=max_, min_=min_, rtol=rtol, atol=atol, baseline=baseline,
                       base_ref=base_ref, allow_missing=allow_missing, save=save,
                       on_batch=bar, **kwargs)
    outcome = result.outcome
    after: list[tuple[str, str]] = [(note, "note") for note in outcome.notes]
    if result.saved and not quiet:
        after.append((f"saved the report to {result.saved}", ""))
    if result.not_saved_reason:
        after.append((result.not_saved_reason, ""))
    if result.data_text and fmt not in ("table", "markdown"):  # those show it themselves
        after.append((result.data_text, "note"))
    if not outcome.passed:
        after.append((f"check failed: {outcome.failure_text()}", ""))
    after_run(lambda: render_check(result, fmt), report_pictures(result.report, result.to_dict),
              plot=plot, html=html, quiet=quiet, to_stdout=fmt == "table", after=after,
              ci=github.writer(lambda: render_check_markdown(result),
                               lambda: check_annotations(result)),
              track=writer(mlflow, "check", result.to_dict, outcome=outcome, html=html, quiet=quiet))
    return result


@with_options("compare")
def compare_cmd(
    files: Annotated[list[str], typer.Argument(
        help="Prediction files, one per model, each PATH or NAME=PATH. The first is the "
        "reference. With one file, several --pred-col make the models. " + MANY_HELP,
        show_default=False)],
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
    name, fmt = options.pop("name"), options.pop("fmt").value
    github, mlflow = GitHubOutput.pop(options), MlflowOutput.pop(options)
    kwargs = split_options(options)
    plot, html = pictures_wanted(kwargs)
    run_guarded(_compare, files, name or [], fmt, kwargs, not (quiet or no_progress),
                quiet=quiet, plot=plot, html=html, github=github, mlflow=mlflow)


def _compare(files: list[str], names: list[str], fmt: str, kwargs: dict[str, Any],
             progress: bool = True, *, quiet: bool = False, plot: bool = False,
             html: str | None = None, github: GitHubOutput = GitHubOutput(),
             mlflow: MlflowOutput = MlflowOutput()) -> None:
    from losscli.comparison import compare, parse_models
    from losscli.present.ci_formats import compare_annotations
    from losscli.present.compare_text import render_compare_markdown
    from losscli.progress import progress_bar
    from losscli.render import render_compare

    models = parse_models(files, names, kwargs.pop("pred_col", None))
    guard_outputs([(f"model '{m.name}'" if m.name else "predictions", m.predictions)
                   for m in models], {"--html": html, **github.outputs}, kwargs)
    mlflow.prepare()
    with progress_bar(None, progress) as bar:
        comparison = compare(models, on_batch=bar, **kwargs)

    def pictures() -> tuple[dict[str, Any], Any, list[str]]:
        from losscli.html import comparison_doc
        from losscli.plot import comparison_pictures

        items, skipped = comparison_pictures(comparison.reports, comparison.names)
        return comparison_doc(comparison), items, skipped

    after_run(lambda: render_compare(comparison, fmt), pictures, plot=plot, html=html,
              quiet=quiet, to_stdout=fmt == "table",
              ci=github.writer(lambda: render_compare_markdown(comparison),
                               lambda: compare_annotations(comparison)),
              track=writer(mlflow, "compare", comparison.to_dict, html=html, quiet=quiet))


@with_options("merge")
def merge_cmd(
    files: Annotated[list[str], typer.Argument(
        help="Saved states ('losscli eval PART --save-state FILE'), any number, any order.",
        show_default=False)],
    **options: Any,
) -> None:
    """Merge the saved states of parts evaluated apart into one report.

    The states are merged in the order of the rows they cover, exactly: the report equals
    one run over all the parts (bit for bit at the same chunk size). States of other
    losses or options, of newer versions, or covering the same rows twice are refused.

    Example:

      losscli eval sample_data/regression.parquet -q --save-state a.state && losscli merge a.state
    """
    run_guarded(_merge, files, options["fmt"].value)


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


@with_options("losses")
def losses_cmd(
    name: Annotated[str | None, typer.Argument(
        help="Show one loss in detail.", autocompletion=complete_loss,
        show_default=False)] = None,
    **options: Any,
) -> None:
    """List every loss: name, aliases, parameters with defaults, inputs, direction, reference."""
    run_guarded(_losses, name, options["fmt"].value)


def _losses(name: str | None, fmt: str) -> None:
    from losscli.catalog import render_catalog

    render_catalog(name, fmt, sys.stdout)




@with_options("history")
def history_cmd(path: Annotated[str, typer.Argument(
        help="A report JSON or saved state committed in this repository.", show_default=False)],
        **options: Any) -> None:
    """The losses of a committed report at each commit that changed it, oldest first.

    Example: losscli history metrics/report.json -n 20 --plot --html history.html"""
    from losscli.present.history_text import history_command

    run_guarded(history_command, path, values(options), guard_outputs)
