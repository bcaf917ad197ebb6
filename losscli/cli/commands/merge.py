"""``losscli merge``: saved states of parts evaluated apart, merged into one report
(:func:`losscli.saved.merge_parts`, :func:`losscli.saved.report_of`)."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from typer.core import TyperCommand

from losscli.cli.commands import body
from losscli.cli.hygiene import run_guarded
from losscli.cli.options import with_options

COMMAND_CLASS = TyperCommand


@with_options("merge")
def command(
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
    run_guarded(body("merge"), files, options["fmt"].value)
