"""``losscli losses``: the catalogue of the registry (:func:`losscli.catalog.render_catalog`)."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from typer.core import TyperCommand

from losscli.cli.commands import body
from losscli.cli.hygiene import run_guarded
from losscli.cli.options import complete_loss, with_options

COMMAND_CLASS = TyperCommand


@with_options("losses")
def command(
    name: Annotated[str | None, typer.Argument(
        help="Show one loss in detail.", autocompletion=complete_loss,
        show_default=False)] = None,
    **options: Any,
) -> None:
    """List every loss: name, aliases, parameters with defaults, inputs, direction, reference."""
    run_guarded(body("losses"), name, options["fmt"].value)
