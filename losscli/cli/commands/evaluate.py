"""``losscli eval``: the losses of one predictions file (the API's
:func:`losscli.execution.evaluate` over a :class:`~losscli.session.Session`)."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from losscli.cli.commands import STDIN_HELP, body, pictures_wanted
from losscli.cli.hygiene import run_guarded
from losscli.cli.options import EvaluatingCommand, split_options, with_options
from losscli.tracking import MlflowOutput

#: The Click command class: the loss-parameter flags built from the registry when first
#: needed.
COMMAND_CLASS = EvaluatingCommand


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
    write = options.pop("write")
    kwargs = split_options(options)
    plot, html = pictures_wanted(kwargs)
    run_guarded(body("eval"), file, reduction, fmt, output, kwargs,
                quiet=quiet, progress=not (quiet or no_progress), plot=plot, html=html,
                mlflow=mlflow, write=write)
