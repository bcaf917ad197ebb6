"""``losscli inspect``: a file's format, columns and types, the columns ``eval`` would use
and the losses that fit (:func:`losscli.inspection.inspect_file`)."""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer

from losscli.cli.commands import STDIN_HELP, input_file
from losscli.cli.hygiene import run_guarded
from losscli.cli.options import values, with_options
from losscli.errors import UsageError
from losscli.inspection import inspect_file, render_inspection


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
    run_guarded(_inspect, file, fmt, values(options))


def _inspect(file: str | None, fmt: str, options: dict[str, Any]) -> None:
    if fmt not in ("table", "json"):
        raise UsageError(f"losscli inspect prints table or json, not {fmt}; use --format json.")
    file = input_file(file, options.get("targets"), options.get("weights"),
                      command="inspect")
    render_inspection(inspect_file(file, **options), fmt, sys.stdout)
