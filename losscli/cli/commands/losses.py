"""``losscli losses``: the catalogue of the registry (:func:`losscli.catalog.render_catalog`)."""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer

from losscli.catalog import render_catalog
from losscli.cli.hygiene import run_guarded
from losscli.cli.options import complete_loss, with_options


@with_options("losses")
def command(
    name: Annotated[str | None, typer.Argument(
        help="Show one loss in detail.", autocompletion=complete_loss,
        show_default=False)] = None,
    **options: Any,
) -> None:
    """List every loss: name, aliases, parameters with defaults, inputs, direction, reference."""
    run_guarded(_losses, name, options["fmt"].value)


def _losses(name: str | None, fmt: str) -> None:
    render_catalog(name, fmt, sys.stdout)
