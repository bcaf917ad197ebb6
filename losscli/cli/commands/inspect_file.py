"""``losscli inspect``: a file's format, columns and types, the columns ``eval`` would use
and the losses that fit (:func:`losscli.inspection.inspect_file`)."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from typer.core import TyperCommand

from losscli.cli.commands import STDIN_HELP, body
from losscli.cli.hygiene import run_guarded
from losscli.cli.options import values, with_options

COMMAND_CLASS = TyperCommand


@with_options("inspect")
def command(
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
    run_guarded(body("inspect"), file, fmt, values(options))
