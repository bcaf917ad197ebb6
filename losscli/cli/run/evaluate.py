"""The body of ``losscli eval`` (its declaration: :mod:`losscli.cli.commands.evaluate`),
imported when the command runs."""

from __future__ import annotations

import sys
import time
from typing import Any

from losscli import vocab
from losscli.cli.after import Written, after_run, report_pictures
from losscli.cli.commands import guard_outputs, input_file
from losscli.errors import UsageError
from losscli.execution import evaluate
from losscli.present.text import stderr_line
from losscli.progress import progress_bar
from losscli.render import render
from losscli.session import Session
from losscli.spec import build_spec
from losscli.tracking import MlflowOutput, writer


def run(file: str | None, reduction: str, fmt: str, output: str | None,
          kwargs: dict[str, Any], quiet: bool = False, progress: bool = True,
          plot: bool = False, html: str | None = None,
          mlflow: MlflowOutput = MlflowOutput(), write: list[str] | None = None) -> None:
    file = input_file(file, kwargs.get("targets"), kwargs.get("weights"))
    written = Written.parse(write, vocab.OUTPUT_FORMATS, "eval")
    if written.files and reduction == "none":
        raise UsageError("--write needs a report: with --reduction none the rows go to stdout "
                         "or --output; drop --write, or reduce (mean or sum).")
    per_row_format = None if output or reduction != "none" else (
        "ndjson" if fmt == "ndjson" else "csv")
    spec = build_spec(file, where="losscli eval", reduction=reduction, output=output,
                      output_format=per_row_format, **kwargs)
    # The one output guard, before anything is read (losscli.io.atomic.guard)
    guard_outputs([("predictions", file)],
                  {"--output": output, "--save-state": kwargs.get("save_state"), "--html": html,
                   **written.outputs}, kwargs)
    mlflow.prepare(reduction)
    started = time.perf_counter()  # the report's time covers opening the inputs too
    # Inputs are opened once (standard input cannot be read twice) and every option is
    # checked before the first byte of output goes out.
    # The data fingerprint goes into JSON reports (future baselines); a table does without
    # its cost (see Session).
    as_json = fmt == "json" or any(f == "json" for f, _ in written.files)
    session = Session(spec, fingerprint=(as_json or mlflow.wanted) and reduction != "none")
    # Per-row output on the terminal itself would be torn by a bar: none then.
    progress = progress and not (reduction == "none" and output is None and sys.stdout.isatty())
    with progress_bar(session.inputs, progress) as bar:
        report, state = evaluate(session, on_batch=bar, started=started)
    if spec.options.save_state is not None:
        from losscli.saved import save_state

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
              write=written.writer(lambda f, out: render(report, f, out), quiet),
              track=writer(mlflow, "eval", report.to_dict, html=html, quiet=quiet))
