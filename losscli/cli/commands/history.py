"""``losscli history``: a committed report's losses at each commit that changed it
(:func:`losscli.present.history_text.history_command`)."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from typer.core import TyperCommand

from losscli.cli.commands import body
from losscli.cli.hygiene import run_guarded
from losscli.cli.options import values, with_options

COMMAND_CLASS = TyperCommand


@with_options("history")
def command(path: Annotated[str, typer.Argument(
        help="A report JSON or saved state committed in this repository.", show_default=False)],
        **options: Any) -> None:
    """The losses of a committed report at each commit that changed it, oldest first.

    Example: losscli history metrics/report.json -n 20 --plot --html history.html"""
    run_guarded(body("history"), path, values(options))
