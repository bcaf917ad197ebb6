"""The body of ``losscli check`` (its declaration: :mod:`losscli.cli.commands.check`),
imported when the command runs."""

from __future__ import annotations

from typing import Any

from losscli import vocab
from losscli.cli.after import GitHubOutput, Written, after_run, report_pictures
from losscli.cli.commands import guard_outputs, input_file
from losscli.gate import CheckResult, check
from losscli.present.check_text import render_check, render_check_markdown
from losscli.present.ci_formats import check_annotations
from losscli.progress import progress_bar
from losscli.tracking import MlflowOutput, writer


def run(file: str | None, max_: list[str], min_: list[str], rtol: list[str], atol: list[str],
           baseline: str | None, allow_missing: bool, save: str | None, fmt: str,
           kwargs: dict[str, Any], quiet: bool = False, progress: bool = True,
           plot: bool = False, html: str | None = None,
           github: GitHubOutput = GitHubOutput(), base_ref: str | None = None,
           mlflow: MlflowOutput = MlflowOutput(), write: list[str] | None = None
           ) -> CheckResult:
    file = input_file(file, kwargs.get("targets"), kwargs.get("weights"), command="check")
    written = Written.parse(write, vocab.CHECK_FORMATS, "check")
    # --save may replace the baseline file (the gate's policy: only when the check passes)
    guard_outputs([("predictions", file), ("--baseline", baseline)],
                  {"--save": save, "--html": html, **github.outputs, **written.outputs}, kwargs,
                  may_replace={"--save": baseline})
    mlflow.prepare()

    with progress_bar(None, progress) as bar:
        result = check(file, max_=max_, min_=min_, rtol=rtol, atol=atol, baseline=baseline,
                       base_ref=base_ref, allow_missing=allow_missing, save=save,
                       on_batch=bar, **kwargs)
    outcome = result.outcome
    # --quiet: the exit code says whether the check passed; only what did not happen as
    # asked (a --save refused) is still said.
    after: list[tuple[str, str]] = [] if quiet else [(note, "note") for note in outcome.notes]
    if result.saved and not quiet:
        after.append((f"saved the report to {result.saved}", ""))
    if result.not_saved_reason:
        after.append((result.not_saved_reason, ""))
    if result.data_text and fmt not in ("table", "markdown") and not quiet:  # those show it
        after.append((result.data_text, "note"))
    if not outcome.passed and not quiet:
        after.append((f"check failed: {outcome.failure_text()}", ""))
    after_run(lambda: render_check(result, fmt), report_pictures(result.report, result.to_dict),
              plot=plot, html=html, quiet=quiet, to_stdout=fmt == "table", after=after,
              write=written.writer(lambda f, out: render_check(result, f, out), quiet),
              ci=github.writer(lambda: render_check_markdown(result),
                               lambda: check_annotations(result)),
              track=writer(mlflow, "check", result.to_dict, outcome=outcome, html=html, quiet=quiet))
    return result
