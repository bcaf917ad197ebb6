"""``losscli check``: the gate (:func:`losscli.gate.check`): bounds, a baseline, a paired
reference; exit 1 when a check fails."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from losscli.cli.after import GitHubOutput, after_run, report_pictures
from losscli.cli.commands import STDIN_HELP, guard_outputs, input_file, pictures_wanted
from losscli.cli.hygiene import run_guarded
from losscli.cli.options import split_options, with_options
from losscli.gate import CheckResult, check
from losscli.present.check_text import render_check, render_check_markdown
from losscli.present.ci_formats import check_annotations
from losscli.progress import progress_bar
from losscli.tracking import MlflowOutput, writer


@with_options("check")
def command(
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
           mlflow: MlflowOutput = MlflowOutput()) -> CheckResult:
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
