"""The body of ``losscli inspect`` (its declaration: :mod:`losscli.cli.commands.inspect_file`),
imported when the command runs."""

from __future__ import annotations

import sys
from typing import Any

from losscli.cli.commands import input_file
from losscli.errors import UsageError
from losscli.inspection import inspect_file, render_inspection


def run(file: str | None, fmt: str, options: dict[str, Any]) -> None:
    if fmt not in ("table", "json"):
        raise UsageError(f"losscli inspect prints table or json, not {fmt}; use --format json.")
    file = input_file(file, options.get("targets"), options.get("weights"),
                      command="inspect")
    render_inspection(inspect_file(file, **options), fmt, sys.stdout)
