"""``losscli eval``: the losses of one predictions file (the API's
:func:`losscli.execution.evaluate` over a :class:`~losscli.session.Session`)."""

from __future__ import annotations

import sys
import time
from typing import Annotated, Any

import typer

from losscli.cli.after import after_run, report_pictures
from losscli.cli.commands import STDIN_HELP, guard_outputs, input_file, pictures_wanted
from losscli.cli.hygiene import run_guarded
from losscli.cli.options import split_options, with_options
from losscli.execution import evaluate
from losscli.present.text import stderr_line
from losscli.progress import progress_bar
from losscli.render import render
from losscli.saved import save_state
from losscli.session import Session
from losscli.spec import build_spec
from losscli.tracking import MlflowOutput, writer


@with_options("eval")
def command(
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
