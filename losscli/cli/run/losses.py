"""The body of ``losscli losses`` (its declaration: :mod:`losscli.cli.commands.losses`),
imported when the command runs."""

from __future__ import annotations

import sys

from losscli.catalog import render_catalog


def run(name: str | None, fmt: str) -> None:
    render_catalog(name, fmt, sys.stdout)
