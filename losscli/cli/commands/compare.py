"""``losscli compare``: several models side by side (:func:`losscli.comparison.compare`),
the best per loss and the paired tests."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from losscli.cli.after import GitHubOutput
from losscli.cli.commands import MANY_HELP, body, pictures_wanted
from losscli.cli.hygiene import run_guarded
from losscli.cli.options import EvaluatingCommand, split_options, with_options
from losscli.tracking import MlflowOutput

#: The Click command class: the loss-parameter flags built from the registry when first
#: needed.
COMMAND_CLASS = EvaluatingCommand


@with_options("compare")
def command(
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
    name, fmt, write = options.pop("name"), options.pop("fmt").value, options.pop("write")
    github, mlflow = GitHubOutput.pop(options), MlflowOutput.pop(options)
    kwargs = split_options(options)
    plot, html = pictures_wanted(kwargs)
    run_guarded(body("compare"), files, name or [], fmt, kwargs, not (quiet or no_progress),
                quiet=quiet, plot=plot, html=html, github=github, mlflow=mlflow, write=write)
